// Command samples writes a few held-out test images of CamLens's trained
// models into web/samples/ as PNG (items of the test splits that the
// training never saw), for the sample gallery:
//
//	go run ./scripts/train/samples -set clutter -items 0,1
package main

import (
	"flag"
	"fmt"
	"image"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/camlens/camlens/core/dataset"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/scripts/internal/paths"
)

func main() {
	set := flag.String("set", "clutter", "fashion, digits or clutter")
	items := flag.String("items", "0,1", "comma-separated test-split indices")
	out := flag.String("out", "web/samples", "output directory")
	flag.Parse()
	if err := run(*set, *items, *out); err != nil {
		log.Fatal(err)
	}
}

func run(set, items, out string) error {
	var s *dataset.Set
	var err error
	switch set {
	case "fashion":
		s, err = dataset.ReadIDX(filepath.Join(dataset.FashionMNISTDir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dataset.FashionMNISTDir, "t10k-labels-idx1-ubyte.gz"))
	case "digits", "clutter":
		var dir string
		if dir, err = paths.MNISTDir(); err != nil {
			return err
		}
		s, err = dataset.ReadIDX(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
		if err == nil && set == "clutter" {
			s, err = dataset.Clutter(s, 2000, 2, dataset.ClutterOptions{}) // the held-out split of scripts/train/gendata
		}
	default:
		return fmt.Errorf("unknown set %q", set)
	}
	if err != nil {
		return err
	}
	for _, f := range strings.Split(items, ",") {
		i, err := strconv.Atoi(f)
		if err != nil || i < 0 || i >= s.Len() {
			return fmt.Errorf("bad item %q", f)
		}
		img := &image.Gray{Pix: s.Images[i], Stride: s.Cols, Rect: image.Rect(0, 0, s.Cols, s.Rows)}
		name := filepath.Join(out, fmt.Sprintf("%s-test-%d.png", set, i))
		w, err := os.Create(name)
		if err != nil {
			return err
		}
		if err := imaging.EncodePNG(w, img); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		box := ""
		if s.Boxes != nil {
			b := s.Boxes[i]
			box = fmt.Sprintf(" box [%d,%d,%d,%d]", b.X0, b.Y0, b.X1, b.Y1)
		}
		fmt.Printf("%s: label %d%s\n", name, s.Labels[i], box)
	}
	return nil
}
