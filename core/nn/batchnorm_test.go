package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

func bnParams(rng *rand.Rand, c int) map[string]*tensor.Tensor {
	p := map[string]*tensor.Tensor{}
	for _, name := range []string{"scale", "bias", "mean", "var"} {
		t := randTensor(rng, 0, c)
		if name == "var" || name == "scale" {
			for i := range t.Data {
				t.Data[i] = 0.5 + t.Data[i]*t.Data[i]
			}
		}
		p[name] = t
	}
	return p
}

func TestBatchnormForward(t *testing.T) {
	p := map[string]*tensor.Tensor{
		"scale": mkT([]int{2}, 2, -1),
		"bias":  mkT([]int{2}, 1, 0.5),
		"mean":  mkT([]int{2}, 3, -1),
		"var":   mkT([]int{2}, 4, 0.25),
	}
	x := mkT([]int{2, 2, 2}, 1, 5, 0, -1, 3, 7, 1, 2)
	for _, eps := range []float32{0, 1e-3} {
		e := float64(eps)
		if eps == 0 {
			e = 1e-5
		}
		want := make([]float32, 8)
		sc, bi, mu, va := []float64{2, -1}, []float64{1, 0.5}, []float64{3, -1}, []float64{4, 0.25}
		for i, v := range x.Data {
			c := (i / 2) % 2
			want[i] = float32(sc[c]*(float64(v)-mu[c])/math.Sqrt(va[c]+e) + bi[c])
		}
		got := forwardOne(t, unSpec("batchnorm", Attrs{Eps: eps}), p, x)
		expectT(t, "batchnorm", got, []int{2, 2, 2}, want, 1e-6)
	}
}

func TestBatchnormGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 19))
	checkGrad(t, gradCase{name: "batchnorm 4-D", spec: unSpec("batchnorm", Attrs{}), params: bnParams(rng, 3), inputs: []*tensor.Tensor{randTensor(rng, 0, 2, 3, 2, 3)}})
	checkGrad(t, gradCase{name: "batchnorm 2-D", spec: unSpec("batchnorm", Attrs{Eps: 1e-3}), params: bnParams(rng, 4), inputs: []*tensor.Tensor{randTensor(rng, 0, 2, 4)}})
}

func TestBatchnormErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	for _, c := range []struct {
		name   string
		edit   func(p map[string]*tensor.Tensor)
		eps    float32
		inputs []string
		want   string
	}{
		{"missing var", func(p map[string]*tensor.Tensor) { delete(p, "var") }, 0, nil, `missing parameter "var"`},
		{"channel mismatch", func(p map[string]*tensor.Tensor) { p["mean"] = tensor.New(4) }, 0, nil, "channels"},
		{"rank 2 param", func(p map[string]*tensor.Tensor) { p["bias"] = tensor.New(3, 1) }, 0, nil, "want [C]"},
		{"negative var", func(p map[string]*tensor.Tensor) { p["var"].Data[1] = -1 }, 0, nil, "not positive"},
		{"NaN scale", func(p map[string]*tensor.Tensor) { p["scale"].Data[0] = float32(math.NaN()) }, 0, nil, "NaN"},
		{"negative eps", func(p map[string]*tensor.Tensor) {}, -1, nil, "eps"},
		{"two inputs", func(p map[string]*tensor.Tensor) {}, 0, []string{"a", "b"}, "needs 1 input"},
	} {
		p := bnParams(rng, 3)
		c.edit(p)
		spec := unSpec("batchnorm", Attrs{Eps: c.eps})
		spec.Name = "bad_bn"
		if c.inputs != nil {
			spec.Inputs = c.inputs
		}
		_, err := builders["batchnorm"](&spec, paramMap(p))
		if err == nil || !strings.Contains(err.Error(), "bad_bn") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming bad_bn and containing %q", c.name, err, c.want)
		}
	}
	// Channel count against the input, through Build.
	w := map[string]*tensor.Tensor{}
	for k, v := range bnParams(rng, 4) {
		w["bad_bn."+k] = v
	}
	_, err := Build(GraphSpec{Input: InputSpec{Shape: []int{3, 2, 2}}, Nodes: []NodeSpec{
		{Name: "bad_bn", Op: "batchnorm", Inputs: []string{"input"}},
	}}, w)
	if err == nil || !strings.Contains(err.Error(), "bad_bn") || !strings.Contains(err.Error(), "want [N, 4, ...]") {
		t.Errorf("channel mismatch with input: error %v", err)
	}
}
