package metrics

import (
	"image"
	"math/rand/v2"
	"testing"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// The quadrant model: a network built by hand that looks only at the top
// left quadrant of a side×side grayscale image and answers class 0 when a
// bright blob is there.
//
//	x → feat (1×1 conv, 4 channels) → act (relu) → masked (× quadrant mask)
//	  → gap → flat → logits (dense 4→2)
//
// Channel 0 is relu(x − 0.5): the blob's bright pixels (value 1) give 0.5,
// the background (0) and anything blurred below 0.5 give 0. The other
// channels (2·ch0, relu(0.5 − x), ch0/2) carry no weight in the logits but
// give a randomised dense layer something to pick. logit0 = quadGain·q with
// q the fraction of the blob's 64 pixels still bright; logit1 = quadGain/2.
// So p(class 0) = σ(quadGain·(q − ½)): about 1 for the intact image, about
// 0 without the blob, and ½ when half of it is gone.
const (
	quadSide = 64
	blobSide = 8
	quadGain = 12
)

func quadrantModel(t testing.TB) *modelfile.Model {
	t.Helper()
	s := quadSide
	mask := tensor.New(1, s, s)
	for y := range s / 2 {
		for x := range s / 2 {
			mask.Data[y*s+x] = 1
		}
	}
	// gap of channel 0 for the intact blob: 0.5·64/s².
	full := 0.5 * blobSide * blobSide / float32(s*s)
	w := map[string]*tensor.Tensor{
		"feat.weight":   {Shape: []int{4, 1, 1, 1}, Data: []float32{1, 2, -1, 0.5}},
		"feat.bias":     {Shape: []int{4}, Data: []float32{-0.5, -1, 0.5, -0.25}},
		"quad.value":    mask,
		"logits.weight": {Shape: []int{2, 4}, Data: []float32{quadGain / full, 0, 0, 0, 0, 0, 0, 0}},
		"logits.bias":   {Shape: []int{2}, Data: []float32{0, quadGain / 2}},
	}
	g := nn.GraphSpec{
		Input: nn.InputSpec{Name: "x", Shape: []int{1, s, s}},
		Nodes: []nn.NodeSpec{
			{Name: "feat", Op: "conv2d", Inputs: []string{"x"}},
			{Name: "act", Op: "relu", Inputs: []string{"feat"}},
			{Name: "quad", Op: "const"},
			{Name: "masked", Op: "mul", Inputs: []string{"act", "quad"}},
			{Name: "gap", Op: "globalavgpool", Inputs: []string{"masked"}},
			{Name: "flat", Op: "flatten", Inputs: []string{"gap"}, Attrs: nn.Attrs{Axis: 1}},
			{Name: "logits", Op: "dense", Inputs: []string{"flat"}},
		},
	}
	return &modelfile.Model{Meta: modelfile.Meta{Name: "quadrant", Labels: []string{"blob", "none"}}, Graph: g, Weights: w}
}

// quadrantImage is a black image with the blob at a random place in the top
// left quadrant and three distractor blobs, one in each other quadrant. It
// returns the image (1×side×side) and the blob's box.
func quadrantImage(rng *rand.Rand) (*tensor.Tensor, image.Rectangle) {
	s, b := quadSide, blobSide
	x := tensor.New(1, 1, s, s)
	put := func(x0, y0 int) image.Rectangle {
		for y := y0; y < y0+b; y++ {
			for xx := x0; xx < x0+b; xx++ {
				x.Data[y*s+xx] = 1
			}
		}
		return image.Rect(x0, y0, x0+b, y0+b)
	}
	h := s / 2
	box := put(rng.IntN(h-b+1), rng.IntN(h-b+1))
	put(h+rng.IntN(h-b+1), rng.IntN(h-b+1))
	put(rng.IntN(h-b+1), h+rng.IntN(h-b+1))
	put(h+rng.IntN(h-b+1), h+rng.IntN(h-b+1))
	return x, box
}

func newQuadrant(t testing.TB) *cam.Model {
	t.Helper()
	m, err := cam.NewModel(quadrantModel(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func session(t testing.TB, m *cam.Model, x *tensor.Tensor) *cam.Session {
	t.Helper()
	s, err := m.NewSession(x)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
