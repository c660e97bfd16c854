package badfiles

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/onnx"
)

// TestBadFiles: each bad file gives the core's specific error, and the
// untouched model still imports.
func TestBadFiles(t *testing.T) {
	good, err := os.ReadFile("../testdata/basic.onnx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnx.Import(good); err != nil {
		t.Fatalf("the good model: %v", err)
	}
	loop, err := AddNode(good, "Loop", []string{"", ""}, []string{"loop_out"})
	if err != nil {
		t.Fatal(err)
	}
	nan, err := SetWeight(good, "onnx::Conv_41", 5, float32(math.NaN()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  func() error
		msg  string
	}{
		{"loop", func() error { _, err := onnx.Import(loop); return err }, "Loop"},
		{"nan weight", func() error { _, err := onnx.Import(nan); return err }, "element 5 is NaN"},
		{"huge png", func() error { _, _, err := imaging.DecodeConfig(PNGHeader(20000, 20000)); return err }, "png image is 20000×20000"},
	}
	for _, tc := range tests {
		err := tc.err()
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.msg)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
	if _, err := SetWeight(good, "nope", 0, 1); err == nil {
		t.Error("SetWeight of a missing initializer: no error")
	}
	if _, err := SetWeight(good, "13.bias", 10, 1); err == nil {
		t.Error("SetWeight past the end: no error")
	}
}
