package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/camlens/camlens/core/dataset"
	"github.com/camlens/camlens/scripts/internal/paths"
)

// The held-out clutter split, as scripts/train/gendata makes it.
const (
	clutterTest     = 2000
	clutterTestSeed = 2
)

// maxDataBytes bounds one data file.
const maxDataBytes = 1 << 30

// clutterSplit regenerates the clutter test split: MNIST t10k (the
// GoMNIST module's data) through dataset.Clutter with the test seed.
func clutterSplit() (*dataset.Set, error) {
	dir, err := paths.MNISTDir()
	if err != nil {
		return nil, fmt.Errorf("%w (regenerating the split needs the GoMNIST module: run inside the repository, or pass -data with scripts/train/gendata's output)", err)
	}
	digits, err := dataset.ReadIDX(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		return nil, err
	}
	return dataset.Clutter(digits, clutterTest, clutterTestSeed, dataset.ClutterOptions{})
}

// readSplit reads the clutter test split from a gendata output directory:
// clutter-test-images.idx, clutter-test-labels.idx (raw IDX) and
// clutter-test-boxes.u16 (x0, y0, x1, y1 per item, big-endian uint16).
func readSplit(dir string) (*dataset.Set, error) {
	ip := filepath.Join(dir, "clutter-test-images.idx")
	lp := filepath.Join(dir, "clutter-test-labels.idx")
	bp := filepath.Join(dir, "clutter-test-boxes.u16")
	ib, err := readFile(ip)
	if err != nil {
		return nil, err
	}
	lb, err := readFile(lp)
	if err != nil {
		return nil, err
	}
	bb, err := readFile(bp)
	if err != nil {
		return nil, err
	}
	if len(ib) < 16 || binary.BigEndian.Uint32(ib) != 0x803 {
		return nil, fmt.Errorf("%s: not an IDX images file (magic 0x803)", ip)
	}
	n, rows, cols := int(binary.BigEndian.Uint32(ib[4:])), int(binary.BigEndian.Uint32(ib[8:])), int(binary.BigEndian.Uint32(ib[12:]))
	if rows < 1 || cols < 1 || rows > 4096 || cols > 4096 || n < 0 || n > (len(ib)-16)/(rows*cols) || len(ib) != 16+n*rows*cols {
		return nil, fmt.Errorf("%s: header says %d images of %d×%d, the file has %d bytes", ip, n, rows, cols, len(ib))
	}
	if len(lb) < 8 || binary.BigEndian.Uint32(lb) != 0x801 || int(binary.BigEndian.Uint32(lb[4:])) != n || len(lb) != 8+n {
		return nil, fmt.Errorf("%s: not an IDX labels file with %d labels", lp, n)
	}
	if len(bb) != 8*n {
		return nil, fmt.Errorf("%s: %d bytes, want 8 per image (%d)", bp, len(bb), 8*n)
	}
	s := &dataset.Set{Rows: rows, Cols: cols, Images: make([][]byte, n), Labels: make([]int, n), Boxes: make([]dataset.Box, n)}
	for i := range n {
		s.Images[i] = ib[16+i*rows*cols : 16+(i+1)*rows*cols]
		s.Labels[i] = int(lb[8+i])
		v := func(k int) int { return int(binary.BigEndian.Uint16(bb[8*i+2*k:])) }
		b := dataset.Box{X0: v(0), Y0: v(1), X1: v(2), Y1: v(3)}
		if b.X0 >= b.X1 || b.Y0 >= b.Y1 || b.X1 > cols || b.Y1 > rows {
			return nil, fmt.Errorf("%s: item %d has box %+v outside the %d×%d image", bp, i, b, cols, rows)
		}
		s.Boxes[i] = b
	}
	return s, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDataBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxDataBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxDataBytes)
	}
	return b, nil
}
