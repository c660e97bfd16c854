package cam

import (
	"math"
	"testing"
)

// kernCases are slices for the branch-free kernels: random non-negative
// values of every length up to 70 (tails of the unrolled loops), with
// ties, and each special value the kernels must notice.
func kernCases() [][]float32 {
	seed := uint32(11)
	rnd := func() float32 {
		seed = seed*1664525 + 1013904223
		return float32(seed>>8) / (1 << 24)
	}
	var out [][]float32
	for n := 0; n <= 70; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = rnd() * 3
			if i%5 == 3 {
				x[i] = float32(int(x[i])) // ties, zeros
			}
		}
		out = append(out, x)
	}
	specials := []float32{float32(math.Copysign(0, -1)), -1e-45, -2, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -float32(math.NaN()), math.MaxFloat32, math.SmallestNonzeroFloat32}
	for k, v := range specials {
		for _, n := range []int{1, 4, 7, 13} {
			x := append([]float32(nil), out[n]...)
			x[(k+n)%n] = v
			out = append(out, x)
		}
	}
	return out
}

func nonNegFiniteRef(x []float32) bool {
	for _, v := range x {
		if math.Signbit(float64(v)) || math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
			return false
		}
	}
	return true
}

func TestRangeNonNeg(t *testing.T) {
	for _, x := range kernCases() {
		lo, hi, ok := rangeNonNeg(x)
		if want := len(x) > 0 && nonNegFiniteRef(x); ok != want {
			t.Fatalf("rangeNonNeg(%v): ok %v, want %v", x, ok, want)
		}
		if !ok {
			continue
		}
		wlo, whi := x[0], x[0]
		for _, v := range x {
			wlo, whi = min(wlo, v), max(whi, v)
		}
		if lo != wlo || hi != whi {
			t.Fatalf("rangeNonNeg(%v) = %v, %v, want %v, %v", x, lo, hi, wlo, whi)
		}
	}
}

func TestPeakNonNeg(t *testing.T) {
	for _, x := range kernCases() {
		at, hi, ok := peakNonNeg(x)
		if want := len(x) > 0 && nonNegFiniteRef(x); ok != want {
			t.Fatalf("peakNonNeg(%v): ok %v, want %v", x, ok, want)
		}
		wat, whi := peakAny(x)
		if ok && (at != wat || hi != whi) {
			t.Fatalf("peakNonNeg(%v) = %d, %v, want %d, %v", x, at, hi, wat, whi)
		}
		if gat, ghi := peak(x); gat != wat || math.Float32bits(ghi) != math.Float32bits(whi) {
			t.Fatalf("peak(%v) = %d, %v, want %d, %v", x, gat, ghi, wat, whi)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, x := range kernCases() {
		got, want := append([]float32(nil), x...), append([]float32(nil), x...)
		normalize(got, 0.25, 1.5)
		for i, v := range want {
			want[i] = (v - 0.25) / 1.5
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("normalize(%v)[%d] = %v, want %v", x, i, got[i], want[i])
			}
		}
	}
}

func TestMaskAtLeast(t *testing.T) {
	for _, x := range kernCases() {
		for _, th := range []float32{0, 0.5, 1, 2.9999} {
			words := (len(x) + 63) / 64
			got, want := make([]uint64, words), make([]uint64, words)
			for i := range got {
				got[i] = ^uint64(0) // stale bits are cleared
			}
			ok := maskAtLeast(x, th, got)
			maskNotBelow(x, th, want)
			if ok != nonNegFiniteRef(x) {
				t.Fatalf("maskAtLeast(%v, %v): ok %v", x, th, ok)
			}
			if !ok {
				continue
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("maskAtLeast(%v, %v) word %d = %x, want %x", x, th, i, got[i], want[i])
				}
			}
		}
	}
}

func TestNextBit(t *testing.T) {
	mask := []uint64{0b1011 << 60, 0b1, 0, 1 << 63} // bits 60, 61, 63, 64, 255
	tests := []struct {
		from, n int
		set     bool
		want    int
	}{
		{0, 256, true, 60}, {61, 256, true, 61}, {62, 256, true, 63}, {64, 256, true, 64},
		{65, 256, true, 255}, {65, 200, true, 200}, {60, 256, false, 62}, {62, 256, false, 62},
		{63, 256, false, 65}, {255, 256, false, 256}, {256, 256, true, 256}, {0, 256, false, 0},
	}
	for _, tc := range tests {
		if got := nextBit(mask, tc.from, tc.n, tc.set); got != tc.want {
			t.Errorf("nextBit(from %d, n %d, set %v) = %d, want %d", tc.from, tc.n, tc.set, got, tc.want)
		}
	}
}
