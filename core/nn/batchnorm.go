package nn

import (
	"fmt"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// batchnorm (inference): per channel c along axis 1,
//
//	y = scale[c]·(x − mean[c])/√(var[c] + Eps) + bias[c] = a[c]·x + b[c]
//
// with parameters "scale", "bias", "mean", "var", each of shape [C], and
// Eps = 1e-5 when 0. x: [N, C, ...] (rank ≥ 2), y like x.
// Backward: gx += a[c]·g. FoldBatchNorm removes most of these nodes.
type batchnormOp struct {
	a, b []float32 // per-channel multiplier and offset
}

func init() {
	register("batchnorm", buildBatchnorm)
}

// bnCoefficients returns the per-channel multiplier and offset of an
// inference batch norm, checking its parameters. get returns a parameter by
// name (nil if absent).
func bnCoefficients(get func(string) *tensor.Tensor, eps float32) (a, b []float64, err error) {
	if eps == 0 {
		eps = 1e-5
	}
	if eps < 0 || math.IsNaN(float64(eps)) || math.IsInf(float64(eps), 0) {
		return nil, nil, fmt.Errorf("eps %g must be a finite value ≥ 0", eps)
	}
	var p [4]*tensor.Tensor
	c := -1
	for i, name := range []string{"scale", "bias", "mean", "var"} {
		t := get(name)
		if t == nil {
			return nil, nil, fmt.Errorf("missing parameter %q", name)
		}
		if t.Rank() != 1 || t.Shape[0] != len(t.Data) || t.Shape[0] == 0 {
			return nil, nil, fmt.Errorf("parameter %q has shape %v (%d values), want [C]", name, t.Shape, len(t.Data))
		}
		if c >= 0 && t.Shape[0] != c {
			return nil, nil, fmt.Errorf("parameter %q has %d channels, %q has %d", name, t.Shape[0], "scale", c)
		}
		c = t.Shape[0]
		if err := t.CheckFinite(); err != nil {
			return nil, nil, fmt.Errorf("parameter %q: %w", name, err)
		}
		p[i] = t
	}
	a, b = make([]float64, c), make([]float64, c)
	for i := range c {
		v := float64(p[3].Data[i]) + float64(eps)
		if !(v > 0) {
			return nil, nil, fmt.Errorf("var[%d] + eps = %g is not positive", i, v)
		}
		a[i] = float64(p[0].Data[i]) / math.Sqrt(v)
		b[i] = float64(p[1].Data[i]) - float64(p[2].Data[i])*a[i]
	}
	return a, b, nil
}

func buildBatchnorm(spec *NodeSpec, w Weights) (Op, error) {
	if len(spec.Inputs) != 1 {
		return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
	}
	a, b, err := bnCoefficients(w.Param, spec.Attrs.Eps)
	if err != nil {
		return nil, errorf(spec, "%v", err)
	}
	op := batchnormOp{a: make([]float32, len(a)), b: make([]float32, len(b))}
	for i := range a {
		op.a[i], op.b[i] = float32(a[i]), float32(b[i])
	}
	return op, nil
}

func (op batchnormOp) OutShape(in [][]int) ([]int, error) {
	x := in[0]
	if len(x) < 2 || x[1] != len(op.a) {
		return nil, fmt.Errorf("input shape %v: want [N, %d, ...]", x, len(op.a))
	}
	return x, nil
}

func (op batchnormOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	c := len(op.a)
	inner := prod(in[0].Shape[2:])
	x, y := in[0].Data, out.Data
	for o := 0; o+inner <= len(x) && inner > 0; o += inner {
		ch := (o / inner) % c
		a, b := op.a[ch], op.b[ch]
		xs, ys := x[o:o+inner], y[o:o+inner]
		for i, v := range xs {
			ys[i] = a*v + b
		}
	}
}

func (op batchnormOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	c := len(op.a)
	inner := prod(in[0].Shape[2:])
	g, gx := gout.Data, gin[0].Data
	for o := 0; o+inner <= len(g) && inner > 0; o += inner {
		a := op.a[(o/inner)%c]
		gs, gxs := g[o:o+inner], gx[o:o+inner]
		for i, v := range gs {
			gxs[i] += a * v
		}
	}
}
