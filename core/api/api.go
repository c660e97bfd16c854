package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
)

// Defaults of Config's limits.
const (
	// DefaultMaxBodyBytes bounds a request body: 10 MiB.
	DefaultMaxBodyBytes = 10 << 20
	// DefaultMaxPixels bounds width·height of an uploaded image: 12
	// megapixels (a 4032×3024 phone photo). Decoded, such an image takes
	// about 50 MB, which leaves room in a Worker's 128 MB.
	DefaultMaxPixels = 12_000_000
	// DefaultMaxOverlaySide bounds the longer side of an overlay PNG.
	DefaultMaxOverlaySide = 1024
	// MaxModelBytes bounds a model file the handler reads.
	MaxModelBytes = 64 << 20
)

// Config configures a Handler. Zero limits mean the defaults.
type Config struct {
	// Models holds CatalogFile and the model files it names (the
	// repository's models/ directory: os.DirFS("models"), or the embedded
	// copy in package models).
	Models fs.FS
	// MaxBodyBytes bounds a request body (DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxPixels bounds width·height of an image, read from its header
	// before anything is decoded (DefaultMaxPixels; at most
	// imaging.MaxPixels).
	MaxPixels int64
	// MaxOverlaySide bounds the longer side of a PNG answer: a larger
	// overlay is scaled down (DefaultMaxOverlaySide).
	MaxOverlaySide int
	// AllowSlow enables the methods that run one forward pass per channel
	// of the target layer (Score-CAM, Ablation-CAM; cam.MethodInfo.Slow).
	// Off by default: one request would cost seconds of CPU time.
	AllowSlow bool
	// Log, if set, receives one line per request (method, path, status,
	// duration and, for errors, the message) and the stack of a recovered
	// panic. Never any image data.
	Log func(line string)
}

// Handler serves the API. It is safe for concurrent use.
type Handler struct {
	cfg Config
	cat *catalog

	mu     sync.Mutex
	models map[string]*modelSlot
}

type modelSlot struct {
	once sync.Once
	m    *cam.Model
	err  error
}

// NewHandler reads and checks the catalog in cfg.Models and returns the
// handler. Models are loaded on first use.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = DefaultMaxPixels
	}
	if cfg.MaxPixels > imaging.MaxPixels {
		return nil, fmt.Errorf("api: Config.MaxPixels %d is above imaging.MaxPixels %d", cfg.MaxPixels, imaging.MaxPixels)
	}
	if cfg.MaxOverlaySide <= 0 {
		cfg.MaxOverlaySide = DefaultMaxOverlaySide
	}
	cat, err := readCatalog(cfg.Models)
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, cat: cat, models: map[string]*modelSlot{}}, nil
}

// Failed returns a handler for a host whose setup failed (NewHandler
// returned err): every request gets a JSON 503 saying so, and /healthz
// fails too.
func Failed(err error) http.Handler {
	e := errorf(http.StatusServiceUnavailable, CodeUnavailable, "the explanation API is not available: %v", err)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeError(w, e) })
}

// Catalog returns the catalog entries in order.
func (h *Handler) Catalog() []Entry { return append([]Entry(nil), h.cat.entries...) }

// DefaultModel is the id of the catalog's default model.
func (h *Handler) DefaultModel() string { return h.cat.entries[h.cat.def].ID }

// Model returns the catalog model id, loading it on first use.
func (h *Handler) Model(id string) (*cam.Model, error) {
	i, ok := h.cat.byID[id]
	if !ok {
		return nil, fmt.Errorf("api: no model %q in the catalog", id)
	}
	h.mu.Lock()
	s := h.models[id]
	if s == nil {
		s = &modelSlot{}
		h.models[id] = s
	}
	h.mu.Unlock()
	s.once.Do(func() { s.m, s.err = h.load(h.cat.entries[i]) })
	return s.m, s.err
}

func (h *Handler) load(e Entry) (*cam.Model, error) {
	data, err := readLimited(h.cfg.Models, e.File, MaxModelBytes)
	if err != nil {
		return nil, fmt.Errorf("api: model %q: %w", e.ID, err)
	}
	mf, err := modelfile.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("api: model %q (%s): %w", e.ID, e.File, err)
	}
	m, err := cam.NewModel(mf)
	if err != nil {
		return nil, fmt.Errorf("api: model %q (%s): %w", e.ID, e.File, err)
	}
	return m, nil
}

// recorder remembers what a handler did with the response, for the panic
// handler and the log.
type recorder struct {
	http.ResponseWriter
	status int
	err    *Error
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

// ServeHTTP routes a request. A panic while serving becomes a JSON 500
// (when nothing was written yet) and a log line with the stack.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.logf("panic serving %s %s: %v\n%s", r.Method, r.URL.Path, p, debug.Stack())
			if rec.status == 0 {
				h.fail(rec, errorf(http.StatusInternalServerError, CodeInternal, "internal error while serving %s %s", r.Method, r.URL.Path))
			}
		}
		h.logRequest(r, rec, time.Since(start))
	}()
	if err := h.route(rec, r); err != nil {
		h.fail(rec, err)
	}
}

func (h *Handler) fail(rec *recorder, e *Error) {
	rec.err = e
	writeError(rec, e)
}

func (h *Handler) logf(format string, args ...any) {
	if h.cfg.Log != nil {
		h.cfg.Log(fmt.Sprintf(format, args...))
	}
}

func (h *Handler) logRequest(r *http.Request, rec *recorder, d time.Duration) {
	if h.cfg.Log == nil {
		return
	}
	msg := ""
	if rec.err != nil {
		msg = " " + rec.err.Code + ": " + rec.err.Message
	}
	h.logf("%s %s %d %.1fms%s", r.Method, r.URL.Path, rec.status, float64(d.Microseconds())/1000, msg)
}

// route dispatches on the path, then on the method.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) *Error {
	p := r.URL.Path
	switch {
	case p == "/healthz":
		if e := allow(w, r, http.MethodGet, http.MethodHead); e != nil {
			return e
		}
		if _, e := query(r.URL, nil); e != nil {
			return e
		}
		writeJSON(w, r, http.StatusOK, map[string]any{"status": "ok", "models": len(h.cat.entries)})
		return nil
	case p == "/api/models":
		if e := allow(w, r, http.MethodGet, http.MethodHead); e != nil {
			return e
		}
		if _, e := query(r.URL, nil); e != nil {
			return e
		}
		writeJSON(w, r, http.StatusOK, h.catalogJSON())
		return nil
	case strings.HasPrefix(p, "/api/models/"):
		if e := allow(w, r, http.MethodGet, http.MethodHead); e != nil {
			return e
		}
		if _, e := query(r.URL, nil); e != nil {
			return e
		}
		return h.modelInfo(w, r, strings.TrimPrefix(p, "/api/models/"))
	case p == "/api/explain":
		if e := allow(w, r, http.MethodPost); e != nil {
			return e
		}
		return h.explain(w, r)
	}
	return errorf(http.StatusNotFound, CodeNotFound, "no route %s (routes: GET /healthz, GET /api/models, GET /api/models/{id}, POST /api/explain)", p)
}

func allow(w http.ResponseWriter, r *http.Request, methods ...string) *Error {
	for _, m := range methods {
		if r.Method == m {
			return nil
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	return errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s does not take %s (allowed: %s)", r.URL.Path, r.Method, strings.Join(methods, ", "))
}

// query parses u's query and rejects parameters not in known, and
// parameters given more than once unless known[name] is true (repeatable).
func query(u *url.URL, known map[string]bool) (url.Values, *Error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, CodeBadParameter, "malformed query string: %v", err)
	}
	for name, vs := range q {
		rep, ok := known[name]
		if !ok {
			names := make([]string, 0, len(known))
			for k := range known {
				names = append(names, k)
			}
			sort.Strings(names)
			if len(names) == 0 {
				return nil, errorf(http.StatusBadRequest, CodeUnknownParameter, "unknown query parameter %q: %s takes none", name, u.Path)
			}
			return nil, errorf(http.StatusBadRequest, CodeUnknownParameter, "unknown query parameter %q (known: %s)", name, strings.Join(names, ", "))
		}
		if !rep && len(vs) > 1 {
			return nil, badParam("query parameter %q given %d times", name, len(vs))
		}
	}
	return q, nil
}

// methodJSON is one entry of the methods list of /api/models.
type methodJSON struct {
	Name           string `json:"name"`
	Title          string `json:"title"`
	Gradients      bool   `json:"gradients"`
	Slow           bool   `json:"slow"`
	Class          bool   `json:"class"`
	Counterfactual bool   `json:"counterfactual"`
	Softmax        bool   `json:"softmax"`
	Available      bool   `json:"available"` // false: this server does not run it (see Config.AllowSlow)
}

func (h *Handler) catalogJSON() any {
	var methods []methodJSON
	for _, m := range cam.Methods() {
		methods = append(methods, methodJSON{
			Name: m.Name, Title: m.Title, Gradients: m.Gradients, Slow: m.Slow, Class: m.Class,
			Counterfactual: m.Counterfactual, Softmax: m.Softmax, Available: !m.Slow || h.cfg.AllowSlow,
		})
	}
	return struct {
		Default string            `json:"default"`
		Models  []json.RawMessage `json:"models"`
		Methods []methodJSON      `json:"methods"`
	}{h.DefaultModel(), h.cat.raw, methods}
}

// modelJSON is the answer of /api/models/{id}.
type modelJSON struct {
	ID           string               `json:"id"`
	Name         string               `json:"name"`
	Title        string               `json:"title,omitempty"`
	Description  string               `json:"description,omitempty"`
	Labels       []string             `json:"labels"`
	Layers       []layerJSON          `json:"layers"`
	DefaultLayer string               `json:"default_layer"`
	Input        []int                `json:"input"` // C, H, W
	Preprocess   modelfile.Preprocess `json:"preprocess"`
	Provenance   modelfile.Provenance `json:"provenance"`
}

type layerJSON struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"` // C, H, W
}

func (h *Handler) modelInfo(w http.ResponseWriter, r *http.Request, id string) *Error {
	if _, ok := h.cat.byID[id]; !ok {
		return errorf(http.StatusNotFound, CodeUnknownModel, "no model %q in the catalog (models: %s)", id, h.modelIDs())
	}
	m, e := h.modelFor(id)
	if e != nil {
		return e
	}
	meta := m.Meta()
	out := modelJSON{
		ID: id, Name: meta.Name, Title: meta.Title, Description: meta.Description,
		Labels: m.Labels(), DefaultLayer: m.DefaultLayer(), Preprocess: meta.Preprocess, Provenance: meta.Provenance,
		Input: append([]int(nil), m.Graph().InputShape()[1:]...),
	}
	for _, l := range m.Layers() {
		out.Layers = append(out.Layers, layerJSON{l.Name, l.Shape})
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

// modelFor loads a catalog model, turning a load failure into a 500.
func (h *Handler) modelFor(id string) (*cam.Model, *Error) {
	m, err := h.Model(id)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, CodeModelUnavailable, "%v", err)
	}
	return m, nil
}

func (h *Handler) modelIDs() string {
	ids := make([]string, len(h.cat.entries))
	for i, e := range h.cat.entries {
		ids[i] = e.ID
	}
	return strings.Join(ids, ", ")
}

// writeJSON writes v with the status; HEAD gets the headers only.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		// Only a value that cannot be encoded (a NaN) gets here: a bug.
		panic(fmt.Sprintf("api: encode JSON answer: %v", err))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r == nil || r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, nil, e.Status, e)
}
