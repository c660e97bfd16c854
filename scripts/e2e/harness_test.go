package e2e

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/camlens/camlens/scripts/build"
	"github.com/camlens/camlens/scripts/serve/site"
)

// env is shared by the tests of the package.
var env struct {
	skip    string // why every test skips ("" to run)
	root    string
	dist    string
	report  *build.Report
	site    *httptest.Server
	origin  string // http://127.0.0.1:port
	proxy   *recorder
	browser context.Context // the browser's first tab
	tabs    context.Context // a tab in the tests' browser context; tests open theirs beside it
	shots   string
}

const chromium = "/usr/bin/chromium"

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	switch {
	case testing.Short():
		env.skip = "browser tests skipped with -short"
	case !fileExists(chromium):
		env.skip = chromium + " is not installed (scripts/setup.d/10-apt.sh installs it)"
		if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
			fmt.Fprintln(os.Stderr, "e2e: CAMLENS_REQUIRE_DEPS=1 but", env.skip)
			return 1
		}
	}
	if env.skip != "" {
		return m.Run()
	}
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	code := m.Run()
	teardown()
	return code
}

var cleanups []func()

func teardown() {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
}

func setup() error {
	tmp, err := os.MkdirTemp("", "camlens-e2e-")
	if err != nil {
		return err
	}
	cleanups = append(cleanups, func() { os.RemoveAll(tmp) })
	if env.root, err = build.FindRoot(); err != nil {
		return err
	}
	env.dist = filepath.Join(tmp, "dist")
	t0 := time.Now()
	env.report, err = build.Build(context.Background(), build.Options{
		Root: env.root, Out: env.dist, Models: os.Getenv("CAMLENS_E2E_MODELS"), Compress: build.CompressGzip,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "e2e: built the site in %.1f s\n", time.Since(t0).Seconds())

	env.site = httptest.NewServer(site.Handler(os.DirFS(env.dist), nil))
	cleanups = append(cleanups, env.site.Close)
	env.origin = env.site.URL
	env.proxy, err = newRecorder(env.site)
	if err != nil {
		return err
	}
	cleanups = append(cleanups, env.proxy.close)

	env.shots = os.Getenv("CAMLENS_SCREENSHOTS")
	if env.shots == "" {
		// A directory of its own, left in place after the run.
		if env.shots, err = os.MkdirTemp("", "camlens-screenshots-"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(env.shots, 0o755); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "e2e: screenshots in", env.shots)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(filepath.Join(tmp, "profile")),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("enable-unsafe-swiftshader", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	cleanups = append(cleanups, cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	cleanups = append(cleanups, cancelBrowser)
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		return fmt.Errorf("start chromium: %w", err)
	}
	env.browser = browser
	// One browser context for the tests (TestApp runs first and finds it
	// empty: no service worker, no cache; later tests profit from its
	// cache as a returning visitor would). Its proxy sees every request of
	// its pages, frames and workers, and none of the browser's own
	// (updates, time, …), which go to no proxy and fail.
	tabs, cancelTabs := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(proxied))
	cleanups = append(cleanups, cancelTabs)
	if err := chromedp.Do(tabs, chromedp.Navigate("about:blank")); err != nil {
		return fmt.Errorf("open a browser context: %w", err)
	}
	env.tabs = tabs
	return nil
}

// proxied makes a new browser context send its pages', frames' and
// workers' requests through the tests' proxy.
func proxied(c *target.CreateBrowserContextParams) {
	c.ProxyServer = "http://" + env.proxy.addr
	c.ProxyBypassList = "<-loopback>"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// recorder is an HTTP proxy that serves the site's origin from the site's
// server and refuses everything else, recording every request.
type recorder struct {
	ln      net.Listener
	srv     *http.Server
	addr    string
	siteURL *url.URL

	mu      sync.Mutex
	log     []string // "METHOD host path"
	foreign []string
	offline bool
	held    map[string]chan struct{} // URL path → closed when its requests may go on (see hold)
	bytes   int64                    // response bytes sent (headers and bodies)
}

func newRecorder(siteSrv *httptest.Server) (*recorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(siteSrv.URL)
	r := &recorder{ln: ln, addr: ln.Addr().String(), siteURL: u}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *recorder) close() { r.srv.Close() }

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	host := req.Host
	if req.Method == http.MethodConnect {
		host = req.RequestURI
	}
	r.mu.Lock()
	r.log = append(r.log, req.Method+" "+host+" "+req.URL.Path)
	own := host == r.siteURL.Host
	if !own {
		r.foreign = append(r.foreign, req.Method+" "+host+req.URL.Path)
	}
	offline := r.offline
	held := r.held[req.URL.Path]
	r.mu.Unlock()
	if held != nil && own {
		select {
		case <-held:
		case <-req.Context().Done():
			return
		}
	}
	if offline || !own {
		// Drop the connection: the browser sees a network error.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		http.Error(w, "refused by the test proxy", http.StatusBadGateway)
		return
	}
	// Forward to the site server.
	out := req.Clone(req.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = r.siteURL.Scheme, r.siteURL.Host
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	head := int64(len(resp.Status) + 12)
	for k, v := range resp.Header {
		w.Header()[k] = v
		for _, x := range v {
			head += int64(len(k) + len(x) + 4)
		}
	}
	w.WriteHeader(resp.StatusCode)
	n, _ := io.Copy(w, resp.Body)
	r.mu.Lock()
	r.bytes += head + n
	r.mu.Unlock()
}

// transferred returns the number of requests and response bytes so far.
func (r *recorder) transferred() (int, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log), r.bytes
}

// hold keeps the site's requests for urlPath waiting until release is
// called (a slow network for that one file).
func (r *recorder) hold(urlPath string) (release func()) {
	ch := make(chan struct{})
	r.mu.Lock()
	if r.held == nil {
		r.held = map[string]chan struct{}{}
	}
	r.held[urlPath] = ch
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.held, urlPath)
			r.mu.Unlock()
			close(ch)
		})
	}
}

func (r *recorder) setOffline(off bool) {
	r.mu.Lock()
	r.offline = off
	r.mu.Unlock()
}

// mark returns the log position, for requests since.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

func (r *recorder) since(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log[n:])
}

func (r *recorder) foreignRequests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.foreign)
}

// page is one browser tab in the tests' browser context, with its console
// and network recorded.
type page struct {
	t       *testing.T // the current (sub)test, for failures
	owner   *testing.T // the test that opened the page, for the final checks
	ctx     context.Context
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	reqs    []string // URLs from CDP Network.requestWillBeSent
	allow   []string // console errors the test expects (substrings)
}

func newPage(t *testing.T) *page {
	t.Helper()
	if env.skip != "" {
		t.Skip(env.skip)
	}
	ctx, cancel := chromedp.NewContext(env.tabs)
	t.Cleanup(cancel)
	return pageIn(t, ctx)
}

// newFreshPage is newPage in a browser context of its own: a first
// visitor's, with no service worker and an empty cache, whose requests
// also go through the tests' proxy.
func newFreshPage(t *testing.T) *page {
	t.Helper()
	if env.skip != "" {
		t.Skip(env.skip)
	}
	ctx, cancel := chromedp.NewContext(env.browser, chromedp.WithNewBrowserContext(proxied))
	t.Cleanup(cancel)
	return pageIn(t, ctx)
}

// pageIn opens a page on the tab ctx.
func pageIn(t *testing.T, ctx context.Context) *page {
	t.Helper()
	ctx, cancelT := context.WithTimeout(ctx, 8*time.Minute)
	t.Cleanup(cancelT)
	p := &page{t: t, owner: t, ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	reqs := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range reqs {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.reqs = append(p.reqs, ev.Request.URL)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(p.checkClean)
	return p
}

// checkClean fails the test on console errors and on requests (CDP or
// proxy) to other origins.
func (p *page) checkClean() {
	t := p.owner
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.console {
		if (m.Type == chromedp.ConsoleError || m.IsException()) && !p.allowedError(m) {
			t.Errorf("console %s (%s:%d)", m, m.URL, m.Line)
		}
	}
	for _, u := range p.reqs {
		if !strings.HasPrefix(u, env.origin+"/") && !strings.HasPrefix(u, "blob:"+env.origin+"/") && !strings.HasPrefix(u, "data:") && u != "about:blank" {
			t.Errorf("request to another origin (CDP): %s", u)
		}
	}
	if f := env.proxy.foreignRequests(); len(f) > 0 {
		t.Errorf("requests to other origins (proxy): %v", f)
	}
}

// allowedError reports whether the test expects m (p.mu is held).
func (p *page) allowedError(m chromedp.ConsoleMessage) bool {
	for _, s := range p.allow {
		if strings.Contains(m.Text, s) {
			return true
		}
	}
	return false
}

func (p *page) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%v\n%s", err, p.state())
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v\n%s", short(expr), err, p.state())
	}
	return v
}

// wait polls a JavaScript condition.
func (p *page) wait(cond string, timeout time.Duration) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		p.t.Fatalf("waiting for %s: %v\n%s", short(cond), err, p.state())
	}
}

// state describes the page for failure messages.
func (p *page) state() string {
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`JSON.stringify({status: (document.getElementById("status")||{}).textContent, error: document.body && document.body.dataset.error, data: document.body && Object.assign({}, document.body.dataset)})`))
	if err != nil {
		s = "(page state unavailable: " + err.Error() + ")"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var c []string
	for _, m := range p.console {
		c = append(c, m.String())
	}
	return "page: " + s + "\nconsole:\n  " + strings.Join(c, "\n  ")
}

func short(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// screenshot saves a PNG of the viewport as name.png, once the view shows
// the latest scene.
func (p *page) screenshot(name string) string {
	p.t.Helper()
	p.wait(`!document.body.dataset.shown || Number(document.body.dataset.drawn || 0) >= Number(document.body.dataset.shown)`, 30*time.Second)
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(env.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot %s", path)
	return path
}

// viewport sets the viewport size (CSS pixels).
func (p *page) viewport(w, h int64, mobile bool) {
	p.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	p.run(chromedp.EmulateViewport(w, h, opts...))
}
