package imaging

import (
	"fmt"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// ResizeMode selects how ResizePlane maps destination pixels to source
// coordinates.
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
	// halfPixelCenters=false (the TensorFlow.js default): src = dst·in/out,
	// clamped to in−1.
	ResizeTF
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
	}
	return fmt.Sprintf("ResizeMode(%d)", int(m))
}

// ResizePlane resizes one sw×sh row-major float32 plane to dw×dh with
// bilinear interpolation and returns a new slice. Rows are interpolated
// horizontally first, then vertically, in float32, like OpenCV.
//
// ResizePlane panics when a size is not positive, when len(src) != sw·sh,
// when dw·dh exceeds tensor.MaxElements, or on an unknown mode: these are
// programming errors, not data errors (map sizes come from the model).
func ResizePlane(src []float32, sw, sh, dw, dh int, mode ResizeMode) []float32 {
	if sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 {
		panic(fmt.Sprintf("imaging.ResizePlane: sizes must be positive, got %d×%d → %d×%d", sw, sh, dw, dh))
	}
	if sw > tensor.MaxElements/sh || len(src) != sw*sh {
		panic(fmt.Sprintf("imaging.ResizePlane: source is %d×%d but has %d values", sw, sh, len(src)))
	}
	if dw > tensor.MaxElements/dh {
		panic(fmt.Sprintf("imaging.ResizePlane: destination %d×%d exceeds %d values", dw, dh, tensor.MaxElements))
	}
	xi, xw := linearTaps(sw, dw, mode)
	yi, yw := linearTaps(sh, dh, mode)
	dst := make([]float32, dw*dh)
	resizeBilinear(dst, src, sw, dw, dh, xi, xw, yi, yw)
	return dst
}

// linearTaps returns, for each of the out destination positions along an
// axis of length in, the index of the first source sample and the weight of
// the second one (the first gets 1−w). The second sample is index+1, which
// is always valid because the weight is 0 when index is in−1.
func linearTaps(in, out int, mode ResizeMode) ([]int, []float32) {
	idx := make([]int, out)
	wt := make([]float32, out)
	for d := range out {
		var s float32
		switch mode {
		case ResizeHalfPixel:
			// OpenCV: scale = in/out as double, fx computed in float.
			scale := float64(in) / float64(out)
			s = float32((float64(d)+0.5)*scale - 0.5)
		case ResizeAlignCorners:
			if out > 1 {
				scale := float32(in-1) / float32(out-1)
				s = scale * float32(d)
			}
		case ResizeTF:
			scale := float32(in) / float32(out)
			s = scale * float32(d)
		default:
			panic(fmt.Sprintf("imaging: unknown resize mode %d", int(mode)))
		}
		i := int(math.Floor(float64(s)))
		f := s - float32(i)
		if i < 0 {
			i, f = 0, 0
		}
		if i >= in-1 {
			i, f = in-1, 0
		}
		idx[d] = i
		wt[d] = f
	}
	return idx, wt
}

// resizeBilinear interpolates one row-major plane (sw wide) into dst (dw×dh)
// from precomputed taps: horizontal pass into two cached rows, then a
// vertical blend, as OpenCV does.
func resizeBilinear(dst, src []float32, sw, dw, dh int, xi []int, xw []float32, yi []int, yw []float32) {
	row0 := make([]float32, dw)
	row1 := make([]float32, dw)
	prev0, prev1 := -1, -1 // source rows held by row0 and row1
	hrow := func(buf []float32, y int) {
		line := src[y*sw : (y+1)*sw]
		for x := range dw {
			i, a := xi[x], xw[x]
			if a == 0 {
				buf[x] = line[i]
				continue
			}
			buf[x] = line[i]*(1-a) + line[i+1]*a
		}
	}
	for y := range dh {
		j, b := yi[y], yw[y]
		if j != prev0 {
			if j == prev1 {
				row0, row1 = row1, row0
				prev0, prev1 = prev1, prev0
			} else {
				hrow(row0, j)
				prev0 = j
			}
		}
		out := dst[y*dw : (y+1)*dw]
		if b == 0 {
			copy(out, row0)
			continue
		}
		if prev1 != j+1 {
			hrow(row1, j+1)
			prev1 = j + 1
		}
		for x := range dw {
			out[x] = row0[x]*(1-b) + row1[x]*b
		}
	}
}
