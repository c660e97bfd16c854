package cam

import (
	"math"
	"math/bits"
)

// Branch-free loops for the map pipeline (a map is H×W of the network
// input, 12,544 values for a 112×112 model, touched several times per
// explanation).
//
// In js/wasm, Go compiles every taken branch and every loop back-edge into
// a jump through the function's block dispatcher (a br_table), so a loop
// with a data-dependent branch per element runs 4–8× slower than the same
// loop natively. These loops therefore have no branch per element: they
// compare the IEEE bit patterns of non-negative floats as integers (their
// order is the values' order, and integer min, max and selects compile to
// wasm's select), are unrolled by four and are kept out of line (inlined
// into a large function their values spill to the stack). Each one checks
// that its input is what it assumes (non-negative and finite) in the same
// pass and reports when it is not, so callers fall back to the plain loops
// and results never change.

// signOrInf is non-zero in the sign bit when u is negative (incl. −0), an
// infinity or a NaN: u's own sign bit, or the carry of an all-ones
// exponent.
func signOrInf(u uint32) uint32 { return (u | (u + 0x00800000)) & 0x80000000 }

// rangeNonNeg returns min(x) and max(x) for non-negative finite values (ok
// false when x is empty or holds a negative value, −0, an infinity or a
// NaN).
//
//go:noinline
func rangeNonNeg(x []float32) (lo, hi float32, ok bool) {
	if len(x) == 0 {
		return 0, 0, false
	}
	lo0, hi0 := uint32(math.MaxUint32), uint32(0)
	lo1, hi1 := lo0, hi0
	var bad uint32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y := x[i : i+4 : i+4]
		a, b, c, d := math.Float32bits(y[0]), math.Float32bits(y[1]), math.Float32bits(y[2]), math.Float32bits(y[3])
		bad |= signOrInf(a) | signOrInf(b) | signOrInf(c) | signOrInf(d)
		lo0, hi0 = min(lo0, a, b), max(hi0, a, b)
		lo1, hi1 = min(lo1, c, d), max(hi1, c, d)
	}
	for ; i < len(x); i++ {
		u := math.Float32bits(x[i])
		bad |= signOrInf(u)
		lo0, hi0 = min(lo0, u), max(hi0, u)
	}
	return math.Float32frombits(min(lo0, lo1)), math.Float32frombits(max(hi0, hi1)), bad == 0
}

// normalize sets x[i] = (x[i] − lo) / d.
//
//go:noinline
func normalize(x []float32, lo, d float32) {
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y := x[i : i+4 : i+4]
		y[0] = (y[0] - lo) / d
		y[1] = (y[1] - lo) / d
		y[2] = (y[2] - lo) / d
		y[3] = (y[3] - lo) / d
	}
	for ; i < len(x); i++ {
		x[i] = (x[i] - lo) / d
	}
}

// peakNonNeg returns the index of the first largest value of x and that
// value, for non-negative finite values (ok false otherwise, or when x is
// empty).
//
//go:noinline
func peakNonNeg(x []float32) (at int, hi float32, ok bool) {
	if len(x) == 0 {
		return 0, 0, false
	}
	var best, bad uint32
	best = math.Float32bits(x[0])
	i := 0
	// Integer compares and selects, no branch; strictly greater keeps the
	// first maximum.
	for ; i+4 <= len(x); i += 4 {
		y := x[i : i+4 : i+4]
		a, b, c, d := math.Float32bits(y[0]), math.Float32bits(y[1]), math.Float32bits(y[2]), math.Float32bits(y[3])
		bad |= signOrInf(a) | signOrInf(b) | signOrInf(c) | signOrInf(d)
		if a > best {
			best, at = a, i
		}
		if b > best {
			best, at = b, i+1
		}
		if c > best {
			best, at = c, i+2
		}
		if d > best {
			best, at = d, i+3
		}
	}
	for ; i < len(x); i++ {
		u := math.Float32bits(x[i])
		bad |= signOrInf(u)
		if u > best {
			best, at = u, i
		}
	}
	return at, math.Float32frombits(best), bad == 0 && signOrInf(best) == 0
}

// relu32 is max(v, 0) for any v but a NaN (the sign bit clears it;
// −0 becomes +0), without a branch.
func relu32(v float32) float32 {
	u := math.Float32bits(v)
	return math.Float32frombits(u &^ uint32(int32(u)>>31))
}

// accProd adds float64(g[i]·a[i]) to acc[i], through relu32 when
// kind is elemElementWise (relu(g·a)) or elemLayerCAM (relu(g)·a). The
// gradients are finite (checked where they are computed), so relu32
// equals maxf(·, 0) here.
//
//go:noinline
func accProd(kind elemKind, acc []float64, a, g []float32) {
	a, g = a[:len(acc)], g[:len(acc)]
	switch kind {
	case elemHiRes:
		for i := range acc {
			acc[i] += float64(g[i] * a[i])
		}
	case elemElementWise:
		i := 0
		for ; i+4 <= len(acc); i += 4 {
			x, y, o := a[i:i+4:i+4], g[i:i+4:i+4], acc[i:i+4:i+4]
			o[0] += float64(relu32(y[0] * x[0]))
			o[1] += float64(relu32(y[1] * x[1]))
			o[2] += float64(relu32(y[2] * x[2]))
			o[3] += float64(relu32(y[3] * x[3]))
		}
		for ; i < len(acc); i++ {
			acc[i] += float64(relu32(g[i] * a[i]))
		}
	case elemLayerCAM:
		i := 0
		for ; i+4 <= len(acc); i += 4 {
			x, y, o := a[i:i+4:i+4], g[i:i+4:i+4], acc[i:i+4:i+4]
			o[0] += float64(relu32(y[0]) * x[0])
			o[1] += float64(relu32(y[1]) * x[1])
			o[2] += float64(relu32(y[2]) * x[2])
			o[3] += float64(relu32(y[3]) * x[3])
		}
		for ; i < len(acc); i++ {
			acc[i] += float64(relu32(g[i]) * a[i])
		}
	}
}

// sum64 returns the float64 sum of x, added in order (the plain loop's
// result, unrolled).
//
//go:noinline
func sum64(x []float32) float64 {
	s := 0.0
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y := x[i : i+4 : i+4]
		s += float64(y[0])
		s += float64(y[1])
		s += float64(y[2])
		s += float64(y[3])
	}
	for ; i < len(x); i++ {
		s += float64(x[i])
	}
	return s
}

// accScaled adds float64(w·a[i]) (the float32 product) to acc[i].
//
//go:noinline
func accScaled(acc []float64, a []float32, w float32) {
	a = a[:len(acc)]
	i := 0
	for ; i+4 <= len(acc); i += 4 {
		y, o := a[i:i+4:i+4], acc[i:i+4:i+4]
		o[0] += float64(w * y[0])
		o[1] += float64(w * y[1])
		o[2] += float64(w * y[2])
		o[3] += float64(w * y[3])
	}
	for ; i < len(acc); i++ {
		acc[i] += float64(w * a[i])
	}
}

// maskAtLeast sets bit i of mask (⌈len(row)/64⌉ words, cleared first) when
// row[i] ≥ t, for non-negative finite values and t > 0 finite (ok false
// when a value is not non-negative and finite; the mask is then garbage).
//
//go:noinline
func maskAtLeast(row []float32, t float32, mask []uint64) bool {
	tb := int64(math.Float32bits(t))
	var bad uint32
	for w := range mask {
		lo := w * 64
		hi := min(lo+64, len(row))
		var m uint64
		r := row[lo:hi]
		// atLeast is 1 when u ≥ tb: the difference is not negative, so its
		// complement is.
		atLeast := func(u uint32) uint64 { return uint64(^(int64(u) - tb)) >> 63 }
		i := 0
		for ; i+4 <= len(r); i += 4 {
			y := r[i : i+4 : i+4]
			a, b, c, d := math.Float32bits(y[0]), math.Float32bits(y[1]), math.Float32bits(y[2]), math.Float32bits(y[3])
			bad |= signOrInf(a) | signOrInf(b) | signOrInf(c) | signOrInf(d)
			m |= (atLeast(a) | atLeast(b)<<1 | atLeast(c)<<2 | atLeast(d)<<3) << (uint(i) & 63)
		}
		for ; i < len(r); i++ {
			u := math.Float32bits(r[i])
			bad |= signOrInf(u)
			m |= atLeast(u) << (uint(i) & 63)
		}
		mask[w] = m
	}
	return bad == 0
}

// maskNotBelow sets bit i of mask when !(row[i] < t): any float values
// (a NaN counts as set), the plain loop.
func maskNotBelow(row []float32, t float32, mask []uint64) {
	clear(mask)
	for i, v := range row {
		if !(v < t) {
			mask[i/64] |= 1 << (uint(i) & 63)
		}
	}
}

// nextBit returns the first index ≥ from, below n, whose bit in mask is
// set (set true) or clear (set false); n when there is none.
func nextBit(mask []uint64, from, n int, set bool) int {
	for from < n {
		w := mask[from/64]
		if !set {
			w = ^w
		}
		w >>= uint(from) & 63
		if w != 0 {
			return min(from+bits.TrailingZeros64(w), n)
		}
		from = (from/64 + 1) * 64
	}
	return n
}
