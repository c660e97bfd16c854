package worker

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"runtime"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/metrics"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/onnx"
	"github.com/camlens/camlens/wasm/engine/worker/workertest"
)

// TestHelloLimits: hello tells the page the size limits it checks files
// against, the core's own.
func TestHelloLimits(t *testing.T) {
	h := newHarness(t)
	lim := h.call(Request{Op: "hello"})["limits"].(Fields)
	want := Fields{"imageBytes": MaxImageBytes, "imagePixels": imaging.MaxPixels, "modelBytes": modelfile.MaxFileBytes, "onnxBytes": onnx.DefaultLimits.MaxFileBytes}
	for k, v := range want {
		if lim[k] != v {
			t.Errorf("limits[%q] = %v, want %v", k, lim[k], v)
		}
	}
}

// TestWrongKindMessages: an image given as a model and a model given as an
// image are named for what they are; the engine keeps working.
func TestWrongKindMessages(t *testing.T) {
	h := newHarness(t)
	file := modelBytes(t, 4, false)
	photo := workertest.Photo(20, 12)
	onnxModel := []byte("\x08\x07\x12\x0ccamlens-test:\x00")
	tests := []struct {
		name string
		req  Request
		msg  string
	}{
		{"png as model", Request{Op: "loadModel", Data: photo, Name: "photo.png"},
			"photo.png is a PNG image (20×12), not a model: open it with “Open image…”"},
		{"png renamed .safetensors", Request{Op: "loadModel", Data: photo, Name: "photo.safetensors"},
			"photo.safetensors is a PNG image (20×12), not a model"},
		{"png renamed .onnx", Request{Op: "loadModel", Data: photo, Name: "photo.onnx"},
			"photo.onnx is a PNG image (20×12), not a model"},
		{"huge png header as model", Request{Op: "loadModel", Data: pngHeader(20000, 20000), Name: "big.onnx"},
			"big.onnx is a PNG image, not a model"},
		{"pdf as model", Request{Op: "loadModel", Data: []byte("%PDF-1.7\n1 0 obj"), Name: "paper.bin"},
			"paper.bin is neither a CamLens model (.safetensors) nor an ONNX model: it looks like a PDF document"},
		{"unknown bytes as model", Request{Op: "loadModel", Data: []byte("hello world"), Name: "notes.txt"},
			"notes.txt is neither a CamLens model (.safetensors) nor an ONNX model (first bytes 68 65 6c 6c 6f 20 77 6f)"},
		{"empty model", Request{Op: "loadModel", Name: "empty.onnx"}, "empty.onnx is empty (0 bytes)"},
		{"model as image", Request{Op: "setImage", Data: file, Name: "model.bin"},
			"model.bin is a safetensors model file, not an image: open it with “Open model file…”"},
		{"onnx as image", Request{Op: "setImage", Data: onnxModel, Name: "net.jpg"},
			"net.jpg is an ONNX model, not an image"},
		{"huge png header as image", Request{Op: "setImage", Data: pngHeader(20000, 20000), Name: "big.png"},
			"big.png: imaging: png image is 20000×20000 = 400000000 pixels, limit 50000000: image too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := h.callErr(tc.req)
			if code != CodeInput || !strings.Contains(msg, tc.msg) {
				t.Errorf("%s error %q, want input containing %q", code, msg, tc.msg)
			}
		})
	}
	h.call(Request{Op: "loadModel", Data: file, Name: "good.safetensors"})
	h.call(Request{Op: "setImage", Data: photo, Name: "good.png"})
	h.call(Request{Op: "predict"})
	h.call(Request{Op: "explain", Method: "gradcam", Class: -1})
}

// TestSizeLimits: files over the limits are refused by their size, before
// anything is parsed.
func TestSizeLimits(t *testing.T) {
	if runtime.GOARCH == "wasm" {
		t.Skip("needs 0.8 GB of untouched memory (virtual on Linux, real under js/wasm)")
	}
	h := newHarness(t)
	big := make([]byte, onnx.DefaultLimits.MaxFileBytes+1) // never written: no pages touched
	tests := []struct {
		req Request
		msg string
	}{
		{Request{Op: "setImage", Data: big[:MaxImageBytes+1], Name: "photo.png"}, "photo.png is 268 MB; the limit for an image is 268 MB"},
		{Request{Op: "loadModel", Data: big[:modelfile.MaxFileBytes+1], Name: "m.safetensors"}, "m.safetensors is 268 MB; the limit for a CamLens model file is 268 MB"},
		{Request{Op: "loadModel", Data: big, Name: "m.onnx"}, "m.onnx is 537 MB; the limit for an ONNX model is 537 MB"},
	}
	for _, tc := range tests {
		code, msg := h.callErr(tc.req)
		if code != CodeInput || msg != tc.msg {
			t.Errorf("%s %s: %s error %q, want %q", tc.req.Op, tc.req.Name, code, msg, tc.msg)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0 bytes"}, {999, "999 bytes"}, {1000, "1.0 kB"}, {329468, "329.5 kB"},
		{1_000_000, "1.0 MB"}, {99_940_000, "99.9 MB"}, {812_000_000, "812 MB"}, {256 << 20, "268 MB"},
	}
	for _, tc := range tests {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// pngHeader is a PNG signature and an IHDR chunk declaring w×h 8-bit RGB
// pixels, nothing more: a header that claims a huge image.
func pngHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, uint32(len(ihdr)))
	b = append(b, "IHDR"...)
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
}

// TestExplainNote: an all-zero map comes with the core's note; a map with
// content has none.
func TestExplainNote(t *testing.T) {
	h := newHarness(t)
	zero, err := workertest.ZeroClassModelFile()
	if err != nil {
		t.Fatal(err)
	}
	h.call(Request{Op: "loadModel", Data: zero, Name: "z.safetensors"})
	h.call(Request{Op: "setImage", Data: workertest.Photo(16, 16), Name: "p.png"})
	h.call(Request{Op: "predict"})
	r := h.call(Request{Op: "explain", Method: "gradcam", Class: 3})
	note, _ := r["note"].(string)
	if want := `the gradient of the logit of class 3 ("grey") is zero everywhere at layer "conv2"`; !strings.Contains(note, want) {
		t.Errorf("note %q, want it to say %q", note, want)
	}
	for i, v := range r["map"].([]float32) {
		if v != 0 {
			t.Fatalf("map[%d] = %v, want all zero", i, v)
		}
	}
	if r := h.call(Request{Op: "explain", Method: "gradcam", Class: -1}); r["note"] != nil {
		t.Errorf("a map with content has the note %v", r["note"])
	}
}

// TestMetricsMatchesCore: the metrics request's curves and AUCs are
// metrics.DeletionInsertion's for the same session, map and class, and
// for metrics.RandomMap(RandomSeed); progress counts every scored image.
func TestMetricsMatchesCore(t *testing.T) {
	file := modelBytes(t, 8, true)
	photo := workertest.Photo(40, 30)
	crop := []int{8, 2, 26, 26}
	h := newHarness(t)
	h.call(Request{Op: "loadModel", Data: file, Name: "m.safetensors"})
	h.call(Request{Op: "setImage", Data: photo, Name: "p.png"})
	h.call(Request{Op: "predict", Crop: crop})

	sess := coreSession(t, file, photo, image.Rect(8, 2, 34, 28))
	for _, tc := range []struct {
		method string
		class  int
		layers []string
	}{{"gradcam", -1, nil}, {"layercam", 2, []string{"conv1"}}} {
		t.Run(tc.method, func(t *testing.T) {
			id := h.send(Request{Op: "metrics", Method: tc.method, Class: tc.class, Layers: tc.layers})
			msg, progress := h.wait(id)
			if msg.Type != "result" {
				t.Fatalf("metrics: %s %q", msg.Code, msg.Error)
			}
			got := msg.Result
			res, err := sess.Explain(context.Background(), cam.Request{Method: tc.method, Class: tc.class, Layers: tc.layers})
			if err != nil {
				t.Fatal(err)
			}
			want, err := metrics.DeletionInsertion(context.Background(), sess, res.Map, res.Class, metrics.Options{})
			if err != nil {
				t.Fatal(err)
			}
			rnd, err := metrics.DeletionInsertion(context.Background(), sess, metrics.RandomMap(res.W, res.H, RandomSeed), res.Class, metrics.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got["class"] != res.Class || got["label"] != res.Label || got["method"] != tc.method || got["steps"] != metrics.DefaultSteps {
				t.Fatalf("metrics of %v %v (%v, %v steps), want %s class %d (%s)", got["method"], got["class"], got["label"], got["steps"], tc.method, res.Class, res.Label)
			}
			for _, c := range []struct {
				name string
				got  Fields
				want metrics.Curve
			}{
				{"deletion", got["map"].(Fields)["deletion"].(Fields), want.Deletion},
				{"insertion", got["map"].(Fields)["insertion"].(Fields), want.Insertion},
				{"random deletion", got["random"].(Fields)["deletion"].(Fields), rnd.Deletion},
				{"random insertion", got["random"].(Fields)["insertion"].(Fields), rnd.Insertion},
			} {
				fr, sc := c.got["fractions"].([]float64), c.got["scores"].([]float64)
				if c.got["auc"] != c.want.AUC || len(fr) != len(c.want.Fractions) || len(sc) != len(c.want.Scores) {
					t.Fatalf("%s: AUC %v with %d/%d points, want %v with %d", c.name, c.got["auc"], len(fr), len(sc), c.want.AUC, len(c.want.Scores))
				}
				for i := range sc {
					if fr[i] != c.want.Fractions[i] || sc[i] != c.want.Scores[i] {
						t.Fatalf("%s point %d: (%v, %v), want (%v, %v)", c.name, i, fr[i], sc[i], c.want.Fractions[i], c.want.Scores[i])
					}
				}
				t.Logf("%s AUC %.4f", c.name, c.want.AUC)
			}
			total := 4 * (metrics.DefaultSteps + 1)
			var last Message
			for _, p := range progress {
				if p.Stage == "metrics" {
					if p.Total != total || p.Done < last.Done {
						t.Fatalf("progress %+v after %+v, want a rising count of %d", p, last, total)
					}
					last = p
				}
			}
			if last.Done != total {
				t.Errorf("the last progress is %d of %d", last.Done, last.Total)
			}
		})
	}
}

// TestMetricsCancel: a cancel stops the metrics request at its next batch,
// and the engine carries on.
func TestMetricsCancel(t *testing.T) {
	h := newHarness(t)
	h.call(Request{Op: "loadModel", Data: modelBytes(t, 4, false), Name: "m.safetensors"})
	h.call(Request{Op: "setImage", Data: workertest.Photo(16, 16), Name: "p.png"})
	h.call(Request{Op: "predict"})
	var id int
	h.yield = func() { h.w.Handle(Request{ID: 1000, Op: "cancel", Of: id}) }
	id = h.send(Request{Op: "metrics", Method: "gradcam", Class: -1})
	m, progress := h.wait(id)
	if m.Type != "error" || m.Code != CodeCancelled {
		t.Fatalf("metrics after cancel: %s %s %q, want cancelled", m.Type, m.Code, m.Error)
	}
	if n := len(progress); n == 0 || progress[n-1].Done >= progress[n-1].Total {
		t.Fatalf("progress before the cancel: %+v", progress)
	}
	h.yield = nil
	if r := h.call(Request{Op: "metrics", Method: "gradcam", Class: -1}); r["map"] == nil {
		t.Fatal("no curves after the cancel")
	}
}

// TestMetricsNeedsSession: metrics before predict is a state error.
func TestMetricsNeedsSession(t *testing.T) {
	h := newHarness(t)
	if code, msg := h.callErr(Request{Op: "metrics", Method: "gradcam", Class: -1}); code != CodeState || !strings.Contains(msg, "nothing to check") {
		t.Errorf("%s error %q", code, msg)
	}
}
