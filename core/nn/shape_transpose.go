package nn

import (
	"fmt"

	"github.com/camlens/camlens/core/tensor"
)

// transpose: y's dimension i is x's dimension Perm[i] (default: reversed,
// as in ONNX), any rank up to maxTransposeRank (enough for channel shuffle:
// reshape [N,g,C/g,H,W] → transpose [0,2,1,3,4] → reshape).
//
//	y[i0, …, i(r−1)] = x[j] with j[Perm[k]] = i_k
//
// Backward: the inverse permutation, accumulated: gx[j] += g[i].
type transposeOp struct{ perm []int }

const maxTransposeRank = 6

func init() {
	register("transpose", func(spec *NodeSpec, w Weights) (Op, error) {
		if len(spec.Inputs) != 1 {
			return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
		}
		p := spec.Attrs.Perm
		if len(p) > maxTransposeRank {
			return nil, errorf(spec, "perm %v: rank above the limit %d", p, maxTransposeRank)
		}
		if err := checkPerm(p); err != nil {
			return nil, errorf(spec, "%v", err)
		}
		return transposeOp{append([]int(nil), p...)}, nil
	})
}

func checkPerm(p []int) error {
	seen := make([]bool, len(p))
	for _, v := range p {
		if v < 0 || v >= len(p) || seen[v] {
			return fmt.Errorf("perm %v is not a permutation of 0..%d", p, len(p)-1)
		}
		seen[v] = true
	}
	return nil
}

// permFor returns the permutation for rank r.
func (op transposeOp) permFor(r int) []int {
	if op.perm != nil {
		return op.perm
	}
	p := make([]int, r)
	for i := range p {
		p[i] = r - 1 - i
	}
	return p
}

func (op transposeOp) OutShape(in [][]int) ([]int, error) {
	x := in[0]
	if len(x) > maxTransposeRank {
		return nil, fmt.Errorf("input rank %d above the limit %d", len(x), maxTransposeRank)
	}
	if op.perm != nil && len(op.perm) != len(x) {
		return nil, fmt.Errorf("perm %v has %d entries for input shape %v", op.perm, len(op.perm), x)
	}
	p := op.permFor(len(x))
	y := make([]int, len(x))
	for i, k := range p {
		y[i] = x[k]
	}
	return y, nil
}

// plan walks y in order with x's strides permuted.
func (op transposeOp) plan(x, y []int) stridePlan {
	xs := contiguousStrides(x)
	p := op.permFor(len(x))
	ps := make([]int, len(p))
	for i, k := range p {
		ps[i] = xs[k]
	}
	return makePlan(y, [3][]int{contiguousStrides(y), ps})
}

func (op transposeOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	x, y := in[0].Data, out.Data
	p := op.plan(in[0].Shape, out.Shape)
	n, s := p.inner()
	sx := s[1]
	p.runs([3]int{}, func(off [3]int) {
		ys := y[off[0] : off[0]+n]
		if sx == 1 {
			copy(ys, x[off[1]:off[1]+n])
			return
		}
		for i, j := 0, off[1]; i < n; i, j = i+1, j+sx {
			ys[i] = x[j]
		}
	})
}

func (op transposeOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	gx, g := gin[0].Data, gout.Data
	p := op.plan(in[0].Shape, gout.Shape)
	n, s := p.inner()
	sx := s[1]
	p.runs([3]int{}, func(off [3]int) {
		gs := g[off[0] : off[0]+n]
		for i, j := 0, off[1]; i < n; i, j = i+1, j+sx {
			gx[j] += gs[i]
		}
	})
}
