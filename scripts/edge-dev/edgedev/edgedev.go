package edgedev

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Module is the Go module path of the repository.
const Module = "github.com/camlens/camlens"

// DefaultPort is the port of `wrangler dev` when $PORT is not set.
const DefaultPort = 8787

// WranglerVersion is the wrangler pinned in scripts/node/package.json.
const WranglerVersion = "4.86.0"

// FindRoot returns the repository root: the nearest directory at or above
// the working directory whose go.mod declares Module.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("edgedev: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(data)), "module "+Module+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("edgedev: no go.mod of module %s at or above the working directory", Module)
		}
		dir = parent
	}
}

// run runs a command in dir with extra environment variables, its output
// going to log (and, on failure, into the error).
func run(ctx context.Context, dir string, env []string, log io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	w := io.Writer(&out)
	if log != nil {
		w = io.MultiWriter(&out, log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 2000 {
			tail = "…" + tail[len(tail)-2000:]
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail)
	}
	return nil
}

// BuildSite writes the static site into root/dist with the web app's
// build (`go run ./scripts/serve -build-only -fast`) and adds
// dist/.assetsignore.
func BuildSite(ctx context.Context, root string, log io.Writer) error {
	if err := run(ctx, root, nil, log, "go", "run", "./scripts/serve", "-build-only", "-fast"); err != nil {
		return fmt.Errorf("edgedev: build the site: %w", err)
	}
	return WriteAssetsIgnore(filepath.Join(root, "dist"))
}

// WriteAssetsIgnore writes dir/.assetsignore, which keeps the
// precompressed siblings (*.br, *.gz) and build.json out of the Workers
// static assets: Cloudflare negotiates compression itself.
func WriteAssetsIgnore(dir string) error {
	const ignore = "# Written by scripts/edge-dev: Cloudflare compresses assets itself.\n*.br\n*.gz\nbuild.json\n"
	if err := os.WriteFile(filepath.Join(dir, ".assetsignore"), []byte(ignore), 0o644); err != nil {
		return fmt.Errorf("edgedev: %w", err)
	}
	return nil
}

// File is one file of the Worker bundle and its size raw and gzipped
// (level 9).
type File struct {
	Name       string
	Raw, Gzip  int64
	ModuleType string // how wrangler uploads it: "esm" or "wasm"
}

// Bundle is a built Worker.
type Bundle struct {
	Dir   string
	Files []File
}

// Size sums the files' raw and gzipped sizes: what the Worker size limits
// (3 MiB compressed on the Free plan, 10 MiB on Paid) are measured against,
// up to wrangler's own bundling.
func (b *Bundle) Size() (raw, gz int64) {
	for _, f := range b.Files {
		raw += f.Raw
		gz += f.Gzip
	}
	return raw, gz
}

// BuildWorker writes the Worker into dir (replacing it): the JavaScript
// glue from workers-assets-gen and app.wasm, built from root/wasm/edge.
func BuildWorker(ctx context.Context, root, dir string, log io.Writer) (*Bundle, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("edgedev: %w", err)
	}
	if err := run(ctx, root, nil, log, "go", "run", "github.com/syumai/workers/cmd/workers-assets-gen", "-mode=go", "-o", dir); err != nil {
		return nil, fmt.Errorf("edgedev: worker glue: %w", err)
	}
	if err := run(ctx, root, []string{"GOOS=js", "GOARCH=wasm"}, log, "go", "build", "-trimpath", "-ldflags=-s -w",
		"-o", filepath.Join(dir, "app.wasm"), "./wasm/edge"); err != nil {
		return nil, fmt.Errorf("edgedev: build the worker: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("edgedev: %w", err)
	}
	b := &Bundle{Dir: dir}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("edgedev: %w", err)
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(data)
		zw.Close()
		typ := "esm"
		if strings.HasSuffix(e.Name(), ".wasm") {
			typ = "wasm"
		}
		b.Files = append(b.Files, File{Name: e.Name(), Raw: int64(len(data)), Gzip: int64(gz.Len()), ModuleType: typ})
	}
	sort.Slice(b.Files, func(i, j int) bool { return b.Files[i].Name < b.Files[j].Name })
	return b, nil
}

// NodeDir is where the npm tools live, relative to the repository root.
const NodeDir = "scripts/node"

// Wrangler returns the path of the wrangler command under root.
func Wrangler(root string) string {
	return filepath.Join(root, NodeDir, "node_modules", ".bin", "wrangler")
}

// EnsureWrangler makes sure wrangler (WranglerVersion) runs: it installs
// the npm packages of scripts/node when wrangler is missing
// (scripts/setup.d/20-npm.sh, npm ci from the lock file) and runs the
// install scripts of workerd and esbuild when their binaries are missing
// or do not run. It returns the wrangler command's path.
func EnsureWrangler(ctx context.Context, root string, log io.Writer) (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("edgedev: node is not installed (wrangler needs Node.js 20): %w", err)
	}
	node := filepath.Join(root, NodeDir)
	w := Wrangler(root)
	if _, err := os.Stat(w); err != nil {
		fmt.Fprintf(orDiscard(log), "edge-dev: wrangler is missing; installing the npm packages of %s\n", NodeDir)
		if err := run(ctx, root, nil, log, "bash", filepath.Join(root, "scripts/setup.d/20-npm.sh")); err != nil {
			return "", fmt.Errorf("edgedev: install wrangler: %w", err)
		}
	}
	// The binaries wrangler runs: workerd (through miniflare) and esbuild.
	for _, pkg := range []struct{ name, check string }{
		{"workerd", `const p = require("workerd").default; process.stdout.write(p)`},
		{"esbuild", `process.stdout.write(require.resolve("esbuild/bin/esbuild"))`},
	} {
		if binaryRuns(ctx, node, pkg.check) {
			continue
		}
		fmt.Fprintf(orDiscard(log), "edge-dev: the %s binary is missing or does not run; running its install script\n", pkg.name)
		if err := run(ctx, filepath.Join(node, "node_modules", pkg.name), nil, log, "node", "install.js"); err != nil {
			return "", fmt.Errorf("edgedev: install %s: %w", pkg.name, err)
		}
		if !binaryRuns(ctx, node, pkg.check) {
			return "", fmt.Errorf("edgedev: the %s binary still does not run after its install script", pkg.name)
		}
	}
	out, err := exec.CommandContext(ctx, w, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("edgedev: %s --version: %w", w, err)
	}
	if v := strings.TrimSpace(string(out)); !strings.Contains(v, WranglerVersion) {
		return "", fmt.Errorf("edgedev: wrangler is %q, want %s (scripts/node/package.json)", v, WranglerVersion)
	}
	return w, nil
}

// binaryRuns resolves a package's binary with a node snippet run in dir
// and checks that it answers --version.
func binaryRuns(ctx context.Context, dir, snippet string) bool {
	cmd := exec.CommandContext(ctx, "node", "-e", snippet)
	cmd.Dir = dir
	p, err := cmd.Output()
	if err != nil || len(p) == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, string(p), "--version").Run() == nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// Port returns $PORT, or DefaultPort when it is not set.
func Port() (int, error) {
	v := os.Getenv("PORT")
	if v == "" {
		return DefaultPort, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("edgedev: PORT=%q is not a port number", v)
	}
	return p, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("edgedev: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// FreePlanLimitKiB is the Workers Free plan's limit on a Worker's size
// after compression: 3 MiB (10 MiB on Paid), as wrangler's gzip size
// counts it.
const FreePlanLimitKiB = 3 << 10

// UploadSize asks wrangler what a deploy of config would upload
// (`wrangler deploy --dry-run`: no login, no network) and returns its
// "Total Upload" and gzip sizes in KiB, the size Cloudflare's limits apply
// to.
func UploadSize(ctx context.Context, wrangler, config string) (rawKiB, gzipKiB float64, err error) {
	home, err := os.MkdirTemp("", "camlens-wrangler-home-")
	if err != nil {
		return 0, 0, fmt.Errorf("edgedev: %w", err)
	}
	defer os.RemoveAll(home)
	var out bytes.Buffer
	err = run(ctx, filepath.Dir(config), wranglerEnv(home), &out, wrangler, "deploy", "--dry-run",
		"--config", config, "--outdir", filepath.Join(home, "out"))
	if err != nil {
		return 0, 0, fmt.Errorf("edgedev: dry-run deploy: %w", err)
	}
	rawKiB, gzipKiB, err = ParseUploadSize(out.String())
	if err != nil {
		return 0, 0, fmt.Errorf("edgedev: dry-run deploy: %w", err)
	}
	return rawKiB, gzipKiB, nil
}

var uploadLine = regexp.MustCompile(`Total Upload: ([0-9.]+) KiB / gzip: ([0-9.]+) KiB`)

// ParseUploadSize reads wrangler's "Total Upload: R KiB / gzip: G KiB"
// line.
func ParseUploadSize(out string) (rawKiB, gzipKiB float64, err error) {
	m := uploadLine.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("no \"Total Upload: … KiB / gzip: … KiB\" line in wrangler's output:\n%s", out)
	}
	rawKiB, err1 := strconv.ParseFloat(m[1], 64)
	gzipKiB, err2 := strconv.ParseFloat(m[2], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("wrangler's upload size %q: %w", m[0], err)
	}
	return rawKiB, gzipKiB, nil
}

// wranglerEnv is wrangler's environment: its own HOME, no login prompts,
// metrics or colours, and no download of Request.cf.
func wranglerEnv(home string) []string {
	return []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"WRANGLER_SEND_METRICS=false", "WRANGLER_SEND_ERROR_REPORTS=false", "CI=true", "NO_COLOR=1", "FORCE_COLOR=0",
		// Offline: use miniflare's placeholder Request.cf instead of
		// downloading one.
		"CLOUDFLARE_CF_FETCH_ENABLED=false"}
}

// DevOptions configures StartDev.
type DevOptions struct {
	Wrangler string // the wrangler command (EnsureWrangler)
	Config   string // the wrangler.toml to run
	Port     int    // on 127.0.0.1
	// Home is $HOME for wrangler (its settings and caches); "" means a
	// new temporary directory, removed by Stop.
	Home string
	// Output receives wrangler's output; nil discards it (it is kept for
	// errors either way).
	Output io.Writer
	// Ready bounds the wait for /healthz (default 2 minutes).
	Ready time.Duration
}

// Dev is a running `wrangler dev --local`.
type Dev struct {
	URL  string // http://127.0.0.1:port
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	tail *tailBuffer
	home string // removed by Stop when StartDev made it
}

// StartDev starts `wrangler dev --local` on 127.0.0.1 (no login, no
// metrics) and waits until GET /healthz answers 200.
func StartDev(ctx context.Context, o DevOptions) (*Dev, error) {
	if o.Port == 0 {
		return nil, errors.New("edgedev: no port")
	}
	d := &Dev{URL: fmt.Sprintf("http://127.0.0.1:%d", o.Port), done: make(chan struct{}), tail: &tailBuffer{max: 8000}}
	home := o.Home
	if home == "" {
		var err error
		if home, err = os.MkdirTemp("", "camlens-wrangler-home-"); err != nil {
			return nil, fmt.Errorf("edgedev: %w", err)
		}
		d.home = home
	}
	// Not CommandContext: Stop ends the whole process group (wrangler runs
	// workerd as a child).
	d.cmd = exec.Command(o.Wrangler, "dev", "--local", "--config", o.Config,
		"--ip", "127.0.0.1", "--port", strconv.Itoa(o.Port), "--inspector-port", "0",
		"--show-interactive-dev-session=false", "--log-level", "log")
	d.cmd.Dir = filepath.Dir(o.Config)
	d.cmd.Env = append(os.Environ(), wranglerEnv(home)...)
	var out io.Writer = d.tail
	if o.Output != nil {
		out = io.MultiWriter(d.tail, o.Output)
	}
	d.cmd.Stdout, d.cmd.Stderr = out, out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		d.removeHome()
		return nil, fmt.Errorf("edgedev: start wrangler: %w", err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	wait := o.Ready
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	deadline := time.Now().Add(wait)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(d.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		select {
		case <-d.done:
			d.removeHome()
			return nil, fmt.Errorf("edgedev: wrangler dev exited (%v) before /healthz answered:\n%s", d.err, d.tail)
		case <-ctx.Done():
			d.Stop()
			return nil, fmt.Errorf("edgedev: waiting for wrangler dev: %w", ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.Stop()
			return nil, fmt.Errorf("edgedev: wrangler dev did not answer /healthz within %v:\n%s", wait, d.tail)
		}
	}
}

// Output returns the last few kilobytes wrangler printed.
func (d *Dev) Output() string { return d.tail.String() }

// Done is closed when wrangler has exited.
func (d *Dev) Done() <-chan struct{} { return d.done }

// Stop ends wrangler and its workerd (SIGTERM to the process group, then
// SIGKILL after 5 s) and waits for it.
func (d *Dev) Stop() {
	pgid := d.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-d.done
	}
	// workerd may outlive its parent briefly.
	syscall.Kill(-pgid, syscall.SIGKILL)
	d.removeHome()
}

func (d *Dev) removeHome() {
	if d.home != "" {
		os.RemoveAll(d.home)
		d.home = ""
	}
}

// CPUTime is the CPU time (user + system) used so far by the processes of
// wrangler's process group that are still running, by command name:
// "workerd" (which runs the Worker and serves the assets) and "node"
// (wrangler, which proxies the requests). Linux only (it reads /proc).
func (d *Dev) CPUTime() (map[string]time.Duration, error) {
	pgid := d.cmd.Process.Pid
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("edgedev: %w", err)
	}
	const hz = 100 // USER_HZ on Linux
	out := map[string]time.Duration{}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ... utime stime: comm may hold spaces.
		i, j := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
		if i < 0 || j < i {
			continue
		}
		comm := string(data[i+1 : j])
		f := strings.Fields(string(data[j+1:]))
		// f[0] is field 3 (state); pgrp is field 5, utime 14, stime 15.
		if len(f) < 13 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		out[comm] += time.Duration(u+s) * time.Second / hz
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("edgedev: no process of group %d in /proc", pgid)
	}
	return out, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Lines returns the lines of s that contain substr.
func Lines(s, substr string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			out = append(out, sc.Text())
		}
	}
	return out
}
