package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camlens/camlens/scripts/internal/paths"
)

func TestStats(t *testing.T) {
	for _, c := range []struct {
		in       []float64
		med, min float64
	}{
		{[]float64{3, 1, 2}, 2, 1},
		{[]float64{4, 1, 3, 2}, 2.5, 1},
		{[]float64{5}, 5, 5},
	} {
		s := stats(c.in)
		if s.Median != c.med || s.Min != c.min || s.N != len(c.in) {
			t.Errorf("stats(%v) = %+v, want median %v min %v", c.in, s, c.med, c.min)
		}
	}
	if s := stats(nil); s.N != 0 {
		t.Errorf("stats(nil) = %+v", s)
	}
}

// TestResultsJSON: the JSON has the shape, the ratios and targets
// follow from the medians.
func TestResultsJSON(t *testing.T) {
	r := newResults()
	r.addBrowser(&rawBench{
		Samples: map[string]map[string][]float64{
			"camlens":    {"forward": {2, 3, 4}, "gradcam": {4, 5, 6}, "gradcam_early": {8}, "guided_gradcam": {10}, "class_switch": {0.2, 0.3}, "method_switch": {0.1}, "scorecam": {900}},
			"camlens-go": {"gradcam": {20, 30}},
			"tfjs-wasm":  {"forward": {3}, "gradcam": {4}},
			"tfjs-cpu":   {"forward": {50}, "gradcam": {60}, "gradcam_early": {120}, "guided_gradcam": {90}},
		},
		Errors: map[string]string{"tfjs-wasm/gradcam_early": "Kernel 'DepthwiseConv2dNativeBackpropInput' not registered for backend 'wasm'"},
	})
	r.ColdStart["camlens"] = &coldStart{Runs: 1, FirstHeatmapMS: 800, Bytes: 3_200_000, CodeModelBytes: 2_500_000}
	r.ColdStart["tfjs"] = &coldStart{Runs: 1, FirstHeatmapMS: 700, Bytes: 1_300_000}
	r.finish()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	m := map[string]map[string]map[string]any{}
	for _, k := range []string{"camlens", "tfjs-wasm", "tfjs-cpu", "cold_start"} {
		var v map[string]map[string]any
		if err := json.Unmarshal(top[k], &v); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		m[k] = v
	}
	for _, c := range []struct{ contender, op, field string }{
		{"camlens", "forward", "median_ms"}, {"camlens", "gradcam", "min_ms"}, {"camlens", "class_switch", "median_ms"},
		{"camlens", "method_switch", "median_ms"}, {"camlens", "gradcam_early", "median_ms"}, {"camlens", "guided_gradcam", "median_ms"},
		{"camlens", "scorecam", "median_ms"}, {"tfjs-wasm", "forward", "median_ms"}, {"tfjs-wasm", "gradcam", "min_ms"},
		{"tfjs-cpu", "gradcam_early", "median_ms"}, {"tfjs-cpu", "guided_gradcam", "median_ms"},
		{"cold_start", "camlens", "bytes"}, {"cold_start", "camlens", "code_model_bytes"}, {"cold_start", "camlens", "first_heatmap_ms"}, {"cold_start", "tfjs", "first_heatmap_ms"},
	} {
		if _, ok := m[c.contender][c.op][c.field]; !ok {
			t.Errorf("JSON has no %s.%s.%s", c.contender, c.op, c.field)
		}
	}
	if got := r.CamLens["gradcam"].Median; got != 5 {
		t.Errorf("camlens gradcam median %v, want 5", got)
	}
	if got := r.Ratios["gradcam camlens/tfjs-wasm"]; got != 1.25 {
		t.Errorf("gradcam ratio camlens/tfjs-wasm %v, want 1.25", got)
	}
	want := map[string]bool{
		"Grad-CAM at the last block with SIMD ≤ TF.js wasm (issue: 4.3 ms)": false,
		"pure-Go Grad-CAM at the last block < 25 ms":                        false,
		"gradcam_early ≥ 10× faster than TF.js cpu (issue: 118 ms)":         true,
		"guided_gradcam ≥ 10× faster than TF.js cpu (issue: 118 ms)":        false,
		"class_switch < 0.5 ms":                              true,
		"method_switch < 0.5 ms":                             true,
		"app cold start (navigation → first heatmap) < 1 s":  true,
		"app compressed transfer (wasm + JS + model) < 3 MB": true,
	}
	for _, tg := range r.Targets {
		w, ok := want[tg.Goal]
		if !ok {
			t.Errorf("unexpected target %q", tg.Goal)
			continue
		}
		if tg.Met == nil || *tg.Met != w {
			t.Errorf("target %q: met %v, want %v (%s)", tg.Goal, tg.Met, w, tg.Measured)
		}
		delete(want, tg.Goal)
	}
	for g := range want {
		t.Errorf("target %q missing", g)
	}
	md := markdown(r)
	for _, s := range []string{"| forward pass | 3.00 (2.00)", "fails: Kernel 'DepthwiseConv2dNativeBackpropInput'", "| TF.js wasm only", "**missed**"} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
}

// TestAssetsServer: encodings by Accept-Encoding, cross-origin isolation
// headers, 404s, and the meter's byte counts.
func TestAssetsServer(t *testing.T) {
	ctx := context.Background()
	a := assets{}
	big := []byte(strings.Repeat("camlens ", 1000))
	if err := a.add(ctx, compressor{}, "/x.js", big); err != nil {
		t.Fatal(err)
	}
	if err := a.add(ctx, compressor{}, "/small.json", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	m := newMeter(a)
	srv := httptest.NewServer(m)
	defer srv.Close()
	get := func(p, enc string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set("Accept-Encoding", enc)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	resp, body := get("/x.js", "gzip, br")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(body) >= len(big) {
		t.Errorf("gzip: Content-Encoding %q, %d bytes for %d", resp.Header.Get("Content-Encoding"), len(body), len(big))
	}
	if resp.Header.Get("Cross-Origin-Embedder-Policy") != "require-corp" || resp.Header.Get("Cross-Origin-Opener-Policy") != "same-origin" {
		t.Errorf("no cross-origin isolation headers: %v", resp.Header)
	}
	if resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	gz := len(body)
	resp, body = get("/x.js", "identity")
	if resp.Header.Get("Content-Encoding") != "" || len(body) != len(big) {
		t.Errorf("identity: Content-Encoding %q, %d bytes", resp.Header.Get("Content-Encoding"), len(body))
	}
	// A repeat visit revalidates: the same encoding's ETag gets a 304
	// without a body; another encoding has another ETag.
	tag := resp.Header.Get("ETag")
	req, _ := http.NewRequest("GET", srv.URL+"/x.js", nil)
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("If-None-Match", tag)
	if r, err := http.DefaultTransport.RoundTrip(req); err != nil || r.StatusCode != http.StatusNotModified || r.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("revalidation of %s: %v %v", tag, r, err)
	} else {
		r.Body.Close()
	}
	if r, _ := get("/x.js", "gzip"); r.Header.Get("ETag") == tag || tag == "" {
		t.Errorf("ETag %q for both identity and gzip", tag)
	}
	if resp, _ := get("/nope", ""); resp.StatusCode != 404 {
		t.Errorf("missing file: status %d", resp.StatusCode)
	}
	by, total, _ := m.take()
	if by["/x.js"] < int64(gz+len(big)) || total < by["/x.js"] {
		t.Errorf("meter: %v, total %d; bodies were %d + %d bytes", by, total, gz, len(big))
	}
	if _, total, _ := m.take(); total != 0 {
		t.Errorf("meter not reset: %d", total)
	}
	// A path's span is its first request's: a later download of it (the
	// offline cache's, after the first map) does not move its end.
	get("/x.js", "identity")
	// The meter records a response once its handler has returned, which
	// can be after the client has read the last byte.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		m.mu.Lock()
		_, done := m.spans["/x.js"]
		if done {
			m.t0 = m.t0.Add(-time.Hour) // what comes now comes an hour after the take
		}
		m.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the meter did not record /x.js")
		}
	}
	get("/x.js", "identity")
	_, _, spans := m.take()
	if sp := spans["/x.js"]; sp[1] < sp[0] || sp[1] >= 3.6e6 {
		t.Errorf("span of a path asked for twice: %v, want the first request's", sp)
	}
}

// TestMarkdownColdOnly: a -cold-only run has no operations table and no
// TF.js version; its cold starts are there.
func TestMarkdownColdOnly(t *testing.T) {
	r := newResults()
	r.ColdStart["camlens"] = &coldStart{Runs: 1, FirstHeatmapMS: 417, MinMS: 406, Bytes: 3_200_000, CodeModelBytes: 2_500_000}
	r.finish()
	md := markdown(r)
	for _, s := range []string{"<nil>", "| forward pass"} {
		if strings.Contains(md, s) {
			t.Errorf("markdown has %q:\n%s", s, md)
		}
	}
	for _, s := range []string{"### CamLens vs TF.js, face-expression", "No operations were timed", "| CamLens app (index.html, engine + view) | 417 ms (406)", "| CamLens embed (embed.html with a sample) | — (not run: -cold-of)", "not measured (no operations timed)"} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
}

// TestBrotliCache: with the brotli command, compressed forms are cached.
func TestBrotliCache(t *testing.T) {
	br, err := exec.LookPath("brotli")
	if err != nil {
		if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
			t.Fatal("brotli not installed (scripts/setup.d/10-apt.sh installs it)")
		}
		t.Skip("brotli not installed")
	}
	c := compressor{brotli: br, dir: t.TempDir()}
	data := []byte(strings.Repeat("face expression ", 500))
	b1, gz, err := c.compress(context.Background(), data)
	if err != nil || b1 == nil || gz == nil {
		t.Fatalf("compress: br %d bytes, gz %d bytes, %v", len(b1), len(gz), err)
	}
	files, _ := filepath.Glob(filepath.Join(c.dir, "*.br"))
	if len(files) != 1 {
		t.Fatalf("cache holds %v", files)
	}
	b2, _, err := c.compress(context.Background(), data)
	if err != nil || string(b1) != string(b2) {
		t.Errorf("cached brotli differs (%v)", err)
	}
}

// TestQuickBrowserRun runs the whole browser benchmark once (1 run, no
// warm-up, no cold starts, no app) and checks that every contender
// measured every operation it can: a smoke test, with no assertion on
// the times.
func TestQuickBrowserRun(t *testing.T) {
	if testing.Short() {
		t.Skip("browser benchmark skipped with -short")
	}
	const chromium = "/usr/bin/chromium"
	root, err := paths.Root()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, "chromium (scripts/setup.d/10-apt.sh)")
	}
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		missing = append(missing, "wat2wasm (Debian wabt)")
	}
	if _, err := os.Stat(filepath.Join(root, "scripts", "node", "node_modules", "@tensorflow", "tfjs")); err != nil {
		missing = append(missing, "TF.js (scripts/setup.d/20-npm.sh)")
	}
	if len(missing) > 0 {
		if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
			t.Fatalf("missing %s", strings.Join(missing, ", "))
		}
		t.Skipf("missing %s", strings.Join(missing, ", "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	o := options{quick: true, runs: 1, warmup: 0, scorecam: 1, cold: 0, native: 200 * time.Millisecond, chromium: chromium}
	r, err := run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ops  []string
	}{
		{"camlens", []string{"forward", "gradcam", "gradcam_input", "gradcam_early", "class_switch", "method_switch", "guided_gradcam", "scorecam"}},
		{"camlens-go", []string{"forward", "gradcam", "gradcam_input", "gradcam_early", "class_switch", "method_switch", "guided_gradcam"}},
		{"tfjs-wasm", []string{"forward", "gradcam", "gradcam_input", "from_pixels"}},
		{"tfjs-cpu", []string{"forward", "gradcam", "gradcam_input", "gradcam_early", "guided_gradcam", "from_pixels"}},
	} {
		for _, op := range c.ops {
			if s := r.contender(c.name)[op]; s.N == 0 || !(s.Median > 0) {
				t.Errorf("%s %s not measured: %+v (errors: %v)", c.name, op, s, r.Errors)
			}
		}
	}
	if e := r.Errors["tfjs-wasm/gradcam_early"]; !strings.Contains(e, "DepthwiseConv2dNativeBackpropInput") {
		t.Errorf("TF.js wasm gradient through a depthwise conv: error %q, want the missing DepthwiseConv2dNativeBackpropInput kernel", e)
	}
	if r.Info.Browser["camlensKernels"] != "wasm-simd" {
		t.Errorf("the runner used %v kernels, want wasm-simd (%v)", r.Info.Browser["camlensKernels"], r.Info.Browser["camlensKernelsReason"])
	}
	if r.Native == nil || r.Native.Images == 0 {
		t.Errorf("native throughput: %+v (%v)", r.Native, r.Errors["native"])
	}
}

// TestSummarizeTiering: the compiles of the module with the most of them
// (camlens.wasm) count up to the page's first-explanation mark, by name.
func TestSummarizeTiering(t *testing.T) {
	trace := strings.Join([]string{
		`Compiled function 0xa#5 using Liftoff, took 100 μs and 13584 bytes; bodysize 40 codesize 196`,
		`Compiled function 0xa#6 using TurboFan, took 2500 μs and 649640 / 1471408 max/total bytes; bodysize 2040 codesize 5056 name wasm-function#6`,
		`Compiled function 0xa#7 using TurboFan, took 900 μs and 9 / 9 max/total bytes; bodysize 300 codesize 10 name wasm-function#7`,
		`Compiled function 0xb#1 using TurboFan, took 99000 μs and 9 / 9 max/total bytes; bodysize 77 codesize 10 name wasm-function#1`,
		`[1:1:INFO:CONSOLE:1] "camlens-mark camlens:first-explanation 2500", source:  (1)`,
		`Compiled function 0xa#8 using TurboFan, took 70000 μs and 9 / 9 max/total bytes; bodysize 900 codesize 10 name wasm-function#8`,
	}, "\n")
	got := summarizeTiering([]byte(trace), map[uint32]string{5: "github.com_camlens_camlens_core_modelfile.parse", 6: "core.parse"})
	for _, want := range []string{
		"0.1 ms      1 functions      0.0 KB  github.com_camlens_camlens_core_modelfile",
		"Liftoff      1 functions,     0.0 KB of WebAssembly,     0.1 ms",
		"TurboFan     2 functions,     2.3 KB of WebAssembly,     3.4 ms",
		"2.5 ms    2040 bytes  core.parse",
		"0.9 ms     300 bytes  wasm-function[7]",
		"camlens:first-explanation 2500",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "99.0 ms") || strings.Contains(got, "70.0 ms") {
		t.Errorf("summary counts another module's compile or one after the first heatmap:\n%s", got)
	}
}

func TestStatTicks(t *testing.T) {
	for _, c := range []struct {
		name, stat string
		want       int64
		ok         bool
	}{
		{"plain", "4242 (chromium) S 1 4242 4242 0 -1 4194560 9000 0 0 0 120 35 0 0 20 0 30 0", 155, true},
		{"name with spaces and parentheses", "77 (Web Content (x) y) R 1 77 77 0 -1 0 0 0 0 0 7 3 0 0", 10, true},
		{"truncated", "77 (chromium) S 1 77 77 0 -1 0 0 0 0 0 7", 0, false},
		{"no name", "77 chromium S 1", 0, false},
		{"not a number", "77 (chromium) S 1 77 77 0 -1 0 0 0 0 0 x 3 0 0", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := statTicks([]byte(c.stat))
			if got != c.want || ok != c.ok {
				t.Errorf("statTicks(%q) = %d, %v; want %d, %v", c.stat, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestBrowserCPUOfNoBrowser(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	d, err := browserCPU(t.TempDir())
	if err != nil || d != 0 {
		t.Errorf("browserCPU of a profile no process uses = %v, %v; want 0, nil", d, err)
	}
}
