package cam

import (
	"math"
	"testing"
)

// TestMinfMaxf: the same results as the builtins, bit for bit (NaN: any NaN).
func TestMinfMaxf(t *testing.T) {
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	inf := float32(math.Inf(1))
	vals := []float32{0, negZero, 1, -1, 0.5, -2.25, inf, -inf, nan, math.MaxFloat32, math.SmallestNonzeroFloat32}
	same := func(a, b float32) bool {
		if a != a || b != b {
			return a != a && b != b
		}
		return math.Float32bits(a) == math.Float32bits(b)
	}
	for _, a := range vals {
		for _, b := range vals {
			if got, want := maxf(a, b), max(a, b); !same(got, want) {
				t.Errorf("maxf(%v, %v) = %v, builtin max %v", a, b, got, want)
			}
			if got, want := minf(a, b), min(a, b); !same(got, want) {
				t.Errorf("minf(%v, %v) = %v, builtin min %v", a, b, got, want)
			}
		}
	}
}
