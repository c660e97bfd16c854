package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/cam/camtest"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/core/tensor"
)

// fixtureMethods maps the library's method names to CamLens's, with the
// README's tolerance.
var fixtureMethods = []struct {
	key, method string
	tol         float64
}{
	{"GradCAM", "gradcam", 1e-4},
	{"HiResCAM", "hirescam", 1e-4},
	{"GradCAMPlusPlus", "gradcam++", 1e-4},
	{"XGradCAM", "xgradcam", 1e-4},
	{"LayerCAM", "layercam", 1e-4},
	{"EigenCAM", "eigencam", 1e-4},
	{"ScoreCAM", "scorecam", 1e-3},
	{"AblationCAM", "ablationcam", 1e-3},
	{"GradCAMElementWise", "gradcam-elementwise", 1e-4},
	{"GuidedBackprop", "guided-backprop", 1e-4},
}

// writeModel writes a reference network as a float32 CamLens model file.
func writeModel(t *testing.T, dir, preset string) string {
	t.Helper()
	m, err := camtest.Model(preset)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, preset+".safetensors")
	var buf bytes.Buffer
	if err := modelfile.Write(&buf, m, modelfile.WriteOptions{Quantize: false}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustCase(t *testing.T, name string) *camtest.Case {
	t.Helper()
	c, err := camtest.LoadCase(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeNpy(t *testing.T, path string, x *tensor.Tensor) {
	t.Helper()
	var buf bytes.Buffer
	if err := npy.Write(&buf, x); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readNpy(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	x, err := npy.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return x
}

func readReport(t *testing.T, path string) report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCLIMatchesFixtures: all 12 cases × 10 methods through the command
// with -tensor, comparing its .npy outputs with the library's maps.
func TestCLIMatchesFixtures(t *testing.T) {
	dir := t.TempDir()
	models := map[string]string{}
	for _, p := range camtest.Presets {
		models[p] = writeModel(t, dir, p)
	}
	for _, name := range camtest.Cases() {
		c := mustCase(t, name)
		in := filepath.Join(dir, name+".npy")
		x := c.Input
		if strings.HasSuffix(name, "c2") { // both layouts: C×H×W and 1×C×H×W
			x = &tensor.Tensor{Shape: x.Shape[1:], Data: x.Data}
		}
		writeNpy(t, in, x)
		out := filepath.Join(dir, "out-"+name)
		for _, m := range fixtureMethods {
			code, _, stderr := runCLI(t, "-model", models[c.Preset], "-tensor", "-method", m.method,
				"-layer", camtest.NodeName(c.Layer), "-class", strconv.Itoa(c.Class), "-out", out, in)
			if code != 0 {
				t.Fatalf("%s %s: exit %d: %s", name, m.method, code, stderr)
			}
			got := readNpy(t, filepath.Join(out, name+"."+m.method+".npy"))
			want := c.Maps[m.key]
			if !tensor.SameShape(got.Shape, want.Shape) {
				t.Fatalf("%s %s: .npy shape %v, want %v", name, m.method, got.Shape, want.Shape)
			}
			d := tensor.MaxAbsDiff(got.Data, want.Data)
			if m.key == "EigenCAM" {
				d = math.Min(d, tensor.MaxAbsDiff(got.Data, c.EigenCAMFlipped.Data))
			}
			if math.IsNaN(d) || d > m.tol {
				t.Errorf("%s %s: max abs diff %.3g > %g", name, m.method, d, m.tol)
			}
			rep := readReport(t, filepath.Join(out, name+"."+m.method+".json"))
			if rep.Class != c.Class || rep.Method != m.method || tensor.MaxAbsDiff(rep.Logits, c.Logits.Data) > 1e-4 || len(rep.TopK) != 5 {
				t.Errorf("%s %s: report %+v", name, m.method, rep)
			}
			for _, suffix := range []string{".png", ".heat.png"} {
				checkPNG(t, filepath.Join(out, name+"."+m.method+suffix), 32, 32)
			}
		}
	}
}

func checkPNG(t *testing.T, path string, w, h int) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s: %v, want %d×%d", path, b, w, h)
	}
	return img
}

// TestCLIManyInputsOneBad: a bad file is reported and skipped, the others
// still run, and the exit status is non-zero.
func TestCLIManyInputsOneBad(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, dir, "basic")
	c := mustCase(t, "basic.L9.c5")
	good1, good2 := filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy")
	writeNpy(t, good1, c.Input)
	writeNpy(t, good2, c.Input)
	bad := filepath.Join(dir, "bad.npy")
	if err := os.WriteFile(bad, []byte("not a numpy file"), 0o644); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong.npy")
	writeNpy(t, wrong, tensor.New(3, 8, 8))
	out := filepath.Join(dir, "out")
	code, _, stderr := runCLI(t, "-model", model, "-tensor", "-class", "class 2", "-out", out, good1, bad, wrong, good2, filepath.Join(dir, "missing.npy"))
	if code == 0 {
		t.Fatal("exit 0 with bad inputs")
	}
	for _, want := range []string{"bad.npy", "wrong.npy", "missing.npy", "2 of 5 inputs explained", "3 failed", "[====="} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, stderr)
		}
	}
	for _, n := range []string{"a", "b"} {
		rep := readReport(t, filepath.Join(out, n+".gradcam.json"))
		if rep.Class != 2 || rep.Label != "class 2" || rep.Layers[0] != "9" {
			t.Errorf("%s: report %+v", n, rep)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "bad.gradcam.json")); err == nil {
		t.Error("bad input has a report")
	}
}

func TestCLIListsAndFlagErrors(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, dir, "all-layers")
	code, out, _ := runCLI(t, "-model", model, "-list-layers")
	if code != 0 || !strings.Contains(out, "* 10 ") || !strings.Contains(out, "32×16×16") {
		t.Errorf("-list-layers: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "-list-methods")
	if code != 0 || len(strings.Split(strings.TrimSpace(out), "\n")) != len(cam.Methods()) || !strings.Contains(out, "scorecam") {
		t.Errorf("-list-methods: exit %d\n%s", code, out)
	}
	in := filepath.Join(dir, "x.npy")
	writeNpy(t, in, mustCase(t, "all-layers.L5.c2").Input)
	for _, args := range [][]string{
		{"-tensor", in},
		{"-model", model, "-tensor"},
		{"-model", model, "-tensor", "-method", "nope", in},
		{"-model", model, "-tensor", "-target", "prob", in},
		{"-model", model, "-tensor", "-alpha", "2", in},
		{"-model", model, "-tensor", "-colormap", "rainbow", in},
		{"-model", model, "-tensor", "-crop", "1,2,3", in},
		{"-model", model, "-tensor", "-crop", "0,0,4,4", in},
	} {
		if code, _, stderr := runCLI(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
	for _, args := range [][]string{
		{"-model", model, "-tensor", "-class", "99", "-out", dir, in},
		{"-model", model, "-tensor", "-class", "dog", "-out", dir, in},
		{"-model", model, "-tensor", "-layer", "14", "-out", dir, in},
		{"-model", filepath.Join(dir, "missing.safetensors"), "-tensor", in},
	} {
		if code, _, stderr := runCLI(t, args...); code != 1 {
			t.Errorf("%q: exit %d, want 1 (%s)", args, code, stderr)
		}
	}
}

// TestCLIImageInput explains an image file: the map equals a session on
// the same preprocessed crop, the overlay covers the crop at the image's
// resolution, and the box is also given in image coordinates.
func TestCLIImageInput(t *testing.T) {
	dir := t.TempDir()
	model := writeModel(t, dir, "basic")
	img := image.NewRGBA(image.Rect(0, 0, 80, 60))
	for y := range 60 {
		for x := range 80 {
			img.Set(x, y, color.RGBA{uint8(3 * x), uint8(4 * y), uint8((x * y) % 256), 255})
		}
	}
	in := filepath.Join(dir, "photo.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, _, stderr := runCLI(t, "-model", model, "-crop", "10,5,40,30", "-method", "layercam", "-colormap", "viridis", "-out", out, in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	mf, err := modelfile.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cam.NewModel(mf)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.SessionFromImage(img, image.Rect(10, 5, 50, 35))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Explain(context.Background(), cam.Request{Method: "layercam", Class: -1})
	if err != nil {
		t.Fatal(err)
	}
	got := readNpy(t, filepath.Join(out, "photo.layercam.npy"))
	if d := tensor.MaxAbsDiff(got.Data, r.Map); d != 0 {
		t.Errorf("CLI map differs from the session's by %.3g", d)
	}
	checkPNG(t, filepath.Join(out, "photo.layercam.png"), 40, 30)
	checkPNG(t, filepath.Join(out, "photo.layercam.heat.png"), 32, 32)
	rep := readReport(t, filepath.Join(out, "photo.layercam.json"))
	geo, err := imaging.InputGeometry(img.Bounds(), image.Rect(10, 5, 50, 35), mf.Meta.Preprocess)
	if err != nil {
		t.Fatal(err)
	}
	wantBox := geo.RectToImage(r.Box)
	if rep.ImageBox == nil || rep.ImageBox.X != wantBox.Min.X || rep.ImageBox.W != wantBox.Dx() {
		t.Errorf("image box %+v, want %v", rep.ImageBox, wantBox)
	}
}

// TestCLIONNX explains the reference networks' ONNX exports directly, at
// the target layers the exporter kept.
func TestCLIONNX(t *testing.T) {
	dir := t.TempDir()
	n := 0
	for _, name := range camtest.Cases() {
		c := mustCase(t, name)
		if c.ONNXTensor == "" {
			continue
		}
		path := filepath.Join(dir, c.Preset+".onnx")
		if _, err := os.Stat(path); err != nil {
			b, err := camtest.ONNX(c.Preset)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		in := filepath.Join(dir, name+".npy")
		writeNpy(t, in, c.Input)
		out := filepath.Join(dir, "out")
		for _, m := range []struct{ key, method string }{{"GradCAM", "gradcam"}, {"GuidedBackprop", "guided-backprop"}} {
			code, _, stderr := runCLI(t, "-model", path, "-tensor", "-method", m.method, "-layer", c.ONNXTensor,
				"-class", strconv.Itoa(c.Class), "-out", out, in)
			if code != 0 {
				t.Fatalf("%s %s: exit %d: %s", name, m.method, code, stderr)
			}
			got := readNpy(t, filepath.Join(out, name+"."+m.method+".npy"))
			if d := tensor.MaxAbsDiff(got.Data, c.Maps[m.key].Data); d > 1e-4 {
				t.Errorf("%s %s via ONNX at %q: max abs diff %.3g", name, m.method, c.ONNXTensor, d)
			}
		}
		n++
	}
	if n == 0 {
		t.Fatal("no case has an ONNX tensor")
	}
	t.Logf("%d cases explained from ONNX", n)
}
