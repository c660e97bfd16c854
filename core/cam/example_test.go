package cam_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/internal/gradcamref"
)

// referenceModel is the "basic" pytorch-grad-cam reference network and
// one of its inputs.
func referenceModel() (*cam.Model, *gradcamref.Case) {
	net, err := gradcamref.LoadNetwork("basic")
	if err != nil {
		panic(err)
	}
	m, err := cam.NewModel(net.Model())
	if err != nil {
		panic(err)
	}
	return m, gradcamref.MustLoadCase("basic.L9.c5")
}

// Explain the top class with Grad-CAM at the default layer, then switch
// method and class on the same session: no further forward pass.
func Example() {
	m, c := referenceModel()
	s, err := m.NewSession(c.Input) // the only forward pass
	if err != nil {
		panic(err)
	}
	top := s.Predictions(1)[0]
	fmt.Printf("top: %s (p=%.3f)\n", top.Label, top.Prob)

	r, err := s.Explain(context.Background(), cam.Request{Class: -1}) // Grad-CAM, default layer
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s of %s at %v: %d×%d map, peak %v, box %v\n", r.Method, r.Label, r.Layers, r.W, r.H, r.Peak, r.Box)

	r, err = s.Explain(context.Background(), cam.Request{Method: "gradcam++", Class: 2})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s of %s: peak %v\n", r.Method, r.Label, r.Peak)
	fmt.Println("forward passes:", s.ForwardCount(), "backward passes:", s.BackwardCount())
	// Output:
	// top: class 5 (p=0.288)
	// gradcam of class 5 at [9]: 32×32 map, peak (2,8), box (0,0)-(32,32)
	// gradcam++ of class 2: peak (0,10)
	// forward passes: 1 backward passes: 2
}

func ExampleMethods() {
	for _, m := range cam.Methods()[:3] {
		fmt.Println(m.Name, m.Title, m.Gradients)
	}
	// Output:
	// gradcam Grad-CAM true
	// gradcam++ Grad-CAM++ true
	// xgradcam XGrad-CAM true
}

func ExampleModel_Layers() {
	m, _ := referenceModel()
	for _, l := range m.Layers() {
		mark := ""
		if l.Name == m.DefaultLayer() {
			mark = " (default)"
		}
		fmt.Printf("%s %v%s\n", l.Name, l.Shape, mark)
	}
	// Output:
	// 0 [8 32 32]
	// 1 [8 32 32]
	// 2 [8 32 32]
	// 3 [16 32 32]
	// 4 [16 32 32]
	// 5 [16 32 32]
	// 6 [16 16 16]
	// 7 [32 16 16]
	// 8 [32 16 16]
	// 9 [32 16 16] (default)
	// 10 [32 1 1]
}

// A counterfactual shows what speaks against a class.
func ExampleSession_Explain_counterfactual() {
	m, c := referenceModel()
	s, _ := m.NewSession(c.Input)
	r, err := s.Explain(context.Background(), cam.Request{Method: "gradcam", Class: 2, Counterfactual: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Method, r.Counterfactual, r.Label, r.Peak, r.Box)
	// Output:
	// gradcam true class 2 (31,31) (0,0)-(32,32)
}

// BenchmarkExplainGradCAM measures one Grad-CAM call that needs a backward
// pass (a fresh session per iteration; the forward pass is not timed).
func BenchmarkExplainGradCAM(b *testing.B) {
	m, c := referenceModel()
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		s, err := m.NewSession(c.Input)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.Explain(ctx, cam.Request{Class: 5}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExplainCached measures a method switch: gradients cached, only
// the method and the post-processing run.
func BenchmarkExplainCached(b *testing.B) {
	m, c := referenceModel()
	ctx := context.Background()
	s, err := m.NewSession(c.Input)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Explain(ctx, cam.Request{Class: 5}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Explain(ctx, cam.Request{Method: "gradcam++", Class: 5}); err != nil {
			b.Fatal(err)
		}
	}
}

// When a new image replaces the current one, release the old session: the
// new session's forward pass then reuses its memory instead of allocating.
func ExampleSession_Release() {
	m, c := referenceModel()
	old, err := m.NewSession(c.Input)
	if err != nil {
		panic(err)
	}
	r, _ := old.Explain(context.Background(), cam.Request{Class: 5})
	old.Release() // r stays valid; old cannot explain any more
	_, err = old.Explain(context.Background(), cam.Request{Class: 5})
	fmt.Println(r.Peak, err != nil)

	next, err := m.NewSession(c.Input) // writes into the released memory
	if err != nil {
		panic(err)
	}
	r2, _ := next.Explain(context.Background(), cam.Request{Class: 5})
	fmt.Println(r2.Peak)
	// Output:
	// (2,8) true
	// (2,8)
}
