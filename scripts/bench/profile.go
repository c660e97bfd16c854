package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// profileCold opens pageURL once in a fresh browser with the V8 sampling
// profiler running on the page's main thread from before navigation to
// the first map, writes the profile (a .cpuprofile that Chromium's
// DevTools opens) to out and returns a summary of where the main thread's
// time went: self time by function and by Go package.
//
// The profiler is started on a page of the same origin so that the
// navigation stays in the profiled renderer.
func (b *benchEnv) profileCold(ctx context.Context, o options, origin, pageURL, done, out string) (string, error) {
	profile := filepath.Join(b.tmp, "profile-cpu")
	defer os.RemoveAll(profile)
	tab, cancel := newBrowser(ctx, o, profile)
	defer cancel()
	var p *profiler.Profile
	err := chromedp.Do(tab, chromedp.Navigate(origin+"/samples/samples.json"))
	for _, step := range []func() error{
		func() error { _, err := chromedp.Call(tab, profiler.Enable, cdp.Empty{}); return err },
		func() error {
			_, err := chromedp.Call(tab, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 200})
			return err
		},
		func() error { return waitIdle(tab, profile) },
		func() error { _, err := chromedp.Call(tab, profiler.Start, cdp.Empty{}); return err },
		func() error { return chromedp.Do(tab, chromedp.Navigate(pageURL)) },
		func() error {
			_, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](done, chromedp.WithPollingTimeout(3*time.Minute), chromedp.WithPollingInterval(50*time.Millisecond)))
			return err
		},
		func() error { r, err := chromedp.Call(tab, profiler.Stop, cdp.Empty{}); p = r.Profile; return err },
	} {
		if err != nil {
			break
		}
		err = step()
	}
	if err == nil && p == nil {
		err = fmt.Errorf("no profile came back")
	}
	if err != nil {
		return "", fmt.Errorf("bench: profile %s: %w", pageURL, err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("bench: profile: %w", err)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return "", fmt.Errorf("bench: profile: %w", err)
	}
	return summarizeProfile(p), nil
}

// summarizeProfile lists the 30 functions and the 15 Go packages (or
// script files) with the most self time in p.
func summarizeProfile(p *profiler.Profile) string {
	byID := map[int64]*profiler.ProfileNode{}
	for _, n := range p.Nodes {
		byID[n.ID] = n
	}
	self := map[string]float64{}
	pkg := map[string]float64{}
	var total float64
	for i, id := range p.Samples {
		if i+1 >= len(p.TimeDeltas) {
			break
		}
		ms := float64(p.TimeDeltas[i+1]) / 1000 // the sample lasts until the next one
		n := byID[id]
		if n == nil || n.CallFrame == nil {
			continue
		}
		name := n.CallFrame.FunctionName
		if name == "" {
			name = "(anonymous) " + filepath.Base(n.CallFrame.URL)
		}
		self[name] += ms
		pkg[packageOf(name, n.CallFrame.URL)] += ms
		total += ms
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "main-thread samples: %.0f ms\n\nself time by function:\n", total)
	top(&sb, self, 30)
	sb.WriteString("\nself time by Go package (or script):\n")
	top(&sb, pkg, 15)
	return sb.String()
}

// packageOf is a Go function's package as the wasm name section spells
// it (path/to/pkg.Func or path/to/pkg.(*T).M), or the script's file name.
func packageOf(name, url string) string {
	if strings.HasPrefix(name, "(") {
		return name
	}
	if strings.Contains(url, ".wasm") || strings.HasPrefix(url, "wasm://") {
		// The name section spells "github.com/a/b.F" as
		// "github.com_a_b.F": the package ends at the first dot after the
		// host name's.
		from := 0
		for _, host := range []string{".com_", ".org_", ".io_", ".net_"} {
			if i := strings.Index(name, host); i >= 0 {
				from = i + len(host)
				break
			}
		}
		if dot := strings.Index(name[from:], "."); dot >= 0 {
			return name[:from+dot]
		}
		return name
	}
	if url == "" {
		return "(native)"
	}
	return filepath.Base(url)
}

func top(sb *strings.Builder, m map[string]float64, n int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	for i, k := range keys {
		if i == n {
			break
		}
		fmt.Fprintf(sb, "  %8.1f ms  %s\n", m[k], k)
	}
}
