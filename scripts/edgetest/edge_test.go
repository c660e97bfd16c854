package edgetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/camlens/camlens/core/api"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/models"
	"github.com/camlens/camlens/scripts/edge-dev/edgedev"
	"github.com/camlens/camlens/scripts/serve/site"
)

// sample is an entry of web/samples/samples.json.
type sample struct {
	File     string `json:"file"`
	Model    string `json:"model"`
	Crop     [4]int `json:"crop"`
	Expected string `json:"expected"`
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := edgedev.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func samples(t *testing.T, root string) []sample {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "web", "samples", "samples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Samples []sample }
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Samples) == 0 {
		t.Fatal("no samples")
	}
	return s.Samples
}

func readSample(t *testing.T, root string, s sample) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "web", "samples", s.File))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sampleQuery is the query naming the sample's model and, where
// samples.json gives one, its crop (the gallery's non-face samples are
// explained whole).
func sampleQuery(s sample) string {
	q := "model=" + s.Model
	if s.Crop[2] > 0 && s.Crop[3] > 0 {
		q += fmt.Sprintf("&crop=%d,%d,%d,%d", s.Crop[0], s.Crop[1], s.Crop[2], s.Crop[3])
	}
	return q
}

func contentType(file string) string {
	if strings.HasSuffix(file, ".jpg") {
		return "image/jpeg"
	}
	return "image/png"
}

// answer is the part of the format=json answer the tests read.
type answer struct {
	Model  string    `json:"model"`
	Method string    `json:"method"`
	Class  int       `json:"class"`
	Label  string    `json:"label"`
	Size   [2]int    `json:"size"`
	Map    []float32 `json:"map"`
	Box    struct{ X, Y, W, H int }
	Peak   [2]int `json:"peak"`
}

// TestEmbeddedModels runs the API natively on the models the Worker
// embeds: every sample is explained by its model with its expected class.
func TestEmbeddedModels(t *testing.T) {
	root := repoRoot(t)
	h, err := api.NewHandler(api.Config{Models: models.FS})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples(t, root) {
		req := httptest.NewRequest("POST", "/api/explain?format=json&"+sampleQuery(s), bytes.NewReader(readSample(t, root, s)))
		req.Header.Set("Content-Type", contentType(s.File))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("%s: status %d: %s", s.File, w.Code, w.Body)
		}
		var a answer
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s, Grad-CAM box %+v peak %v", s.File, a.Label, a.Box, a.Peak)
		if a.Label != s.Expected {
			t.Errorf("%s: top class %q, samples.json expects %q", s.File, a.Label, s.Expected)
		}
	}
}

func requireDeps(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
		t.Fatalf("CAMLENS_REQUIRE_DEPS=1: "+format, args...)
	}
	t.Skipf(format, args...)
}

// worker is a running local Worker and the native handler it must agree
// with.
type worker struct {
	t        *testing.T
	dev      *edgedev.Dev
	native   http.Handler
	client   *http.Client
	wrangler string // the command
	config   string // the Worker's wrangler.toml in the test's tree
}

type reply struct {
	status int
	header http.Header
	body   []byte
	dur    time.Duration
}

func (w *worker) do(method, path, ctype string, body []byte) reply {
	w.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, w.dev.URL+path, r)
	if err != nil {
		w.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	t0 := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v\nwrangler:\n%s", method, path, err, w.dev.Output())
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	return reply{resp.StatusCode, resp.Header, data, time.Since(t0)}
}

// nativeDo serves the same request with the native handler.
func (w *worker) nativeDo(method, path, ctype string, body []byte) reply {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	w.native.ServeHTTP(rec, req)
	return reply{rec.Code, rec.Header(), rec.Body.Bytes(), 0}
}

// hugePNGHeader is a PNG signature and an IHDR chunk declaring w×h pixels.
func hugePNGHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := []byte("IHDR")
	chunk = binary.BigEndian.AppendUint32(chunk, w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, 8, 2, 0, 0, 0)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// startWorker builds the Worker and starts it in a temporary tree laid out
// like the repository: wasm/edge/{wrangler.toml,build/} and dist/.
func startWorker(t *testing.T, root string) (*worker, *edgedev.Bundle) {
	t.Helper()
	if testing.Short() || os.Getenv("CAMLENS_EDGE") != "1" {
		t.Skip("the Worker test builds the Worker and starts wrangler (minutes): set CAMLENS_EDGE=1, as scripts/test.d/70-edge.sh does")
	}
	if _, err := exec.LookPath("node"); err != nil {
		requireDeps(t, "node is not installed: %v", err)
	}
	if _, err := os.Stat(edgedev.Wrangler(root)); err != nil {
		requireDeps(t, "wrangler is not installed in scripts/node (scripts/setup.d/20-npm.sh): %v", err)
	}
	ctx := context.Background()
	wrangler, err := edgedev.EnsureWrangler(ctx, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	tree := t.TempDir()
	edge := filepath.Join(tree, "wasm", "edge")
	dist := filepath.Join(tree, "dist")
	for _, d := range []string{edge, dist} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	toml, err := os.ReadFile(filepath.Join(root, "wasm", "edge", "wrangler.toml"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		filepath.Join(edge, "wrangler.toml"): toml,
		filepath.Join(dist, "index.html"):    []byte("<!doctype html><title>CamLens stand-in</title>static asset\n"),
		filepath.Join(dist, "hello.txt"):     []byte("served by Workers static assets\n"),
		filepath.Join(dist, "hello.txt.gz"):  []byte("ignored by .assetsignore\n"),
	}
	for p, data := range files {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := edgedev.WriteAssetsIgnore(dist); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	b, err := edgedev.BuildWorker(ctx, root, filepath.Join(edge, "build"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("worker built in %.1fs", time.Since(t0).Seconds())
	port, err := edgedev.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	d, err := edgedev.StartDev(ctx, edgedev.DevOptions{
		Wrangler: wrangler, Config: filepath.Join(edge, "wrangler.toml"), Port: port, Ready: 3 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	t.Logf("wrangler dev answered /healthz after %.1fs", time.Since(t0).Seconds())
	native, err := api.NewHandler(api.Config{Models: models.FS})
	if err != nil {
		t.Fatal(err)
	}
	return &worker{t: t, dev: d, native: native, client: &http.Client{Timeout: 2 * time.Minute},
		wrangler: wrangler, config: filepath.Join(edge, "wrangler.toml")}, b
}

func TestWorker(t *testing.T) {
	root := repoRoot(t)
	w, bundle := startWorker(t, root)
	for _, f := range bundle.Files {
		t.Logf("bundle %-14s %9d bytes raw %9d gzip", f.Name, f.Raw, f.Gzip)
	}
	raw, gz := bundle.Size()
	t.Logf("bundle total          %9d bytes raw %9d gzip (%.2f MiB / %.2f MiB)", raw, gz, float64(raw)/(1<<20), float64(gz)/(1<<20))
	// The README promises that the Worker deploys on the Free plan: what
	// wrangler would upload must stay within its size limit.
	rawKiB, gzKiB, err := edgedev.UploadSize(context.Background(), w.wrangler, w.config)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrangler deploy --dry-run: %.2f KiB, gzip %.2f KiB (Free plan limit %d KiB)", rawKiB, gzKiB, edgedev.FreePlanLimitKiB)
	if gzKiB >= edgedev.FreePlanLimitKiB {
		t.Errorf("the Worker's upload is %.2f KiB gzip, over the Workers Free plan's %d KiB", gzKiB, edgedev.FreePlanLimitKiB)
	}

	ss := samples(t, root)
	s := ss[0]
	for _, c := range ss {
		if strings.HasSuffix(c.File, ".jpg") {
			s = c // a JPEG: the chroma upsampling runs in the Worker too
		}
	}
	img := readSample(t, root, s)
	explainJSON := "/api/explain?format=json&method=gradcam&" + sampleQuery(s)

	// Cold: the first explanation this Worker serves.
	cold := w.do("POST", explainJSON, contentType(s.File), img)
	if cold.status != 200 {
		t.Fatalf("explain: status %d: %s\nwrangler:\n%s", cold.status, cold.body, w.dev.Output())
	}
	t.Logf("cold /api/explain (json, %s, gradcam): %.1f ms; Server-Timing %s", s.File, ms(cold.dur), cold.header.Get("Server-Timing"))

	t.Run("routes", func(t *testing.T) { testRoutes(t, w, root, ss) })
	t.Run("errors", func(t *testing.T) { testErrors(t, w, img) })
	t.Run("cli", func(t *testing.T) { testCLI(t, w, root, s, cold.body) })
	t.Run("latency", func(t *testing.T) { measure(t, w, explainJSON, contentType(s.File), img) })

	for _, l := range edgedev.Lines(w.dev.Output(), "camlens:") {
		if strings.Contains(l, "\x89PNG") || strings.Contains(l, "JFIF") {
			t.Errorf("the Worker logged image data: %q", l)
		}
	}
	t.Logf("worker log lines: %d, e.g. %q", len(edgedev.Lines(w.dev.Output(), "camlens:")), first(edgedev.Lines(w.dev.Output(), "camlens:")))
}

func first(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return strings.TrimSpace(l[0])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func testRoutes(t *testing.T, w *worker, root string, ss []sample) {
	// Same answers as the native handler for the JSON routes.
	for _, p := range []string{"/healthz", "/api/models", "/api/models/face-expression"} {
		got, want := w.do("GET", p, "", nil), w.nativeDo("GET", p, "", nil)
		if got.status != 200 || !bytes.Equal(got.body, want.body) {
			t.Errorf("GET %s: status %d, body %.300s; native: %.300s", p, got.status, got.body, want.body)
		}
		if ct := got.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
	}
	var cat struct {
		Default string `json:"default"`
	}
	json.Unmarshal(w.do("GET", "/api/models", "", nil).body, &cat)
	if cat.Default != "face-expression" {
		t.Errorf("default model %q", cat.Default)
	}
	// Static assets come from dist/ without the Worker.
	for p, want := range map[string]string{"/": "CamLens stand-in", "/hello.txt": "served by Workers static assets"} {
		got := w.do("GET", p, "", nil)
		if got.status != 200 || !strings.Contains(string(got.body), want) {
			t.Errorf("GET %s: status %d, body %.200q", p, got.status, got.body)
		}
	}
	if got := w.do("GET", "/hello.txt.gz", "", nil); got.status != 404 {
		t.Errorf("GET /hello.txt.gz (in .assetsignore): status %d, want the Worker's 404", got.status)
	}
	// Every sample, raw body and multipart, JSON and PNG.
	for _, s := range ss {
		img := readSample(t, root, s)
		q := "/api/explain?format=json&" + sampleQuery(s)
		got := w.do("POST", q, contentType(s.File), img)
		var a answer
		if got.status != 200 || json.Unmarshal(got.body, &a) != nil {
			t.Fatalf("%s: status %d: %.300s", s.File, got.status, got.body)
		}
		if a.Label != s.Expected {
			t.Errorf("%s: %q, samples.json expects %q", s.File, a.Label, s.Expected)
		}
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		fw, _ := mw.CreateFormFile("image", s.File)
		fw.Write(img)
		mw.Close()
		gotMP := w.do("POST", q, mw.FormDataContentType(), mp.Bytes())
		var b answer
		if gotMP.status != 200 || json.Unmarshal(gotMP.body, &b) != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("%s multipart: status %d, answer differs from the raw body's", s.File, gotMP.status)
		}
		pngReply := w.do("POST", "/api/explain?alpha=0.6&"+sampleQuery(s), contentType(s.File), img)
		if pngReply.status != 200 || pngReply.header.Get("Content-Type") != "image/png" {
			t.Fatalf("%s png: status %d, %s", s.File, pngReply.status, pngReply.body)
		}
		ov, err := png.Decode(bytes.NewReader(pngReply.body))
		if err != nil {
			t.Fatalf("%s png: %v", s.File, err)
		}
		// The crops are square: the overlay is the crop, or the whole
		// image where the sample has none.
		wantW, wantH := s.Crop[2], s.Crop[3]
		if wantW == 0 {
			src, _, err := image.DecodeConfig(bytes.NewReader(img))
			if err != nil {
				t.Fatalf("%s: %v", s.File, err)
			}
			wantW, wantH = src.Width, src.Height
		}
		if sz := ov.Bounds().Size(); sz.X != wantW || sz.Y != wantH {
			t.Errorf("%s png: overlay %v, want %d×%d", s.File, sz, wantW, wantH)
		}
		nat := w.nativeDo("POST", "/api/explain?alpha=0.6&"+sampleQuery(s), contentType(s.File), img)
		if !bytes.Equal(nat.body, pngReply.body) {
			t.Errorf("%s png: the Worker's overlay differs from the native handler's", s.File)
		}
		if l, err := url.PathUnescape(pngReply.header.Get("X-Camlens-Label")); err != nil || l != s.Expected {
			t.Errorf("%s png: X-CamLens-Label %q (%v)", s.File, pngReply.header.Get("X-Camlens-Label"), err)
		}
	}
}

// testErrors: the Worker answers bad requests with the native handler's
// JSON errors.
func testErrors(t *testing.T, w *worker, img []byte) {
	huge := make([]byte, api.DefaultMaxBodyBytes+1)
	cases := []struct {
		name, method, path, ctype string
		body                      []byte
		status                    int
		code                      string
	}{
		{"wrong method", "GET", "/api/explain", "", nil, 405, api.CodeMethodNotAllowed},
		{"wrong method on models", "DELETE", "/api/models", "", nil, 405, api.CodeMethodNotAllowed},
		{"unknown route", "GET", "/api/nope", "", nil, 404, api.CodeNotFound},
		{"unknown model path", "GET", "/api/models/nope", "", nil, 404, api.CodeUnknownModel},
		{"huge body", "POST", "/api/explain", "image/jpeg", huge, 413, api.CodeBodyTooLarge},
		{"huge image header", "POST", "/api/explain", "image/png", hugePNGHeader(5000, 4000), 413, api.CodeImageTooLarge},
		{"not an image", "POST", "/api/explain", "image/png", []byte("GIF89 but not really an image at all"), 415, api.CodeUnsupportedImage},
		{"truncated image", "POST", "/api/explain", "image/jpeg", img[:len(img)/3], 400, api.CodeBadImage},
		{"content type", "POST", "/api/explain", "text/plain", img, 415, api.CodeUnsupportedType},
		{"empty body", "POST", "/api/explain", "image/png", nil, 400, api.CodeEmptyBody},
		{"unknown parameter", "POST", "/api/explain?size=2", "image/jpeg", img, 400, api.CodeUnknownParameter},
		{"bad format", "POST", "/api/explain?format=svg", "image/jpeg", img, 400, api.CodeBadParameter},
		{"unknown model", "POST", "/api/explain?model=resnet50", "image/jpeg", img, 400, api.CodeUnknownModel},
		{"unknown method", "POST", "/api/explain?method=gradcam3", "image/jpeg", img, 400, api.CodeUnknownMethod},
		{"slow method", "POST", "/api/explain?method=scorecam", "image/jpeg", img, 400, api.CodeMethodDisabled},
		{"unknown layer", "POST", "/api/explain?layer=conv99", "image/jpeg", img, 400, api.CodeUnknownLayer},
		{"unknown class", "POST", "/api/explain?class=bored", "image/jpeg", img, 400, api.CodeUnknownClass},
		{"class out of range", "POST", "/api/explain?class=7", "image/jpeg", img, 400, api.CodeUnknownClass},
		{"bad crop", "POST", "/api/explain?crop=1,2,3", "image/jpeg", img, 400, api.CodeBadCrop},
		{"crop outside", "POST", "/api/explain?crop=5000,0,10,10", "image/jpeg", img, 400, api.CodeBadCrop},
	}
	for _, c := range cases {
		got := w.do(c.method, c.path, c.ctype, c.body)
		want := w.nativeDo(c.method, c.path, c.ctype, c.body)
		var e api.Error
		if err := json.Unmarshal(got.body, &e); err != nil {
			t.Errorf("%s: status %d, not JSON: %.200q", c.name, got.status, got.body)
			continue
		}
		if got.status != c.status || e.Status != c.status || e.Code != c.code {
			t.Errorf("%s: status %d %+v, want %d %s", c.name, got.status, e, c.status, c.code)
		}
		if got.status != want.status || !bytes.Equal(got.body, want.body) {
			t.Errorf("%s: Worker %d %s; native %d %s", c.name, got.status, got.body, want.status, want.body)
		}
	}
}

// testCLI compares the Worker's map with scripts/explain's .npy for the
// same image, crop and method, and the whole JSON answer with the native
// handler's.
func testCLI(t *testing.T, w *worker, root string, s sample, workerJSON []byte) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "explain")
	build := exec.Command("go", "build", "-o", bin, "./scripts/explain")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build scripts/explain: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-model", filepath.Join(root, "models", "face-expression.safetensors"), "-method", "gradcam",
		"-crop", fmt.Sprintf("%d,%d,%d,%d", s.Crop[0], s.Crop[1], s.Crop[2], s.Crop[3]), "-out", dir,
		filepath.Join(root, "web", "samples", s.File))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/explain: %v\n%s", err, out)
	}
	stem := filepath.Join(dir, strings.TrimSuffix(s.File, filepath.Ext(s.File))+".gradcam")
	f, err := os.Open(stem + ".npy")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cli, err := npy.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	var cliJSON struct {
		Class int    `json:"class"`
		Label string `json:"label"`
		Box   struct{ X, Y, W, H int }
		Peak  [2]int `json:"peak"`
	}
	data, err := os.ReadFile(stem + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cliJSON); err != nil {
		t.Fatal(err)
	}
	var a answer
	if err := json.Unmarshal(workerJSON, &a); err != nil {
		t.Fatal(err)
	}
	if len(cli.Shape) != 2 || cli.Shape[0] != a.Size[1] || cli.Shape[1] != a.Size[0] || len(a.Map) != len(cli.Data) {
		t.Fatalf("CLI map %v, Worker map %v with %d values", cli.Shape, a.Size, len(a.Map))
	}
	maxDiff := 0.0
	for i, v := range cli.Data {
		maxDiff = math.Max(maxDiff, math.Abs(float64(v)-float64(a.Map[i])))
	}
	t.Logf("Worker vs CLI (%s, crop %v, gradcam of %q): %d×%d map, max |diff| %.3g", s.File, s.Crop, a.Label, a.Size[0], a.Size[1], maxDiff)
	if maxDiff > 1e-5 {
		t.Errorf("Worker map differs from the CLI's by %g > 1e-5", maxDiff)
	}
	if a.Class != cliJSON.Class || a.Label != cliJSON.Label || a.Box != cliJSON.Box || a.Peak != cliJSON.Peak {
		t.Errorf("Worker class %d %q box %+v peak %v; CLI %d %q %+v %v", a.Class, a.Label, a.Box, a.Peak,
			cliJSON.Class, cliJSON.Label, cliJSON.Box, cliJSON.Peak)
	}
	// The whole answer against the native handler's, timings aside.
	nat := w.nativeDo("POST", "/api/explain?format=json&method=gradcam&"+sampleQuery(s), contentType(s.File), readSample(t, root, s))
	if d := diffJSON(t, workerJSON, nat.body); d != "" {
		t.Errorf("Worker and native answers differ: %s", d)
	}
}

// diffJSON compares two answers without their timings, numbers to 1e-5.
func diffJSON(t *testing.T, a, b []byte) string {
	var x, y map[string]any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	delete(x, "timings_ms")
	delete(y, "timings_ms")
	return diff("", x, y)
}

func diff(path string, x, y any) string {
	switch xv := x.(type) {
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok || len(xv) != len(yv) {
			return path + ": different objects"
		}
		keys := make([]string, 0, len(xv))
		for k := range xv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if d := diff(path+"."+k, xv[k], yv[k]); d != "" {
				return d
			}
		}
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return path + ": different arrays"
		}
		for i := range xv {
			if d := diff(fmt.Sprintf("%s[%d]", path, i), xv[i], yv[i]); d != "" {
				return d
			}
		}
	case float64:
		yv, ok := y.(float64)
		if !ok || math.Abs(xv-yv) > 1e-5*math.Max(1, math.Abs(yv)) {
			return fmt.Sprintf("%s: %v vs %v", path, x, y)
		}
	default:
		if x != y {
			return fmt.Sprintf("%s: %v vs %v", path, x, y)
		}
	}
	return ""
}

// measure logs the warm latency of the routes and the CPU time workerd
// and wrangler spend per request (nothing is asserted on time). A static
// asset, served by workerd without Go, is the baseline: the difference is
// what the Go Worker costs.
func measure(t *testing.T, w *worker, path, ctype string, img []byte) {
	const n = 8
	ok := func(r reply) {
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	pngPath := strings.Replace(path, "format=json", "format=png", 1)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"static asset", func() { ok(w.do("GET", "/hello.txt", "", nil)) }},
		{"/healthz", func() { ok(w.do("GET", "/healthz", "", nil)) }},
		{"/api/models", func() { ok(w.do("GET", "/api/models", "", nil)) }},
		{"/api/explain json", func() { ok(w.do("POST", path, ctype, img)) }},
		{"/api/explain png", func() { ok(w.do("POST", pngPath, ctype, img)) }},
	} {
		c.f() // warm up
		cpu0, err := w.dev.CPUTime()
		if err != nil {
			t.Logf("no CPU time: %v", err)
		}
		var durs []float64
		for range n {
			t0 := time.Now()
			c.f()
			durs = append(durs, ms(time.Since(t0)))
		}
		cpu1, _ := w.dev.CPUTime()
		sort.Float64s(durs)
		t.Logf("warm %-17s latency over %d requests: median %6.1f ms (min %6.1f, max %6.1f); CPU per request: workerd %6.1f ms, wrangler (node) %5.1f ms",
			c.name, n, durs[n/2], durs[0], durs[n-1], ms(cpu1["workerd"]-cpu0["workerd"])/n, ms(cpu1["node"]-cpu0["node"])/n)
	}
	r := w.do("POST", path, ctype, img)
	t.Logf("Server-Timing of a warm /api/explain (inside Go, ms): %s", r.header.Get("Server-Timing"))
	// The same requests served natively (amd64, this process), for scale.
	for _, c := range []struct{ name, path string }{{"json", path}, {"png", pngPath}} {
		w.nativeDo("POST", c.path, ctype, img)
		c0 := processCPU()
		for range n {
			if r := w.nativeDo("POST", c.path, ctype, img); r.status != 200 {
				t.Fatalf("native: status %d: %s", r.status, r.body)
			}
		}
		t.Logf("native handler /api/explain %s: %.1f ms CPU per request (model cached)", c.name, ms(processCPU()-c0)/n)
	}
}

// processCPU is this process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestServeMount: the native dev server's site handler (scripts/serve/site)
// hands /api/ to the API handler, as `go run ./scripts/serve` mounts it.
func TestServeMount(t *testing.T) {
	h, err := api.NewHandler(api.Config{Models: models.FS})
	if err != nil {
		t.Fatal(err)
	}
	srv := site.Handler(fstest.MapFS{"index.html": {Data: []byte("<!doctype html>site")}}, h)
	for _, c := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/", 200, "site"},
		{"GET", "/api/models", 200, `"default":"face-expression"`},
		{"GET", "/api/explain", 405, `"code":"method_not_allowed"`},
		{"GET", "/api/nope", 404, `"code":"not_found"`},
	} {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%s %s: status %d, body %.200s", c.method, c.path, w.Code, w.Body)
		}
	}
}
