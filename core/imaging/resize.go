package imaging

import (
	"fmt"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// ResizeMode selects how a resize maps destination pixels to source pixels.
type ResizeMode int

const (
	// ResizeHalfPixel is bilinear interpolation with half-pixel centres, as
	// OpenCV's cv2.resize(..., interpolation=INTER_LINEAR) on float32 and
	// PyTorch's F.interpolate(mode="bilinear", align_corners=False) without
	// antialiasing: src = (dst+0.5)·(in/out) − 0.5, clamped to [0, in−1].
	ResizeHalfPixel ResizeMode = iota
	// ResizeAlignCorners is PyTorch's F.interpolate(mode="bilinear",
	// align_corners=True): src = dst·(in−1)/(out−1) (0 when out is 1), so the
	// corner pixels of source and destination coincide.
	ResizeAlignCorners
	// ResizeTF is tf.image.resizeBilinear with alignCorners=false and
	// halfPixelCenters=false (the TensorFlow.js default, used by face-api):
	// src = dst·in/out, clamped to in−1.
	ResizeTF
	// ResizeArea averages the source over each destination pixel's footprint
	// [dst·s, (dst+1)·s) with s = in/out, weighting partly covered source
	// pixels by their coverage (a box filter). When shrinking this is
	// OpenCV's INTER_AREA; when enlarging it is nearest-neighbour with a
	// blend where a destination pixel straddles two source pixels
	// (tf.image.resize "area" semantics, not OpenCV's).
	ResizeArea
)

// String returns the mode's name.
func (m ResizeMode) String() string {
	switch m {
	case ResizeHalfPixel:
		return "half-pixel"
	case ResizeAlignCorners:
		return "align-corners"
	case ResizeTF:
		return "bilinear-tf"
	case ResizeArea:
		return "area"
	}
	return fmt.Sprintf("ResizeMode(%d)", int(m))
}

// ResizePlane resizes one sw×sh row-major float32 plane to dw×dh and returns
// a new slice. It is separable: rows are resampled first, then columns, in
// float32, in the same order of operations as OpenCV's INTER_LINEAR.
//
// ResizePlane panics when a size is not positive, when len(src) != sw·sh,
// when dw·dh exceeds tensor.MaxElements, or on an unknown mode: these are
// programming errors, not data errors (map sizes come from the model).
// PlaneResizer does the same without allocating per call.
func ResizePlane(src []float32, sw, sh, dw, dh int, mode ResizeMode) []float32 {
	r, err := NewPlaneResizer(sw, sh, dw, dh, mode)
	if err != nil {
		panic("imaging.ResizePlane: " + err.Error())
	}
	if len(src) != sw*sh {
		panic(fmt.Sprintf("imaging.ResizePlane: source is %d×%d but has %d values", sw, sh, len(src)))
	}
	dst := make([]float32, dw*dh)
	r.Resize(dst, src)
	return dst
}

// PlaneResizer resizes sw×sh float32 planes to dw×dh again and again, with
// exactly ResizePlane's results and no allocation per call (the
// explanation maps of a session all have the same geometry). It is not
// safe for concurrent use: it keeps one scratch buffer.
type PlaneResizer struct {
	sw, sh, dw, dh int
	x, y           taps
	used           []bool    // source rows that some vertical tap reads
	hrows          []float32 // sh×dw: source rows resampled horizontally
}

// NewPlaneResizer prepares the taps of one resize geometry. Sizes must be
// positive, each plane within tensor.MaxElements and the mode known.
func NewPlaneResizer(sw, sh, dw, dh int, mode ResizeMode) (*PlaneResizer, error) {
	if sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 {
		return nil, fmt.Errorf("sizes must be positive, got %d×%d → %d×%d", sw, sh, dw, dh)
	}
	if sw > tensor.MaxElements/sh {
		return nil, fmt.Errorf("source %d×%d exceeds %d values", sw, sh, tensor.MaxElements)
	}
	if dw > tensor.MaxElements/dh || dw > tensor.MaxElements/sh {
		return nil, fmt.Errorf("destination %d×%d (from %d rows) exceeds %d values", dw, dh, sh, tensor.MaxElements)
	}
	if !mode.valid() {
		return nil, fmt.Errorf("unknown resize mode %d", int(mode))
	}
	r := &PlaneResizer{sw: sw, sh: sh, dw: dw, dh: dh,
		x: axisTaps(sw, sw, 0, dw, mode), y: axisTaps(sh, sh, 0, dh, mode), used: make([]bool, sh)}
	for _, t := range r.y.tap {
		r.used[t.src] = true
	}
	return r, nil
}

// Size returns the source and destination sizes.
func (r *PlaneResizer) Size() (sw, sh, dw, dh int) { return r.sw, r.sh, r.dw, r.dh }

// Resize writes the resized src (sw×sh, row-major) into dst (dw×dh). It
// panics when a length is wrong (a programming error). Each destination
// value is Σ_rows w_y·(Σ_cols w_x·src), accumulated in source order from
// zero in float32, as ResizePlane computes it (a weight of 1 multiplies
// exactly).
func (r *PlaneResizer) Resize(dst, src []float32) {
	sw, dw := r.sw, r.dw
	if len(src) != sw*r.sh || len(dst) != dw*r.dh {
		panic(fmt.Sprintf("imaging.PlaneResizer: %d source and %d destination values for %d×%d → %d×%d", len(src), len(dst), sw, r.sh, dw, r.dh))
	}
	if r.hrows == nil {
		r.hrows = make([]float32, r.sh*dw)
	}
	for sy, ok := range r.used {
		if ok {
			r.x.apply(r.hrows[sy*dw:(sy+1)*dw], src[sy*sw:(sy+1)*sw])
		}
	}
	var zero float32 // the sums start from +0, as in ResizePlane
	for d := range r.dh {
		o := dst[d*dw : (d+1)*dw]
		ts := r.y.tap[r.y.off[d]:r.y.off[d+1]]
		if len(ts) == 2 { // bilinear: both rows in one pass
			h0 := r.hrows[ts[0].src*dw : (ts[0].src+1)*dw]
			h1 := r.hrows[ts[1].src*dw : (ts[1].src+1)*dw]
			h0, h1 = h0[:len(o)], h1[:len(o)]
			lerpRows(o, h0, h1, ts[0].w, ts[1].w, zero)
			continue
		}
		clear(o)
		for _, t := range ts {
			addScaled(o, r.hrows[t.src*dw:(t.src+1)*dw], t.w)
		}
	}
}

func (m ResizeMode) valid() bool { return m >= ResizeHalfPixel && m <= ResizeArea }

// tap is one source sample and its weight.
type tap struct {
	src int
	w   float32
}

// taps holds, for each destination index d, the taps tap[off[d]:off[d+1]]
// in increasing source order.
type taps struct {
	off []int
	tap []tap
}

// apply resamples line along this axis: out[d] = Σ w·line[src] over the
// taps of d, accumulated in source order from zero. Not inlined, so that
// its loop stays out of large callers (see lerpRows).
//
//go:noinline
func (t taps) apply(out, line []float32) {
	for d := range out {
		var acc float32
		for _, tp := range t.tap[t.off[d]:t.off[d+1]] {
			acc += line[tp.src] * tp.w
		}
		out[d] = acc
	}
}

// axisTaps computes the taps of a resize along one axis. The source is a
// virtual canvas of length canvas; the real samples (n of them) sit at
// canvas positions [at, at+n) and everything else is zero (padding), so
// taps that fall into the padding are dropped. Source indices in the result
// are relative to the real samples (0..n−1).
func axisTaps(canvas, n, at, out int, mode ResizeMode) taps {
	t := taps{off: make([]int, out+1)}
	add := func(i int, w float32) {
		if i -= at; i >= 0 && i < n {
			t.tap = append(t.tap, tap{i, w})
		}
	}
	for d := range out {
		switch mode {
		case ResizeArea:
			s := float64(canvas) / float64(out)
			lo, hi := float64(d)*s, math.Min(float64(d+1)*s, float64(canvas))
			for k := int(math.Floor(lo)); k < canvas && float64(k) < hi; k++ {
				cover := math.Min(hi, float64(k+1)) - math.Max(lo, float64(k))
				if cover > 1e-9 {
					add(k, float32(cover/s))
				}
			}
		default:
			i, f := linearSource(canvas, out, d, mode)
			if f == 0 {
				add(i, 1)
			} else {
				add(i, 1-f)
				add(i+1, f)
			}
		}
		t.off[d+1] = len(t.tap)
	}
	return t
}

// linearSource returns the first source index and the weight of the second
// (index+1) for destination d of a bilinear resize from in to out samples.
// The weight is 0 whenever index is in−1, so index+1 is only used when valid.
func linearSource(in, out, d int, mode ResizeMode) (int, float32) {
	var s float32
	switch mode {
	case ResizeHalfPixel:
		// OpenCV: scale = in/out in double, the coordinate rounded to float.
		s = float32((float64(d)+0.5)*(float64(in)/float64(out)) - 0.5)
	case ResizeAlignCorners:
		if out > 1 {
			s = float32(in-1) / float32(out-1) * float32(d)
		}
	case ResizeTF:
		s = float32(in) / float32(out) * float32(d)
	}
	i := int(math.Floor(float64(s)))
	f := s - float32(i)
	if i < 0 {
		i, f = 0, 0
	}
	if i >= in-1 {
		i, f = in-1, 0
	}
	return i, f
}

// resampler applies separable taps to planes that arrive one source row at
// a time.
type resampler struct {
	x, y taps
}

// run resizes len(dst) planes of width dw. fetch(y, rows) must fill rows[c]
// (length srcW) with source row y of plane c; it is called at most once per
// row, in increasing y, and only for rows that some tap uses. Each
// destination value is Σ_rows w_y·(Σ_cols w_x·src), accumulated in source
// order from zero, which reproduces a·(1−f) + b·f exactly for bilinear taps.
func (r *resampler) run(dst [][]float32, dw int, fetch func(y int, rows [][]float32), srcW int) {
	srcRows, uses := r.y.bySource()
	nc := len(dst)
	rows := make([][]float32, nc)
	hrow := make([][]float32, nc)
	for c := range nc {
		rows[c] = make([]float32, srcW)
		hrow[c] = make([]float32, dw)
	}
	for i, sy := range srcRows {
		fetch(sy, rows)
		r.accumulate(dst, dw, rows, hrow, uses[i])
	}
}

// accumulate resamples one source row of each plane horizontally (into
// hrow) and adds it, weighted, to the destination rows it feeds. A
// function of its own, as small as the loop: see lerpRows.
//
//go:noinline
func (r *resampler) accumulate(dst [][]float32, dw int, rows, hrow [][]float32, uses []use) {
	for c := range dst {
		out := hrow[c]
		r.x.apply(out, rows[c])
		for _, u := range uses {
			addScaled(dst[c][u.d*dw:(u.d+1)*dw], out, u.w)
		}
	}
}

// use is one destination a source index feeds, with its weight.
type use struct {
	d int
	w float32
}

// bySource inverts the taps: the source indices some tap uses, in
// increasing order, and for each the destinations it feeds with their
// weights, in increasing destination order.
func (t taps) bySource() (src []int, uses [][]use) {
	n := 0
	for _, tp := range t.tap {
		n = max(n, tp.src+1)
	}
	idx := make([]int, n) // 1 + the index in src; 0: unused
	for _, tp := range t.tap {
		idx[tp.src] = 1
	}
	for s, i := range idx {
		if i != 0 {
			src = append(src, s)
			idx[s] = len(src)
		}
	}
	uses = make([][]use, len(src))
	for d := 0; d+1 < len(t.off); d++ {
		for _, tp := range t.tap[t.off[d]:t.off[d+1]] {
			i := idx[tp.src] - 1
			uses[i] = append(uses[i], use{d, tp.w})
		}
	}
	return src, uses
}

// addScaled adds h[x]·w to o[x] for every x of o (h[x] alone when w is
// 1, which multiplies exactly anyway but skips the product). A leaf
// function for the reason given at lerpRows.
//
//go:noinline
func addScaled(o, h []float32, w float32) {
	h = h[:len(o)]
	if w == 1 {
		for x, v := range h {
			o[x] += v
		}
		return
	}
	for x, v := range h {
		o[x] += v * w
	}
}

// lerpRows sets o[x] = zero + h0[x]·w0 + h1[x]·w1 (zero is +0: the sums of
// ResizePlane start from it). Unrolled, and a leaf function: in js/wasm
// Go compiles each loop back-edge into a jump through the function's block
// dispatcher, which costs most in long inlined loops.
//
//go:noinline
func lerpRows(o, h0, h1 []float32, w0, w1, zero float32) {
	h0, h1 = h0[:len(o)], h1[:len(o)]
	x := 0
	for ; x+4 <= len(o); x += 4 {
		a, b, c := h0[x:x+4:x+4], h1[x:x+4:x+4], o[x:x+4:x+4]
		c[0] = zero + a[0]*w0 + b[0]*w1
		c[1] = zero + a[1]*w0 + b[1]*w1
		c[2] = zero + a[2]*w0 + b[2]*w1
		c[3] = zero + a[3]*w0 + b[3]*w1
	}
	for ; x < len(o); x++ {
		o[x] = zero + h0[x]*w0 + h1[x]*w1
	}
}
