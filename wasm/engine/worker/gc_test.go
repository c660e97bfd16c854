package worker

import (
	"runtime/debug"
	"testing"

	"github.com/camlens/camlens/wasm/engine/worker/workertest"
)

// gcSettings reads the collector's settings without changing them.
func gcSettings() (percent int, limit int64) {
	percent = debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1)
}

func TestStartupHeap(t *testing.T) {
	// The process's own settings, which the worker must give back.
	const percent, limit = 77, int64(3 << 30)
	oldPercent := debug.SetGCPercent(percent)
	oldLimit := debug.SetMemoryLimit(limit)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	})
	file := modelBytes(t, 8, true)
	photo := workertest.Photo(48, 36)
	ready := []Request{
		{Op: "loadModel", Data: file, Name: "test.safetensors"},
		{Op: "setImage", Data: photo, Name: "photo.png"},
		{Op: "predict"},
	}
	// More than StartupHeap/8 (8 MB) of opaque pixels: a large photo.
	big := make([]byte, 4*1500*1500)
	for i := 3; i < len(big); i += 4 {
		big[i] = 255
	}
	for _, tc := range []struct {
		name     string
		before   []Request // answered while the collector is held
		last     Request   // the request whose answer releases it
		lastFail bool
	}{
		{"explain", ready, Request{Op: "explain", Method: "gradcam", Class: -1}, false},
		{"metrics", ready, Request{Op: "metrics", Method: "gradcam", Class: -1}, false},
		{"a failed request", []Request{{Op: "hello"}}, Request{Op: "predict"}, true},
		{"a large image", ready[:1], Request{Op: "setImage", Pixels: big, Width: 1500, Height: 1500, Name: "big.png"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.StartupHeap = 64 << 20 })
			for _, r := range tc.before {
				h.call(r)
				if p, l := gcSettings(); p != -1 || l != 64<<20 {
					t.Fatalf("after %s: GC percent %d, memory limit %d; want −1 and %d until the first explanation", r.Op, p, l, 64<<20)
				}
			}
			if tc.lastFail {
				h.callErr(tc.last)
			} else {
				h.call(tc.last)
			}
			// The worker restores them after posting the answer, before it
			// takes the next request: once that is answered, they are back.
			h.call(Request{Op: "hello"})
			if p, l := gcSettings(); p != percent || l != limit {
				t.Fatalf("after %s: GC percent %d, memory limit %d; want the process's %d and %d back", tc.last.Op, p, l, percent, limit)
			}
		})
	}
	// Without StartupHeap the worker never touches them.
	h := newHarness(t)
	h.call(Request{Op: "hello"})
	if p, l := gcSettings(); p != percent || l != limit {
		t.Fatalf("without StartupHeap: GC percent %d, memory limit %d", p, l)
	}
}
