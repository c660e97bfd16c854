package worker

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/nn"
)

// Request is one message from the page. Which fields apply depends on Op.
type Request struct {
	ID int
	Op string

	Data []byte // loadModel, setImage: the file's bytes
	Name string // loadModel, setImage: the file name (for the format and export names)

	// setImage, instead of Data: the image the page decoded itself, as
	// 8-bit RGBA rows (Width×Height×4 bytes, every alpha 255). The page
	// does so only for PNGs whose pixels every decoder agrees on
	// (web/camlens.js: 8-bit, opaque, no colour-space chunks); the browser
	// decodes them natively, Go's decoder in freshly loaded WebAssembly is
	// the slowest step of a cold start.
	Pixels        []byte
	Width, Height int
	// setImage: no preview in the answer. The page asks for none where it
	// has one of its own (the pixels it decoded, when they fit in
	// PreviewSide) or shows none (the embed).
	NoPreview bool

	Crop []int // predict: [x, y, w, h] in image pixels; nil: the whole image
	TopK int   // predict: how many predictions (default 5)

	Method         string   // explain, metrics
	Class          int      // explain, metrics: -1 is the top class
	Layers         []string // explain, metrics: empty is the model's default layer
	Target         string   // explain, metrics: "logit" or "softmax"
	Counterfactual bool     // explain, metrics
	EigenSmooth    bool     // explain, metrics

	Kind     string  // export: "overlay", "heatmap", "npy" or "json"
	Colormap string  // export, colormap
	Alpha    float64 // export: heatmap weight in the overlay

	Of int // cancel: the id of the request to stop
}

// Message is one message to the page.
type Message struct {
	ID     int
	Type   string // "ready", "progress", "result" or "error"
	Result Fields // result
	Error  string // error
	Code   string // error: CodeCancelled, CodeInput, CodeState or CodeInternal
	Done   int    // progress
	Total  int    // progress
	Stage  string // progress
}

// Fields is a result as a tree the glue turns into a JavaScript object:
// values are nil, bool, int, float64, string, []byte (→ Uint8Array),
// []float32 (→ Float32Array), []float64, []int, []string, Fields or
// []Fields.
type Fields = map[string]any

// Error codes.
const (
	CodeCancelled = "cancelled" // the request was cancelled
	CodeInput     = "input"     // bad input: corrupt image or model file, unknown method, …
	CodeState     = "state"     // no model or no image yet
	CodeInternal  = "internal"  // a bug
)

// Error is an error with a protocol code.
type Error struct {
	Code string
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func inputErr(err error) error { return &Error{CodeInput, err} }
func stateErr(format string, args ...any) error {
	return &Error{CodeState, fmt.Errorf(format, args...)}
}

// Options configures a Worker.
type Options struct {
	// Post delivers a message to the page. It is called from the worker's
	// goroutine and from Handle.
	Post func(Message)
	// Yield lets the host deliver pending messages; nil does nothing.
	Yield func()
	// YieldEvery is the least time between two Yield calls during slow
	// work (default 50 ms).
	YieldEvery time.Duration
	// Kernels run the networks' heavy loops (nil: the pure-Go ones); in
	// the browser, the WebAssembly SIMD kernels of wasm/kernels.
	Kernels nn.Kernels
	// KernelsName names Kernels for the page ("wasm-simd", "go").
	KernelsName string
	// StartupHeap, when positive, holds the garbage collector back until
	// the first explanation: until the first "explain" or "metrics"
	// request, or any request that fails, has been answered, the
	// collector runs only when the Go heap nears StartupHeap bytes
	// (debug.SetMemoryLimit); then the process's own settings return. A
	// request that brings more than StartupHeap/8 bytes (a large model
	// file or image) ends the hold before it runs: its garbage would
	// otherwise reach the limit, where the collector runs again and again.
	// The browser's engine sets it: see holdGC.
	StartupHeap int64
}

// Worker answers requests. Create it with New; it is safe for use by
// several goroutines.
type Worker struct {
	opt Options

	mu      sync.Mutex
	queue   []*job
	current *job
	wake    chan struct{}

	st        state  // touched only by the worker goroutine
	endGCHold func() // gives the collector back its usual pacing (holdGC's restore, once); touched only by the worker goroutine
}

type job struct {
	req    Request
	ctx    context.Context
	cancel context.CancelFunc
}

// New starts a worker; it runs until the process ends.
func New(opt Options) *Worker {
	if opt.YieldEvery <= 0 {
		opt.YieldEvery = 50 * time.Millisecond
	}
	if opt.Yield == nil {
		opt.Yield = func() {}
	}
	if opt.KernelsName == "" {
		opt.KernelsName = "go"
	}
	w := &Worker{opt: opt, wake: make(chan struct{}, 1)}
	w.st.kernels = opt.Kernels
	w.endGCHold = func() {}
	if opt.StartupHeap > 0 {
		w.endGCHold = sync.OnceFunc(holdGC(opt.StartupHeap))
	}
	go w.loop()
	return w
}

// Handle accepts a request: "cancel" acts at once, everything else is
// queued and answered in order.
func (w *Worker) Handle(r Request) {
	if r.Op == "cancel" {
		w.Cancel(r.Of)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.mu.Lock()
	w.queue = append(w.queue, &job{req: r, ctx: ctx, cancel: cancel})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Cancel stops request id: a queued request is answered "cancelled" when
// its turn comes, without running; a running one is cancelled through its
// context. Unknown or finished ids are ignored.
func (w *Worker) Cancel(id int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.current != nil && w.current.req.ID == id {
		w.current.cancel()
	}
	for _, j := range w.queue {
		if j.req.ID == id {
			j.cancel()
		}
	}
}

func (w *Worker) loop() {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.current = nil
			w.mu.Unlock()
			<-w.wake
			continue
		}
		j := w.queue[0]
		w.queue = w.queue[1:]
		w.current = j
		w.mu.Unlock()
		if int64(len(j.req.Data)+len(j.req.Pixels)) > w.opt.StartupHeap/8 {
			w.endGCHold()
		}
		res, err := w.run(j)
		j.cancel()
		if err != nil {
			w.opt.Post(Message{ID: j.req.ID, Type: "error", Error: err.Error(), Code: code(err)})
		} else {
			w.opt.Post(Message{ID: j.req.ID, Type: "result", Result: res})
		}
		// After the answer, so that the page has it before any collection.
		if err != nil || j.req.Op == "explain" || j.req.Op == "metrics" {
			w.endGCHold()
		}
	}
}

func code(err error) string {
	var e *Error
	switch {
	case errors.Is(err, context.Canceled):
		return CodeCancelled
	case errors.As(err, &e):
		return e.Code
	}
	return CodeInternal
}

// run answers one request; a panic in the core becomes an internal error
// and the worker carries on.
func (w *Worker) run(j *job) (res Fields, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, &Error{CodeInternal, fmt.Errorf("internal error in %s: %v\n%s", j.req.Op, p, debug.Stack())}
		}
	}()
	if err := j.ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", j.req.Op, err)
	}
	r := &j.req
	switch r.Op {
	case "hello":
		h := hello()
		h["kernels"] = w.opt.KernelsName
		return h, nil
	case "loadModel":
		return w.st.loadModel(r.Data, r.Name)
	case "setImage":
		if r.Pixels != nil {
			return w.st.setPixels(r.Pixels, r.Width, r.Height, r.Name, !r.NoPreview)
		}
		return w.st.setImage(r.Data, r.Name, !r.NoPreview)
	case "predict":
		return w.st.predict(r.Crop, r.TopK)
	case "explain":
		return w.st.explain(j.ctx, r, w.progress(r.ID, "explain"))
	case "metrics":
		return w.st.metrics(j.ctx, r, w.progress(r.ID, "explain"), w.progress(r.ID, "metrics"))
	case "export":
		return w.st.export(r.Kind, r.Colormap, r.Alpha)
	case "colormap":
		return colormapLUT(r.Colormap)
	}
	return nil, inputErr(fmt.Errorf("unknown request %q", r.Op))
}

// progress reports progress of request id in a stage ("explain",
// "metrics") and yields to the host now and then so that a cancel can
// arrive.
func (w *Worker) progress(id int, stage string) func(done, total int) {
	last := time.Now()
	return func(done, total int) {
		w.opt.Post(Message{ID: id, Type: "progress", Done: done, Total: total, Stage: stage})
		if time.Since(last) >= w.opt.YieldEvery {
			w.opt.Yield()
			last = time.Now()
		}
	}
}

func hello() Fields {
	var methods []Fields
	for _, m := range cam.Methods() {
		methods = append(methods, Fields{
			"name": m.Name, "title": m.Title, "gradients": m.Gradients, "slow": m.Slow,
			"class": m.Class, "counterfactual": m.Counterfactual, "softmax": m.Softmax,
		})
	}
	return Fields{
		"methods": methods, "colormaps": colormapNames(), "version": runtime.Version(), "limits": limits(),
		"previewSide": PreviewSide,
	}
}

// rect converts [x, y, w, h] to a rectangle, checking it.
func rect(c []int) (image.Rectangle, error) {
	if c == nil {
		return image.Rectangle{}, nil
	}
	if len(c) != 4 || c[2] <= 0 || c[3] <= 0 {
		return image.Rectangle{}, inputErr(fmt.Errorf("crop %v: want [x, y, w, h] with w, h > 0", c))
	}
	return image.Rect(c[0], c[1], c[0]+c[2], c[1]+c[3]), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
