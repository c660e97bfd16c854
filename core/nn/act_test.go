package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

func ptr32(v float32) *float32 { return &v }

func unSpec(op string, a Attrs) NodeSpec { return NodeSpec{Op: op, Inputs: []string{"x"}, Attrs: a} }

func TestActivationForward(t *testing.T) {
	x := mkT([]int{1, 6}, -4, -3, 0, 1, 3, 4)
	sig := func(v float64) float32 { return float32(1 / (1 + math.Exp(-v))) }
	for _, c := range []struct {
		name string
		spec NodeSpec
		want []float32
	}{
		{"relu6", unSpec("clip", Attrs{Min: ptr32(0), Max: ptr32(6)}), []float32{0, 0, 0, 1, 3, 4}},
		{"clip [-3.5, 2]", unSpec("clip", Attrs{Min: ptr32(-3.5), Max: ptr32(2)}), []float32{-3.5, -3, 0, 1, 2, 2}},
		{"clip min only", unSpec("clip", Attrs{Min: ptr32(-1)}), []float32{-1, -1, 0, 1, 3, 4}},
		{"clip max only", unSpec("clip", Attrs{Max: ptr32(1)}), []float32{-4, -3, 0, 1, 1, 1}},
		{"clip none", unSpec("clip", Attrs{}), []float32{-4, -3, 0, 1, 3, 4}},
		{"leakyrelu default", unSpec("leakyrelu", Attrs{}), []float32{-0.04, -0.03, 0, 1, 3, 4}},
		{"leakyrelu 0.5", unSpec("leakyrelu", Attrs{Alpha: 0.5}), []float32{-2, -1.5, 0, 1, 3, 4}},
		{"sigmoid", unSpec("sigmoid", Attrs{}), []float32{sig(-4), sig(-3), 0.5, sig(1), sig(3), sig(4)}},
		{"tanh", unSpec("tanh", Attrs{}), []float32{float32(math.Tanh(-4)), float32(math.Tanh(-3)), 0, float32(math.Tanh(1)), float32(math.Tanh(3)), float32(math.Tanh(4))}},
		{"silu", unSpec("silu", Attrs{}), []float32{-4 * sig(-4), -3 * sig(-3), 0, sig(1), 3 * sig(3), 4 * sig(4)}},
		{"hardsigmoid onnx default", unSpec("hardsigmoid", Attrs{}), []float32{0, 0, 0.5, 0.7, 1, 1}},
		{"hardsigmoid pytorch", unSpec("hardsigmoid", Attrs{Alpha: 1.0 / 6, Beta: 0.5}), []float32{0, 0, 0.5, 1.0/6 + 0.5, 1, 1}},
		{"hardswish", unSpec("hardswish", Attrs{}), []float32{0, 0, 0, 4.0 / 6, 3, 4}},
	} {
		expectT(t, c.name, forwardOne(t, c.spec, nil, x), []int{1, 6}, c.want, 1e-6)
	}
}

// TestActivationKinkGrads checks the gradient at the kink points against
// PyTorch 1.13 (torch.autograd on F.hardswish, F.hardsigmoid, F.relu6,
// F.leaky_relu(·, 0.1), F.prelu(·, 0.25) at x = [-3, 0, 3, 6, -1]).
func TestActivationKinkGrads(t *testing.T) {
	x := mkT([]int{1, 5}, -3, 0, 3, 6, -1)
	g := mkT([]int{1, 5}, 1, 1, 1, 1, 1)
	for _, c := range []struct {
		name   string
		spec   NodeSpec
		params map[string]*tensor.Tensor
		want   []float32
	}{
		{"hardswish", unSpec("hardswish", Attrs{}), nil, []float32{-0.5, 0.5, 1.5, 1, 1.0 / 6}},
		{"hardsigmoid 1/6", unSpec("hardsigmoid", Attrs{Alpha: 1.0 / 6, Beta: 0.5}), nil, []float32{0, 1.0 / 6, 0, 0, 1.0 / 6}},
		{"relu6", unSpec("clip", Attrs{Min: ptr32(0), Max: ptr32(6)}), nil, []float32{0, 0, 1, 0, 0}},
		{"leakyrelu 0.1", unSpec("leakyrelu", Attrs{Alpha: 0.1}), nil, []float32{0.1, 0.1, 1, 1, 0.1}},
		{"prelu 0.25", unSpec("prelu", Attrs{}), map[string]*tensor.Tensor{"slope": mkT([]int{1}, 0.25)}, []float32{0.25, 0.25, 1, 1, 0.25}},
	} {
		for _, guided := range []bool{false, true} {
			spec := c.spec
			spec.Name = "n"
			op, err := builders[spec.Op](&spec, paramMap(c.params))
			if err != nil {
				t.Fatal(err)
			}
			ctx := &Context{Guided: guided}
			y := tensor.New(1, 5)
			op.Forward(ctx, []*tensor.Tensor{x}, y)
			gx := tensor.New(1, 5)
			op.Backward(ctx, []*tensor.Tensor{x}, y, g, []*tensor.Tensor{gx})
			expectT(t, c.name+" kink grad", gx, []int{1, 5}, c.want, 1e-7)
		}
	}
}

// TestClipNotGuided: guided mode zeroes negative gradients of relu but not
// of clip (ReLU6).
func TestClipNotGuided(t *testing.T) {
	x := mkT([]int{1, 3}, 1, 2, 7)
	g := mkT([]int{1, 3}, -1, 2, -3)
	op, err := builders["clip"](&NodeSpec{Name: "n", Op: "clip", Inputs: []string{"x"}, Attrs: Attrs{Min: ptr32(0), Max: ptr32(6)}}, paramMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	gx := tensor.New(1, 3)
	op.Backward(&Context{Guided: true}, []*tensor.Tensor{x}, nil, g, []*tensor.Tensor{gx})
	expectT(t, "guided clip", gx, []int{1, 3}, []float32{-1, 2, 0}, 0)
}

func TestActivationGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	const m = 0.05 // margin around kinks, > eps of the finite differences
	cases := []struct {
		name  string
		spec  NodeSpec
		scale float32
		kinks []float32
		shape []int
	}{
		{"relu6", unSpec("clip", Attrs{Min: ptr32(0), Max: ptr32(6)}), 8, []float32{0, 6}, []int{2, 3, 4, 4}},
		{"clip min", unSpec("clip", Attrs{Min: ptr32(-0.5)}), 2, []float32{-0.5}, []int{2, 5}},
		{"clip max", unSpec("clip", Attrs{Max: ptr32(0.25)}), 2, []float32{0.25}, []int{2, 5}},
		{"leakyrelu", unSpec("leakyrelu", Attrs{}), 2, []float32{0}, []int{2, 3, 3, 3}},
		{"leakyrelu 0.3", unSpec("leakyrelu", Attrs{Alpha: 0.3}), 2, []float32{0}, []int{2, 7}},
		{"sigmoid", unSpec("sigmoid", Attrs{}), 5, nil, []int{2, 3, 2, 2}},
		{"tanh", unSpec("tanh", Attrs{}), 3, nil, []int{2, 3, 2, 2}},
		{"silu", unSpec("silu", Attrs{}), 5, nil, []int{2, 3, 2, 2}},
		{"hardsigmoid default", unSpec("hardsigmoid", Attrs{}), 4, []float32{-2.5, 2.5}, []int{2, 3, 2, 2}},
		{"hardsigmoid 1/6", unSpec("hardsigmoid", Attrs{Alpha: 1.0 / 6, Beta: 0.5}), 4, []float32{-3, 3}, []int{2, 3, 2, 2}},
		{"hardsigmoid α=0.5 β=0", unSpec("hardsigmoid", Attrs{Alpha: 0.5}), 4, []float32{0, 2}, []int{2, 9}},
		{"hardswish", unSpec("hardswish", Attrs{}), 5, []float32{-3, 3}, []int{2, 3, 2, 2}},
	}
	for _, c := range cases {
		x := randAvoid(rng, c.scale, m, c.kinks, c.shape...)
		checkGrad(t, gradCase{name: c.name, spec: c.spec, inputs: []*tensor.Tensor{x}})
	}
}

func TestPrelu(t *testing.T) {
	x := mkT([]int{2, 2, 1, 2}, -1, 1, -2, 2, -3, 3, -4, 4)
	for _, c := range []struct {
		name  string
		slope *tensor.Tensor
		x     *tensor.Tensor
		want  []float32
	}{
		{"per channel [C]", mkT([]int{2}, 0.1, 0.2), x, []float32{-0.1, 1, -0.4, 2, -0.3, 3, -0.8, 4}},
		{"scalar [1]", mkT([]int{1}, 0.5), x, []float32{-0.5, 1, -1, 2, -1.5, 3, -2, 4}},
		{"onnx [C,1,1]", mkT([]int{2, 1, 1}, 0.1, 0.2), x, []float32{-0.1, 1, -0.4, 2, -0.3, 3, -0.8, 4}},
		{"onnx last axis [W]", mkT([]int{1, 2}, 0.1, 0.2), mkT([]int{1, 3, 2}, -1, -1, -2, -2, 1, -3), []float32{-0.1, -0.2, -0.2, -0.4, 1, -0.6}},
		{"2-D [N,C]", mkT([]int{3}, 1, 2, 3), mkT([]int{2, 3}, -1, -1, -1, 1, -1, 1), []float32{-1, -2, -3, 1, -2, 1}},
	} {
		got := forwardOne(t, unSpec("prelu", Attrs{}), map[string]*tensor.Tensor{"slope": c.slope}, c.x)
		expectT(t, "prelu "+c.name, got, c.x.Shape, c.want, 1e-7)
	}
	rng := rand.New(rand.NewPCG(10, 11))
	for _, c := range []struct {
		name         string
		slope, shape []int
	}{
		{"per channel", []int{3}, []int{2, 3, 2, 2}},
		{"scalar", []int{1}, []int{2, 3, 2}},
		{"[C,1,1]", []int{3, 1, 1}, []int{2, 3, 2, 2}},
		{"[H,W]", []int{2, 3}, []int{2, 4, 2, 3}},
		{"full [1,C,H,W]", []int{1, 2, 2, 2}, []int{2, 2, 2, 2}},
	} {
		s := awayFromZero(rng, 0.1, 0.9, c.slope...)
		x := randTensor(rng, 0.05, c.shape...)
		checkGrad(t, gradCase{name: "prelu " + c.name, spec: unSpec("prelu", Attrs{}), params: map[string]*tensor.Tensor{"slope": s}, inputs: []*tensor.Tensor{x}})
	}
}

func TestSoftmax(t *testing.T) {
	e := func(v ...float64) []float32 {
		s := 0.0
		for _, x := range v {
			s += math.Exp(x)
		}
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(math.Exp(x) / s)
		}
		return out
	}
	x := mkT([]int{2, 3}, 1, 2, 3, 0, 0, 1000)
	r0, r1 := e(1, 2, 3), e(0, 0, 1000)
	expectT(t, "softmax -1", forwardOne(t, unSpec("softmax", Attrs{Axis: -1}), nil, x), []int{2, 3}, append(r0, r1...), 1e-7)
	expectT(t, "softmax 1", forwardOne(t, unSpec("softmax", Attrs{Axis: 1}), nil, x), []int{2, 3}, append(r0, r1...), 1e-7)
	c0, c1, c2 := e(1, 0), e(2, 0), e(3, 1000)
	expectT(t, "softmax 0", forwardOne(t, unSpec("softmax", Attrs{Axis: 0}), nil, x), []int{2, 3},
		[]float32{c0[0], c1[0], c2[0], c0[1], c1[1], c2[1]}, 1e-7)

	rng := rand.New(rand.NewPCG(12, 13))
	for _, c := range []struct {
		axis  int
		shape []int
	}{{-1, []int{2, 5}}, {1, []int{2, 4, 2, 3}}, {-3, []int{2, 4, 2, 3}}, {0, []int{2, 3}}, {3, []int{2, 2, 2, 3}}} {
		x := randTensor(rng, 0, c.shape...)
		for i := range x.Data {
			x.Data[i] *= 3
		}
		checkGrad(t, gradCase{name: "softmax axis " + shapeStr([]int{c.axis}) + " " + shapeStr(c.shape), spec: unSpec("softmax", Attrs{Axis: c.axis}), inputs: []*tensor.Tensor{x}})
	}
}

func TestActivationBuildErrors(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct {
		name   string
		spec   NodeSpec
		params map[string]*tensor.Tensor
		want   string
	}{
		{"clip min > max", unSpec("clip", Attrs{Min: ptr32(2), Max: ptr32(1)}), nil, "above max"},
		{"clip NaN", unSpec("clip", Attrs{Min: &nan}), nil, "NaN"},
		{"clip 2 inputs", NodeSpec{Op: "clip", Inputs: []string{"a", "b"}}, nil, "needs 1 input"},
		{"leakyrelu NaN", unSpec("leakyrelu", Attrs{Alpha: nan}), nil, "not finite"},
		{"hardsigmoid NaN", unSpec("hardsigmoid", Attrs{Beta: nan}), nil, "finite"},
		{"sigmoid 0 inputs", NodeSpec{Op: "sigmoid"}, nil, "needs 1 input"},
		{"softmax 2 inputs", NodeSpec{Op: "softmax", Inputs: []string{"a", "b"}}, nil, "needs 1 input"},
		{"prelu no slope", unSpec("prelu", Attrs{}), nil, "bad_node.slope"},
		{"prelu scalar slope", unSpec("prelu", Attrs{}), map[string]*tensor.Tensor{"slope": mkT(nil, 1)}, "rank 1"},
		{"prelu NaN slope", unSpec("prelu", Attrs{}), map[string]*tensor.Tensor{"slope": mkT([]int{1}, nan)}, "NaN"},
		{"prelu bad data", unSpec("prelu", Attrs{}), map[string]*tensor.Tensor{"slope": {Shape: []int{3}, Data: []float32{1}}}, "does not match"},
	} {
		c.spec.Name = "bad_node"
		_, err := builders[c.spec.Op](&c.spec, paramMap(c.params))
		if err == nil || !strings.Contains(err.Error(), "bad_node") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming bad_node and containing %q", c.name, err, c.want)
		}
	}
	// Shape errors, reported by Build.
	for _, c := range []struct {
		name  string
		node  NodeSpec
		slope *tensor.Tensor
		want  string
	}{
		{"prelu slope mismatch", NodeSpec{Op: "prelu"}, mkT([]int{3, 1}, 1, 2, 3), "does not broadcast"},
		{"prelu slope rank", NodeSpec{Op: "prelu"}, tensor.New(1, 1, 3, 2, 2), "higher rank"},
		{"softmax axis", NodeSpec{Op: "softmax", Attrs: Attrs{Axis: 4}}, nil, "axis 4 out of range"},
		{"softmax axis neg", NodeSpec{Op: "softmax", Attrs: Attrs{Axis: -5}}, nil, "axis -5 out of range"},
	} {
		c.node.Name, c.node.Inputs = "bad_node", []string{"input"}
		w := map[string]*tensor.Tensor{}
		if c.slope != nil {
			w["bad_node.slope"] = c.slope
		}
		_, err := Build(GraphSpec{Input: InputSpec{Shape: []int{3, 2, 2}}, Nodes: []NodeSpec{c.node}}, w)
		if err == nil || !strings.Contains(err.Error(), "bad_node") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming bad_node and containing %q", c.name, err, c.want)
		}
	}
}
