package modelfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic; an error
// must wrap one of the sentinels and start with "modelfile: "; a file it
// accepts must pass Validate, and writing it (float32 and int8) and
// parsing that again must work, reproduce the float32 weights bit for bit
// and be a fixed point of Write.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/tiny.safetensors", "testdata/tiny-f32.safetensors"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	small := &Model{
		Meta: Meta{Name: "s", Labels: []string{"a", "b"}},
		Graph: nn.GraphSpec{
			Input: nn.InputSpec{Name: "x", Shape: []int{3}},
			Nodes: []nn.NodeSpec{
				{Name: "fc", Op: "dense", Inputs: []string{"x"}},
				{Name: "r", Op: "relu", Inputs: []string{"fc"}},
			},
		},
		Weights: map[string]*tensor.Tensor{
			"fc.weight": {Shape: []int{2, 3}, Data: []float32{1, -2, 3, 0, 0, 0}},
			"fc.bias":   {Shape: []int{2}, Data: []float32{0.5, -0.5}},
		},
	}
	for _, q := range []bool{false, true} {
		var b bytes.Buffer
		if err := Write(&b, small, WriteOptions{Quantize: q}); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte{})
	f.Add(binary.LittleEndian.AppendUint64(nil, 2))
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 2), "{}"...))
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 40), `{"__metadata__":{"format":"camlens"}}   `...))

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			checkParseErr(t, err)
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Parse accepted a model that Validate rejects: %v", err)
		}
		for _, q := range []bool{false, true} {
			var b1 bytes.Buffer
			if err := Write(&b1, m, WriteOptions{Quantize: q}); err != nil {
				t.Fatalf("quantize=%v: Write of a parsed model: %v", q, err)
			}
			m2, err := Parse(b1.Bytes())
			if err != nil {
				t.Fatalf("quantize=%v: Parse(Write(Parse(data))): %v", q, err)
			}
			var b2 bytes.Buffer
			if err := Write(&b2, m2, WriteOptions{Quantize: q}); err != nil {
				t.Fatal(err)
			}
			if !q && !bytes.Equal(b1.Bytes(), b2.Bytes()) {
				t.Fatal("float32 Write is not a fixed point after Parse")
			}
			if q {
				continue
			}
			for name, w := range m.Weights {
				w2 := m2.Weights[name]
				if w2 == nil || !tensor.SameShape(w.Shape, w2.Shape) || len(w.Data) != len(w2.Data) {
					t.Fatalf("%s lost or reshaped in the round trip", name)
				}
				for i := range w.Data {
					if math.Float32bits(w.Data[i]) != math.Float32bits(w2.Data[i]) {
						t.Fatalf("%s[%d]: %v became %v", name, i, w.Data[i], w2.Data[i])
					}
				}
			}
		}
	})
}

func checkParseErr(t *testing.T, err error) {
	t.Helper()
	n := 0
	for _, s := range []error{ErrNotModelFile, ErrTruncated, ErrVersion, ErrTooLarge, ErrInvalid} {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error wraps %d sentinels, want 1: %v", n, err)
	}
	if !strings.HasPrefix(err.Error(), "modelfile: ") {
		t.Fatalf("error without the package prefix: %v", err)
	}
}
