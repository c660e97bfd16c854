package tfjs

import (
	"fmt"

	"github.com/camlens/camlens/core/tensor"
)

// ConvFromHWIO converts a TF convolution filter [KH, KW, IC, OC] to
// CamLens's conv2d weight layout [OC, IC, KH, KW].
func ConvFromHWIO(t *tensor.Tensor) (*tensor.Tensor, error) {
	if t.Rank() != 4 {
		return nil, fmt.Errorf("tfjs: conv filter has shape %v, want [KH, KW, IC, OC]", t.Shape)
	}
	kh, kw, ic, oc := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	out := tensor.New(oc, ic, kh, kw)
	for y := 0; y < kh; y++ {
		for x := 0; x < kw; x++ {
			for i := 0; i < ic; i++ {
				src := t.Data[((y*kw+x)*ic+i)*oc:][:oc]
				for o, v := range src {
					out.Data[((o*ic+i)*kh+y)*kw+x] = v
				}
			}
		}
	}
	return out, nil
}

// DepthwiseFromHWCM converts a TF depthwise filter [KH, KW, C, M] (channel
// multiplier M) to a grouped conv2d weight [C·M, 1, KH, KW] for Group = C.
// TF's output channel c·M+m comes from input channel c, as in a grouped
// convolution with C groups of M outputs each.
func DepthwiseFromHWCM(t *tensor.Tensor) (*tensor.Tensor, error) {
	if t.Rank() != 4 {
		return nil, fmt.Errorf("tfjs: depthwise filter has shape %v, want [KH, KW, C, M]", t.Shape)
	}
	kh, kw, c, m := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	out := tensor.New(c*m, 1, kh, kw)
	for y := 0; y < kh; y++ {
		for x := 0; x < kw; x++ {
			for ci := 0; ci < c; ci++ {
				for mi := 0; mi < m; mi++ {
					out.Data[((ci*m+mi)*kh+y)*kw+x] = t.Data[((y*kw+x)*c+ci)*m+mi]
				}
			}
		}
	}
	return out, nil
}

// DenseFromInOut converts a TF matMul weight [IN, OUT] (y = x·W) to
// CamLens's dense weight [OUT, IN] (y = W·x).
func DenseFromInOut(t *tensor.Tensor) (*tensor.Tensor, error) {
	if t.Rank() != 2 {
		return nil, fmt.Errorf("tfjs: dense weight has shape %v, want [IN, OUT]", t.Shape)
	}
	in, o := t.Shape[0], t.Shape[1]
	out := tensor.New(o, in)
	for i := 0; i < in; i++ {
		for j := 0; j < o; j++ {
			out.Data[j*in+i] = t.Data[i*o+j]
		}
	}
	return out, nil
}

// SamePads returns CamLens pads [top, left, bottom, right] equal to TF's
// "same" padding of a kernel kh×kw with the given strides on an h×w input:
// the output is ceil(in/stride) and the total padding max((out−1)·stride +
// k − in, 0) is split with the smaller half before (top/left).
func SamePads(h, w, kh, kw, sh, sw int) []int {
	pad := func(in, k, s int) (int, int) {
		out := (in + s - 1) / s
		total := max((out-1)*s+k-in, 0)
		return total / 2, total - total/2
	}
	t, b := pad(h, kh, sh)
	l, r := pad(w, kw, sw)
	return []int{t, l, b, r}
}
