package cam

import (
	"context"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// countingKernels runs the pure-Go kernels and counts the calls.
type countingKernels struct{ gemm, dw, dwGrad, elem int }

func (k *countingKernels) Gemm(m, n, kk int, a, b, c []float32, acc bool) {
	k.gemm++
	nn.GoKernels{}.Gemm(m, n, kk, a, b, c, acc)
}

func (k *countingKernels) Depthwise3x3(g nn.Depthwise3x3Geom, x, f, bias, y []float32) {
	k.dw++
	nn.GoKernels{}.Depthwise3x3(g, x, f, bias, y)
}

func (k *countingKernels) Depthwise3x3Grad(g nn.Depthwise3x3Geom, f, gy, gx []float32) {
	k.dwGrad++
	nn.GoKernels{}.Depthwise3x3Grad(g, f, gy, gx)
}

func (k *countingKernels) SetRows(y, v []float32, n int) {
	k.elem++
	nn.GoKernels{}.SetRows(y, v, n)
}

func (k *countingKernels) Relu(y, x []float32) {
	k.elem++
	nn.GoKernels{}.Relu(y, x)
}

func (k *countingKernels) Binary(op nn.BinaryOp, y, a, b []float32) {
	k.elem++
	nn.GoKernels{}.Binary(op, y, a, b)
}

// separable is x (4×6×6) → depthwise 3×3 → pointwise 4→3 → relu → GAP →
// dense 3→2.
func separable(t testing.TB) *Model {
	t.Helper()
	spec := nn.GraphSpec{
		Input: nn.InputSpec{Name: "x", Shape: []int{4, 6, 6}},
		Nodes: []nn.NodeSpec{
			{Name: "dw", Op: "conv2d", Inputs: []string{"x"}, Attrs: nn.Attrs{Kernel: []int{3, 3}, Pads: []int{1, 1, 1, 1}, Group: 4}},
			{Name: "pw", Op: "conv2d", Inputs: []string{"dw"}, Attrs: nn.Attrs{Kernel: []int{1, 1}}},
			{Name: "feat", Op: "relu", Inputs: []string{"pw"}},
			{Name: "gap", Op: "globalavgpool", Inputs: []string{"feat"}},
			{Name: "flat", Op: "flatten", Inputs: []string{"gap"}, Attrs: nn.Attrs{Axis: 1}},
			{Name: "fc", Op: "dense", Inputs: []string{"flat"}},
		},
	}
	val := func(shape []int, seed int) *tensor.Tensor {
		w := tensor.New(shape...)
		for i := range w.Data {
			w.Data[i] = float32((i*seed)%11)/5 - 1
		}
		return w
	}
	w := map[string]*tensor.Tensor{
		"dw.weight": val([]int{4, 1, 3, 3}, 7), "dw.bias": val([]int{4}, 3),
		"pw.weight": val([]int{3, 4, 1, 1}, 5), "pw.bias": val([]int{3}, 2),
		"fc.weight": val([]int{2, 3}, 3), "fc.bias": val([]int{2}, 1),
	}
	m, err := NewModel(&modelfile.Model{Meta: modelfile.Meta{Name: "separable"}, Graph: spec, Weights: w})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestWithKernels: the session's own forward pass, its backward passes and
// Score-CAM's perturbed passes all run on the given kernels, with the same
// results as the default kernels.
func TestWithKernels(t *testing.T) {
	m := separable(t)
	x := tensor.New(1, 4, 6, 6)
	for i := range x.Data {
		x.Data[i] = float32((i*13)%17)/8 - 1
	}
	k := &countingKernels{}
	s, err := m.NewSession(x, WithKernels(k))
	if err != nil {
		t.Fatal(err)
	}
	if k.gemm == 0 || k.dw == 0 || k.elem == 0 {
		t.Fatalf("forward pass: %d GEMM, %d depthwise and %d elementwise calls on the session's kernels, want some of each", k.gemm, k.dw, k.elem)
	}
	plain, err := m.NewSession(x)
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"gradcam", "guided-gradcam", "scorecam"} {
		before := *k
		req := Request{Method: method, Class: 1, Layers: []string{"dw"}}
		got, err := s.Explain(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		want, err := plain.Explain(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if *k == before {
			t.Errorf("%s made no call on the session's kernels", method)
		}
		if method == "guided-gradcam" && k.dwGrad == before.dwGrad {
			t.Errorf("guided-gradcam: no depthwise gradient on the session's kernels")
		}
		for i := range want.Map {
			if got.Map[i] != want.Map[i] {
				t.Errorf("%s: map[%d] = %v with the given kernels, %v without", method, i, got.Map[i], want.Map[i])
				break
			}
		}
	}
}

func TestWithKernelsNil(t *testing.T) {
	s, err := separable(t).NewSession(tensor.New(4, 6, 6), WithKernels(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Explain(context.Background(), Request{}); err != nil {
		t.Fatal(err)
	}
}
