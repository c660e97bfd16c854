package nn

import (
	"fmt"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// Target is a scalar function of the network output (N×K logits). Seed
// returns its gradient with respect to the output, the seed of Backward.
type Target interface {
	Seed(out *tensor.Tensor) (*tensor.Tensor, error)
	Value(out *tensor.Tensor) (float64, error)
}

// Logit targets the raw logit of Class for every item of the batch.
type Logit struct{ Class int }

// Softmax targets the softmax probability of Class.
type Softmax struct{ Class int }

// Negate targets minus another target (counterfactual explanations).
type Negate struct{ T Target }

// Weighted targets Σ_k W[k]·logit_k.
type Weighted struct{ W []float32 }

func classes(out *tensor.Tensor) (n, k int, err error) {
	if out.Rank() != 2 {
		return 0, 0, fmt.Errorf("nn: target needs an N×K output, got shape %v", out.Shape)
	}
	return out.Shape[0], out.Shape[1], nil
}

func checkClass(c, k int) error {
	if c < 0 || c >= k {
		return fmt.Errorf("nn: class %d out of range [0, %d)", c, k)
	}
	return nil
}

// Seed implements Target.
func (t Logit) Seed(out *tensor.Tensor) (*tensor.Tensor, error) {
	n, k, err := classes(out)
	if err != nil {
		return nil, err
	}
	if err := checkClass(t.Class, k); err != nil {
		return nil, err
	}
	s := tensor.New(out.Shape...)
	for b := 0; b < n; b++ {
		s.Data[b*k+t.Class] = 1
	}
	return s, nil
}

// Value implements Target (the sum over the batch).
func (t Logit) Value(out *tensor.Tensor) (float64, error) {
	n, k, err := classes(out)
	if err != nil {
		return 0, err
	}
	if err := checkClass(t.Class, k); err != nil {
		return 0, err
	}
	v := 0.0
	for b := 0; b < n; b++ {
		v += float64(out.Data[b*k+t.Class])
	}
	return v, nil
}

// SoftmaxRow returns the softmax of one row of logits in float64.
func SoftmaxRow(logits []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	p := make([]float64, len(logits))
	s := 0.0
	for i, v := range logits {
		p[i] = math.Exp(float64(v) - m)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

// Seed implements Target: ∂p_c/∂z_j = p_c(δ_cj − p_j).
func (t Softmax) Seed(out *tensor.Tensor) (*tensor.Tensor, error) {
	n, k, err := classes(out)
	if err != nil {
		return nil, err
	}
	if err := checkClass(t.Class, k); err != nil {
		return nil, err
	}
	s := tensor.New(out.Shape...)
	for b := 0; b < n; b++ {
		p := SoftmaxRow(out.Data[b*k : (b+1)*k])
		for j := 0; j < k; j++ {
			d := 0.0
			if j == t.Class {
				d = 1
			}
			s.Data[b*k+j] = float32(p[t.Class] * (d - p[j]))
		}
	}
	return s, nil
}

// Value implements Target.
func (t Softmax) Value(out *tensor.Tensor) (float64, error) {
	n, k, err := classes(out)
	if err != nil {
		return 0, err
	}
	if err := checkClass(t.Class, k); err != nil {
		return 0, err
	}
	v := 0.0
	for b := 0; b < n; b++ {
		v += SoftmaxRow(out.Data[b*k : (b+1)*k])[t.Class]
	}
	return v, nil
}

// Seed implements Target.
func (t Negate) Seed(out *tensor.Tensor) (*tensor.Tensor, error) {
	s, err := t.T.Seed(out)
	if err != nil {
		return nil, err
	}
	for i := range s.Data {
		s.Data[i] = -s.Data[i]
	}
	return s, nil
}

// Value implements Target.
func (t Negate) Value(out *tensor.Tensor) (float64, error) {
	v, err := t.T.Value(out)
	return -v, err
}

// Seed implements Target.
func (t Weighted) Seed(out *tensor.Tensor) (*tensor.Tensor, error) {
	n, k, err := classes(out)
	if err != nil {
		return nil, err
	}
	if len(t.W) != k {
		return nil, fmt.Errorf("nn: weighted target has %d weights for %d classes", len(t.W), k)
	}
	s := tensor.New(out.Shape...)
	for b := 0; b < n; b++ {
		copy(s.Data[b*k:(b+1)*k], t.W)
	}
	return s, nil
}

// Value implements Target.
func (t Weighted) Value(out *tensor.Tensor) (float64, error) {
	n, k, err := classes(out)
	if err != nil {
		return 0, err
	}
	if len(t.W) != k {
		return 0, fmt.Errorf("nn: weighted target has %d weights for %d classes", len(t.W), k)
	}
	v := 0.0
	for b := 0; b < n; b++ {
		for j := 0; j < k; j++ {
			v += float64(t.W[j]) * float64(out.Data[b*k+j])
		}
	}
	return v, nil
}
