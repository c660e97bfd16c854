package cam

import "math"

// maxf and minf are the builtin max and min of two float32 values, with the
// same results (a NaN argument gives NaN; max(−0, +0) is +0 and min(−0, +0)
// is −0), written as comparisons: in js/wasm the builtins are calls into
// the runtime (runtime.fmax32), about 8× slower, and the map loops run
// them on every pixel.
func maxf(a, b float32) float32 {
	switch {
	case a > b:
		return a
	case b > a:
		return b
	case a != a || b != b:
		return float32(math.NaN())
	case math.Signbit(float64(a)):
		return b // a == b: ±0 or equal values
	}
	return a
}

func minf(a, b float32) float32 {
	switch {
	case a < b:
		return a
	case b < a:
		return b
	case a != a || b != b:
		return float32(math.NaN())
	case math.Signbit(float64(a)):
		return a
	}
	return b
}
