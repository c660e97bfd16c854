package tensor

import (
	"fmt"
	"math"
)

// Quantized is an int8 tensor with one symmetric float32 scale per slice
// along axis 0 (the output channel of a conv or dense weight):
// value = Q[i] * Scale[channel(i)].
type Quantized struct {
	Shape []int
	Q     []int8
	Scale []float32
}

// QuantizePerChannel quantises t symmetrically per index of its first
// dimension: scale = max|x|/127, q = round(x/scale) clamped to [-127, 127].
// A channel of zeros gets scale 0. t must have rank ≥ 1 and finite values.
func QuantizePerChannel(t *Tensor) (*Quantized, error) {
	if t.Rank() < 1 || t.Shape[0] == 0 {
		return nil, fmt.Errorf("tensor: quantize: need rank ≥ 1 with channels, got shape %v", t.Shape)
	}
	if err := t.CheckFinite(); err != nil {
		return nil, fmt.Errorf("tensor: quantize: %w", err)
	}
	c := t.Shape[0]
	per := len(t.Data) / c
	q := &Quantized{Shape: append([]int(nil), t.Shape...), Q: make([]int8, len(t.Data)), Scale: make([]float32, c)}
	for ch := 0; ch < c; ch++ {
		row := t.Data[ch*per : (ch+1)*per]
		var m float32
		for _, v := range row {
			if a := float32(math.Abs(float64(v))); a > m {
				m = a
			}
		}
		if m == 0 {
			continue
		}
		s := m / 127
		q.Scale[ch] = s
		out := q.Q[ch*per : (ch+1)*per]
		for i, v := range row {
			r := math.Round(float64(v / s))
			if r > 127 {
				r = 127
			} else if r < -127 {
				r = -127
			}
			out[i] = int8(r)
		}
	}
	return q, nil
}

// Dequantize returns the float32 tensor q represents.
func (q *Quantized) Dequantize() *Tensor {
	t := &Tensor{Shape: append([]int(nil), q.Shape...), Data: make([]float32, len(q.Q))}
	c := len(q.Scale)
	if c == 0 {
		return t
	}
	per := len(q.Q) / c
	for ch := 0; ch < c; ch++ {
		scaleInt8(t.Data[ch*per:(ch+1)*per], q.Q[ch*per:(ch+1)*per], q.Scale[ch])
	}
	return t
}

// scaleInt8 sets dst[i] = float32(src[i])·s, unrolled and in a leaf
// function: in js/wasm a loop inside a larger function goes through its
// block dispatcher at every iteration, and this one runs over every weight
// of a model while it loads, before V8 has optimised anything.
//
//go:noinline
func scaleInt8(dst []float32, src []int8, s float32) {
	src = src[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		q, d := src[i:i+4:i+4], dst[i:i+4:i+4]
		d[0] = float32(q[0]) * s
		d[1] = float32(q[1]) * s
		d[2] = float32(q[2]) * s
		d[3] = float32(q[3]) * s
	}
	for ; i < len(dst); i++ {
		dst[i] = float32(src[i]) * s
	}
}
