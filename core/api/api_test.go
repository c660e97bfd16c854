package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/camlens/camlens/core/api"
	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/internal/gradcamref"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/tensor"
)

// modelBytes writes a reference network as a CamLens model file.
func modelBytes(t testing.TB, preset string) []byte {
	t.Helper()
	n, err := gradcamref.LoadNetwork(preset)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := modelfile.Write(&buf, n.Model(), modelfile.WriteOptions{Quantize: true}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const testCatalog = `[
  {"id": "basic", "file": "basic.safetensors", "title": "Reference network (basic)", "default": true,
   "input": {"width": 32, "height": 32, "channels": "RGB"}},
  {"id": "all-layers", "file": "nets/all-layers.safetensors", "title": "Reference network (all layers)",
   "input": {"width": 32, "height": 32, "channels": "RGB"}, "card": "cards/x.md"},
  {"id": "broken", "file": "broken.safetensors", "title": "A truncated model file"}
]`

var (
	fsOnce sync.Once
	fsys   fstest.MapFS
)

// testFS is a models directory with two reference networks and a broken
// model file.
func testFS(t testing.TB) fs.FS {
	fsOnce.Do(func() {
		basic := modelBytes(t, "basic")
		fsys = fstest.MapFS{
			"catalog.json":                {Data: []byte(testCatalog)},
			"basic.safetensors":           {Data: basic},
			"nets/all-layers.safetensors": {Data: modelBytes(t, "all-layers")},
			"broken.safetensors":          {Data: basic[:len(basic)/2]},
		}
	})
	return fsys
}

func newHandler(t testing.TB, cfg api.Config) *api.Handler {
	t.Helper()
	if cfg.Models == nil {
		cfg.Models = testFS(t)
	}
	h, err := api.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// testImage is a w×h RGB gradient with a bright square: something for the
// network to look at.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) * 3), 255}
			if x > w/3 && x < w/2 && y > h/4 && y < h/2 {
				c = color.NRGBA{250, 240, 20, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hugePNGHeader is a PNG signature and an IHDR chunk declaring w×h pixels
// (valid CRC), and no pixel data.
func hugePNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := make([]byte, 0, 17)
	chunk = append(chunk, "IHDR"...)
	chunk = binary.BigEndian.AppendUint32(chunk, w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, 8, 2, 0, 0, 0) // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func multipartBody(t testing.TB, field string, data []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("note", "ignored"); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile(field, "image.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// do serves one request.
func do(h http.Handler, method, target, ctype string, body []byte) *httptest.ResponseRecorder {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

type explainAnswer struct {
	Model          string    `json:"model"`
	Method         string    `json:"method"`
	Target         string    `json:"target"`
	Counterfactual bool      `json:"counterfactual"`
	Layers         []string  `json:"layers"`
	Class          int       `json:"class"`
	Label          string    `json:"label"`
	Logits         []float32 `json:"logits"`
	TopK           []struct {
		Class int     `json:"class"`
		Label string  `json:"label"`
		Logit float32 `json:"logit"`
		Prob  float32 `json:"prob"`
	} `json:"topk"`
	Size     [2]int                    `json:"size"`
	Map      []float32                 `json:"map"`
	Box      struct{ X, Y, W, H int }  `json:"box"`
	ImageBox *struct{ X, Y, W, H int } `json:"image_box"`
	Peak     [2]int                    `json:"peak"`
	Note     string                    `json:"note"`
	Timings  map[string]float64        `json:"timings_ms"`
}

func decodeJSON[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q, want JSON (body %.200s)", ct, w.Body.String())
	}
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	return v
}

// direct explains img with the core packages, as the handler should.
func direct(t *testing.T, preset string, img image.Image, crop image.Rectangle, r cam.Request) (*cam.Session, *cam.Result) {
	t.Helper()
	mf, err := modelfile.Parse(modelBytes(t, preset))
	if err != nil {
		t.Fatal(err)
	}
	m, err := cam.NewModel(mf)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.SessionFromImage(img, crop)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Explain(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return s, res
}

func TestHealthz(t *testing.T) {
	h := newHandler(t, api.Config{})
	w := do(h, "GET", "/healthz", "", nil)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := decodeJSON[map[string]any](t, w)
	if got["status"] != "ok" || got["models"] != float64(3) {
		t.Errorf("healthz = %v", got)
	}
	w = do(h, "HEAD", "/healthz", "", nil)
	if w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("HEAD /healthz: status %d, %d body bytes", w.Code, w.Body.Len())
	}
}

func TestModels(t *testing.T) {
	for _, slow := range []bool{false, true} {
		h := newHandler(t, api.Config{AllowSlow: slow})
		w := do(h, "GET", "/api/models", "", nil)
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		got := decodeJSON[struct {
			Default string           `json:"default"`
			Models  []map[string]any `json:"models"`
			Methods []struct {
				Name      string `json:"name"`
				Title     string `json:"title"`
				Gradients bool   `json:"gradients"`
				Slow      bool   `json:"slow"`
				Class     bool   `json:"class"`
				Counter   bool   `json:"counterfactual"`
				Softmax   bool   `json:"softmax"`
				Available bool   `json:"available"`
			} `json:"methods"`
		}](t, w)
		if got.Default != "basic" || len(got.Models) != 3 || got.Models[1]["id"] != "all-layers" {
			t.Errorf("catalog: default %q, %d models", got.Default, len(got.Models))
		}
		// Fields the API does not use pass through.
		if got.Models[1]["card"] != "cards/x.md" || got.Models[0]["input"].(map[string]any)["width"] != float64(32) {
			t.Errorf("catalog entries not passed through: %v", got.Models)
		}
		if len(got.Methods) != len(cam.Methods()) {
			t.Fatalf("%d methods, want %d", len(got.Methods), len(cam.Methods()))
		}
		for i, m := range cam.Methods() {
			g := got.Methods[i]
			if g.Name != m.Name || g.Slow != m.Slow || g.Available != (!m.Slow || slow) || g.Title != m.Title {
				t.Errorf("method %d = %+v, want %+v (allow slow %v)", i, g, m, slow)
			}
		}
	}
}

func TestModelInfo(t *testing.T) {
	h := newHandler(t, api.Config{})
	w := do(h, "GET", "/api/models/all-layers", "", nil)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := decodeJSON[struct {
		ID     string   `json:"id"`
		Name   string   `json:"name"`
		Title  string   `json:"title"`
		Labels []string `json:"labels"`
		Layers []struct {
			Name  string `json:"name"`
			Shape []int  `json:"shape"`
		} `json:"layers"`
		DefaultLayer string               `json:"default_layer"`
		Input        []int                `json:"input"`
		Preprocess   modelfile.Preprocess `json:"preprocess"`
		Provenance   modelfile.Provenance `json:"provenance"`
	}](t, w)
	n, _ := gradcamref.LoadNetwork("all-layers")
	m, err := cam.NewModel(n.Model())
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "all-layers" || got.Name != n.Spec.Name || len(got.Labels) != m.NumClasses() ||
		got.DefaultLayer != m.DefaultLayer() || len(got.Layers) != len(m.Layers()) ||
		fmt.Sprint(got.Input) != "[3 32 32]" || got.Preprocess.Width != 32 || got.Provenance.License != "MIT" {
		t.Errorf("model info = %+v", got)
	}
	for i, l := range m.Layers() {
		if got.Layers[i].Name != l.Name || fmt.Sprint(got.Layers[i].Shape) != fmt.Sprint(l.Shape) {
			t.Errorf("layer %d = %+v, want %+v", i, got.Layers[i], l)
		}
	}
}

// TestExplainJSON checks the JSON answer against the core packages for a
// range of parameters.
func TestExplainJSON(t *testing.T) {
	h := newHandler(t, api.Config{AllowSlow: true})
	img := testImage(80, 60)
	body := pngBytes(t, img)
	cases := []struct {
		query  string
		preset string
		crop   image.Rectangle
		req    cam.Request
		model  string
	}{
		{"", "basic", image.Rectangle{}, cam.Request{Class: -1}, "basic"},
		{"model=basic&method=gradcam%2B%2B&class=3", "basic", image.Rectangle{}, cam.Request{Method: "gradcam++", Class: 3}, "basic"},
		{"class=Class+2&target=softmax&crop=10,5,40,30", "basic", image.Rect(10, 5, 50, 35), cam.Request{Class: 2, Target: "softmax"}, "basic"},
		{"model=all-layers&layer=4&layer=8&method=layercam", "all-layers", image.Rectangle{}, cam.Request{Method: "layercam", Class: -1, Layers: []string{"4", "8"}}, "all-layers"},
		{"counterfactual=true&class=1", "basic", image.Rectangle{}, cam.Request{Class: 1, Counterfactual: true}, "basic"},
		{"method=guided-gradcam&topk=2", "basic", image.Rectangle{}, cam.Request{Method: "guided-gradcam", Class: -1}, "basic"},
		{"method=scorecam&crop=70,50,40,40", "basic", image.Rect(70, 50, 80, 60), cam.Request{Method: "scorecam", Class: -1}, "basic"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			w := do(h, "POST", "/api/explain?format=json&"+c.query, "image/png", body)
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if st := w.Header().Get("Server-Timing"); !strings.Contains(st, "forward;dur=") {
				t.Errorf("Server-Timing %q", st)
			}
			got := decodeJSON[explainAnswer](t, w)
			s, want := direct(t, c.preset, img, c.crop, c.req)
			if got.Model != c.model || got.Method != want.Method || got.Class != want.Class || got.Label != want.Label ||
				got.Target != want.Target || got.Counterfactual != want.Counterfactual || fmt.Sprint(got.Layers) != fmt.Sprint(want.Layers) {
				t.Errorf("answer %s %s class %d %q target %s cf %v layers %v; want %s class %d %q target %s cf %v layers %v",
					got.Model, got.Method, got.Class, got.Label, got.Target, got.Counterfactual, got.Layers,
					want.Method, want.Class, want.Label, want.Target, want.Counterfactual, want.Layers)
			}
			if got.Size != [2]int{want.W, want.H} || len(got.Map) != len(want.Map) {
				t.Fatalf("size %v with %d values, want %d×%d", got.Size, len(got.Map), want.W, want.H)
			}
			for i := range want.Map {
				if got.Map[i] != want.Map[i] { // float32 survives JSON exactly
					t.Fatalf("map[%d] = %v, want %v", i, got.Map[i], want.Map[i])
				}
			}
			if got.Box.X != want.Box.Min.X || got.Box.Y != want.Box.Min.Y || got.Box.W != want.Box.Dx() || got.Box.H != want.Box.Dy() ||
				got.Peak != [2]int{want.Peak.X, want.Peak.Y} {
				t.Errorf("box %+v peak %v, want %v %v", got.Box, got.Peak, want.Box, want.Peak)
			}
			if (got.ImageBox != nil) != !want.Box.Empty() {
				t.Errorf("image_box %v for box %v", got.ImageBox, want.Box)
			}
			if got.Note != want.Note {
				t.Errorf("note %q, want %q", got.Note, want.Note)
			}
			if got.Note != "" {
				t.Logf("note: %s", got.Note)
			}
			k := 5
			if strings.Contains(c.query, "topk=2") {
				k = 2
			}
			preds := s.Predictions(k)
			if len(got.TopK) != len(preds) {
				t.Fatalf("%d top classes, want %d", len(got.TopK), len(preds))
			}
			for i, p := range preds {
				g := got.TopK[i]
				if g.Class != p.Class || g.Label != p.Label || g.Logit != p.Logit || g.Prob != p.Prob {
					t.Errorf("topk[%d] = %+v, want %+v", i, g, p)
				}
			}
			if fmt.Sprint(got.Logits) != fmt.Sprint(s.Logits()) {
				t.Errorf("logits %v, want %v", got.Logits, s.Logits())
			}
			for _, k := range []string{"decode", "model", "forward", "backward", "method", "total"} {
				if _, ok := got.Timings[k]; !ok {
					t.Errorf("timings_ms without %q: %v", k, got.Timings)
				}
			}
		})
	}
}

// TestExplainBodies sends the same image as raw bytes with each accepted
// content type and as a multipart form: the answers are identical.
func TestExplainBodies(t *testing.T) {
	h := newHandler(t, api.Config{})
	img := pngBytes(t, testImage(40, 40))
	var first string
	mct, mbody := multipartBody(t, "image", img)
	for _, b := range []struct {
		ctype string
		body  []byte
	}{
		{"image/png", img}, {"", img}, {"application/octet-stream", img}, {"image/jpeg", img}, {mct, mbody},
	} {
		w := do(h, "POST", "/api/explain?format=json", b.ctype, b.body)
		if w.Code != 200 {
			t.Fatalf("%q: status %d: %s", b.ctype, w.Code, w.Body)
		}
		a := decodeJSON[explainAnswer](t, w)
		a.Timings = nil
		js, _ := json.Marshal(a)
		if first == "" {
			first = string(js)
		} else if string(js) != first {
			t.Errorf("%q: answer differs from the raw PNG's", b.ctype)
		}
	}
}

// TestExplainPNG checks the overlay answer: the map of Grad-CAM blended
// over the input region of the image.
func TestExplainPNG(t *testing.T) {
	img := testImage(90, 70)
	body := pngBytes(t, img)
	cases := []struct {
		query   string
		maxSide int
		crop    image.Rectangle
		alpha   float64
		cmap    string
		size    image.Point
	}{
		{"", 0, image.Rectangle{}, 0.5, "jet", image.Pt(90, 70)},
		{"crop=20,10,30,40&alpha=0.8&colormap=viridis", 0, image.Rect(20, 10, 50, 50), 0.8, "viridis", image.Pt(30, 40)},
		{"alpha=1", 45, image.Rectangle{}, 1, "jet", image.Pt(45, 35)}, // scaled down: alpha 1 shows the heatmap only
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			h := newHandler(t, api.Config{MaxOverlaySide: c.maxSide})
			w := do(h, "POST", "/api/explain?"+c.query, "image/png", body)
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "image/png" {
				t.Fatalf("Content-Type %q", ct)
			}
			got, err := png.Decode(w.Body)
			if err != nil {
				t.Fatal(err)
			}
			if got.Bounds().Size() != c.size {
				t.Fatalf("overlay size %v, want %v", got.Bounds().Size(), c.size)
			}
			_, res := direct(t, "basic", img, c.crop, cam.Request{Class: -1})
			if w.Header().Get("X-CamLens-Class") != fmt.Sprint(res.Class) || w.Header().Get("X-CamLens-Method") != "gradcam" {
				t.Errorf("headers %v", w.Header())
			}
			cm, _ := imaging.LookupColormap(c.cmap)
			var base image.Image
			if c.maxSide == 0 {
				r := c.crop
				if r.Empty() {
					r = img.Bounds()
				}
				base = img.SubImage(r)
			} else {
				base = image.NewRGBA(image.Rectangle{Max: c.size}) // alpha 1: the base does not matter
			}
			want := imaging.Overlay(base, res.Map, res.W, res.H, cm, c.alpha)
			b := got.Bounds()
			for y := range b.Dy() {
				for x := range b.Dx() {
					g := color.RGBAModel.Convert(got.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
					e := want.RGBAAt(want.Bounds().Min.X+x, want.Bounds().Min.Y+y)
					if g != e {
						t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, g, e)
					}
				}
			}
		})
	}
}

// TestBadRequests sends requests that must fail, each with its own status,
// code and message.
func TestBadRequests(t *testing.T) {
	var logMu sync.Mutex
	var logs []string
	h := newHandler(t, api.Config{MaxBodyBytes: 64 << 10, MaxPixels: 1 << 20, Log: func(l string) {
		logMu.Lock()
		logs = append(logs, l)
		logMu.Unlock()
	}})
	good := pngBytes(t, testImage(40, 30))
	mct, mnoimg := multipartBody(t, "file", good)
	bigct, mbig := multipartBody(t, "image", make([]byte, 70<<10))
	secret := []byte("SECRET-PIXELS " + strings.Repeat("x", 100))
	cases := []struct {
		name, method, target, ctype string
		body                        []byte
		status                      int
		code, msg                   string
	}{
		{"wrong method explain", "GET", "/api/explain", "", nil, 405, api.CodeMethodNotAllowed, "does not take GET (allowed: POST)"},
		{"wrong method models", "POST", "/api/models", "image/png", good, 405, api.CodeMethodNotAllowed, "allowed: GET, HEAD"},
		{"wrong method healthz", "DELETE", "/healthz", "", nil, 405, api.CodeMethodNotAllowed, "allowed: GET, HEAD"},
		{"no route", "GET", "/api/nope", "", nil, 404, api.CodeNotFound, "no route /api/nope"},
		{"unknown model path", "GET", "/api/models/nope", "", nil, 404, api.CodeUnknownModel, `no model "nope" in the catalog (models: basic, all-layers, broken)`},
		{"huge body", "POST", "/api/explain", "image/png", make([]byte, 65<<10), 413, api.CodeBodyTooLarge, "request body of 66560 bytes, limit 65536"},
		{"huge multipart body", "POST", "/api/explain", bigct, mbig, 413, api.CodeBodyTooLarge, "limit 65536"},
		{"large image header", "POST", "/api/explain", "image/png", hugePNGHeader(2000, 1000), 413, api.CodeImageTooLarge, "png image is 2000×1000 = 2000000 pixels, limit 1048576"},
		{"huge image header", "POST", "/api/explain", "image/png", hugePNGHeader(30000, 20000), 413, api.CodeImageTooLarge, "png image declares more than 50000000 pixels in its header, limit 1048576"},
		{"not an image", "POST", "/api/explain", "image/png", secret, 415, api.CodeUnsupportedImage, "not a PNG, JPEG, GIF, BMP or WebP image"},
		{"truncated image", "POST", "/api/explain", "image/png", good[:len(good)/2], 400, api.CodeBadImage, "decode png (40×30)"},
		{"text content type", "POST", "/api/explain", "text/plain", good, 415, api.CodeUnsupportedType, `Content-Type "text/plain"`},
		{"form content type", "POST", "/api/explain", "application/x-www-form-urlencoded", good, 415, api.CodeUnsupportedType, "multipart/form-data body"},
		{"malformed content type", "POST", "/api/explain", "image/png; =", good, 415, api.CodeUnsupportedType, "malformed Content-Type"},
		{"empty body", "POST", "/api/explain", "image/png", []byte{}, 400, api.CodeEmptyBody, "empty image"},
		{"multipart without image", "POST", "/api/explain", mct, mnoimg, 400, api.CodeMissingImage, `without an "image" field`},
		{"multipart without boundary", "POST", "/api/explain", "multipart/form-data", good, 400, api.CodeBadMultipart, "without a boundary"},
		{"unknown parameter", "POST", "/api/explain?methd=gradcam", "image/png", good, 400, api.CodeUnknownParameter, `unknown query parameter "methd" (known: alpha, class,`},
		{"parameter twice", "POST", "/api/explain?method=gradcam&method=hirescam", "image/png", good, 400, api.CodeBadParameter, `"method" given 2 times`},
		{"parameter on models", "GET", "/api/models?x=1", "", nil, 400, api.CodeUnknownParameter, "/api/models takes none"},
		{"bad format", "POST", "/api/explain?format=gif", "image/png", good, 400, api.CodeBadParameter, `format "gif": want png or json`},
		{"bad alpha", "POST", "/api/explain?alpha=2", "image/png", good, 400, api.CodeBadParameter, `alpha "2": want a number from 0 to 1`},
		{"NaN alpha", "POST", "/api/explain?alpha=NaN", "image/png", good, 400, api.CodeBadParameter, `alpha "NaN"`},
		{"bad topk", "POST", "/api/explain?topk=0", "image/png", good, 400, api.CodeBadParameter, `topk "0": want an integer from 1 to 1000`},
		{"bad target", "POST", "/api/explain?target=prob", "image/png", good, 400, api.CodeBadParameter, `target "prob": want logit or softmax`},
		{"bad counterfactual", "POST", "/api/explain?counterfactual=maybe", "image/png", good, 400, api.CodeBadParameter, `counterfactual "maybe"`},
		{"bad colormap", "POST", "/api/explain?colormap=rainbow", "image/png", good, 400, api.CodeBadParameter, `colormap "rainbow": want one of jet, turbo, viridis, inferno`},
		{"malformed query", "POST", "/api/explain?crop=%zz", "image/png", good, 400, api.CodeBadParameter, "malformed query string"},
		{"unknown model", "POST", "/api/explain?model=resnet", "image/png", good, 400, api.CodeUnknownModel, `unknown model "resnet" (models: basic, all-layers, broken)`},
		{"unknown method", "POST", "/api/explain?method=gradcam3", "image/png", good, 400, api.CodeUnknownMethod, `unknown method "gradcam3" (methods: gradcam, gradcam++,`},
		{"slow method", "POST", "/api/explain?method=ablationcam", "image/png", good, 400, api.CodeMethodDisabled, `method "ablationcam" runs one forward pass per channel`},
		{"unknown layer", "POST", "/api/explain?layer=99", "image/png", good, 400, api.CodeUnknownLayer, `model "basic" has no target layer "99" (layers: 0, 1,`},
		{"empty layer", "POST", "/api/explain?layer=", "image/png", good, 400, api.CodeBadParameter, "empty layer name"},
		{"class out of range", "POST", "/api/explain?class=10", "image/png", good, 400, api.CodeUnknownClass, `class 10 out of range: model "basic" has classes 0 to 9`},
		{"negative class", "POST", "/api/explain?class=-1", "image/png", good, 400, api.CodeUnknownClass, "class -1 out of range"},
		{"unknown label", "POST", "/api/explain?class=cat", "image/png", good, 400, api.CodeUnknownClass, `class "cat": not top, a class index, or a label of model "basic" (class 0, class 1,`},
		{"crop of three", "POST", "/api/explain?crop=1,2,3", "image/png", good, 400, api.CodeBadCrop, `crop "1,2,3": want x,y,w,h`},
		{"crop not a number", "POST", "/api/explain?crop=1,2,a,4", "image/png", good, 400, api.CodeBadCrop, `"a" is not an integer`},
		{"crop negative", "POST", "/api/explain?crop=-1,0,5,5", "image/png", good, 400, api.CodeBadCrop, "want x, y ≥ 0 and w, h > 0"},
		{"crop empty", "POST", "/api/explain?crop=0,0,0,5", "image/png", good, 400, api.CodeBadCrop, "want x, y ≥ 0 and w, h > 0"},
		{"crop huge", "POST", "/api/explain?crop=0,0,99999999999,5", "image/png", good, 400, api.CodeBadCrop, "is larger than 16777216"},
		{"crop outside", "POST", "/api/explain?crop=40,0,5,5", "image/png", good, 400, api.CodeBadCrop, "crop x=40 y=0 w=5 h=5 does not overlap the 40×30 image"},
		{"no counterfactual", "POST", "/api/explain?method=eigencam&counterfactual=true", "image/png", good, 400, api.CodeExplainFailed, "eigencam has no counterfactual"},
		{"broken model", "POST", "/api/explain?model=broken", "image/png", good, 500, api.CodeModelUnavailable, `api: model "broken" (broken.safetensors)`},
		{"broken model info", "GET", "/api/models/broken", "", nil, 500, api.CodeModelUnavailable, `model "broken"`},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := do(h, c.method, c.target, c.ctype, c.body)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d (body %s)", w.Code, c.status, w.Body)
			}
			got := decodeJSON[api.Error](t, w)
			if got.Status != c.status || got.Code != c.code || !strings.Contains(got.Message, c.msg) {
				t.Errorf("error %+v, want status %d code %q message containing %q", got, c.status, c.code, c.msg)
			}
			if c.status == 405 && w.Header().Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
			if strings.Contains(got.Message, "SECRET") {
				t.Errorf("the error repeats the body: %q", got.Message)
			}
			seen[c.code] = true
		})
	}
	if len(seen) < 15 {
		t.Errorf("only %d distinct error codes exercised", len(seen))
	}
	logMu.Lock()
	defer logMu.Unlock()
	if len(logs) < len(cases) {
		t.Errorf("%d log lines for %d requests", len(logs), len(cases))
	}
	for _, l := range logs {
		if strings.Contains(l, "SECRET") || strings.Contains(l, "\x89PNG") {
			t.Errorf("a log line carries request data: %q", l)
		}
	}
}

// panicFS panics when the named file is opened.
type panicFS struct {
	fs.FS
	name string
}

func (p panicFS) Open(name string) (fs.File, error) {
	if name == p.name {
		panic("boom while opening " + name)
	}
	return p.FS.Open(name)
}

// TestPanicRecovery: a panic inside the handler becomes a JSON 500, is
// logged with its stack, and the handler keeps serving.
func TestPanicRecovery(t *testing.T) {
	var logs []string
	h := newHandler(t, api.Config{
		Models: panicFS{testFS(t), "nets/all-layers.safetensors"},
		Log:    func(l string) { logs = append(logs, l) },
	})
	w := do(h, "GET", "/api/models/all-layers", "", nil)
	if w.Code != 500 {
		t.Fatalf("status %d, want 500: %s", w.Code, w.Body)
	}
	e := decodeJSON[api.Error](t, w)
	if e.Code != api.CodeInternal || e.Message != "internal error while serving GET /api/models/all-layers" {
		t.Errorf("error %+v", e)
	}
	joined := strings.Join(logs, "\n")
	if !strings.Contains(joined, "panic serving GET /api/models/all-layers: boom while opening") || !strings.Contains(joined, "goroutine") {
		t.Errorf("panic not logged with its stack: %q", joined)
	}
	if !strings.Contains(joined, "GET /api/models/all-layers 500") {
		t.Errorf("request not logged: %q", joined)
	}
	// The handler still works, for other models and routes.
	w = do(h, "POST", "/api/explain?format=json", "image/png", pngBytes(t, testImage(20, 20)))
	if w.Code != 200 {
		t.Errorf("after the panic: status %d: %s", w.Code, w.Body)
	}
}

func TestFailed(t *testing.T) {
	h := api.Failed(fmt.Errorf("catalog.json: no models"))
	w := do(h, "GET", "/healthz", "", nil)
	e := decodeJSON[api.Error](t, w)
	if w.Code != 503 || e.Code != api.CodeUnavailable || !strings.Contains(e.Message, "catalog.json: no models") {
		t.Errorf("status %d, %+v", w.Code, e)
	}
}

func TestCatalogErrors(t *testing.T) {
	model := fstest.MapFile{Data: []byte("x")}
	cases := []struct {
		name, catalog, want string
	}{
		{"missing", "", "open catalog.json"},
		{"not json", "{", "not a JSON array"},
		{"object", `{"id":"a"}`, "not a JSON array"},
		{"empty", `[]`, "no models"},
		{"no id", `[{"file":"a.safetensors"}]`, "entry 0: empty id"},
		{"bad id", `[{"id":"a/b","file":"a.safetensors"}]`, `id "a/b" has characters`},
		{"duplicate", `[{"id":"a","file":"a.safetensors"},{"id":"a","file":"b.safetensors"}]`, `entry 1: duplicate id "a"`},
		{"parent path", `[{"id":"a","file":"../a.safetensors"}]`, `file "../a.safetensors" is not a relative path`},
		{"absolute path", `[{"id":"a","file":"/a.safetensors"}]`, "is not a relative path"},
		{"hidden", `[{"id":"a","file":".a.safetensors"}]`, "is not a relative path"},
		{"two defaults", `[{"id":"a","file":"a","default":true},{"id":"b","file":"b","default":true}]`, "entries 0 and 1 are both marked default"},
		{"bad type", `[{"id":1,"file":"a"}]`, "entry 0:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := fstest.MapFS{"a.safetensors": &model}
			if c.catalog != "" {
				m["catalog.json"] = &fstest.MapFile{Data: []byte(c.catalog)}
			}
			_, err := api.NewHandler(api.Config{Models: m})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := api.NewHandler(api.Config{}); err == nil || !strings.Contains(err.Error(), "Models is nil") {
		t.Errorf("nil Models: %v", err)
	}
	if _, err := api.NewHandler(api.Config{Models: testFS(t), MaxPixels: imaging.MaxPixels + 1}); err == nil {
		t.Error("MaxPixels above imaging.MaxPixels accepted")
	}
	// Without a default, the first entry is.
	h, err := api.NewHandler(api.Config{Models: fstest.MapFS{"catalog.json": {Data: []byte(`[{"id":"x","file":"x.st"},{"id":"y","file":"y.st"}]`)}}})
	if err != nil || h.DefaultModel() != "x" || len(h.Catalog()) != 2 {
		t.Errorf("default: %v %v", h, err)
	}
}

// TestModelLoadedOnce: concurrent requests share one load of a model.
func TestModelLoadedOnce(t *testing.T) {
	var mu sync.Mutex
	opens := 0
	counting := countFS{testFS(t), func() { mu.Lock(); opens++; mu.Unlock() }}
	h := newHandler(t, api.Config{Models: counting})
	body := pngBytes(t, testImage(32, 32))
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w := do(h, "POST", "/api/explain?format=json&method=hirescam", "image/png", body); w.Code != 200 {
				t.Errorf("status %d: %s", w.Code, w.Body)
			}
		}()
	}
	wg.Wait()
	if opens != 1 {
		t.Errorf("the model file was opened %d times, want 1", opens)
	}
}

type countFS struct {
	fs.FS
	open func()
}

func (c countFS) Open(name string) (fs.File, error) {
	if strings.HasSuffix(name, ".safetensors") {
		c.open()
	}
	return c.FS.Open(name)
}

// TestBodyLimitWithoutLength: a body of unknown length is cut at the limit
// while it is read.
func TestBodyLimitWithoutLength(t *testing.T) {
	h := newHandler(t, api.Config{MaxBodyBytes: 1000})
	for _, n := range []int{1000, 1001, 1 << 20} {
		data := append(pngBytes(t, testImage(8, 8)), make([]byte, 1<<20)...)[:n]
		req := httptest.NewRequest("POST", "/api/explain?format=json", io.MultiReader(bytes.NewReader(data)))
		req.ContentLength = -1
		req.Header.Set("Content-Type", "image/png")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if n <= 1000 {
			// Within the limit: the image is read (and has trailing bytes PNG ignores).
			if w.Code != 200 {
				t.Errorf("%d bytes: status %d: %s", n, w.Code, w.Body)
			}
			continue
		}
		e := decodeJSON[api.Error](t, w)
		if w.Code != 413 || e.Code != api.CodeBodyTooLarge || e.Message != "request body larger than 1000 bytes" {
			t.Errorf("%d bytes: status %d, %+v", n, w.Code, e)
		}
	}
}

// TestZeroMapNote: a class whose logit does not depend on the image gives
// an all-zero map and the core's note, in the JSON answer and as the
// X-CamLens-Note header of the PNG answer.
func TestZeroMapNote(t *testing.T) {
	n, err := gradcamref.LoadNetwork("basic")
	if err != nil {
		t.Fatal(err)
	}
	m := n.Model()
	last := m.Graph.Nodes[len(m.Graph.Nodes)-1]
	if last.Op != "dense" {
		t.Fatalf("last node %q is %s, want dense", last.Name, last.Op)
	}
	var wt *tensor.Tensor
	for name, w := range m.Weights {
		if strings.HasPrefix(name, last.Name+".") && len(w.Shape) == 2 {
			wt = w
		}
	}
	if wt == nil {
		t.Fatalf("no weight matrix for %q", last.Name)
	}
	clear(wt.Data[:wt.Shape[1]]) // class 0 no longer looks at the features
	var buf bytes.Buffer
	if err := modelfile.Write(&buf, m, modelfile.WriteOptions{Quantize: true}); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, api.Config{Models: fstest.MapFS{
		"catalog.json":      {Data: []byte(`[{"id": "blind", "file": "blind.safetensors", "title": "Class 0 is blind", "default": true}]`)},
		"blind.safetensors": {Data: buf.Bytes()},
	}})
	body := pngBytes(t, testImage(40, 30))
	w := do(h, "POST", "/api/explain?format=json&class=0", "image/png", body)
	var got struct {
		Map  []float32
		Note string
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != 200 || err != nil {
		t.Fatalf("json: status %d, %v: %.300s", w.Code, err, w.Body)
	}
	const want = "the map is all zero"
	if !strings.Contains(got.Note, want) || !strings.Contains(got.Note, "zero everywhere") {
		t.Errorf("note %q, want it to say %q and why", got.Note, want)
	}
	for i, v := range got.Map {
		if v != 0 {
			t.Fatalf("map[%d] = %v, want all zero", i, v)
		}
	}
	w = do(h, "POST", "/api/explain?class=0", "image/png", body)
	if w.Code != 200 {
		t.Fatalf("png: status %d: %s", w.Code, w.Body)
	}
	if note, _ := url.PathUnescape(w.Header().Get("X-CamLens-Note")); note != got.Note {
		t.Errorf("X-CamLens-Note %q, want %q", note, got.Note)
	}
	// A class that does look at the image has no note.
	w = do(h, "POST", "/api/explain?format=json&class=1", "image/png", body)
	var other struct{ Note *string }
	if err := json.Unmarshal(w.Body.Bytes(), &other); w.Code != 200 || err != nil {
		t.Fatalf("class 1: status %d, %v", w.Code, err)
	}
	if other.Note != nil {
		t.Errorf("class 1: note %q, want none", *other.Note)
	}
}
