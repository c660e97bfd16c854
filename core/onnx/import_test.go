package onnx

import (
	"math"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// tinyConvRef computes tinyConvNet's logits directly in float64.
func tinyConvRef(x []float32) []float64 {
	w := make([]float64, 3*2*3*3)
	for i := range w {
		w[i] = float64(float32(i%7-3) / 10)
	}
	b := []float64{0.1, -0.2, 0.3}
	s, bb, m, v := []float64{1.5, 0.5, 1}, []float64{0.1, 0.2, -0.1}, []float64{0.05, -0.1, 0.2}, []float64{0.9, 1.2, 0.6}
	gap := make([]float64, 3)
	for o := 0; o < 3; o++ {
		for i := 0; i < 5; i++ {
			for j := 0; j < 5; j++ {
				acc := b[o]
				for c := 0; c < 2; c++ {
					for ki := 0; ki < 3; ki++ {
						for kj := 0; kj < 3; kj++ {
							y, z := i+ki-1, j+kj-1
							if y < 0 || y >= 5 || z < 0 || z >= 5 {
								continue
							}
							acc += w[((o*2+c)*3+ki)*3+kj] * float64(x[(c*5+y)*5+z])
						}
					}
				}
				eps := float64(float32(1e-3))
				acc = s[o]*(acc-m[o])/math.Sqrt(v[o]+eps) + bb[o]
				gap[o] += math.Max(acc, 0) / 25
			}
		}
	}
	fw := []float64{1, 0, -1, 0.5, 0.5, 0.5, -1, 2, 0}
	fb := []float64{0.01, 0.02, 0.03}
	out := make([]float64, 3)
	for k := 0; k < 3; k++ {
		out[k] = fb[k]
		for c := 0; c < 3; c++ {
			out[k] += gap[c] * fw[c*3+k]
		}
	}
	return out
}

func testInput(shape []int, seed int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(math.Sin(float64(i*7+seed)) * 1.3)
	}
	return t
}

func TestImportTinyConvNet(t *testing.T) {
	for _, opset := range []int64{9, 13, 21} {
		m, err := Import(tinyConvNet(opset))
		if err != nil {
			t.Fatalf("opset %d: %v", opset, err)
		}
		var ops []string
		for _, n := range m.Graph.Nodes {
			ops = append(ops, n.Name+":"+n.Op)
		}
		// BatchNormalization folds into the Conv (which takes its name), MatMul+Add
		// become one dense node named after the Add.
		want := "bn:conv2d relu:relu gap:globalavgpool flat:flatten logits:dense"
		if got := strings.Join(ops, " "); got != want {
			t.Errorf("opset %d: nodes %q, want %q", opset, got, want)
		}
		if m.Weights["logits.bias"] == nil || m.Weights["bn.weight"] == nil || m.Weights["bn.bias"] == nil {
			t.Errorf("opset %d: weights %v", opset, keys(m.Weights))
		}
		g, err := nn.Build(m.Graph, m.Weights)
		if err != nil {
			t.Fatal(err)
		}
		x := testInput([]int{2, 2, 5, 5}, 3)
		a, err := g.Forward(nil, x)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 2; n++ {
			want := tinyConvRef(x.Data[n*50 : (n+1)*50])
			for k, v := range want {
				if d := math.Abs(float64(a.Output().Data[n*3+k]) - v); d > 1e-5 {
					t.Errorf("opset %d: item %d logit %d = %g, want %g", opset, n, k, a.Output().Data[n*3+k], v)
				}
			}
		}
		if got := m.Meta.Labels; len(got) != 3 || got[2] != "class 2" {
			t.Errorf("labels %q", got)
		}
		if p := m.Meta.Preprocess; p.Width != 5 || p.Height != 5 || p.Channels != "" || p.Fit != "stretch" {
			t.Errorf("preprocess %+v", p)
		}
		if !strings.Contains(m.Meta.Provenance.Source, "camlens-test") || len(m.Meta.Provenance.SHA256) != 64 {
			t.Errorf("provenance %+v", m.Meta.Provenance)
		}
	}
}

func keys(m map[string]*tensor.Tensor) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	return s
}

func TestImportOptions(t *testing.T) {
	pre := &modelfile.Preprocess{Width: 5, Height: 5, Channels: "L", Fit: "pad-square", Resize: "area", Scale: 1, Mean: []float32{0}, Std: []float32{1}}
	m, err := ImportWith(tinyConvNet(13), Options{Name: "tiny", Labels: []string{"a", "b", "c"}, Preprocess: pre,
		Provenance: modelfile.Provenance{Source: "unit test", License: "MIT"}, Output: "gap"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Name != "tiny" || m.Meta.Labels[1] != "b" || m.Meta.Preprocess.Fit != "pad-square" || m.Meta.Provenance.License != "MIT" {
		t.Errorf("meta %+v", m.Meta)
	}
	if m.Graph.Output != "gap" || len(m.Graph.Nodes) != 3 {
		t.Errorf("output %q with %d nodes, want gap with 3 (pruned)", m.Graph.Output, len(m.Graph.Nodes))
	}
	if _, err := ImportWith(tinyConvNet(13), Options{Labels: []string{"a"}}); err == nil || !strings.Contains(err.Error(), "1 labels given for 3 outputs") {
		t.Errorf("label count mismatch: %v", err)
	}
	if _, err := ImportWith(tinyConvNet(13), Options{InputShape: []int{1, 2, 6, 6}}); err == nil || !strings.Contains(err.Error(), "disagrees") {
		t.Errorf("input shape mismatch: %v", err)
	}
	m, err = ImportWith(tinyConvNet(13), Options{InputShape: []int{4, 2, 5, 5}})
	if err != nil {
		t.Fatal(err)
	}
	if sh := m.Graph.Input.Shape; !sameInts(sh, []int{2, 5, 5}) {
		t.Errorf("input shape %v", sh)
	}
	p := DefaultPreprocess([]int{1, 3, 224, 200})
	if p.Width != 200 || p.Height != 224 || p.Channels != "RGB" || len(p.Mean) != 3 {
		t.Errorf("DefaultPreprocess %+v", p)
	}
}

// A Q→DQ pair on an activation becomes an identity; DQ of int8 weights
// becomes float weights.
func qdqModel() []byte {
	g := graphSpec{
		nodes: []pb{
			nodePB("QuantizeLinear", []string{"x", "s", "z"}, []string{"xq"}),
			nodePB("DequantizeLinear", []string{"xq", "s", "z"}, []string{"xd"}),
			nodePB("DequantizeLinear", []string{"wq", "ws"}, []string{"w"}, attrIntPB("axis", 0)),
			nodePB("Conv", []string{"xd", "w"}, []string{"c"}),
			nodePB("Flatten", []string{"c"}, []string{"y"}),
		},
		inits: []pb{
			floatTensor("s", nil, []float32{0.05}),
			intTensor("z", dtUint8, nil, []int64{128}),
			intTensor("wq", dtInt8, []int64{2, 1, 1, 1}, []int64{-100, 50}),
			floatTensor("ws", []int64{2}, []float32{0.01, 0.1}),
		},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 1, 2, 2)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 8)},
	}
	return modelPB(13, g)
}

func TestImportQDQ(t *testing.T) {
	m, err := Import(qdqModel())
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Graph.Nodes[0]; n.Name != "xd" || n.Op != "identity" {
		t.Errorf("first node %+v, want the identity xd", n)
	}
	w := m.Weights["c.weight"]
	if w == nil || !sameInts(w.Shape, []int{2, 1, 1, 1}) || math.Abs(float64(w.Data[0]+1)) > 1e-6 || math.Abs(float64(w.Data[1]-5)) > 1e-6 {
		t.Fatalf("dequantised weight %v", w)
	}
	gr, err := nn.Build(m.Graph, m.Weights)
	if err != nil {
		t.Fatal(err)
	}
	x := &tensor.Tensor{Shape: []int{1, 1, 2, 2}, Data: []float32{1, -2, 0.5, 3}}
	a, err := gr.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{-1, 2, -0.5, -3, 5, -10, 2.5, 15}
	if d := tensor.MaxAbsDiff(a.Output().Data, want); d > 1e-6 {
		t.Errorf("output %v, want %v", a.Output().Data, want)
	}
}

// Shape → Gather → Unsqueeze → Concat → Reshape on a symbolic batch folds
// to a reshape that keeps any batch.
func shapeChainModel() []byte {
	g := graphSpec{
		nodes: []pb{
			nodePB("Relu", []string{"x"}, []string{"r"}),
			nodePB("Shape", []string{"r"}, []string{"sh"}),
			nodePB("Constant", nil, []string{"zero"}, attrTensorPB("value", intTensor("", dtInt64, nil, []int64{0}))),
			nodePB("Gather", []string{"sh", "zero"}, []string{"n"}, attrIntPB("axis", 0)),
			nodePB("Unsqueeze", []string{"n", "ax"}, []string{"n1"}),
			nodePB("Concat", []string{"n1", "minus1"}, []string{"target"}, attrIntPB("axis", 0)),
			nodePB("Reshape", []string{"r", "target"}, []string{"y"}),
		},
		inits: []pb{
			intTensor("ax", dtInt64, []int64{1}, []int64{0}),
			intTensor("minus1", dtInt64, []int64{1}, []int64{-1}),
		},
		inputs:  []pb{valueInfoPB("x", dtFloat, -1, 2, 3)},
		outputs: []pb{valueInfoPB("y", dtFloat, -1, 6)},
	}
	return modelPB(13, g)
}

func TestImportShapeChain(t *testing.T) {
	m, err := Import(shapeChainModel())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Graph.Nodes) != 2 || m.Graph.Nodes[1].Op != "reshape" || !sameInts(m.Graph.Nodes[1].Attrs.Shape, []int{-1, 6}) {
		t.Fatalf("nodes %+v", m.Graph.Nodes)
	}
	gr, err := nn.Build(m.Graph, m.Weights)
	if err != nil {
		t.Fatal(err)
	}
	a, err := gr.Forward(nil, testInput([]int{3, 2, 3}, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !sameInts(a.Output().Shape, []int{3, 6}) {
		t.Errorf("output shape %v", a.Output().Shape)
	}
}

func TestImportErrors(t *testing.T) {
	good := tinyConvNet(13)
	relu := func(op string, opset int64, extra ...pb) []byte {
		return modelPB(opset, graphSpec{
			nodes:   []pb{nodePB(op, []string{"x"}, []string{"y"}, extra...)},
			inputs:  []pb{valueInfoPB("x", dtFloat, 1, 3)},
			outputs: []pb{valueInfoPB("y", dtFloat, 1, 3)},
		})
	}
	var extData pb
	extData = extData.bytes(1, packedVarints([]int64{3})).varint(2, dtFloat).str(8, "w").varint(14, 1)
	var loc pb
	loc = loc.str(1, "location").str(2, "weights.bin")
	extData = extData.bytes(13, loc)
	external := modelPB(13, graphSpec{
		nodes:   []pb{nodePB("Add", []string{"x", "w"}, []string{"y"})},
		inits:   []pb{extData},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 3)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 3)},
	})
	var huge pb
	huge = huge.bytes(1, packedVarints([]int64{1 << 20, 1 << 20})).varint(2, dtFloat).str(8, "w").bytes(9, make([]byte, 16))
	hugeDims := modelPB(13, graphSpec{
		nodes:   []pb{nodePB("Add", []string{"x", "w"}, []string{"y"})},
		inits:   []pb{huge},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 3)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 3)},
	})
	var short pb
	short = short.bytes(1, packedVarints([]int64{3})).varint(2, dtFloat).str(8, "w").bytes(9, make([]byte, 8))
	shortRaw := modelPB(13, graphSpec{
		nodes:   []pb{nodePB("Add", []string{"x", "w"}, []string{"y"})},
		inits:   []pb{short},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 3)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 3)},
	})
	cycle := modelPB(13, graphSpec{
		nodes: []pb{
			nodePB("Add", []string{"x", "b"}, []string{"a"}),
			nodePB("Relu", []string{"a"}, []string{"b"}),
		},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 3)},
		outputs: []pb{valueInfoPB("b", dtFloat, 1, 3)},
	})
	twoInputs := modelPB(13, graphSpec{
		nodes:   []pb{nodePB("Add", []string{"x", "x2"}, []string{"y"})},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 3), valueInfoPB("x2", dtFloat, 1, 3)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 3)},
	})
	intInput := modelPB(13, graphSpec{
		nodes:   []pb{nodePB("Relu", []string{"x"}, []string{"y"})},
		inputs:  []pb{valueInfoPB("x", dtInt64, 1, 3)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 3)},
	})
	dynWeights := modelPB(13, graphSpec{
		nodes:   []pb{nodePB("Conv", []string{"x", "x"}, []string{"y"})},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 1, 3, 3)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 1, 1, 1)},
	})
	var ifAttr pb
	ifAttr = ifAttr.str(1, "then_branch").varint(20, atGraph).bytes(6, graphSpec{}.bytes())
	var customDomain pb
	customDomain = nodePB("FusedConv", []string{"x"}, []string{"y"}).str(7, "com.microsoft")
	custom := modelPB(13, graphSpec{
		nodes:   []pb{customDomain},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 3)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 3)},
	})
	var emptyTensorAttr pb
	emptyTensorAttr = emptyTensorAttr.str(1, "value").varint(20, atTensor)
	constNoTensor := modelPB(13, graphSpec{
		nodes: []pb{
			nodePB("Constant", nil, []string{"k"}, emptyTensorAttr),
			nodePB("Add", []string{"x", "k"}, []string{"y"}),
		},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 3)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 3)},
	})
	// [4096,1] + [1,4096] of constants would fold to 16M elements.
	col, row := make([]float32, 4096), make([]float32, 4096)
	bomb := modelPB(13, graphSpec{
		nodes: []pb{
			nodePB("Add", []string{"c", "r"}, []string{"k"}),
			nodePB("Add", []string{"x", "k"}, []string{"y"}),
		},
		inits:   []pb{floatTensor("c", []int64{4096, 1}, col), floatTensor("r", []int64{1, 4096}, row)},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 3)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 3)},
	})
	constLim := Limits(DefaultLimits)
	constLim.MaxConstElems = 1 << 20
	small := Limits(DefaultLimits)
	small.MaxNodes = 3
	tiny := Limits(DefaultLimits)
	tiny.MaxFileBytes = 100
	cases := []struct {
		name string
		data []byte
		lim  *Limits
		want []string // substrings of the error
	}{
		{"unsupported op", relu("Erf", 13), nil, []string{"unsupported op Erf", `"n_y"`, "opset 13"}},
		{"control flow", relu("Loop", 16), nil, []string{"control-flow op Loop", "opset 16"}},
		{"subgraph attribute", relu("Relu", 13, ifAttr), nil, []string{"subgraph"}},
		{"custom domain", custom, nil, []string{"com.microsoft", "FusedConv"}},
		{"external data", external, nil, []string{"external data", "weights.bin", `"w"`}},
		{"truncated file", good[:len(good)/2], nil, []string{"truncated"}},
		{"truncated by one byte", good[:len(good)-1], nil, []string{"truncated"}},
		{"huge dims", hugeDims, nil, []string{"too large"}},
		{"raw_data shorter than dims", shortRaw, nil, []string{"raw_data has 8 bytes", "need 12"}},
		{"cycle", cycle, nil, []string{"topologically sorted", `"b"`}},
		{"opset too new", relu("Relu", 30), nil, []string{"opset 30"}},
		{"two inputs", twoInputs, nil, []string{"2 inputs"}},
		{"integer input", intInput, nil, []string{"INT64", "want a FLOAT tensor"}},
		{"conv weights from the input", dynWeights, nil, []string{"must be a constant", "Conv"}},
		{"node limit", good, &small, []string{"more than 3 nodes"}},
		{"constant without tensor", constNoTensor, nil, []string{"Constant", "has no tensor"}},
		{"broadcast bomb", bomb, &constLim, []string{"more than 1048576 elements"}},
		{"file size limit", good, &tiny, []string{"limit 100"}},
		{"not protobuf", []byte("this is not an ONNX file at all"), nil, []string{"onnx:"}},
		{"empty", nil, nil, []string{"no graph"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ImportWith(c.data, Options{Limits: c.lim})
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
