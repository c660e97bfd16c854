package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

// randTensor returns a tensor of uniform values in [-1, 1) from rng, with
// values pushed away from 0 by at least gap (so kinks are not straddled by
// finite differences).
func randTensor(rng *rand.Rand, gap float32, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		v := rng.Float32()*2 - 1
		if gap > 0 {
			if v >= 0 {
				v += gap
			} else {
				v -= gap
			}
		}
		t.Data[i] = v
	}
	return t
}

// gradCase is one finite-difference check of an op.
type gradCase struct {
	name   string
	spec   NodeSpec
	params map[string]*tensor.Tensor // keyed by param name (without node prefix)
	inputs []*tensor.Tensor
	noGrad []bool  // inputs whose gradient is not checked (constants)
	eps    float64 // finite-difference step (default 1e-2)
	tol    float64 // tolerance relative to max(1, |grad|) (default 2e-3)
}

type paramMap map[string]*tensor.Tensor

func (p paramMap) Param(name string) *tensor.Tensor { return p[name] }

// checkGrad builds the op, runs forward, and compares the backward of the
// scalar L = Σ r⊙y (r random) with central differences of L computed in
// float64 over every input element.
func checkGrad(t *testing.T, c gradCase) {
	t.Helper()
	if c.spec.Name == "" {
		c.spec.Name = "n"
	}
	b, ok := builders[c.spec.Op]
	if !ok {
		t.Fatalf("%s: op %q not registered", c.name, c.spec.Op)
	}
	op, err := b(&c.spec, paramMap(c.params))
	if err != nil {
		t.Fatalf("%s: build: %v", c.name, err)
	}
	shapes := make([][]int, len(c.inputs))
	for i, x := range c.inputs {
		shapes[i] = x.Shape
	}
	oshape, err := op.OutShape(shapes)
	if err != nil {
		t.Fatalf("%s: OutShape: %v", c.name, err)
	}
	ctx := &Context{}
	rng := rand.New(rand.NewPCG(7, uint64(len(c.name))))
	r := randTensor(rng, 0, oshape...)
	loss := func() float64 {
		out := tensor.New(oshape...)
		op.Forward(ctx, c.inputs, out)
		s := 0.0
		for i, v := range out.Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	out := tensor.New(oshape...)
	op.Forward(ctx, c.inputs, out)
	gin := make([]*tensor.Tensor, len(c.inputs))
	for i, x := range c.inputs {
		if i < len(c.noGrad) && c.noGrad[i] {
			continue
		}
		gin[i] = tensor.New(x.Shape...)
	}
	op.Backward(ctx, c.inputs, out, r, gin)
	eps, tol := c.eps, c.tol
	if eps == 0 {
		eps = 1e-2
	}
	if tol == 0 {
		tol = 2e-3
	}
	for i, x := range c.inputs {
		if gin[i] == nil {
			continue
		}
		worst := 0.0
		for j := range x.Data {
			orig := x.Data[j]
			x.Data[j] = orig + float32(eps)
			lp := loss()
			x.Data[j] = orig - float32(eps)
			lm := loss()
			x.Data[j] = orig
			// The perturbation actually applied, in float32.
			h := float64(orig+float32(eps)) - float64(orig-float32(eps))
			num := (lp - lm) / h
			got := float64(gin[i].Data[j])
			d := math.Abs(num-got) / math.Max(1, math.Abs(num))
			worst = math.Max(worst, d)
			if d > tol {
				t.Errorf("%s: input %d element %d: backward %.6g, finite difference %.6g", c.name, i, j, got, num)
				return
			}
		}
		t.Logf("%s: input %d: %d elements, worst relative error %.2e", c.name, i, len(x.Data), worst)
	}
}

func TestReluGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []gradCase{
		{name: "relu 4d", spec: NodeSpec{Op: "relu", Inputs: []string{"x"}}, inputs: []*tensor.Tensor{randTensor(rng, 0.05, 2, 3, 5, 7)}},
		{name: "relu 2d", spec: NodeSpec{Op: "relu", Inputs: []string{"x"}}, inputs: []*tensor.Tensor{randTensor(rng, 0.05, 3, 11)}},
	} {
		checkGrad(t, c)
	}
}

func TestGuidedRelu(t *testing.T) {
	x := &tensor.Tensor{Shape: []int{1, 4}, Data: []float32{1, -1, 2, 3}}
	g := &tensor.Tensor{Shape: []int{1, 4}, Data: []float32{0.5, 0.5, -0.5, 2}}
	for _, tc := range []struct {
		guided bool
		want   []float32
	}{{false, []float32{0.5, 0, -0.5, 2}}, {true, []float32{0.5, 0, 0, 2}}} {
		gx := tensor.New(1, 4)
		reluOp{}.Backward(&Context{Guided: tc.guided}, []*tensor.Tensor{x}, nil, g, []*tensor.Tensor{gx})
		if tensor.MaxAbsDiff(gx.Data, tc.want) != 0 {
			t.Errorf("guided=%v: got %v want %v", tc.guided, gx.Data, tc.want)
		}
	}
}
