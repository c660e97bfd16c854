package main

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
)

// stat summarises the samples of one operation.
type stat struct {
	Median float64 `json:"median_ms"`
	Min    float64 `json:"min_ms"`
	N      int     `json:"runs"`
}

func stats(x []float64) stat {
	if len(x) == 0 {
		return stat{}
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{Median: med, Min: s[0], N: len(s)}
}

type info struct {
	Date        string         `json:"date"`
	GoVersion   string         `json:"go"`
	Quick       bool           `json:"quick"`
	Runs        int            `json:"runs"`
	Warmup      int            `json:"warmup"`
	LoadAvg     string         `json:"loadavg,omitempty"`
	Compression string         `json:"compression"`
	Browser     map[string]any `json:"browser,omitempty"`
}

// target is one of the goals.
type target struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      *bool  `json:"met"` // nil: not measured
}

// results is the JSON written to -o.
type results struct {
	CamLens   map[string]stat       `json:"camlens"`
	CamLensGo map[string]stat       `json:"camlens-go"`
	TFWasm    map[string]stat       `json:"tfjs-wasm"`
	TFCPU     map[string]stat       `json:"tfjs-cpu"`
	ColdStart map[string]*coldStart `json:"cold_start"`
	Native    *nativeResult         `json:"native,omitempty"`
	// Ratios are CamLens's median over the other contender's median, per
	// operation: "gradcam camlens/tfjs-wasm".
	Ratios  map[string]float64 `json:"ratios"`
	Targets []target           `json:"targets"`
	Errors  map[string]string  `json:"errors"`
	Info    info               `json:"info"`
}

func newResults() *results {
	return &results{CamLens: map[string]stat{}, CamLensGo: map[string]stat{}, TFWasm: map[string]stat{}, TFCPU: map[string]stat{},
		ColdStart: map[string]*coldStart{}, Ratios: map[string]float64{}, Errors: map[string]string{}}
}

func (r *results) contender(name string) map[string]stat {
	switch name {
	case "camlens":
		return r.CamLens
	case "camlens-go":
		return r.CamLensGo
	case "tfjs-wasm":
		return r.TFWasm
	case "tfjs-cpu":
		return r.TFCPU
	}
	return nil
}

func (r *results) addBrowser(raw *rawBench) {
	r.Info.Browser = raw.Info
	for name, ops := range raw.Samples {
		m := r.contender(name)
		if m == nil {
			continue
		}
		for op, x := range ops {
			if len(x) > 0 {
				m[op] = stats(x)
			}
		}
	}
	for k, v := range raw.Errors {
		r.Errors[k] = v
	}
}

// ops in table order, with their descriptions.
var ops = []struct{ key, title string }{
	{"forward", "forward pass"},
	{"gradcam", "Grad-CAM, last block (7×7), end to end"},
	{"gradcam_input", "Grad-CAM, last block, from the preprocessed input"},
	{"gradcam_early", "Grad-CAM, 14×14 block, end to end"},
	{"class_switch", "switch class (Grad-CAM, 7×7)"},
	{"method_switch", "switch method (Grad-CAM++/LayerCAM/Grad-CAM)"},
	{"guided_gradcam", "Guided Grad-CAM, end to end"},
	{"scorecam", "Score-CAM (7×7, 256 channels), end to end"},
	{"from_pixels", "TF.js only: tf.browser.fromPixels of the 512×512 image"},
}

func met(b bool) *bool { return &b }

// finish computes ratios and targets.
func (r *results) finish() {
	for _, op := range ops {
		c, ok := r.CamLens[op.key]
		if !ok {
			continue
		}
		for _, other := range []string{"tfjs-wasm", "tfjs-cpu"} {
			if t, ok := r.contender(other)[op.key]; ok && t.Median > 0 {
				r.Ratios[op.key+" camlens/"+other] = c.Median / t.Median
			}
		}
		if g, ok := r.CamLensGo[op.key]; ok && g.Median > 0 {
			r.Ratios[op.key+" camlens/camlens-go"] = c.Median / g.Median
		}
	}
	add := func(goal, measured string, ok *bool) {
		r.Targets = append(r.Targets, target{Goal: goal, Measured: measured, Met: ok})
	}
	const simdGoal = "Grad-CAM at the last block with SIMD ≤ TF.js wasm (issue: 4.3 ms)"
	if c, ok := r.CamLens["gradcam"]; ok {
		if t, ok := r.TFWasm["gradcam"]; ok {
			m := fmt.Sprintf("end to end %.2f ms vs TF.js wasm %.2f ms here (medians)", c.Median, t.Median)
			ci, ok1 := r.CamLens["gradcam_input"]
			ti, ok2 := r.TFWasm["gradcam_input"]
			if ok1 && ok2 {
				m += fmt.Sprintf("; from the preprocessed input %.2f ms vs %.2f ms", ci.Median, ti.Median)
			}
			add(simdGoal, m, met(c.Median <= t.Median))
		} else {
			add(simdGoal, fmt.Sprintf("%.2f ms; TF.js wasm not measured", c.Median), met(c.Median <= 4.3))
		}
	} else {
		why := "not measured (no SIMD)"
		if !r.timedOps() {
			why = "not measured (no operations timed)"
		}
		add(simdGoal, why, nil)
	}
	if g, ok := r.CamLensGo["gradcam"]; ok {
		add("pure-Go Grad-CAM at the last block < 25 ms", fmt.Sprintf("%.2f ms (median)", g.Median), met(g.Median < 25))
	}
	for _, op := range []string{"gradcam_early", "guided_gradcam"} {
		c, ok1 := r.CamLens[op]
		t, ok2 := r.TFCPU[op]
		if ok1 && ok2 && c.Median > 0 {
			add(fmt.Sprintf("%s ≥ 10× faster than TF.js cpu (issue: 118 ms)", op),
				fmt.Sprintf("%.1f× (%.2f ms vs %.2f ms)", t.Median/c.Median, c.Median, t.Median), met(t.Median/c.Median >= 10))
		}
	}
	for _, op := range []string{"class_switch", "method_switch"} {
		if c, ok := r.CamLens[op]; ok {
			add(op+" < 0.5 ms", fmt.Sprintf("%.3f ms (median), %.3f ms (min)", c.Median, c.Min), met(c.Median < 0.5))
		}
	}
	if cs := r.ColdStart["camlens"]; cs != nil {
		add("app cold start (navigation → first heatmap) < 1 s", fmt.Sprintf("%.0f ms in an idle browser, %.0f ms in one launched for it (medians of %d)", cs.FirstHeatmapMS, cs.LaunchedBrowserMS, cs.Runs), met(cs.FirstHeatmapMS < 1000))
		add("app compressed transfer (wasm + JS + model) < 3 MB", fmt.Sprintf("%.2f MB (%.2f MB with pages, styles and images)", float64(cs.CodeModelBytes)/1e6, float64(cs.Bytes)/1e6), met(cs.CodeModelBytes < 3e6))
	} else {
		add("app cold start < 1 s and transfer < 3 MB", "not measured: "+r.Errors["cold_start/camlens"], nil)
	}
}

func ms(s stat, ok bool) string {
	if !ok || s.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (%s)", num(s.Median), num(s.Min))
}

func num(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func ratio(r map[string]float64, key string) string {
	v, ok := r[key]
	if !ok || math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

// writeMarks writes title and then each mark (its name without prefix)
// with its time, in order of time, on one line.
func writeMarks(b *strings.Builder, title string, marks map[string]float64, prefix string) {
	keys := make([]string, 0, len(marks))
	for k := range marks {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return marks[keys[i]] < marks[keys[j]] })
	b.WriteString("\n" + title)
	for _, k := range keys {
		fmt.Fprintf(b, " %s %.0f;", strings.TrimPrefix(k, prefix), marks[k])
	}
	b.WriteString("\n")
}

// timedOps reports whether any contender timed an operation (a
// -cold-only run times none).
func (r *results) timedOps() bool {
	return len(r.CamLens)+len(r.CamLensGo)+len(r.TFWasm)+len(r.TFCPU) > 0
}

// writeOps writes the operations table: each operation's median (min)
// per contender, and CamLens's ratios to TF.js.
func writeOps(b *strings.Builder, r *results) {
	fmt.Fprintf(b, "Median (minimum) in ms over %d runs after %d warm-up rounds, contenders alternating; headless Chromium.\n\n", r.Info.Runs, r.Info.Warmup)
	b.WriteString("| operation | CamLens SIMD | CamLens pure Go | TF.js wasm | TF.js cpu | CamLens / TF.js wasm | CamLens / TF.js cpu |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, op := range ops {
		c, okc := r.CamLens[op.key]
		g, okg := r.CamLensGo[op.key]
		w, okw := r.TFWasm[op.key]
		p, okp := r.TFCPU[op.key]
		ws := ms(w, okw)
		if e, ok := r.Errors["tfjs-wasm/"+op.key]; ok {
			ws = "fails: " + shorten(e, 60)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", op.title, ms(c, okc), ms(g, okg), ws, ms(p, okp),
			ratio(r.Ratios, op.key+" camlens/tfjs-wasm"), ratio(r.Ratios, op.key+" camlens/tfjs-cpu"))
	}
}

// markdown renders the results as tables.
func markdown(r *results) string {
	var b strings.Builder
	tfjs := "TF.js"
	if v, ok := r.Info.Browser["tfjs"].(string); ok && v != "" {
		tfjs += " " + v
	}
	fmt.Fprintf(&b, "\n### CamLens vs %s, face-expression model, astronaut crop\n\n", tfjs)
	if r.timedOps() {
		writeOps(&b, r)
	} else {
		b.WriteString("No operations were timed in this run (-cold-only).\n")
	}
	b.WriteString("\n| cold start (first visit, empty cache) | navigation → first heatmap, browser up and idle: median (min) | the same, browser launched for it | transferred (compressed): wasm + JS + model / everything | repeat visit (the browser of a first one): median (min), transferred | third visit: median (min), transferred |\n|---|---|---|---|---|---|\n")
	for _, k := range []string{"camlens", "camlens-embed", "camlens-core", "tfjs"} {
		cs := r.ColdStart[k]
		title := map[string]string{"camlens": "CamLens app (index.html, engine + view)", "camlens-embed": "CamLens embed (embed.html with a sample)", "camlens-core": "CamLens core only (runner + SIMD kernels)", "tfjs": "TF.js wasm only (tf.min.js + backend)"}[k]
		if cs == nil {
			why := shorten(r.Errors["cold_start/"+k], 80)
			if why == "" {
				why = "(not run: -cold-of)"
			}
			fmt.Fprintf(&b, "| %s | — %s | — | — | — | — |\n", title, why)
			continue
		}
		fmt.Fprintf(&b, "| %s | %.0f ms (%.0f) | %.0f ms (%.0f) | %.2f / %.2f MB | %.0f ms (%.0f), %.2f MB | %.0f ms (%.0f), %.2f MB |\n", title, cs.FirstHeatmapMS, cs.MinMS,
			cs.LaunchedBrowserMS, cs.LaunchedBrowserMinMS, float64(cs.CodeModelBytes)/1e6, float64(cs.Bytes)/1e6,
			cs.RepeatVisitMS, cs.RepeatVisitMinMS, float64(cs.RepeatVisitBytes)/1e6,
			cs.ThirdVisitMS, cs.ThirdVisitMinMS, float64(cs.ThirdVisitBytes)/1e6)
	}
	if cs := r.ColdStart["camlens"]; cs != nil && cs.Detail["view_ready_ms"] > 0 {
		fmt.Fprintf(&b, "\nCamLens app, medians: the sample's photo on screen %.0f ms; engine ready %.0f ms; first map on screen %.0f ms (drawn by the Canvas 2D preview); the ebiten view, started after it, draws it at %.0f ms.\n",
			cs.Detail["photo_ms"], cs.Detail["engine_ready_ms"], cs.FirstHeatmapMS, cs.Detail["view_ready_ms"])
	}
	if cs := r.ColdStart["camlens-embed"]; cs != nil && cs.Detail["photo_ms"] > 0 {
		fmt.Fprintf(&b, "\nCamLens embed, medians: the image on screen %.0f ms; first map on screen %.0f ms.\n", cs.Detail["photo_ms"], cs.FirstHeatmapMS)
	}
	if cs := r.ColdStart["camlens-core"]; cs != nil && len(cs.Detail) > 0 {
		writeMarks(&b, "CamLens core cold start, medians (ms since navigation; first-map-explain-only is the Grad-CAM call alone):", cs.Detail, "core:")
	}
	if cs := r.ColdStart["camlens"]; cs != nil && len(cs.RepeatVisitMarks) > 0 {
		writeMarks(&b, "CamLens app, repeat visit, medians (ms since navigation):", cs.RepeatVisitMarks, "camlens:")
	}
	if cs := r.ColdStart["camlens"]; cs != nil && len(cs.ThirdVisitMarks) > 0 {
		writeMarks(&b, "CamLens app, third visit, medians (ms since navigation):", cs.ThirdVisitMarks, "camlens:")
	}
	if cs := r.ColdStart["camlens"]; cs != nil && len(cs.Timeline) > 0 {
		b.WriteString("\nCamLens app, first cold start (ms since navigation; files: request at the server → last byte sent):\n\n")
		for _, e := range cs.Timeline {
			if e.EndMS > e.StartMS {
				fmt.Fprintf(&b, "- %7.0f → %7.0f  %s\n", e.StartMS, e.EndMS, e.What)
			} else {
				fmt.Fprintf(&b, "- %7.0f            %s\n", e.StartMS, e.What)
			}
		}
	}
	if n := r.Native; n != nil {
		fmt.Fprintf(&b, "\nNative Grad-CAM end to end: %.0f images/s on %d workers (GOMAXPROCS %d); %.2f ms per image on one (median, min %.2f).\n",
			n.ImagesPerSec, n.Workers, n.GOMAXPROCS, n.MSPerImage, n.MinMS)
	}
	b.WriteString("\nTargets:\n\n")
	for _, t := range r.Targets {
		mark := "not measured"
		if t.Met != nil {
			mark = map[bool]string{true: "met", false: "missed"}[*t.Met]
		}
		fmt.Fprintf(&b, "- %s: %s — **%s**\n", t.Goal, t.Measured, mark)
	}
	if len(r.Errors) > 0 {
		b.WriteString("\nNot measured / failed:\n\n")
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "- %s: %s\n", k, shorten(r.Errors[k], 200))
		}
	}
	fmt.Fprintf(&b, "\nLoad average during the run: %s\n", r.Info.LoadAvg)
	if v, ok := r.Info.Browser["firstTouch16MBms"].(float64); ok {
		fmt.Fprintf(&b, "Fresh memory in this browser: writing 16 MB for the first time took %.1f ms (%.1f ms per MB; a cold start writes tens of MB for the first time).\n", v, v/16)
	}
	return b.String()
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
