package npy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

// TestReadNumPyFiles reads files written by NumPy (testdata/gen_npy.py).
func TestReadNumPyFiles(t *testing.T) {
	data, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		Shape []int
		Bits  []uint32
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) < 10 {
		t.Fatalf("only %d expected arrays", len(want))
	}
	for name, w := range want {
		f, err := os.Open("testdata/ok_" + name + ".npy")
		if err != nil {
			t.Fatal(err)
		}
		got, err := Read(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fmt.Sprint(got.Shape) != fmt.Sprint(w.Shape) || len(got.Data) != len(w.Bits) {
			t.Errorf("%s: shape %v (%d values), want %v (%d)", name, got.Shape, len(got.Data), w.Shape, len(w.Bits))
			continue
		}
		for i, b := range w.Bits {
			if math.Float32bits(got.Data[i]) != b {
				t.Errorf("%s[%d] = %v, want %v", name, i, got.Data[i], math.Float32frombits(b))
			}
		}
	}
}

func TestReadRejects(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"bad_fortran.npy", "fortran_order"},
		{"bad_i4.npy", `dtype "<i4" not supported`},
		{"bad_structured.npy", "structured dtypes"},
		{"bad_f8_overflow.npy", "overflows float32"},
		{"bad_truncated.npy", "data truncated: 19 of 24 bytes"},
	}
	for _, tc := range tests {
		f, err := os.Open(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Read(f)
		f.Close()
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrFormat mentioning %q", tc.file, err, tc.want)
		}
	}
}

// npyBytes builds a file from a header dict (padded like numpy) and data.
func npyBytes(major byte, dict string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString(Magic)
	b.Write([]byte{major, 0})
	h := dict + "\n"
	if major == 1 {
		b.Write([]byte{byte(len(h)), byte(len(h) >> 8)})
	} else {
		b.Write([]byte{byte(len(h)), byte(len(h) >> 8), byte(len(h) >> 16), byte(len(h) >> 24)})
	}
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

func TestReadMalformed(t *testing.T) {
	f4 := func(dict string) []byte { return npyBytes(1, dict, make([]byte, 8)) }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty input"},
		{"short preamble", []byte("\x93NUM"), "truncated preamble (4 of 8 bytes)"},
		{"bad magic", []byte("\x89PNG\r\n\x1a\n...."), "bad magic"},
		{"version 4", []byte(Magic + "\x04\x00\x10\x00"), "version 4.0"},
		{"version 1.1", []byte(Magic + "\x01\x01\x10\x00"), "version 1.1"},
		{"short header length", []byte(Magic + "\x02\x00\x10"), "truncated header length (1 of 4 bytes)"},
		{"huge header", []byte(Magic + "\x02\x00\xff\xff\xff\x7f"), "exceeds"},
		{"short header", []byte(Magic + "\x01\x00\x40\x00{'descr'"), "truncated header (8 of 64 bytes)"},
		{"non-ascii v1", npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'é': 1}", nil), "non-ASCII"},
		{"bad utf8 v3", npyBytes(3, "{'descr': '\xff'}", nil), "not valid UTF-8"},
		{"not a dict", f4("['descr', '<f4']"), "want '{'"},
		{"missing shape", f4("{'descr': '<f4', 'fortran_order': False}"), `missing key "shape"`},
		{"unknown key", f4("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"), `unexpected key "x"`},
		{"duplicate key", f4("{'descr': '<f4', 'descr': '<f4'}"), "duplicate key"},
		{"bad bool", f4("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}"), "True or False"},
		{"1-tuple without comma", f4("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}"), "trailing comma"},
		{"negative dim", f4("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}"), "non-negative integer"},
		{"float dim", f4("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}"), "want ',' or ')'"},
		{"huge dim", f4("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,)}"), "out of range"},
		{"unterminated", f4("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)"), "want ',' or '}'"},
		{"trailing text", f4("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x"), "trailing text"},
		{"escape in string", f4(`{'descr': '<f\4', 'fortran_order': False, 'shape': (2,)}`), "descr must be a string"},
		{"too large", f4("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536)}"), "tensor too large"},
		{"overflowing shape", f4("{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647, 2147483647, 2147483647)}"), "tensor too large"},
		{"truncated data", npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", make([]byte, 7)), "data truncated: 7 of 12 bytes"},
	}
	for _, tc := range tests {
		_, err := Read(bytes.NewReader(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
		if tc.name != "too large" && tc.name != "overflowing shape" && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v does not wrap ErrFormat", tc.name, err)
		}
	}
	// Shapes over the limit wrap tensor.ErrTooLarge.
	_, err := Read(bytes.NewReader(f4("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536)}")))
	if !errors.Is(err, tensor.ErrTooLarge) {
		t.Errorf("too large: err = %v, want tensor.ErrTooLarge", err)
	}
}

// Headers written by other tools: double quotes, no trailing comma or
// space, keys in another order.
func TestReadHeaderVariants(t *testing.T) {
	data := []byte{0, 0, 128, 63, 0, 0, 0, 64} // 1, 2 as <f4
	for _, dict := range []string{
		`{"descr": "<f4", "fortran_order": false, "shape": (2,)}`,
		`{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}`,
		`{'descr':'<f4','fortran_order':False,'shape':(1,2,)}`,
		"{'descr': '<f4',\n 'fortran_order': False,\n 'shape': ( 2 , ) ,\n}",
	} {
		got, err := Read(bytes.NewReader(npyBytes(1, dict, data)))
		if strings.Contains(dict, "false") {
			// Python's literal is False; lower-case is not valid.
			if err == nil {
				t.Errorf("%s: accepted 'false'", dict)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", dict, err)
			continue
		}
		if len(got.Data) != 2 || got.Data[0] != 1 || got.Data[1] != 2 {
			t.Errorf("%s: %v", dict, got.Data)
		}
	}
}

// TestWriteMatchesNumPy compares Write's bytes with numpy.save's.
func TestWriteMatchesNumPy(t *testing.T) {
	files, err := filepath.Glob("testdata/save_*.npy")
	if err != nil || len(files) < 6 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	for _, name := range files {
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		x, err := Read(bytes.NewReader(want))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var buf bytes.Buffer
		if err := Write(&buf, x); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: Write differs from numpy.save:\n got %q\nwant %q", name, buf.Bytes()[:min(buf.Len(), 140)], want[:min(len(want), 140)])
		}
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	shapes := [][]int{{}, {0}, {3}, {2, 0, 4}, {1, 3, 5, 7}, {1, 1, 1, 1, 1, 1, 1, 2}}
	for _, s := range shapes {
		x, err := tensor.Zeros(s)
		if err != nil {
			t.Fatal(err)
		}
		for i := range x.Data {
			x.Data[i] = float32(i)*0.37 - 2
		}
		var buf bytes.Buffer
		if err := Write(&buf, x); err != nil {
			t.Fatal(err)
		}
		if buf.Len()%64 != (4*len(x.Data))%64 {
			t.Errorf("%v: header not 64-aligned (%d bytes in all)", s, buf.Len())
		}
		// Two arrays back to back: Read consumes exactly one.
		two := append(append([]byte(nil), buf.Bytes()...), buf.Bytes()...)
		r := bytes.NewReader(two)
		for k := range 2 {
			got, err := Read(r)
			if err != nil {
				t.Fatalf("%v #%d: %v", s, k, err)
			}
			if fmt.Sprint(got.Shape) != fmt.Sprint(x.Shape) || fmt.Sprint(got.Data) != fmt.Sprint(x.Data) {
				t.Errorf("%v #%d: got %v %v", s, k, got.Shape, got.Data)
			}
		}
		if _, err := Read(r); err == nil || !strings.Contains(err.Error(), "empty input") {
			t.Errorf("after two arrays: %v", err)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	if err := Write(io.Discard, nil); err == nil {
		t.Error("nil tensor accepted")
	}
	if err := Write(io.Discard, &tensor.Tensor{Shape: []int{2, 2}, Data: make([]float32, 3)}); err == nil || !strings.Contains(err.Error(), "needs 4 values") {
		t.Errorf("mismatch: %v", err)
	}
	if err := Write(io.Discard, &tensor.Tensor{Shape: []int{-1}}); err == nil {
		t.Error("negative shape accepted")
	}
	x, _ := tensor.Zeros([]int{100000})
	if err := Write(failAfter{n: 100}, x); err == nil {
		t.Error("write error lost")
	}
}

type failAfter struct{ n int }

func (f failAfter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }
