package cam

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/camlens/camlens/core/internal/gradcamref"
)

// TestRelease: a released session refuses to explain, and the next
// session of the model writes its forward pass into the released memory
// with the results of a fresh model, bit for bit, for every method.
func TestRelease(t *testing.T) {
	c1, c2 := gradcamref.MustLoadCase("basic.L5.c2"), gradcamref.MustLoadCase("basic.L9.c5")
	net, err := gradcamref.LoadNetwork(c1.Preset)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(net.Model())
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := NewModel(net.Model())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s1, err := m.NewSession(c1.Input)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Explain(ctx, Request{Class: 2}); err != nil {
		t.Fatal(err)
	}
	mem := s1.act.Out
	kept := make([]*float32, len(mem))
	for i, o := range mem {
		kept[i] = &o.Data[0]
	}
	s1.Release()
	s1.Release() // a second Release does nothing
	if _, err := s1.Explain(ctx, Request{Class: 2}); !errors.Is(err, errReleased) {
		t.Fatalf("Explain after Release: %v, want errReleased", err)
	}
	if s1.Logits() != nil || s1.Predictions(3) != nil {
		t.Fatal("a released session still gives logits or predictions")
	}

	s2, err := m.NewSession(c2.Input)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range s2.act.Out {
		if &o.Data[0] != kept[i] {
			t.Fatalf("node %d: the second session did not reuse the released memory", i)
		}
	}
	want, err := fresh.NewSession(c2.Input)
	if err != nil {
		t.Fatal(err)
	}
	for _, meth := range Methods() {
		req := Request{Method: meth.Name, Class: c2.Class, Layers: []string{gradcamref.NodeName(c2.Layer)}}
		got, err1 := s2.Explain(ctx, req)
		exp, err2 := want.Explain(ctx, req)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%s: errors %v and %v", meth.Name, err1, err2)
		}
		if err1 != nil {
			continue
		}
		for i := range exp.Map {
			if math.Float32bits(got.Map[i]) != math.Float32bits(exp.Map[i]) {
				t.Fatalf("%s: map[%d] = %v on reused memory, %v on a fresh model", meth.Name, i, got.Map[i], exp.Map[i])
			}
		}
	}
	if _, err := fresh.graph.ForwardInto(nil, c2.Input, s2.act); err == nil {
		t.Fatal("ForwardInto accepted another graph's activations")
	}
}
