package worker

import "runtime/debug"

// holdGC holds the garbage collector back: from now on it runs only when
// the Go heap nears limit bytes (debug.SetMemoryLimit), not each time the
// heap has doubled (GOGC). The returned function restores both settings.
//
// A cold start in a browser is what it is for. The engine's first model
// load, image and forward pass allocate about 20 MB in steps, nearly all
// of which stays (the weights, the image, the forward pass's
// activations), so the usual pacing collects three times or more before
// the first map for almost nothing, each time in freshly loaded
// WebAssembly, and V8 optimises the collector's large functions on the
// way (its sweeper, marking and page-allocator loops: 0.6 s of a core's
// optimising compiles, taken from the engine on a 2-core machine). Held
// back, none of that runs before the first map; the limit bounds the heap
// meanwhile, and a large model or image ends the hold before it is read
// (see Options.StartupHeap).
func holdGC(limit int64) (restore func()) {
	percent := debug.SetGCPercent(-1)
	prev := debug.SetMemoryLimit(limit)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(prev)
	}
}
