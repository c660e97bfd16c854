package nn

import (
	"fmt"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// softmax along Axis (negative counts from the end; 0 is a valid axis, the
// batch, so the field is used as given and importers set it — ONNX opset ≥
// 13 defaults to -1). Any rank ≥ 1.
//
//	x: [outer, L, inner] around the axis, y = exp(x − max)/Σ exp(x − max)
//
// Backward: gx += y ⊙ (g − Σ_L g⊙y), per softmax slice.
type softmaxOp struct{ axis int }

func init() {
	register("softmax", func(spec *NodeSpec, w Weights) (Op, error) {
		if len(spec.Inputs) != 1 {
			return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
		}
		return softmaxOp{spec.Attrs.Axis}, nil
	})
}

func (op softmaxOp) OutShape(in [][]int) ([]int, error) {
	if len(in[0]) == 0 {
		return nil, fmt.Errorf("softmax needs rank ≥ 1, got a scalar")
	}
	if _, err := normAxis(op.axis, len(in[0])); err != nil {
		return nil, err
	}
	return in[0], nil
}

// split returns the outer count, the axis length and the inner count.
func (op softmaxOp) split(shape []int) (outer, l, inner int) {
	a, _ := normAxis(op.axis, len(shape)) // checked by OutShape
	return prod(shape[:a]), shape[a], prod(shape[a+1:])
}

func (op softmaxOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	outer, l, inner := op.split(in[0].Shape)
	x, y := in[0].Data, out.Data
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			base := o*l*inner + j
			m := float32(math.Inf(-1))
			for k := 0; k < l; k++ {
				m = max(m, x[base+k*inner])
			}
			s := 0.0
			for k := 0; k < l; k++ {
				e := math.Exp(float64(x[base+k*inner] - m))
				y[base+k*inner] = float32(e)
				s += e
			}
			r := 1 / s
			for k := 0; k < l; k++ {
				y[base+k*inner] = float32(float64(y[base+k*inner]) * r)
			}
		}
	}
}

func (op softmaxOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	outer, l, inner := op.split(in[0].Shape)
	y, g, gx := out.Data, gout.Data, gin[0].Data
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			base := o*l*inner + j
			s := 0.0
			for k := 0; k < l; k++ {
				s += float64(g[base+k*inner]) * float64(y[base+k*inner])
			}
			for k := 0; k < l; k++ {
				i := base + k*inner
				gx[i] += float32(float64(y[i]) * (float64(g[i]) - s))
			}
		}
	}
}
