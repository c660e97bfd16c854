package nn

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

// fuzzModel is the fuzzer's input: a graph and the shapes of its weights,
// which are filled with deterministic pseudo-random values.
type fuzzModel struct {
	Graph   GraphSpec        `json:"graph"`
	Weights map[string][]int `json:"weights"`
	Scale   float32          `json:"scale"` // weight magnitude (default 1)
}

// fuzzSeeds cover every op family with valid and borderline attributes.
var fuzzSeeds = []string{
	`{"graph":{"input":{"name":"x","shape":[3,8,8]},"nodes":[
	  {"name":"c","op":"conv2d","inputs":["x"],"attrs":{"stride":[2,2],"pads":[1,1,1,1]}},
	  {"name":"r","op":"relu","inputs":["c"]},
	  {"name":"p","op":"globalavgpool","inputs":["r"]},
	  {"name":"f","op":"flatten","inputs":["p"],"attrs":{"axis":1}},
	  {"name":"d","op":"dense","inputs":["f"]}]},
	  "weights":{"c.weight":[4,3,3,3],"c.bias":[4],"d.weight":[5,4],"d.bias":[5]}}`,
	`{"graph":{"input":{"name":"x","shape":[4,6,6]},"nodes":[
	  {"name":"dw","op":"conv2d","inputs":["x"],"attrs":{"group":4,"pads":[1,1,1,1]}},
	  {"name":"bn","op":"batchnorm","inputs":["dw"],"attrs":{"eps":0.001}},
	  {"name":"h","op":"hardswish","inputs":["bn"]},
	  {"name":"mp","op":"maxpool","inputs":["h"],"attrs":{"kernel":[3,3],"stride":[2,2],"ceil_mode":true}},
	  {"name":"ap","op":"avgpool","inputs":["mp"],"attrs":{"kernel":[2,2],"pads":[1,1,1,1],"count_include_pad":true}},
	  {"name":"m","op":"reducemean","inputs":["ap"],"attrs":{"axes":[2,3]}},
	  {"name":"s","op":"softmax","inputs":["m"],"attrs":{"axis":1}}]},
	  "weights":{"dw.weight":[8,1,3,3],"bn.scale":[8],"bn.bias":[8],"bn.mean":[8],"bn.var":[8]}}`,
	`{"graph":{"input":{"name":"x","shape":[2,4,4]},"nodes":[
	  {"name":"k","op":"const","inputs":[]},
	  {"name":"a","op":"add","inputs":["x","k"]},
	  {"name":"m","op":"mul","inputs":["a","x"]},
	  {"name":"dv","op":"div","inputs":["m","k"]},
	  {"name":"sb","op":"sub","inputs":["dv","a"]},
	  {"name":"cc","op":"concat","inputs":["sb","x"],"attrs":{"axis":1}},
	  {"name":"pd","op":"pad","inputs":["cc"],"attrs":{"pads":[0,0,1,-1,0,0,2,1],"value":0.5}},
	  {"name":"tr","op":"transpose","inputs":["pd"],"attrs":{"perm":[0,2,3,1]}},
	  {"name":"rs","op":"reshape","inputs":["tr"],"attrs":{"shape":[0,-1]}},
	  {"name":"cl","op":"clip","inputs":["rs"],"attrs":{"min":-1,"max":1}}]},
	  "weights":{"k.value":[1,4,1]}}`,
	`{"graph":{"input":{"name":"x","shape":[3,5,5]},"nodes":[
	  {"name":"c","op":"conv2d","inputs":["x"],"attrs":{"dilation":[2,2],"stride":[1,2],"pads":[2,0,2,1]}},
	  {"name":"pr","op":"prelu","inputs":["c"]},
	  {"name":"lk","op":"leakyrelu","inputs":["pr"],"attrs":{"alpha":0.1}},
	  {"name":"sg","op":"sigmoid","inputs":["lk"]},
	  {"name":"hs","op":"hardsigmoid","inputs":["sg"],"attrs":{"alpha":0.2,"beta":0.5}},
	  {"name":"si","op":"silu","inputs":["hs"]},
	  {"name":"th","op":"tanh","inputs":["si"]},
	  {"name":"id","op":"identity","inputs":["th"]},
	  {"name":"dr","op":"dropout","inputs":["id"]},
	  {"name":"fl","op":"flatten","inputs":["dr"]},
	  {"name":"d","op":"dense","inputs":["fl"]}]},
	  "weights":{"c.weight":[2,3,2,2],"pr.slope":[2,1,1],"d.weight":[3,28]}}`,
	`{"graph":{"input":{"name":"x","shape":[1,2,2]},"nodes":[
	  {"name":"c","op":"conv2d","inputs":["x"],"attrs":{"pads":[4611686018427387904,0,0,0]}}]},
	  "weights":{"c.weight":[1,1,1,1]}}`,
	`{"graph":{"input":{"name":"x","shape":[1,3,3]},"nodes":[
	  {"name":"c","op":"conv2d","inputs":["x"],"attrs":{"dilation":[4611686018427387904,1]}}]},
	  "weights":{"c.weight":[1,1,3,1]}}`,
	`{"graph":{"input":{"name":"x","shape":[1,4,4]},"nodes":[
	  {"name":"p","op":"maxpool","inputs":["x"],"attrs":{"kernel":[2,2],"stride":[9223372036854775807,1]}}]}}`,
	`{"graph":{"input":{"name":"x","shape":[6]},"nodes":[
	  {"name":"d","op":"dense","inputs":["x"]}]},"weights":{"d.weight":[2,6]},"scale":3e38}`,
}

// checkForwardInto runs the forward pass of x again into a copy of a's
// tensors filled with NaN: every op must overwrite its whole output, so
// ForwardInto gives a's values bit for bit.
func checkForwardInto(t *testing.T, g *Graph, x *tensor.Tensor, a *Activations) {
	t.Helper()
	reuse := &Activations{Graph: g, Out: make([]*tensor.Tensor, len(g.Nodes))}
	for i, o := range a.Out {
		if o == nil {
			continue
		}
		reuse.Out[i] = o.Clone()
		for j := range reuse.Out[i].Data {
			reuse.Out[i].Data[j] = float32(math.NaN())
		}
	}
	b, err := g.ForwardInto(nil, x, reuse)
	if err != nil {
		t.Fatalf("ForwardInto: %v", err)
	}
	for i, o := range a.Out {
		if o == nil {
			continue
		}
		if b.Out[i] != reuse.Out[i] {
			t.Fatalf("node %q: ForwardInto allocated a new output of the same shape", g.Nodes[i].Spec.Name)
		}
		for j, v := range o.Data {
			if math.Float32bits(v) != math.Float32bits(b.Out[i].Data[j]) {
				t.Fatalf("node %q (%s): ForwardInto over NaN gives %v at %d, Forward %v", g.Nodes[i].Spec.Name, g.Nodes[i].Spec.Op, b.Out[i].Data[j], j, v)
			}
		}
	}
}

// checkBounds: every node's output stays within the bound nodeBounds
// gives it (up to float32 rounding), so skipping its finite check is safe.
func checkBounds(t *testing.T, g *Graph, x *tensor.Tensor, a *Activations) {
	t.Helper()
	bounds := g.nodeBounds(maxAbs(x.Data))
	for i, o := range a.Out {
		if o == nil || math.IsInf(bounds[i], 1) {
			continue
		}
		if m := maxAbs(o.Data); m > bounds[i]*(1+1e-5) {
			t.Fatalf("node %q (%s): max |y| = %g above its bound %g", g.Nodes[i].Spec.Name, g.Nodes[i].Spec.Op, m, bounds[i])
		}
	}
}

// fuzzWeights fills the requested shapes; it returns nil when they are
// too large for a fuzzing run.
func fuzzWeights(shapes map[string][]int, scale float32) map[string]*tensor.Tensor {
	if scale == 0 || math.IsNaN(float64(scale)) {
		scale = 1
	}
	rng := rand.New(rand.NewPCG(1, 2))
	out := map[string]*tensor.Tensor{}
	total := 0
	for name, shape := range shapes {
		n, err := tensor.NumElements(shape)
		if err != nil || n > 1<<14 {
			return nil
		}
		if total += n; total > 1<<16 {
			return nil
		}
		t := tensor.New(shape...)
		for i := range t.Data {
			t.Data[i] = scale * float32(rng.NormFloat64())
		}
		if len(name) > 4 && name[len(name)-4:] == ".var" {
			for i, v := range t.Data {
				t.Data[i] = float32(math.Abs(float64(v)))
			}
		}
		out[name] = t
	}
	return out
}

// FuzzBuildForward: any graph spec either fails to build with an error, or
// builds into a graph whose forward pass (batch 1 and 2) gives every node
// the shape Build computed and either finite values or an error that wraps
// ErrNotFinite and names the node, and whose backward pass from the output
// to the input and every node gives gradients of the right shapes. Nothing
// panics.
func FuzzBuildForward(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fm fuzzModel
		if err := json.Unmarshal(data, &fm); err != nil {
			return
		}
		w := fuzzWeights(fm.Weights, fm.Scale)
		if w == nil {
			return
		}
		g, err := Build(fm.Graph, w)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		total := 0
		for _, n := range g.Nodes {
			k, err := tensor.NumElements(n.Shape)
			if err != nil {
				t.Fatalf("built node %q has shape %v: %v", n.Spec.Name, n.Shape, err)
			}
			total += k
		}
		if total > 1<<16 {
			return // too slow for a fuzzing run
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for _, batch := range []int{1, 2} {
			shape := g.InputShape()
			shape[0] = batch
			x := tensor.New(shape...)
			for i := range x.Data {
				x.Data[i] = float32(rng.NormFloat64())
			}
			a, err := g.Forward(nil, x)
			if err != nil {
				// Batch 2 may legitimately fail where ops mix the batch
				// axis (flatten with axis 0, reshape to fixed sizes).
				if batch == 1 && !errors.Is(err, ErrNotFinite) {
					t.Fatalf("batch %d: forward: %v", batch, err)
				}
				continue
			}
			for i, n := range g.Nodes {
				if i > g.Output {
					break
				}
				// Build computes the shapes for batch 1; ops that move the
				// batch axis may give other shapes for batch 2.
				if got := a.Out[i].Shape; batch == 1 && !tensor.SameShape(got, n.Shape) {
					t.Fatalf("node %q: forward shape %v, Build said %v", n.Spec.Name, got, n.Shape)
				}
				if err := a.Out[i].CheckFinite(); err != nil {
					t.Fatalf("forward returned non-finite node %q without an error: %v", n.Spec.Name, err)
				}
			}
			if batch == 1 {
				checkForwardInto(t, g, x, a)
				checkBounds(t, g, x, a)
			}
			out := a.Output()
			seed := tensor.New(out.Shape...)
			for i := range seed.Data {
				seed.Data[i] = 1
			}
			wrt := []int{InputIndex}
			for i := 0; i <= g.Output; i++ {
				wrt = append(wrt, i)
			}
			grads, err := g.Backward(nil, a, g.Output, seed, wrt)
			if err != nil {
				t.Fatalf("batch %d: backward: %v", batch, err)
			}
			for _, k := range wrt {
				if !tensor.SameShape(grads[k].Shape, a.At(k).Shape) {
					t.Fatalf("gradient at %d has shape %v, value %v", k, grads[k].Shape, a.At(k).Shape)
				}
			}
		}
	})
}
