package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// asset is one file the bench server serves, with its precompressed forms.
type asset struct {
	data, br, gz []byte
	etag         string // of data; the encoding is appended
}

// assets maps URL paths to files.
type assets map[string]*asset

// compressor precompresses assets like scripts/build does for the site:
// brotli at quality 11 (with the brotli command, when installed and
// wanted) and gzip at the best level, each kept only when it saves 5%.
// Brotli results are cached in dir by content hash (quality 11 is slow).
type compressor struct {
	brotli string // path of the brotli command, "" for gzip only
	dir    string // cache directory, "" for none
}

func (c compressor) compress(ctx context.Context, data []byte) (br, gz []byte, err error) {
	if len(data) < 1024 {
		return nil, nil, nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		return nil, nil, fmt.Errorf("bench: gzip: %w", err)
	}
	if buf.Len()*100 <= len(data)*95 {
		gz = buf.Bytes()
	}
	if c.brotli == "" {
		return nil, gz, nil
	}
	sum := sha256.Sum256(data)
	cached := ""
	if c.dir != "" {
		cached = filepath.Join(c.dir, hex.EncodeToString(sum[:])+".br")
		if b, err := os.ReadFile(cached); err == nil {
			return keep(b, data), gz, nil
		}
	}
	cmd := exec.CommandContext(ctx, c.brotli, "-q", "11", "-c")
	cmd.Stdin = bytes.NewReader(data)
	b, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("bench: brotli: %w", err)
	}
	if cached != "" {
		if err := os.MkdirAll(c.dir, 0o755); err == nil {
			os.WriteFile(cached, b, 0o644)
		}
	}
	return keep(b, data), gz, nil
}

func keep(comp, data []byte) []byte {
	if len(comp)*100 > len(data)*95 {
		return nil
	}
	return comp
}

func (a assets) add(ctx context.Context, c compressor, urlPath string, data []byte) error {
	br, gz, err := c.compress(ctx, data)
	if err != nil {
		return fmt.Errorf("%s: %w", urlPath, err)
	}
	sum := sha256.Sum256(data)
	a[urlPath] = &asset{data: data, br: br, gz: gz, etag: hex.EncodeToString(sum[:12])}
	return nil
}

func (a assets) addFile(ctx context.Context, c compressor, urlPath, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return a.add(ctx, c, urlPath, data)
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".json":
		return "application/json"
	case ".wasm":
		return "application/wasm"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// ServeHTTP serves an asset in the best encoding the request accepts,
// cross-origin isolated (COOP/COEP) so that the page gets 5 µs timers and
// TF.js may use threads. Caching is the one `go run ./scripts/serve`
// uses: the browser may keep a copy but revalidates it (no-cache, a
// strong ETag, 304 when it still matches), which only a repeat visit
// sees: a first visit starts with an empty cache.
func (a assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Embedder-Policy", "require-corp")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-cache")
	f, ok := a[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, enc := f.data, ""
	accept := r.Header.Get("Accept-Encoding")
	switch {
	case f.br != nil && strings.Contains(accept, "br"):
		body, enc = f.br, "br"
	case f.gz != nil && strings.Contains(accept, "gzip"):
		body, enc = f.gz, "gzip"
	}
	h.Set("ETag", `"`+f.etag+enc+`"`)
	h.Add("Vary", "Accept-Encoding")
	h.Set("Content-Type", contentType(r.URL.Path))
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	// As the site's handler: ServeContent answers If-None-Match (304) and
	// HEAD, and sets Content-Length.
	http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(body))
}

// meter counts the bytes a handler sends (bodies as encoded on the wire,
// plus status line and headers), per path.
type meter struct {
	h     http.Handler
	mu    sync.Mutex
	by    map[string]int64
	t0    time.Time             // the last take
	spans map[string][2]float64 // per path: the first request and the end of its response (ms since t0)
}

func newMeter(h http.Handler) *meter {
	return &meter{h: h, by: map[string]int64{}, t0: time.Now(), spans: map[string][2]float64{}}
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func (m *meter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &countingWriter{ResponseWriter: w}
	begin := time.Now()
	m.h.ServeHTTP(cw, r)
	end := time.Now()
	var head bytes.Buffer
	w.Header().Write(&head)
	m.mu.Lock()
	m.by[r.URL.Path] += cw.n + int64(head.Len()) + 17 // "HTTP/1.1 200 OK\r\n"
	ms := func(t time.Time) float64 { return float64(t.Sub(m.t0).Microseconds()) / 1e3 }
	// Later requests for the same path (the offline cache's download
	// after the first map) would hide when the page got it.
	if _, ok := m.spans[r.URL.Path]; !ok {
		m.spans[r.URL.Path] = [2]float64{ms(begin), ms(end)}
	}
	m.mu.Unlock()
}

// take returns the bytes sent since the last take per path and their
// total, and per path when the server got the first request and finished
// its response (ms since the last take); then it starts afresh.
func (m *meter) take() (by map[string]int64, total int64, spans map[string][2]float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	by, spans = m.by, m.spans
	for _, n := range by {
		total += n
	}
	m.by, m.spans, m.t0 = map[string]int64{}, map[string][2]float64{}, time.Now()
	return by, total, spans
}

// server listens on a loopback port.
type server struct {
	url string
	srv *http.Server
}

func serve(h http.Handler) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listen: %w", err)
	}
	s := &server{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *server) close() { s.srv.Close() }

// topPaths lists the paths with the most bytes, largest first.
func topPaths(by map[string]int64) []pathBytes {
	var out []pathBytes
	for p, n := range by {
		out = append(out, pathBytes{p, n})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Bytes > out[j].Bytes || out[i].Bytes == out[j].Bytes && out[i].Path < out[j].Path
	})
	return out
}

type pathBytes struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

// pageFS holds the bench's pages.
var _ fs.FS = pageFS
