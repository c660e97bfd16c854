package metrics_test

import (
	"context"
	"fmt"
	"image"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/internal/gradcamref"
	"github.com/camlens/camlens/core/metrics"
)

// referenceSession is a session of the "basic" pytorch-grad-cam reference
// network on one of its inputs.
func referenceSession() (*cam.Model, *cam.Session) {
	net, err := gradcamref.LoadNetwork("basic")
	if err != nil {
		panic(err)
	}
	m, err := cam.NewModel(net.Model())
	if err != nil {
		panic(err)
	}
	s, err := m.NewSession(gradcamref.MustLoadCase("basic.L9.c5").Input)
	if err != nil {
		panic(err)
	}
	return m, s
}

// Measure a Grad-CAM map and the random baseline on the same image: the
// deletion and insertion curves, the confidence when only the top of the
// map is kept, and ROAD.
func ExampleEvaluate() {
	ctx := context.Background()
	_, s := referenceSession()
	res, err := s.Explain(ctx, cam.Request{Class: -1})
	if err != nil {
		panic(err)
	}
	maps := []struct {
		name string
		m    []float32
	}{{"gradcam", res.Map}, {"random", metrics.RandomMap(res.W, res.H, 1)}}
	for _, mp := range maps {
		r, err := metrics.Evaluate(ctx, s, mp.m, res.Class, metrics.EvalOptions{
			Options: metrics.Options{Steps: 16}, Confidence: true, ROAD: true,
		})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-8s class %d: %d-point curves, deletion AUC %.2f, insertion AUC %.2f, keep-10%% drop %.2f, ROAD %+.2f\n",
			mp.name, r.Class, len(r.Deletion.Scores), r.Deletion.AUC, r.Insertion.AUC, r.KeepTop[0].Drop, r.ROAD.Combined)
	}
	// Output:
	// gradcam  class 5: 17-point curves, deletion AUC 0.24, insertion AUC 0.27, keep-10% drop 0.07, ROAD +0.02
	// random   class 5: 17-point curves, deletion AUC 0.27, insertion AUC 0.27, keep-10% drop 0.06, ROAD +0.00
}

// The deletion and insertion curves that a web page draws.
func ExampleDeletionInsertion() {
	_, s := referenceSession()
	res, _ := s.Explain(context.Background(), cam.Request{Class: -1})
	c, err := metrics.DeletionInsertion(context.Background(), s, res.Map, res.Class, metrics.Options{Steps: 4})
	if err != nil {
		panic(err)
	}
	for i, f := range c.Deletion.Fractions {
		fmt.Printf("%.2f of the pixels: deleted p=%.3f, inserted p=%.3f\n", f, c.Deletion.Scores[i], c.Insertion.Scores[i])
	}
	// Output:
	// 0.00 of the pixels: deleted p=0.288, inserted p=0.240
	// 0.25 of the pixels: deleted p=0.261, inserted p=0.268
	// 0.50 of the pixels: deleted p=0.241, inserted p=0.278
	// 0.75 of the pixels: deleted p=0.219, inserted p=0.283
	// 1.00 of the pixels: deleted p=0.188, inserted p=0.288
}

// Cascading randomisation: Grad-CAM's map changes as soon as the top layer
// is random; Guided Backpropagation's hardly does.
func ExampleSanityCheck() {
	net, _ := gradcamref.LoadNetwork("basic")
	x := gradcamref.MustLoadCase("basic.L9.c5").Input
	for _, meth := range []string{"gradcam", "guided-backprop"} {
		r, err := metrics.SanityCheck(context.Background(), net.Model(), x, -1,
			metrics.CAMExplainer(cam.Request{Method: meth}), metrics.SanityOptions{Seed: 0, Layers: 2})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s:", meth)
		for _, st := range r.Steps {
			fmt.Printf(" layer %s random ρ=%.1f", st.Layer, st.Spearman)
		}
		fmt.Println()
	}
	// Output:
	// gradcam: layer 13 random ρ=-0.2 layer 8 random ρ=0.2
	// guided-backprop: layer 13 random ρ=0.8 layer 8 random ρ=0.8
}

func ExampleSpearman() {
	fmt.Printf("%.3f\n", metrics.Spearman([]float32{1, 2, 3, 4, 5}, []float32{5, 6, 7, 8, 7}))
	fmt.Printf("%.3f\n", metrics.Spearman([]float32{1, 2, 3}, []float32{1, 8, 27}))
	// Output:
	// 0.821
	// 1.000
}

func ExamplePointingGame() {
	truth := image.Rect(10, 20, 30, 40)
	fmt.Println(metrics.PointingGame(image.Pt(29, 39), truth, 0))
	fmt.Println(metrics.PointingGame(image.Pt(30, 39), truth, 0))
	fmt.Println(metrics.PointingGame(image.Pt(30, 39), truth, 15))
	// Output:
	// true
	// false
	// true
}

func ExampleIoU() {
	fmt.Printf("%.3f\n", metrics.IoU(image.Rect(0, 0, 10, 10), image.Rect(5, 5, 15, 15)))
	// Output: 0.143
}
