package nn

import (
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// Smooth and piecewise-linear element-wise activations, any shape. None of
// them is changed by Context.Guided (guided backpropagation replaces only
// ReLUs). Kinks take PyTorch's one-sided choices:
//
//	sigmoid:     y = 1/(1+e^−x)                  gx += g·y·(1−y)
//	tanh:        y = tanh x                      gx += g·(1−y²)
//	silu:        y = x·σ(x)                      gx += g·σ(x)·(1 + x·(1−σ(x)))
//	hardsigmoid: y = max(0, min(1, α·x + β))     gx += g·α where 0 < α·x+β < 1 (strict)
//	hardswish:   y = x·relu6(x+3)/6              gx += 0 for x < −3, g·(x/3 + ½) for −3 ≤ x ≤ 3, g for x > 3
//
// hardsigmoid takes Alpha and Beta; when both are 0 it uses the ONNX
// defaults α = 0.2, β = 0.5 (PyTorch's HardSigmoid exports α = 1/6).
type unaryKind uint8

const (
	unSigmoid unaryKind = iota
	unTanh
	unSilu
	unHardSigmoid
	unHardSwish
)

type unaryOp struct {
	kind        unaryKind
	alpha, beta float32 // hardsigmoid
}

func init() {
	for name, k := range map[string]unaryKind{"sigmoid": unSigmoid, "tanh": unTanh, "silu": unSilu, "hardsigmoid": unHardSigmoid, "hardswish": unHardSwish} {
		register(name, func(spec *NodeSpec, w Weights) (Op, error) {
			if len(spec.Inputs) != 1 {
				return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
			}
			op := unaryOp{kind: k}
			if k == unHardSigmoid {
				op.alpha, op.beta = spec.Attrs.Alpha, spec.Attrs.Beta
				if op.alpha == 0 && op.beta == 0 {
					op.alpha, op.beta = 0.2, 0.5
				}
				for _, v := range []float32{op.alpha, op.beta} {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						return nil, errorf(spec, "alpha %g and beta %g must be finite", op.alpha, op.beta)
					}
				}
			}
			return op, nil
		})
	}
}

func (unaryOp) OutShape(in [][]int) ([]int, error) { return in[0], nil }

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

func (op unaryOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	x, y := in[0].Data, out.Data[:len(in[0].Data)]
	switch op.kind {
	case unSigmoid:
		for i, v := range x {
			y[i] = sigmoid(v)
		}
	case unTanh:
		for i, v := range x {
			y[i] = float32(math.Tanh(float64(v)))
		}
	case unSilu:
		for i, v := range x {
			y[i] = v * sigmoid(v)
		}
	case unHardSigmoid:
		a, b := op.alpha, op.beta
		for i, v := range x {
			y[i] = max(0, min(1, a*v+b))
		}
	case unHardSwish:
		for i, v := range x {
			y[i] = v * min(max(v+3, 0), 6) / 6
		}
	}
}

func (op unaryOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	n := len(in[0].Data)
	x, y, g, gx := in[0].Data, out.Data[:n], gout.Data[:n], gin[0].Data[:n]
	switch op.kind {
	case unSigmoid:
		for i, v := range y {
			gx[i] += g[i] * v * (1 - v)
		}
	case unTanh:
		for i, v := range y {
			gx[i] += g[i] * (1 - v*v)
		}
	case unSilu:
		for i, v := range x {
			s := sigmoid(v)
			gx[i] += g[i] * s * (1 + v*(1-s))
		}
	case unHardSigmoid:
		a, b := op.alpha, op.beta
		for i, v := range x {
			if t := a*v + b; t > 0 && t < 1 {
				gx[i] += g[i] * a
			}
		}
	case unHardSwish:
		for i, v := range x {
			switch {
			case v < -3:
			case v <= 3:
				gx[i] += g[i] * (v/3 + 0.5)
			default:
				gx[i] += g[i]
			}
		}
	}
}
