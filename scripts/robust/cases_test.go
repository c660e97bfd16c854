package robust

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/core/onnx"
	"github.com/camlens/camlens/core/tensor"
	"github.com/camlens/camlens/scripts/e2e/badfiles"
)

func bytesOf(b []byte) func(testing.TB) []byte { return func(testing.TB) []byte { return b } }

// badCases is the table of bad inputs.
func badCases() []badCase {
	return []badCase{
		// Images.
		{name: "huge-png", what: "PNG whose header says 20,000 × 20,000 pixels", kind: kindImage,
			data: bytesOf(badfiles.PNGHeader(20000, 20000)), is: imaging.ErrTooLarge, msg: "png image is 20000×20000 = 400000000 pixels, limit 50000000"},
		{name: "jpeg-bomb", what: "JPEG whose frame header says 65,000 × 65,000", kind: kindImage,
			data: bytesOf(jpegHeaderOnly(65000, 65000)), is: imaging.ErrTooLarge, msg: "jpeg image is 65000×65000"},
		{name: "gif-screen", what: "GIF with a 65,535 × 65,535 logical screen around a 1 × 1 frame", kind: kindImage,
			data: bytesOf(gifScreen(65535, 65535)), is: imaging.ErrTooLarge, msg: "gif image is 65535×65535"},
		{name: "renamed-pdf", what: "a PDF renamed to .png", kind: kindImage,
			data: bytesOf([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")), is: imaging.ErrFormat, msg: "not an image: looks like a PDF document"},
		{name: "empty-image", what: "an empty file", kind: kindImage,
			data: bytesOf(nil), is: imaging.ErrFormat, msg: "empty input"},
		{name: "html-page", what: "an HTML page saved as .jpg", kind: kindImage,
			data: bytesOf([]byte("<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n")), is: imaging.ErrFormat, msg: "looks like HTML or XML text"},
		{name: "heic-photo", what: "an iPhone HEIC photo", kind: kindImage,
			data: bytesOf([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")), is: imaging.ErrFormat, msg: "HEIC/HEIF image (not supported; export it as JPEG)"},
		{name: "truncated-png", what: "the first half of a PNG (interrupted download)", kind: kindImage,
			data: func(t testing.TB) []byte { b := pngBytes(t, photo(64, 48)); return b[:len(b)/2] }, msg: "decode png (64×48): the file is damaged or cut short: png: invalid format: not enough pixel data"},
		{name: "truncated-jpeg", what: "the first 80% of a JPEG", kind: kindImage,
			data: func(t testing.TB) []byte { b := jpegBytes(t, photo(64, 48)); return b[:len(b)*4/5] }, msg: "decode jpeg (64×48): the file is damaged or cut short"},
		{name: "model-as-image", what: "a CamLens model file dropped where an image goes", kind: kindImage,
			data: func(t testing.TB) []byte { return modelBytes(t, goodModel(), true) }, is: imaging.ErrFormat, msg: "not an image: looks like a safetensors file (a CamLens model? open it as .safetensors)"},
		{name: "png-bad-checksum", what: "a PNG with a flipped bit in its pixel data", kind: kindImage,
			data: func(t testing.TB) []byte {
				b := pngBytes(t, photo(24, 20))
				b[len(b)-20] ^= 0x10 // inside the last IDAT
				return b
			}, msg: "decode png (24×20): the file is damaged or cut short: png: invalid format: zlib: invalid checksum"},
		{name: "zero-size-png", what: "a PNG header declaring 0 × 5 pixels", kind: kindImage,
			data: bytesOf(badfiles.PNGHeader(0, 5)), msg: "read png header (the file is damaged or cut short): png: invalid format: non-positive dimension"},
		{name: "crop-outside", what: "a crop entirely outside the image", kind: kindImage,
			data: func(t testing.TB) []byte { return pngBytes(t, photo(24, 20)) }, crop: image.Rect(1000, 1000, 1010, 1010),
			flags: []string{"-crop", "1000,1000,10,10"}, is: imaging.ErrCrop, msg: "crop (1000,1000)-(1010,1010) does not overlap the image (0,0)-(24,20)"},

		// Tensors (already preprocessed input).
		{name: "nan-tensor", what: "an input tensor with a NaN", kind: kindTensor,
			data: func(t testing.TB) []byte { return npyBytes(t, inputTensor(77, float32(math.NaN()))) }, is: nn.ErrNotFinite, msg: "element 77 is NaN"},
		{name: "inf-tensor", what: "an input tensor with +Inf", kind: kindTensor,
			data: func(t testing.TB) []byte { return npyBytes(t, inputTensor(5, float32(math.Inf(1)))) }, is: nn.ErrNotFinite, msg: "element 5 is +Inf"},
		{name: "wrong-shape-tensor", what: "an input tensor of the wrong shape (3 × 8 × 8)", kind: kindTensor,
			data: func(t testing.TB) []byte { return npyBytes(t, tensor.New(3, 8, 8)) }, msg: "input shape [3 8 8], model \"robust-tiny\" wants [1 3 16 16]"},
		{name: "truncated-npy", what: "a .npy cut short", kind: kindTensor,
			data: func(t testing.TB) []byte { b := npyBytes(t, inputTensor(-1, 0)); return b[:len(b)-100] }, is: npy.ErrFormat, msg: "npy: data truncated: "},

		// Model files.
		{name: "half-model", what: "the first half of a model file (interrupted download)", kind: kindModel,
			data: func(t testing.TB) []byte { b := modelBytes(t, goodModel(), true); return b[:len(b)/2] }, is: modelfile.ErrTruncated, msg: "bytes follow the length field"},
		{name: "png-as-model", what: "a PNG renamed to .safetensors", kind: kindModel,
			data: func(t testing.TB) []byte { return pngBytes(t, photo(8, 8)) }, is: modelfile.ErrNotModelFile, msg: "this looks like a PNG image, not a safetensors file"},
		{name: "empty-model", what: "an empty model file", kind: kindModel,
			data: bytesOf(nil), is: modelfile.ErrTruncated, msg: "file is 0 bytes"},
		{name: "nan-weight", what: "a model file with a NaN weight", kind: kindModel,
			data: func(t testing.TB) []byte {
				return patchWeight(t, "fc.weight", 4, float32(math.NaN()))
			}, is: modelfile.ErrInvalid, msg: `tensor "fc.weight": element 4`},
		{name: "huge-tensor", what: "a header declaring a 10^12-element tensor", kind: kindModel,
			data: func(t testing.TB) []byte {
				return rawModelFile(`{"__metadata__":{"format":"camlens","version":"1"},"w":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4]}}`, make([]byte, 4))
			}, is: modelfile.ErrTooLarge, msg: "shape [1000000 1000000]"},
		{name: "graph-cycle", what: "a graph whose first node reads the last one (a cycle)", kind: kindModel,
			data: func(t testing.TB) []byte {
				return editGraphJSON(t, func(g *nn.GraphSpec) { g.Nodes[0].Inputs = []string{"fc"} })
			}, is: modelfile.ErrInvalid, msg: `input "fc" is not the graph input or an earlier node`},
		{name: "too-many-nodes", what: "a graph of 10,001 nodes", kind: kindModel,
			data: func(t testing.TB) []byte {
				return editGraphJSON(t, func(g *nn.GraphSpec) {
					prev := "fc"
					for i := range nn.MaxNodes + 1 - len(g.Nodes) {
						name := fmt.Sprintf("id%d", i)
						g.Nodes = append(g.Nodes, nn.NodeSpec{Name: name, Op: "identity", Inputs: []string{prev}})
						prev = name
					}
				})
			}, is: modelfile.ErrTooLarge, msg: "graph has 10001 nodes, limit 10000"},
		{name: "unknown-op", what: "a graph with an op CamLens does not have (loop)", kind: kindModel,
			data: func(t testing.TB) []byte {
				return editGraphJSON(t, func(g *nn.GraphSpec) { g.Nodes[1].Op = "loop" })
			}, is: modelfile.ErrInvalid, msg: `op "loop" is not in format version 1`},
		{name: "zero-stride", what: "a convolution with stride 0", kind: kindModel,
			data: func(t testing.TB) []byte {
				return editModel(t, func(m *modelfile.Model) { m.Graph.Nodes[0].Attrs.Stride = []int{0, 0} })
			}, msg: `node "conv1" (conv2d): stride [0 0]: values must be ≥ 1`},
		{name: "huge-dilation", what: "a convolution with dilation 2^62", kind: kindModel,
			data: func(t testing.TB) []byte {
				return editModel(t, func(m *modelfile.Model) { m.Graph.Nodes[0].Attrs.Dilation = []int{1 << 62, 1} })
			}, is: nn.ErrTooLarge, msg: `node "conv1" (conv2d): over a size limit: attribute dilation [4611686018427387904 1]`},
		{name: "future-version", what: "a model file of format version 2", kind: kindModel,
			data: func(t testing.TB) []byte {
				return editHeader(t, func(h map[string]any) { h["__metadata__"].(map[string]any)["version"] = "2" })
			}, is: modelfile.ErrVersion, msg: `format version "2"`},
		{name: "plain-safetensors", what: "a safetensors file that is not a CamLens model", kind: kindModel,
			data: func(t testing.TB) []byte {
				return rawModelFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4))
			}, is: modelfile.ErrNotModelFile, msg: `header has no "__metadata__"`},
		{name: "deep-json", what: "a header of 100,000 nested JSON arrays", kind: kindModel,
			data: func(t testing.TB) []byte {
				return rawModelFile(`{"__metadata__":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`, nil)
			}, is: modelfile.ErrInvalid, msg: "exceeded max depth"},
		{name: "overflowing-weights", what: "finite weights so large the convolution overflows to Inf", kind: kindModel,
			data: func(t testing.TB) []byte {
				return editModel(t, func(m *modelfile.Model) {
					for i := range m.Weights["conv1.weight"].Data {
						m.Weights["conv1.weight"].Data[i] = 3e38
					}
				})
			}, is: nn.ErrNotFinite, msg: `node "conv1" (conv2d): value not finite`},
		{name: "overflowing-preprocess", what: "a model whose preprocessing std (1e-40) turns pixels into Inf", kind: kindModel,
			data: func(t testing.TB) []byte {
				return editModel(t, func(m *modelfile.Model) { m.Meta.Preprocess.Std = []float32{1e-40, 1e-40, 1e-40} })
			}, is: nn.ErrNotFinite, msg: "preprocessing gives a non-finite value"},
		{name: "output-not-logits", what: "a model whose output is a feature map, not 1 × K logits", kind: kindModel,
			data: func(t testing.TB) []byte {
				return editModel(t, func(m *modelfile.Model) { m.Graph.Output = "relu1"; m.Meta.Labels = nil })
			}, msg: `output node "relu1" has shape [1 8 16 16], want 1×K logits`},
		{name: "oversized-model", what: "a 300 MB model file", kind: kindModel,
			sparse: 300 << 20,
			api:    func(e *env, _ []byte, path string) error { return e.modelRun(modelfile.Load(path)) },
			is:     modelfile.ErrTooLarge, msg: "file is 314572800 bytes, limit 268435456"},

		// ONNX models.
		{name: "onnx-loop", what: "an ONNX model with a Loop", kind: kindONNX,
			data: func(testing.TB) []byte {
				g := goodONNX()
				g.nodes = append(g.nodes[:1:1], append([]pb{onnxNode("Loop", []string{"", ""}, []string{"l"})}, g.nodes[1:]...)...)
				return g.model()
			}, msg: "control-flow op Loop is not supported"},
		{name: "onnx-cycle", what: "an ONNX graph with a cycle (Relu → GlobalAveragePool → Relu)", kind: kindONNX,
			data: func(testing.TB) []byte {
				g := goodONNX()
				g.nodes[1] = onnxNode("Relu", []string{"pool"}, []string{"relu1"})
				return g.model()
			}, msg: `input "pool" is produced by node 2, which does not come earlier (ONNX graphs must be topologically sorted and acyclic)`},
		{name: "onnx-huge-tensor", what: "an ONNX initializer of 10^12 elements", kind: kindONNX,
			data: func(testing.TB) []byte {
				g := goodONNX()
				g.inits[0] = onnxTensor("w", []int64{1000000, 1000000}, nil)
				return g.model()
			}, is: tensor.ErrTooLarge, msg: "shape [1000000 1000000]"},
		{name: "onnx-too-many-nodes", what: "an ONNX graph of 50,001 nodes", kind: kindONNX,
			data: func(testing.TB) []byte {
				g := goodONNX()
				prev := "logits0"
				g.nodes[4] = onnxNode("Gemm", []string{"flat", "fw", "fb"}, []string{prev}, onnxAttrInt("transB", 1))
				for i := range 50001 - len(g.nodes) {
					out := fmt.Sprintf("id%d", i)
					if i == 50001-5-1 {
						out = "logits"
					}
					g.nodes = append(g.nodes, onnxNode("Identity", []string{prev}, []string{out}))
					prev = out
				}
				return g.model()
			}, is: onnx.ErrTooLarge, msg: "more than 50000 nodes: over a size limit"},
		{name: "onnx-truncated", what: "the first half of an ONNX file", kind: kindONNX,
			data: func(testing.TB) []byte { b := goodONNX().model(); return b[:len(b)/2] }, msg: "onnx: decoding ModelProto"},
		{name: "onnx-is-pdf", what: "a PDF renamed to .onnx", kind: kindONNX,
			data: bytesOf([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")), msg: "onnx: this looks like a PDF document, not an ONNX model"},
		{name: "model-as-onnx", what: "a CamLens model file renamed to .onnx", kind: kindONNX,
			data: func(t testing.TB) []byte { return modelBytes(t, goodModel(), true) }, msg: "onnx: this looks like a safetensors file (a CamLens model? open it as .safetensors), not an ONNX model"},
		{name: "onnx-external-data", what: "an ONNX model whose weights are in an external file", kind: kindONNX,
			data: func(testing.TB) []byte {
				g := goodONNX()
				var loc, b pb
				loc = loc.str(1, "location").str(2, "weights.bin")
				g.inits[0] = b.bytes(1, packed([]int64{channels, 3, 3, 3})).varint(2, onnxFloat).str(8, "w").bytes(13, loc).varint(14, 1)
				return g.model()
			}, msg: "external data is not supported"},
		{name: "onnx-unsupported-op", what: "an ONNX model with an op CamLens cannot map (NonMaxSuppression)", kind: kindONNX,
			data: func(testing.TB) []byte {
				g := goodONNX()
				g.nodes[1] = onnxNode("NonMaxSuppression", []string{"conv1"}, []string{"relu1"})
				return g.model()
			}, msg: "unsupported op NonMaxSuppression"},
		{name: "onnx-nan-weight", what: "an ONNX model with a NaN weight", kind: kindONNX,
			data: func(testing.TB) []byte {
				g := goodONNX()
				w := goodModel().Weights["conv1.weight"].Data
				w[3] = float32(math.NaN())
				g.inits[0] = onnxTensor("w", []int64{channels, 3, 3, 3}, w)
				return g.model()
			}, is: nn.ErrNotFinite, msg: `weight "conv1.weight": element 3 is NaN`},

		// Requests.
		{name: "class-out-of-range", what: "class 7 of a 3-class model", kind: kindRequest,
			req: mustReq(7, "gradcam", nil), flags: []string{"-class", "7"}, msg: "class 7 out of range [0, 3)"},
		{name: "unknown-layer", what: "a target layer the model does not have", kind: kindRequest,
			req: mustReq(-1, "gradcam", []string{"conv9"}), flags: []string{"-layer", "conv9"}, msg: `no layer named "conv9"`},
		{name: "ablation-zero-score", what: "Ablation-CAM of a class whose score is exactly 0", kind: kindRequest,
			req: mustReq(2, "ablationcam", nil), flags: []string{"-method", "ablationcam", "-class", "2"}, msg: "the target's value is 0 for class 2"},
		{name: "cam-needs-gap", what: "CAM on a layer not followed by global pooling", kind: kindRequest,
			req: mustReq(-1, "cam", []string{"conv1"}), flags: []string{"-method", "cam", "-layer", "conv1"}, msg: `CAM needs layer "conv1" → global average pooling → dense, but "conv1" is followed by "relu1" (relu)`},
	}
}

func mustReq(class int, method string, layers []string) cam.Request {
	return cam.Request{Method: method, Class: class, Layers: layers}
}

// editHeader returns the good model file (float32) with its JSON header
// changed by f.
func editHeader(t testing.TB, f func(h map[string]any)) []byte {
	t.Helper()
	b := modelBytes(t, goodModel(), false)
	n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16 | int(b[3])<<24
	var h map[string]any
	if err := json.Unmarshal(b[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	f(h)
	hb, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return rawModelFile(string(hb), b[8+n:])
}

// editGraphJSON changes the graph stored in the good model's header
// (damage that Write would refuse).
func editGraphJSON(t testing.TB, f func(g *nn.GraphSpec)) []byte {
	return editHeader(t, func(h map[string]any) {
		md := h["__metadata__"].(map[string]any)
		var g nn.GraphSpec
		if err := json.Unmarshal([]byte(md["graph"].(string)), &g); err != nil {
			t.Fatal(err)
		}
		f(&g)
		gb, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		md["graph"] = string(gb)
	})
}

// patchWeight returns the good model file (float32) with element i of a
// weight set to v in the data buffer (Write refuses non-finite weights).
func patchWeight(t testing.TB, name string, i int, v float32) []byte {
	t.Helper()
	b := modelBytes(t, goodModel(), false)
	n := int(binary.LittleEndian.Uint64(b))
	var h map[string]struct {
		Offsets []int `json:"data_offsets"`
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, "__metadata__")
	rb, _ := json.Marshal(raw)
	if err := json.Unmarshal(rb, &h); err != nil {
		t.Fatal(err)
	}
	at := 8 + n + h[name].Offsets[0] + 4*i
	binary.LittleEndian.PutUint32(b[at:], math.Float32bits(v))
	return b
}
