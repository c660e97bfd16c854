package nn

import (
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// relu: y = max(x, 0), any shape.
// Backward: gx += g·[x>0]; in guided mode gx += g·[x>0]·[g>0].
type reluOp struct{}

func init() {
	register("relu", func(spec *NodeSpec, w Weights) (Op, error) {
		if len(spec.Inputs) != 1 {
			return nil, errorf(spec, "needs 1 input, has %d", len(spec.Inputs))
		}
		return reluOp{}, nil
	})
}

func (reluOp) OutShape(in [][]int) ([]int, error) { return in[0], nil }

func (reluOp) Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor) {
	ctx.K().Relu(out.Data[:len(in[0].Data)], in[0].Data)
}

// reluBits is max(v, 0) on the bits of v without a branch: every bit is
// cleared when the sign bit is set (negative values and −0 become +0),
// unless v is a NaN (its magnitude bits exceed the infinity's), which
// stays. Same results as the builtin max, but that is a runtime call in
// js/wasm, and a branch on the sign mispredicts half the time.
func reluBits(u uint32) uint32 {
	neg := uint32(int32(u) >> 31)
	nan := uint32(int32(0x7f800000-(u&0x7fffffff)) >> 31)
	return u &^ (neg &^ nan)
}

// reluVec sets y[i] = max(x[i], 0), unrolled and in a leaf function (see
// fill: in js/wasm every loop back-edge and taken branch goes through the
// function's block dispatcher).
//
//go:noinline
func reluVec(y, x []float32) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		s, d := x[i:i+4:i+4], y[i:i+4:i+4]
		d[0] = math.Float32frombits(reluBits(math.Float32bits(s[0])))
		d[1] = math.Float32frombits(reluBits(math.Float32bits(s[1])))
		d[2] = math.Float32frombits(reluBits(math.Float32bits(s[2])))
		d[3] = math.Float32frombits(reluBits(math.Float32bits(s[3])))
	}
	for ; i < len(y); i++ {
		y[i] = math.Float32frombits(reluBits(math.Float32bits(x[i])))
	}
}

func (reluOp) Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor) {
	if gin[0] == nil {
		return
	}
	x, g, gx := in[0].Data, gout.Data[:len(in[0].Data)], gin[0].Data[:len(in[0].Data)]
	guided := ctx != nil && ctx.Guided
	for i, v := range x {
		if v > 0 && (!guided || g[i] > 0) {
			gx[i] += g[i]
		}
	}
}
