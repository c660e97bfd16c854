package cam

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// zeroClassModel is conv (4 channels) → ReLU → GAP → dense with 3
// classes; class 2's dense row and bias are zero, so its logit is exactly
// 0 and its gradient is zero everywhere.
func zeroClassModel(t testing.TB) *Model {
	t.Helper()
	w := tensor.New(4, 3, 3, 3)
	for i := range w.Data {
		w.Data[i] = float32(math.Sin(float64(i)*1.3)) * 0.5
	}
	fc := tensor.New(3, 4)
	copy(fc.Data, []float32{1, -1, 0.5, 2, -0.5, 1, 1, -1})
	m, err := NewModel(&modelfile.Model{
		Meta: modelfile.Meta{Name: "zero-class", Labels: []string{"a", "b", "nothing"}},
		Graph: nn.GraphSpec{
			Input: nn.InputSpec{Name: "x", Shape: []int{3, 6, 6}},
			Nodes: []nn.NodeSpec{
				{Name: "conv", Op: "conv2d", Inputs: []string{"x"}, Attrs: nn.Attrs{Pads: []int{1, 1, 1, 1}}},
				{Name: "relu", Op: "relu", Inputs: []string{"conv"}},
				{Name: "gap", Op: "globalavgpool", Inputs: []string{"relu"}},
				{Name: "flat", Op: "flatten", Inputs: []string{"gap"}, Attrs: nn.Attrs{Axis: 1}},
				{Name: "fc", Op: "dense", Inputs: []string{"flat"}},
			},
		},
		Weights: map[string]*tensor.Tensor{"conv.weight": w, "fc.weight": fc},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func zeroClassSession(t testing.TB) *Session {
	t.Helper()
	x := tensor.New(1, 3, 6, 6)
	for i := range x.Data {
		x.Data[i] = float32(math.Cos(float64(i) * 0.7))
	}
	s, err := zeroClassModel(t).NewSession(x)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestZeroGradientGivesZeroMapAndNote: every method on a class whose
// gradient is zero everywhere gives an all-zero map, never NaN, and a
// note saying why; a map with content has no note.
func TestZeroGradientGivesZeroMapAndNote(t *testing.T) {
	s := zeroClassSession(t)
	for _, m := range Methods() {
		if !m.Gradients {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			r, err := s.Explain(context.Background(), Request{Method: m.Name, Class: 2, Layers: []string{"relu"}})
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range r.Map {
				if v != 0 {
					t.Fatalf("map[%d] = %v, want all zero", i, v)
				}
			}
			for i, v := range r.Guided {
				if v != 0 {
					t.Fatalf("guided[%d] = %v, want all zero", i, v)
				}
			}
			want := `the gradient of the logit of class 2 ("nothing") is zero everywhere at layer "relu"`
			if m.Name == "counterfactual" {
				want = `the gradient of the negated logit of class 2 ("nothing") is zero everywhere`
			}
			if m.Name == "guided-backprop" {
				want = `the guided gradient of the logit of class 2 ("nothing") at the input is zero everywhere`
			}
			if !strings.Contains(r.Note, want) {
				t.Fatalf("note %q, want it to say %q", r.Note, want)
			}
			if !r.Box.Empty() {
				t.Fatalf("box %v of an empty map", r.Box)
			}
		})
	}
	r, err := s.Explain(context.Background(), Request{Method: "gradcam", Class: 0})
	if err != nil {
		t.Fatal(err)
	}
	if r.Note != "" {
		t.Fatalf("a map with content has the note %q", r.Note)
	}
}

// TestAblationCAMZeroScore: Ablation-CAM divides by the target's value;
// a value of exactly 0 is an error, not a map of NaNs, and the session
// keeps working.
func TestAblationCAMZeroScore(t *testing.T) {
	s := zeroClassSession(t)
	_, err := s.Explain(context.Background(), Request{Method: "ablationcam", Class: 2})
	if err == nil || !strings.Contains(err.Error(), "the target's value is 0 for class 2") {
		t.Fatalf("err %v, want the zero-value error", err)
	}
	if _, err := s.Explain(context.Background(), Request{Method: "ablationcam", Class: 0}); err != nil {
		t.Fatal(err)
	}
}

// TestNonFiniteGradient: a gradient that overflows is an error naming the
// layer and wrapping nn.ErrNotFinite.
func TestNonFiniteGradient(t *testing.T) {
	s := zeroClassSession(t)
	inf := float32(math.Inf(1))
	j := &job{s: s, class: 0, kind: "logit", res: &Result{}}
	_, err := j.backward(nn.Weighted{W: []float32{inf, 0, 0}}, []int{0}, false)
	if !errors.Is(err, nn.ErrNotFinite) || !strings.Contains(err.Error(), `the gradient of class 0 (logit) at layer "conv" is not finite`) {
		t.Fatalf("err %v, want a non-finite gradient error naming conv", err)
	}
	_, err = j.backward(nn.Weighted{W: []float32{inf, 0, 0}}, []int{nn.InputIndex}, true)
	if !errors.Is(err, nn.ErrNotFinite) || !strings.Contains(err.Error(), "at the input is not finite") {
		t.Fatalf("err %v, want a non-finite gradient error at the input", err)
	}
	if _, err := s.Explain(context.Background(), Request{Method: "gradcam", Class: 0}); err != nil {
		t.Fatal(err)
	}
}

// TestCheckResult: a NaN or infinity anywhere in a result is refused.
func TestCheckResult(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	for _, c := range []struct {
		r    Result
		want string
	}{
		{Result{Method: "m", Map: []float32{0, nan}}, "element 1 of the map is NaN"},
		{Result{Method: "m", Weights: []float32{inf}}, "element 0 of the weights is -Inf"},
		{Result{Method: "m", Guided: []float32{0, 0, inf}}, "element 2 of the guided gradient is -Inf"},
		{Result{Method: "m", Raw: &tensor.Tensor{Shape: []int{1, 1}, Data: []float32{nan}}}, "element 0 of the raw map is NaN"},
	} {
		err := checkResult(&c.r)
		if !errors.Is(err, nn.ErrNotFinite) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("checkResult = %v, want %q", err, c.want)
		}
	}
	if err := checkResult(&Result{Map: []float32{0, 1}, Weights: []float32{-3}}); err != nil {
		t.Fatal(err)
	}
}

// TestNonFiniteActivation: weights that overflow give an error naming the
// node where the first infinity appears, not a NaN map.
func TestNonFiniteActivation(t *testing.T) {
	m := zeroClassModel(t)
	spec := m.graph.Spec
	w := map[string]*tensor.Tensor{}
	for k, v := range m.weights {
		w[k] = v.Clone()
	}
	for i := range w["fc.weight"].Data {
		w["fc.weight"].Data[i] = 3e38
	}
	big, err := NewModel(&modelfile.Model{Meta: modelfile.Meta{Name: "big"}, Graph: spec, Weights: w})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(1, 3, 6, 6)
	for i := range x.Data {
		x.Data[i] = 1
	}
	_, err = big.NewSession(x)
	if !errors.Is(err, nn.ErrNotFinite) || !strings.Contains(err.Error(), `node "fc" (dense)`) {
		t.Fatalf("err %v, want ErrNotFinite naming fc", err)
	}
}
