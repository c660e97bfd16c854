package metrics

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/internal/gradcamref"
)

// inputMap is an "explanation" that ignores the model: the input image
// itself, like an edge detector. The sanity check must expose it.
func inputMap(_ context.Context, s *cam.Session, _ int) ([]float32, error) {
	x := s.Input()
	return append([]float32(nil), x.Data[:x.Shape[2]*x.Shape[3]]...), nil
}

func TestSanityCheckExposesModelIndependentMap(t *testing.T) {
	m := quadrantModel(t)
	before := m.Weights["feat.weight"].Data[0]
	x, _ := quadrantImage(rand.New(rand.NewPCG(1, 2)))
	steps := 0
	r, err := SanityCheck(context.Background(), m, x, 0, inputMap, SanityOptions{Seed: 1, Progress: func(done, total int) { steps = done }})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Steps) != 2 || r.Steps[0].Layer != "logits" || r.Steps[1].Layer != "feat" || steps != 2 {
		t.Fatalf("steps %+v (progress %d); want logits then feat", r.Steps, steps)
	}
	for _, s := range r.Steps {
		if s.Spearman != 1 {
			t.Errorf("randomising %s: rank correlation %v, want 1 for a map that ignores the model", s.Layer, s.Spearman)
		}
	}
	if m.Weights["feat.weight"].Data[0] != before {
		t.Error("SanityCheck modified the model's weights")
	}
	if _, err := SanityCheck(context.Background(), m, x, 0, inputMap, SanityOptions{Layers: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := SanityCheck(context.Background(), m, nil, 0, inputMap, SanityOptions{}); err == nil {
		t.Error("nil input: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := SanityCheck(ctx, m, x, 0, CAMExplainer(cam.Request{}), SanityOptions{}); err == nil {
		t.Error("cancelled: no error")
	}
}

// On the pytorch-grad-cam reference CNN, Grad-CAM's map changes as soon as
// the top layer is random, while Guided Backpropagation's barely does:
// Adebayo et al.'s finding, on a small scale.
func TestSanityCheckGradCAMChanges(t *testing.T) {
	net, err := gradcamref.LoadNetwork("basic")
	if err != nil {
		t.Fatal(err)
	}
	c := gradcamref.MustLoadCase("basic.L9.c5")
	top := map[string]float64{}
	for _, meth := range []string{"gradcam", "guided-backprop"} {
		for seed := range uint64(3) {
			r, err := SanityCheck(context.Background(), net.Model(), c.Input, -1, CAMExplainer(cam.Request{Method: meth}), SanityOptions{Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			mean := 0.0
			for _, s := range r.Steps {
				mean += s.Spearman / float64(len(r.Steps))
			}
			last := r.Steps[len(r.Steps)-1]
			t.Logf("%-15s seed %d: top layer %s ρ %.3f; mean over %d layers %.3f; all random ρ %.3f",
				meth, seed, r.Steps[0].Layer, r.Steps[0].Spearman, len(r.Steps), mean, last.Spearman)
			top[meth] += r.Steps[0].Spearman / 3
			if meth == "gradcam" && (mean > 0.3 || math.Abs(last.Spearman) > 0.5) {
				t.Errorf("Grad-CAM seed %d: mean ρ %.3f, fully random ρ %.3f; want a big change (< 0.3, |ρ| < 0.5)", seed, mean, last.Spearman)
			}
			if meth == "guided-backprop" && r.Steps[0].Spearman < 0.6 {
				t.Errorf("guided backprop seed %d: top layer random ρ %.3f, want > 0.6 (insensitive, as Adebayo et al. report)", seed, r.Steps[0].Spearman)
			}
		}
	}
	if top["gradcam"] > 0.3 {
		t.Errorf("Grad-CAM: mean ρ with the top layer random %.3f, want < 0.3", top["gradcam"])
	}
}
