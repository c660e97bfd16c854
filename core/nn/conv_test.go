package nn

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

// buildOp builds one op from its spec and parameters (keyed without the
// node prefix) and fails the test on error.
func buildOp(t testing.TB, spec NodeSpec, params map[string]*tensor.Tensor) Op {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "n"
	}
	if len(spec.Inputs) == 0 {
		spec.Inputs = []string{"x"}
	}
	op, err := builders[spec.Op](&spec, paramMap(params))
	if err != nil {
		t.Fatalf("build %s: %v", spec.Op, err)
	}
	return op
}

// run does a forward pass of op on x.
func run(t testing.TB, op Op, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	shape, err := op.OutShape([][]int{x.Shape})
	if err != nil {
		t.Fatalf("OutShape: %v", err)
	}
	y := tensor.New(shape...)
	op.Forward(&Context{}, []*tensor.Tensor{x}, y)
	return y
}

func seq(n int, scale, offset float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i+1)*scale + offset
	}
	return s
}

func mustT(shape []int, data []float32) *tensor.Tensor {
	t, err := tensor.FromData(shape, data)
	if err != nil {
		panic(err)
	}
	return t
}

func closeTo(got, want []float32, tol float64) (int, bool) {
	if len(got) != len(want) {
		return -1, false
	}
	for i := range got {
		d := float64(got[i] - want[i])
		if d < 0 {
			d = -d
		}
		w := float64(want[i])
		if w < 0 {
			w = -w
		}
		if d > tol*(1+w) {
			return i, false
		}
	}
	return 0, true
}

// TestConvForwardCases checks small cases against values computed by
// PyTorch 1.13 (torch.nn.functional.conv2d).
func TestConvForwardCases(t *testing.T) {
	x5 := mustT([]int{1, 1, 5, 5}, seq(25, 1, 0))
	w3 := mustT([]int{1, 1, 3, 3}, []float32{1, 0, -1, 2, 1, 0, 0, 1, 3})
	xg := mustT([]int{1, 4, 3, 3}, seq(36, 0.1, 0))
	for _, c := range []struct {
		name  string
		attrs Attrs
		x, w  *tensor.Tensor
		b     *tensor.Tensor
		shape []int
		want  []float32
	}{
		{"3x3 pad 1 bias", Attrs{Pads: []int{1, 1, 1, 1}}, x5, w3, mustT([]int{1}, []float32{0.5}), []int{1, 1, 5, 5},
			[]float32{28.5, 35.5, 42.5, 49.5, 23.5, 51.5, 68.5, 75.5, 82.5, 47.5, 71.5, 103.5, 110.5, 117.5, 72.5, 91.5, 138.5, 145.5, 152.5, 97.5, 4.5, 62.5, 65.5, 68.5, 92.5}},
		// F.conv2d(F.pad(x, (0, 1, 1, 2)), w, stride=2): top 1, left 0, bottom 2, right 1.
		{"stride 2 asymmetric pads", Attrs{Stride: []int{2, 2}, Pads: []int{1, 0, 2, 1}}, x5, w3, nil, []int{1, 1, 3, 2},
			[]float32{35, 49, 103, 117, 62, 68}},
		{"dilation 2 pad 1", Attrs{Dilation: []int{2, 2}, Pads: []int{1, 1, 1, 1}}, x5, w3, nil, []int{1, 1, 3, 3},
			[]float32{81, 98, 42, 102, 129, 64, 8, 46, 60}},
		{"groups 2", Attrs{Group: 2}, xg, mustT([]int{4, 2, 2, 2}, seq(32, 0.1, -1)), nil, []int{1, 4, 2, 2},
			[]float32{-2.44, -2.88, -3.76, -4.2, 2.36, 2.56, 2.96, 3.16, 22.28, 23.12, 24.8, 25.64, 38.6, 40.08, 43.04, 44.52}},
		{"depthwise multiplier 2 stride 2 pad 1", Attrs{Group: 4, Stride: []int{2, 2}, Pads: []int{1, 1, 1, 1}}, xg, mustT([]int{8, 1, 3, 3}, seq(72, 0.05, -0.2)), nil, []int{1, 8, 2, 2},
			[]float32{0.23, 0.21, 0.05, -0.09, 0.77, 0.93, 1.13, 1.17, 5.09, 5.25, 5.45, 5.49, 7.25, 7.59, 8.15, 8.37, 16.43, 16.77, 17.33, 17.55, 20.21, 20.73, 21.65, 22.05, 34.25, 34.77, 35.69, 36.09, 39.65, 40.35, 41.63, 42.21}},
	} {
		p := map[string]*tensor.Tensor{"weight": c.w}
		if c.b != nil {
			p["bias"] = c.b
		}
		y := run(t, buildOp(t, NodeSpec{Op: "conv2d", Attrs: c.attrs}, p), c.x)
		if !tensor.SameShape(y.Shape, c.shape) {
			t.Errorf("%s: shape %v, want %v", c.name, y.Shape, c.shape)
			continue
		}
		if i, ok := closeTo(y.Data, c.want, 1e-5); !ok {
			t.Errorf("%s: element %d: got %v, want %v", c.name, i, y.Data, c.want)
		}
	}
}

// convCase is one random conv configuration.
type convCase struct {
	n, c, h, w, oc, g, kh, kw int
	attrs                     Attrs
	bias                      bool
	mode                      convMode
}

func (c convCase) String() string {
	return fmt.Sprintf("N%d C%d %dx%d OC%d G%d k%dx%d s%v d%v p%v bias=%v", c.n, c.c, c.h, c.w, c.oc, c.g, c.kh, c.kw, c.attrs.Stride, c.attrs.Dilation, c.attrs.Pads, c.bias)
}

func (c convCase) build(t testing.TB, rng *rand.Rand) (*convOp, map[string]*tensor.Tensor) {
	t.Helper()
	p := map[string]*tensor.Tensor{"weight": randTensor(rng, 0, c.oc, c.c/c.g, c.kh, c.kw)}
	if c.bias {
		p["bias"] = randTensor(rng, 0, c.oc)
	}
	a := c.attrs
	a.Group = c.g
	op := buildOp(t, NodeSpec{Op: "conv2d", Attrs: a}, p).(*convOp)
	if op.mode != c.mode {
		t.Fatalf("%v: mode %d, want %d", c, op.mode, c.mode)
	}
	return op, p
}

var convCases = []convCase{
	{n: 2, c: 3, h: 7, w: 9, oc: 5, g: 1, kh: 3, kw: 3, attrs: Attrs{Pads: []int{1, 1, 1, 1}}, bias: true, mode: convIm2col},
	{n: 1, c: 4, h: 11, w: 8, oc: 6, g: 2, kh: 3, kw: 2, attrs: Attrs{Stride: []int{2, 1}, Pads: []int{0, 2, 1, 0}}, bias: true, mode: convIm2col},
	{n: 2, c: 3, h: 9, w: 10, oc: 4, g: 1, kh: 3, kw: 3, attrs: Attrs{Dilation: []int{2, 2}, Pads: []int{2, 1, 0, 3}}, mode: convIm2col},
	{n: 1, c: 2, h: 13, w: 13, oc: 3, g: 1, kh: 5, kw: 5, attrs: Attrs{Stride: []int{3, 2}, Dilation: []int{1, 2}, Pads: []int{2, 2, 2, 2}}, bias: true, mode: convIm2col},
	{n: 2, c: 6, h: 5, w: 7, oc: 9, g: 3, kh: 1, kw: 1, bias: true, mode: convPointwise},
	{n: 1, c: 5, h: 6, w: 6, oc: 7, g: 1, kh: 1, kw: 1, attrs: Attrs{Stride: []int{2, 2}}, mode: convIm2col},
	{n: 1, c: 5, h: 6, w: 6, oc: 7, g: 1, kh: 1, kw: 1, attrs: Attrs{Pads: []int{1, 0, 0, 1}}, mode: convIm2col},
	{n: 2, c: 5, h: 9, w: 11, oc: 5, g: 5, kh: 3, kw: 3, attrs: Attrs{Pads: []int{1, 1, 1, 1}}, bias: true, mode: convDepthwise3x3},
	{n: 1, c: 4, h: 10, w: 7, oc: 8, g: 4, kh: 3, kw: 3, attrs: Attrs{Stride: []int{2, 2}, Pads: []int{0, 1, 1, 0}}, bias: true, mode: convDepthwise3x3},
	{n: 1, c: 3, h: 8, w: 9, oc: 3, g: 3, kh: 3, kw: 3, attrs: Attrs{Stride: []int{1, 2}, Pads: []int{2, 0, 3, 2}}, mode: convDepthwise3x3},
	{n: 2, c: 2, h: 9, w: 23, oc: 2, g: 2, kh: 3, kw: 3, attrs: Attrs{Stride: []int{2, 2}, Pads: []int{1, 1, 1, 1}}, bias: true, mode: convDepthwise3x3},
	{n: 1, c: 3, h: 4, w: 3, oc: 3, g: 3, kh: 3, kw: 3, mode: convDepthwise3x3},
	{n: 2, c: 4, h: 9, w: 8, oc: 4, g: 4, kh: 3, kw: 3, attrs: Attrs{Dilation: []int{2, 2}, Pads: []int{2, 2, 2, 2}}, bias: true, mode: convDepthwise},
	{n: 1, c: 3, h: 11, w: 12, oc: 6, g: 3, kh: 5, kw: 5, attrs: Attrs{Stride: []int{2, 2}, Pads: []int{2, 1, 2, 3}}, bias: true, mode: convDepthwise},
	{n: 1, c: 2, h: 7, w: 7, oc: 2, g: 2, kh: 2, kw: 4, attrs: Attrs{Stride: []int{1, 3}, Dilation: []int{3, 1}}, mode: convDepthwise},
}

// TestConvFastMatchesRef compares every fast path (forward and backward)
// with the plain reference loops on odd sizes.
func TestConvFastMatchesRef(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range convCases {
		op, _ := c.build(t, rng)
		x := randTensor(rng, 0, c.n, c.c, c.h, c.w)
		y := run(t, op, x)
		g, err := op.geom(x.Shape)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, len(y.Data))
		op.convRef(g, x.Data, want)
		if i, ok := closeTo(y.Data, want, 1e-5); !ok {
			t.Errorf("%v: forward element %d: got %v, want %v", c, i, y.Data[i], want[i])
		}
		gy := randTensor(rng, 0, y.Shape...)
		gx := randTensor(rng, 0, x.Shape...) // backward must add to what is there
		wantGx := append([]float32(nil), gx.Data...)
		op.Backward(&Context{}, []*tensor.Tensor{x}, y, gy, []*tensor.Tensor{gx})
		op.convRefGrad(g, gy.Data, wantGx)
		if i, ok := closeTo(gx.Data, wantGx, 1e-5); !ok {
			t.Errorf("%v: backward element %d: got %v, want %v", c, i, gx.Data[i], wantGx[i])
		}
	}
}

func TestConvGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range convCases {
		_, p := c.build(t, rng)
		a := c.attrs
		a.Group = c.g
		checkGrad(t, gradCase{
			name:   c.String(),
			spec:   NodeSpec{Op: "conv2d", Inputs: []string{"x"}, Attrs: a},
			params: p,
			inputs: []*tensor.Tensor{randTensor(rng, 0, c.n, c.c, c.h, c.w)},
		})
	}
}

// TestConvScratchReuse runs two differently sized convs on one Context to
// check that scratch reuse never leaks stale values.
func TestConvScratchReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	ctx := &Context{}
	for _, c := range []convCase{convCases[3], convCases[0], convCases[2], convCases[1]} {
		op, _ := c.build(t, rng)
		x := randTensor(rng, 0, c.n, c.c, c.h, c.w)
		shape, _ := op.OutShape([][]int{x.Shape})
		y := tensor.New(shape...)
		op.Forward(ctx, []*tensor.Tensor{x}, y)
		g, _ := op.geom(x.Shape)
		want := make([]float32, len(y.Data))
		op.convRef(g, x.Data, want)
		if i, ok := closeTo(y.Data, want, 1e-5); !ok {
			t.Errorf("%v: element %d: got %v, want %v", c, i, y.Data[i], want[i])
		}
	}
}

func TestConvErrors(t *testing.T) {
	w := func(s ...int) map[string]*tensor.Tensor { return map[string]*tensor.Tensor{"weight": tensor.New(s...)} }
	for _, c := range []struct {
		name   string
		attrs  Attrs
		params map[string]*tensor.Tensor
		want   string
	}{
		{"no weight", Attrs{}, nil, `missing parameter "bad.weight"`},
		{"rank 3", Attrs{}, w(2, 3, 3), "weight must be"},
		{"zero dim", Attrs{}, w(2, 0, 3, 3), "zero dimension"},
		{"oc not divisible", Attrs{Group: 2}, w(3, 1, 3, 3), "not divisible by group"},
		{"negative group", Attrs{Group: -1}, w(2, 1, 3, 3), "group -1"},
		{"zero stride", Attrs{Stride: []int{0, 1}}, w(2, 1, 3, 3), "stride"},
		{"stride len", Attrs{Stride: []int{1}}, w(2, 1, 3, 3), "stride needs 2 values"},
		{"zero dilation", Attrs{Dilation: []int{1, 0}}, w(2, 1, 3, 3), "dilation"},
		{"negative pad", Attrs{Pads: []int{0, -1, 0, 0}}, w(2, 1, 3, 3), "negative padding"},
		{"pads len", Attrs{Pads: []int{1, 1}}, w(2, 1, 3, 3), "pads needs 4 values"},
		{"kernel mismatch", Attrs{Kernel: []int{3, 5}}, w(2, 1, 3, 3), "does not match"},
		{"bias shape", Attrs{}, map[string]*tensor.Tensor{"weight": tensor.New(2, 1, 3, 3), "bias": tensor.New(3)}, "bias shape"},
		{"data length", Attrs{}, map[string]*tensor.Tensor{"weight": {Shape: []int{2, 1, 3, 3}, Data: make([]float32, 5)}}, "but 5 values"},
	} {
		spec := NodeSpec{Name: "bad", Op: "conv2d", Inputs: []string{"x"}, Attrs: c.attrs}
		_, err := builders["conv2d"](&spec, paramMap(c.params))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"bad"`) {
			t.Errorf("%s: error %v, want one naming the node and containing %q", c.name, err, c.want)
		}
	}
	op := buildOp(t, NodeSpec{Op: "conv2d", Attrs: Attrs{Group: 2, Dilation: []int{3, 3}}}, map[string]*tensor.Tensor{"weight": tensor.New(4, 2, 3, 3)})
	for _, c := range []struct {
		shape []int
		want  string
	}{
		{[]int{1, 3, 9, 9}, "3 channels"},
		{[]int{1, 4, 9}, "4-D input"},
		{[]int{1, 4, 6, 9}, "smaller than the kernel extent 7"},
		{[]int{1, 4, 9, 6}, "width"},
	} {
		if _, err := op.OutShape([][]int{c.shape}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OutShape(%v): error %v, want %q", c.shape, err, c.want)
		}
	}
	if s, err := op.OutShape([][]int{{2, 4, 7, 8}}); err != nil || !tensor.SameShape(s, []int{2, 4, 1, 2}) {
		t.Errorf("OutShape: %v, %v; want [2 4 1 2]", s, err)
	}
}

// TestConvInGraph builds a small graph through Build to check the error
// path names the node and the shapes flow with batch 2.
func TestConvInGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	spec := GraphSpec{
		Input: InputSpec{Name: "x", Shape: []int{3, 8, 8}},
		Nodes: []NodeSpec{
			{Name: "c1", Op: "conv2d", Inputs: []string{"x"}, Attrs: Attrs{Pads: []int{1, 1, 1, 1}, Stride: []int{2, 2}}},
			{Name: "dw", Op: "conv2d", Inputs: []string{"c1"}, Attrs: Attrs{Pads: []int{1, 1, 1, 1}, Group: 4}},
			{Name: "pool", Op: "globalavgpool", Inputs: []string{"dw"}},
		},
	}
	w := map[string]*tensor.Tensor{
		"c1.weight": randTensor(rng, 0, 4, 3, 3, 3), "c1.bias": randTensor(rng, 0, 4),
		"dw.weight": randTensor(rng, 0, 4, 1, 3, 3),
	}
	g, err := Build(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	a, err := g.Forward(&Context{}, randTensor(rng, 0, 2, 3, 8, 8))
	if err != nil {
		t.Fatal(err)
	}
	if s := a.Output().Shape; !tensor.SameShape(s, []int{2, 4, 1, 1}) {
		t.Errorf("output shape %v", s)
	}
	spec.Input.Shape = []int{3, 2, 2}
	spec.Nodes[0].Attrs.Pads = nil
	if _, err := Build(spec, w); err == nil || !strings.Contains(err.Error(), `"c1"`) {
		t.Errorf("Build with a too small input: %v, want an error naming c1", err)
	}
}
