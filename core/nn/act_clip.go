package nn

import (
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// clip: y = min(max(x, Min), Max), any shape; a nil bound is unbounded.
// ReLU6 is clip(0, 6).
// Backward: gx += g·[Min < x < Max], strict at both bounds like PyTorch's
// hardtanh (and so relu6) backward. Unlike relu it is not changed by
// Context.Guided: guided backpropagation replaces only ReLUs.
type clipOp struct {
	lo, hi float32 // ±Inf for a missing bound
}

func init() {
	register("clip", func(spec *NodeSpec, w Weights) (Op, error) {
		if len(spec.Inputs) != 1 {
			return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
		}
		op := clipOp{lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
		if m := spec.Attrs.Min; m != nil {
			if math.IsNaN(float64(*m)) {
				return nil, errorf(spec, "min is NaN")
			}
			op.lo = *m
		}
		if m := spec.Attrs.Max; m != nil {
			if math.IsNaN(float64(*m)) {
				return nil, errorf(spec, "max is NaN")
			}
			op.hi = *m
		}
		if op.lo > op.hi {
			return nil, errorf(spec, "min %g is above max %g", op.lo, op.hi)
		}
		return op, nil
	})
}

func (clipOp) OutShape(in [][]int) ([]int, error) { return in[0], nil }

func (op clipOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	x, y := in[0].Data, out.Data[:len(in[0].Data)]
	lo, hi := op.lo, op.hi
	for i, v := range x {
		y[i] = min(max(v, lo), hi)
	}
}

func (op clipOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	x, g, gx := in[0].Data, gout.Data[:len(in[0].Data)], gin[0].Data[:len(in[0].Data)]
	lo, hi := op.lo, op.hi
	for i, v := range x {
		if v > lo && v < hi {
			gx[i] += g[i]
		}
	}
}
