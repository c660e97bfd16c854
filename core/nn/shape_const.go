package nn

import (
	"fmt"

	"github.com/camlens/camlens/core/tensor"
)

// const: no inputs; y is the parameter "value" as stored, with no batch
// dimension added (a [C,1,1] scale, a scalar [] or a shape-independent
// tensor used by the element-wise ops through broadcasting). Build marks
// every node that depends only on consts as Const, so Backward never asks
// for their gradients; the backward here does nothing.
type constOp struct{ value *tensor.Tensor }

func init() {
	register("const", func(spec *NodeSpec, w Weights) (Op, error) {
		if len(spec.Inputs) != 0 {
			return nil, errorf(spec, "takes no inputs, has %d", len(spec.Inputs))
		}
		v := w.Param("value")
		if v == nil {
			return nil, errorf(spec, "missing parameter %q", spec.Name+".value")
		}
		if v.Rank() > maxRank {
			return nil, errorf(spec, "value rank %d above the limit %d", v.Rank(), maxRank)
		}
		if n, err := tensor.NumElements(v.Shape); err != nil || n != len(v.Data) {
			return nil, errorf(spec, "value shape %v does not match its %d values", v.Shape, len(v.Data))
		}
		if err := v.CheckFinite(); err != nil {
			return nil, errorf(spec, "value: %v", err)
		}
		return constOp{v}, nil
	})
}

func (op constOp) OutShape(in [][]int) ([]int, error) {
	if len(in) != 0 {
		return nil, fmt.Errorf("const takes no inputs, got %d", len(in))
	}
	return append([]int(nil), op.value.Shape...), nil
}

func (op constOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	copy(out.Data, op.value.Data)
}

func (constOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
}
