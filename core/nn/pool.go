package nn

import (
	"fmt"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// Pooling, PyTorch semantics (MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1),
// mean over dims), NCHW.
//
// maxpool / avgpool: x [N, C, H, W] → y [N, C, OH, OW]. A window of output
// row oy covers input rows oy·sh − top + i·dh, i < KH (dh = 1 for avgpool).
//
//	OH = floor((H + top + bottom − dh·(KH−1) − 1)/sh) + 1,  or with CeilMode
//	OH = ceil(…) + 1, minus one if the last window would start at or after
//	     H + top (a window that starts in the bottom padding is dropped).
//
// Every window must hold at least one input element (OutShape checks).
//
// maxpool: y = max over the window's input elements (padding never wins);
// backward routes gy to the first maximum in row-major window order, as
// PyTorch does on ties.
//
// avgpool: y = Σ(window's input elements)/divisor. Per axis, a window spans
// [s, e) with s = oy·sh − top, e = min(s + KH, H + bottom). With
// CountIncludePad the divisor is (e−s)_h·(e−s)_w: it counts padding but not
// the part of a ceil-mode window beyond the padded input; without it, the
// divisor is the number of input elements in the window.
type poolOp struct {
	isMax          bool
	kh, kw         int
	sh, sw, dh, dw int
	pt, pl, pb, pr int
	ceil, incPad   bool
}

func init() {
	register("maxpool", func(spec *NodeSpec, _ Weights) (Op, error) { return buildPool(spec, true) })
	register("avgpool", func(spec *NodeSpec, _ Weights) (Op, error) { return buildPool(spec, false) })
	register("globalavgpool", func(spec *NodeSpec, _ Weights) (Op, error) {
		if len(spec.Inputs) != 1 {
			return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
		}
		return &meanOp{h: true, w: true, keep: true, name: "globalavgpool"}, nil
	})
	register("reducemean", buildReduceMean)
}

func buildPool(spec *NodeSpec, isMax bool) (Op, error) {
	if len(spec.Inputs) != 1 {
		return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
	}
	a := spec.Attrs
	op := &poolOp{isMax: isMax, ceil: a.CeilMode, incPad: a.CountIncludePad}
	if len(a.Kernel) != 2 {
		return nil, errorf(spec, "kernel needs 2 values [kh, kw], has %v", a.Kernel)
	}
	var err error
	if op.kh, op.kw, err = pair(spec, "kernel", a.Kernel, 0, 1); err != nil {
		return nil, err
	}
	if len(a.Stride) == 0 {
		op.sh, op.sw = op.kh, op.kw
	} else if op.sh, op.sw, err = pair(spec, "stride", a.Stride, 0, 1); err != nil {
		return nil, err
	}
	if op.dh, op.dw, err = pair(spec, "dilation", a.Dilation, 1, 1); err != nil {
		return nil, err
	}
	if !isMax && (op.dh != 1 || op.dw != 1) {
		return nil, errorf(spec, "avgpool does not support dilation %v", a.Dilation)
	}
	if op.pt, op.pl, op.pb, op.pr, err = pads4(spec); err != nil {
		return nil, err
	}
	return op, nil
}

// poolAxis holds, per output position along one axis, the window start s
// (in input coordinates, may be negative), the range of taps [lo, hi) that
// fall inside the input, and the avgpool divisor factor.
type poolAxis struct {
	start, lo, hi []int
	div           []int
}

// poolLen is the output length along one axis (see poolOp's comment).
func poolLen(what string, n, k, s, d, a, b int, ceil bool) (int, error) {
	ext := d*(k-1) + 1
	if n+a+b < ext {
		return 0, fmt.Errorf("%s: input %d padded by %d+%d is smaller than the window extent %d", what, n, a, b, ext)
	}
	num := n + a + b - ext
	out := num/s + 1
	if ceil {
		out = (num+s-1)/s + 1
		if (out-1)*s >= n+a {
			out--
		}
	}
	if out > tensor.MaxElements {
		return 0, fmt.Errorf("%s: %d windows: %w", what, out, tensor.ErrTooLarge)
	}
	// Window starts grow with o, so without dilation a window between two
	// that reach the input reaches it too: only the first and the last need
	// a look. Dilated taps can step over a short input: check them all.
	for o := 0; o < out; o++ {
		if d == 1 && o > 0 && o < out-1 {
			o = out - 1
		}
		if lo, hi := span(n, k, d, o*s-a); lo >= hi {
			return 0, fmt.Errorf("%s: window %d (of %d) lies entirely in the padding", what, o, out)
		}
	}
	return out, nil
}

func (op *poolOp) axis(n, out, k, s, d, a, b int) poolAxis {
	ax := poolAxis{start: make([]int, out), lo: make([]int, out), hi: make([]int, out), div: make([]int, out)}
	for o := 0; o < out; o++ {
		st := o*s - a
		ax.start[o] = st
		ax.lo[o], ax.hi[o] = span(n, k, d, st)
		if op.incPad {
			ax.div[o] = min(st+k, n+b) - st
		} else {
			ax.div[o] = ax.hi[o] - ax.lo[o]
		}
	}
	return ax
}

func (op *poolOp) name() string {
	if op.isMax {
		return "maxpool"
	}
	return "avgpool"
}

func (op *poolOp) OutShape(in [][]int) ([]int, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s needs 1 input, has %d", op.name(), len(in))
	}
	s := in[0]
	if len(s) != 4 {
		return nil, fmt.Errorf("%s needs a 4-D input [N, C, H, W], got %v", op.name(), s)
	}
	oh, err := poolLen("height", s[2], op.kh, op.sh, op.dh, op.pt, op.pb, op.ceil)
	if err != nil {
		return nil, err
	}
	ow, err := poolLen("width", s[3], op.kw, op.sw, op.dw, op.pl, op.pr, op.ceil)
	if err != nil {
		return nil, err
	}
	return []int{s[0], s[1], oh, ow}, nil
}

func (op *poolOp) axes(x, y *tensor.Tensor) (ay, ax poolAxis) {
	h, w, oh, ow := x.Shape[2], x.Shape[3], y.Shape[2], y.Shape[3]
	return op.axis(h, oh, op.kh, op.sh, op.dh, op.pt, op.pb), op.axis(w, ow, op.kw, op.sw, op.dw, op.pl, op.pr)
}

// argmax returns the index in plane xp (row length w) of the first maximum
// of window (oy, ox).
func (op *poolOp) argmax(xp []float32, w int, ay, ax *poolAxis, oy, ox int) int {
	best, bi := float32(math.Inf(-1)), -1
	for i := ay.lo[oy]; i < ay.hi[oy]; i++ {
		row := (ay.start[oy] + i*op.dh) * w
		for j := ax.lo[ox]; j < ax.hi[ox]; j++ {
			k := row + ax.start[ox] + j*op.dw
			if v := xp[k]; bi < 0 || v > best {
				best, bi = v, k
			}
		}
	}
	return bi
}

func (op *poolOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	x := in[0]
	ay, ax := op.axes(x, out)
	h, w, oh, ow := x.Shape[2], x.Shape[3], out.Shape[2], out.Shape[3]
	planes := x.Shape[0] * x.Shape[1]
	for p := 0; p < planes; p++ {
		xp, yp := x.Data[p*h*w:(p+1)*h*w], out.Data[p*oh*ow:(p+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				if op.isMax {
					yp[oy*ow+ox] = xp[op.argmax(xp, w, &ay, &ax, oy, ox)]
					continue
				}
				var s float32
				c0, c1 := ax.start[ox]+ax.lo[ox], ax.start[ox]+ax.hi[ox]
				r0, r1 := ay.start[oy]+ay.lo[oy], ay.start[oy]+ay.hi[oy]
				if c0 == 0 && c1 == w { // whole rows: one contiguous run, same order
					s = sumSeq(s, xp[r0*w:r1*w])
				} else {
					for r := r0; r < r1; r++ {
						s = sumSeq(s, xp[r*w+c0:r*w+c1])
					}
				}
				yp[oy*ow+ox] = s / float32(ay.div[oy]*ax.div[ox])
			}
		}
	}
}

func (op *poolOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	x := in[0]
	ay, ax := op.axes(x, gout)
	h, w, oh, ow := x.Shape[2], x.Shape[3], gout.Shape[2], gout.Shape[3]
	planes := x.Shape[0] * x.Shape[1]
	for p := 0; p < planes; p++ {
		xp, gxp, gyp := x.Data[p*h*w:(p+1)*h*w], gin[0].Data[p*h*w:(p+1)*h*w], gout.Data[p*oh*ow:(p+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				g := gyp[oy*ow+ox]
				if op.isMax {
					gxp[op.argmax(xp, w, &ay, &ax, oy, ox)] += g
					continue
				}
				g /= float32(ay.div[oy] * ax.div[ox])
				c0, c1 := ax.start[ox]+ax.lo[ox], ax.start[ox]+ax.hi[ox]
				r0, r1 := ay.start[oy]+ay.lo[oy], ay.start[oy]+ay.hi[oy]
				if c0 == 0 && c1 == w { // whole rows: one contiguous run
					addConst(gxp[r0*w:r1*w], g)
					continue
				}
				for r := r0; r < r1; r++ {
					addConst(gxp[r*w+c0:r*w+c1], g)
				}
			}
		}
	}
}

// meanOp is the mean over the spatial axes of a 4-D input: globalavgpool
// (both axes, kept) and reducemean.
//
//	x [N, C, H, W] → y [N, C, H', W'] with H' = 1 if h (reduced) else H, same for W;
//	y = Σ over the reduced axes / (number of elements reduced);
//	keep = false drops the reduced axes from the output shape.
//
// Backward: gx[…] += gy[…]/count.
type meanOp struct {
	h, w, keep bool
	name       string
}

// buildReduceMean reads Axes (default [2, 3]; negative values count from
// the end of a 4-D input) and KeepDims. Only the spatial axes of a 4-D
// input are supported.
func buildReduceMean(spec *NodeSpec, _ Weights) (Op, error) {
	if len(spec.Inputs) != 1 {
		return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
	}
	axes := spec.Attrs.Axes
	if len(axes) == 0 {
		axes = []int{2, 3}
	}
	op := &meanOp{keep: spec.Attrs.KeepDims, name: "reducemean"}
	for _, a := range axes {
		if a < 0 {
			a += 4
		}
		switch {
		case a == 2 && !op.h:
			op.h = true
		case a == 3 && !op.w:
			op.w = true
		case a == 2 || a == 3:
			return nil, errorf(spec, "axes %v repeat an axis", spec.Attrs.Axes)
		default:
			return nil, errorf(spec, "axes %v: only the spatial axes 2 and 3 (-2, -1) of a 4-D input are supported", spec.Attrs.Axes)
		}
	}
	return op, nil
}

func (op *meanOp) OutShape(in [][]int) ([]int, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s needs 1 input, has %d", op.name, len(in))
	}
	s := in[0]
	if len(s) != 4 {
		return nil, fmt.Errorf("%s supports only 4-D inputs [N, C, H, W] (mean over axes 2 and 3), got %v", op.name, s)
	}
	if s[2] < 1 || s[3] < 1 {
		return nil, fmt.Errorf("%s: empty spatial size in %v", op.name, s)
	}
	out := []int{s[0], s[1]}
	for i, red := range []bool{op.h, op.w} {
		switch {
		case !red:
			out = append(out, s[2+i])
		case op.keep:
			out = append(out, 1)
		}
	}
	return out, nil
}

// dims returns the plane size, output plane size, output row length and
// the count of elements averaged.
func (op *meanOp) dims(x *tensor.Tensor) (h, w, ow, count int) {
	h, w = x.Shape[2], x.Shape[3]
	ow, count = w, 1
	if op.h {
		count *= h
	}
	if op.w {
		ow, count = 1, count*w
	}
	return h, w, ow, count
}

func (op *meanOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	x := in[0]
	h, w, ow, count := op.dims(x)
	planes, ohw := x.Shape[0]*x.Shape[1], len(out.Data)/(x.Shape[0]*x.Shape[1])
	inv := 1 / float64(count)
	acc := make([]float64, ohw)
	for p := 0; p < planes; p++ {
		xp, yp := x.Data[p*h*w:(p+1)*h*w], out.Data[p*ohw:(p+1)*ohw]
		clear(acc)
		for iy := 0; iy < h; iy++ {
			oy := iy
			if op.h {
				oy = 0
			}
			xr, ar := xp[iy*w:(iy+1)*w], acc[oy*ow:(oy+1)*ow]
			if op.w {
				s := 0.0
				for _, v := range xr {
					s += float64(v)
				}
				ar[0] += s
				continue
			}
			for ix, v := range xr {
				ar[ix] += float64(v)
			}
		}
		for i, s := range acc {
			yp[i] = float32(s * inv)
		}
	}
}

func (op *meanOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	x := in[0]
	h, w, ow, count := op.dims(x)
	planes, ohw := x.Shape[0]*x.Shape[1], len(gout.Data)/(x.Shape[0]*x.Shape[1])
	inv := 1 / float32(count)
	for p := 0; p < planes; p++ {
		gxp, gyp := gin[0].Data[p*h*w:(p+1)*h*w], gout.Data[p*ohw:(p+1)*ohw]
		for iy := 0; iy < h; iy++ {
			oy := iy
			if op.h {
				oy = 0
			}
			gr, g := gxp[iy*w:(iy+1)*w], gyp[oy*ow:(oy+1)*ow]
			if op.w {
				addConst(gr, g[0]*inv)
				continue
			}
			for ix := range gr {
				gr[ix] += g[ix] * inv
			}
		}
	}
}

// addConst adds g to every element of x (unrolled; a leaf function for
// js/wasm, see fill).
//
//go:noinline
func addConst(x []float32, g float32) {
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y := x[i : i+4 : i+4]
		y[0] += g
		y[1] += g
		y[2] += g
		y[3] += g
	}
	for ; i < len(x); i++ {
		x[i] += g
	}
}

// sumSeq returns s + x[0] + x[1] + … added in order, in float32 (unrolled;
// the order of the additions is the plain loop's).
//
//go:noinline
func sumSeq(s float32, x []float32) float32 {
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y := x[i : i+4 : i+4]
		s += y[0]
		s += y[1]
		s += y[2]
		s += y[3]
	}
	for ; i < len(x); i++ {
		s += x[i]
	}
	return s
}
