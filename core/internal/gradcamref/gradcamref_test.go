package gradcamref

import (
	"bytes"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

const tol = 1e-4

func TestCasesComplete(t *testing.T) {
	names := Cases()
	if len(names) != 12 {
		t.Fatalf("%d cases, want 12: %v", len(names), names)
	}
	for _, n := range names {
		c, err := LoadCase(n)
		if err != nil {
			t.Fatal(err)
		}
		net, err := LoadNetwork(c.Preset)
		if err != nil {
			t.Fatal(err)
		}
		if c.Layer < 0 || c.Layer >= len(net.Spec.Layers) || net.Spec.Layers[c.Layer].Type != c.LayerType {
			t.Errorf("%s: layer %d (%s) does not match the layer list", n, c.Layer, c.LayerType)
		}
		if got := c.Maps["GuidedBackprop"].Shape; len(got) != 3 || got[2] != c.Input.Shape[1] {
			t.Errorf("%s: GuidedBackprop shape %v, want H×W×C", n, got)
		}
	}
}

// TestNetworkReproducesFixtures is issue 2's check: the graph built from
// the layer list reproduces the library's logits, the activations at the
// target layer and the gradients of the raw logit there.
func TestNetworkReproducesFixtures(t *testing.T) {
	graphs := map[string]*nn.Graph{}
	for _, p := range Presets {
		spec, w, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if graphs[p], err = nn.Build(spec, w); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	for _, name := range Cases() {
		c := MustLoadCase(name)
		g := graphs[c.Preset]
		ctx := &nn.Context{}
		a, err := g.Forward(ctx, c.Input)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		li, err := g.Index(NodeName(c.Layer))
		if err != nil {
			t.Fatal(err)
		}
		seed, err := nn.Logit{Class: c.Class}.Seed(a.Output())
		if err != nil {
			t.Fatal(err)
		}
		grads, err := g.Backward(ctx, a, g.Output, seed, []int{li})
		if err != nil {
			t.Fatal(err)
		}
		for _, chk := range []struct {
			what      string
			got, want *tensor.Tensor
		}{
			{"logits", a.Output(), c.Logits},
			{"activations", a.Out[li], c.Activations},
			{"gradients", grads[li], c.Gradients},
		} {
			if !tensor.SameShape(chk.got.Shape, chk.want.Shape) {
				t.Errorf("%s %s: shape %v, want %v", name, chk.what, chk.got.Shape, chk.want.Shape)
				continue
			}
			d := tensor.MaxAbsDiff(chk.got.Data, chk.want.Data)
			if d > tol {
				t.Errorf("%s %s: max abs diff %.3g > %g", name, chk.what, d, tol)
			} else {
				t.Logf("%s %-11s max abs diff %.2e", name, chk.what, d)
			}
		}
	}
}

// TestInt8ModelFile writes each network as an int8 model file, reads it
// back and compares its logits with the float network's on every case
// input.
func TestInt8ModelFile(t *testing.T) {
	for _, p := range Presets {
		net, err := LoadNetwork(p)
		if err != nil {
			t.Fatal(err)
		}
		m := net.Model()
		var buf bytes.Buffer
		if err := modelfile.Write(&buf, m, modelfile.WriteOptions{Quantize: true}); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		q, err := modelfile.Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		gq, err := q.Build()
		if err != nil {
			t.Fatal(err)
		}
		gf, err := m.Build()
		if err != nil {
			t.Fatal(err)
		}
		n, agree, worst := 0, 0, 0.0
		for _, name := range Cases() {
			c := MustLoadCase(name)
			if c.Preset != p {
				continue
			}
			af, err := gf.Forward(nil, c.Input)
			if err != nil {
				t.Fatal(err)
			}
			aq, err := gq.Forward(nil, c.Input)
			if err != nil {
				t.Fatal(err)
			}
			n++
			if top(af.Output().Data) == top(aq.Output().Data) {
				agree++
			}
			worst = max(worst, tensor.MaxAbsDiff(af.Output().Data, aq.Output().Data))
		}
		t.Logf("%s: int8 file %d bytes; logits max abs diff float vs int8 %.4f; top-1 agrees on %d/%d inputs", p, buf.Len(), worst, agree, n)
		if agree != n {
			t.Errorf("%s: int8 top-1 differs on %d of %d inputs", p, n-agree, n)
		}
		// Per-channel int8 keeps each weight within 0.4% of its channel's
		// largest; on these small nets the logits (|z| ≲ 3) move far less
		// than 0.1.
		if worst > 0.1 {
			t.Errorf("%s: int8 logits differ by %.4f, want < 0.1", p, worst)
		}
	}
}

func top(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

func TestPairJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{{"3", []int{3, 3}, true}, {"[2, 5]", []int{2, 5}, true}, {"[1]", nil, false}, {`"x"`, nil, false}} {
		var p Pair
		err := p.UnmarshalJSON([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (p[0] != tc.want[0] || p[1] != tc.want[1]) {
			t.Errorf("%s: got %v, want %v", tc.in, p, tc.want)
		}
	}
}

func TestConvertErrors(t *testing.T) {
	good := Spec{InputShape: []int{1, 4, 4}, Layers: []Layer{{Type: "relu"}}}
	if _, _, err := convert(good, nil); err != nil {
		t.Fatalf("good spec: %v", err)
	}
	for i, s := range []Spec{
		{InputShape: []int{4, 4}, Layers: []Layer{{Type: "relu"}}},
		{InputShape: []int{1, 4, 4}},
		{InputShape: []int{1, 4, 4}, Layers: []Layer{{Type: "gelu"}}},
		{InputShape: []int{1, 4, 4}, Layers: []Layer{{Type: "conv2d", OutChannels: 2, Kernel: Pair{1, 1}}}}, // no weight
	} {
		if _, _, err := convert(s, map[string]*tensor.Tensor{}); err == nil {
			t.Errorf("spec %d: no error", i)
		} else {
			t.Logf("spec %d: %v", i, err)
		}
	}
}
