package nn

import (
	"fmt"

	"github.com/camlens/camlens/core/tensor"
)

// concat: joins any number (≥ 1) of inputs along Axis (negative counts from
// the end; 0, the batch, is valid, so the field is used as given). All
// inputs have the same rank and agree on every other dimension.
//
//	x_i: [outer, L_i, inner] around the axis → y: [outer, ΣL_i, inner]
//
// Each (outer index, input) pair is one contiguous copy, so channel concat
// of NCHW maps is a handful of memmoves. Backward: gx_i += its slice of g.
type concatOp struct{ axis int }

func init() {
	register("concat", func(spec *NodeSpec, w Weights) (Op, error) {
		if len(spec.Inputs) == 0 {
			return nil, errorf(spec, "needs at least 1 input")
		}
		return concatOp{spec.Attrs.Axis}, nil
	})
}

func (op concatOp) OutShape(in [][]int) ([]int, error) {
	r := len(in[0])
	if r == 0 {
		return nil, fmt.Errorf("cannot concat scalars")
	}
	a, err := normAxis(op.axis, r)
	if err != nil {
		return nil, err
	}
	y := append([]int(nil), in[0]...)
	for i, s := range in[1:] {
		if len(s) != r {
			return nil, fmt.Errorf("input %d has shape %v, input 0 has %v: ranks differ", i+1, s, in[0])
		}
		for j := range s {
			if j != a && s[j] != y[j] {
				return nil, fmt.Errorf("input %d has shape %v, input 0 has %v: dimension %d differs", i+1, s, in[0], j)
			}
		}
		y[a] += s[a]
		if _, err := tensor.NumElements(y); err != nil {
			return nil, err
		}
	}
	return y, nil
}

// split returns the outer count and, per input, its chunk length per outer
// index (L_i·inner).
func (op concatOp) split(in []*tensor.Tensor) (outer int, chunks []int) {
	a, _ := normAxis(op.axis, in[0].Rank()) // checked by OutShape
	outer = prod(in[0].Shape[:a])
	chunks = make([]int, len(in))
	for i, t := range in {
		chunks[i] = prod(t.Shape[a:])
	}
	return outer, chunks
}

func (op concatOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	outer, chunks := op.split(in)
	y, o := out.Data, 0
	for b := 0; b < outer; b++ {
		for i, t := range in {
			n := chunks[i]
			copy(y[o:o+n], t.Data[b*n:(b+1)*n])
			o += n
		}
	}
}

func (op concatOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	outer, chunks := op.split(in)
	g, o := gout.Data, 0
	for b := 0; b < outer; b++ {
		for i := range in {
			n := chunks[i]
			if gin[i] != nil {
				gs, gx := g[o:o+n], gin[i].Data[b*n:(b+1)*n]
				for j, v := range gs {
					gx[j] += v
				}
			}
			o += n
		}
	}
}
