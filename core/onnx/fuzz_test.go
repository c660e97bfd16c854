package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// FuzzImport feeds arbitrary bytes to the importer: it must return a model
// or an error, never panic or allocate beyond its limits, and a model it
// returns must build and run.
func FuzzImport(f *testing.F) {
	seeds := [][]byte{tinyConvNet(9), tinyConvNet(13), tinyConvNet(21), qdqModel(), shapeChainModel()}
	for _, name := range []string{"basic.onnx", "all-layers.onnx"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "gradcamref", name)); err == nil {
			seeds = append(seeds, b)
		}
	}
	for _, s := range seeds[:5] {
		f.Add(s)
		f.Add(s[:len(s)/3])
		flipped := append([]byte(nil), s...)
		flipped[len(flipped)/2] ^= 0x5a
		f.Add(flipped)
	}
	for _, s := range seeds[5:] {
		f.Add(s)
	}
	lim := DefaultLimits
	lim.MaxFileBytes = 1 << 20
	lim.MaxConstElems = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ImportWith(data, Options{Limits: &lim})
		if err != nil {
			return
		}
		g, err := nn.Build(m.Graph, m.Weights)
		if err != nil {
			t.Fatalf("imported model does not build: %v", err)
		}
		// Run it when it is small.
		total := 0
		for _, n := range g.Nodes {
			k, err := tensor.NumElements(n.Shape)
			if err != nil {
				t.Fatal(err)
			}
			total += k
		}
		if total > 1<<18 {
			return
		}
		x, err := tensor.Zeros(g.InputShape())
		if err != nil {
			return
		}
		// Finite weights may still overflow: that must be the named error.
		if _, err := g.Forward(nil, x); err != nil && !errors.Is(err, nn.ErrNotFinite) {
			t.Fatalf("forward: %v", err)
		}
	})
}
