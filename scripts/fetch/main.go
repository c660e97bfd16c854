// Command fetch obtains third-party models and sample images and converts
// them into the repository's formats. Every output is reproducible: running
// it again writes byte-identical files.
//
//	go run ./scripts/fetch face-api [-float] [-cache DIR] [-out DIR]
//	go run ./scripts/fetch samples [-out DIR]
//
// face-api: fetches the npm package @vladmandic/face-api@1.7.15 with
// `npm pack` into the cache directory (default .cache/face-api, ignored by
// git; an existing tarball is reused), checks the tarball's sha256, extracts
// model/face_expression_model.bin, its weights manifest and LICENSE,
// converts the model with core/tfjs and writes models/face-expression.safetensors
// (int8 per output channel) and models/LICENSE-face-api.txt. With -float it
// writes the float32 model to the cache instead
// (.cache/face-api/face-expression-float.safetensors), for parity tests.
//
// samples: copies the face photos of web/samples from Debian's
// python3-skimage and python-matplotlib-data packages (see
// web/samples/README.md).
package main

import (
	"flag"
	"fmt"
	"os"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: go run ./scripts/fetch face-api [-float] [-cache DIR] [-out DIR]")
	fmt.Fprintln(os.Stderr, "       go run ./scripts/fetch samples [-out DIR]")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	root, err := repoRoot()
	if err != nil {
		fail(err)
	}
	switch os.Args[1] {
	case "face-api":
		fs := flag.NewFlagSet("face-api", flag.ExitOnError)
		float := fs.Bool("float", false, "write the float32 model to the cache directory instead of the int8 model to -out")
		cache := fs.String("cache", root+"/.cache/face-api", "directory for the npm tarball and float models")
		out := fs.String("out", root+"/models", "directory for face-expression.safetensors and LICENSE-face-api.txt")
		fs.Parse(os.Args[2:])
		if fs.NArg() != 0 {
			usage()
		}
		err = faceAPI(*cache, *out, *float)
	case "samples":
		fs := flag.NewFlagSet("samples", flag.ExitOnError)
		out := fs.String("out", root+"/web/samples", "directory for the sample images")
		fs.Parse(os.Args[2:])
		if fs.NArg() != 0 {
			usage()
		}
		err = samples(*out, os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fetch:", err)
	os.Exit(1)
}
