package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

// forwardOne builds one op from spec and params and runs its forward on inputs.
func forwardOne(t *testing.T, spec NodeSpec, params map[string]*tensor.Tensor, inputs ...*tensor.Tensor) *tensor.Tensor {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "n"
	}
	op, err := builders[spec.Op](&spec, paramMap(params))
	if err != nil {
		t.Fatalf("%s: build: %v", spec.Op, err)
	}
	shapes := make([][]int, len(inputs))
	for i, x := range inputs {
		shapes[i] = x.Shape
	}
	oshape, err := op.OutShape(shapes)
	if err != nil {
		t.Fatalf("%s: OutShape: %v", spec.Op, err)
	}
	out := tensor.New(oshape...)
	op.Forward(&Context{}, inputs, out)
	return out
}

// mkT makes a tensor from a shape and values.
func mkT(shape []int, data ...float32) *tensor.Tensor {
	t, err := tensor.FromData(shape, data)
	if err != nil {
		panic(err)
	}
	return t
}

// randAvoid returns values uniform in [-scale, scale) at least margin away
// from every kink (so finite differences never straddle one).
func randAvoid(rng *rand.Rand, scale, margin float32, kinks []float32, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
	retry:
		v := (rng.Float32()*2 - 1) * scale
		for _, k := range kinks {
			if v > k-margin && v < k+margin {
				goto retry
			}
		}
		t.Data[i] = v
	}
	return t
}

// awayFromZero returns values with |v| in [lo, hi) and a random sign.
func awayFromZero(rng *rand.Rand, lo, hi float32, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		v := lo + rng.Float32()*(hi-lo)
		if rng.IntN(2) == 0 {
			v = -v
		}
		t.Data[i] = v
	}
	return t
}

func expectT(t *testing.T, name string, got *tensor.Tensor, shape []int, want []float32, tol float64) {
	t.Helper()
	if !tensor.SameShape(got.Shape, shape) {
		t.Errorf("%s: shape %v, want %v", name, got.Shape, shape)
		return
	}
	if d := tensor.MaxAbsDiff(got.Data, want); d > tol {
		t.Errorf("%s: got %v, want %v (max diff %g)", name, got.Data, want, d)
	}
}

func binSpec(op string) NodeSpec { return NodeSpec{Op: op, Inputs: []string{"a", "b"}} }

func TestBinaryForward(t *testing.T) {
	a := mkT([]int{2, 1}, 1, 2)
	b := mkT([]int{3}, 10, 20, 30)
	for _, c := range []struct {
		op    string
		a, b  *tensor.Tensor
		shape []int
		want  []float32
	}{
		{"add", a, b, []int{2, 3}, []float32{11, 21, 31, 12, 22, 32}},
		{"sub", a, b, []int{2, 3}, []float32{-9, -19, -29, -8, -18, -28}},
		{"sub", b, a, []int{2, 3}, []float32{9, 19, 29, 8, 18, 28}},
		{"mul", a, b, []int{2, 3}, []float32{10, 20, 30, 20, 40, 60}},
		{"div", b, a, []int{2, 3}, []float32{10, 20, 30, 5, 10, 15}},
		{"add", mkT([]int{2, 2}, 1, 2, 3, 4), mkT([]int{2, 2}, 5, 6, 7, 8), []int{2, 2}, []float32{6, 8, 10, 12}},
		{"mul", mkT([]int{2, 2}, 1, 2, 3, 4), mkT(nil, 3), []int{2, 2}, []float32{3, 6, 9, 12}},
		{"div", mkT(nil, 12), mkT([]int{1, 3}, 1, 2, 3), []int{1, 3}, []float32{12, 6, 4}},
		{"add", mkT(nil, 1), mkT([]int{1}, 2), []int{1}, []float32{3}},
		// Per-channel: [1,2,2,2] · [2,1,1] (a const without batch dim).
		{"mul", mkT([]int{1, 2, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8), mkT([]int{2, 1, 1}, 10, -1), []int{1, 2, 2, 2},
			[]float32{10, 20, 30, 40, -5, -6, -7, -8}},
		// Squeeze-excitation gate [N,C,1,1] · [N,C,H,W] with N=2, C=2, H·W=2.
		{"mul", mkT([]int{2, 2, 1, 1}, 1, 2, 3, 4), mkT([]int{2, 2, 1, 2}, 1, 1, 1, 1, 1, 1, 1, 2), []int{2, 2, 1, 2},
			[]float32{1, 1, 2, 2, 3, 3, 4, 8}},
		// Broadcast in the middle: [2,1,2] + [3,1].
		{"add", mkT([]int{2, 1, 2}, 0, 1, 2, 3), mkT([]int{3, 1}, 10, 20, 30), []int{2, 3, 2},
			[]float32{10, 11, 20, 21, 30, 31, 12, 13, 22, 23, 32, 33}},
	} {
		got := forwardOne(t, binSpec(c.op), nil, c.a, c.b)
		expectT(t, c.op, got, c.shape, c.want, 0)
	}
}

func TestBinaryGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := []struct{ a, b []int }{
		{[]int{2, 3, 4}, []int{2, 3, 4}},       // same shape
		{[]int{2, 3, 1, 1}, []int{2, 3, 2, 3}}, // squeeze-excitation gate
		{[]int{2, 3, 2, 3}, []int{2, 3, 1, 1}}, // the other way round
		{[]int{2, 3, 2, 2}, []int{3, 1, 1}},    // per-channel operand without batch
		{[]int{2, 3, 2}, nil},                  // scalar []
		{nil, []int{2, 3, 2}},                  // scalar first
		{[]int{2, 1, 4}, []int{3, 1}},          // both stretched
		{[]int{2, 3, 2, 2}, []int{1, 1, 1, 2}}, // innermost only
		{[]int{2, 1}, []int{1, 5}},             // outer product
	}
	for _, op := range []string{"add", "sub", "mul", "div"} {
		for _, s := range shapes {
			a := awayFromZero(rng, 0.5, 1.5, s.a...)
			b := awayFromZero(rng, 0.5, 1.5, s.b...)
			checkGrad(t, gradCase{name: op + " " + shapeStr(s.a) + "∘" + shapeStr(s.b), spec: binSpec(op), inputs: []*tensor.Tensor{a, b}})
		}
	}
	// A constant operand gets no gradient (gin nil) and must not be touched.
	x := awayFromZero(rng, 0.5, 1.5, 2, 3, 2, 2)
	k := awayFromZero(rng, 0.5, 1.5, 3, 1, 1)
	checkGrad(t, gradCase{name: "div const", spec: binSpec("div"), inputs: []*tensor.Tensor{x, k}, noGrad: []bool{false, true}})
	checkGrad(t, gradCase{name: "sub const first", spec: binSpec("sub"), inputs: []*tensor.Tensor{k, x}, noGrad: []bool{true, false}})
}

func shapeStr(s []int) string { return fmt.Sprint(s) }

// TestBinarySameInput checks x∘x, where both gradients land in one tensor.
func TestBinarySameInput(t *testing.T) {
	x := mkT([]int{1, 3}, 1, 2, -3)
	g := mkT([]int{1, 3}, 1, 1, 1)
	for _, c := range []struct {
		op   string
		want []float32
	}{{"add", []float32{2, 2, 2}}, {"sub", []float32{0, 0, 0}}, {"mul", []float32{2, 4, -6}}, {"div", []float32{0, 0, 0}}} {
		op, err := builders[c.op](&NodeSpec{Name: "n", Op: c.op, Inputs: []string{"x", "x"}}, paramMap(nil))
		if err != nil {
			t.Fatal(err)
		}
		y := tensor.New(1, 3)
		op.Forward(nil, []*tensor.Tensor{x, x}, y)
		gx := tensor.New(1, 3)
		op.Backward(nil, []*tensor.Tensor{x, x}, y, g, []*tensor.Tensor{gx, gx})
		expectT(t, c.op+" x∘x grad", gx, []int{1, 3}, c.want, 1e-6)
	}
}

func TestBroadcastShapeErrors(t *testing.T) {
	for _, c := range []struct{ a, b []int }{
		{[]int{2, 3}, []int{4}},
		{[]int{2, 3, 4}, []int{3, 3}},
		{[]int{1, 2, 1, 1, 1, 1, 1, 1, 1}, []int{1}},
	} {
		if _, err := (binaryOp{binAdd}).OutShape([][]int{c.a, c.b}); err == nil {
			t.Errorf("%v + %v: no error", c.a, c.b)
		}
	}
}

func TestMakePlanMerges(t *testing.T) {
	// Same shape: one run.
	y := []int{2, 3, 4, 5}
	p := binPlan(y, y, y)
	if len(p.dims) != 1 || p.dims[0] != 120 {
		t.Errorf("same shape: dims %v, want [120]", p.dims)
	}
	// Per-channel: [N·C, H·W] runs with the gate at stride 0.
	p = binPlan(y, []int{2, 3, 1, 1}, y)
	if len(p.dims) != 2 || p.dims[0] != 6 || p.dims[1] != 20 || p.st[1][1] != 0 || p.st[1][0] != 1 {
		t.Errorf("per-channel: dims %v strides %v", p.dims, p.st)
	}
	// Nothing to merge across: output of one element.
	p = binPlan([]int{1, 1}, []int{1}, nil)
	if len(p.dims) != 1 || p.dims[0] != 1 || p.total != 1 {
		t.Errorf("scalar: dims %v total %d", p.dims, p.total)
	}
}

func TestBinaryBuildErrors(t *testing.T) {
	for _, op := range []string{"add", "sub", "mul", "div"} {
		_, err := builders[op](&NodeSpec{Name: "bad_node", Op: op, Inputs: []string{"a"}}, paramMap(nil))
		if err == nil || !strings.Contains(err.Error(), "bad_node") {
			t.Errorf("%s with 1 input: error %v, want one naming the node", op, err)
		}
	}
	// An incompatible broadcast is reported by Build with the node's name.
	spec := GraphSpec{Input: InputSpec{Shape: []int{3, 2, 2}}, Nodes: []NodeSpec{
		{Name: "k", Op: "const"},
		{Name: "bad_add", Op: "add", Inputs: []string{"input", "k"}},
	}}
	_, err := Build(spec, map[string]*tensor.Tensor{"k.value": tensor.New(4, 1, 1)})
	if err == nil || !strings.Contains(err.Error(), "bad_add") {
		t.Errorf("Build: error %v, want one naming bad_add", err)
	}
}

// checkGraphGrad compares the graph's input gradient of L = Σ r⊙y with
// central differences in float64.
func checkGraphGrad(t *testing.T, name string, g *Graph, x *tensor.Tensor, tol float64) {
	t.Helper()
	ctx := &Context{}
	a, err := g.Forward(ctx, x)
	if err != nil {
		t.Fatalf("%s: forward: %v", name, err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	r := randTensor(rng, 0, a.Output().Shape...)
	grads, err := g.Backward(ctx, a, g.Output, r, []int{InputIndex})
	if err != nil {
		t.Fatalf("%s: backward: %v", name, err)
	}
	gx := grads[InputIndex]
	loss := func() float64 {
		a, err := g.Forward(&Context{}, x)
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for i, v := range a.Output().Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	const eps = 1e-2
	worst := 0.0
	for j := range x.Data {
		orig := x.Data[j]
		x.Data[j] = orig + eps
		lp := loss()
		x.Data[j] = orig - eps
		lm := loss()
		x.Data[j] = orig
		h := float64(orig+eps) - float64(orig-eps)
		num := (lp - lm) / h
		d := math.Abs(num-float64(gx.Data[j])) / math.Max(1, math.Abs(num))
		worst = math.Max(worst, d)
		if d > tol {
			t.Fatalf("%s: input element %d: backward %.6g, finite difference %.6g", name, j, gx.Data[j], num)
		}
	}
	t.Logf("%s: %d elements, worst relative error %.2e", name, len(x.Data), worst)
}

// TestConstBroadcastGraph runs a graph mixing batch-free consts with the
// input through Build, Forward and Backward at batch 2.
func TestConstBroadcastGraph(t *testing.T) {
	spec := GraphSpec{Input: InputSpec{Shape: []int{3, 2, 2}}, Nodes: []NodeSpec{
		{Name: "scale", Op: "const"},
		{Name: "shift", Op: "const"},
		{Name: "half", Op: "const"},
		{Name: "shift2", Op: "mul", Inputs: []string{"shift", "half"}}, // const × const: still Const
		{Name: "scaled", Op: "mul", Inputs: []string{"input", "scale"}},
		{Name: "shifted", Op: "sub", Inputs: []string{"scaled", "shift2"}},
		{Name: "act", Op: "tanh", Inputs: []string{"shifted"}},
		{Name: "flat", Op: "flatten", Inputs: []string{"act"}, Attrs: Attrs{Axis: 1}},
	}}
	w := map[string]*tensor.Tensor{
		"scale.value": mkT([]int{3, 1, 1}, 0.5, -1, 2),
		"shift.value": mkT(nil, 0.5),
		"half.value":  mkT([]int{1}, 0.5),
	}
	g, err := Build(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, true, true, false, false, false, false} {
		if g.Nodes[i].Const != want {
			t.Errorf("node %q: Const = %v, want %v", g.Nodes[i].Spec.Name, g.Nodes[i].Const, want)
		}
	}
	if s := g.Nodes[3].Shape; !tensor.SameShape(s, []int{1}) {
		t.Errorf("shift2 shape %v, want [1]", s)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	x := randTensor(rng, 0, 2, 3, 2, 2)
	a, err := g.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	out := a.Output()
	if !tensor.SameShape(out.Shape, []int{2, 12}) {
		t.Fatalf("output shape %v", out.Shape)
	}
	sc := []float32{0.5, -1, 2}
	for i, v := range x.Data {
		c := (i / 4) % 3
		want := float32(math.Tanh(float64(v*sc[c] - 0.25)))
		if d := math.Abs(float64(out.Data[i] - want)); d > 1e-6 {
			t.Fatalf("element %d: got %g want %g", i, out.Data[i], want)
		}
	}
	checkGraphGrad(t, "const broadcast graph", g, x, 2e-3)
}

// Benchmarks of the common element-wise cases on a 64×56×56 feature map.
func benchElemOp(b *testing.B, spec NodeSpec, params map[string]*tensor.Tensor, inputs ...*tensor.Tensor) {
	spec.Name = "n"
	op, err := builders[spec.Op](&spec, paramMap(params))
	if err != nil {
		b.Fatal(err)
	}
	shapes := make([][]int, len(inputs))
	for i, x := range inputs {
		shapes[i] = x.Shape
	}
	oshape, err := op.OutShape(shapes)
	if err != nil {
		b.Fatal(err)
	}
	out := tensor.New(oshape...)
	ctx := &Context{}
	b.SetBytes(int64(4 * len(out.Data)))
	for b.Loop() {
		op.Forward(ctx, inputs, out)
	}
}

func BenchmarkElem(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := randTensor(rng, 0, 1, 64, 56, 56)
	y := randTensor(rng, 0, 1, 64, 56, 56)
	gate := randTensor(rng, 0, 1, 64, 1, 1)
	b.Run("add same shape", func(b *testing.B) { benchElemOp(b, binSpec("add"), nil, x, y) })
	b.Run("mul channel gate", func(b *testing.B) { benchElemOp(b, binSpec("mul"), nil, x, gate) })
	b.Run("add row", func(b *testing.B) { benchElemOp(b, binSpec("add"), nil, x, randTensor(rng, 0, 56)) })
	b.Run("concat channels", func(b *testing.B) {
		benchElemOp(b, NodeSpec{Op: "concat", Inputs: []string{"a", "b"}, Attrs: Attrs{Axis: 1}}, nil, x, y)
	})
	b.Run("batchnorm", func(b *testing.B) { benchElemOp(b, unSpec("batchnorm", Attrs{}), bnParams(rng, 64), x) })
	b.Run("hardswish", func(b *testing.B) { benchElemOp(b, unSpec("hardswish", Attrs{}), nil, x) })
	b.Run("sigmoid", func(b *testing.B) { benchElemOp(b, unSpec("sigmoid", Attrs{}), nil, x) })
	b.Run("transpose shuffle", func(b *testing.B) {
		benchElemOp(b, unSpec("transpose", Attrs{Perm: []int{0, 2, 1, 3, 4}}), nil, &tensor.Tensor{Shape: []int{1, 2, 32, 56, 56}, Data: x.Data})
	})
}
