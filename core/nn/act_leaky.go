package nn

import (
	"fmt"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// leakyrelu: y = x for x > 0, Alpha·x otherwise (Alpha 0 means the ONNX
// default 0.01), any shape.
// Backward: gx += g for x > 0, Alpha·g otherwise (at x = 0 the slope is
// Alpha, as in PyTorch).
type leakyOp struct{ alpha float32 }

// prelu: y = x for x > 0, s·x otherwise, where the slope s comes from the
// parameter "slope":
//   - shape [C] with C the input's dimension 1: one slope per channel
//     (channel axis 1, as PyTorch's PReLU and the usual import);
//   - shape [1] (or any single element): one slope for everything;
//   - otherwise ONNX PRelu's unidirectional broadcast: the slope's shape,
//     right-aligned, must broadcast to the input's (e.g. [C,1,1]).
//
// A 1-D slope whose length equals C is always read as per-channel, even when
// the input's last dimension has the same length.
// Backward (data input only): gx += g for x > 0, s·g otherwise.
type preluOp struct{ slope *tensor.Tensor }

func init() {
	register("leakyrelu", func(spec *NodeSpec, w Weights) (Op, error) {
		if len(spec.Inputs) != 1 {
			return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
		}
		a := spec.Attrs.Alpha
		if a == 0 {
			a = 0.01
		}
		if math.IsNaN(float64(a)) || math.IsInf(float64(a), 0) {
			return nil, errorf(spec, "alpha %g is not finite", a)
		}
		return leakyOp{a}, nil
	})
	register("prelu", func(spec *NodeSpec, w Weights) (Op, error) {
		if len(spec.Inputs) != 1 {
			return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
		}
		s := w.Param("slope")
		if s == nil {
			return nil, errorf(spec, "missing parameter %q", spec.Name+".slope")
		}
		if s.Rank() < 1 || s.Rank() > maxRank || len(s.Data) == 0 {
			return nil, errorf(spec, "slope shape %v: want rank 1 to %d with at least one element", s.Shape, maxRank)
		}
		if n, err := tensor.NumElements(s.Shape); err != nil || n != len(s.Data) {
			return nil, errorf(spec, "slope shape %v does not match its %d values", s.Shape, len(s.Data))
		}
		if err := s.CheckFinite(); err != nil {
			return nil, errorf(spec, "slope: %v", err)
		}
		return preluOp{s}, nil
	})
}

func (leakyOp) OutShape(in [][]int) ([]int, error) { return in[0], nil }

func (op leakyOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	x, y, a := in[0].Data, out.Data[:len(in[0].Data)], op.alpha
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = a * v
		}
	}
}

func (op leakyOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	x, g, gx, a := in[0].Data, gout.Data[:len(in[0].Data)], gin[0].Data[:len(in[0].Data)], op.alpha
	for i, v := range x {
		if v > 0 {
			gx[i] += g[i]
		} else {
			gx[i] += a * g[i]
		}
	}
}

// slopeShape returns the shape the slope broadcasts with against x.
func (op preluOp) slopeShape(x []int) ([]int, error) {
	s := op.slope.Shape
	switch {
	case len(op.slope.Data) == 1:
		return nil, nil // scalar
	case len(s) == 1 && len(x) >= 2 && s[0] == x[1]:
		sh := make([]int, len(x)-1)
		for i := range sh {
			sh[i] = 1
		}
		sh[0] = s[0]
		return sh, nil
	}
	if len(s) > len(x) {
		return nil, fmt.Errorf("slope shape %v has a higher rank than the input %v", s, x)
	}
	for j := range s {
		if d := dimFromRight(s, j); d != 1 && d != dimFromRight(x, j) {
			return nil, fmt.Errorf("slope shape %v does not broadcast to the input %v", s, x)
		}
	}
	return s, nil
}

func (op preluOp) OutShape(in [][]int) ([]int, error) {
	if len(in[0]) > maxRank {
		return nil, fmt.Errorf("rank %d above the limit %d", len(in[0]), maxRank)
	}
	if _, err := op.slopeShape(in[0]); err != nil {
		return nil, err
	}
	return in[0], nil
}

// each calls f for every run of x with the slope's run (stride ss ∈ {0, 1}).
func (op preluOp) each(x []int, f func(off, n, soff, ss int)) {
	sh, _ := op.slopeShape(x) // checked by OutShape
	p := makePlan(x, [3][]int{contiguousStrides(x), broadcastStrides(sh, x)})
	n, s := p.inner()
	p.runs([3]int{}, func(off [3]int) { f(off[0], n, off[1], s[1]) })
}

func (op preluOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	x, y, sl := in[0].Data, out.Data, op.slope.Data
	op.each(in[0].Shape, func(off, n, soff, ss int) {
		xs, ys := x[off:off+n], y[off:off+n]
		if ss == 0 {
			a := sl[soff]
			for i, v := range xs {
				if v > 0 {
					ys[i] = v
				} else {
					ys[i] = a * v
				}
			}
			return
		}
		a := sl[soff : soff+n]
		for i, v := range xs {
			if v > 0 {
				ys[i] = v
			} else {
				ys[i] = a[i] * v
			}
		}
	})
}

func (op preluOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	x, g, gx, sl := in[0].Data, gout.Data, gin[0].Data, op.slope.Data
	op.each(in[0].Shape, func(off, n, soff, ss int) {
		xs, gs, gxs := x[off:off+n], g[off:off+n], gx[off:off+n]
		for i, v := range xs {
			if v > 0 {
				gxs[i] += gs[i]
			} else {
				gxs[i] += sl[soff+i*ss] * gs[i]
			}
		}
	})
}
