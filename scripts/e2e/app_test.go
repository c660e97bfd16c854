package e2e

import (
	"bytes"
	"context"
	b64 "encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/npy"
	"github.com/camlens/camlens/core/onnx"
	"github.com/camlens/camlens/scripts/build"
)

const loadTimeout = 120 * time.Second

type sampleInfo struct {
	File     string `json:"file"`
	Title    string `json:"title"`
	Model    string `json:"model"`
	Crop     []int  `json:"crop"`
	Expected string `json:"expected"`
}

func allSamples(t *testing.T) []sampleInfo {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(env.dist, "web", "samples", "samples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Samples []sampleInfo }
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Samples
}

func samplesFor(t *testing.T, model string) []sampleInfo {
	t.Helper()
	var out []sampleInfo
	for _, x := range allSamples(t) {
		if x.Model == model {
			out = append(out, x)
		}
	}
	if len(out) < 2 {
		t.Fatalf("samples.json lists %d samples for %s; the tests need 2", len(out), model)
	}
	return out
}

func defaultModel(t *testing.T) build.CatalogEntry {
	t.Helper()
	for _, e := range env.report.Catalog {
		if e.Default {
			return e
		}
	}
	if len(env.report.Catalog) == 0 {
		t.Fatal("the catalog is empty: models/catalog.json must list the default model")
	}
	return env.report.Catalog[0]
}

// result is what window.camlens returns, with the map as a plain array.
type result struct {
	Method      string    `json:"method"`
	Class       int       `json:"class"`
	Label       string    `json:"label"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	Map         []float32 `json:"map"`
	Peak        []int     `json:"peak"`
	Predictions []struct {
		Class int     `json:"class"`
		Label string  `json:"label"`
		Prob  float64 `json:"prob"`
	} `json:"predictions"`
}

const resultJS = `(r) => r && Object.assign({}, r, {map: Array.from(r.map)})`

func lastResult(p *page) result {
	p.t.Helper()
	return eval[result](p, `(`+resultJS+`)(camlens.last())`)
}

// reference computes explanations natively with the core for the same
// model, image file and crop as the page: what scripts/explain computes.
type reference struct {
	sess *cam.Session
}

func newReference(t *testing.T, model *modelfile.Model, imageFile string, crop []int) *reference {
	t.Helper()
	cm, err := cam.NewModel(model)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(imageFile)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imaging.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var r image.Rectangle
	if crop != nil {
		r = image.Rect(crop[0], crop[1], crop[0]+crop[2], crop[1]+crop[3])
	}
	x, err := imaging.ToTensor(img, r, model.Meta.Preprocess)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := cm.NewSession(x)
	if err != nil {
		t.Fatal(err)
	}
	return &reference{sess}
}

func defaultReference(t *testing.T, smp sampleInfo, crop []int) *reference {
	t.Helper()
	entry := defaultModel(t)
	m, err := modelfile.Load(filepath.Join(env.dist, "models", entry.File))
	if err != nil {
		t.Fatal(err)
	}
	return newReference(t, m, filepath.Join(env.dist, "web", "samples", smp.File), crop)
}

// check compares a browser result with the core's, to 1e-5.
func (ref *reference) check(t *testing.T, got result, method string, class int) {
	t.Helper()
	ref.checkReq(t, got, cam.Request{Method: method, Class: class})
}

// checkReq compares a browser result with the core's for req, to 1e-5.
func (ref *reference) checkReq(t *testing.T, got result, req cam.Request) {
	t.Helper()
	method := req.Method
	want, err := ref.sess.Explain(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != want.Method || got.Class != want.Class || got.Width != want.W || got.Height != want.H || len(got.Map) != len(want.Map) {
		t.Fatalf("%s: the browser explained %s class %d %d×%d (%d values), the core %s class %d %d×%d",
			method, got.Method, got.Class, got.Width, got.Height, len(got.Map), want.Method, want.Class, want.W, want.H)
	}
	maxDiff := 0.0
	for i := range got.Map {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got.Map[i])-float64(want.Map[i])))
	}
	cf := ""
	if req.Counterfactual {
		cf = " counterfactual"
	}
	t.Logf("%s%s class %d (%s): max |browser − core| = %.3g over %d×%d", method, cf, want.Class, want.Label, maxDiff, want.W, want.H)
	if maxDiff > 1e-5 {
		t.Errorf("%s: the browser's map differs from the core's by %g (> 1e-5)", method, maxDiff)
	}
	top := ref.sess.Predictions(1)[0]
	if len(got.Predictions) == 0 || got.Predictions[0].Class != top.Class || math.Abs(got.Predictions[0].Prob-float64(top.Prob)) > 1e-5 {
		t.Errorf("top prediction %+v, the core has %+v", got.Predictions, top)
	}
}

func (p *page) open(path string) {
	p.t.Helper()
	p.run(chromedp.Navigate(env.origin + "/" + path))
}

// shown waits until the page shows an explanation newer than after and
// is idle; it returns the new sequence number.
func (p *page) shown(after int) int {
	p.t.Helper()
	p.wait(fmt.Sprintf(`document.body.dataset.ready === "1" && Number(document.body.dataset.shown || 0) > %d && document.body.dataset.busy === "0"`, after), loadTimeout)
	return eval[int](p, `Number(document.body.dataset.shown)`)
}

// earlyPhoto checks that the page shows smp's crop in the view before the
// engine has started: the preview canvas's photo pixels (those that are
// not the view's background) must average the crop's colour.
func earlyPhoto(t *testing.T, p *page, smp sampleInfo) {
	t.Helper()
	p.wait(`performance.getEntriesByName("camlens:photo-shown").length > 0`, 30*time.Second)
	if eval[bool](p, `performance.getEntriesByName("camlens:engine-ready").length > 0`) {
		t.Fatalf("the engine started although its binary was held back")
	}
	got := eval[[]float64](p, `(() => {
  const c = document.querySelector(".view-preview");
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let r = 0, g = 0, b = 0, n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] === 0x1b && d[i + 1] === 0x1f && d[i + 2] === 0x24) continue; // the view's background
    r += d[i]; g += d[i + 1]; b += d[i + 2]; n++;
  }
  return [r / n, g / n, b / n, n / (c.width * c.height)];
})()`)
	data, err := os.ReadFile(filepath.Join(env.dist, "web", "samples", smp.File))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imaging.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(smp.Crop) != 4 {
		t.Fatalf("sample %s has no crop", smp.File)
	}
	var want [3]float64
	x0, y0 := img.Bounds().Min.X+smp.Crop[0], img.Bounds().Min.Y+smp.Crop[1]
	for y := y0; y < y0+smp.Crop[3]; y++ {
		for x := x0; x < x0+smp.Crop[2]; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			want[0] += float64(r >> 8)
			want[1] += float64(g >> 8)
			want[2] += float64(b >> 8)
		}
	}
	for i := range want {
		want[i] /= float64(smp.Crop[2] * smp.Crop[3])
	}
	t.Logf("early photo: %.0f %% of the preview, mean colour %.1f/%.1f/%.1f, crop's %.1f/%.1f/%.1f", 100*got[3], got[0], got[1], got[2], want[0], want[1], want[2])
	if got[3] < 0.25 {
		t.Errorf("the early photo covers %.0f %% of the view, want most of it", 100*got[3])
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 6 {
			t.Errorf("the early photo's mean colour %.1f/%.1f/%.1f is not the crop's %.1f/%.1f/%.1f", got[0], got[1], got[2], want[0], want[1], want[2])
			break
		}
	}
}

func (p *page) seq() int { return eval[int](p, `Number(document.body.dataset.shown || 0)`) }

// change sets a control's value and fires its change event, as a user does.
func (p *page) change(id, value string) {
	p.t.Helper()
	got := eval[string](p, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event("change")); return e.value; })()`, id, value))
	if got != value {
		p.t.Fatalf("#%s does not offer %q", id, value)
	}
}

func (p *page) click(css string) {
	p.t.Helper()
	p.run(chromedp.Click(chromedp.CSS(css)))
}

func (p *page) text(css string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, css))
}

func (p *page) noError() {
	p.t.Helper()
	if e := eval[string](p, `document.body.dataset.error || ""`); e != "" {
		p.t.Fatalf("the page shows an error: %s", e)
	}
}

// startAndCancel runs the JS statements start (which begin a slow
// request) and, in the same task, clicks the button #cancelID as soon as
// it shows; it reports whether it showed.
func (p *page) startAndCancel(start, cancelID string) bool {
	p.t.Helper()
	return eval[bool](p, fmt.Sprintf(`(async () => {
		%s
		const cancel = document.getElementById(%q);
		for (let i = 0; i < 200 && cancel.hidden; i++) await new Promise((r) => setTimeout(r, 0));
		if (cancel.hidden) return false;
		cancel.click();
		return true;
	})()`, start, cancelID))
}

// cancelSlowMethod starts Score-CAM, presses Cancel as soon as it shows,
// checks the page says so and is idle, and then that Grad-CAM still works.
// It returns the sequence number of the Grad-CAM explanation.
func (p *page) cancelSlowMethod(seq int) int {
	p.t.Helper()
	if !p.startAndCancel(`const m = document.getElementById("method");
		m.value = "scorecam";
		m.dispatchEvent(new Event("change"));`, "cancel") {
		p.t.Fatal("Score-CAM showed no Cancel button")
	}
	p.wait(`document.getElementById("status").textContent === "Cancelled." && document.body.dataset.busy === "0"`, 60*time.Second)
	p.noError()
	p.change("method", "gradcam")
	seq = p.shown(seq)
	p.noError()
	return seq
}

// TestApp drives the full page (index.html) through its main states in one
// tab: each step starts from where the previous one left.
func TestApp(t *testing.T) {
	p := newPage(t)
	p.viewport(1280, 900, false)
	entry := defaultModel(t)
	smps := samplesFor(t, entry.ID)
	// While the engine's binary is on its way (held by the proxy), the
	// first sample's crop is already on screen.
	release := env.proxy.hold("/camlens.wasm")
	defer release()
	p.open("index.html")
	earlyPhoto(t, p, smps[0])
	// Meanwhile the start-up's progress bar shows, and the status says what it waits for.
	if st := eval[string](p, `JSON.stringify([document.getElementById("status").textContent, document.getElementById("progress").hidden, document.getElementById("progress").getAttribute("aria-label"), document.getElementById("progress").value])`); st != `["Loading the engine…",false,"Start-up progress",0.3]` {
		t.Errorf("while the engine downloads: status, progress hidden, its label and value are %s", st)
	}
	t0 := time.Now()
	release()
	seq := p.shown(0)
	if eval[bool](p, `!document.getElementById("progress").hidden`) {
		t.Errorf("the start-up's progress bar is still shown after the first explanation")
	}
	t.Logf("first explanation shown %.1f s after the engine's binary was let through", time.Since(t0).Seconds())
	coldLoad(t, p)

	t.Run("sample", func(t *testing.T) {
		p.t = t
		kernels := eval[string](p, `camlens.info().kernels`)
		t.Logf("engine kernels: %s (kernels.wasm built: %v)", kernels, env.report.Kernels)
		if env.report.Kernels && kernels != "wasm-simd" {
			t.Errorf("the build shipped kernels.wasm but the engine runs %q kernels", kernels)
		}
		top := p.text("#preds .pred .label")
		t.Logf("sample %s: top class %q (samples.json: %q)", smps[0].File, top, smps[0].Expected)
		if top != smps[0].Expected {
			t.Errorf("top class %q, samples.json expects %q", top, smps[0].Expected)
		}
		if h := eval[string](p, `location.hash`); !strings.Contains(h, "sample="+smps[0].File) || !strings.Contains(h, "method=gradcam") {
			t.Errorf("hash %q does not record the sample and method", h)
		}
		p.screenshot("desktop-sample")
		// A plain PNG sample is decoded by the browser (web/camlens.js),
		// and the maps below must still equal the core's, which decodes it
		// with Go.
		if strings.HasSuffix(smps[0].File, ".png") {
			if d := eval[string](p, `camlens.image().decoder`); d != "browser" {
				t.Errorf("%s was decoded by %q, want the browser", smps[0].File, d)
			}
		}
		ref := defaultReference(t, smps[0], smps[0].Crop)
		ref.check(t, lastResult(p), "gradcam", -1)
		for _, tc := range []struct {
			method string
			class  int
		}{{"gradcam++", -1}, {"layercam", 1}, {"eigencam", -1}, {"guided-gradcam", -1}} {
			got := eval[result](p, fmt.Sprintf(`camlens.explain({method: %q, class: %d}).then(%s)`, tc.method, tc.class, resultJS))
			ref.check(t, got, tc.method, tc.class)
		}
		p.screenshot("desktop-guided-gradcam")
		eval[result](p, `camlens.explain({method: "gradcam", class: -1}).then(`+resultJS+`)`)
		seq = p.seq()
	})

	t.Run("model card", func(t *testing.T) {
		p.t = t
		eval[bool](p, `(() => { const d = document.getElementById("card"); d.open = true; d.scrollIntoView(); return true; })()`)
		p.wait(`document.getElementById("card-body").querySelector("h3, h4") !== null`, 30*time.Second)
		links := eval[[]string](p, `[...document.querySelectorAll("#card-body a")].map((a) => a.href)`)
		for _, l := range links {
			if status := eval[int](p, fmt.Sprintf(`fetch(%q).then((r) => r.status)`, l)); status != 200 {
				t.Errorf("the model card links to %s: HTTP %d", l, status)
			}
		}
		t.Logf("model card: %d links, all on the site", len(links))
		p.screenshot("desktop-model-card")
		eval[bool](p, `(() => { const d = document.getElementById("card"); d.open = false; window.scrollTo(0, 0); return true; })()`)
	})

	t.Run("hover", func(t *testing.T) {
		p.t = t
		box := eval[[]float64](p, `(() => { const r = document.getElementById("view").getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()`)
		x, y := box[0]+box[2]*0.37, box[1]+box[3]*0.61
		p.run(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x, y), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x+1, y+1))
		p.wait(`document.getElementById("readout").textContent.startsWith("Map value")`, 30*time.Second)
		text := p.text("#readout")
		var v float64
		var mx, my int
		if _, err := fmt.Sscanf(text, "Map value %f at (%d, %d)", &v, &mx, &my); err != nil {
			t.Fatalf("read-out %q: %v", text, err)
		}
		r := lastResult(p)
		want := float64(r.Map[my*r.Width+mx])
		t.Logf("hover at %.0f%%, %.0f%% of the view: map(%d, %d) = %.3f", 37.0, 61.0, mx, my, v)
		if math.Abs(v-want) > 0.0005+1e-9 {
			t.Errorf("read-out %q, the map has %.4f there", text, want)
		}
		p.run(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5))
	})

	t.Run("switch class and method", func(t *testing.T) {
		p.t = t
		second := eval[string](p, `document.querySelectorAll("#preds .pred .label")[1].textContent`)
		p.click("#preds li:nth-child(2) button")
		seq = p.shown(seq)
		if c := p.text("#captions"); !strings.Contains(c, second) {
			t.Errorf("caption %q after clicking %q", c, second)
		}
		if pressed := eval[string](p, `document.querySelector("#preds li:nth-child(2) button").getAttribute("aria-pressed")`); pressed != "true" {
			t.Errorf("the clicked class is not marked pressed")
		}
		r := lastResult(p)
		if r.Label != second {
			t.Fatalf("explained %q, want %q", r.Label, second)
		}
		ref := defaultReference(t, smps[0], smps[0].Crop)
		ref.check(t, r, "gradcam", r.Class)
		p.change("method", "hirescam")
		seq = p.shown(seq)
		if c := p.text("#captions"); !strings.Contains(c, "HiResCAM") || !strings.Contains(c, second) {
			t.Errorf("caption %q after switching to HiResCAM", c)
		}
		ref.check(t, lastResult(p), "hirescam", r.Class)
		if h := eval[string](p, `location.hash`); !strings.Contains(h, "method=hirescam") || !strings.Contains(h, "class="+second) {
			t.Errorf("hash %q does not follow", h)
		}
		p.screenshot("desktop-hirescam-second-class")
		p.click("#preds li:nth-child(1) button")
		seq = p.shown(seq)
		p.change("method", "gradcam")
		seq = p.shown(seq)
	})

	t.Run("counterfactual", func(t *testing.T) {
		p.t = t
		before := p.seq()
		p.click("#counterfactual")
		p.shown(before)
		if c := p.text("#captions"); !strings.Contains(c, "counterfactual") {
			t.Errorf("caption %q does not say counterfactual", c)
		}
		if h := eval[string](p, `location.hash`); !strings.Contains(h, "cf=1") {
			t.Errorf("hash %q lacks cf=1", h)
		}
		defaultReference(t, smps[0], smps[0].Crop).checkReq(t, lastResult(p), cam.Request{Method: "gradcam", Class: -1, Counterfactual: true})
		p.screenshot("desktop-counterfactual")
		before = p.seq()
		p.click("#counterfactual")
		seq = p.shown(before)
	})

	t.Run("compare", func(t *testing.T) {
		p.t = t
		p.change("compare", "method")
		seq = p.shown(seq)
		if n := eval[int](p, `document.querySelectorAll("#captions span").length`); n != 2 {
			t.Errorf("%d captions in compare mode, want 2", n)
		}
		p.screenshot("desktop-compare-methods")
		p.change("compare", "guided")
		seq = p.shown(seq)
		if c := p.text("#captions"); !strings.Contains(c, "Guided Grad-CAM") {
			t.Errorf("captions %q", c)
		}
		p.screenshot("desktop-compare-guided")
		p.change("compare", "class")
		seq = p.shown(seq)
		p.change("compare", "")
		seq = p.shown(seq)
	})

	t.Run("style", func(t *testing.T) {
		p.t = t
		p.change("colormap", "turbo")
		eval[string](p, `(() => { const e = document.getElementById("opacity"); e.value = "0.8"; e.dispatchEvent(new Event("input")); return e.value; })()`)
		p.wait(`location.hash.includes("colormap=turbo") && location.hash.includes("opacity=0.8")`, 10*time.Second)
		if s := p.seq(); s != seq {
			t.Errorf("a style change recomputed the explanation (seq %d → %d)", seq, s)
		}
		time.Sleep(300 * time.Millisecond) // let the view draw the new style
		p.screenshot("desktop-turbo-opacity")
		p.change("colormap", "jet")
		eval[string](p, `(() => { const e = document.getElementById("opacity"); e.value = "0.5"; e.dispatchEvent(new Event("input")); return e.value; })()`)
	})

	t.Run("export", func(t *testing.T) {
		p.t = t
		dir := t.TempDir()
		p.run(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir,
				BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
			})
			return err
		}))
		r := lastResult(p)
		stem := strings.TrimSuffix(smps[0].File, filepath.Ext(smps[0].File)) + "." + r.Method
		files := map[string]string{"overlay": stem + ".png", "heatmap": stem + ".heat.png", "npy": stem + ".npy", "json": stem + ".json"}
		for kind, name := range files {
			p.click(fmt.Sprintf(`[data-export=%q]`, kind))
			data := waitFile(t, filepath.Join(dir, name))
			switch kind {
			case "overlay", "heatmap":
				img, err := png.Decode(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if kind == "heatmap" && (img.Bounds().Dx() != r.Width || img.Bounds().Dy() != r.Height) {
					t.Errorf("%s is %v, want %d×%d", name, img.Bounds(), r.Width, r.Height)
				}
			case "npy":
				m, err := npy.Read(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if len(m.Shape) != 2 || m.Shape[0] != r.Height || m.Shape[1] != r.Width || !slices.Equal(m.Data, r.Map) {
					t.Errorf("%s: shape %v, or values differ from the map on screen", name, m.Shape)
				}
			case "json":
				var j struct {
					Method string    `json:"method"`
					Label  string    `json:"label"`
					Map    []float32 `json:"map"`
				}
				if err := json.Unmarshal(data, &j); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if j.Method != r.Method || j.Label != r.Label || !slices.Equal(j.Map, r.Map) {
					t.Errorf("%s: %s %s, or its map differs from the one on screen", name, j.Method, j.Label)
				}
			}
			t.Logf("exported %s (%d bytes)", name, len(data))
		}
	})

	t.Run("accessible names", func(t *testing.T) {
		p.t = t
		unnamed := eval[[]string](p, `[...document.querySelectorAll("button, select, input:not([type=file]), [tabindex]")]
			.filter((e) => e.offsetParent !== null || e.id === "cropbox")
			.filter((e) => !((e.labels && e.labels.length) || e.getAttribute("aria-label") || e.getAttribute("aria-labelledby") || e.textContent.trim()))
			.map((e) => e.outerHTML.slice(0, 80))`)
		if len(unnamed) > 0 {
			t.Errorf("controls without an accessible name: %v", unnamed)
		}
	})

	t.Run("link state", func(t *testing.T) {
		p.t = t
		label := smps[1].Expected
		hash := fmt.Sprintf("#model=%s&sample=%s&method=layercam&class=%s&opacity=0.3&colormap=viridis", entry.ID, smps[1].File, label)
		eval[string](p, `location.hash = `+jsString(hash))
		seq = p.shown(seq)
		r := lastResult(p)
		if r.Method != "layercam" || r.Label != label {
			t.Errorf("the link gave %s / %s, want layercam / %s", r.Method, r.Label, label)
		}
		for id, want := range map[string]string{"method": "layercam", "colormap": "viridis", "opacity": "0.3"} {
			if v := eval[string](p, fmt.Sprintf(`document.getElementById(%q).value`, id)); v != want {
				t.Errorf("#%s = %q, want %q", id, v, want)
			}
		}
		ref := defaultReference(t, smps[1], smps[1].Crop)
		ref.check(t, r, "layercam", r.Class)
		p.screenshot("desktop-link-layercam-viridis")
	})

	t.Run("keyboard crop", func(t *testing.T) {
		p.t = t
		before := eval[string](p, `new URLSearchParams(location.hash.slice(1)).get("crop")`)
		p.run(chromedp.Focus(chromedp.CSS("#cropbox")), chromedp.KeyEvent(kb.ArrowLeft))
		seq = p.shown(seq)
		after := eval[string](p, `new URLSearchParams(location.hash.slice(1)).get("crop")`)
		var b, a [4]int
		fmt.Sscanf(before, "%d,%d,%d,%d", &b[0], &b[1], &b[2], &b[3])
		fmt.Sscanf(after, "%d,%d,%d,%d", &a[0], &a[1], &a[2], &a[3])
		if !(a[0] < b[0] && a[1] == b[1] && a[2] == b[2]) {
			t.Errorf("ArrowLeft moved the crop from %s to %s", before, after)
		}
		ref := defaultReference(t, smps[1], a[:])
		r := lastResult(p)
		ref.check(t, r, r.Method, r.Class)
	})

	t.Run("cancel slow method", func(t *testing.T) {
		p.t = t
		seq = p.cancelSlowMethod(seq)
	})

	t.Run("webcam", func(t *testing.T) {
		p.t = t
		p.click("#webcam")
		p.click("#webcam-allow")
		p.wait(`document.getElementById("webcam-video").readyState >= 2`, 30*time.Second)
		p.click("#webcam-capture")
		seq = p.shown(seq)
		p.noError()
		if live := eval[bool](p, `!document.getElementById("webcam-panel").hidden`); live {
			t.Error("the camera panel is still open after the capture")
		}
	})

	t.Run("bad files", func(t *testing.T) {
		p.t = t
		dir := t.TempDir()
		bad := filepath.Join(dir, "notes.png")
		os.WriteFile(bad, []byte("%PDF-1.4 this is not a picture"), 0o644)
		p.run(chromedp.SetUploadFiles(chromedp.CSS("#image-file"), []string{bad}))
		p.wait(`!document.getElementById("error").hidden`, 30*time.Second)
		msg := p.text("#error")
		t.Logf("corrupt image: %q", msg)
		if !strings.Contains(msg, "notes.png") {
			t.Errorf("the message %q does not name the file", msg)
		}
		p.screenshot("desktop-error-corrupt-image")
		modelData, err := os.ReadFile(filepath.Join(env.dist, "models", entry.File))
		if err != nil {
			t.Fatal(err)
		}
		cut := filepath.Join(dir, "cut.safetensors")
		os.WriteFile(cut, modelData[:len(modelData)*2/3], 0o644)
		p.run(chromedp.SetUploadFiles(chromedp.CSS("#model-file"), []string{cut}))
		p.wait(`document.getElementById("error").textContent.includes("cut.safetensors")`, 30*time.Second)
		t.Logf("truncated model: %q", p.text("#error"))
		// The page keeps working: the same model explains another sample.
		p.click(fmt.Sprintf(`.sample[data-sample=%q]`, smps[0].File))
		seq = p.shown(seq)
		p.noError()
		if top := p.text("#preds .pred .label"); top != smps[0].Expected {
			t.Errorf("after the errors, top class %q, want %q", top, smps[0].Expected)
		}
	})

	t.Run("paste and drag the crop", func(t *testing.T) {
		p.t = t
		data, err := os.ReadFile(filepath.Join(env.dist, "web", "samples", smps[1].File))
		if err != nil {
			t.Fatal(err)
		}
		before := p.seq()
		eval[bool](p, fmt.Sprintf(`(() => {
			const bytes = Uint8Array.from(atob(%q), (c) => c.charCodeAt(0));
			const dt = new DataTransfer();
			dt.items.add(new File([bytes], "pasted.jpg", {type: "image/jpeg"}));
			document.dispatchEvent(new ClipboardEvent("paste", {clipboardData: dt, cancelable: true}));
			return true;
		})()`, base64(data)))
		p.shown(before)
		p.noError()
		if h := eval[string](p, `location.hash`); strings.Contains(h, "sample=") {
			t.Errorf("a pasted image kept a sample in the link: %s", h)
		}
		// Drag the corner handle to shrink the crop, then the box to move it.
		cropNow := func() []int {
			return eval[[]int](p, `new URLSearchParams(location.hash.slice(1)).get("crop").split(",").map(Number)`)
		}
		drag := func(css string, dx, dy float64) {
			// A user scrolls the box into view before dragging it; the
			// gallery above the view can push it below the window.
			r := eval[[]float64](p, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`, css))
			x, y := r[0], r[1]
			before := p.seq()
			p.run(
				chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
				chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x+dx/2, y+dy/2, chromedp.ButtonLeft),
				chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x+dx, y+dy, chromedp.ButtonLeft),
				chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x+dx, y+dy, chromedp.ButtonLeft, chromedp.ClickCount(1)),
			)
			seq = p.shown(before)
		}
		crop0 := cropNow()
		drag("#crop-handle", -60, -60)
		crop1 := cropNow()
		if !(crop1[2] < crop0[2] && crop1[2] == crop1[3] && crop1[0] == crop0[0] && crop1[1] == crop0[1]) {
			t.Errorf("dragging the corner changed the crop from %v to %v", crop0, crop1)
		}
		drag("#cropbox", 20, 10)
		crop2 := cropNow()
		if !(crop2[0] > crop1[0] && crop2[1] > crop1[1] && crop2[2] == crop1[2]) {
			t.Errorf("dragging the box moved the crop from %v to %v", crop1, crop2)
		}
		t.Logf("crop %v → resized %v → moved %v", crop0, crop1, crop2)
		crop1 = crop2
		ref := defaultReference(t, sampleInfo{File: smps[1].File}, crop1)
		r := lastResult(p)
		ref.check(t, r, r.Method, r.Class)
	})

	t.Run("dropped onnx", func(t *testing.T) {
		p.t = t
		data, err := os.ReadFile("testdata/basic.onnx")
		if err != nil {
			t.Fatal(err)
		}
		eval[bool](p, fmt.Sprintf(`(() => {
			const bytes = Uint8Array.from(atob(%q), (c) => c.charCodeAt(0));
			const dt = new DataTransfer();
			dt.items.add(new File([bytes], "basic.onnx", {type: "application/octet-stream"}));
			window.dispatchEvent(new DragEvent("dragenter", {dataTransfer: dt, cancelable: true}));
			window.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, cancelable: true}));
			return true;
		})()`, base64(data)))
		p.wait(`document.body.dataset.model === "basic.onnx"`, 60*time.Second)
		seq = p.shown(seq)
		p.noError()
		m, err := onnx.Import(data)
		if err != nil {
			t.Fatal(err)
		}
		// The image on screen is the pasted copy of the second sample; an
		// ONNX model without a crop hint sees all of it.
		ref := newReference(t, m, filepath.Join(env.dist, "web", "samples", smps[1].File), nil)
		for _, method := range []string{"gradcam", "xgradcam"} {
			r := eval[result](p, fmt.Sprintf(`camlens.explain({method: %q, class: -1}).then(%s)`, method, resultJS))
			ref.check(t, r, method, -1)
		}
		p.screenshot("desktop-onnx")
		p.change("model", entry.ID)
		seq = p.shown(seq)
	})

	t.Run("other models", func(t *testing.T) {
		p.t = t
		n := 0
		for _, e := range env.report.Catalog {
			if e.ID == entry.ID {
				continue
			}
			var smp *sampleInfo
			for _, x := range allSamples(t) {
				if x.Model == e.ID {
					smp = &x
					break
				}
			}
			if smp == nil {
				t.Logf("%s: no sample in the gallery", e.ID)
				continue
			}
			n++
			before := p.seq()
			p.click(fmt.Sprintf(`.sample[data-sample=%q]`, smp.File))
			p.wait(fmt.Sprintf(`document.body.dataset.model === %q`, e.ID), loadTimeout)
			p.shown(before)
			p.noError()
			top := p.text("#preds .pred .label")
			t.Logf("%s on %s: top class %q (samples.json: %q)", e.ID, smp.File, top, smp.Expected)
			if top != smp.Expected {
				t.Errorf("%s on %s: top class %q, samples.json expects %q", e.ID, smp.File, top, smp.Expected)
			}
			m, err := modelfile.Load(filepath.Join(env.dist, "models", e.File))
			if err != nil {
				t.Fatal(err)
			}
			ref := newReference(t, m, filepath.Join(env.dist, "web", "samples", smp.File), smp.Crop)
			r := lastResult(p)
			ref.check(t, r, r.Method, r.Class)
			p.screenshot("desktop-model-" + e.ID)
		}
		if n > 0 {
			before := p.seq()
			p.change("model", entry.ID)
			seq = p.shown(before)
		}
	})

	t.Run("narrow", func(t *testing.T) {
		p.t = t
		p.viewport(390, 844, true)
		before := p.seq()
		eval[string](p, `location.hash = `+jsString(fmt.Sprintf("#model=%s&sample=%s&method=gradcam&opacity=0.5&colormap=jet", entry.ID, smps[0].File)))
		seq = p.shown(before)
		if w := eval[int](p, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the page is %d px wide at a 390 px viewport", w)
		}
		p.screenshot("mobile-sample")
		p.change("compare", "method")
		seq = p.shown(seq)
		p.run(chromedp.ScrollIntoView(chromedp.CSS("#captions")))
		p.screenshot("mobile-compare")
		p.change("compare", "")
		seq = p.shown(seq)
		p.viewport(1280, 900, false)
	})

	t.Run("offline", func(t *testing.T) {
		p.t = t
		want := len(env.report.Precache)
		p.wait(fmt.Sprintf(`navigator.serviceWorker.controller !== null && caches.keys().then(k => k.length ? caches.open(k[0]).then(c => c.keys()).then(r => r.length >= %d) : false)`, want), 120*time.Second)
		env.proxy.setOffline(true)
		defer env.proxy.setOffline(false)
		p.run(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			yes := true
			if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
				EmulateOfflineServiceWorker: &yes,
				MatchedNetworkConditions:    []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
			}); err != nil {
				return err
			}
			_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
			return err
		}))
		mark := env.proxy.mark()
		p.click(fmt.Sprintf(`.sample[data-sample=%q]`, smps[1].File))
		seq = p.shown(seq)
		p.noError()
		if top := p.text("#preds .pred .label"); top != smps[1].Expected {
			t.Errorf("offline: top class %q, want %q", top, smps[1].Expected)
		}
		// A reload works offline too.
		p.run(chromedp.Reload())
		p.shown(0)
		p.noError()
		t.Logf("offline: %d requests reached the (cut) network", len(env.proxy.since(mark)))
	})
}

func base64(b []byte) string { return b64.StdEncoding.EncodeToString(b) }

// waitFile waits for a finished download.
func waitFile(t *testing.T, path string) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			return data
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no download %s", filepath.Base(path))
	return nil
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// coldLoad logs what the first visit transferred, as the proxy saw it.
func coldLoad(t *testing.T, p *page) {
	t.Helper()
	raw, tr := env.report.ColdLoadBytes()
	t.Logf("cold load per the build report: %d files, %.2f MB raw, %.2f MB with gzip", len(env.report.ColdLoad), float64(raw)/1e6, float64(tr)/1e6)
	n, bytes := env.proxy.transferred()
	t.Logf("cold load measured by the proxy until the first explanation: %d requests, %.2f MB transferred", n, float64(bytes)/1e6)
}
