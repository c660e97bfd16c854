package nn

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

func TestDenseForward(t *testing.T) {
	// y = x·Wᵀ + b with W [3×2]
	w := mustT([]int{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	b := mustT([]int{3}, []float32{0.5, -1, 0})
	x := mustT([]int{2, 2}, []float32{1, -1, 2, 0.5})
	y := run(t, buildOp(t, NodeSpec{Op: "dense"}, map[string]*tensor.Tensor{"weight": w, "bias": b}), x)
	want := []float32{-0.5, -2, -1, 3.5, 7, 13}
	if !tensor.SameShape(y.Shape, []int{2, 3}) {
		t.Fatalf("shape %v", y.Shape)
	}
	if _, ok := closeTo(y.Data, want, 1e-6); !ok {
		t.Errorf("got %v, want %v", y.Data, want)
	}
}

func TestDenseMatchesRef(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	for _, s := range [][3]int{{1, 7, 5}, {2, 33, 17}, {3, 300, 9}, {5, 4, 1}} {
		n, in, out := s[0], s[1], s[2]
		for _, bias := range []bool{false, true} {
			p := map[string]*tensor.Tensor{"weight": randTensor(rng, 0, out, in)}
			if bias {
				p["bias"] = randTensor(rng, 0, out)
			}
			op := buildOp(t, NodeSpec{Op: "dense"}, p).(*denseOp)
			x := randTensor(rng, 0, n, in)
			y := run(t, op, x)
			want := make([]float32, n*out)
			op.denseRef(n, x.Data, want)
			if i, ok := closeTo(y.Data, want, 1e-5); !ok {
				t.Errorf("%v bias=%v: element %d: got %v, want %v", s, bias, i, y.Data[i], want[i])
			}
			gy := randTensor(rng, 0, n, out)
			gx := randTensor(rng, 0, n, in)
			wantGx := append([]float32(nil), gx.Data...)
			op.Backward(&Context{}, []*tensor.Tensor{x}, y, gy, []*tensor.Tensor{gx})
			for r := 0; r < n; r++ {
				for i := 0; i < in; i++ {
					for o := 0; o < out; o++ {
						wantGx[r*in+i] += gy.Data[r*out+o] * op.w[o*in+i]
					}
				}
			}
			if i, ok := closeTo(gx.Data, wantGx, 1e-5); !ok {
				t.Errorf("%v backward: element %d: got %v, want %v", s, i, gx.Data[i], wantGx[i])
			}
		}
	}
}

func TestDenseGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, c := range []struct {
		name       string
		n, in, out int
		bias       bool
	}{{"batch 1", 1, 13, 7, true}, {"batch 2 no bias", 2, 9, 4, false}, {"batch 3", 3, 5, 11, true}} {
		p := map[string]*tensor.Tensor{"weight": randTensor(rng, 0, c.out, c.in)}
		if c.bias {
			p["bias"] = randTensor(rng, 0, c.out)
		}
		checkGrad(t, gradCase{name: "dense " + c.name, spec: NodeSpec{Op: "dense", Inputs: []string{"x"}}, params: p,
			inputs: []*tensor.Tensor{randTensor(rng, 0, c.n, c.in)}})
	}
}

func TestDenseErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		params map[string]*tensor.Tensor
		want   string
	}{
		{"no weight", nil, "missing parameter"},
		{"rank 3", map[string]*tensor.Tensor{"weight": tensor.New(2, 3, 1)}, "weight must be [OUT, IN]"},
		{"bias", map[string]*tensor.Tensor{"weight": tensor.New(2, 3), "bias": tensor.New(3)}, "bias shape"},
	} {
		spec := NodeSpec{Name: "fc", Op: "dense", Inputs: []string{"x"}}
		_, err := builders["dense"](&spec, paramMap(c.params))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"fc"`) {
			t.Errorf("%s: error %v, want one naming the node and containing %q", c.name, err, c.want)
		}
	}
	op := buildOp(t, NodeSpec{Op: "dense"}, map[string]*tensor.Tensor{"weight": tensor.New(2, 3)})
	for _, s := range [][]int{{1, 4}, {1, 3, 1, 1}, {3}} {
		if _, err := op.OutShape([][]int{s}); err == nil {
			t.Errorf("OutShape(%v): no error", s)
		}
	}
}
