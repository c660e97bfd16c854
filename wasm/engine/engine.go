//go:build js && wasm

// Package engine is the CamLens core in a Web Worker: camlens.wasm
// (wasm/camlens) runs it when web/worker.js starts it with the role
// "engine". It turns worker messages into worker.Requests and
// worker.Messages into postMessage calls (JSON text and byte arrays, see
// worker.Encode), moving byte and float32 results as transferable
// ArrayBuffers. The protocol is documented in package
// worker and in web/engine.js.
package engine

import (
	"fmt"
	"syscall/js"
	"time"
	"unsafe"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/wasm/engine/worker"
	"github.com/camlens/camlens/wasm/jsval"
	"github.com/camlens/camlens/wasm/kernels"
)

// Run serves the page's requests until the program ends; it never
// returns.
func Run() {
	self := js.Global()
	// web/worker.js has loaded the SIMD kernel module when the build
	// shipped one and the browser runs it; otherwise pure Go.
	k, name := nn.Kernels(nn.GoKernels{}), "go"
	if simd, err := kernels.Load(); err == nil {
		k, name = simd, "wasm-simd"
	} else if self.Get(kernels.GlobalName).Truthy() {
		js.Global().Get("console").Call("warn", "camlens engine: "+err.Error())
	}
	w := worker.New(worker.Options{
		Kernels:     k,
		KernelsName: name,
		Post:        func(m worker.Message) { post(self, m) },
		// A timer hands the event loop back to JavaScript, so queued
		// messages (a cancel) are delivered before the work goes on.
		Yield:      func() { time.Sleep(time.Millisecond) },
		YieldEvery: 40 * time.Millisecond,
		// The collector waits for the first map (see worker.Options);
		// 128 MB is far above a cold start's heap on the shipped models.
		StartupHeap: 128 << 20,
	})
	self.Set("onmessage", js.FuncOf(func(this js.Value, args []js.Value) any {
		data := args[0].Get("data")
		// The page's watchdog asks whether the engine still answers; the
		// answer goes out at once, even while a request runs (it arrives
		// when that request yields).
		if op := data.Get("op"); op.Type() == js.TypeString {
			switch op.String() {
			case "ping":
				post(self, worker.Message{Type: "pong"})
				return nil
			case "crash":
				crash(strField(data, "kind"))
				return nil
			}
		}
		req, err := parseRequest(data)
		if err != nil {
			id := 0
			if v := data.Get("id"); v.Type() == js.TypeNumber {
				id = v.Int()
			}
			post(self, worker.Message{ID: id, Type: "error", Error: err.Error(), Code: worker.CodeInput})
			return nil
		}
		w.Handle(req)
		return nil
	}))
	post(self, worker.Message{Type: "ready"})
	select {}
}

// post sends m to the page: web/worker.js's camlensPost (see
// worker.Encode) reads the JSON text, puts the typed arrays in their
// places and posts the result, transferring their buffers.
func post(self js.Value, m worker.Message) {
	text, blobs := worker.Encode(m)
	arrays := js.Global().Get("Array").New(len(blobs))
	for i, b := range blobs {
		a := js.Global().Get("Uint8Array").New(len(b.Data))
		js.CopyBytesToJS(a, b.Data)
		if b.Float32 {
			a = js.Global().Get("Float32Array").New(a.Get("buffer"))
		}
		arrays.SetIndex(i, a)
	}
	self.Call("camlensPost", unsafe.String(unsafe.SliceData(text), len(text)), arrays)
}

// crash makes the engine fail the ways it can fail in a browser, for the
// page's recovery tests (camlens.debug.crashEngine): "panic" is a Go panic
// no handler recovers (the Go program exits, web/worker.js reports it),
// "hang" a loop that never yields (only the page's watchdog notices).
// Other kinds do nothing here (web/worker.js handles "throw").
func crash(kind string) {
	switch kind {
	case "panic":
		go func() { panic("camlens engine: crash requested by the page (camlens.debug.crashEngine)") }()
	case "hang":
		for {
		}
	}
}

func parseRequest(d js.Value) (worker.Request, error) {
	var r worker.Request
	if d.Type() != js.TypeObject {
		return r, fmt.Errorf("message is not an object")
	}
	var err error
	if r.ID, err = intField(d, "id", true); err != nil {
		return r, err
	}
	op := d.Get("op")
	if op.Type() != js.TypeString {
		return r, fmt.Errorf("request %d: op is not a string", r.ID)
	}
	r.Op = op.String()
	r.Name = strField(d, "name")
	if data := d.Get("data"); !data.IsUndefined() && !data.IsNull() {
		if r.Data, err = jsval.Bytes(data, 0); err != nil {
			return r, fmt.Errorf("request %d: data: %w", r.ID, err)
		}
	}
	if px := d.Get("pixels"); !px.IsUndefined() && !px.IsNull() {
		if r.Pixels, err = jsval.Bytes(px, 0); err != nil {
			return r, fmt.Errorf("request %d: pixels: %w", r.ID, err)
		}
		if r.Width, err = intField(d, "width", true); err != nil {
			return r, err
		}
		if r.Height, err = intField(d, "height", true); err != nil {
			return r, err
		}
	}
	if c := d.Get("crop"); !c.IsUndefined() && !c.IsNull() {
		if !js.Global().Get("Array").Call("isArray", c).Bool() || c.Length() != 4 {
			return r, fmt.Errorf("request %d: crop is not [x, y, w, h]", r.ID)
		}
		r.Crop = make([]int, 4)
		for i := range r.Crop {
			if r.Crop[i], err = intValue(c.Index(i), "crop"); err != nil {
				return r, fmt.Errorf("request %d: %w", r.ID, err)
			}
		}
	}
	if r.TopK, err = intField(d, "topk", false); err != nil {
		return r, err
	}
	r.Method = strField(d, "method")
	r.Class = -1
	if v := d.Get("class"); !v.IsUndefined() && !v.IsNull() {
		if r.Class, err = intValue(v, "class"); err != nil {
			return r, fmt.Errorf("request %d: %w", r.ID, err)
		}
	}
	if l := d.Get("layers"); !l.IsUndefined() && !l.IsNull() {
		if !js.Global().Get("Array").Call("isArray", l).Bool() {
			return r, fmt.Errorf("request %d: layers is not a list", r.ID)
		}
		for i := 0; i < l.Length(); i++ {
			if l.Index(i).Type() != js.TypeString {
				return r, fmt.Errorf("request %d: layers[%d] is not a string", r.ID, i)
			}
			r.Layers = append(r.Layers, l.Index(i).String())
		}
	}
	if p := d.Get("preview"); p.Type() == js.TypeBoolean {
		r.NoPreview = !p.Bool()
	}
	r.Target = strField(d, "target")
	r.Counterfactual = d.Get("counterfactual").Truthy()
	r.EigenSmooth = d.Get("eigenSmooth").Truthy()
	r.Kind = strField(d, "kind")
	r.Colormap = strField(d, "colormap")
	if a := d.Get("alpha"); a.Type() == js.TypeNumber {
		r.Alpha = a.Float()
	} else {
		r.Alpha = 0.5
	}
	if r.Of, err = intField(d, "of", false); err != nil {
		return r, err
	}
	return r, nil
}

func strField(d js.Value, k string) string {
	if v := d.Get(k); v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

func intField(d js.Value, k string, required bool) (int, error) {
	v := d.Get(k)
	if v.IsUndefined() || v.IsNull() {
		if required {
			return 0, fmt.Errorf("request without %s", k)
		}
		return 0, nil
	}
	return intValue(v, k)
}

// intValue is an integer request field (at most 2³¹ in magnitude).
func intValue(v js.Value, what string) (int, error) { return jsval.Int(v, what, 1<<31) }
