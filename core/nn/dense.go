package nn

import (
	"fmt"

	"github.com/camlens/camlens/core/tensor"
)

// dense: fully connected layer (PyTorch Linear, ONNX Gemm with transB=1).
//
//	x [N, IN], weight [OUT, IN], bias [OUT] (optional) → y [N, OUT]
//	y[n][o] = bias[o] + Σ_i x[n][i]·weight[o][i]        y = x·Wᵀ (+ b)
//
// Backward to x: gx[n][i] += Σ_o gy[n][o]·weight[o][i]  gx += gy·W
type denseOp struct {
	in, out int
	w       []float32   // [OUT][IN]
	wt      []float32   // [IN][OUT] = Wᵀ, the B operand of the forward GEMM
	bias    []float32   // [OUT] or nil
	ab      affineBound // output magnitude bound (bound.go)
}

func init() {
	register("dense", func(spec *NodeSpec, ws Weights) (Op, error) {
		if len(spec.Inputs) != 1 {
			return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
		}
		w, err := param(spec, ws, "weight", true)
		if err != nil {
			return nil, err
		}
		if w.Rank() != 2 || w.Shape[0] < 1 || w.Shape[1] < 1 {
			return nil, errorf(spec, "weight must be [OUT, IN] with both ≥ 1, has shape %v", w.Shape)
		}
		op := &denseOp{out: w.Shape[0], in: w.Shape[1], w: w.Data}
		b, err := param(spec, ws, "bias", false)
		if err != nil {
			return nil, err
		}
		if b != nil {
			if b.Rank() != 1 || b.Shape[0] != op.out {
				return nil, errorf(spec, "bias shape %v, want [%d]", b.Shape, op.out)
			}
			op.bias = b.Data
		}
		op.wt = make([]float32, len(op.w))
		for o := 0; o < op.out; o++ {
			for i := 0; i < op.in; i++ {
				op.wt[i*op.out+o] = op.w[o*op.in+i]
			}
		}
		op.ab = newAffineBound(op.w, op.out, op.bias)
		return op, nil
	})
}

func (op *denseOp) OutShape(in [][]int) ([]int, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("dense needs 1 input, has %d", len(in))
	}
	s := in[0]
	if len(s) != 2 || s[1] != op.in {
		return nil, fmt.Errorf("dense needs input [N, %d], got %v (flatten first)", op.in, s)
	}
	return []int{s[0], op.out}, nil
}

func (op *denseOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	n := in[0].Shape[0]
	y := out.Data[:n*op.out]
	if op.bias != nil {
		for r := 0; r < n; r++ {
			copy(y[r*op.out:(r+1)*op.out], op.bias)
		}
	}
	ctx.K().Gemm(n, op.out, op.in, in[0].Data, op.wt, y, op.bias != nil)
}

func (op *denseOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	n := in[0].Shape[0]
	ctx.K().Gemm(n, op.in, op.out, gout.Data, op.w, gin[0].Data, true)
}

// denseRef is the plain reference loop of dense's forward.
func (op *denseOp) denseRef(n int, x, y []float32) {
	for r := 0; r < n; r++ {
		for o := 0; o < op.out; o++ {
			var s float32
			if op.bias != nil {
				s = op.bias[o]
			}
			for i := 0; i < op.in; i++ {
				s += x[r*op.in+i] * op.w[o*op.in+i]
			}
			y[r*op.out+o] = s
		}
	}
}
