package robust

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/core/tensor"
)

// The good inputs every case is followed by: a small convolutional
// classifier (3×16×16 RGB → conv 8 channels → ReLU → global average
// pooling → dense, 3 classes) and a 24×20 photo-like PNG.

const (
	inputSize = 16
	channels  = 8
)

var labels = []string{"cat", "dog", "none"}

// goodModel returns the classifier. Class "none" has a zero dense row and
// bias, so its logit is exactly 0 and its gradient everywhere is zero.
func goodModel() *modelfile.Model {
	w := make([]float32, channels*3*3*3)
	for i := range w {
		w[i] = float32(math.Sin(float64(i)*1.7)) * 0.4
	}
	b := make([]float32, channels)
	for i := range b {
		b[i] = 0.05 * float32(i%3)
	}
	fw := make([]float32, len(labels)*channels)
	for i := range channels * 2 {
		fw[i] = float32(math.Cos(float64(i)*0.9)) * 0.8
	}
	return &modelfile.Model{
		Meta: modelfile.Meta{
			Name: "robust-tiny", Title: "bad-input suite classifier", Labels: labels,
			Preprocess: modelfile.Preprocess{
				Width: inputSize, Height: inputSize, Channels: "RGB", Fit: "stretch", Resize: "bilinear",
				Scale: 1.0 / 255, Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.25, 0.25, 0.25},
			},
			Provenance:   modelfile.Provenance{Source: "scripts/robust (synthetic)", License: "MIT"},
			DefaultLayer: "conv1",
		},
		Graph: nn.GraphSpec{
			Input: nn.InputSpec{Name: "input", Shape: []int{3, inputSize, inputSize}},
			Nodes: []nn.NodeSpec{
				{Name: "conv1", Op: "conv2d", Inputs: []string{"input"}, Attrs: nn.Attrs{Pads: []int{1, 1, 1, 1}}},
				{Name: "relu1", Op: "relu", Inputs: []string{"conv1"}},
				{Name: "pool", Op: "globalavgpool", Inputs: []string{"relu1"}},
				{Name: "flat", Op: "flatten", Inputs: []string{"pool"}, Attrs: nn.Attrs{Axis: 1}},
				{Name: "fc", Op: "dense", Inputs: []string{"flat"}},
			},
		},
		Weights: map[string]*tensor.Tensor{
			"conv1.weight": {Shape: []int{channels, 3, 3, 3}, Data: w},
			"conv1.bias":   {Shape: []int{channels}, Data: b},
			"fc.weight":    {Shape: []int{len(labels), channels}, Data: fw},
			"fc.bias":      {Shape: []int{len(labels)}, Data: make([]float32, len(labels))},
		},
	}
}

// modelBytes writes m as a model file (int8 weights when quantize).
func modelBytes(t testing.TB, m *modelfile.Model, quantize bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := modelfile.Write(&buf, m, modelfile.WriteOptions{Quantize: quantize}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// editModel returns the good model changed by f, as a float32 file.
func editModel(t testing.TB, f func(m *modelfile.Model)) []byte {
	m := goodModel()
	f(m)
	return modelBytes(t, m, false)
}

// rawModelFile assembles a model file from a header text and data buffer,
// for damage that Write refuses to produce.
func rawModelFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// photo is a smooth colourful w×h image with some structure.
func photo(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			r := 128 + 100*math.Sin(float64(x)*0.5)
			g := 128 + 100*math.Cos(float64(y)*0.4)
			b := 255 * float64(x+y) / float64(w+h)
			img.SetNRGBA(x, y, color.NRGBA{uint8(r), uint8(g), uint8(b), 255})
		}
	}
	return img
}

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegHeaderOnly is a baseline JPEG whose SOF0 declares w×h, with a scan
// header but no scan data.
func jpegHeaderOnly(w, h uint16) []byte {
	b := []byte{0xff, 0xd8} // SOI
	sof := []byte{0xff, 0xc0, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0}
	b = append(b, sof...)
	b = append(b, 0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0) // SOS
	return append(b, 0xff, 0xd9)                                          // EOI
}

// gifScreen is a GIF whose logical screen is w×h with one 1×1 frame.
func gifScreen(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	b = append(b, 0x80, 0, 0, 0, 0, 0, 255, 255, 255) // 2-colour global table
	b = append(b, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0)    // image descriptor 1×1
	b = append(b, 2, 2, 0x44, 0x01, 0)                // LZW min size 2, one data block
	return append(b, 0x3b)
}

// npyBytes encodes a tensor as .npy.
func npyBytes(t testing.TB, x *tensor.Tensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := npy.Write(&buf, x); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// inputTensor is a valid preprocessed input with one value replaced by v
// (index -1: none).
func inputTensor(at int, v float32) *tensor.Tensor {
	x := tensor.New(3, inputSize, inputSize)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(float64(i) * 0.37))
	}
	if at >= 0 {
		x.Data[at] = v
	}
	return x
}

// A small ONNX writer: ModelProto bytes field by field, so that the suite
// can make valid and deliberately broken models.

type pb []byte

func (b pb) varint(num protowire.Number, v uint64) pb {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (b pb) bytes(num protowire.Number, v []byte) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func (b pb) str(num protowire.Number, s string) pb { return b.bytes(num, []byte(s)) }

func packed(v []int64) []byte {
	var p []byte
	for _, x := range v {
		p = protowire.AppendVarint(p, uint64(x))
	}
	return p
}

const onnxFloat = 1 // TensorProto.FLOAT

func onnxTensor(name string, dims []int64, data []float32) pb {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	var b pb
	return b.bytes(1, packed(dims)).varint(2, onnxFloat).str(8, name).bytes(9, raw)
}

func onnxAttrInts(name string, v ...int64) pb {
	var b pb
	return b.str(1, name).varint(20, 7).bytes(8, packed(v))
}

func onnxAttrInt(name string, v int64) pb {
	var b pb
	return b.str(1, name).varint(20, 2).varint(3, uint64(v))
}

func onnxNode(op string, in, out []string, attrs ...pb) pb {
	var b pb
	for _, s := range in {
		b = b.str(1, s)
	}
	for _, s := range out {
		b = b.str(2, s)
	}
	b = b.str(3, "n_"+out[0]).str(4, op)
	for _, a := range attrs {
		b = b.bytes(5, a)
	}
	return b
}

func onnxValueInfo(name string, dims ...int64) pb {
	var shape pb
	for _, d := range dims {
		var dm pb
		shape = shape.bytes(1, dm.varint(1, uint64(d)))
	}
	var tt, tp, b pb
	tt = tt.varint(1, onnxFloat).bytes(2, shape)
	tp = tp.bytes(1, tt)
	return b.str(1, name).bytes(2, tp)
}

// onnxGraph is an ONNX graph under construction.
type onnxGraph struct {
	nodes, inits, inputs, outputs []pb
}

func (g onnxGraph) model() []byte {
	var gb pb
	for _, n := range g.nodes {
		gb = gb.bytes(1, n)
	}
	gb = gb.str(2, "robust")
	for _, t := range g.inits {
		gb = gb.bytes(5, t)
	}
	for _, v := range g.inputs {
		gb = gb.bytes(11, v)
	}
	for _, v := range g.outputs {
		gb = gb.bytes(12, v)
	}
	var op, b pb
	op = op.str(1, "").varint(2, 13)
	return b.varint(1, 8).str(2, "camlens-robust").bytes(8, op).bytes(7, gb)
}

// goodONNX is the good model's network as ONNX: x[1,3,16,16] → Conv →
// Relu → GlobalAveragePool → Flatten → Gemm (transB) → logits[1,3].
func goodONNX() onnxGraph {
	m := goodModel()
	w, b := m.Weights["conv1.weight"], m.Weights["conv1.bias"]
	fw, fb := m.Weights["fc.weight"], m.Weights["fc.bias"]
	return onnxGraph{
		nodes: []pb{
			onnxNode("Conv", []string{"x", "w", "b"}, []string{"conv1"}, onnxAttrInts("pads", 1, 1, 1, 1), onnxAttrInts("kernel_shape", 3, 3)),
			onnxNode("Relu", []string{"conv1"}, []string{"relu1"}),
			onnxNode("GlobalAveragePool", []string{"relu1"}, []string{"pool"}),
			onnxNode("Flatten", []string{"pool"}, []string{"flat"}, onnxAttrInt("axis", 1)),
			onnxNode("Gemm", []string{"flat", "fw", "fb"}, []string{"logits"}, onnxAttrInt("transB", 1)),
		},
		inits: []pb{
			onnxTensor("w", []int64{channels, 3, 3, 3}, w.Data),
			onnxTensor("b", []int64{channels}, b.Data),
			onnxTensor("fw", []int64{int64(len(labels)), channels}, fw.Data),
			onnxTensor("fb", []int64{int64(len(labels))}, fb.Data),
		},
		inputs:  []pb{onnxValueInfo("x", 1, 3, inputSize, inputSize)},
		outputs: []pb{onnxValueInfo("logits", 1, int64(len(labels)))},
	}
}
