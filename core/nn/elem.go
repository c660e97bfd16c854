package nn

import (
	"fmt"

	"github.com/camlens/camlens/core/tensor"
)

// add, sub, mul, div: y = a ∘ b with NumPy/ONNX multidirectional
// broadcasting. Shapes are right-aligned; a dimension of 1 (or a missing
// leading dimension) stretches. This covers residual adds (same shapes),
// squeeze-excitation gates ([N,C,1,1]·[N,C,H,W]) and operands that are
// "const" nodes without a batch dimension ([C,1,1] or the scalar []).
//
//	a: broadcastable to y, b: broadcastable to y, y: broadcast(a, b)
//
// Backward (reduced by summation over the dims an operand was stretched
// along):
//
//	add: ga += g,   gb += g
//	sub: ga += g,   gb -= g
//	mul: ga += g·b, gb += g·a
//	div: ga += g/b, gb -= g·a/b²
type binaryOp struct{ kind binKind }

type binKind uint8

const (
	binAdd binKind = iota
	binSub
	binMul
	binDiv
)

// kernelOp is the Kernels.Binary operation of k, where there is one.
func (k binKind) kernelOp() (BinaryOp, bool) {
	switch k {
	case binAdd:
		return OpAdd, true
	case binSub:
		return OpSub, true
	case binMul:
		return OpMul, true
	}
	return 0, false
}

func init() {
	for name, k := range map[string]binKind{"add": binAdd, "sub": binSub, "mul": binMul, "div": binDiv} {
		register(name, func(spec *NodeSpec, w Weights) (Op, error) {
			if len(spec.Inputs) != 2 {
				return nil, errorf(spec, "needs 2 inputs, has %d", len(spec.Inputs))
			}
			return binaryOp{k}, nil
		})
	}
}

func (binaryOp) OutShape(in [][]int) ([]int, error) { return broadcastShape(in[0], in[1]) }

// plan returns the walk over y with views y (contiguous), a and b.
func binPlan(y, a, b []int) stridePlan {
	return makePlan(y, [3][]int{contiguousStrides(y), broadcastStrides(a, y), broadcastStrides(b, y)})
}

func (op binaryOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	a, b, y := in[0].Data, in[1].Data, out.Data
	if len(a) == len(y) && len(b) == len(y) {
		// Same shapes: one run (+, −, · by the kernels).
		if k, ok := op.kind.kernelOp(); ok {
			ctx.K().Binary(k, y, a, b)
		} else {
			binRun(op.kind, y, a, b, 1, 1)
		}
		return
	}
	p := binPlan(out.Shape, in[0].Shape, in[1].Shape)
	n, s := p.inner()
	p.runs([3]int{}, func(off [3]int) {
		binRun(op.kind, y[off[0]:off[0]+n], a[off[1]:], b[off[2]:], s[1], s[2])
	})
}

// binRun computes y[i] = a[i·sa] ∘ b[i·sb] for i < len(y), sa, sb ∈ {0, 1}.
func binRun(k binKind, y, a, b []float32, sa, sb int) {
	n := len(y)
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:n], b[:n]
		if op, ok := k.kernelOp(); ok {
			binVec(op, y, a, b)
			return
		}
		for i := range y { // binDiv, the one kind without a kernel operation
			y[i] = a[i] / b[i]
		}
	case sa == 1:
		a, v := a[:n], b[0]
		switch k {
		case binAdd:
			for i := range y {
				y[i] = a[i] + v
			}
		case binSub:
			for i := range y {
				y[i] = a[i] - v
			}
		case binMul:
			for i := range y {
				y[i] = a[i] * v
			}
		case binDiv:
			for i := range y {
				y[i] = a[i] / v
			}
		}
	case sb == 1:
		v, b := a[0], b[:n]
		switch k {
		case binAdd:
			for i := range y {
				y[i] = v + b[i]
			}
		case binSub:
			for i := range y {
				y[i] = v - b[i]
			}
		case binMul:
			for i := range y {
				y[i] = v * b[i]
			}
		case binDiv:
			for i := range y {
				y[i] = v / b[i]
			}
		}
	default:
		v := binScalar(k, a[0], b[0])
		for i := range y {
			y[i] = v
		}
	}
}

// binVec computes y = a ∘ b for +, − and · on equal-length slices,
// unrolled, in a leaf function (see fill).
//
//go:noinline
func binVec(op BinaryOp, y, a, b []float32) {
	a, b = a[:len(y)], b[:len(y)]
	i := 0
	switch op {
	case OpAdd:
		for ; i+4 <= len(y); i += 4 {
			p, q, d := a[i:i+4:i+4], b[i:i+4:i+4], y[i:i+4:i+4]
			d[0], d[1], d[2], d[3] = p[0]+q[0], p[1]+q[1], p[2]+q[2], p[3]+q[3]
		}
		for ; i < len(y); i++ {
			y[i] = a[i] + b[i]
		}
	case OpSub:
		for ; i+4 <= len(y); i += 4 {
			p, q, d := a[i:i+4:i+4], b[i:i+4:i+4], y[i:i+4:i+4]
			d[0], d[1], d[2], d[3] = p[0]-q[0], p[1]-q[1], p[2]-q[2], p[3]-q[3]
		}
		for ; i < len(y); i++ {
			y[i] = a[i] - b[i]
		}
	case OpMul:
		for ; i+4 <= len(y); i += 4 {
			p, q, d := a[i:i+4:i+4], b[i:i+4:i+4], y[i:i+4:i+4]
			d[0], d[1], d[2], d[3] = p[0]*q[0], p[1]*q[1], p[2]*q[2], p[3]*q[3]
		}
		for ; i < len(y); i++ {
			y[i] = a[i] * b[i]
		}
	default:
		panic(fmt.Sprintf("nn: binary: unknown operation %d", op))
	}
}

func binScalar(k binKind, a, b float32) float32 {
	switch k {
	case binAdd:
		return a + b
	case binSub:
		return a - b
	case binMul:
		return a * b
	default:
		return a / b
	}
}

func (op binaryOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil && gin[1] == nil {
		return
	}
	a, b, g := in[0].Data, in[1].Data, gout.Data
	var ga, gb []float32
	if gin[0] != nil {
		ga = gin[0].Data
	}
	if gin[1] != nil {
		gb = gin[1].Data
	}
	if len(a) == len(g) && len(b) == len(g) {
		binBackRun(op.kind, g, a, b, 1, 1, ga, gb)
		return
	}
	p := binPlan(gout.Shape, in[0].Shape, in[1].Shape)
	n, s := p.inner()
	p.runs([3]int{}, func(off [3]int) {
		var gas, gbs []float32
		if ga != nil {
			gas = ga[off[1]:]
		}
		if gb != nil {
			gbs = gb[off[2]:]
		}
		binBackRun(op.kind, g[off[0]:off[0]+n], a[off[1]:], b[off[2]:], s[1], s[2], gas, gbs)
	})
}

// binBackRun accumulates one run of the backward: element i of the run uses
// a[i·sa], b[i·sb] and adds into ga[i·sa], gb[i·sb] (sa, sb ∈ {0, 1}); a
// stride-0 operand's gradient is the run's sum, accumulated in float64.
func binBackRun(k binKind, g, a, b []float32, sa, sb int, ga, gb []float32) {
	n := len(g)
	if ga != nil {
		if sa == 1 {
			ga := ga[:n]
			switch k {
			case binAdd, binSub:
				for i, gv := range g {
					ga[i] += gv
				}
			case binMul:
				if sb == 1 {
					b := b[:n]
					for i, gv := range g {
						ga[i] += gv * b[i]
					}
				} else {
					v := b[0]
					for i, gv := range g {
						ga[i] += gv * v
					}
				}
			case binDiv:
				if sb == 1 {
					b := b[:n]
					for i, gv := range g {
						ga[i] += gv / b[i]
					}
				} else {
					v := b[0]
					for i, gv := range g {
						ga[i] += gv / v
					}
				}
			}
		} else {
			s := 0.0
			for i, gv := range g {
				switch k {
				case binAdd, binSub:
					s += float64(gv)
				case binMul:
					s += float64(gv * b[i*sb])
				case binDiv:
					s += float64(gv / b[i*sb])
				}
			}
			ga[0] += float32(s)
		}
	}
	if gb != nil {
		if sb == 1 {
			gb := gb[:n]
			switch k {
			case binAdd:
				for i, gv := range g {
					gb[i] += gv
				}
			case binSub:
				for i, gv := range g {
					gb[i] -= gv
				}
			case binMul:
				for i, gv := range g {
					gb[i] += gv * a[i*sa]
				}
			case binDiv:
				b := b[:n]
				for i, gv := range g {
					bv := b[i]
					gb[i] -= gv * a[i*sa] / (bv * bv)
				}
			}
		} else {
			s := 0.0
			bv := float64(b[0])
			for i, gv := range g {
				switch k {
				case binAdd:
					s += float64(gv)
				case binSub:
					s -= float64(gv)
				case binMul:
					s += float64(gv * a[i*sa])
				case binDiv:
					s -= float64(gv) * float64(a[i*sa]) / (bv * bv)
				}
			}
			gb[0] += float32(s)
		}
	}
}
