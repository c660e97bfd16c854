package onnx

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// TestLimitsNamed: every limit of Limits is checked before the data it
// bounds is allocated and its error wraps ErrTooLarge; tensors over
// tensor.MaxElements wrap tensor.ErrTooLarge. A model within the limits
// still imports afterwards.
func TestLimitsNamed(t *testing.T) {
	good := tinyConvNet(13)
	with := func(f func(l *Limits)) *Limits {
		l := DefaultLimits
		f(&l)
		return &l
	}
	chain := func(n int) []byte {
		g := graphSpec{
			inputs:  []pb{valueInfoPB("x", dtFloat, 1, 2)},
			outputs: []pb{valueInfoPB("y", dtFloat, 1, 2)},
		}
		prev := "x"
		for i := range n {
			out := "r" + strings.Repeat("i", i)
			if i == n-1 {
				out = "y"
			}
			g.nodes = append(g.nodes, nodePB("Relu", []string{prev}, []string{out}))
			prev = out
		}
		return modelPB(13, g)
	}
	bigConst := modelPB(13, graphSpec{
		nodes: []pb{
			nodePB("ConstantOfShape", []string{"shape"}, []string{"c"}),
			nodePB("Add", []string{"x", "c"}, []string{"y"}),
		},
		inits:   []pb{intTensor("shape", dtInt64, []int64{2}, []int64{1, 1 << 20})},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 1)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 1<<20)},
	})
	huge := modelPB(13, graphSpec{
		nodes:   []pb{nodePB("Add", []string{"x", "w"}, []string{"y"})},
		inits:   []pb{floatTensor("w", []int64{1 << 20, 1 << 20}, nil)},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 2)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 2)},
	})
	cases := []struct {
		name string
		data []byte
		lim  *Limits
		err  error
		want string
	}{
		{"file size", good, with(func(l *Limits) { l.MaxFileBytes = 100 }), ErrTooLarge, "bytes, limit 100"},
		{"nodes", chain(5), with(func(l *Limits) { l.MaxNodes = 4 }), ErrTooLarge, "more than 4 nodes"},
		{"initializers", good, with(func(l *Limits) { l.MaxInitializers = 3 }), ErrTooLarge, "more than 3 initializers"},
		{"list elements (MaxAttrElems)", good, with(func(l *Limits) { l.MaxAttrElems = 3 }), ErrTooLarge, "more than 3 inputs and outputs"},
		{"name bytes", good, with(func(l *Limits) { l.MaxNameBytes = 3 }), ErrTooLarge, "limit 3"},
		{"rank", good, with(func(l *Limits) { l.MaxRank = 2 }), ErrTooLarge, "rank"},
		{"folded constants", bigConst, with(func(l *Limits) { l.MaxConstElems = 1000 }), ErrTooLarge, "constant"},
		{"10^12-element initializer", huge, nil, tensor.ErrTooLarge, `tensor "w"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ImportWith(c.data, Options{Limits: c.lim})
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ImportWith = %v, want %v saying %q", err, c.err, c.want)
			}
			if _, err := Import(good); err != nil {
				t.Fatalf("a good model after it: %v", err)
			}
		})
	}
}

// TestOtherKinds: a file of another kind given as ONNX is named.
func TestOtherKinds(t *testing.T) {
	for _, c := range []struct{ data, want string }{
		{"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "onnx: this looks like a PDF document, not an ONNX model"},
		{"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "onnx: this looks like a PNG image, not an ONNX model"},
		{"\x20\x00\x00\x00\x00\x00\x00\x00{\"__metadata__\":{}}            ", "a safetensors file (a CamLens model? open it as .safetensors)"},
	} {
		_, err := Import([]byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Import = %v, want %q", err, c.want)
		}
	}
	// A damaged ONNX file is still reported as such.
	b := tinyConvNet(13)
	if _, err := Import(b[:len(b)/2]); err == nil || !strings.Contains(err.Error(), "onnx: decoding ModelProto") {
		t.Errorf("truncated ONNX: %v", err)
	}
}

// TestNonFiniteWeights: a NaN weight, or a BatchNormalization whose scale
// and variance fold into infinite weights, is refused at import, naming
// the weight.
func TestNonFiniteWeights(t *testing.T) {
	w := make([]float32, 3*2*3*3)
	w[5] = float32(math.NaN())
	nanConv := modelPB(13, graphSpec{
		nodes:   []pb{nodePB("Conv", []string{"x", "w"}, []string{"y"}, attrIntsPB("kernel_shape", 3, 3))},
		inits:   []pb{floatTensor("w", []int64{3, 2, 3, 3}, w)},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 2, 5, 5)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 3, 3, 3)},
	})
	for i := range w {
		w[i] = 0.1
	}
	bigBN := modelPB(13, graphSpec{
		nodes: []pb{
			nodePB("Conv", []string{"x", "w"}, []string{"c"}, attrIntsPB("kernel_shape", 3, 3)),
			nodePB("BatchNormalization", []string{"c", "s", "b", "m", "v"}, []string{"y"}),
		},
		inits: []pb{
			floatTensor("w", []int64{3, 2, 3, 3}, w),
			floatTensor("s", []int64{3}, []float32{1, 3e38, 1}), floatTensor("b", []int64{3}, []float32{0, 0, 0}),
			floatTensor("m", []int64{3}, []float32{0, 0, 0}), floatTensor("v", []int64{3}, []float32{1, 1e-30, 1}),
		},
		inputs:  []pb{valueInfoPB("x", dtFloat, 1, 2, 5, 5)},
		outputs: []pb{valueInfoPB("y", dtFloat, 1, 3, 3, 3)},
	})
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"NaN initializer", nanConv, `weight "y.weight": element 5 is NaN`},
		{"overflowing BatchNormalization", bigBN, `weight "y.weight": element 18 is +Inf`},
	} {
		_, err := Import(c.data)
		if !errors.Is(err, nn.ErrNotFinite) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Import = %v, want nn.ErrNotFinite saying %q", c.name, err, c.want)
		}
	}
}
