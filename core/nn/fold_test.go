package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

// bnWeights adds random batchnorm parameters for node name with c channels.
func bnWeights(rng *rand.Rand, w map[string]*tensor.Tensor, name string, c int) {
	for k, v := range bnParams(rng, c) {
		w[name+"."+k] = v
	}
}

// foldGraph is conv→bn→relu, a grouped strided conv without bias→bn→relu, a
// 1×1 conv with two consumers (its bn must stay), then flatten→dense→bn→bn.
func foldGraph(rng *rand.Rand) (GraphSpec, map[string]*tensor.Tensor) {
	spec := GraphSpec{Input: InputSpec{Shape: []int{3, 6, 6}}, Nodes: []NodeSpec{
		{Name: "c1", Op: "conv2d", Inputs: []string{"input"}, Attrs: Attrs{Pads: []int{1, 1, 1, 1}}},
		{Name: "bn1", Op: "batchnorm", Inputs: []string{"c1"}},
		{Name: "r1", Op: "relu", Inputs: []string{"bn1"}},
		{Name: "c2", Op: "conv2d", Inputs: []string{"r1"}, Attrs: Attrs{Pads: []int{1, 1, 1, 1}, Stride: []int{2, 2}, Group: 2}},
		{Name: "bn2", Op: "batchnorm", Inputs: []string{"c2"}, Attrs: Attrs{Eps: 1e-3}},
		{Name: "r2", Op: "relu", Inputs: []string{"bn2"}},
		{Name: "c3", Op: "conv2d", Inputs: []string{"r2"}},
		{Name: "bn3", Op: "batchnorm", Inputs: []string{"c3"}},
		{Name: "s", Op: "add", Inputs: []string{"bn3", "c3"}},
		{Name: "r3", Op: "relu", Inputs: []string{"s"}},
		{Name: "flat", Op: "flatten", Inputs: []string{"r3"}, Attrs: Attrs{Axis: 1}},
		{Name: "d1", Op: "dense", Inputs: []string{"flat"}},
		{Name: "bn4", Op: "batchnorm", Inputs: []string{"d1"}},
		{Name: "bn5", Op: "batchnorm", Inputs: []string{"bn4"}},
	}}
	w := map[string]*tensor.Tensor{
		"c1.weight": randTensor(rng, 0, 4, 3, 3, 3),
		"c1.bias":   randTensor(rng, 0, 4),
		"c2.weight": randTensor(rng, 0, 4, 2, 3, 3),
		"c3.weight": randTensor(rng, 0, 4, 4, 1, 1),
		"c3.bias":   randTensor(rng, 0, 4),
		"d1.weight": randTensor(rng, 0, 5, 36),
		"d1.bias":   randTensor(rng, 0, 5),
	}
	bnWeights(rng, w, "bn1", 4)
	bnWeights(rng, w, "bn2", 4)
	bnWeights(rng, w, "bn3", 4)
	bnWeights(rng, w, "bn4", 5)
	bnWeights(rng, w, "bn5", 5)
	return spec, w
}

func opsOf(spec GraphSpec) string {
	var s []string
	for _, n := range spec.Nodes {
		s = append(s, n.Name+":"+n.Op+"("+strings.Join(n.Inputs, ",")+")")
	}
	return strings.Join(s, " ")
}

func cloneWeights(w map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	c := make(map[string]*tensor.Tensor, len(w))
	for k, v := range w {
		c[k] = v.Clone()
	}
	return c
}

func TestFoldBatchNormStructure(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 23))
	spec, w := foldGraph(rng)
	specCopy := GraphSpec{Input: spec.Input, Output: spec.Output}
	for _, n := range spec.Nodes {
		specCopy.Nodes = append(specCopy.Nodes, cloneNodeSpec(n))
	}
	wCopy := cloneWeights(w)
	fs, fw, err := FoldBatchNorm(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	want := "bn1:conv2d(input) r1:relu(bn1) bn2:conv2d(r1) r2:relu(bn2) c3:conv2d(r2) bn3:batchnorm(c3) " +
		"s:add(bn3,c3) r3:relu(s) flat:flatten(r3) bn5:dense(flat)"
	if got := opsOf(fs); got != want {
		t.Errorf("folded graph:\n got %s\nwant %s", got, want)
	}
	if fs.Nodes[2].Attrs.Group != 2 || fs.Nodes[2].Attrs.Stride[1] != 2 {
		t.Errorf("folded conv lost its attributes: %+v", fs.Nodes[2].Attrs)
	}
	// Parameters: folded ones under the batchnorm's name, the old ones gone,
	// the unfolded ones kept.
	for _, k := range []string{"bn1.weight", "bn1.bias", "bn2.weight", "bn2.bias", "c3.weight", "c3.bias",
		"bn3.scale", "bn3.bias", "bn3.mean", "bn3.var", "bn5.weight", "bn5.bias"} {
		if fw[k] == nil {
			t.Errorf("folded weights lack %q", k)
		}
	}
	for _, k := range []string{"c1.weight", "c1.bias", "c2.weight", "d1.weight", "d1.bias", "bn1.scale", "bn1.mean",
		"bn2.var", "bn4.weight", "bn4.scale", "bn5.scale", "bn5.var"} {
		if fw[k] != nil {
			t.Errorf("folded weights still hold %q", k)
		}
	}
	if fw["c3.weight"] != w["c3.weight"] {
		t.Errorf("unchanged tensors should be shared")
	}
	if len(fw) != 12 {
		t.Errorf("folded weights have %d entries, want 12", len(fw))
	}
	// Inputs unchanged.
	if !reflect.DeepEqual(spec, specCopy) {
		t.Errorf("FoldBatchNorm modified its spec")
	}
	if len(w) != len(wCopy) {
		t.Errorf("FoldBatchNorm modified its weight map: %d entries, had %d", len(w), len(wCopy))
	}
	for k, v := range wCopy {
		if w[k] == nil || tensor.MaxAbsDiff(w[k].Data, v.Data) != 0 {
			t.Errorf("FoldBatchNorm modified weight %q", k)
		}
	}
	// The returned spec shares no slices with the input.
	fs.Nodes[2].Attrs.Stride[0] = 99
	fs.Nodes[2].Inputs[0] = "zz"
	if spec.Nodes[3].Attrs.Stride[0] != 2 || spec.Nodes[3].Inputs[0] != "r1" {
		t.Errorf("folded spec aliases the input spec")
	}
}

func TestFoldBatchNormLeavesAlone(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 25))
	for _, c := range []struct {
		name   string
		nodes  []NodeSpec
		output string
	}{
		{"bn on the graph input", []NodeSpec{{Name: "bn", Op: "batchnorm", Inputs: []string{"input"}}}, ""},
		{"bn after relu", []NodeSpec{
			{Name: "c", Op: "conv2d", Inputs: []string{"input"}},
			{Name: "r", Op: "relu", Inputs: []string{"c"}},
			{Name: "bn", Op: "batchnorm", Inputs: []string{"r"}}}, ""},
		{"conv with two consumers", []NodeSpec{
			{Name: "c", Op: "conv2d", Inputs: []string{"input"}},
			{Name: "bn", Op: "batchnorm", Inputs: []string{"c"}},
			{Name: "s", Op: "add", Inputs: []string{"c", "bn"}}}, ""},
		{"conv consumed twice by one node", []NodeSpec{
			{Name: "c", Op: "conv2d", Inputs: []string{"input"}},
			{Name: "bn", Op: "batchnorm", Inputs: []string{"c"}},
			{Name: "s", Op: "mul", Inputs: []string{"c", "c"}}}, "bn"},
		{"conv is the graph output", []NodeSpec{
			{Name: "c", Op: "conv2d", Inputs: []string{"input"}},
			{Name: "bn", Op: "batchnorm", Inputs: []string{"c"}}}, "c"},
	} {
		w := map[string]*tensor.Tensor{"c.weight": randTensor(rng, 0, 3, 3, 1, 1)}
		bnWeights(rng, w, "bn", 3)
		spec := GraphSpec{Input: InputSpec{Shape: []int{3, 2, 2}}, Nodes: c.nodes, Output: c.output}
		fs, fw, err := FoldBatchNorm(spec, w)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got, want := opsOf(fs), opsOf(spec); got != want || fs.Output != spec.Output {
			t.Errorf("%s: graph changed:\n got %s\nwant %s", c.name, got, want)
		}
		if !reflect.DeepEqual(fw, w) {
			t.Errorf("%s: weights changed", c.name)
		}
	}
}

func TestFoldBatchNormErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(26, 27))
	nodes := []NodeSpec{
		{Name: "c", Op: "conv2d", Inputs: []string{"input"}},
		{Name: "bn", Op: "batchnorm", Inputs: []string{"c"}},
	}
	for _, c := range []struct {
		name  string
		edit  func(w map[string]*tensor.Tensor)
		nodes []NodeSpec
		want  string
	}{
		{"negative var", func(w map[string]*tensor.Tensor) { w["bn.var"].Data[0] = -5 }, nodes, "not positive"},
		{"missing mean", func(w map[string]*tensor.Tensor) { delete(w, "bn.mean") }, nodes, `"mean"`},
		{"weight channels", func(w map[string]*tensor.Tensor) { w["c.weight"] = tensor.New(2, 3, 1, 1) }, nodes, "want 3 output channels"},
		{"missing weight", func(w map[string]*tensor.Tensor) { delete(w, "c.weight") }, nodes, `"c.weight"`},
		{"bias shape", func(w map[string]*tensor.Tensor) { w["c.bias"] = tensor.New(2) }, nodes, "bias shape"},
		{"duplicate names", func(w map[string]*tensor.Tensor) {}, append(append([]NodeSpec(nil), nodes...), NodeSpec{Name: "c", Op: "relu", Inputs: []string{"bn"}}), "duplicate"},
	} {
		w := map[string]*tensor.Tensor{"c.weight": randTensor(rng, 0, 3, 3, 1, 1)}
		bnWeights(rng, w, "bn", 3)
		c.edit(w)
		_, _, err := FoldBatchNorm(GraphSpec{Input: InputSpec{Shape: []int{3, 2, 2}}, Nodes: c.nodes}, w)
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.name != "duplicate names" && !strings.Contains(err.Error(), `"bn"`)) {
			t.Errorf("%s: error %v, want one naming the node and containing %q", c.name, err, c.want)
		}
	}
}

// TestFoldBatchNormForward: the folded graph computes the same outputs (and
// input gradients) as the original, at batch 2.
func TestFoldBatchNormForward(t *testing.T) {
	for _, op := range []string{"conv2d", "dense"} {
		if _, ok := builders[op]; !ok {
			t.Fatalf("op %q is not registered; FoldBatchNorm needs it", op)
		}
	}
	rng := rand.New(rand.NewPCG(28, 29))
	spec, w := foldGraph(rng)
	fs, fw, err := FoldBatchNorm(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	g0, err := Build(spec, w)
	if err != nil {
		t.Fatalf("original: %v", err)
	}
	g1, err := Build(fs, fw)
	if err != nil {
		t.Fatalf("folded: %v", err)
	}
	if len(g1.Nodes) != len(g0.Nodes)-4 {
		t.Errorf("folded graph has %d nodes, original %d: want 4 fewer", len(g1.Nodes), len(g0.Nodes))
	}
	x := randTensor(rng, 0, 2, 3, 6, 6)
	a0, err := g0.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	a1, err := g1.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	if d := foldRelDiff(a0.Output().Data, a1.Output().Data); d > 1e-5 {
		t.Errorf("outputs differ by %g (relative) after folding", d)
	} else {
		t.Logf("max output difference %.2e (relative to max(1, |y|)) over %d values", d, len(a1.Output().Data))
	}
	// Every surviving name (in particular the batchnorms' names, now convs)
	// holds the same activation as before.
	for i, n := range g1.Nodes {
		k, err := g0.Index(n.Spec.Name)
		if err != nil {
			t.Fatalf("folded node %q has no counterpart", n.Spec.Name)
		}
		if d := foldRelDiff(a0.Out[k].Data, a1.Out[i].Data); d > 1e-5 {
			t.Errorf("node %q differs by %g (relative) after folding", n.Spec.Name, d)
		}
	}
	// Input gradients agree too.
	r := randTensor(rng, 0, a0.Output().Shape...)
	gr0, err := g0.Backward(nil, a0, g0.Output, r, []int{InputIndex})
	if err != nil {
		t.Fatal(err)
	}
	gr1, err := g1.Backward(nil, a1, g1.Output, r, []int{InputIndex})
	if err != nil {
		t.Fatal(err)
	}
	if d := foldRelDiff(gr0[InputIndex].Data, gr1[InputIndex].Data); d > 1e-5 {
		t.Errorf("input gradients differ by %g (relative) after folding", d)
	} else {
		t.Logf("max input-gradient difference %.2e (relative)", d)
	}
}

// foldRelDiff returns max_i |a_i − b_i| / max(1, |a_i|): float32 rounding
// grows with the magnitude (folded outputs here reach ~20, where one ulp is
// 1.9e-6), so the 1e-5 bound is relative above 1 and absolute below.
func foldRelDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := math.Abs(float64(a[i])-float64(b[i])) / math.Max(1, math.Abs(float64(a[i])))
		if d > m || math.IsNaN(d) {
			m = d
		}
	}
	return m
}

// TestCloneNodeSpecDeep sets every field of NodeSpec and Attrs through
// reflection and checks that the clone shares no memory with the original,
// so a new slice or pointer field in Attrs cannot be forgotten.
func TestCloneNodeSpecDeep(t *testing.T) {
	var n NodeSpec
	fillAll(reflect.ValueOf(&n).Elem())
	c := cloneNodeSpec(n)
	if !reflect.DeepEqual(n, c) {
		t.Fatalf("clone differs: %+v vs %+v", c, n)
	}
	checkNoAlias(t, "NodeSpec", reflect.ValueOf(n), reflect.ValueOf(c))
}

func fillAll(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillAll(v.Field(i))
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		fillAll(s.Index(0))
		fillAll(s.Index(1))
		v.Set(s)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fillAll(p.Elem())
		v.Set(p)
	case reflect.Int, reflect.Int64:
		v.SetInt(3)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.String:
		v.SetString("s")
	default:
		panic(fmt.Sprintf("fill: unhandled kind %v", v.Kind()))
	}
}

func checkNoAlias(t *testing.T, path string, a, b reflect.Value) {
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			checkNoAlias(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	case reflect.Slice, reflect.Pointer:
		if a.Pointer() == b.Pointer() {
			t.Errorf("cloneNodeSpec: %s is shared with the original", path)
		}
	}
}

func ExampleFoldBatchNorm() {
	c := func(shape ...int) *tensor.Tensor { return tensor.New(shape...) }
	one := func(n int) *tensor.Tensor {
		t := c(n)
		for i := range t.Data {
			t.Data[i] = 1
		}
		return t
	}
	spec := GraphSpec{Input: InputSpec{Shape: []int{3, 8, 8}}, Nodes: []NodeSpec{
		{Name: "conv", Op: "conv2d", Inputs: []string{"input"}},
		{Name: "bn", Op: "batchnorm", Inputs: []string{"conv"}},
		{Name: "relu", Op: "relu", Inputs: []string{"bn"}},
	}}
	w := map[string]*tensor.Tensor{
		"conv.weight": c(4, 3, 3, 3),
		"bn.scale":    one(4), "bn.bias": c(4), "bn.mean": c(4), "bn.var": one(4),
	}
	folded, fw, err := FoldBatchNorm(spec, w)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range folded.Nodes {
		fmt.Println(n.Name, n.Op, n.Inputs)
	}
	fmt.Println(fw["bn.weight"].Shape, fw["bn.bias"].Shape, fw["conv.weight"] == nil)
	// Output:
	// bn conv2d [input]
	// relu relu [bn]
	// [4 3 3 3] [4] true
}
