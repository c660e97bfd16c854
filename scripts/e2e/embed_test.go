package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestEmbedDemo: the sample documentation page renders both
// <camlens-view> embeds, each with its own engine, and reports their
// results through the element's events; then the postMessage API changes
// one embed's method.
func TestEmbedDemo(t *testing.T) {
	p := newPage(t)
	p.viewport(900, 1100, false)
	p.open("embed-demo.html")
	p.wait(`document.querySelectorAll("camlens-view[data-done]").length === 2 || document.querySelector("camlens-view[data-error]") !== null`, loadTimeout)
	if e := eval[string](p, `(document.querySelector("camlens-view[data-error]") || {dataset: {}}).dataset.error || ""`); e != "" {
		t.Fatalf("an embed failed: %s", e)
	}
	for _, id := range []string{"embed-a", "embed-b"} {
		r := eval[result](p, fmt.Sprintf(`(() => { const r = document.getElementById(%q).result; return Object.assign({}, r, {map: Array.from(r.map)}); })()`, id))
		if r.Width == 0 || len(r.Map) != r.Width*r.Height || len(r.Predictions) == 0 {
			t.Errorf("%s: result %s %d×%d with %d values and %d predictions", id, r.Method, r.Width, r.Height, len(r.Map), len(r.Predictions))
		}
		t.Logf("%s: %s, %s (%d×%d map)", id, r.Method, r.Label, r.Width, r.Height)
	}
	// embed-a shows the astronaut sample with its face crop: its map is the
	// core's for the same model, image, crop and method.
	entry := defaultModel(t)
	for _, smp := range samplesFor(t, entry.ID) {
		if smp.File != "astronaut.png" {
			continue
		}
		r := eval[result](p, `(() => { const r = document.getElementById("embed-a").result; return Object.assign({}, r, {map: Array.from(r.map)}); })()`)
		defaultReference(t, smp, smp.Crop).check(t, r, "gradcam", -1)
	}
	if m := eval[string](p, `document.getElementById("embed-b").result.method`); m != "gradcam++" {
		t.Errorf("embed-b explained with %s, its method attribute says gradcam++", m)
	}
	caption := p.text("#result-a")
	if !strings.Contains(caption, "Top class") {
		t.Errorf("embed-a caption %q", caption)
	}
	// Wait until both views have drawn (the embeds set data-shown).
	p.wait(`[...document.querySelectorAll("camlens-view iframe")].every((f) => f.contentDocument && f.contentDocument.body.dataset.shown && Number(f.contentDocument.body.dataset.drawn) >= Number(f.contentDocument.body.dataset.shown))`, loadTimeout)
	p.screenshot("desktop-embed-demo")

	// The element API: a new method through setAttribute → postMessage.
	eval[bool](p, `(() => { const e = document.getElementById("embed-a"); e.dataset.done = ""; delete e.dataset.done; e.setAttribute("method", "layercam"); return true; })()`)
	p.wait(`(document.getElementById("embed-a").result || {}).method === "layercam"`, loadTimeout)

	p.viewport(390, 844, true)
	p.wait(`document.documentElement.scrollWidth <= 390`, loadTimeout)
	p.screenshot("mobile-embed-demo")
}

// TestEmbedEarlyPhoto: a first visitor's embed shows its image, cropped as
// the explanation will be, while the engine's binary is still on its way
// (held by the proxy), and then the map.
func TestEmbedEarlyPhoto(t *testing.T) {
	p := newFreshPage(t)
	p.viewport(600, 700, false)
	entry := defaultModel(t)
	var smp sampleInfo
	for _, s := range samplesFor(t, entry.ID) {
		if len(s.Crop) == 4 {
			smp = s
			break
		}
	}
	if smp.File == "" {
		t.Fatalf("no sample of %s has a crop", entry.ID)
	}
	release := env.proxy.hold("/camlens.wasm")
	defer release()
	p.open("embed.html#model=" + entry.ID + "&src=web/samples/" + smp.File)
	earlyPhoto(t, p, smp)
	if c := p.text("#caption"); c != "Loading the engine…" {
		t.Errorf("while the engine loads, the caption says %q", c)
	}
	release()
	p.wait(`Number(document.body.dataset.shown || 0) > 0 || !!document.body.dataset.error`, loadTimeout)
	if e := eval[string](p, `document.body.dataset.error || ""`); e != "" {
		t.Fatalf("the embed failed: %s", e)
	}
	if !eval[bool](p, `performance.getEntriesByName("camlens:photo-shown")[0].startTime < performance.getEntriesByName("camlens:first-explanation")[0].startTime`) {
		t.Errorf("the photo was not shown before the first explanation")
	}
}
