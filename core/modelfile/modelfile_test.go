package modelfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

var update = flag.Bool("update", false, "rewrite the golden files testdata/tiny*.safetensors")

func f32p(v float32) *float32 { return &v }

func randTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
	return t
}

// testModel is a small model that uses every kind of parameter: conv2d and
// dense weights (quantised), biases, batchnorm statistics, a prelu slope, a
// scalar const. Channel 2 of conv1.weight is all zeros (scale 0).
func testModel() *Model {
	rng := rand.New(rand.NewPCG(1, 2))
	w := map[string]*tensor.Tensor{
		"conv1.weight": randTensor(rng, 4, 3, 3, 3),
		"conv1.bias":   randTensor(rng, 4),
		"bn1.scale":    randTensor(rng, 4),
		"bn1.bias":     randTensor(rng, 4),
		"bn1.mean":     randTensor(rng, 4),
		"bn1.var":      tensor.New(4),
		"act1.slope":   randTensor(rng, 4),
		"fc.weight":    randTensor(rng, 5, 4),
		"fc.bias":      randTensor(rng, 5),
		"two.value":    {Shape: []int{}, Data: []float32{2}},
	}
	for i := range w["bn1.var"].Data {
		w["bn1.var"].Data[i] = 0.5 + float32(i)
	}
	cw := w["conv1.weight"].Data
	clear(cw[2*27 : 3*27])
	cw[0] = float32(math.Copysign(0, -1))
	cw[1] = 1e-30 // tiny, quantises to 0
	return &Model{
		Meta: Meta{
			Name:        "tiny",
			Title:       "Tiny <test> & model",
			Description: "A model for the modelfile tests.",
			Labels:      []string{"zero", "one", "two", "three", "four"},
			Preprocess: Preprocess{
				Width: 8, Height: 8, Channels: "RGB", Fit: "stretch", Resize: "bilinear",
				Scale: 1.0 / 255, Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225},
			},
			Provenance: Provenance{
				Source:  "modelfile_test.go testModel",
				License: "MIT",
				SHA256:  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
				Metrics: map[string]string{"test_accuracy_float": "0.5", "test_accuracy_int8": "0.49"},
			},
			DefaultLayer: "clip1",
		},
		Graph: nn.GraphSpec{
			Input: nn.InputSpec{Name: "image", Shape: []int{3, 8, 8}},
			Nodes: []nn.NodeSpec{
				{Name: "conv1", Op: "conv2d", Inputs: []string{"image"}, Attrs: nn.Attrs{Stride: []int{2, 2}, Pads: []int{1, 1, 1, 1}}},
				{Name: "bn1", Op: "batchnorm", Inputs: []string{"conv1"}, Attrs: nn.Attrs{Eps: 1e-5}},
				{Name: "act1", Op: "prelu", Inputs: []string{"bn1"}},
				{Name: "clip1", Op: "clip", Inputs: []string{"act1"}, Attrs: nn.Attrs{Min: f32p(0), Max: f32p(6)}},
				{Name: "two", Op: "const"},
				{Name: "scaled", Op: "mul", Inputs: []string{"clip1", "two"}},
				{Name: "pool", Op: "globalavgpool", Inputs: []string{"scaled"}},
				{Name: "flat", Op: "flatten", Inputs: []string{"pool"}, Attrs: nn.Attrs{Axis: 1}},
				{Name: "fc", Op: "dense", Inputs: []string{"flat"}},
			},
			Output: "fc",
		},
		Weights: w,
	}
}

func encodeT(t testing.TB, m *Model, quantize bool) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, m, WriteOptions{Quantize: quantize}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// channelScales returns max|x|/127 per slice of axis 0, as the writer does.
func channelScales(x *tensor.Tensor) []float32 {
	c := x.Shape[0]
	per := len(x.Data) / c
	s := make([]float32, c)
	for ch := range s {
		var m float32
		for _, v := range x.Data[ch*per : (ch+1)*per] {
			m = max(m, float32(math.Abs(float64(v))))
		}
		s[ch] = m / 127
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	for _, quantize := range []bool{false, true} {
		name := "f32"
		if quantize {
			name = "int8"
		}
		t.Run(name, func(t *testing.T) {
			m := testModel()
			got, err := Parse(encodeT(t, m, quantize))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Meta, m.Meta) {
				t.Errorf("meta:\n got %+v\nwant %+v", got.Meta, m.Meta)
			}
			if !reflect.DeepEqual(got.Graph, m.Graph) {
				t.Errorf("graph:\n got %+v\nwant %+v", got.Graph, m.Graph)
			}
			if len(got.Weights) != len(m.Weights) {
				t.Errorf("%d weights, want %d", len(got.Weights), len(m.Weights))
			}
			for name, want := range m.Weights {
				g := got.Weights[name]
				if g == nil {
					t.Errorf("%s missing", name)
					continue
				}
				if !tensor.SameShape(g.Shape, want.Shape) || len(g.Data) != len(want.Data) {
					t.Errorf("%s: shape %v, want %v", name, g.Shape, want.Shape)
					continue
				}
				quantized := quantize && (name == "conv1.weight" || name == "fc.weight")
				if !quantized {
					for i := range want.Data {
						if math.Float32bits(g.Data[i]) != math.Float32bits(want.Data[i]) {
							t.Errorf("%s[%d] = %v, want exactly %v", name, i, g.Data[i], want.Data[i])
							break
						}
					}
					continue
				}
				scales := channelScales(want)
				per := len(want.Data) / len(scales)
				var worst float64
				for i := range want.Data {
					s := float64(scales[i/per])
					d := math.Abs(float64(g.Data[i]) - float64(want.Data[i]))
					// Half a quantisation step, plus float32 rounding of x/s and q·s.
					if tol := s/2 + 1e-6*math.Abs(float64(want.Data[i])) + 1e-30; d > tol {
						t.Errorf("%s[%d] = %v, want %v within scale/2 = %v", name, i, g.Data[i], want.Data[i], s/2)
						break
					}
					if s > 0 {
						worst = max(worst, d/s)
					}
				}
				if worst == 0 {
					t.Errorf("%s: dequantised exactly; was it quantised at all?", name)
				}
				t.Logf("%s: worst error %.4f·scale", name, worst)
			}
			// The all-zero channel stays zero.
			for i, v := range got.Weights["conv1.weight"].Data[2*27 : 3*27] {
				if v != 0 {
					t.Errorf("conv1.weight zero channel element %d = %v", i, v)
				}
			}
		})
	}
}

// TestLayout checks the file against the safetensors rules directly,
// without this package's reader.
func TestLayout(t *testing.T) {
	for _, quantize := range []bool{false, true} {
		b := encodeT(t, testModel(), quantize)
		n := binary.LittleEndian.Uint64(b)
		if (8+n)%8 != 0 {
			t.Errorf("data buffer starts at %d, not 8-aligned", 8+n)
		}
		var h map[string]json.RawMessage
		if err := json.Unmarshal(b[8:8+n], &h); err != nil {
			t.Fatal(err)
		}
		var md map[string]string
		if err := json.Unmarshal(h["__metadata__"], &md); err != nil {
			t.Fatal(err)
		}
		if md["format"] != "camlens" || md["version"] != "1" || md["meta"] == "" || md["graph"] == "" || len(md) != 4 {
			t.Errorf("metadata keys: %v", md)
		}
		want := map[string]string{"conv1.weight": "F32", "fc.weight": "F32", "conv1.bias": "F32", "two.value": "F32"}
		if quantize {
			want["conv1.weight"], want["fc.weight"] = "I8", "I8"
			want["conv1.weight_scale"], want["fc.weight_scale"] = "F32", "F32"
		}
		size := map[string]int64{"F32": 4, "I8": 1}
		var total int64
		for name, raw := range h {
			if name == "__metadata__" {
				continue
			}
			var ti struct {
				Dtype       string
				Shape       []int
				DataOffsets [2]int64 `json:"data_offsets"`
			}
			if err := json.Unmarshal(raw, &ti); err != nil {
				t.Fatal(err)
			}
			if d, ok := want[name]; ok && d != ti.Dtype {
				t.Errorf("quantize=%v: %s is %s, want %s", quantize, name, ti.Dtype, d)
			}
			if ti.Dtype == "F32" && ti.DataOffsets[0]%4 != 0 {
				t.Errorf("%s: F32 at offset %d, not 4-aligned", name, ti.DataOffsets[0])
			}
			n, _ := tensor.NumElements(ti.Shape)
			if ti.DataOffsets[1]-ti.DataOffsets[0] != int64(n)*size[ti.Dtype] {
				t.Errorf("%s: %v bytes for shape %v", name, ti.DataOffsets, ti.Shape)
			}
			total += ti.DataOffsets[1] - ti.DataOffsets[0]
		}
		if total != int64(len(b))-8-int64(n) {
			t.Errorf("tensors hold %d bytes, data buffer is %d", total, int64(len(b))-8-int64(n))
		}
		if quantize {
			if len(h) != 13 {
				t.Errorf("%d header entries, want 13 (metadata, 10 weights, 2 scales)", len(h))
			}
			var s struct{ Shape []int }
			json.Unmarshal(h["conv1.weight_scale"], &s)
			if !reflect.DeepEqual(s.Shape, []int{4}) {
				t.Errorf("conv1.weight_scale shape %v, want [4]", s.Shape)
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, quantize := range []bool{false, true} {
		a := encodeT(t, testModel(), quantize)
		for i := 0; i < 5; i++ { // map iteration order differs between calls
			if b := encodeT(t, testModel(), quantize); !bytes.Equal(a, b) {
				t.Fatalf("quantize=%v: write %d differs from the first", quantize, i+2)
			}
		}
		// A float32 file read and written again gives the same bytes. (An
		// int8 one need not: re-deriving a scale from dequantised values,
		// fl(fl(127·s)/127), is s again for about 99% of float32 values.)
		if !quantize {
			m, err := Parse(a)
			if err != nil {
				t.Fatal(err)
			}
			if b := encodeT(t, m, quantize); !bytes.Equal(a, b) {
				t.Error("Write(Parse(file)) differs from file")
			}
		}
	}
	if bytes.Equal(encodeT(t, testModel(), false), encodeT(t, testModel(), true)) {
		t.Error("Quantize makes no difference")
	}
}

// TestGolden pins the exact bytes of the format; run with -update after a
// deliberate format change. The files are also the fuzz seeds and the
// input of the Python reader in models/FORMAT.md, which
// scripts/test.d/40-modelfile-python.sh checks against
// tiny-dequantized.safetensors: this reader's values of tiny.safetensors,
// stored as float32.
func TestGolden(t *testing.T) {
	q := encodeT(t, testModel(), true)
	deq, err := Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		b    []byte
	}{
		{"tiny.safetensors", q},
		{"tiny-f32.safetensors", encodeT(t, testModel(), false)},
		{"tiny-dequantized.safetensors", encodeT(t, deq, false)},
	} {
		b := c.b
		path := filepath.Join("testdata", c.file)
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s: Write output (%d bytes) differs from the golden file (%d bytes); if the format change is deliberate, run go test -update", path, len(b), len(want))
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	b := encodeT(t, testModel(), true)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Parse(b)
	if !reflect.DeepEqual(m, want) {
		t.Error("Load and Parse disagree")
	}

	// A file over the limit is refused from its size, before reading.
	big := filepath.Join(dir, "big.safetensors")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Load(big); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), big) {
		t.Errorf("Load(big) = %v, want ErrTooLarge naming the file", err)
	}

	// Truncated on disk.
	short := filepath.Join(dir, "short.safetensors")
	os.WriteFile(short, b[:len(b)-3], 0o644)
	if _, err := Load(short); !errors.Is(err, ErrTruncated) {
		t.Errorf("Load(short) = %v, want ErrTruncated", err)
	}
	if _, err := Load(filepath.Join(dir, "absent.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(absent) = %v, want ErrNotExist", err)
	}
	if _, err := Load(dir); err == nil {
		t.Error("Load(directory) succeeded")
	}
}

// TestWriteRejects checks that Write refuses models Parse would reject,
// naming what is wrong.
func TestWriteRejects(t *testing.T) {
	cases := []struct {
		name   string
		change func(m *Model)
		want   string
	}{
		{"nil weight", func(m *Model) { m.Weights["fc.bias"] = nil }, `tensor "fc.bias" is nil`},
		{"NaN weight", func(m *Model) { m.Weights["fc.bias"].Data[3] = float32(math.NaN()) }, `tensor "fc.bias": element 3 is NaN`},
		{"Inf in quantised weight", func(m *Model) { m.Weights["conv1.weight"].Data[7] = float32(math.Inf(-1)) }, `tensor "conv1.weight": element 7 is -Inf`},
		{"shape/data mismatch", func(m *Model) { m.Weights["fc.bias"].Shape = []int{6} }, `tensor "fc.bias": shape [6] needs 6 elements, data has 5`},
		{"missing weight", func(m *Model) { delete(m.Weights, "bn1.var") }, `graph node "bn1" (batchnorm) needs weight "bn1.var", which is missing`},
		{"orphan weight", func(m *Model) { m.Weights["fc.extra"] = tensor.New(1) }, `tensor "fc.extra" is not a parameter of any graph node`},
		{"unknown op", func(m *Model) { m.Graph.Nodes[6].Op = "lstm" }, `graph node "pool": op "lstm" is not in format version 1`},
		{"forward reference", func(m *Model) { m.Graph.Nodes[0].Inputs = []string{"fc"} }, `graph node "conv1": input "fc" is not the graph input or an earlier node`},
		{"duplicate node", func(m *Model) { m.Graph.Nodes[7].Name = "pool" }, `duplicate name "pool"`},
		{"bad output", func(m *Model) { m.Graph.Output = "logits" }, `graph output "logits" is not a node`},
		{"bad default layer", func(m *Model) { m.Meta.DefaultLayer = "conv9" }, `default_layer "conv9" is not a graph node`},
		{"no name", func(m *Model) { m.Meta.Name = "" }, "meta: name is empty"},
		{"bad channels", func(m *Model) { m.Meta.Preprocess.Channels = "rgb" }, `channels "rgb"`},
		{"channels vs input", func(m *Model) {
			m.Meta.Preprocess.Channels = "L"
			m.Meta.Preprocess.Mean = nil
			m.Meta.Preprocess.Std = nil
		}, "give 1 channels, the graph input [3 8 8] has 3"},
		{"size vs input", func(m *Model) { m.Meta.Preprocess.Width = 9 }, "size 9×8 does not match the graph input"},
		{"zero std", func(m *Model) { m.Meta.Preprocess.Std[1] = 0 }, "std[1] = 0"},
		{"mean length", func(m *Model) { m.Meta.Preprocess.Mean = m.Meta.Preprocess.Mean[:2] }, "mean has 2 values for 3 channels"},
		{"bad sha256", func(m *Model) { m.Meta.Provenance.SHA256 = "ABC" }, "sha256"},
		{"no nodes", func(m *Model) { m.Graph.Nodes = nil; m.Weights = nil }, "graph has no nodes"},
		{"bad input shape", func(m *Model) { m.Graph.Input.Shape = []int{3, 0, 8} }, "non-positive dimension"},
		{"reserved name", func(m *Model) { m.Weights["__metadata__"] = tensor.New(1) }, `reserved`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := testModel()
			c.change(m)
			for _, q := range []bool{false, true} {
				err := Write(&bytes.Buffer{}, m, WriteOptions{Quantize: q})
				if err == nil || !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "modelfile: write: ") {
					t.Errorf("Write = %v, want an error containing %q", err, c.want)
				}
			}
		})
	}
	if err := Write(failWriter{}, testModel(), WriteOptions{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Write to a failing writer = %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestBuild(t *testing.T) {
	m := &Model{
		Meta: Meta{Name: "relu", Labels: []string{"a", "b", "c"}},
		Graph: nn.GraphSpec{
			Input: nn.InputSpec{Name: "x", Shape: []int{3}},
			Nodes: []nn.NodeSpec{{Name: "r", Op: "relu", Inputs: []string{"x"}}},
		},
	}
	m2, err := Parse(encodeT(t, m, true))
	if err != nil {
		t.Fatal(err)
	}
	g, err := m2.Build()
	if err != nil {
		t.Fatal(err)
	}
	x, _ := tensor.FromData([]int{1, 3}, []float32{-1, 0, 2})
	a, err := g.Forward(nil, x)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Output().Data; !reflect.DeepEqual(got, []float32{0, 0, 2}) {
		t.Errorf("forward = %v", got)
	}

	m.Meta.Labels = []string{"a", "b"}
	if _, err := m.Build(); err == nil || !strings.Contains(err.Error(), `2 labels, but output node "r" has 3 values`) {
		t.Errorf("Build with 2 labels for 3 outputs = %v", err)
	}
}

// TestBuildConvNet builds and runs a parsed int8 conv net once the conv2d
// and dense ops are registered (they are written in parallel with this
// package); the int8 model's logits must be close to the float model's.
func TestBuildConvNet(t *testing.T) {
	for _, op := range []string{"conv2d", "dense", "globalavgpool", "flatten", "batchnorm", "prelu", "clip", "const", "mul"} {
		if !hasOp(op) {
			t.Skipf("op %q not registered in core/nn yet", op)
		}
	}
	m := testModel()
	x := randTensor(rand.New(rand.NewPCG(3, 4)), 1, 3, 8, 8)
	var logits [2][]float32
	for i, q := range []bool{false, true} {
		p, err := Parse(encodeT(t, m, q))
		if err != nil {
			t.Fatal(err)
		}
		g, err := p.Build()
		if err != nil {
			t.Fatal(err)
		}
		a, err := g.Forward(nil, x)
		if err != nil {
			t.Fatal(err)
		}
		logits[i] = a.Output().Data
	}
	ref, err := m.Build()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := ref.Forward(nil, x)
	if d := tensor.MaxAbsDiff(a.Output().Data, logits[0]); d != 0 {
		t.Errorf("float file: logits differ from the in-memory model by %g", d)
	}
	d := tensor.MaxAbsDiff(logits[0], logits[1])
	if d > 0.05 || d == 0 {
		t.Errorf("int8 vs float logits differ by %g, want (0, 0.05]", d)
	}
	t.Logf("logits %v; int8 vs float max abs difference %g", logits[0], d)
}

func hasOp(name string) bool {
	for _, op := range nn.Ops() {
		if op == name {
			return true
		}
	}
	return false
}

// TestOpTable keeps the format's op list in step with core/nn: every op
// nn can build must be in the format (or models using it could not be
// saved), and opParams and formatOps must agree.
func TestOpTable(t *testing.T) {
	ops := formatOps()
	for i, op := range ops {
		if _, _, ok := opParams(op); !ok {
			t.Errorf("formatOps lists %q, opParams does not know it", op)
		}
		if i > 0 && ops[i-1] >= op {
			t.Errorf("formatOps not sorted at %q", op)
		}
	}
	for _, op := range nn.Ops() {
		if _, _, ok := opParams(op); !ok {
			t.Errorf("core/nn registers op %q, which format version %s does not list (add it to opParams, formatOps and models/FORMAT.md)", op, Version)
		}
	}
	var missing []string
	for _, op := range ops {
		if !hasOp(op) {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		t.Logf("format ops not (yet) registered in core/nn: %v", missing)
	}
}
