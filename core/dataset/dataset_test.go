package dataset

import (
	"os"
	"path/filepath"
	"testing"
)

func synthetic(n int) *Set {
	s := &Set{Rows: 28, Cols: 28}
	for i := 0; i < n; i++ {
		im := make([]byte, 28*28)
		for y := 8; y < 20; y++ {
			for x := 10; x < 18; x++ {
				im[y*28+x] = byte(100 + 10*i)
			}
		}
		s.Images = append(s.Images, im)
		s.Labels = append(s.Labels, i%10)
	}
	return s
}

func TestClutterDeterministicAndBoxed(t *testing.T) {
	src := synthetic(10)
	a, err := Clutter(src, 50, 3, ClutterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Clutter(src, 50, 3, ClutterOptions{})
	c, _ := Clutter(src, 50, 4, ClutterOptions{})
	same := true
	for i := range a.Images {
		if string(a.Images[i]) != string(b.Images[i]) || a.Boxes[i] != b.Boxes[i] {
			t.Fatalf("item %d differs between runs with the same seed", i)
		}
		same = same && string(a.Images[i]) == string(c.Images[i])
		bx := a.Boxes[i]
		if bx.X0 < 0 || bx.Y0 < 0 || bx.X1 > 96 || bx.Y1 > 96 || bx.X0 >= bx.X1 || bx.Y0 >= bx.Y1 {
			t.Fatalf("item %d: bad box %+v", i, bx)
		}
		// The box holds ink.
		ink := 0
		for y := bx.Y0; y < bx.Y1; y++ {
			for x := bx.X0; x < bx.X1; x++ {
				if a.Images[i][y*96+x] >= 64 {
					ink++
				}
			}
		}
		if ink == 0 {
			t.Fatalf("item %d: box %+v has no ink", i, bx)
		}
	}
	if same {
		t.Fatal("different seeds gave identical sets")
	}
}

func TestClutterBadOptions(t *testing.T) {
	if _, err := Clutter(synthetic(2), 1, 1, ClutterOptions{MaxScale: 200}); err == nil {
		t.Fatal("want error for a digit larger than the canvas")
	}
	if _, err := Clutter(&Set{}, 1, 1, ClutterOptions{}); err == nil {
		t.Fatal("want error for an empty source")
	}
}

func TestIDXRoundTripAndFashion(t *testing.T) {
	dir := t.TempDir()
	s := synthetic(3)
	ip, lp := filepath.Join(dir, "i"), filepath.Join(dir, "l")
	if err := WriteIDX(s, ip, lp); err != nil {
		t.Fatal(err)
	}
	// GoMNIST reads gzip only; our writer is for the Python trainer, which
	// reads raw files. Check the byte layout directly.
	raw, _ := os.ReadFile(ip)
	if len(raw) != 16+3*28*28 || raw[3] != 3 || raw[7] != 3 || raw[11] != 28 {
		t.Fatalf("images header/size wrong: %d bytes, header % x", len(raw), raw[:16])
	}
	fm := filepath.Join(FashionMNISTDir, "t10k-images-idx3-ubyte.gz")
	if _, err := os.Stat(fm); err != nil {
		if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
			t.Fatalf("Fashion-MNIST missing: %v", err)
		}
		t.Skip("Fashion-MNIST (Debian dataset-fashion-mnist) not installed")
	}
	set, err := ReadIDX(fm, filepath.Join(FashionMNISTDir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 10000 || set.Rows != 28 || set.Labels[0] != 9 {
		t.Fatalf("Fashion-MNIST test: %d items %d×%d first label %d", set.Len(), set.Rows, set.Cols, set.Labels[0])
	}
}
