package e2e

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/metrics"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/wasm/engine/worker"
)

// TestAppCheck: the "Check this explanation" panel on the clutter model's
// sample, where Grad-CAM is known to be faithful: it opens from the
// keyboard, runs with progress, draws four curves, its AUCs are the
// core's (core/metrics on the same session) and beat the random map's,
// it goes out of date when the method changes, it can be cancelled, and
// it fits a 390 px screen.
func TestAppCheck(t *testing.T) {
	var smp *sampleInfo
	for _, s := range allSamples(t) {
		if s.Model == "clutter" {
			smp = &s
			break
		}
	}
	if smp == nil {
		t.Fatal("samples.json has no sample for the clutter model")
	}
	modelFile := ""
	for _, e := range env.report.Catalog {
		if e.ID == "clutter" {
			modelFile = e.File
		}
	}
	if modelFile == "" {
		t.Fatal("the catalog has no clutter model")
	}
	p := newPage(t)
	p.viewport(1280, 900, false)
	p.open(fmt.Sprintf("index.html#model=clutter&sample=%s&method=gradcam", smp.File))
	seq := p.shown(0)

	// The core's numbers for the same model, image and map.
	mf, err := modelfile.Load(filepath.Join(env.dist, "models", modelFile))
	if err != nil {
		t.Fatal(err)
	}
	ref := newReference(t, mf, filepath.Join(env.dist, "web", "samples", smp.File), smp.Crop)
	ref.check(t, lastResult(p), "gradcam", -1)
	res, err := ref.sess.Explain(context.Background(), cam.Request{Method: "gradcam", Class: -1})
	if err != nil {
		t.Fatal(err)
	}
	want, err := metrics.DeletionInsertion(context.Background(), ref.sess, res.Map, res.Class, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rnd, err := metrics.DeletionInsertion(context.Background(), ref.sess, metrics.RandomMap(res.W, res.H, worker.RandomSeed), res.Class, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}

	// Open the panel from the keyboard.
	p.run(chromedp.Focus(chromedp.CSS("#check-toggle")), chromedp.KeyEvent(kb.Enter))
	if open := eval[string](p, `document.getElementById("check-toggle").getAttribute("aria-expanded")`); open != "true" || eval[bool](p, `document.getElementById("check-body").hidden`) {
		t.Fatalf("Enter on the toggle did not open the panel (aria-expanded %s)", open)
	}
	p.run(chromedp.KeyEvent(" "))
	if !eval[bool](p, `document.getElementById("check-body").hidden`) {
		t.Fatal("Space on the toggle did not close the panel")
	}
	p.run(chromedp.KeyEvent(kb.Enter))

	runCheck := func(t *testing.T) map[string]float64 {
		t.Helper()
		before := eval[int](p, `Number(document.body.dataset.checked || 0)`)
		p.click("#check-run")
		p.wait(fmt.Sprintf(`Number(document.body.dataset.checked || 0) > %d && document.body.dataset.checking === "0"`, before), loadTimeout)
		if e := eval[bool](p, `document.getElementById("check-status").classList.contains("error-text")`); e {
			t.Fatalf("the check failed: %s", p.text("#check-status"))
		}
		t.Logf("status: %q", p.text("#check-status"))
		if n := eval[int](p, `document.querySelectorAll("#check-plot path.curve").length`); n != 4 {
			t.Errorf("the plot has %d curves, want 4", n)
		}
		cells := eval[map[string]string](p, `Object.fromEntries([...document.querySelectorAll("#check-auc [data-auc]")].map((e) => [e.dataset.auc, e.textContent]))`)
		aucs := map[string]float64{}
		for k, s := range cells {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || v > 1 {
				t.Errorf("AUC %s = %q: not a number in [0, 1]", k, s)
			}
			aucs[k] = v
		}
		if len(aucs) != 4 {
			t.Fatalf("AUC cells %v, want 4", cells)
		}
		return aucs
	}

	t.Run("run", func(t *testing.T) {
		p.t = t
		aucs := runCheck(t)
		core := map[string]float64{
			"map-deletion": want.Deletion.AUC, "map-insertion": want.Insertion.AUC,
			"random-deletion": rnd.Deletion.AUC, "random-insertion": rnd.Insertion.AUC,
		}
		for k, v := range core {
			t.Logf("%s AUC: page %.3f, core %.5f", k, aucs[k], v)
			if math.Abs(aucs[k]-v) > 0.0005+1e-9 {
				t.Errorf("%s AUC: the page shows %.3f, the core computes %.5f", k, aucs[k], v)
			}
		}
		if !(aucs["map-deletion"] < aucs["random-deletion"] && aucs["map-insertion"] > aucs["random-insertion"]) {
			t.Errorf("Grad-CAM on %s is not more faithful than a random map: %v", smp.File, aucs)
		}
		verdict := p.text("#check-verdict")
		if !strings.Contains(verdict, "beats the random map on both") {
			t.Errorf("verdict %q", verdict)
		}
		curves := eval[[]string](p, `[...document.querySelectorAll("#check-plot path.curve")].map((e) => e.dataset.curve)`)
		t.Logf("curves: %v; verdict: %q", curves, verdict)
		p.run(chromedp.ScrollIntoView(chromedp.CSS("#check-body")))
		p.screenshot("desktop-check")
	})

	t.Run("stale", func(t *testing.T) {
		p.t = t
		p.change("method", "hirescam")
		seq = p.shown(seq)
		if eval[string](p, `document.body.dataset.checkStale`) != "1" || eval[bool](p, `document.getElementById("check-stale").hidden`) {
			t.Errorf("after a method change the results are not marked out of date")
		}
		t.Logf("stale note: %q", p.text("#check-stale"))
		p.run(chromedp.ScrollIntoView(chromedp.CSS("#check-body")))
		p.screenshot("desktop-check-stale")
		runCheck(t)
		if eval[string](p, `document.body.dataset.checkStale`) != "0" {
			t.Errorf("a fresh check is marked out of date")
		}
		if f := p.text("#check-for"); !strings.Contains(f, "HiResCAM") {
			t.Errorf("the check says it is for %q, want HiResCAM", f)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		p.t = t
		if !p.startAndCancel(`document.getElementById("check-run").click();`, "check-cancel") {
			t.Fatal("the check showed no Cancel button")
		}
		p.wait(`document.body.dataset.checking === "0"`, loadTimeout)
		if s := p.text("#check-status"); s != "Cancelled." {
			t.Errorf("status after cancel %q", s)
		}
		// The page goes on: the next explanation and check work.
		p.change("method", "gradcam")
		seq = p.shown(seq)
		runCheck(t)
		p.noError()
	})

	t.Run("narrow", func(t *testing.T) {
		p.t = t
		p.viewport(390, 844, true)
		defer p.viewport(1280, 900, false)
		time.Sleep(200 * time.Millisecond) // the plot redraws at the new width
		if w := eval[int](p, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the page is %d px wide at a 390 px viewport", w)
		}
		if w := eval[float64](p, `document.getElementById("check-plot").getBoundingClientRect().right`); w > 390 {
			t.Errorf("the plot ends at x = %.0f, beyond the 390 px viewport", w)
		}
		p.run(chromedp.ScrollIntoView(chromedp.CSS("#check-figure")))
		p.screenshot("mobile-check")
	})
}
