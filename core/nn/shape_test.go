package nn

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

// ramp returns a tensor holding 0, 1, 2, … in row-major order.
func ramp(shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(i)
	}
	return t
}

func TestShapeForward(t *testing.T) {
	x := ramp(2, 3, 2) // values 0..11
	for _, c := range []struct {
		name   string
		spec   NodeSpec
		params map[string]*tensor.Tensor
		in     []*tensor.Tensor
		shape  []int
		want   []float32
	}{
		{"identity", unSpec("identity", Attrs{}), nil, []*tensor.Tensor{x}, []int{2, 3, 2}, x.Data},
		{"dropout", unSpec("dropout", Attrs{}), nil, []*tensor.Tensor{x}, []int{2, 3, 2}, x.Data},
		{"flatten 1", unSpec("flatten", Attrs{Axis: 1}), nil, []*tensor.Tensor{x}, []int{2, 6}, x.Data},
		{"flatten 0", unSpec("flatten", Attrs{Axis: 0}), nil, []*tensor.Tensor{x}, []int{1, 12}, x.Data},
		{"flatten -1", unSpec("flatten", Attrs{Axis: -1}), nil, []*tensor.Tensor{x}, []int{6, 2}, x.Data},
		{"flatten 3", unSpec("flatten", Attrs{Axis: 3}), nil, []*tensor.Tensor{x}, []int{12, 1}, x.Data},
		{"reshape 0,-1", unSpec("reshape", Attrs{Shape: []int{0, -1}}), nil, []*tensor.Tensor{x}, []int{2, 6}, x.Data},
		{"reshape -1,4", unSpec("reshape", Attrs{Shape: []int{-1, 4}}), nil, []*tensor.Tensor{x}, []int{3, 4}, x.Data},
		{"reshape 0,0,2,1", unSpec("reshape", Attrs{Shape: []int{0, 0, 2, 1}}), nil, []*tensor.Tensor{x}, []int{2, 3, 2, 1}, x.Data},
		{"reshape explicit", unSpec("reshape", Attrs{Shape: []int{4, 3}}), nil, []*tensor.Tensor{x}, []int{4, 3}, x.Data},
		{"transpose default", unSpec("transpose", Attrs{}), nil, []*tensor.Tensor{ramp(2, 3)}, []int{3, 2}, []float32{0, 3, 1, 4, 2, 5}},
		{"transpose 0,2,1", unSpec("transpose", Attrs{Perm: []int{0, 2, 1}}), nil, []*tensor.Tensor{x}, []int{2, 2, 3},
			[]float32{0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11}},
		{"transpose 1,0,2", unSpec("transpose", Attrs{Perm: []int{1, 0, 2}}), nil, []*tensor.Tensor{x}, []int{3, 2, 2},
			[]float32{0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11}},
		{"concat 1", NodeSpec{Op: "concat", Inputs: []string{"a", "b"}, Attrs: Attrs{Axis: 1}}, nil,
			[]*tensor.Tensor{ramp(2, 1, 2), mkT([]int{2, 2, 2}, 10, 11, 12, 13, 14, 15, 16, 17)}, []int{2, 3, 2},
			[]float32{0, 1, 10, 11, 12, 13, 2, 3, 14, 15, 16, 17}},
		{"concat -1", NodeSpec{Op: "concat", Inputs: []string{"a", "b", "c"}, Attrs: Attrs{Axis: -1}}, nil,
			[]*tensor.Tensor{ramp(2, 1), mkT([]int{2, 2}, 10, 11, 12, 13), mkT([]int{2, 1}, 20, 21)}, []int{2, 4},
			[]float32{0, 10, 11, 20, 1, 12, 13, 21}},
		{"concat 0", NodeSpec{Op: "concat", Inputs: []string{"a", "b"}}, nil,
			[]*tensor.Tensor{ramp(1, 2), mkT([]int{2, 2}, 5, 6, 7, 8)}, []int{3, 2}, []float32{0, 1, 5, 6, 7, 8}},
		{"concat one input", NodeSpec{Op: "concat", Inputs: []string{"a"}, Attrs: Attrs{Axis: 1}}, nil, []*tensor.Tensor{x}, []int{2, 3, 2}, x.Data},
		{"pad 1-D", unSpec("pad", Attrs{Pads: []int{1, 2}, Value: 9}), nil, []*tensor.Tensor{mkT([]int{3}, 1, 2, 3)}, []int{6},
			[]float32{9, 1, 2, 3, 9, 9}},
		{"pad crop", unSpec("pad", Attrs{Pads: []int{-1, 0}}), nil, []*tensor.Tensor{mkT([]int{3}, 1, 2, 3)}, []int{2}, []float32{2, 3}},
		{"pad crop and pad", unSpec("pad", Attrs{Pads: []int{0, -1, 0, 1}, Value: -1}), nil, []*tensor.Tensor{ramp(2, 2)}, []int{2, 2},
			[]float32{1, -1, 3, -1}},
		{"pad spatial", unSpec("pad", Attrs{Pads: []int{0, 0, 1, 0, 0, 0, 0, 1}}), nil, []*tensor.Tensor{mkT([]int{1, 1, 1, 2}, 5, 6)},
			[]int{1, 1, 2, 3}, []float32{0, 0, 0, 5, 6, 0}},
		{"pad crop last dim to one", unSpec("pad", Attrs{Pads: []int{1, 0, 0, -1}, Value: 7}), nil, []*tensor.Tensor{ramp(2, 2)},
			[]int{3, 1}, []float32{7, 0, 2}},
		{"const", NodeSpec{Op: "const"}, map[string]*tensor.Tensor{"value": mkT([]int{2, 1, 1}, 3, 4)}, nil, []int{2, 1, 1}, []float32{3, 4}},
		{"const scalar", NodeSpec{Op: "const"}, map[string]*tensor.Tensor{"value": mkT(nil, 3)}, nil, nil, []float32{3}},
	} {
		expectT(t, c.name, forwardOne(t, c.spec, c.params, c.in...), c.shape, c.want, 0)
	}
}

func TestShapeGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	r := func(shape ...int) *tensor.Tensor { return randTensor(rng, 0, shape...) }
	for _, c := range []gradCase{
		{name: "identity", spec: unSpec("identity", Attrs{}), inputs: []*tensor.Tensor{r(2, 3, 2)}},
		{name: "dropout", spec: unSpec("dropout", Attrs{}), inputs: []*tensor.Tensor{r(2, 3, 2)}},
		{name: "flatten 1", spec: unSpec("flatten", Attrs{Axis: 1}), inputs: []*tensor.Tensor{r(2, 3, 2, 2)}},
		{name: "flatten -2", spec: unSpec("flatten", Attrs{Axis: -2}), inputs: []*tensor.Tensor{r(2, 3, 2, 2)}},
		{name: "reshape 5-D", spec: unSpec("reshape", Attrs{Shape: []int{0, 2, -1, 2, 2}}), inputs: []*tensor.Tensor{r(2, 4, 2, 2)}},
		{name: "transpose 5-D shuffle", spec: unSpec("transpose", Attrs{Perm: []int{0, 2, 1, 3, 4}}), inputs: []*tensor.Tensor{r(2, 2, 3, 2, 2)}},
		{name: "transpose default 3-D", spec: unSpec("transpose", Attrs{}), inputs: []*tensor.Tensor{r(2, 3, 4)}},
		{name: "transpose NCHW→NHWC", spec: unSpec("transpose", Attrs{Perm: []int{0, 2, 3, 1}}), inputs: []*tensor.Tensor{r(2, 3, 2, 2)}},
		{name: "transpose 6-D", spec: unSpec("transpose", Attrs{Perm: []int{5, 3, 1, 0, 2, 4}}), inputs: []*tensor.Tensor{r(2, 1, 3, 2, 1, 2)}},
		{name: "concat 1", spec: NodeSpec{Op: "concat", Inputs: []string{"a", "b", "c"}, Attrs: Attrs{Axis: 1}},
			inputs: []*tensor.Tensor{r(2, 1, 2, 2), r(2, 3, 2, 2), r(2, 2, 2, 2)}},
		{name: "concat -1 one const", spec: NodeSpec{Op: "concat", Inputs: []string{"a", "b"}, Attrs: Attrs{Axis: -1}},
			inputs: []*tensor.Tensor{r(2, 3, 2), r(2, 3, 1)}, noGrad: []bool{false, true}},
		{name: "concat 0", spec: NodeSpec{Op: "concat", Inputs: []string{"a", "b"}}, inputs: []*tensor.Tensor{r(2, 3), r(1, 3)}},
		{name: "pad", spec: unSpec("pad", Attrs{Pads: []int{0, 0, 1, 2, 0, 0, 2, 1}, Value: 0.5}), inputs: []*tensor.Tensor{r(2, 2, 2, 3)}},
		{name: "pad crop", spec: unSpec("pad", Attrs{Pads: []int{0, 0, -1, 1, 0, 1, 0, -2}}), inputs: []*tensor.Tensor{r(2, 2, 3, 3)}},
		{name: "pad crop last to one", spec: unSpec("pad", Attrs{Pads: []int{0, 1, 0, 0, 0, -2}}), inputs: []*tensor.Tensor{r(2, 2, 3)}},
	} {
		checkGrad(t, c)
	}
}

// TestChannelShuffle builds the ShuffleNet channel shuffle (reshape →
// transpose → reshape) as a graph at batch 2 and checks the channel order
// and the input gradient.
func TestChannelShuffle(t *testing.T) {
	spec := GraphSpec{Input: InputSpec{Shape: []int{6, 1, 2}}, Nodes: []NodeSpec{
		{Name: "split", Op: "reshape", Inputs: []string{"input"}, Attrs: Attrs{Shape: []int{0, 2, 3, 1, 2}}},
		{Name: "swap", Op: "transpose", Inputs: []string{"split"}, Attrs: Attrs{Perm: []int{0, 2, 1, 3, 4}}},
		{Name: "merge", Op: "reshape", Inputs: []string{"swap"}, Attrs: Attrs{Shape: []int{0, -1, 1, 2}}},
	}}
	g, err := Build(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := ramp(2, 6, 1, 2)
	a, err := g.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	// Channels 0..5 in groups {0,1,2},{3,4,5} come out as 0,3,1,4,2,5.
	var want []float32
	for n := 0; n < 2; n++ {
		for _, c := range []int{0, 3, 1, 4, 2, 5} {
			want = append(want, float32(n*12+c*2), float32(n*12+c*2+1))
		}
	}
	expectT(t, "channel shuffle", a.Output(), []int{2, 6, 1, 2}, want, 0)
	rng := rand.New(rand.NewPCG(16, 17))
	checkGraphGrad(t, "channel shuffle", g, randTensor(rng, 0, 2, 6, 1, 2), 1e-4)
}

func TestConstBackwardNoop(t *testing.T) {
	op, err := builders["const"](&NodeSpec{Name: "k", Op: "const"}, paramMap{"value": mkT([]int{2}, 1, 2)})
	if err != nil {
		t.Fatal(err)
	}
	out := tensor.New(2)
	op.Forward(nil, nil, out)
	op.Backward(nil, nil, out, mkT([]int{2}, 5, 5), nil)
	expectT(t, "const after backward", out, []int{2}, []float32{1, 2}, 0)
}

func TestShapeBuildErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		spec   NodeSpec
		params map[string]*tensor.Tensor
		want   string
	}{
		{"reshape empty", unSpec("reshape", Attrs{}), nil, "want 1 to"},
		{"reshape two -1", unSpec("reshape", Attrs{Shape: []int{-1, -1}}), nil, "more than one -1"},
		{"reshape -2", unSpec("reshape", Attrs{Shape: []int{2, -2}}), nil, "only -1 and 0"},
		{"transpose not a perm", unSpec("transpose", Attrs{Perm: []int{0, 0, 1}}), nil, "not a permutation"},
		{"transpose out of range", unSpec("transpose", Attrs{Perm: []int{0, 2}}), nil, "not a permutation"},
		{"transpose rank 7", unSpec("transpose", Attrs{Perm: []int{0, 1, 2, 3, 4, 5, 6}}), nil, "limit 6"},
		{"pad odd", unSpec("pad", Attrs{Pads: []int{1, 2, 3}}), nil, "2·rank"},
		{"pad none", unSpec("pad", Attrs{}), nil, "2·rank"},
		{"pad huge", unSpec("pad", Attrs{Pads: []int{0, 1 << 40}}), nil, "out of range"},
		{"concat none", NodeSpec{Op: "concat"}, nil, "at least 1"},
		{"identity 2 inputs", NodeSpec{Op: "identity", Inputs: []string{"a", "b"}}, nil, "needs 1 input"},
		{"const with input", unSpec("const", Attrs{}), map[string]*tensor.Tensor{"value": mkT(nil, 1)}, "no inputs"},
		{"const no value", NodeSpec{Op: "const"}, nil, "bad_node.value"},
		{"const bad value", NodeSpec{Op: "const"}, map[string]*tensor.Tensor{"value": {Shape: []int{2}, Data: []float32{1}}}, "does not match"},
	} {
		c.spec.Name = "bad_node"
		_, err := builders[c.spec.Op](&c.spec, paramMap(c.params))
		if err == nil || !strings.Contains(err.Error(), "bad_node") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming bad_node and containing %q", c.name, err, c.want)
		}
	}
	// Shape errors, reported by Build for input [N=1, 3, 2, 2].
	for _, c := range []struct {
		name string
		node NodeSpec
		want string
	}{
		{"reshape count", unSpec("reshape", Attrs{Shape: []int{5, -1}}), "cannot infer"},
		{"reshape exact count", unSpec("reshape", Attrs{Shape: []int{2, 5}}), "does not match"},
		{"reshape copy beyond rank", unSpec("reshape", Attrs{Shape: []int{1, 3, 2, 2, 0}}), "has rank 4"},
		{"reshape too large", unSpec("reshape", Attrs{Shape: []int{1 << 20, 1 << 20, -1}}), "too large"},
		{"flatten axis", unSpec("flatten", Attrs{Axis: 5}), "out of range"},
		{"flatten axis neg", unSpec("flatten", Attrs{Axis: -5}), "out of range"},
		{"transpose perm length", unSpec("transpose", Attrs{Perm: []int{1, 0}}), "has 2 entries"},
		{"pad length", unSpec("pad", Attrs{Pads: []int{1, 1}}), "needs 8"},
		{"pad crops all", unSpec("pad", Attrs{Pads: []int{0, 0, -1, 0, 0, 0, -1, 0}}), "size 0"},
		{"concat axis", NodeSpec{Op: "concat", Inputs: []string{"input", "input"}, Attrs: Attrs{Axis: 4}}, "out of range"},
		{"concat rank", NodeSpec{Op: "concat", Inputs: []string{"input", "k"}, Attrs: Attrs{Axis: 1}}, "ranks differ"},
		{"concat dims", NodeSpec{Op: "concat", Inputs: []string{"input", "k4"}, Attrs: Attrs{Axis: 1}}, "dimension 2 differs"},
	} {
		c.node.Name = "bad_node"
		if c.node.Inputs[0] == "x" {
			c.node.Inputs = []string{"input"}
		}
		_, err := Build(GraphSpec{Input: InputSpec{Shape: []int{3, 2, 2}}, Nodes: []NodeSpec{
			{Name: "k", Op: "const"}, {Name: "k4", Op: "const"}, c.node,
		}}, map[string]*tensor.Tensor{"k.value": tensor.New(3, 2, 2), "k4.value": tensor.New(1, 1, 3, 2)})
		if err == nil || !strings.Contains(err.Error(), "bad_node") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming bad_node and containing %q", c.name, err, c.want)
		}
	}
}

// TestReshapeBatchAtForward: a reshape whose Shape fixes the batch at 1
// fails at a forward with batch 2 with an error naming the node; with 0 it
// follows the batch.
func TestReshapeBatchAtForward(t *testing.T) {
	for _, c := range []struct {
		shape []int
		ok    bool
	}{{[]int{1, 12}, false}, {[]int{0, 12}, true}, {[]int{-1, 12}, true}} {
		g, err := Build(GraphSpec{Input: InputSpec{Shape: []int{3, 2, 2}}, Nodes: []NodeSpec{
			{Name: "r", Op: "reshape", Inputs: []string{"input"}, Attrs: Attrs{Shape: c.shape}},
		}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := g.Forward(nil, tensor.New(2, 3, 2, 2))
		if c.ok {
			if err != nil || !tensor.SameShape(a.Output().Shape, []int{2, 12}) {
				t.Errorf("shape %v: err %v", c.shape, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), `"r"`) {
			t.Errorf("shape %v at batch 2: error %v, want one naming node r", c.shape, err)
		}
	}
}
