package nn

import (
	"math"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

// TestReluMatchesMax: the branch-free relu forward gives max(v, 0) bit for
// bit on special values (±0, ±Inf, NaN of both signs, denormals).
func TestReluMatchesMax(t *testing.T) {
	nanNeg := math.Float32frombits(0xffc00001)
	vals := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 3.5, -2.25, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), nanNeg, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32}
	x, err := tensor.FromData([]int{len(vals)}, vals)
	if err != nil {
		t.Fatal(err)
	}
	y := tensor.New(len(vals))
	reluOp{}.Forward(nil, []*tensor.Tensor{x}, y)
	for i, v := range vals {
		want := max(v, 0)
		got := y.Data[i]
		if want != want {
			if got == got {
				t.Errorf("relu(%v) = %v, want NaN", v, got)
			}
			continue
		}
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("relu(%v) = %v (%#x), want %v (%#x)", v, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}
