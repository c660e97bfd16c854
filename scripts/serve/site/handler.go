package site

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Handler serves the files of fsys (a built site). api, when not nil,
// receives every request under /api/.
func Handler(fsys fs.FS, api http.Handler) http.Handler {
	return &handler{fsys: fsys, api: api}
}

type handler struct {
	fsys fs.FS
	api  http.Handler

	mu    sync.Mutex
	etags map[etagKey]string
}

type etagKey struct {
	name string
	size int64
	mod  time.Time
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.api != nil && (r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/")) {
		h.api.ServeHTTP(w, r)
		return
	}
	for k, v := range Headers(r.URL.Path) {
		w.Header()[k] = v
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := fileName(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	// Pick the encoding: a precompressed sibling the client accepts.
	served, encoding := name, ""
	for _, enc := range acceptedEncodings(r.Header.Get("Accept-Encoding")) {
		suffix := map[string]string{"br": ".br", "gzip": ".gz"}[enc]
		if st, err := fs.Stat(h.fsys, name+suffix); err == nil && st.Mode().IsRegular() {
			served, encoding = name+suffix, enc
			break
		}
	}
	f, err := h.fsys.Open(served)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		http.Error(w, "internal error: file does not seek", http.StatusInternalServerError)
		return
	}
	etag, err := h.etag(served, st, rs)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ContentType(name))
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", etag)
	w.Header().Add("Vary", "Accept-Encoding")
	if encoding != "" {
		w.Header().Set("Content-Encoding", encoding)
	}
	http.ServeContent(w, r, name, st.ModTime(), rs)
}

// fileName maps a URL path to a file in the site: "/" is index.html;
// hidden files, directories and unclean paths are refused.
func fileName(urlPath string) (string, bool) {
	if !strings.HasPrefix(urlPath, "/") {
		return "", false
	}
	p := strings.TrimPrefix(urlPath, "/")
	if p == "" {
		return "index.html", true
	}
	if path.Clean("/"+p) != urlPath || strings.HasSuffix(p, "/") {
		return "", false
	}
	for _, part := range strings.Split(p, "/") {
		if strings.HasPrefix(part, ".") || part == "_headers" {
			return "", false
		}
	}
	if ext := path.Ext(p); ext == ".br" || ext == ".gz" {
		return "", false // siblings are only served through Content-Encoding
	}
	return p, fs.ValidPath(p)
}

// acceptedEncodings returns the encodings among br and gzip that the
// Accept-Encoding header allows, best first (br before gzip at equal q).
func acceptedEncodings(header string) []string {
	q := map[string]float64{}
	star := -1.0
	for _, item := range strings.Split(header, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, params, _ := strings.Cut(item, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		v := 1.0
		if k, val, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
				v = f
			}
		}
		if name == "*" {
			star = v
		} else {
			q[name] = v
		}
	}
	type choice struct {
		enc string
		q   float64
	}
	var cs []choice
	for _, enc := range []string{"br", "gzip"} {
		v, ok := q[enc]
		if !ok {
			v = star
		}
		if v > 0 {
			cs = append(cs, choice{enc, v})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].q > cs[j].q })
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.enc
	}
	return out
}

// etag returns a strong ETag for the file's content, computed once per
// (name, size, modification time).
func (h *handler) etag(name string, st fs.FileInfo, rs io.ReadSeeker) (string, error) {
	key := etagKey{name, st.Size(), st.ModTime()}
	h.mu.Lock()
	tag, ok := h.etags[key]
	h.mu.Unlock()
	if ok {
		return tag, nil
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, rs); err != nil {
		return "", fmt.Errorf("site: hash %s: %w", name, err)
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("site: rewind %s: %w", name, err)
	}
	tag = `"` + hex.EncodeToString(sum.Sum(nil))[:32] + `"`
	h.mu.Lock()
	if h.etags == nil {
		h.etags = map[etagKey]string{}
	}
	h.etags[key] = tag
	h.mu.Unlock()
	return tag, nil
}
