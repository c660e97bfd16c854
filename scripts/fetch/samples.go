package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
)

// sample is one photo taken from a Debian package. PNGs are re-encoded
// losslessly with Go's best compression (same pixels, about half the size);
// other files are copied byte for byte.
type sample struct {
	name, src, sha256, pkg string
}

var sampleFiles = []sample{
	{"astronaut.png", "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
		"88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5", "python3-skimage"},
	{"grace_hopper.jpg", "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg",
		"a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130", "python-matplotlib-data"},
	{"camera.png", "/usr/lib/python3/dist-packages/skimage/data/camera.png",
		"b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a", "python3-skimage"},
}

func samples(outDir string, log io.Writer) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for _, s := range sampleFiles {
		data, err := os.ReadFile(s.src)
		if err != nil {
			return fmt.Errorf("%s (install the Debian package %s): %w", s.name, s.pkg, err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != s.sha256 {
			return fmt.Errorf("%s: sha256 %s, want %s (another version of %s?)", s.src, got, s.sha256, s.pkg)
		}
		out := data
		if filepath.Ext(s.name) == ".png" {
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("%s: %w", s.src, err)
			}
			var b bytes.Buffer
			if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			if b.Len() < len(data) {
				out = b.Bytes()
			}
		}
		name := filepath.Join(outDir, s.name)
		if err := writeFile(name, out); err != nil {
			return err
		}
		fmt.Fprintf(log, "%s: %d bytes (from %s, %d bytes)\n", name, len(out), s.src, len(data))
	}
	return nil
}
