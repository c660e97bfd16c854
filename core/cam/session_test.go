package cam

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/internal/gradcamref"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// slowTol is the README's tolerance for Score-CAM and Ablation-CAM.
const slowTol = 1e-3

// fixtureMethods maps the library's method names to CamLens's.
var fixtureMethods = []struct{ key, method string }{
	{"GradCAM", "gradcam"},
	{"HiResCAM", "hirescam"},
	{"GradCAMPlusPlus", "gradcam++"},
	{"XGradCAM", "xgradcam"},
	{"LayerCAM", "layercam"},
	{"EigenCAM", "eigencam"},
	{"ScoreCAM", "scorecam"},
	{"AblationCAM", "ablationcam"},
	{"GradCAMElementWise", "gradcam-elementwise"},
	{"GuidedBackprop", "guided-backprop"},
}

var (
	modelsOnce sync.Once
	models     map[string]*Model
	modelsErr  error
)

// fixtureModel returns the CamLens model of a reference network (float
// weights, BatchNorm not folded).
func fixtureModel(t testing.TB, preset string) *Model {
	t.Helper()
	modelsOnce.Do(func() {
		models = map[string]*Model{}
		for _, p := range gradcamref.Presets {
			net, err := gradcamref.LoadNetwork(p)
			if err != nil {
				modelsErr = err
				return
			}
			if models[p], err = NewModel(net.Model()); err != nil {
				modelsErr = err
				return
			}
		}
	})
	if modelsErr != nil {
		t.Fatal(modelsErr)
	}
	return models[preset]
}

func fixtureSession(t testing.TB, c *gradcamref.Case) *Session {
	t.Helper()
	s, err := fixtureModel(t, c.Preset).NewSession(c.Input)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mapDiff compares a result with the library's map for key; EigenCAM
// accepts either sign and GuidedBackprop compares the H×W×C gradient.
func mapDiff(c *gradcamref.Case, key string, r *Result) float64 {
	switch key {
	case "EigenCAM":
		return eigenDiff(r.Map, c)
	case "GuidedBackprop":
		return tensor.MaxAbsDiff(r.Guided, c.Maps[key].Data)
	}
	return tensor.MaxAbsDiff(r.Map, c.Maps[key].Data)
}

// TestSessionMatchesFixtures: all 12 cases × 10 methods through the
// Session API, on graphs built from the layer lists.
func TestSessionMatchesFixtures(t *testing.T) {
	worst := map[string]float64{}
	for _, name := range gradcamref.Cases() {
		c := gradcamref.MustLoadCase(name)
		s := fixtureSession(t, c)
		if d := tensor.MaxAbsDiff(s.Logits(), c.Logits.Data); d > gradTol {
			t.Errorf("%s: logits differ by %.3g", name, d)
		}
		for _, m := range fixtureMethods {
			r, err := s.Explain(context.Background(), Request{Method: m.method, Class: c.Class, Layers: []string{gradcamref.NodeName(c.Layer)}})
			if err != nil {
				t.Fatalf("%s %s: %v", name, m.method, err)
			}
			d := mapDiff(c, m.key, r)
			tol := gradTol
			if m.key == "ScoreCAM" || m.key == "AblationCAM" {
				tol = slowTol
			}
			if math.IsNaN(d) || d > tol {
				t.Errorf("%s %s: max abs diff %.3g > %g", name, m.method, d, tol)
			}
			worst[m.key+"@"+c.LayerType] = max(worst[m.key+"@"+c.LayerType], d)
			t.Logf("%s %-20s max abs diff %.2e", name, m.method, d)
		}
		if s.ForwardCount() != 1 {
			t.Errorf("%s: %d forward passes of the input, want 1", name, s.ForwardCount())
		}
	}
	for k, v := range worst {
		t.Logf("worst %-32s %.2e", k, v)
	}
}

// TestGuidedGradCAM: Guided Grad-CAM is GradCAM[..., None] × GuidedBackprop
// (pytorch-grad-cam's example, without deprocess_image).
func TestGuidedGradCAM(t *testing.T) {
	for _, name := range []string{"basic.L9.c5", "all-layers.L5.c8"} {
		c := gradcamref.MustLoadCase(name)
		s := fixtureSession(t, c)
		r, err := s.Explain(context.Background(), Request{Method: "guided-gradcam", Class: c.Class, Layers: []string{gradcamref.NodeName(c.Layer)}})
		if err != nil {
			t.Fatal(err)
		}
		gc, gb := c.Maps["GradCAM"].Data, c.Maps["GuidedBackprop"].Data
		ch := c.Input.Shape[1]
		want := make([]float32, len(gb))
		for i := range want {
			want[i] = gc[i/ch] * gb[i]
		}
		if d := tensor.MaxAbsDiff(r.Guided, want); d > gradTol {
			t.Errorf("%s: guided-gradcam differs by %.3g", name, d)
		}
		if r.C != ch || len(r.Map) != r.W*r.H {
			t.Errorf("%s: C=%d len(Map)=%d", name, r.C, len(r.Map))
		}
	}
}

// TestCAMEqualsGradCAM: on a layer followed by global average pooling and
// one dense layer (basic, layer 9: relu → GAP → flatten → dropout →
// linear), CAM and Grad-CAM agree after normalisation.
func TestCAMEqualsGradCAM(t *testing.T) {
	for _, name := range []string{"basic.L9.c2", "basic.L9.c5"} {
		c := gradcamref.MustLoadCase(name)
		s := fixtureSession(t, c)
		for _, cls := range []int{c.Class, -1, 7} {
			req := Request{Class: cls, Layers: []string{"9"}}
			gc, err := s.Explain(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			req.Method = "cam"
			cm, err := s.Explain(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if d := tensor.MaxAbsDiff(gc.Map, cm.Map); d > 1e-5 {
				t.Errorf("%s class %d: CAM vs Grad-CAM max abs diff %.3g > 1e-5", name, cls, d)
			}
		}
	}
	// Elsewhere CAM does not apply, and says why.
	c := gradcamref.MustLoadCase("basic.L5.c2")
	s := fixtureSession(t, c)
	_, err := s.Explain(context.Background(), Request{Method: "cam", Class: 2, Layers: []string{"5"}})
	if err == nil || !strings.Contains(err.Error(), "global average pooling") {
		t.Errorf("CAM at layer 5: err = %v, want an explanation mentioning global average pooling", err)
	}
	c = gradcamref.MustLoadCase("all-layers.L10.c2")
	s = fixtureSession(t, c)
	_, err = s.Explain(context.Background(), Request{Method: "cam", Class: 2, Layers: []string{"12"}})
	if err == nil {
		t.Error("CAM at all-layers layer 12 (GAP output): no error")
	}
	_, err = s.Explain(context.Background(), Request{Method: "cam", Class: 2, Layers: []string{"11"}})
	if err == nil || !strings.Contains(err.Error(), "dense") {
		t.Errorf("CAM at all-layers layer 11 (GAP → dense → relu → dense): err = %v", err)
	} else {
		t.Log(err)
	}
}

// TestCounterfactualIsNegatedGradCAM compares the counterfactual with
// Grad-CAM computed from the library's negated gradients.
func TestCounterfactualIsNegatedGradCAM(t *testing.T) {
	for _, name := range gradcamref.Cases() {
		c := gradcamref.MustLoadCase(name)
		s := fixtureSession(t, c)
		r, err := s.Explain(context.Background(), Request{Method: "counterfactual", Class: c.Class, Layers: []string{gradcamref.NodeName(c.Layer)}})
		if err != nil {
			t.Fatal(err)
		}
		neg := c.Gradients.Clone()
		for i, v := range neg.Data {
			neg.Data[i] = -v
		}
		cn := *c
		cn.Gradients = neg
		want := fixtureMap(t, &cn, gradCAMWeights, nil, false)
		if d := tensor.MaxAbsDiff(r.Map, want); d > gradTol {
			t.Errorf("%s: counterfactual differs from Grad-CAM of −gradients by %.3g", name, d)
		}
		// The toggle gives the same on the method.
		r2, err := s.Explain(context.Background(), Request{Method: "gradcam", Counterfactual: true, Class: c.Class, Layers: []string{gradcamref.NodeName(c.Layer)}})
		if err != nil {
			t.Fatal(err)
		}
		if d := tensor.MaxAbsDiff(r.Map, r2.Map); d != 0 {
			t.Errorf("%s: counterfactual method and toggle differ by %.3g", name, d)
		}
	}
}

// constructed is a network whose target layer has the input's resolution:
// relu(x) → GAP → flatten → dense, 2 channels, 2 classes; class 0's weights
// favour channel 0, class 1's channel 1.
func constructed(t testing.TB) *Model {
	t.Helper()
	spec := nn.GraphSpec{
		Input: nn.InputSpec{Name: "x", Shape: []int{2, 6, 6}},
		Nodes: []nn.NodeSpec{
			{Name: "feat", Op: "relu", Inputs: []string{"x"}},
			{Name: "gap", Op: "globalavgpool", Inputs: []string{"feat"}},
			{Name: "flat", Op: "flatten", Inputs: []string{"gap"}, Attrs: nn.Attrs{Axis: 1}},
			{Name: "fc", Op: "dense", Inputs: []string{"flat"}},
		},
	}
	w := map[string]*tensor.Tensor{
		"fc.weight": {Shape: []int{2, 2}, Data: []float32{1, -1, -1, 1}},
		"fc.bias":   {Shape: []int{2}, Data: []float32{0, 0}},
	}
	m, err := NewModel(&modelfile.Model{Meta: modelfile.Meta{Name: "constructed", Labels: []string{"left", "right"}}, Graph: spec, Weights: w})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// constructedInput has a blob in channel 0 on the left and a weaker one in
// channel 1 on the right.
func constructedInput() *tensor.Tensor {
	x := tensor.New(1, 2, 6, 6)
	for y := 1; y < 5; y++ {
		x.Data[0*36+y*6+1] = 2
		x.Data[1*36+y*6+4] = 1
	}
	return x
}

func TestCounterfactualZeroWhereGradCAMHottest(t *testing.T) {
	s, err := constructed(t).NewSession(constructedInput())
	if err != nil {
		t.Fatal(err)
	}
	gc, err := s.Explain(context.Background(), Request{Class: 0, Layers: []string{"feat"}})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := s.Explain(context.Background(), Request{Method: "counterfactual", Class: 0, Layers: []string{"feat"}})
	if err != nil {
		t.Fatal(err)
	}
	p := gc.Peak
	if p.X != 1 {
		t.Fatalf("Grad-CAM peak %v, want on the left blob (x = 1)", p)
	}
	if v := cf.Map[p.Y*cf.W+p.X]; v != 0 {
		t.Errorf("counterfactual at Grad-CAM's peak %v = %v, want 0", p, v)
	}
	for i, v := range gc.Map {
		if v > 0 && cf.Map[i] != 0 {
			t.Fatalf("pixel %d: Grad-CAM %v and counterfactual %v both positive", i, v, cf.Map[i])
		}
	}
	if cf.Peak.X != 4 {
		t.Errorf("counterfactual peak %v, want on the right blob (x = 4)", cf.Peak)
	}
	if cf.Box.Min.X != 4 || cf.Box.Max.X != 5 || cf.Box.Min.Y != 1 || cf.Box.Max.Y != 5 {
		t.Errorf("counterfactual box %v, want (4,1)-(5,5)", cf.Box)
	}
}

// TestCaching: a second class runs no forward pass, a method switch no
// backward pass, a counterfactual reuses the gradient, and the slow
// methods' perturbed passes are shared between classes.
func TestCaching(t *testing.T) {
	c := gradcamref.MustLoadCase("basic.L5.c2")
	s := fixtureSession(t, c)
	ctx := context.Background()
	step := func(r Request, forwards, backwards, perturbed int) *Result {
		t.Helper()
		res, err := s.Explain(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if s.ForwardCount() != forwards || s.BackwardCount() != backwards || s.PerturbedCount() != perturbed {
			t.Fatalf("after %+v: forwards %d backwards %d perturbed %d, want %d %d %d",
				r, s.ForwardCount(), s.BackwardCount(), s.PerturbedCount(), forwards, backwards, perturbed)
		}
		return res
	}
	step(Request{Method: "gradcam", Class: 2, Layers: []string{"5"}}, 1, 1, 0)
	step(Request{Method: "gradcam++", Class: 2, Layers: []string{"5"}}, 1, 1, 0)
	step(Request{Method: "layercam", Class: 2, Layers: []string{"5"}, EigenSmooth: true}, 1, 1, 0)
	step(Request{Method: "counterfactual", Class: 2, Layers: []string{"5"}}, 1, 1, 0)
	step(Request{Method: "gradcam", Class: 5, Layers: []string{"5"}}, 1, 2, 0)
	step(Request{Method: "xgradcam", Class: 5, Layers: []string{"5"}}, 1, 2, 0)
	step(Request{Method: "gradcam", Class: 5, Layers: []string{"5"}, Target: "softmax"}, 1, 3, 0)
	step(Request{Method: "gradcam", Class: 5, Layers: []string{"3", "5", "9"}}, 1, 4, 0) // 3 and 9 in one pass
	step(Request{Method: "hirescam", Class: 5, Layers: []string{"9", "3"}}, 1, 4, 0)
	step(Request{Method: "eigencam", Class: 5, Layers: []string{"7"}}, 1, 4, 0)
	step(Request{Method: "guided-backprop", Class: 5}, 1, 5, 0)
	step(Request{Method: "guided-gradcam", Class: 5, Layers: []string{"5"}}, 1, 5, 0)
	step(Request{Method: "scorecam", Class: 2, Layers: []string{"5"}}, 1, 5, 16)
	step(Request{Method: "scorecam", Class: 7, Layers: []string{"5"}}, 1, 5, 16)
	step(Request{Method: "ablationcam", Class: 7, Layers: []string{"5"}}, 1, 5, 32)
	step(Request{Method: "ablationcam", Class: 1, Layers: []string{"5"}, Target: "softmax"}, 1, 5, 32)
}

// TestSoftmaxTargetIsLinearInLogits: the softmax target's gradient is
// Σ_j ∂p_c/∂z_j · ∂z_j/∂A, so its Grad-CAM weights are that combination of
// the logits' Grad-CAM weights.
func TestSoftmaxTargetIsLinearInLogits(t *testing.T) {
	c := gradcamref.MustLoadCase("all-layers.L5.c8")
	s := fixtureSession(t, c)
	ctx := context.Background()
	r, err := s.Explain(ctx, Request{Class: 8, Target: "softmax", Layers: []string{"5"}})
	if err != nil {
		t.Fatal(err)
	}
	seed, err := nn.Softmax{Class: 8}.Seed(&tensor.Tensor{Shape: []int{1, 10}, Data: s.Logits()})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, len(r.Weights))
	for j := range 10 {
		rj, err := s.Explain(ctx, Request{Class: j, Layers: []string{"5"}})
		if err != nil {
			t.Fatal(err)
		}
		for k, w := range rj.Weights {
			want[k] += float64(seed.Data[j]) * float64(w)
		}
	}
	for k := range want {
		if d := math.Abs(float64(r.Weights[k]) - want[k]); d > 1e-6 {
			t.Fatalf("channel %d: softmax weight %v, want %v", k, r.Weights[k], want[k])
		}
	}
}

// TestMultiLayerAggregation: several layers are post-processed separately,
// then averaged and min-max normalised (aggregate_multi_layers).
func TestMultiLayerAggregation(t *testing.T) {
	c3, c5 := gradcamref.MustLoadCase("basic.L3.c2"), gradcamref.MustLoadCase("basic.L5.c2")
	if tensor.MaxAbsDiff(c3.Input.Data, c5.Input.Data) != 0 {
		t.Skip("cases do not share an input")
	}
	s := fixtureSession(t, c3)
	r, err := s.Explain(context.Background(), Request{Class: 2, Layers: []string{"3", "5"}})
	if err != nil {
		t.Fatal(err)
	}
	var per [][]float32
	for _, c := range []*gradcamref.Case{c3, c5} {
		a := c.Activations
		l := &layerData{C: a.Shape[1], H: a.Shape[2], W: a.Shape[3], A: a.Data, G: c.Gradients.Data}
		raw := channelSum(weighted(l, gradCAMWeights(l)), l.C, l.H*l.W)
		per = append(per, postprocess(raw, l.H, l.W, 32, 32))
	}
	want := aggregate(per)
	if d := tensor.MaxAbsDiff(r.Map, want); d > gradTol {
		t.Errorf("two-layer map differs from the aggregate of the library's inputs by %.3g", d)
	}
	if d := tensor.MaxAbsDiff(r.Map, c3.Maps["GradCAM"].Data); d < 1e-2 {
		t.Errorf("two-layer map equals layer 3's alone (diff %.3g)", d)
	}
	if len(r.Layers) != 2 || r.Raw.Shape[0] != 32 {
		t.Errorf("Layers %v Raw %v", r.Layers, r.Raw.Shape)
	}
}

func TestEigenGradCAMAndSmoothing(t *testing.T) {
	c := gradcamref.MustLoadCase("basic.L9.c5")
	s := fixtureSession(t, c)
	cases := []struct {
		req  Request
		want []float32
	}{
		{Request{Method: "eigengradcam", Class: c.Class}, fixtureMap(t, c, nil, hiResCAMElems, true)},
		{Request{Method: "gradcam", Class: c.Class, EigenSmooth: true}, fixtureMap(t, c, gradCAMWeights, nil, true)},
		{Request{Method: "layercam", Class: c.Class, EigenSmooth: true}, fixtureMap(t, c, nil, layerCAMElems, true)},
	}
	for _, tc := range cases {
		r, err := s.Explain(context.Background(), tc.req)
		if err != nil {
			t.Fatal(err)
		}
		if d := tensor.MaxAbsDiff(r.Map, tc.want); d > gradTol {
			t.Errorf("%s smooth=%v: differs by %.3g", tc.req.Method, tc.req.EigenSmooth, d)
		}
	}
}

func TestExplainErrors(t *testing.T) {
	c := gradcamref.MustLoadCase("basic.L9.c5")
	s := fixtureSession(t, c)
	for _, tc := range []struct {
		req  Request
		want string
	}{
		{Request{Method: "nope"}, "unknown method"},
		{Request{Class: 10}, "out of range"},
		{Request{Class: -2}, "out of range"},
		{Request{Target: "prob"}, "unknown target"},
		{Request{Layers: []string{"zzz"}}, "no layer"},
		{Request{Layers: []string{"13"}}, "4-D"},
		{Request{Layers: []string{"5", "5"}}, "twice"},
		{Request{Method: "eigencam", Counterfactual: true}, "no counterfactual"},
		{Request{Method: "ablationcam", Counterfactual: true}, "no counterfactual"},
		{Request{Method: "cam", Target: "softmax"}, "raw logit"},
		{Request{Method: "guided-backprop", EigenSmooth: true}, "eigen-smooth"},
	} {
		_, err := s.Explain(context.Background(), tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want it to mention %q", tc.req, err, tc.want)
		}
	}
	if _, err := fixtureModel(t, "basic").NewSession(tensor.New(1, 3, 16, 16)); err == nil {
		t.Error("wrong input shape: no error")
	}
}

// wide is a network with 40 channels at the target layer (more than one
// Ablation-CAM batch of 32): x → feat (op) → GAP → flatten → dense, 2
// classes.
func wide(t testing.TB, op string) *Model {
	t.Helper()
	const c = 40
	spec := nn.GraphSpec{
		Input: nn.InputSpec{Name: "x", Shape: []int{c, 3, 3}},
		Nodes: []nn.NodeSpec{
			{Name: "feat", Op: op, Inputs: []string{"x"}},
			{Name: "gap", Op: "globalavgpool", Inputs: []string{"feat"}},
			{Name: "flat", Op: "flatten", Inputs: []string{"gap"}, Attrs: nn.Attrs{Axis: 1}},
			{Name: "fc", Op: "dense", Inputs: []string{"flat"}},
		},
	}
	w := tensor.New(2, c)
	for k := range c {
		w.Data[k] = float32(k%7) - 3
		w.Data[c+k] = float32(k%5) - 2
	}
	m, err := NewModel(&modelfile.Model{Meta: modelfile.Meta{Name: "wide"}, Graph: spec,
		Weights: map[string]*tensor.Tensor{"fc.weight": w, "fc.bias": {Shape: []int{2}, Data: []float32{0.5, -0.5}}}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wideInput() *tensor.Tensor {
	x := tensor.New(1, 40, 3, 3)
	for i := range x.Data {
		x.Data[i] = float32((i*37)%23)/10 - 1
	}
	return x
}

func TestSlowMethodsCancelAndProgress(t *testing.T) {
	m := wide(t, "relu")
	for _, method := range []string{"scorecam", "ablationcam"} {
		s, err := m.NewSession(wideInput())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		_, err = s.Explain(ctx, Request{Method: method, Class: 0, Progress: func(done, total int) {
			calls++
			if total != 40 || done >= total {
				t.Errorf("%s: progress %d/%d, want a first batch of 40", method, done, total)
			}
			cancel()
		}})
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("%s: err %v after %d progress calls, want context.Canceled after 1", method, err, calls)
		}
		var last [2]int
		r, err := s.Explain(context.Background(), Request{Method: method, Class: 0, Progress: func(d, n int) { last = [2]int{d, n} }})
		if err != nil {
			t.Fatal(err)
		}
		if last != [2]int{40, 40} {
			t.Errorf("%s: last progress %v, want [40 40]", method, last)
		}
		if len(r.Map) != 9 || len(r.Weights) != 40 {
			t.Errorf("%s: map size %d, %d weights", method, len(r.Map), len(r.Weights))
		}
	}
}

// TestAblationBatchQuirk: on a layer whose minimum m is not 0, channel k
// is ablated with m − (k mod 32 + 1)·1e7 (pytorch-grad-cam's AblationLayer
// takes the batch minimum after each item). The network above the layer is
// linear here (identity → GAP → dense), so y_k is known in closed form.
func TestAblationBatchQuirk(t *testing.T) {
	m := wide(t, "identity")
	x := wideInput()
	s, err := m.NewSession(x)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Explain(context.Background(), Request{Method: "ablationcam", Class: 1})
	if err != nil {
		t.Fatal(err)
	}
	const c, n = 40, 9
	m0 := x.Data[0]
	for _, v := range x.Data {
		m0 = min(m0, v)
	}
	w := m.weights["fc.weight"].Data[c:]
	y := float64(s.Logits()[1])
	for k := range c {
		v := m0
		for range k%32 + 1 {
			v -= 1e7
		}
		mean := 0.0
		for _, a := range x.Data[k*n : (k+1)*n] {
			mean += float64(a) / n
		}
		yk := y + float64(w[k])*(float64(v)-mean)
		want := (y - yk) / y
		got := float64(r.Weights[k])
		if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("channel %d: weight %g, want %g", k, got, want)
		}
	}
	// On a ReLU layer (minimum 0) the channel is zeroed instead.
	m = wide(t, "relu")
	s, err = m.NewSession(x)
	if err != nil {
		t.Fatal(err)
	}
	r, err = s.Explain(context.Background(), Request{Method: "ablationcam", Class: 1})
	if err != nil {
		t.Fatal(err)
	}
	w = m.weights["fc.weight"].Data[c:]
	y = float64(s.Logits()[1])
	for k := range c {
		mean := 0.0
		for _, a := range x.Data[k*n : (k+1)*n] {
			mean += float64(max(a, 0)) / n
		}
		want := float64(w[k]) * mean / y
		if math.Abs(float64(r.Weights[k])-want) > 1e-5 {
			t.Errorf("relu channel %d: weight %g, want %g", k, r.Weights[k], want)
		}
	}
}

func TestMethodsList(t *testing.T) {
	want := []string{"gradcam", "gradcam++", "xgradcam", "hirescam", "gradcam-elementwise", "layercam", "eigencam",
		"eigengradcam", "scorecam", "ablationcam", "cam", "counterfactual", "guided-backprop", "guided-gradcam"}
	got := Methods()
	if len(got) != len(want) {
		t.Fatalf("%d methods, want %d", len(got), len(want))
	}
	for i, m := range got {
		if m.Name != want[i] || m.Title == "" {
			t.Errorf("method %d: %+v, want name %q", i, m, want[i])
		}
	}
	m := methodTable["scorecam"].info
	if !m.Slow || m.Gradients {
		t.Errorf("scorecam info %+v", m)
	}
}

func TestPredictions(t *testing.T) {
	c := gradcamref.MustLoadCase("basic.L9.c5")
	s := fixtureSession(t, c)
	p := s.Predictions(3)
	if len(p) != 3 || p[0].Logit < p[1].Logit || p[1].Logit < p[2].Logit {
		t.Fatalf("predictions %+v", p)
	}
	if p[0].Class != argmax(c.Logits.Data) || p[0].Label != fmt.Sprintf("class %d", p[0].Class) {
		t.Errorf("top prediction %+v", p[0])
	}
	sum := 0.0
	for _, q := range s.Predictions(0) {
		sum += float64(q.Prob)
	}
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("probabilities sum to %v", sum)
	}
}

func TestSessionFromImage(t *testing.T) {
	m := fixtureModel(t, "basic")
	img := image.NewRGBA(image.Rect(0, 0, 50, 40))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	crop := image.Rect(5, 5, 45, 35)
	s, err := m.SessionFromImage(img, crop)
	if err != nil {
		t.Fatal(err)
	}
	x, err := imaging.ToTensor(img, crop, m.Meta().Preprocess)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := m.NewSession(x)
	if err != nil {
		t.Fatal(err)
	}
	if d := tensor.MaxAbsDiff(s.Logits(), s2.Logits()); d != 0 {
		t.Errorf("logits differ by %g", d)
	}
	if _, err := m.SessionFromImage(nil, crop); err == nil {
		t.Error("nil image: no error")
	}
	if _, err := m.SessionFromImage(img, image.Rect(100, 100, 120, 120)); err == nil {
		t.Error("crop outside the image: no error")
	}
}

func TestGradCacheBound(t *testing.T) {
	c := gradCache{limit: 10}
	key := func(i int) gradKey { return gradKey{class: i} }
	for i := range 4 {
		c.put(key(i), tensor.New(4))
	}
	// 16 floats > 10: the oldest entries went, the newest two stay.
	for i, want := range []bool{false, false, true, true} {
		if _, ok := c.get(key(i)); ok != want {
			t.Errorf("entry %d cached = %v, want %v", i, ok, want)
		}
	}
	if c.floats != 8 {
		t.Errorf("floats %d, want 8", c.floats)
	}
	c.put(key(9), tensor.New(50)) // larger than the limit: kept alone
	if _, ok := c.get(key(9)); !ok || len(c.order) != 1 {
		t.Errorf("oversized entry: cached %v, %d entries", ok, len(c.order))
	}
}
