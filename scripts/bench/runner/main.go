//go:build js && wasm

// Command runner is CamLens's side of the browser benchmark
// (scripts/bench): a js/wasm program that loads the model and the image
// once and then times single operations of the core on request. The page
// (scripts/bench/page/bench.js) calls
//
//	camlensBench.init(modelBytes, imageBytes, [x, y, w, h]) → {kernels, error}
//	camlensBench.run(op, simd) → {ms: [..], error}
//
// where op is forward, gradcam, gradcam_input, gradcam_early,
// guided_gradcam, scorecam, class_switch or method_switch (see run) and
// simd picks the WebAssembly SIMD kernels
// (wasm/kernels, loaded by the page as camlensKernels) or the pure-Go
// ones. Every time is measured in Go around the operation alone
// (performance.now() underneath; 5 µs resolution on the cross-origin
// isolated bench page).
package main

import (
	"context"
	"fmt"
	"image"
	"syscall/js"
	"time"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
	"github.com/camlens/camlens/wasm/kernels"
)

// The two target layers of the face-expression model.
const (
	lastLayer  = "dense3/out" // 7×7
	earlyLayer = "dense2/out" // 14×14
)

type bench struct {
	model *cam.Model
	img   image.Image
	crop  image.Rectangle
	x     *tensor.Tensor // the preprocessed crop
	simd  nn.Kernels     // nil when the module is not loaded
	// next class for class_switch, per kernel kind
	next map[bool]int
}

func (b *bench) kernels(simd bool) (nn.Kernels, error) {
	if !simd {
		return nn.GoKernels{}, nil
	}
	if b.simd == nil {
		return nil, fmt.Errorf("the SIMD kernel module is not loaded: %v", kernels.Available())
	}
	return b.simd, nil
}

func since(t0 time.Time) float64 { return float64(time.Since(t0).Nanoseconds()) / 1e6 }

// explain runs one explanation and checks that it produced a map.
func explain(s *cam.Session, method string, class int, layer string) error {
	r, err := s.Explain(context.Background(), cam.Request{Method: method, Class: class, Layers: []string{layer}})
	if err != nil {
		return fmt.Errorf("%s at %s, class %d: %w", method, layer, class, err)
	}
	if len(r.Map) != r.W*r.H || r.W == 0 {
		return fmt.Errorf("%s: map of %d values for %d×%d", method, len(r.Map), r.W, r.H)
	}
	return nil
}

// run times one operation; some operations give several samples.
func (b *bench) run(op string, simd bool) ([]float64, error) {
	k, err := b.kernels(simd)
	if err != nil {
		return nil, err
	}
	opt := cam.WithKernels(k)
	// endToEnd: decoded image in → map out (crop, resize, normalise,
	// forward, backward, method, ReLU, min-max, upsampling).
	endToEnd := func(method, layer string) ([]float64, error) {
		t0 := time.Now()
		s, err := b.model.SessionFromImage(b.img, b.crop, opt)
		if err != nil {
			return nil, err
		}
		if err := explain(s, method, -1, layer); err != nil {
			return nil, err
		}
		ms := since(t0)
		s.Release() // as the engine does when the next image comes (not timed)
		return []float64{ms}, nil
	}
	switch op {
	case "forward":
		t0 := time.Now()
		s, err := b.model.NewSession(b.x, opt)
		if err != nil {
			return nil, err
		}
		ms := since(t0)
		s.Release()
		return []float64{ms}, nil
	case "gradcam":
		return endToEnd("gradcam", lastLayer)
	case "gradcam_input":
		// From the preprocessed input: forward, backward, map, upsampling.
		t0 := time.Now()
		s, err := b.model.NewSession(b.x, opt)
		if err != nil {
			return nil, err
		}
		if err := explain(s, "gradcam", -1, lastLayer); err != nil {
			return nil, err
		}
		ms := since(t0)
		s.Release()
		return []float64{ms}, nil
	case "gradcam_early":
		return endToEnd("gradcam", earlyLayer)
	case "guided_gradcam":
		return endToEnd("guided-gradcam", lastLayer)
	case "scorecam":
		return endToEnd("scorecam", lastLayer)
	case "class_switch":
		// A session that has explained the top class; then every other
		// class once (each needs its own backward pass).
		s, err := b.model.NewSession(b.x, opt)
		if err != nil {
			return nil, err
		}
		top := s.Predictions(1)[0].Class
		if err := explain(s, "gradcam", top, lastLayer); err != nil {
			return nil, err
		}
		var ms []float64
		for c := range s.Model().NumClasses() {
			if c == top {
				continue
			}
			t0 := time.Now()
			if err := explain(s, "gradcam", c, lastLayer); err != nil {
				return nil, err
			}
			ms = append(ms, since(t0))
		}
		s.Release()
		return ms, nil
	case "method_switch":
		// Grad-CAM → Grad-CAM++ → LayerCAM on one class and layer: the
		// gradient is cached, each switch recomputes the map.
		s, err := b.model.NewSession(b.x, opt)
		if err != nil {
			return nil, err
		}
		if err := explain(s, "gradcam", -1, lastLayer); err != nil {
			return nil, err
		}
		var ms []float64
		for _, m := range []string{"gradcam++", "layercam", "gradcam"} {
			t0 := time.Now()
			if err := explain(s, m, -1, lastLayer); err != nil {
				return nil, err
			}
			ms = append(ms, since(t0))
		}
		s.Release()
		return ms, nil
	}
	return nil, fmt.Errorf("unknown operation %q", op)
}

func (b *bench) init(modelBytes, imageBytes []byte, crop image.Rectangle) error {
	m, err := modelfile.Parse(modelBytes)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if b.model, err = cam.NewModel(m); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if b.img, _, err = imaging.Decode(imageBytes); err != nil {
		return fmt.Errorf("image: %w", err)
	}
	b.crop = crop
	if b.x, err = imaging.ToTensor(b.img, crop, b.model.Meta().Preprocess); err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	if k, err := kernels.Load(); err == nil {
		b.simd = k
	}
	return nil
}

func bytesOf(v js.Value) []byte {
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func main() {
	b := &bench{}
	result := func(kv ...any) js.Value {
		o := js.Global().Get("Object").New()
		for i := 0; i+1 < len(kv); i += 2 {
			o.Set(kv[i].(string), kv[i+1])
		}
		return o
	}
	api := js.Global().Get("Object").New()
	api.Set("init", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 3 {
			return result("error", "init(modelBytes, imageBytes, [x, y, w, h])")
		}
		c := args[2]
		crop := image.Rect(c.Index(0).Int(), c.Index(1).Int(), c.Index(0).Int()+c.Index(2).Int(), c.Index(1).Int()+c.Index(3).Int())
		if err := b.init(bytesOf(args[0]), bytesOf(args[1]), crop); err != nil {
			return result("error", err.Error())
		}
		name := "go"
		if b.simd != nil {
			name = "wasm-simd"
		}
		reason := ""
		if err := kernels.Available(); err != nil {
			reason = err.Error()
		}
		return result("kernels", name, "reason", reason)
	}))
	api.Set("run", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 2 || b.model == nil {
			return result("error", "run(op, simd) after init")
		}
		ms, err := b.run(args[0].String(), args[1].Truthy())
		if err != nil {
			return result("error", err.Error())
		}
		a := js.Global().Get("Array").New(len(ms))
		for i, v := range ms {
			a.SetIndex(i, v)
		}
		return result("ms", a)
	}))
	js.Global().Set("camlensBench", api)
	js.Global().Call("dispatchEvent", js.Global().Get("Event").New("camlensbench"))
	select {}
}
