// Command bench measures CamLens against TensorFlow.js (which face-api
// runs on) in headless Chromium, on the face-expression model and the
// astronaut face crop of the sample gallery, and natively.
//
//	go run ./scripts/bench [-o bench-results.json] [-quick] [-runs 30] [-warmup 3]
//	                       [-cold 5] [-no-app] [-cold-only] [-cold-of LIST] [-profile FILE]
//	                       [-chromium /usr/bin/chromium]
//
// In one page and one run it alternates the contenders round by round:
//
//   - camlens: the core as js/wasm with the WebAssembly SIMD kernels
//     (wasm/kernels): forward; Grad-CAM end to end (decoded image in → map
//     out, incl. crop, resize, normalisation and upsampling) at the last
//     block (dense3/out) and at the 14×14 block (dense2/out), and at the
//     last block from the preprocessed input; switching class; switching
//     method (Grad-CAM → Grad-CAM++ → LayerCAM → Grad-CAM); Score-CAM;
//     Guided Grad-CAM;
//   - camlens-go: the same with the pure-Go kernels (no Score-CAM);
//   - tfjs-wasm and tfjs-cpu: TF.js 4.22 with face-api's weights, a mirror
//     of face-api's network (scripts/bench/page/tfjs-face.js): forward,
//     Grad-CAM at both blocks and Guided Grad-CAM with tf.grad, each class
//     recomputing; the decoded image is a pixel tensor made once
//     (tf.browser.fromPixels, timed apart), as CamLens's is an image.Image;
//     the wasm backend has no DepthwiseConv2dNativeBackpropInput kernel, so
//     its gradient-through-conv operations fail and are reported as such.
//
// Then cold starts, each in a fresh browser profile (nothing cached) of
// a browser that is up and idle (see waitIdle), and again in one launched
// for the visit: the CamLens app
// (dist/ from scripts/build, served by scripts/serve's handler), its
// embed (embed.html showing a sample, as a documentation page frames it),
// the CamLens core alone and TF.js alone, from navigation to the first map on
// screen (the app's is drawn by its Canvas 2D preview; when the ebiten view,
// started after it, has drawn it too is reported beside), with the bytes
// sent by the server (as encoded on the wire: brotli or gzip; in all and
// wasm + JS + model), and for the app's first cold start a timeline of its
// critical path (each file's request and last byte at the server, the
// page's marks).
// Finally the native throughput of Grad-CAM end to end on 2 cores.
// -cold-only runs the cold starts alone; -cold-of picks which (camlens,
// camlens-embed, camlens-core, tfjs). -profile FILE records one cold
// start with V8's sampling profiler, of the core page (the runner then
// keeps its function names) or with -profile-page app of the app, and
// prints where the page's main thread spent its time.
//
// It prints a markdown table and writes the JSON (medians and minimums
// in ms over the runs after warm-up, ratios, targets) to -o. -quick is a
// smoke test (2 runs, 1 warm-up, 1 cold start each, gzip only).
package main

import (
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"
)

//go:embed page
var pageFS embed.FS

type options struct {
	out      string
	quick    bool
	runs     int
	warmup   int
	scorecam int
	cold     int
	app      bool
	coldOnly bool
	// revisitSettle is how long each earlier visit stays open before the
	// repeat and third visits.
	revisitSettle time.Duration
	coldOf        map[string]bool // -cold-of: the cold starts to run
	native        time.Duration
	chromium      string
	root          string
	profile       string
	profPage      string
	tiering       bool
}

func main() {
	log.SetFlags(0)
	var o options
	flag.StringVar(&o.out, "o", "bench-results.json", "write the JSON results to `file`")
	flag.BoolVar(&o.quick, "quick", false, "smoke test: few runs, gzip only")
	flag.IntVar(&o.runs, "runs", 30, "timed runs of each operation (after warm-up)")
	flag.IntVar(&o.warmup, "warmup", 3, "warm-up rounds")
	flag.IntVar(&o.cold, "cold", 5, "cold starts of each contender (0: none)")
	noApp := flag.Bool("no-app", false, "skip the CamLens app's cold start (no site build)")
	flag.DurationVar(&o.revisitSettle, "revisit-settle", 5*time.Second, "how long each earlier visit stays open before the repeat and third visits (the service worker caches the site, V8 caches compiled code)")
	flag.BoolVar(&o.coldOnly, "cold-only", false, "only the cold starts (no operation timings, no native throughput)")
	coldOf := flag.String("cold-of", "camlens,camlens-embed,camlens-core,tfjs", "the cold starts to run: a comma-separated `list` of camlens (the app), camlens-embed (embed.html with an image), camlens-core, tfjs")
	flag.StringVar(&o.profile, "profile", "", "only profile one cold start of the CamLens core page: write the V8 CPU profile to `file` (.cpuprofile) and print where the main thread's time went")
	flag.StringVar(&o.profPage, "profile-page", "core", "the page -profile records: core (the core alone) or app (index.html; the app is built)")
	flag.BoolVar(&o.tiering, "tiering", false, "only trace V8's compiles during one cold start of the app: print what it compiled of camlens.wasm before the first heatmap, with TurboFan's largest compiles by function name")
	flag.StringVar(&o.chromium, "chromium", "/usr/bin/chromium", "Chromium `binary`")
	flag.Parse()
	if flag.NArg() > 0 {
		log.Fatalf("bench: unexpected arguments %q", flag.Args())
	}
	o.app = !*noApp
	o.scorecam = o.runs
	o.native = 5 * time.Second
	if o.quick {
		o.runs, o.warmup, o.scorecam, o.native = 2, 1, 1, time.Second
		o.cold = min(o.cold, 1)
	}
	if o.runs < 1 || o.warmup < 0 || o.cold < 0 {
		log.Fatal("bench: -runs must be ≥ 1, -warmup and -cold ≥ 0")
	}
	o.coldOf = map[string]bool{}
	for _, n := range strings.Split(*coldOf, ",") {
		switch n = strings.TrimSpace(n); n {
		case "camlens", "camlens-embed", "camlens-core", "tfjs":
			o.coldOf[n] = true
		default:
			log.Fatalf("bench: -cold-of: unknown cold start %q (want camlens, camlens-embed, camlens-core or tfjs)", n)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, o)
	if err != nil {
		log.Fatal(err)
	}
	if o.profile != "" {
		logf("wrote the CPU profile %s (open it in Chromium's DevTools, Performance panel)", o.profile)
		return
	}
	if o.tiering {
		return
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(o.out, append(data, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Print(markdown(res))
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", o.out)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(ctx context.Context, o options) (*results, error) {
	if _, err := os.Stat(o.chromium); err != nil {
		return nil, fmt.Errorf("bench: Chromium not found at %s (scripts/setup.d/10-apt.sh installs it): %w", o.chromium, err)
	}
	res := newResults()
	res.Info.Quick = o.quick
	res.Info.Runs, res.Info.Warmup = o.runs, o.warmup
	res.Info.GoVersion = runtime.Version()
	res.Info.Date = time.Now().UTC().Format(time.RFC3339)
	res.Info.LoadAvg = loadAvg()

	b, err := prepare(ctx, o)
	if err != nil {
		return nil, err
	}
	defer b.close()
	res.Info.Compression = b.compression
	if o.tiering {
		if b.site == nil {
			return nil, fmt.Errorf("bench: -tiering: %s", b.siteErr)
		}
		sum, err := b.traceTiering(ctx, o, b.site.url)
		if err != nil {
			return nil, err
		}
		fmt.Print(sum)
		return res, nil
	}
	if o.profile != "" {
		origin, page, done := b.bench.url, b.bench.url+"/bench/cold-camlens.html", `window.coldResult || window.coldError`
		switch {
		case o.profPage == "app" && b.site != nil:
			origin, page, done = b.site.url, b.site.url+"/", appDone
		case o.profPage == "app":
			return nil, fmt.Errorf("bench: -profile-page app: %s", b.siteErr)
		case o.profPage != "core":
			return nil, fmt.Errorf("bench: -profile-page %q: want core or app", o.profPage)
		}
		sum, err := b.profileCold(ctx, o, origin, page, done, o.profile)
		if err != nil {
			return nil, err
		}
		fmt.Fprint(os.Stderr, sum)
		return res, nil
	}

	if !o.coldOnly {
		logf("browser benchmark: %d runs after %d warm-up rounds", o.runs, o.warmup)
		raw, err := b.browserBench(ctx, o)
		if err != nil {
			return nil, err
		}
		res.addBrowser(raw)
	}

	if o.cold == 0 {
		logf("no cold starts (-cold 0)")
		o.app = false
	}
	for _, c := range []struct{ name, url string }{
		{"camlens-core", b.bench.url + "/bench/cold-camlens.html"},
		{"tfjs", b.bench.url + "/bench/cold-tfjs.html"},
	} {
		if o.cold == 0 {
			break
		}
		if !o.coldOf[c.name] {
			continue
		}
		cs, err := b.coldStarts(ctx, o, c.name, c.url, `window.coldResult || window.coldError`,
			`window.coldError ? {error: window.coldError} : window.coldResult`, b.benchMeter)
		if err != nil {
			res.Errors["cold_start/"+c.name] = err.Error()
			continue
		}
		res.ColdStart[c.name] = cs
	}
	for _, c := range []struct{ name, path, done, result string }{
		{"camlens", "/", appDone, appResult},
		{"camlens-embed", "/" + embedPage, embedDone, embedResult},
	} {
		if !o.app || !o.coldOf[c.name] {
			continue
		}
		if b.site == nil {
			res.Errors["cold_start/"+c.name] = b.siteErr
			continue
		}
		cs, err := b.coldStarts(ctx, o, c.name, b.site.url+c.path, c.done, c.result, b.siteMeter)
		if err != nil {
			res.Errors["cold_start/"+c.name] = err.Error()
			continue
		}
		if c.name == "camlens" {
			cs.BuildColdLoad = b.siteColdLoad
		}
		res.ColdStart[c.name] = cs
	}

	if !o.coldOnly {
		logf("native throughput (%s, 2 workers)", o.native)
		nat, err := nativeThroughput(ctx, b.root, o.native)
		if err != nil {
			res.Errors["native"] = err.Error()
		} else {
			res.Native = nat
		}
	}
	res.finish()
	return res, nil
}
