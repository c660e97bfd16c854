package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/wasm/engine/worker/workertest"
)

// harness runs a Worker and collects its messages per request id.
type harness struct {
	t     *testing.T
	w     *Worker
	mu    sync.Mutex
	msgs  map[int][]Message
	done  chan int
	yield func()
	next  int
}

func newHarness(t *testing.T, opts ...func(*Options)) *harness {
	h := &harness{t: t, msgs: map[int][]Message{}, done: make(chan int, 100)}
	o := Options{
		Post: func(m Message) {
			h.mu.Lock()
			h.msgs[m.ID] = append(h.msgs[m.ID], m)
			h.mu.Unlock()
			if m.Type == "result" || m.Type == "error" {
				h.done <- m.ID
			}
		},
		Yield: func() {
			if h.yield != nil {
				h.yield()
			}
		},
		YieldEvery: time.Nanosecond,
	}
	for _, f := range opts {
		f(&o)
	}
	h.w = New(o)
	return h
}

// send queues r with a fresh id and returns the id.
func (h *harness) send(r Request) int {
	h.next++
	r.ID = h.next
	h.w.Handle(r)
	return r.ID
}

// wait returns the final message of request id (and its progress messages).
func (h *harness) wait(id int) (Message, []Message) {
	h.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		h.mu.Lock()
		ms := h.msgs[id]
		h.mu.Unlock()
		if n := len(ms); n > 0 && (ms[n-1].Type == "result" || ms[n-1].Type == "error") {
			return ms[n-1], ms[:n-1]
		}
		select {
		case <-h.done:
		case <-timeout:
			h.t.Fatalf("request %d: no answer", id)
		}
	}
}

// call sends r and returns its result, failing the test on an error.
func (h *harness) call(r Request) Fields {
	h.t.Helper()
	m, _ := h.wait(h.send(r))
	if m.Type != "result" {
		h.t.Fatalf("%s: %s error: %s", r.Op, m.Code, m.Error)
	}
	return m.Result
}

// callErr sends r and returns its error code and message.
func (h *harness) callErr(r Request) (string, string) {
	h.t.Helper()
	m, _ := h.wait(h.send(r))
	if m.Type != "error" {
		h.t.Fatalf("%s: got a result, want an error", r.Op)
	}
	return m.Code, m.Error
}

func modelBytes(t *testing.T, channels int, square bool) []byte {
	t.Helper()
	b, err := workertest.ModelFile(16, channels, square)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// coreSession is the session the core gives for the model file, the
// image and the crop, without the worker: what the worker must match.
func coreSession(t *testing.T, file, photo []byte, crop image.Rectangle) *cam.Session {
	t.Helper()
	m, err := modelfile.Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := cam.NewModel(m)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imaging.Decode(photo)
	if err != nil {
		t.Fatal(err)
	}
	x, err := imaging.ToTensor(img, crop, m.Meta.Preprocess)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := cm.NewSession(x)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func TestHello(t *testing.T) {
	h := newHarness(t)
	r := h.call(Request{Op: "hello"})
	methods := r["methods"].([]Fields)
	if len(methods) != len(cam.Methods()) {
		t.Fatalf("%d methods, want %d", len(methods), len(cam.Methods()))
	}
	for i, m := range cam.Methods() {
		if methods[i]["name"] != m.Name || methods[i]["slow"] != m.Slow {
			t.Errorf("method %d = %v, want %s (slow %v)", i, methods[i], m.Name, m.Slow)
		}
	}
	if got := r["colormaps"].([]string); strings.Join(got, ",") != strings.Join(imaging.ColormapNames(), ",") {
		t.Errorf("colormaps %v", got)
	}
}

// TestExplainMatchesCore: the engine's map is the core's map for the same
// model file, image, crop and method.
func TestExplainMatchesCore(t *testing.T) {
	file := modelBytes(t, 8, true)
	photo := workertest.Photo(48, 36)
	crop := []int{10, 4, 24, 24}

	h := newHarness(t)
	loaded := h.call(Request{Op: "loadModel", Data: file, Name: "test.safetensors"})
	info := loaded["model"].(Fields)
	if info["defaultLayer"] != "conv2" || info["format"] != "camlens" {
		t.Fatalf("model info %v", info)
	}
	if ms, ok := loaded["timings"].(Fields)["load"].(float64); !ok || ms < 0 {
		t.Fatalf("loadModel timings %v, want load ≥ 0 ms", loaded["timings"])
	}
	if got := info["labels"].([]string); strings.Join(got, ",") != strings.Join(workertest.Labels, ",") {
		t.Fatalf("labels %v", got)
	}
	img := h.call(Request{Op: "setImage", Data: photo, Name: "photo.png"})
	if img["width"] != 48 || img["height"] != 36 || img["format"] != "png" {
		t.Fatalf("image %v", img)
	}
	if p := img["preview"].(Fields); p["w"] != 48 || p["h"] != 36 || len(p["data"].([]byte)) != 48*36*4 {
		t.Fatalf("preview %v×%v", p["w"], p["h"])
	}
	pred := h.call(Request{Op: "predict", Crop: crop, TopK: 3})
	preds := pred["predictions"].([]Fields)
	if len(preds) != 3 {
		t.Fatalf("%d predictions, want 3", len(preds))
	}
	base := pred["base"].(Fields)
	if base["w"] != base["h"] || len(base["data"].([]byte)) != 4*base["w"].(int)*base["h"].(int) {
		t.Fatalf("base %v×%v with %d bytes", base["w"], base["h"], len(base["data"].([]byte)))
	}

	// The same computation with the core directly.
	sess := coreSession(t, file, photo, image.Rect(10, 4, 34, 28))
	want := sess.Predictions(3)
	for i, p := range want {
		if preds[i]["class"] != p.Class || preds[i]["prob"] != float64(p.Prob) {
			t.Errorf("prediction %d = %v, want %+v", i, preds[i], p)
		}
	}
	for _, method := range []string{"gradcam", "gradcam++", "layercam", "eigencam", "scorecam", "guided-gradcam"} {
		for _, class := range []int{-1, 2} {
			got := h.call(Request{Op: "explain", Method: method, Class: class})
			ref, err := sess.Explain(context.Background(), cam.Request{Method: method, Class: class})
			if err != nil {
				t.Fatal(err)
			}
			gm := got["map"].([]float32)
			if got["w"] != ref.W || got["h"] != ref.H || len(gm) != len(ref.Map) {
				t.Fatalf("%s: map %v×%v (%d), want %d×%d", method, got["w"], got["h"], len(gm), ref.W, ref.H)
			}
			for i := range gm {
				if gm[i] != ref.Map[i] {
					t.Fatalf("%s class %d: map[%d] = %v, core gives %v", method, class, i, gm[i], ref.Map[i])
				}
			}
			if got["class"] != ref.Class || got["label"] != ref.Label {
				t.Errorf("%s: class %v %v, want %d %s", method, got["class"], got["label"], ref.Class, ref.Label)
			}
			if pk := got["peak"].([]int); pk[0] != ref.Peak.X || pk[1] != ref.Peak.Y {
				t.Errorf("%s: peak %v, want %v", method, pk, ref.Peak)
			}
			if _, ok := got["guided"]; ok != (ref.Guided != nil) {
				t.Errorf("%s: guided image present = %v, want %v", method, ok, ref.Guided != nil)
			}
		}
	}
}

func TestErrorsKeepState(t *testing.T) {
	h := newHarness(t)
	file := modelBytes(t, 4, false)
	photo := workertest.Photo(20, 20)

	tests := []struct {
		name string
		req  Request
		code string
		msg  string
	}{
		{"predict without a model", Request{Op: "predict"}, CodeState, "no model"},
		{"explain without a session", Request{Op: "explain", Method: "gradcam", Class: -1}, CodeState, "nothing to explain"},
		{"export without a result", Request{Op: "export", Kind: "json"}, CodeState, "explain first"},
		{"unknown op", Request{Op: "fly"}, CodeInput, "unknown request"},
		{"empty model", Request{Op: "loadModel", Name: "x.safetensors"}, CodeInput, "empty"},
		{"not a model", Request{Op: "loadModel", Data: []byte("hello world"), Name: "notes.txt"}, CodeInput, "neither"},
		{"truncated model", Request{Op: "loadModel", Data: file[:len(file)/2], Name: "cut.safetensors"}, CodeInput, "cut.safetensors"},
		{"corrupt image", Request{Op: "setImage", Data: []byte("%PDF-1.4 not an image"), Name: "doc.pdf"}, CodeInput, "doc.pdf"},
		{"truncated image", Request{Op: "setImage", Data: photo[:len(photo)/3], Name: "cut.png"}, CodeInput, "cut.png"},
		{"unknown colormap", Request{Op: "colormap", Colormap: "rainbow"}, CodeInput, "rainbow"},
	}
	for _, tc := range tests {
		code, msg := h.callErr(tc.req)
		if code != tc.code || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %s error %q, want %s containing %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}

	// Load good data, then bad: the good model and image stay usable.
	h.call(Request{Op: "loadModel", Data: file, Name: "good.safetensors"})
	h.call(Request{Op: "setImage", Data: photo, Name: "good.png"})
	h.callErr(Request{Op: "loadModel", Data: file[:100], Name: "bad.safetensors"})
	h.callErr(Request{Op: "setImage", Data: photo[:50], Name: "bad.png"})
	h.call(Request{Op: "predict"})
	h.call(Request{Op: "explain", Method: "gradcam", Class: -1})

	after := []struct {
		name string
		req  Request
		msg  string
	}{
		{"unknown method", Request{Op: "explain", Method: "magic", Class: -1}, "unknown method"},
		{"class out of range", Request{Op: "explain", Method: "gradcam", Class: 9}, "out of range"},
		{"bad crop", Request{Op: "predict", Crop: []int{0, 0, 0, 5}}, "crop"},
		{"crop outside", Request{Op: "predict", Crop: []int{500, 500, 5, 5}}, "crop"},
		{"unknown export", Request{Op: "export", Kind: "gif"}, "unknown export"},
		{"bad alpha", Request{Op: "export", Kind: "overlay", Alpha: 2}, "alpha"},
	}
	for _, tc := range after {
		code, msg := h.callErr(tc.req)
		if code != CodeInput || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %s error %q, want input containing %q", tc.name, code, msg, tc.msg)
		}
	}
	// Still fine afterwards.
	h.call(Request{Op: "explain", Method: "hirescam", Class: 1})
}

// TestCancel: a "cancel" that arrives while Score-CAM yields stops it; a
// queued request that is cancelled never runs; the engine keeps working.
func TestCancel(t *testing.T) {
	h := newHarness(t)
	h.call(Request{Op: "loadModel", Data: modelBytes(t, 96, false), Name: "m.safetensors"})
	h.call(Request{Op: "setImage", Data: workertest.Photo(16, 16), Name: "p.png"})
	h.call(Request{Op: "predict"})

	// Cancel the running request at its first yield.
	var slow int
	yields := 0
	h.yield = func() {
		yields++
		if yields == 1 {
			h.w.Handle(Request{ID: 1000, Op: "cancel", Of: slow})
		}
	}
	slow = h.send(Request{Op: "explain", Method: "scorecam", Class: -1})
	m, progress := h.wait(slow)
	if m.Type != "error" || m.Code != CodeCancelled {
		t.Fatalf("scorecam after cancel: %s %s %q, want a cancelled error", m.Type, m.Code, m.Error)
	}
	if len(progress) == 0 || progress[0].Total != 96 || progress[0].Done >= 96 {
		t.Fatalf("progress before the cancel: %+v", progress)
	}
	t.Logf("cancelled after %d of %d channels", progress[len(progress)-1].Done, progress[0].Total)

	// A queued request cancelled while another runs is never run.
	h.yield = nil
	var queued int
	h.yield = func() { h.w.Handle(Request{ID: 1001, Op: "cancel", Of: queued}) }
	first := h.next + 1
	queued = first + 1
	if id := h.send(Request{Op: "explain", Method: "ablationcam", Class: -1}); id != first {
		t.Fatalf("id %d, want %d", id, first)
	}
	h.send(Request{Op: "explain", Method: "gradcam", Class: -1})
	if m, _ := h.wait(first); m.Type != "result" {
		t.Fatalf("ablationcam: %s %q", m.Code, m.Error)
	}
	if m, _ := h.wait(queued); m.Type != "error" || m.Code != CodeCancelled {
		t.Fatalf("queued gradcam: %s %s, want cancelled", m.Type, m.Code)
	}
	h.yield = nil
	r := h.call(Request{Op: "explain", Method: "scorecam", Class: -1})
	if len(r["map"].([]float32)) != 16*16 {
		t.Fatalf("scorecam after the cancels: map of %d values", len(r["map"].([]float32)))
	}
}

func TestExport(t *testing.T) {
	h := newHarness(t)
	h.call(Request{Op: "loadModel", Data: modelBytes(t, 4, false), Name: "m.safetensors"})
	h.call(Request{Op: "setImage", Data: workertest.Photo(30, 20), Name: "dir/photo.png"})
	pred := h.call(Request{Op: "predict"})
	base := pred["base"].(Fields)
	res := h.call(Request{Op: "explain", Method: "gradcam", Class: -1})

	ov := h.call(Request{Op: "export", Kind: "overlay", Colormap: "viridis", Alpha: 0.4})
	if ov["filename"] != "photo.gradcam.png" || ov["mime"] != "image/png" {
		t.Errorf("overlay named %v (%v)", ov["filename"], ov["mime"])
	}
	img, err := png.Decode(bytes.NewReader(ov["data"].([]byte)))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != base["w"] || b.Dy() != base["h"] {
		t.Errorf("overlay %v, want the base's %v×%v", b, base["w"], base["h"])
	}
	hm := h.call(Request{Op: "export", Kind: "heatmap", Colormap: "jet"})
	img, err = png.Decode(bytes.NewReader(hm["data"].([]byte)))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 16 || b.Dy() != 16 || hm["filename"] != "photo.gradcam.heat.png" {
		t.Errorf("heatmap %v named %v", b, hm["filename"])
	}
	cm, _ := imaging.LookupColormap("jet")
	heat := imaging.Heatmap(res["map"].([]float32), 16, 16, cm)
	if !bytes.Equal(heat.Pix, img.(*image.RGBA).Pix) {
		t.Error("heatmap PNG differs from imaging.Heatmap of the map")
	}

	np := h.call(Request{Op: "export", Kind: "npy"})
	if np["filename"] != "photo.gradcam.npy" {
		t.Errorf("npy named %v", np["filename"])
	}
	tt, err := npy.Read(bytes.NewReader(np["data"].([]byte)))
	if err != nil {
		t.Fatal(err)
	}
	if len(tt.Shape) != 2 || tt.Shape[0] != 16 || tt.Shape[1] != 16 {
		t.Fatalf("npy shape %v, want [16 16]", tt.Shape)
	}
	for i, v := range res["map"].([]float32) {
		if tt.Data[i] != v {
			t.Fatalf("npy[%d] = %v, want %v", i, tt.Data[i], v)
		}
	}
	h.call(Request{Op: "explain", Method: "guided-backprop", Class: -1})
	np = h.call(Request{Op: "export", Kind: "npy"})
	if tt, err = npy.Read(bytes.NewReader(np["data"].([]byte))); err != nil || len(tt.Shape) != 3 || tt.Shape[2] != 3 {
		t.Fatalf("guided-backprop npy: %v, shape %v (want H×W×3)", err, tt.Shape)
	}
	h.call(Request{Op: "explain", Method: "gradcam", Class: -1})

	js := h.call(Request{Op: "export", Kind: "json"})
	var e exportJSON
	if err := json.Unmarshal(js["data"].([]byte), &e); err != nil {
		t.Fatal(err)
	}
	if e.Method != "gradcam" || e.Width != 16 || e.Height != 16 || len(e.Map) != 256 || e.Image != "photo.png" || e.Raw == nil {
		t.Fatalf("json export: %+v", e)
	}
	for i, v := range res["map"].([]float32) {
		if e.Map[i] != v {
			t.Fatalf("json map[%d] = %v, want %v", i, e.Map[i], v)
		}
	}
	if len(e.Predictions) != 4 || e.Predictions[0].Label != pred["predictions"].([]Fields)[0]["label"] {
		t.Errorf("json predictions %+v", e.Predictions)
	}
}

func TestColormap(t *testing.T) {
	h := newHarness(t)
	for _, name := range imaging.ColormapNames() {
		lut := h.call(Request{Op: "colormap", Colormap: name})["lut"].([]byte)
		if len(lut) != 1024 {
			t.Fatalf("%s: %d bytes", name, len(lut))
		}
		cm, _ := imaging.LookupColormap(name)
		tab := cm.Table()
		for i, c := range tab {
			if lut[4*i] != c.R || lut[4*i+1] != c.G || lut[4*i+2] != c.B || lut[4*i+3] != 255 {
				t.Fatalf("%s entry %d = %v, want %v", name, i, lut[4*i:4*i+4], c)
			}
		}
	}
}

func TestFitSide(t *testing.T) {
	tests := []struct{ w, h, side, ww, wh int }{
		{100, 50, 640, 100, 50},
		{1280, 960, 640, 640, 480},
		{960, 1280, 640, 480, 640},
		{5000, 1, 640, 640, 1},
	}
	for _, tc := range tests {
		if w, h := fitSide(tc.w, tc.h, tc.side); w != tc.ww || h != tc.wh {
			t.Errorf("fitSide(%d, %d, %d) = %d, %d; want %d, %d", tc.w, tc.h, tc.side, w, h, tc.ww, tc.wh)
		}
	}
}

// TestRenderBase: the base image is the geometry's canvas, black where
// pad-square pads, the photo elsewhere.
func TestRenderBase(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	g, err := imaging.InputGeometry(img.Bounds(), image.Rectangle{}, modelfile.Preprocess{
		Width: 16, Height: 16, Channels: "RGB", Fit: "pad-square", Resize: "bilinear", Scale: 1,
		Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := renderBase(img, g, 16)
	if b.Rect.Dx() != 40 || b.Rect.Dy() != 40 {
		t.Fatalf("base %v, want 40×40", b.Rect)
	}
	for y := 0; y < 40; y++ {
		want := uint8(0)
		if y >= 10 && y < 30 {
			want = 255
		}
		for x := 0; x < 40; x++ {
			if c := b.RGBAAt(x, y); c.R != want || c.A != 255 {
				t.Fatalf("base(%d, %d) = %v, want grey %d", x, y, c, want)
			}
		}
	}
}

// TestRenderBaseCopies: where the crop is not scaled, renderBase copies
// the photo (an image.RGBA as the page decodes it, an image.YCbCr as Go's
// JPEG decoder gives); the result is what the bilinear scaler gives.
func TestRenderBaseCopies(t *testing.T) {
	rgba := image.NewRGBA(image.Rect(0, 0, 90, 70))
	for i := range rgba.Pix {
		rgba.Pix[i] = byte(i*7 + i/13)
		if i%4 == 3 {
			rgba.Pix[i] = 255
		}
	}
	ycc := image.NewYCbCr(rgba.Rect, image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = byte(i * 5)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = byte(i*3), byte(255-i)
	}
	for _, tc := range []struct {
		img  image.Image
		fit  string
		crop image.Rectangle
	}{
		{rgba, "pad-square", image.Rect(5, 3, 65, 63)},   // square: the canvas is the crop
		{rgba, "pad-square", image.Rect(10, 20, 70, 50)}, // padded above and below
		{rgba, "stretch", image.Rect(0, 0, 90, 70)},
		{ycc, "pad-square", image.Rect(5, 3, 65, 63)},
		{ycc, "stretch", image.Rect(0, 0, 90, 70)},
	} {
		img := tc.img
		g, err := imaging.InputGeometry(img.Bounds(), tc.crop, modelfile.Preprocess{
			Width: 16, Height: 16, Channels: "RGB", Fit: tc.fit, Resize: "bilinear", Scale: 1,
			Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		got := renderBase(img, g, 16)
		if got.Rect.Size() != g.Canvas.Size() {
			t.Fatalf("%s %v: base %v for canvas %v: scaled, the test wants scale 1", tc.fit, tc.crop, got.Rect, g.Canvas)
		}
		want := image.NewRGBA(got.Rect)
		draw.Draw(want, want.Rect, image.NewUniform(color.RGBA{0, 0, 0, 255}), image.Point{}, draw.Src)
		off := g.Crop.Min.Sub(g.Canvas.Min)
		xdraw.BiLinear.Scale(want, g.Crop.Sub(g.Crop.Min).Add(off), img, g.Crop, xdraw.Src, nil)
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("%s %v: the copy differs from the bilinear scaler's result", tc.fit, tc.crop)
		}
	}
}

// TestSetPixels: an image the page decoded (8-bit opaque RGBA) gives the
// same predictions and maps, bit for bit, as the PNG file's bytes, and
// bad pixel data is refused in words, keeping the previous image.
func TestSetPixels(t *testing.T) {
	file := modelBytes(t, 8, true)
	photo := workertest.Photo(48, 36)
	decoded, err := png.Decode(bytes.NewReader(photo))
	if err != nil {
		t.Fatal(err)
	}
	rgba := image.NewRGBA(decoded.Bounds())
	draw.Draw(rgba, rgba.Bounds(), decoded, image.Point{}, draw.Src)

	results := func(req Request) (Fields, []float32) {
		h := newHarness(t)
		h.call(Request{Op: "loadModel", Data: file, Name: "test.safetensors"})
		img := h.call(req)
		if img["width"] != 48 || img["height"] != 36 || img["format"] != "png" {
			t.Fatalf("image %v", img)
		}
		pred := h.call(Request{Op: "predict", Crop: []int{10, 4, 24, 24}, TopK: 3})
		ex := h.call(Request{Op: "explain", Method: "gradcam++", Class: 1})
		return pred, ex["map"].([]float32)
	}
	wantPred, wantMap := results(Request{Op: "setImage", Data: photo, Name: "photo.png"})
	gotPred, gotMap := results(Request{Op: "setImage", Pixels: slices.Clone(rgba.Pix), Width: 48, Height: 36, Name: "photo.png"})
	for i, p := range wantPred["predictions"].([]Fields) {
		if g := gotPred["predictions"].([]Fields)[i]; g["class"] != p["class"] || g["prob"] != p["prob"] {
			t.Errorf("prediction %d from pixels %v, from the file %v", i, g, p)
		}
	}
	if !slices.Equal(gotMap, wantMap) {
		t.Error("the map from pixels differs from the map from the file")
	}

	h := newHarness(t)
	h.call(Request{Op: "loadModel", Data: file, Name: "test.safetensors"})
	h.call(Request{Op: "setImage", Data: photo, Name: "good.png"})
	translucent := slices.Clone(rgba.Pix)
	translucent[4*7+3] = 128
	for _, tc := range []struct {
		name string
		req  Request
		msg  string
	}{
		{"short", Request{Op: "setImage", Pixels: rgba.Pix[:100], Width: 48, Height: 36, Name: "a.png"}, "a.png: decoded image is 100 bytes, want 4×48×36 = 6912"},
		{"empty", Request{Op: "setImage", Pixels: []byte{}, Width: 0, Height: 36, Name: "b.png"}, "b.png: decoded image is 0×36: empty image"},
		{"too many pixels", Request{Op: "setImage", Pixels: []byte{}, Width: 20000, Height: 20000, Name: "c.png"}, "c.png: image is 20000×20000 = 400000000 pixels, limit 50000000"},
		{"translucent", Request{Op: "setImage", Pixels: translucent, Width: 48, Height: 36, Name: "d.png"}, "d.png: decoded pixel 7 is not opaque (alpha 128)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := h.callErr(tc.req)
			if code != CodeInput || !strings.Contains(msg, tc.msg) {
				t.Errorf("%s error %q, want input containing %q", code, msg, tc.msg)
			}
		})
	}
	// The good image is still there.
	if p := h.call(Request{Op: "predict"}); len(p["predictions"].([]Fields)) == 0 {
		t.Error("no predictions after the refused pixels")
	}
}

// TestPreviewCopyEqualsScale: at full size, the preview is a copy
// (imageSet); it equals what the bilinear scaler gives, for the image
// types Go's decoders return.
func TestPreviewCopyEqualsScale(t *testing.T) {
	r := image.Rect(0, 0, 37, 23)
	rgba := image.NewRGBA(r)
	gray := image.NewGray(r)
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i * 7)
		if i%4 == 3 {
			rgba.Pix[i] = 255
		}
	}
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 13)
	}
	for i := range ycc.Y {
		ycc.Y[i] = uint8(i * 5)
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(i*3), uint8(255-i)
	}
	for _, tc := range []struct {
		name string
		img  image.Image
	}{{"rgba", rgba}, {"gray", gray}, {"ycbcr", ycc}} {
		copied := image.NewRGBA(r)
		draw.Draw(copied, r, tc.img, r.Min, draw.Src)
		scaled := image.NewRGBA(r)
		xdraw.BiLinear.Scale(scaled, r, tc.img, r, xdraw.Src, nil)
		if !slices.Equal(copied.Pix, scaled.Pix) {
			t.Errorf("%s: the copy differs from the scaler's output", tc.name)
		}
	}
	var s state
	res := s.imageSet(ycc, "p.jpg", "jpeg", true)
	if p := res["preview"].(Fields); p["w"] != 37 || p["h"] != 23 {
		t.Fatalf("preview %v×%v, want 37×23", p["w"], p["h"])
	}
}

// TestPreviewOption: setImage answers with a preview, fitted into
// PreviewSide (hello says which), unless the page asks for none.
func TestPreviewOption(t *testing.T) {
	h := newHarness(t)
	if got := h.call(Request{Op: "hello"})["previewSide"]; got != PreviewSide {
		t.Fatalf("hello previewSide %v, want %d", got, PreviewSide)
	}
	small := workertest.Photo(48, 36)
	wide := workertest.Photo(2*PreviewSide, PreviewSide/2)
	pix := make([]byte, 4*20*10)
	for i := range pix {
		pix[i] = 255
	}
	for _, tc := range []struct {
		name string
		req  Request
		w, h int // 0: no preview
	}{
		{"file", Request{Op: "setImage", Data: small, Name: "a.png"}, 48, 36},
		{"file fitted", Request{Op: "setImage", Data: wide, Name: "b.png"}, PreviewSide, PreviewSide / 4},
		{"file, none asked", Request{Op: "setImage", Data: small, Name: "c.png", NoPreview: true}, 0, 0},
		{"pixels", Request{Op: "setImage", Pixels: slices.Clone(pix), Width: 20, Height: 10, Name: "d.png"}, 20, 10},
		{"pixels, none asked", Request{Op: "setImage", Pixels: slices.Clone(pix), Width: 20, Height: 10, Name: "e.png", NoPreview: true}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.call(tc.req)
			p, ok := res["preview"].(Fields)
			switch {
			case tc.w == 0 && ok:
				t.Fatalf("a preview (%v×%v) though none was asked for", p["w"], p["h"])
			case tc.w == 0:
			case !ok:
				t.Fatal("no preview")
			case p["w"] != tc.w || p["h"] != tc.h || len(p["data"].([]byte)) != 4*tc.w*tc.h:
				t.Fatalf("preview %v×%v, %d bytes; want %d×%d", p["w"], p["h"], len(p["data"].([]byte)), tc.w, tc.h)
			}
		})
	}
}
