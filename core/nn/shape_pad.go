package nn

import (
	"fmt"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// pad (constant mode): Pads in ONNX order [x1_begin, x2_begin, …,
// x1_end, x2_end, …], one begin and one end per dimension including the
// batch; new cells get Value. Negative pads crop (as ONNX allows); every
// output dimension must stay ≥ 1.
//
//	x: [d0, …], y: [d0 + b0 + e0, …], y[i + b] = x[i] where both exist
//
// Backward: gx[i] += g[i + b] for the cells that survive; cropped cells get
// no gradient.
type padOp struct {
	pads  []int
	value float32
}

func init() {
	register("pad", func(spec *NodeSpec, w Weights) (Op, error) {
		if len(spec.Inputs) != 1 {
			return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
		}
		p := spec.Attrs.Pads
		if len(p) == 0 || len(p)%2 != 0 || len(p) > 2*maxRank {
			return nil, errorf(spec, "pads %v: want 2·rank values, rank 1 to %d", p, maxRank)
		}
		for _, v := range p {
			if v > tensor.MaxElements || v < -tensor.MaxElements {
				return nil, errorf(spec, "pads %v: value %d out of range", p, v)
			}
		}
		if v := spec.Attrs.Value; math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, errorf(spec, "value %g is not finite", v)
		}
		return padOp{append([]int(nil), p...), spec.Attrs.Value}, nil
	})
}

func (op padOp) OutShape(in [][]int) ([]int, error) {
	x := in[0]
	r := len(x)
	if len(op.pads) != 2*r {
		return nil, fmt.Errorf("pads %v has %d values, input shape %v needs %d", op.pads, len(op.pads), x, 2*r)
	}
	y := make([]int, r)
	for i, d := range x {
		y[i] = d + op.pads[i] + op.pads[r+i]
		if y[i] < 1 {
			return nil, fmt.Errorf("pads %v leave dimension %d of input %v with size %d", op.pads, i, x, y[i])
		}
	}
	return y, nil
}

// plan walks the input region that survives cropping, with views y and x,
// and returns the starting offsets.
func (op padOp) plan(x, y []int) (stridePlan, [3]int) {
	r := len(x)
	xs, ys := contiguousStrides(x), contiguousStrides(y)
	region := make([]int, r)
	var base [3]int
	for i, d := range x {
		b := op.pads[i]
		lo := max(0, -b)            // first surviving input index
		hi := min(d, y[i]-b)        // one past the last
		region[i] = max(0, hi-lo)   // empty when everything is cropped
		base[0] += (lo + b) * ys[i] // y offset
		base[1] += lo * xs[i]       // x offset
	}
	return makePlan(region, [3][]int{ys, xs}), base
}

func (op padOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	x, y := in[0].Data, out.Data
	for i := range y {
		y[i] = op.value
	}
	p, base := op.plan(in[0].Shape, out.Shape)
	n, s := p.inner()
	sy, sx := s[0], s[1]
	p.runs(base, func(off [3]int) {
		if sy == 1 && sx == 1 {
			copy(y[off[0]:off[0]+n], x[off[1]:off[1]+n])
			return
		}
		// The innermost dimension kept only one cell: strided run.
		for i, j, k := 0, off[0], off[1]; i < n; i, j, k = i+1, j+sy, k+sx {
			y[j] = x[k]
		}
	})
}

func (op padOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	gx, g := gin[0].Data, gout.Data
	p, base := op.plan(in[0].Shape, gout.Shape)
	n, s := p.inner()
	sy, sx := s[0], s[1]
	p.runs(base, func(off [3]int) {
		if sy == 1 && sx == 1 {
			gs, gxs := g[off[0]:off[0]+n], gx[off[1]:off[1]+n]
			for i, v := range gs {
				gxs[i] += v
			}
			return
		}
		for i, j, k := 0, off[0], off[1]; i < n; i, j, k = i+1, j+sy, k+sx {
			gx[k] += g[j]
		}
	})
}
