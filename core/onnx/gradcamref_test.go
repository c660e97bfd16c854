package onnx

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

type refArray struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

type refCase struct {
	Preset      string   `json:"preset"`
	Layer       int      `json:"target_layer_index"`
	LayerType   string   `json:"target_layer_type"`
	Class       int      `json:"target_class"`
	Input       refArray `json:"input"`
	Logits      refArray `json:"logits"`
	Activations refArray `json:"activations"`
	Gradients   refArray `json:"gradients"`
	ONNXTensor  *string  `json:"onnx_tensor"`
}

// TestGradCAMRefFixtures imports the pytorch-grad-cam fixture networks and
// checks logits, activations and gradients at the fixture's ONNX tensor.
func TestGradCAMRefFixtures(t *testing.T) {
	cases, err := filepath.Glob("testdata/gradcamref/*.L*.json.gz")
	if err != nil || len(cases) == 0 {
		t.Fatalf("no fixture cases: %v", err)
	}
	for _, path := range cases {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			var c refCase
			if err := json.NewDecoder(zr).Decode(&c); err != nil {
				t.Fatal(err)
			}
			if c.ONNXTensor == nil {
				t.Fatal("case has no onnx_tensor (such cases are not copied)")
			}
			data, err := os.ReadFile(filepath.Join("testdata", "gradcamref", c.Preset+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Import(data)
			if err != nil {
				t.Fatal(err)
			}
			g, err := nn.Build(m.Graph, m.Weights)
			if err != nil {
				t.Fatal(err)
			}
			x, err := tensor.FromData(append([]int{1}, c.Input.Shape...), c.Input.Data)
			if err != nil {
				t.Fatal(err)
			}
			var ctx nn.Context
			a, err := g.Forward(&ctx, x)
			if err != nil {
				t.Fatal(err)
			}
			if d := tensor.MaxAbsDiff(a.Output().Data, c.Logits.Data); d > 1e-4 {
				t.Errorf("logits differ by %.3g", d)
			}
			k, err := g.Index(*c.ONNXTensor)
			if err != nil {
				t.Fatal(err)
			}
			seed, err := nn.Logit{Class: c.Class}.Seed(a.Output())
			if err != nil {
				t.Fatal(err)
			}
			grads, err := g.Backward(&ctx, a, g.Output, seed, []int{k})
			if err != nil {
				t.Fatal(err)
			}
			act, grad := a.At(k), grads[k]
			if !sameInts(act.Shape[1:], c.Activations.Shape) {
				t.Fatalf("%s: shape %v, fixture %v", *c.ONNXTensor, act.Shape, c.Activations.Shape)
			}
			dA := tensor.MaxAbsDiff(act.Data, c.Activations.Data)
			dG := tensor.MaxAbsDiff(grad.Data, c.Gradients.Data)
			t.Logf("layer %d (%s) = %s %v: activation max abs diff %.2g, gradient %.2g", c.Layer, c.LayerType, *c.ONNXTensor, act.Shape, dA, dG)
			if dA > 1e-4 || dG > 1e-4 {
				t.Errorf("activation diff %.3g, gradient diff %.3g, limit 1e-4", dA, dG)
			}
		})
	}
}
