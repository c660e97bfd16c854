package main

import (
	"bytes"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/core/tensor"
)

// The pytorch-grad-cam fixture network "basic" (3×32×32 input, 10 classes).
const basicONNX = "../../core/onnx/testdata/gradcamref/basic.onnx"

func TestConvert(t *testing.T) {
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels.txt")
	var lb strings.Builder
	for i := 0; i < 10; i++ {
		lb.WriteString("label" + string(rune('A'+i)) + "\n")
	}
	if err := os.WriteFile(labels, []byte(lb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			img.Set(x, y, color.RGBA{uint8(6 * x), uint8(8 * y), uint8(3*x + 2*y), 255})
		}
	}
	var png bytes.Buffer
	if err := imaging.EncodePNG(&png, img); err != nil {
		t.Fatal(err)
	}
	imgPath := filepath.Join(dir, "in.png")
	if err := os.WriteFile(imgPath, png.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	x := tensor.New(2, 3, 32, 32)
	for i := range x.Data {
		x.Data[i] = float32(i%17)/8 - 1
	}
	var nb bytes.Buffer
	if err := npy.Write(&nb, x); err != nil {
		t.Fatal(err)
	}
	npyPath := filepath.Join(dir, "x.npy")
	if err := os.WriteFile(npyPath, nb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "basic.safetensors")
	var stdout bytes.Buffer
	err := run([]string{"-in", basicONNX, "-labels", labels, "-name", "basic", "-license", "MIT", "-source", "fixture",
		"-mean", "0.5,0.5,0.5", "-std", "0.25,0.25,0.25", "-fit", "center-crop", "-list-layers",
		"-check", imgPath, "-check-tensor", npyPath, "-o", out}, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	text := stdout.String()
	t.Log("\n" + text)
	for _, want := range []string{"ONNX →", "float32", "int8", "* /9/Relu_output_0", "top-1 agreement 1/1", "top-1 agreement 2/2", "wrote " + out} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	m, err := modelfile.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Name != "basic" || m.Meta.Labels[3] != "labelD" || m.Meta.Provenance.License != "MIT" ||
		m.Meta.Preprocess.Fit != "center-crop" || m.Meta.Preprocess.Width != 32 || m.Meta.Preprocess.Mean[0] != 0.5 {
		t.Errorf("meta %+v", m.Meta)
	}
	if _, err := m.Build(); err != nil {
		t.Fatal(err)
	}
}

func TestConvertErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "-in is required"},
		{[]string{"-in", basicONNX}, "nothing to do"},
		{[]string{"-in", basicONNX, "-o", "x", "-size", "0"}, "-size"},
		{[]string{"-in", basicONNX, "-o", "x", "-mean", "a,b"}, "-mean"},
		{[]string{"-in", basicONNX, "-list-layers", "-layer", "nope"}, "nope"},
		{[]string{"-in", basicONNX, "-list-layers", "-channels", "CMYK"}, "channels"},
		{[]string{"-in", "missing.onnx", "-o", "x"}, "missing.onnx"},
	} {
		err := run(c.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to mention %q", c.args, err, c.want)
		}
	}
}
