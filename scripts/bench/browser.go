package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// newBrowser starts headless Chromium with a fresh profile (the flags of
// FACTS.md: WebGL through SwiftShader, no background traffic).
func newBrowser(ctx context.Context, o options, profile string, extra ...chromedp.ExecAllocatorOption) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(o.chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("enable-unsafe-swiftshader", true),
	)
	opts = append(opts, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	return tab, func() { cancelTab(); cancelAlloc() }
}

// rawBench is what bench.js leaves in window.benchResult.
type rawBench struct {
	Info    map[string]any                  `json:"info"`
	Samples map[string]map[string][]float64 `json:"samples"`
	Errors  map[string]string               `json:"errors"`
}

// browserBench runs bench.html and returns its raw samples.
func (b *benchEnv) browserBench(ctx context.Context, o options) (*rawBench, error) {
	tab, cancel := newBrowser(ctx, o, filepath.Join(b.tmp, "profile-bench"))
	defer cancel()
	q := url.Values{}
	q.Set("runs", fmt.Sprint(o.runs))
	q.Set("warmup", fmt.Sprint(o.warmup))
	q.Set("scorecam", fmt.Sprint(o.scorecam))
	if err := chromedp.Do(tab, chromedp.Navigate(b.bench.url+"/bench/bench.html?"+q.Encode())); err != nil {
		return nil, fmt.Errorf("bench: open the bench page: %w", err)
	}
	last, lastLog := "", time.Time{}
	deadline := time.Now().Add(60 * time.Minute)
	for time.Now().Before(deadline) {
		state, err := chromedp.Run(tab, chromedp.Evaluate[string](
			`window.benchResult ? "done" : window.benchError ? "error: " + window.benchError : (window.benchProgress || "starting")`))
		if err != nil {
			return nil, fmt.Errorf("bench: the bench page: %w", err)
		}
		switch {
		case state == "done":
			raw, err := chromedp.Run(tab, chromedp.Evaluate[rawBench](`window.benchResult`))
			if err != nil {
				return nil, fmt.Errorf("bench: read the results: %w", err)
			}
			return &raw, nil
		case len(state) > 6 && state[:6] == "error:":
			return nil, fmt.Errorf("bench: the bench page failed: %s", state[7:])
		}
		if state != last && time.Since(lastLog) >= 5*time.Second {
			logf("  %s", state)
			last, lastLog = state, time.Now()
		}
		if err := sleep(ctx, time.Second); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("bench: the bench page did not finish in an hour")
}

// coldStart is one contender's cold starts.
type coldStart struct {
	Runs           int     `json:"runs"`
	FirstHeatmapMS float64 `json:"first_heatmap_ms"` // median
	MinMS          float64 `json:"min_ms"`
	Bytes          int64   `json:"bytes"` // median, sent by the server until the first map
	// CodeModelBytes is the part of Bytes that is wasm, JavaScript and
	// the model (the "wasm + JS + model"; the rest is pages, styles,
	// images): median.
	CodeModelBytes int64              `json:"code_model_bytes"`
	Requests       []pathBytes        `json:"requests"`
	Detail         map[string]float64 `json:"detail,omitempty"` // other marks, median
	// Timeline is the first run's critical path: when the server got the
	// first request for each file and sent its last byte, and the
	// page's camlens:* performance marks, in ms since navigation.
	Timeline []timelineEntry `json:"timeline,omitempty"`
	Kernels  string          `json:"kernels,omitempty"`
	// LaunchedBrowserMS is the same first visit in a browser launched for
	// it, navigating at once, while the browser's own start-up still runs:
	// median and minimum, ms. FirstHeatmapMS's browser was up and idle
	// (waitIdle).
	LaunchedBrowserMS    float64 `json:"launched_browser_first_heatmap_ms,omitempty"`
	LaunchedBrowserMinMS float64 `json:"launched_browser_min_ms,omitempty"`
	// RepeatVisitMS is a second visit in the browser of a first one
	// (navigation → first heatmap: median, minimum, ms), after the first
	// stayed open for -revisit-settle: what a returning user sees, with
	// whatever the first visit left in the HTTP cache, the service
	// worker's cache and V8's code cache. RepeatVisitBytes is what the
	// server sent for it (median).
	RepeatVisitMS    float64 `json:"repeat_visit_first_heatmap_ms,omitempty"`
	RepeatVisitMinMS float64 `json:"repeat_visit_min_ms,omitempty"`
	RepeatVisitBytes int64   `json:"repeat_visit_bytes"`
	// RepeatVisitMarks are the repeat visit's performance marks (medians,
	// ms since navigation).
	RepeatVisitMarks map[string]float64 `json:"repeat_visit_marks,omitempty"`
	// ThirdVisit* are the same for a third visit (two earlier ones, each
	// open for -revisit-settle): a site's caches may fill over more than
	// one visit (V8 keeps the compiled code of a module that the service
	// worker's cache serves from the second compilation on).
	ThirdVisitMS    float64            `json:"third_visit_first_heatmap_ms,omitempty"`
	ThirdVisitMinMS float64            `json:"third_visit_min_ms,omitempty"`
	ThirdVisitBytes int64              `json:"third_visit_bytes"`
	ThirdVisitMarks map[string]float64 `json:"third_visit_marks,omitempty"`
	BuildColdLoad   *coldLoadReport    `json:"build_cold_load,omitempty"`
}

// appDone and appResult watch the CamLens app: it marks
// camlens:first-explanation once its first explanation (the default
// model on the first sample) is on screen (drawn by the view's Canvas 2D
// preview: web/view-host.js), and camlens:view-live once the ebiten view,
// started after that, has drawn it and replaced the preview. The cold
// start's first heatmap is the first; the run ends at the second.
const appDone = `(() => {
  const has = (n) => performance.getEntriesByName(n).length > 0;
  if (document.body && document.body.dataset.ready === "1" && !(window.camlens && window.camlens.last())) return true;
  return has("camlens:first-explanation") && has("camlens:view-live") && !!(window.camlens && window.camlens.last());
})()`

// pageMarks is the start of a result expression: t(name) is when the
// page marked name (null if it did not), and marks all its camlens:*
// marks, ms since navigation.
const pageMarks = `
  const t = (n) => { const e = performance.getEntriesByName(n); return e.length ? e[0].startTime : null; };
  const marks = {};
  for (const m of performance.getEntriesByType("mark")) if (m.name.startsWith("camlens:")) marks[m.name] = m.startTime;`

const appResult = `(() => {` + pageMarks + `
  if (!(window.camlens && window.camlens.last()))
    return {error: "no explanation on screen: " + ((document.body && document.body.dataset.error) || (document.getElementById("status") || {}).textContent || "?")};
  const nav = performance.getEntriesByType("navigation")[0];
  if (nav) { marks["page:dom-content-loaded"] = nav.domContentLoadedEventEnd; marks["page:load"] = nav.loadEventEnd; }
  const ex = t("camlens:first-explanation");
  return {first_heatmap_ms: ex, explanation_ms: ex, view_ready_ms: t("camlens:view-live"), engine_ready_ms: t("camlens:engine-ready"), photo_ms: t("camlens:photo-shown"), marks};
})()`

// embedPage is the embed as a documentation page frames it: the default
// model on the astronaut sample (its face crop comes from samples.json).
const embedPage = "embed.html#model=face-expression&src=web/samples/astronaut.png"

// embedDone and embedResult watch the embed: it sets body.dataset.ready
// once its start-up has ended, and marks camlens:first-explanation when
// its first map is on screen (camlens:photo-shown when the image is,
// before).
const embedDone = `!!document.body && document.body.dataset.ready === "1"`

const embedResult = `(() => {` + pageMarks + `
  const ex = t("camlens:first-explanation");
  if (ex === null) return {error: "no explanation on screen: " + (document.body.dataset.error || document.getElementById("caption").textContent)};
  return {first_heatmap_ms: ex, explanation_ms: ex, photo_ms: t("camlens:photo-shown"), marks};
})()`

// timelineEntry is one step of a cold start: a file the server sent
// (Start: first request, End: last byte) or a page mark (Start = End).
type timelineEntry struct {
	What    string  `json:"what"`
	StartMS float64 `json:"start_ms"`
	EndMS   float64 `json:"end_ms"`
}

// timeline merges the server's spans and the page's marks, by start.
func timeline(spans map[string][2]float64, marks map[string]float64) []timelineEntry {
	var out []timelineEntry
	for p, sp := range spans {
		out = append(out, timelineEntry{What: p, StartMS: sp[0], EndMS: sp[1]})
	}
	for n, t := range marks {
		out = append(out, timelineEntry{What: n, StartMS: t, EndMS: t})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].StartMS < out[j].StartMS || out[i].StartMS == out[j].StartMS && out[i].What < out[j].What
	})
	return out
}

// coldResult is what a cold-start page reports.
type coldResult struct {
	Error          string             `json:"error"`
	FirstHeatmapMS float64            `json:"first_heatmap_ms"`
	ExplanationMS  float64            `json:"explanation_ms"`
	ViewReadyMS    float64            `json:"view_ready_ms"` // the ebiten view has drawn the first map
	EngineReadyMS  float64            `json:"engine_ready_ms"`
	PhotoMS        float64            `json:"photo_ms"` // the sample's photo is on screen (before its map)
	Kernels        string             `json:"kernels"`
	Marks          map[string]float64 `json:"marks"`
}

// coldStarts opens pageURL in o.cold fresh browsers (fresh profiles,
// nothing cached) and waits for done: the headline first visit in a
// browser that is up and idle (see waitIdle), then the same visit in a
// browser launched for it, then visits after earlier ones.
func (b *benchEnv) coldStarts(ctx context.Context, o options, name, pageURL, done, result string, m *meter) (*coldStart, error) {
	n := max(o.cold, 1)
	var times, bytes, code []float64
	detail := map[string][]float64{}
	cs := &coldStart{Runs: n}
	for i := range n {
		logf("cold start %s %d/%d", name, i+1, n)
		r, by, total, spans, err := b.coldRun(ctx, o, fmt.Sprintf("%s-%d", name, i), pageURL, done, result, m, waitIdle)
		if err != nil {
			return nil, err
		}
		times = append(times, r.FirstHeatmapMS)
		bytes = append(bytes, float64(total))
		var c int64
		for p, n := range by {
			switch path.Ext(p) {
			case ".wasm", ".js", ".mjs", ".safetensors", ".onnx", ".bin":
				c += n
			}
		}
		code = append(code, float64(c))
		for k, v := range map[string]float64{"explanation_ms": r.ExplanationMS, "view_ready_ms": r.ViewReadyMS, "engine_ready_ms": r.EngineReadyMS, "photo_ms": r.PhotoMS} {
			if v > 0 {
				detail[k] = append(detail[k], v)
			}
		}
		cs.Kernels = r.Kernels
		for k, v := range r.Marks {
			if strings.HasPrefix(k, "core:") {
				detail[k] = append(detail[k], v)
			}
		}
		if i == 0 {
			cs.Requests = topPaths(by)
			cs.Timeline = timeline(spans, r.Marks)
		}
	}
	st := stats(times)
	cs.FirstHeatmapMS, cs.MinMS = st.Median, st.Min
	// The same first visit in a browser launched for it: the page shares
	// the cores with the browser's own start (see waitIdle).
	var launched []float64
	for i := range n {
		logf("cold start %s in a browser just launched %d/%d", name, i+1, n)
		r, _, _, _, err := b.coldRun(ctx, o, fmt.Sprintf("%s-launched-%d", name, i), pageURL, done, result, m, nil)
		if err != nil {
			return nil, err
		}
		launched = append(launched, r.FirstHeatmapMS)
	}
	lst := stats(launched)
	cs.LaunchedBrowserMS, cs.LaunchedBrowserMinMS = lst.Median, lst.Min
	// A returning user: the same page again, in the browser that showed it
	// once, and twice.
	again, err := b.laterVisits(ctx, o, name, "repeat visit", 1, pageURL, done, result, m)
	if err != nil {
		return nil, err
	}
	cs.RepeatVisitMS, cs.RepeatVisitMinMS, cs.RepeatVisitBytes, cs.RepeatVisitMarks = again.ms, again.minMS, again.bytes, again.marks
	third, err := b.laterVisits(ctx, o, name, "third visit", 2, pageURL, done, result, m)
	if err != nil {
		return nil, err
	}
	cs.ThirdVisitMS, cs.ThirdVisitMinMS, cs.ThirdVisitBytes, cs.ThirdVisitMarks = third.ms, third.minMS, third.bytes, third.marks
	cs.Bytes = int64(stats(bytes).Median)
	cs.CodeModelBytes = int64(stats(code).Median)
	cs.Detail = medians(detail)
	return cs, nil
}

// laterVisit is what o.cold visits after earlier ones gave: the first
// heatmap's median and minimum, the bytes sent (median) and the page's
// marks (medians), ms.
type laterVisit struct {
	ms, minMS float64
	bytes     int64
	marks     map[string]float64
}

// laterVisits measures the visit after earlier ones (see earlierVisits) in
// o.cold fresh browsers; what is the visit's name in the log.
func (b *benchEnv) laterVisits(ctx context.Context, o options, name, what string, earlier int, pageURL, done, result string, m *meter) (laterVisit, error) {
	n := max(o.cold, 1)
	var times, sent []float64
	marks := map[string][]float64{}
	for i := range n {
		logf("%s %s %d/%d", what, name, i+1, n)
		r, _, total, _, err := b.coldRun(ctx, o, fmt.Sprintf("%s-later%d-%d", name, earlier, i), pageURL, done, result, m, earlierVisits(earlier, pageURL, done, o.revisitSettle))
		if err != nil {
			return laterVisit{}, err
		}
		times = append(times, r.FirstHeatmapMS)
		sent = append(sent, float64(total))
		for k, v := range r.Marks {
			marks[k] = append(marks[k], v)
		}
	}
	st := stats(times)
	return laterVisit{ms: st.Median, minMS: st.Min, bytes: int64(stats(sent).Median), marks: medians(marks)}, nil
}

// medians maps each key of samples to the median of its values; nil when
// samples is empty.
func medians(samples map[string][]float64) map[string]float64 {
	if len(samples) == 0 {
		return nil
	}
	out := make(map[string]float64, len(samples))
	for k, v := range samples {
		out[k] = stats(v).Median
	}
	return out
}

// coldRun is coldStart, retried in a fresh browser after a DevTools
// hiccup ("Cannot find context with specified id" when the first document
// replaces about:blank); the page's own error is an error too.
func (b *benchEnv) coldRun(ctx context.Context, o options, id, pageURL, done, result string, m *meter, before prelude) (coldResult, map[string]int64, int64, map[string][2]float64, error) {
	for try := 0; ; try++ {
		r, by, total, spans, err := b.coldStart(ctx, o, fmt.Sprintf("%s-%d", id, try), pageURL, done, result, m, before)
		if err != nil && strings.Contains(err.Error(), "-32000") && try < 2 {
			logf("  retrying: %v", err)
			continue
		}
		if err == nil && r.Error != "" {
			err = fmt.Errorf("%s", r.Error)
		}
		return r, by, total, spans, err
	}
}

// prelude is what a browser, whose profile directory is profile, does
// before the measured visit.
type prelude func(tab context.Context, profile string) error

// earlierVisits makes the measured visit the (n+1)th: n times, it shows
// pageURL until done and then for settle, and leaves it; then it waits
// for the browser to be idle.
func earlierVisits(n int, pageURL, done string, settle time.Duration) prelude {
	return func(tab context.Context, profile string) error {
		for i := range n {
			err := visit(tab, pageURL, done)
			if err == nil {
				time.Sleep(settle)
				err = chromedp.Do(tab, chromedp.Navigate("about:blank"))
			}
			if err != nil {
				return fmt.Errorf("earlier visit %d: %w", i+1, err)
			}
		}
		return waitIdle(tab, profile)
	}
}

// visit opens pageURL and waits until done (a JavaScript expression) is
// true.
func visit(tab context.Context, pageURL, done string) error {
	if err := chromedp.Do(tab, chromedp.Navigate(pageURL)); err != nil {
		return err
	}
	_, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](done, chromedp.WithPollingTimeout(3*time.Minute), chromedp.WithPollingInterval(50*time.Millisecond)))
	return err
}

// coldStart opens pageURL once in a fresh browser and returns what the
// page reports and what the server sent meanwhile (meter.take). before,
// if not nil, runs first, unmetered.
func (b *benchEnv) coldStart(ctx context.Context, o options, id, pageURL, done, result string, m *meter, before prelude) (coldResult, map[string]int64, int64, map[string][2]float64, error) {
	profile := filepath.Join(b.tmp, "profile-"+id)
	defer os.RemoveAll(profile)
	tab, cancel := newBrowser(ctx, o, profile)
	defer cancel()
	var r coldResult
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		return r, nil, 0, nil, fmt.Errorf("start Chromium: %w", err)
	}
	if before != nil {
		if err := before(tab, profile); err != nil {
			return r, nil, 0, nil, err
		}
	}
	m.take()
	err := visit(tab, pageURL, done)
	if err == nil {
		r, err = chromedp.Run(tab, chromedp.Evaluate[coldResult](result))
	}
	by, total, spans := m.take()
	return r, by, total, spans, err
}
