package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/camlens/camlens/scripts/build"
)

// traceTiering opens the app once in a fresh browser with V8's compile
// trace on (--trace-wasm-compilation-times) and reports what V8 compiled
// of camlens.wasm before the first heatmap: Liftoff (on first call, on the
// thread that calls) and TurboFan (on background threads, for functions
// that used up their tier-up budget), the largest TurboFan compiles by
// name. In js/wasm every jump of a Go function goes through its dispatch
// loop, and Liftoff charges each to the tier-up budget in proportion to
// the function's size, so large functions that run once are optimised all
// the same; on 2 cores those compiles compete with the engine.
func (b *benchEnv) traceTiering(ctx context.Context, o options, siteURL string) (string, error) {
	logf("building camlens.wasm with its symbols, for the function names")
	names, err := build.FunctionNames(ctx, b.root)
	if err != nil {
		return "", err
	}
	profile := filepath.Join(b.tmp, "profile-tiering")
	defer os.RemoveAll(profile)
	var out syncBuffer
	tab, cancel := newBrowser(ctx, o, profile,
		chromedp.Flag("js-flags", "--trace-wasm-compilation-times"),
		chromedp.Flag("enable-logging", "stderr"),
		chromedp.CombinedOutput(&out))
	defer cancel()
	// The page's marks go to the same output as V8's trace, so that the
	// trace can be cut at the first heatmap.
	const logMarks = `new PerformanceObserver((l) => l.getEntries().forEach((e) => console.log("camlens-mark " + e.name + " " + Math.round(e.startTime)))).observe({type: "mark"});`
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: logMarks}); err != nil {
		return "", fmt.Errorf("bench: -tiering: %w", err)
	}
	if err := waitIdle(tab, profile); err != nil {
		return "", fmt.Errorf("bench: -tiering: %w", err)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(siteURL+"/")); err != nil {
		return "", fmt.Errorf("bench: -tiering: open the app: %w", err)
	}
	if _, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](appDone, chromedp.WithPollingTimeout(3*time.Minute), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		return "", fmt.Errorf("bench: -tiering: wait for the first heatmap: %w", err)
	}
	time.Sleep(200 * time.Millisecond) // the last console lines
	cancel()
	return summarizeTiering(out.Bytes(), names), nil
}

// syncBuffer is a bytes.Buffer that Chromium's output goroutine and the
// bench may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.buf.Bytes()...)
}

var (
	compileLine = regexp.MustCompile(`^Compiled function (0x[0-9a-f]+)#(\d+) using (\w+), took (\d+) μs and [^;]*; bodysize (\d+)`)
	markLine    = regexp.MustCompile(`"camlens-mark (\S+) (\d+)"`)
)

// compile is one line of V8's trace: a function of a module compiled by
// a tier, in us microseconds, body bytes of WebAssembly.
type compile struct {
	module, name, tier string
	us, body           int
}

// summarizeTiering reads the trace (V8's lines and the page's marks, in
// the order Chromium wrote them) and prints the compiles of the module
// with the most functions compiled (camlens.wasm; kernels.wasm has a few)
// before the page marked its first explanation.
func summarizeTiering(trace []byte, names map[uint32]string) string {
	var all []compile
	byModule := map[string]int{}
	marks := []string{}
	done := false
	sc := bufio.NewScanner(bytes.NewReader(trace))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := markLine.FindStringSubmatch(line); m != nil {
			marks = append(marks, m[1]+" "+m[2])
			if m[1] == "camlens:first-explanation" {
				done = true
			}
			continue
		}
		m := compileLine.FindStringSubmatch(line)
		if m == nil || done {
			continue
		}
		idx, _ := strconv.ParseUint(m[2], 10, 32)
		us, _ := strconv.Atoi(m[4])
		body, _ := strconv.Atoi(m[5])
		name := names[uint32(idx)]
		if name == "" {
			name = "wasm-function[" + m[2] + "]"
		}
		byModule[m[1]]++
		all = append(all, compile{module: m[1], name: name, tier: m[3], us: us, body: body})
	}
	main, most := "", 0
	for k, n := range byModule {
		if n > most {
			main, most = k, n
		}
	}
	var s strings.Builder
	if !done {
		s.WriteString("the page's first-explanation mark is not in the trace: counting every compile\n")
	}
	type total struct{ n, us, body int }
	tiers := map[string]*total{}
	liftoff := map[string]*total{} // by package
	var turbofan []compile
	add := func(m map[string]*total, k string, c compile) {
		t := m[k]
		if t == nil {
			t = &total{}
			m[k] = t
		}
		t.n, t.us, t.body = t.n+1, t.us+c.us, t.body+c.body
	}
	for _, c := range all {
		if c.module != main {
			continue
		}
		add(tiers, c.tier, c)
		switch c.tier {
		case "TurboFan":
			turbofan = append(turbofan, c)
		case "Liftoff":
			add(liftoff, packageOf(c.name, ".wasm"), c)
		}
	}
	fmt.Fprintf(&s, "camlens.wasm compiled before the first heatmap (compile times are wall time, on a machine with a load average of %s):\n", loadAvg())
	for _, tier := range []string{"Liftoff", "TurboFan"} {
		if t := tiers[tier]; t != nil {
			fmt.Fprintf(&s, "  %-8s %5d functions, %7.1f KB of WebAssembly, %7.1f ms\n", tier, t.n, float64(t.body)/1024, float64(t.us)/1000)
		}
	}
	pkgs := make([]string, 0, len(liftoff))
	for k := range liftoff {
		pkgs = append(pkgs, k)
	}
	sort.Slice(pkgs, func(i, j int) bool { return liftoff[pkgs[i]].us > liftoff[pkgs[j]].us })
	s.WriteString("Liftoff's compiles by package (lazy: on the calling thread, at a function's first call):\n")
	for i, k := range pkgs {
		if i == 15 {
			break
		}
		t := liftoff[k]
		fmt.Fprintf(&s, "  %7.1f ms  %5d functions  %7.1f KB  %s\n", float64(t.us)/1000, t.n, float64(t.body)/1024, k)
	}
	sort.Slice(turbofan, func(i, j int) bool { return turbofan[i].us > turbofan[j].us })
	s.WriteString("the largest TurboFan compiles (optimised after a few hundred jumps, whether they run again or not):\n")
	for i, c := range turbofan {
		if i == 25 {
			break
		}
		fmt.Fprintf(&s, "  %7.1f ms  %6d bytes  %s\n", float64(c.us)/1000, c.body, c.name)
	}
	s.WriteString("the page's marks (ms since navigation):\n")
	for _, m := range marks {
		fmt.Fprintf(&s, "  %s\n", m)
	}
	return s.String()
}
