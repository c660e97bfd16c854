package nn

import (
	"fmt"
	"sync"

	"github.com/camlens/camlens/core/tensor"
)

// conv2d: 2-D cross-correlation (PyTorch Conv2d / ONNX Conv), NCHW.
//
//	x [N, C, H, W], weight [OC, C/G, KH, KW], bias [OC] (optional) → y [N, OC, OH, OW]
//	y[n][o][oy][ox] = bias[o] + Σ_{c∈group(o), i, j} weight[o][c][i][j] ·
//	                  x[n][c][oy·sh − top + i·dh][ox·sw − left + j·dw]     (x = 0 outside)
//	OH = (H + top + bottom − dh·(KH−1) − 1)/sh + 1   (same for OW)
//
// Attrs: Stride [sh, sw] (default 1, 1), Dilation [dh, dw] (default 1, 1),
// Pads [top, left, bottom, right] (default 0), Group G (default 1), Kernel
// [KH, KW] (optional; must match the weight).
//
// Paths (all give the reference's result up to float32 rounding):
//   - depthwise (G == C, one input channel per group, OC = mult·C): a direct
//     loop per plane; 3×3 with dilation 1 goes through Kernels.Depthwise3x3;
//   - pointwise (1×1, stride 1, no padding): y_g = W_g·x_g, one GEMM per
//     group and image, no copy;
//   - otherwise: im2col of each group into [C/G·KH·KW, OH·OW], then one GEMM.
//
// Backward to x: pointwise gx_g += W_gᵀ·gy_g; general col = W_gᵀ·gy_g then
// col2im; depthwise: the direct transposed loop (Kernels.Depthwise3x3Grad).
type convOp struct {
	oc, g, cg, ocg int // output channels, groups, input/output channels per group
	kh, kw         int
	sh, sw, dh, dw int
	pt, pl, pb, pr int
	w              []float32 // [OC][CG·KH·KW]
	wtOnce         sync.Once
	wt             []float32 // per group g: [CG·KH·KW][OCG] = W_gᵀ; built by transposed
	bias           []float32 // [OC] or nil
	mode           convMode
	ab             affineBound // output magnitude bound (bound.go)
}

type convMode int

const (
	convIm2col convMode = iota
	convPointwise
	convDepthwise
	convDepthwise3x3
)

// convGeom is the geometry of one call: input and output planes per image.
type convGeom struct {
	n, c, h, w int
	oh, ow     int
}

func init() {
	register("conv2d", buildConv)
}

// pair reads a two-element attribute with a default, checking that both
// values are ≥ lo.
func pair(spec *NodeSpec, name string, v []int, def, lo int) (int, int, error) {
	if len(v) == 0 {
		return def, def, nil
	}
	if len(v) != 2 {
		return 0, 0, errorf(spec, "%s needs 2 values, has %v", name, v)
	}
	if v[0] < lo || v[1] < lo {
		return 0, 0, errorf(spec, "%s %v: values must be ≥ %d", name, v, lo)
	}
	return v[0], v[1], nil
}

// pads4 reads [top, left, bottom, right] (default zeros), all ≥ 0.
func pads4(spec *NodeSpec) (t, l, b, r int, err error) {
	p := spec.Attrs.Pads
	if len(p) == 0 {
		return 0, 0, 0, 0, nil
	}
	if len(p) != 4 {
		return 0, 0, 0, 0, errorf(spec, "pads needs 4 values [top, left, bottom, right], has %v", p)
	}
	for _, v := range p {
		if v < 0 {
			return 0, 0, 0, 0, errorf(spec, "pads %v: negative padding", p)
		}
	}
	return p[0], p[1], p[2], p[3], nil
}

// param fetches a parameter and checks that its data matches its shape.
func param(spec *NodeSpec, w Weights, name string, required bool) (*tensor.Tensor, error) {
	t := w.Param(name)
	if t == nil {
		if required {
			return nil, errorf(spec, "missing parameter %q", spec.Name+"."+name)
		}
		return nil, nil
	}
	n, err := tensor.NumElements(t.Shape)
	if err != nil {
		return nil, errorf(spec, "parameter %q: %v", name, err)
	}
	if n != len(t.Data) {
		return nil, errorf(spec, "parameter %q has shape %v but %d values", name, t.Shape, len(t.Data))
	}
	return t, nil
}

func buildConv(spec *NodeSpec, ws Weights) (Op, error) {
	if len(spec.Inputs) != 1 {
		return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
	}
	wt, err := param(spec, ws, "weight", true)
	if err != nil {
		return nil, err
	}
	if wt.Rank() != 4 {
		return nil, errorf(spec, "weight must be [OC, C/G, KH, KW], has shape %v", wt.Shape)
	}
	op := &convOp{oc: wt.Shape[0], cg: wt.Shape[1], kh: wt.Shape[2], kw: wt.Shape[3], g: spec.Attrs.Group}
	if op.oc < 1 || op.cg < 1 || op.kh < 1 || op.kw < 1 {
		return nil, errorf(spec, "weight shape %v has a zero dimension", wt.Shape)
	}
	if k := spec.Attrs.Kernel; len(k) != 0 && (len(k) != 2 || k[0] != op.kh || k[1] != op.kw) {
		return nil, errorf(spec, "kernel %v does not match weight shape %v", k, wt.Shape)
	}
	if op.g == 0 {
		op.g = 1
	}
	if op.g < 0 {
		return nil, errorf(spec, "group %d must be positive", op.g)
	}
	if op.oc%op.g != 0 {
		return nil, errorf(spec, "%d output channels are not divisible by group %d", op.oc, op.g)
	}
	if op.cg > tensor.MaxElements/op.g {
		return nil, errorf(spec, "%d groups × %d channels too large", op.g, op.cg)
	}
	op.ocg = op.oc / op.g
	if op.sh, op.sw, err = pair(spec, "stride", spec.Attrs.Stride, 1, 1); err != nil {
		return nil, err
	}
	if op.dh, op.dw, err = pair(spec, "dilation", spec.Attrs.Dilation, 1, 1); err != nil {
		return nil, err
	}
	if op.pt, op.pl, op.pb, op.pr, err = pads4(spec); err != nil {
		return nil, err
	}
	b, err := param(spec, ws, "bias", false)
	if err != nil {
		return nil, err
	}
	if b != nil {
		if b.Rank() != 1 || b.Shape[0] != op.oc {
			return nil, errorf(spec, "bias shape %v, want [%d]", b.Shape, op.oc)
		}
		op.bias = b.Data
	}
	op.w = wt.Data
	switch {
	case op.cg == 1 && op.g > 1 && op.kh == 3 && op.kw == 3 && op.dh == 1 && op.dw == 1:
		op.mode = convDepthwise3x3
	case op.cg == 1 && op.g > 1:
		op.mode = convDepthwise
	case op.kh == 1 && op.kw == 1 && op.sh == 1 && op.sw == 1 && op.pt == 0 && op.pl == 0 && op.pb == 0 && op.pr == 0:
		op.mode = convPointwise
	default:
		op.mode = convIm2col
	}
	op.ab = newAffineBound(op.w, op.oc, op.bias)
	return op, nil
}

// outSize is the output length of a window of k taps with stride s and
// dilation d over n inputs padded by a and b, or an error if it is < 1.
func outSize(what string, n, k, s, d, a, b int) (int, error) {
	ext := d*(k-1) + 1
	if n+a+b < ext {
		return 0, fmt.Errorf("%s: input %d padded by %d+%d is smaller than the kernel extent %d", what, n, a, b, ext)
	}
	return (n+a+b-ext)/s + 1, nil
}

func (op *convOp) geom(shape []int) (convGeom, error) {
	if len(shape) != 4 {
		return convGeom{}, fmt.Errorf("conv2d needs a 4-D input [N, C, H, W], got %v", shape)
	}
	g := convGeom{n: shape[0], c: shape[1], h: shape[2], w: shape[3]}
	if g.c != op.g*op.cg {
		return convGeom{}, fmt.Errorf("input %v has %d channels, weight wants %d (group %d × %d)", shape, g.c, op.g*op.cg, op.g, op.cg)
	}
	var err error
	if g.oh, err = outSize("height", g.h, op.kh, op.sh, op.dh, op.pt, op.pb); err != nil {
		return convGeom{}, err
	}
	if g.ow, err = outSize("width", g.w, op.kw, op.sw, op.dw, op.pl, op.pr); err != nil {
		return convGeom{}, err
	}
	if op.mode == convIm2col {
		// The im2col buffer must be allocatable.
		if _, err := tensor.NumElements([]int{op.cg, op.kh, op.kw, g.oh, g.ow}); err != nil {
			return convGeom{}, fmt.Errorf("im2col buffer: %w", err)
		}
	}
	return g, nil
}

func (op *convOp) OutShape(in [][]int) ([]int, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("conv2d needs 1 input, has %d", len(in))
	}
	g, err := op.geom(in[0])
	if err != nil {
		return nil, err
	}
	return []int{g.n, op.oc, g.oh, g.ow}, nil
}

// transposed returns the weights transposed per group (wt), built on the
// first backward pass that needs them: a model whose gradients never reach
// a layer (Grad-CAM stops at the target layer) never pays for its copy,
// nor does loading a model.
func (op *convOp) transposed() []float32 {
	op.wtOnce.Do(func() {
		ckk := op.cg * op.kh * op.kw
		op.wt = make([]float32, len(op.w))
		for g := 0; g < op.g; g++ {
			wg, tg := op.w[g*op.ocg*ckk:(g+1)*op.ocg*ckk], op.wt[g*op.ocg*ckk:(g+1)*op.ocg*ckk]
			for o := 0; o < op.ocg; o++ {
				for r := 0; r < ckk; r++ {
					tg[r*op.ocg+o] = wg[o*ckk+r]
				}
			}
		}
	})
	return op.wt
}

func (op *convOp) dwGeom(g convGeom) Depthwise3x3Geom {
	return Depthwise3x3Geom{Planes: op.oc, Mult: op.ocg, H: g.h, W: g.w, OH: g.oh, OW: g.ow,
		SH: op.sh, SW: op.sw, PadTop: op.pt, PadLeft: op.pl}
}

func (op *convOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	g, err := op.geom(in[0].Shape)
	if err != nil {
		panic("nn: conv2d forward: " + err.Error())
	}
	x, y := in[0].Data, out.Data
	hw, ohw := g.h*g.w, g.oh*g.ow
	ckk := op.cg * op.kh * op.kw
	k := ctx.K()
	var col []float32
	if op.mode == convIm2col {
		col = ctx.Scratch(0, ckk*ohw)
	}
	for n := 0; n < g.n; n++ {
		xn, yn := x[n*g.c*hw:(n+1)*g.c*hw], y[n*op.oc*ohw:(n+1)*op.oc*ohw]
		switch op.mode {
		case convDepthwise3x3:
			k.Depthwise3x3(op.dwGeom(g), xn, op.w, op.bias, yn)
			continue
		case convDepthwise:
			op.depthwiseForward(g, xn, yn)
			continue
		}
		for gi := 0; gi < op.g; gi++ {
			xg := xn[gi*op.cg*hw : (gi+1)*op.cg*hw]
			yg := yn[gi*op.ocg*ohw : (gi+1)*op.ocg*ohw]
			wg := op.w[gi*op.ocg*ckk : (gi+1)*op.ocg*ckk]
			acc := op.bias != nil
			if acc {
				k.SetRows(yg, op.bias[gi*op.ocg:(gi+1)*op.ocg], ohw)
			}
			if op.mode == convPointwise {
				k.Gemm(op.ocg, ohw, op.cg, wg, xg, yg, acc)
				continue
			}
			op.im2col(g, xg, col)
			k.Gemm(op.ocg, ohw, ckk, wg, col, yg, acc)
		}
	}
}

func (op *convOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	g, err := op.geom(in[0].Shape)
	if err != nil {
		panic("nn: conv2d backward: " + err.Error())
	}
	gy, gx := gout.Data, gin[0].Data
	hw, ohw := g.h*g.w, g.oh*g.ow
	ckk := op.cg * op.kh * op.kw
	k := ctx.K()
	var col []float32
	if op.mode == convIm2col {
		col = ctx.Scratch(0, ckk*ohw)
	}
	for n := 0; n < g.n; n++ {
		gxn, gyn := gx[n*g.c*hw:(n+1)*g.c*hw], gy[n*op.oc*ohw:(n+1)*op.oc*ohw]
		switch op.mode {
		case convDepthwise3x3:
			k.Depthwise3x3Grad(op.dwGeom(g), op.w, gyn, gxn)
			continue
		case convDepthwise:
			op.depthwiseBackward(g, gyn, gxn)
			continue
		}
		for gi := 0; gi < op.g; gi++ {
			gxg := gxn[gi*op.cg*hw : (gi+1)*op.cg*hw]
			gyg := gyn[gi*op.ocg*ohw : (gi+1)*op.ocg*ohw]
			wtg := op.transposed()[gi*op.ocg*ckk : (gi+1)*op.ocg*ckk]
			if op.mode == convPointwise {
				k.Gemm(op.cg, ohw, op.ocg, wtg, gyg, gxg, true)
				continue
			}
			k.Gemm(ckk, ohw, op.ocg, wtg, gyg, col, false)
			op.col2im(g, col, gxg)
		}
	}
}

// fill sets every element of s to v. Hot loops like this one live in small
// functions of their own, never inlined: Go's WebAssembly backend compiles a
// function into one dispatch loop, and a loop inlined into a large function
// runs several times slower under V8 than the same loop in a leaf function.
//
//go:noinline
func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

// The small loops below are the inner loops of the conv paths. Each lives
// in a function of its own, never inlined, for the reason given at fill.

// axpy: dst[i] += a·src[i] for i < len(src) (len(dst) ≥ len(src)).
//
//go:noinline
func axpy(dst, src []float32, a float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += a * v
	}
}

// axpyStrided: dst[i·s] += a·src[i] for i < len(src).
//
//go:noinline
func axpyStrided(dst, src []float32, s int, a float32) {
	for i, v := range src {
		dst[i*s] += a * v
	}
}

// axpyGather: dst[i] += a·src[i·s] for i < len(dst).
//
//go:noinline
func axpyGather(dst, src []float32, s int, a float32) {
	for i := range dst {
		dst[i] += a * src[i*s]
	}
}

// gatherStrided: dst[i] = src[i·s] for i < len(dst).
//
//go:noinline
func gatherStrided(dst, src []float32, s int) {
	for i := range dst {
		dst[i] = src[i*s]
	}
}

// span returns the range [lo, hi) of output positions o in [0, outN) for
// which o·s + off lies in [0, n).
func span(n, outN, s, off int) (lo, hi int) {
	if off < 0 {
		lo = (-off + s - 1) / s
	}
	if last := n - 1 - off; last >= 0 {
		hi = min(last/s+1, outN)
	}
	lo = min(lo, outN)
	return lo, max(hi, lo)
}

// im2col writes, for one group of one image (x: [CG][H][W]),
//
//	col[(c·KH + i)·KW + j][oy·OW + ox] = x[c][oy·sh − top + i·dh][ox·sw − left + j·dw]
//
// with 0 for positions in the padding.
func (op *convOp) im2col(g convGeom, x, col []float32) {
	hw, ohw := g.h*g.w, g.oh*g.ow
	for c := 0; c < op.cg; c++ {
		xc := x[c*hw : (c+1)*hw]
		for i := 0; i < op.kh; i++ {
			for j := 0; j < op.kw; j++ {
				row := col[((c*op.kh+i)*op.kw+j)*ohw:][:ohw]
				off := j*op.dw - op.pl
				lo, hi := span(g.w, g.ow, op.sw, off)
				for oy := 0; oy < g.oh; oy++ {
					r := row[oy*g.ow : (oy+1)*g.ow]
					iy := oy*op.sh - op.pt + i*op.dh
					if iy < 0 || iy >= g.h {
						clear(r)
						continue
					}
					xr := xc[iy*g.w : (iy+1)*g.w]
					clear(r[:lo])
					clear(r[hi:])
					if op.sw == 1 {
						copy(r[lo:hi], xr[lo+off:hi+off])
						continue
					}
					gatherStrided(r[lo:hi], xr[lo*op.sw+off:], op.sw)
				}
			}
		}
	}
}

// col2im adds col (the gradient of im2col's output) back into gx: the
// transpose of im2col.
func (op *convOp) col2im(g convGeom, col, gx []float32) {
	hw, ohw := g.h*g.w, g.oh*g.ow
	for c := 0; c < op.cg; c++ {
		gc := gx[c*hw : (c+1)*hw]
		for i := 0; i < op.kh; i++ {
			for j := 0; j < op.kw; j++ {
				row := col[((c*op.kh+i)*op.kw+j)*ohw:][:ohw]
				off := j*op.dw - op.pl
				lo, hi := span(g.w, g.ow, op.sw, off)
				if lo >= hi {
					continue
				}
				for oy := 0; oy < g.oh; oy++ {
					iy := oy*op.sh - op.pt + i*op.dh
					if iy < 0 || iy >= g.h {
						continue
					}
					gr := gc[iy*g.w : (iy+1)*g.w]
					r := row[oy*g.ow+lo : oy*g.ow+hi]
					if op.sw == 1 {
						axpy(gr[lo+off:hi+off], r, 1)
						continue
					}
					axpyStrided(gr[lo*op.sw+off:], r, op.sw, 1)
				}
			}
		}
	}
}

// convRef is the plain reference loop of conv2d's forward (no fast path),
// used by the tests to check every path.
func (op *convOp) convRef(g convGeom, x, y []float32) {
	for n := 0; n < g.n; n++ {
		for o := 0; o < op.oc; o++ {
			gi := o / op.ocg
			for oy := 0; oy < g.oh; oy++ {
				for ox := 0; ox < g.ow; ox++ {
					var s float32
					if op.bias != nil {
						s = op.bias[o]
					}
					for c := 0; c < op.cg; c++ {
						for i := 0; i < op.kh; i++ {
							for j := 0; j < op.kw; j++ {
								iy, ix := oy*op.sh-op.pt+i*op.dh, ox*op.sw-op.pl+j*op.dw
								if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
									continue
								}
								s += op.w[((o*op.cg+c)*op.kh+i)*op.kw+j] * x[((n*g.c+gi*op.cg+c)*g.h+iy)*g.w+ix]
							}
						}
					}
					y[((n*op.oc+o)*g.oh+oy)*g.ow+ox] = s
				}
			}
		}
	}
}

// convRefGrad is the plain reference loop of conv2d's backward to x.
func (op *convOp) convRefGrad(g convGeom, gy, gx []float32) {
	for n := 0; n < g.n; n++ {
		for o := 0; o < op.oc; o++ {
			gi := o / op.ocg
			for oy := 0; oy < g.oh; oy++ {
				for ox := 0; ox < g.ow; ox++ {
					v := gy[((n*op.oc+o)*g.oh+oy)*g.ow+ox]
					for c := 0; c < op.cg; c++ {
						for i := 0; i < op.kh; i++ {
							for j := 0; j < op.kw; j++ {
								iy, ix := oy*op.sh-op.pt+i*op.dh, ox*op.sw-op.pl+j*op.dw
								if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
									continue
								}
								gx[((n*g.c+gi*op.cg+c)*g.h+iy)*g.w+ix] += op.w[((o*op.cg+c)*op.kh+i)*op.kw+j] * v
							}
						}
					}
				}
			}
		}
	}
}
