// Package workertest makes small CamLens model files and images for the
// engine's tests and the browser tests: a deterministic random CNN
// (conv → relu → conv → relu → global average pool → flatten → dense) and
// a smooth test photo.
package workertest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// Labels of the test model.
var Labels = []string{"red", "green", "blue", "grey"}

// Model returns a small classifier of size×size RGB images with channels
// feature maps, its weights drawn from a fixed seed. With square, its
// preprocessing pads crops to a square (as the face model does) and hints a
// square crop; otherwise it stretches the whole image.
func Model(size, channels int, square bool) *modelfile.Model {
	rng := rand.New(rand.NewPCG(7, 11))
	randT := func(scale float64, shape ...int) *tensor.Tensor {
		t := tensor.New(shape...)
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64() * scale)
		}
		return t
	}
	c := channels
	p := modelfile.Preprocess{
		Width: size, Height: size, Channels: "RGB", Fit: "stretch", Resize: "bilinear",
		Scale: 1, Mean: []float32{127.5, 127.5, 127.5}, Std: []float32{127.5, 127.5, 127.5},
	}
	if square {
		p.Fit, p.Crop = "pad-square", "square"
	}
	return &modelfile.Model{
		Meta: modelfile.Meta{
			Name: "test-cnn", Title: "Test CNN", Description: "A random CNN for tests.",
			Labels: Labels, Preprocess: p, DefaultLayer: "conv2",
			Provenance: modelfile.Provenance{Source: "wasm/engine/worker/workertest", License: "MIT"},
		},
		Graph: nn.GraphSpec{
			Input: nn.InputSpec{Name: "x", Shape: []int{3, size, size}},
			Nodes: []nn.NodeSpec{
				{Name: "conv1", Op: "conv2d", Inputs: []string{"x"}, Attrs: nn.Attrs{Pads: []int{1, 1, 1, 1}}},
				{Name: "relu1", Op: "relu", Inputs: []string{"conv1"}},
				{Name: "conv2", Op: "conv2d", Inputs: []string{"relu1"}, Attrs: nn.Attrs{Pads: []int{1, 1, 1, 1}, Stride: []int{2, 2}}},
				{Name: "relu2", Op: "relu", Inputs: []string{"conv2"}},
				{Name: "gap", Op: "globalavgpool", Inputs: []string{"relu2"}},
				{Name: "flat", Op: "flatten", Inputs: []string{"gap"}, Attrs: nn.Attrs{Axis: 1}},
				{Name: "fc", Op: "dense", Inputs: []string{"flat"}},
			},
		},
		Weights: map[string]*tensor.Tensor{
			"conv1.weight": randT(math.Sqrt(2.0/27), c, 3, 3, 3),
			"conv1.bias":   randT(0.1, c),
			"conv2.weight": randT(math.Sqrt(2.0/float64(9*c)), c, c, 3, 3),
			"conv2.bias":   randT(0.1, c),
			"fc.weight":    randT(1, len(Labels), c),
			"fc.bias":      randT(0.1, len(Labels)),
		},
	}
}

// ModelFile is Model written as an int8 CamLens model file.
func ModelFile(size, channels int, square bool) ([]byte, error) {
	var buf bytes.Buffer
	if err := modelfile.Write(&buf, Model(size, channels, square), modelfile.WriteOptions{Quantize: true}); err != nil {
		return nil, fmt.Errorf("workertest: %w", err)
	}
	return buf.Bytes(), nil
}

// ZeroClassModelFile is Model(16, 4, false) with class 3's dense row and
// bias set to zero, written as a float CamLens model file: the logit of
// class 3 ("grey") does not depend on the image, so its gradient and every
// gradient map of it are zero.
func ZeroClassModelFile() ([]byte, error) {
	m := Model(16, 4, false)
	fw, fb := m.Weights["fc.weight"], m.Weights["fc.bias"]
	k := fw.Shape[1]
	for i := range k {
		fw.Data[3*k+i] = 0
	}
	fb.Data[3] = 0
	var buf bytes.Buffer
	if err := modelfile.Write(&buf, m, modelfile.WriteOptions{}); err != nil {
		return nil, fmt.Errorf("workertest: %w", err)
	}
	return buf.Bytes(), nil
}

// Photo returns a w×h PNG: smooth colour gradients with a bright disc.
func Photo(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			dx, dy := float64(x)-0.6*float64(w), float64(y)-0.4*float64(h)
			disc := math.Exp(-(dx*dx + dy*dy) / (0.02 * float64(w*h)))
			img.Set(x, y, color.RGBA{
				R: uint8(255 * (0.2 + 0.6*disc)),
				G: uint8(255 * float64(x) / float64(w)),
				B: uint8(255 * float64(y) / float64(h)),
				A: 255,
			})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // encoding an in-memory RGBA cannot fail
	return buf.Bytes()
}
