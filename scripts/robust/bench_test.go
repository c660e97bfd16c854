package robust

import (
	"math"
	"os"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/tensor"
)

// BenchmarkFiniteCheck compares a forward pass of the shipped
// face-expression model (which checks the output of every node that can
// create a NaN or an infinity) with one scan over all of its activations,
// an upper bound of what that check adds.
func BenchmarkFiniteCheck(b *testing.B) {
	data, err := os.ReadFile("../../models/face-expression.safetensors")
	if err != nil {
		b.Skipf("no shipped model: %v", err)
	}
	mf, err := modelfile.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	g, err := mf.Build()
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.New(g.InputShape()...)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i)))
	}
	a, err := g.Forward(nil, x)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			if _, err := g.Forward(nil, x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scan-all-activations", func(b *testing.B) {
		for b.Loop() {
			for _, o := range a.Out {
				for _, v := range o.Data { // the test nn's check makes
					if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
						b.Fatal("not finite")
					}
				}
			}
		}
	})
}
