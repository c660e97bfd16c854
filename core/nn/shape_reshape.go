package nn

import (
	"fmt"

	"github.com/camlens/camlens/core/tensor"
)

// Ops that keep the data and change at most the shape: the forward copies
// x to y, the backward adds g into gx, element for element.
//
// identity, dropout: y = x (dropout is the identity at inference; its
// optional ONNX inputs must be dropped by the importer).
//
// flatten: x [d0, …, d(r−1)] → y [d0·…·d(a−1), da·…·d(r−1)] with a = Axis
// (negative counts from the end, range [−r, r]). Axis is used as given:
// 0 is legal and gives [1, total] (so it mixes the batch into one row); the
// usual value, which importers must set, is 1 (ONNX's default).
//
// reshape: y has shape Shape with ONNX semantics (allowzero = 0): 0 copies
// the input's dimension at the same index, one −1 is inferred from the
// element count. Shape includes the batch dimension, as in ONNX; write 0 or
// −1 there to keep a batch of any size.
type reshapeOp struct {
	kind  reshapeKind
	axis  int   // flatten
	shape []int // reshape
}

type reshapeKind uint8

const (
	rsIdentity reshapeKind = iota
	rsFlatten
	rsReshape
)

func init() {
	for name, k := range map[string]reshapeKind{"identity": rsIdentity, "dropout": rsIdentity, "flatten": rsFlatten, "reshape": rsReshape} {
		register(name, func(spec *NodeSpec, w Weights) (Op, error) {
			if len(spec.Inputs) != 1 {
				return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
			}
			op := reshapeOp{kind: k, axis: spec.Attrs.Axis}
			if k == rsReshape {
				s := spec.Attrs.Shape
				if len(s) == 0 || len(s) > maxRank {
					return nil, errorf(spec, "shape %v: want 1 to %d dimensions", s, maxRank)
				}
				infer := 0
				for i, d := range s {
					switch {
					case d == -1:
						infer++
					case d < -1:
						return nil, errorf(spec, "shape %v: dimension %d is %d (only -1 and 0 are special)", s, i, d)
					}
				}
				if infer > 1 {
					return nil, errorf(spec, "shape %v has more than one -1", s)
				}
				op.shape = append([]int(nil), s...)
			}
			return op, nil
		})
	}
}

func (op reshapeOp) OutShape(in [][]int) ([]int, error) {
	x := in[0]
	switch op.kind {
	case rsFlatten:
		a := op.axis
		if a < 0 {
			a += len(x)
		}
		if a < 0 || a > len(x) {
			return nil, fmt.Errorf("axis %d out of range [-%d, %d] for input shape %v", op.axis, len(x), len(x), x)
		}
		return []int{prod(x[:a]), prod(x[a:])}, nil
	case rsReshape:
		total := prod(x)
		y := make([]int, len(op.shape))
		known, infer := 1, -1
		for i, d := range op.shape {
			switch d {
			case 0:
				if i >= len(x) {
					return nil, fmt.Errorf("shape %v: dimension %d is 0 (copy) but the input %v has rank %d", op.shape, i, x, len(x))
				}
				d = x[i]
			case -1:
				infer = i
				continue
			}
			if d > 0 && known > tensor.MaxElements/d {
				return nil, fmt.Errorf("shape %v: %w (limit %d elements)", op.shape, tensor.ErrTooLarge, tensor.MaxElements)
			}
			y[i] = d
			known *= d
		}
		if infer >= 0 {
			if known == 0 || total%known != 0 {
				return nil, fmt.Errorf("cannot infer the -1 of shape %v from input %v (%d elements)", op.shape, x, total)
			}
			y[infer] = total / known
		} else if known != total {
			return nil, fmt.Errorf("shape %v (%d elements) does not match input %v (%d elements)", y, known, x, total)
		}
		return y, nil
	}
	return x, nil
}

func (reshapeOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	copy(out.Data, in[0].Data)
}

func (reshapeOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	gx, g := gin[0].Data, gout.Data[:len(gin[0].Data)]
	for i, v := range g {
		gx[i] += v
	}
}
