package nn

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

// TestForwardNotFinite: a NaN or infinity in the input, or one that first
// appears in a node's output, is an error wrapping ErrNotFinite that names
// where it appeared; ops that only move values are not re-checked.
func TestForwardNotFinite(t *testing.T) {
	spec := GraphSpec{
		Input: InputSpec{Name: "x", Shape: []int{3}},
		Nodes: []NodeSpec{
			{Name: "fc1", Op: "dense", Inputs: []string{"x"}},
			{Name: "act", Op: "relu", Inputs: []string{"fc1"}},
			{Name: "fc2", Op: "dense", Inputs: []string{"act"}},
		},
	}
	weights := func(w2 float32) map[string]*tensor.Tensor {
		return map[string]*tensor.Tensor{
			"fc1.weight": {Shape: []int{2, 3}, Data: []float32{1, 2, 3, -1, -2, -3}},
			"fc2.weight": {Shape: []int{2, 2}, Data: []float32{w2, w2, 1, 1}},
		}
	}
	x := &tensor.Tensor{Shape: []int{1, 3}, Data: []float32{1, 1, 1}}
	cases := []struct {
		name   string
		w2     float32
		x      []float32
		want   string // "" = no error
		isNode bool
	}{
		{"finite", 1, nil, "", false},
		{"overflow in fc2", 3e38, nil, `node "fc2" (dense): value not finite: output element 0 of [1 2] is +Inf`, true},
		{"NaN input", 1, []float32{1, float32(math.NaN()), 1}, "nn: input: value not finite: tensor[1 3]: element 1 is NaN", false},
		{"-Inf input", 1, []float32{float32(math.Inf(-1)), 1, 1}, "element 0 is -Inf", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Build(spec, weights(c.w2))
			if err != nil {
				t.Fatal(err)
			}
			in := x
			if c.x != nil {
				in = &tensor.Tensor{Shape: []int{1, 3}, Data: c.x}
			}
			_, err = g.Forward(nil, in)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Forward: %v", err)
			case c.want == "":
				return
			case !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), c.want):
				t.Fatalf("Forward = %v, want ErrNotFinite saying %q", err, c.want)
			}
		})
	}
}

// TestAttrLimits: list attributes longer than MaxAttrLen, integer values
// beyond ±MaxAttrValue and graphs over MaxNodes wrap ErrTooLarge before
// any op arithmetic; non-finite float attributes are refused.
func TestAttrLimits(t *testing.T) {
	conv := func(a Attrs) GraphSpec {
		return GraphSpec{Input: InputSpec{Name: "x", Shape: []int{1, 4, 4}},
			Nodes: []NodeSpec{{Name: "c", Op: "conv2d", Inputs: []string{"x"}, Attrs: a}}}
	}
	w := map[string]*tensor.Tensor{"c.weight": tensor.New(1, 1, 3, 3)}
	nan := float32(math.NaN())
	chain := GraphSpec{Input: InputSpec{Name: "x", Shape: []int{2}}}
	for i := range MaxNodes + 1 {
		in := "x"
		if i > 0 {
			in = fmt.Sprint("n", i-1)
		}
		chain.Nodes = append(chain.Nodes, NodeSpec{Name: fmt.Sprint("n", i), Op: "relu", Inputs: []string{in}})
	}
	cases := []struct {
		name string
		spec GraphSpec
		err  error
		want string
	}{
		{"dilation 2^62", conv(Attrs{Dilation: []int{1 << 62, 1}}), ErrTooLarge, `node "c" (conv2d): over a size limit: attribute dilation [4611686018427387904 1]`},
		{"pads -2^40", conv(Attrs{Pads: []int{0, -(1 << 40), 0, 0}}), ErrTooLarge, "attribute pads"},
		{"stride 2^29", conv(Attrs{Stride: []int{1 << 29, 1}}), ErrTooLarge, "attribute stride"},
		{"17 kernel values", conv(Attrs{Kernel: make([]int, 17)}), ErrTooLarge, "attribute kernel has 17 values, limit 16"},
		{"group 2^40", conv(Attrs{Group: 1 << 40}), ErrTooLarge, "attribute group"},
		{"NaN eps", conv(Attrs{Eps: nan}), nil, "attribute eps is NaN, want a finite number"},
		{"Inf value", conv(Attrs{Value: float32(math.Inf(1))}), nil, "attribute value is +Inf"},
		{"NaN clip min", conv(Attrs{Min: &nan}), nil, "attribute min is NaN"},
		{"10001 nodes", chain, ErrTooLarge, "graph has 10001 nodes, limit 10000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Build(c.spec, w)
			if err == nil || c.err != nil && !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Build = %v, want %v saying %q", err, c.err, c.want)
			}
		})
	}
}

// TestDeepChain: a graph as deep as MaxNodes allows builds and runs
// forward and backward (nothing recurses on depth).
func TestDeepChain(t *testing.T) {
	spec := GraphSpec{Input: InputSpec{Name: "x", Shape: []int{2}}}
	for i := range MaxNodes {
		in := "x"
		if i > 0 {
			in = fmt.Sprint("n", i-1)
		}
		op := "relu"
		if i%2 == 1 {
			op = "identity"
		}
		spec.Nodes = append(spec.Nodes, NodeSpec{Name: fmt.Sprint("n", i), Op: op, Inputs: []string{in}})
	}
	g, err := Build(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := g.Forward(nil, &tensor.Tensor{Shape: []int{1, 2}, Data: []float32{-1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	grads, err := g.Backward(nil, a, g.Output, &tensor.Tensor{Shape: []int{1, 2}, Data: []float32{1, 1}}, []int{InputIndex})
	if err != nil {
		t.Fatal(err)
	}
	if got := grads[InputIndex].Data; got[0] != 0 || got[1] != 1 {
		t.Fatalf("gradient at the input %v, want [0 1]", got)
	}
}
