package npy

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzNpyRead: Read never panics and never returns a tensor whose shape and
// data disagree; whatever it accepts survives Write and Read unchanged.
func FuzzNpyRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.npy")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(Magic + "\x01\x00\x10\x00{'shape': (),}\n"))
	f.Add([]byte(Magic + "\x03\x00\x10\x00\x00\x00{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		n := 1
		for _, d := range x.Shape {
			n *= d
		}
		if n != len(x.Data) {
			t.Fatalf("shape %v but %d values", x.Shape, len(x.Data))
		}
		var buf bytes.Buffer
		if err := Write(&buf, x); err != nil {
			t.Fatalf("Write of an accepted tensor: %v", err)
		}
		y, err := Read(&buf)
		if err != nil {
			t.Fatalf("Read of Write's output: %v", err)
		}
		if !slices.Equal(x.Shape, y.Shape) || !slices.EqualFunc(x.Data, y.Data, func(a, b float32) bool {
			return math.Float32bits(a) == math.Float32bits(b)
		}) {
			t.Fatalf("round trip changed %v to %v", x.Shape, y.Shape)
		}
	})
}
