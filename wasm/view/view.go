//go:build js && wasm

// Package view is CamLens's renderer: an ebiten program that runs in its
// own iframe (view.html, where web/view-boot.js starts camlens.wasm,
// wasm/camlens, with the role "view"), because ebiten's canvas always
// fills the document. It draws the photo region the network saw with the
// explanation map blended over it by a Kage shader (colormap and opacity
// are shader inputs, so moving a slider costs one draw), the localisation
// box and peak, a hover read-out of the map value, and up to two panels
// side by side (compare mode).
//
// Messages from the parent page (window.postMessage, same origin only):
//
//	{type: "scene", seq, panels: [{base: {w, h, data: Uint8ClampedArray|ArrayBuffer},
//	    map?: {w, h, data: Float32Array}, box?: [x0, y0, x1, y1], peak?: [x, y]}]}
//	{type: "style", alpha, lut: Uint8Array(1024), box: bool, peak: bool}
//	{type: "clear"}
//
// Messages to the parent:
//
//	{type: "ready"}                        the view listens
//	{type: "drawn", seq}                   the frame on screen shows scene seq
//	{type: "hover", panel, x, y, value}    map pixel under the pointer (panel -1: none)
//	{type: "error", message}
//
// All scene logic that needs no browser lives in wasm/view/scene.
package view

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"
	"syscall/js"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"

	"github.com/camlens/camlens/wasm/jsval"
	"github.com/camlens/camlens/wasm/view/scene"
)

// Run runs the view until the page goes away; it returns only when ebiten
// fails to start (the parent has been told why).
func Run() {
	v := &view{}
	ebiten.SetWindowTitle("CamLens view")
	ebiten.SetScreenClearedEveryFrame(false)
	ebiten.SetTPS(30)
	ebiten.SetRunnableOnUnfocused(true)
	v.listen()
	if err := ebiten.RunGame(v); err != nil {
		v.post(map[string]any{"type": "error", "message": err.Error()})
	}
}

// inbox is what the message handler hands to the game loop.
type inbox struct {
	mu    sync.Mutex
	scene *scene.Scene
	style *scene.Style
	clear bool
}

type view struct {
	in inbox

	// pointerIn is set by DOM events: ebiten keeps reporting the last
	// cursor position after the pointer has left the iframe.
	pointerMu sync.Mutex
	pointerIn bool

	shader *ebiten.Shader
	lut    *ebiten.Image

	sc     *scene.Scene
	style  scene.Style
	panels []panelImages
	rects  []scene.Rect

	w, h       int     // canvas size in device pixels
	scale      float64 // device pixels per CSS pixel (at most 2)
	dirty      bool
	ready      bool
	drawnSeq   int
	hoverPanel int
	hoverX     int
	hoverY     int
	hoverV     float32
}

type panelImages struct {
	base *ebiten.Image
	mp   *ebiten.Image
}

// listen installs the message handler; it only copies data into Go memory
// and leaves the GPU work to Update.
func (v *view) listen() {
	handler := js.FuncOf(func(this js.Value, args []js.Value) any {
		ev := args[0]
		if !sameOrigin(ev) {
			return nil
		}
		msg := ev.Get("data")
		if msg.Type() != js.TypeObject {
			return nil
		}
		if err := v.receive(msg); err != nil {
			js.Global().Get("console").Call("error", "camlens view: "+err.Error())
			v.post(map[string]any{"type": "error", "message": err.Error()})
		}
		return nil
	})
	js.Global().Call("addEventListener", "message", handler)
	setIn := func(in bool) js.Func {
		return js.FuncOf(func(js.Value, []js.Value) any {
			v.pointerMu.Lock()
			v.pointerIn = in
			v.pointerMu.Unlock()
			return nil
		})
	}
	doc := js.Global().Get("document")
	doc.Call("addEventListener", "pointermove", setIn(true))
	doc.Call("addEventListener", "pointerdown", setIn(true))
	doc.Get("documentElement").Call("addEventListener", "pointerleave", setIn(false))
	js.Global().Call("addEventListener", "blur", setIn(false))
}

func sameOrigin(ev js.Value) bool {
	origin := js.Global().Get("location").Get("origin").String()
	if ev.Get("origin").String() != origin {
		return false
	}
	src := ev.Get("source")
	return src.Equal(js.Global().Get("parent")) || src.Equal(js.Global())
}

func (v *view) receive(msg js.Value) error {
	switch t := msg.Get("type").String(); t {
	case "scene":
		sc, err := parseScene(msg)
		if err != nil {
			return err
		}
		v.in.mu.Lock()
		v.in.scene, v.in.clear = sc, false
		v.in.mu.Unlock()
	case "style":
		st, err := parseStyle(msg)
		if err != nil {
			return err
		}
		v.in.mu.Lock()
		v.in.style = st
		v.in.mu.Unlock()
	case "clear":
		v.in.mu.Lock()
		v.in.scene, v.in.clear = nil, true
		v.in.mu.Unlock()
	default:
		return fmt.Errorf("unknown message type %q", t)
	}
	return nil
}

func (v *view) post(m map[string]any) {
	parent := js.Global().Get("parent")
	parent.Call("postMessage", js.ValueOf(m), js.Global().Get("location").Get("origin"))
}

func (v *view) Update() error {
	if !v.ready {
		v.ready = true
		s, err := ebiten.NewShader([]byte(scene.Shader))
		if err != nil {
			return fmt.Errorf("view: compile shader: %w", err)
		}
		v.shader = s
		v.post(map[string]any{"type": "ready"})
	}
	v.in.mu.Lock()
	sc, st, clr := v.in.scene, v.in.style, v.in.clear
	v.in.scene, v.in.style, v.in.clear = nil, nil, false
	v.in.mu.Unlock()
	if st != nil {
		v.setStyle(st)
	}
	if clr {
		v.setScene(nil)
	}
	if sc != nil {
		v.setScene(sc)
	}
	v.hover()
	return nil
}

func (v *view) setStyle(st *scene.Style) {
	v.style = *st
	if v.lut == nil {
		v.lut = ebiten.NewImage(256, 1)
	}
	v.lut.WritePixels(premultiply(st.LUT))
	v.dirty = true
}

func (v *view) setScene(sc *scene.Scene) {
	for _, p := range v.panels {
		p.base.Deallocate()
		if p.mp != nil {
			p.mp.Deallocate()
		}
	}
	v.panels, v.sc = nil, sc
	v.dirty = true
	if sc == nil {
		return
	}
	for _, p := range sc.Panels {
		var pi panelImages
		pi.base = ebiten.NewImage(p.Base.W, p.Base.H)
		pi.base.WritePixels(premultiply(p.Base.Pix))
		if p.Map != nil {
			pi.mp = ebiten.NewImage(p.Map.W, p.Map.H)
			pi.mp.WritePixels(scene.Pack16(p.Map.Data))
		}
		v.panels = append(v.panels, pi)
	}
}

// hover finds the map value under the pointer and tells the page when it
// changes.
func (v *view) hover() {
	cx, cy := ebiten.CursorPosition()
	panel, x, y, val := -1, 0, 0, float32(0)
	v.pointerMu.Lock()
	in := v.pointerIn
	v.pointerMu.Unlock()
	if v.sc != nil && in {
		for i, r := range v.rects {
			if px, py, pv, ok := scene.Lookup(v.sc.Panels[i].Map, r, float64(cx)+0.5, float64(cy)+0.5); ok {
				panel, x, y, val = i, px, py, pv
				break
			}
		}
	}
	if panel == v.hoverPanel && x == v.hoverX && y == v.hoverY && val == v.hoverV {
		return
	}
	v.hoverPanel, v.hoverX, v.hoverY, v.hoverV = panel, x, y, val
	v.dirty = true
	v.post(map[string]any{"type": "hover", "panel": panel, "x": x, "y": y, "value": float64(val)})
}

func (v *view) Draw(screen *ebiten.Image) {
	if !v.dirty {
		return
	}
	v.dirty = false
	screen.Fill(color.RGBA{0x1b, 0x1f, 0x24, 0xff})
	v.rects = nil
	if v.sc == nil {
		return
	}
	aspects := make([]float64, len(v.sc.Panels))
	for i, p := range v.sc.Panels {
		aspects[i] = float64(p.Base.W) / float64(p.Base.H)
	}
	v.rects = scene.Layout(v.w, v.h, aspects)
	for i, p := range v.sc.Panels {
		r := v.rects[i]
		if r.Dx() < 1 || r.Dy() < 1 {
			continue
		}
		pi := v.panels[i]
		op := &ebiten.DrawImageOptions{Filter: ebiten.FilterLinear}
		op.GeoM.Scale(r.Dx()/float64(p.Base.W), r.Dy()/float64(p.Base.H))
		op.GeoM.Translate(r.X0, r.Y0)
		screen.DrawImage(pi.base, op)
		if pi.mp == nil {
			continue
		}
		if v.style.Alpha > 0 && v.lut != nil && v.shader != nil {
			drawMap(screen, v.shader, pi.mp, v.lut, r, v.style.Alpha)
		}
		k := float32(v.scale)
		if v.style.ShowBox && p.Box != nil {
			x0, y0 := scene.ToCanvas(p.Map, r, float64(p.Box.Min.X), float64(p.Box.Min.Y))
			x1, y1 := scene.ToCanvas(p.Map, r, float64(p.Box.Max.X), float64(p.Box.Max.Y))
			vector.StrokeRect(screen, float32(x0)+k, float32(y0)+k, float32(x1-x0)-2*k, float32(y1-y0)-2*k, 3*k, color.RGBA{0, 0, 0, 200}, true)
			vector.StrokeRect(screen, float32(x0)+k, float32(y0)+k, float32(x1-x0)-2*k, float32(y1-y0)-2*k, 1.5*k, color.RGBA{0x7f, 0xff, 0x4f, 0xff}, true)
		}
		if v.style.ShowPeak && p.Peak != nil {
			x, y := scene.ToCanvas(p.Map, r, float64(p.Peak.X)+0.5, float64(p.Peak.Y)+0.5)
			vector.StrokeCircle(screen, float32(x), float32(y), 6*k, 3*k, color.RGBA{0, 0, 0, 200}, true)
			vector.StrokeCircle(screen, float32(x), float32(y), 6*k, 1.5*k, color.White, true)
		}
	}
	if v.hoverPanel >= 0 && v.hoverPanel < len(v.rects) {
		cx, cy := ebiten.CursorPosition()
		label := scene.FormatValue(v.hoverV)
		lx, ly := cx+12, cy+12
		if lx+40 > v.w {
			lx = cx - 48
		}
		if ly+18 > v.h {
			ly = cy - 24
		}
		vector.DrawFilledRect(screen, float32(lx-2), float32(ly), 40, 18, color.RGBA{0, 0, 0, 190}, false)
		for _, r := range scene.TextPixels(label, float64(lx+2), float64(ly+4), 2) {
			vector.DrawFilledRect(screen, float32(r.X0), float32(r.Y0), float32(r.Dx()), float32(r.Dy()), color.White, false)
		}
	}
	if v.sc.Seq != v.drawnSeq {
		v.drawnSeq = v.sc.Seq
		v.post(map[string]any{"type": "drawn", "seq": v.sc.Seq})
	}
}

// drawMap draws the packed map mp over r with the colormap shader.
func drawMap(screen *ebiten.Image, sh *ebiten.Shader, mp, lut *ebiten.Image, r scene.Rect, alpha float64) {
	w, h := float32(mp.Bounds().Dx()), float32(mp.Bounds().Dy())
	x0, y0, x1, y1 := float32(r.X0), float32(r.Y0), float32(r.X1), float32(r.Y1)
	vs := []ebiten.Vertex{
		{DstX: x0, DstY: y0, SrcX: 0, SrcY: 0, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
		{DstX: x1, DstY: y0, SrcX: w, SrcY: 0, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
		{DstX: x0, DstY: y1, SrcX: 0, SrcY: h, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
		{DstX: x1, DstY: y1, SrcX: w, SrcY: h, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
	}
	op := &ebiten.DrawTrianglesShaderOptions{Uniforms: map[string]any{"Alpha": float32(alpha)}}
	op.Images[0] = mp
	op.Images[1] = lut
	screen.DrawTrianglesShader(vs, []uint16{0, 1, 2, 1, 2, 3}, sh, op)
}

// Layout renders at the device's resolution (at most twice the CSS
// pixels, to keep software-rendered canvases small).
func (v *view) Layout(outsideWidth, outsideHeight int) (int, int) {
	s := min(max(ebiten.Monitor().DeviceScaleFactor(), 1), 2)
	w, h := int(float64(outsideWidth)*s), int(float64(outsideHeight)*s)
	if w != v.w || h != v.h || s != v.scale {
		v.w, v.h, v.scale = w, h, s
		v.dirty = true
	}
	return v.w, v.h
}

// premultiply converts straight RGBA (ImageData's order) to the
// premultiplied RGBA that WritePixels expects.
func premultiply(pix []byte) []byte {
	out := make([]byte, len(pix))
	for i := 0; i+3 < len(pix); i += 4 {
		a := uint32(pix[i+3])
		out[i] = byte((uint32(pix[i])*a + 127) / 255)
		out[i+1] = byte((uint32(pix[i+1])*a + 127) / 255)
		out[i+2] = byte((uint32(pix[i+2])*a + 127) / 255)
		out[i+3] = byte(a)
	}
	return out
}

// bytesOf copies a typed array or ArrayBuffer into Go memory, at most
// a maximal base image's worth.
func bytesOf(v js.Value) ([]byte, error) { return jsval.Bytes(v, 4*scene.MaxSide*scene.MaxSide) }

func floatsOf(v js.Value) ([]float32, error) {
	b, err := bytesOf(v)
	if err != nil {
		return nil, err
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of float32s", len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
	}
	return out, nil
}

// intOf is an integer field of a message (at most 2³⁰ in magnitude).
func intOf(v js.Value, what string) (int, error) { return jsval.Int(v, what, 1<<30) }

func intsOf(v js.Value, n int, what string) ([]int, error) {
	if !js.Global().Get("Array").Call("isArray", v).Bool() || v.Length() != n {
		return nil, fmt.Errorf("%s is not an array of %d numbers", what, n)
	}
	out := make([]int, n)
	for i := range out {
		var err error
		if out[i], err = intOf(v.Index(i), what); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func parseScene(msg js.Value) (*scene.Scene, error) {
	sc := &scene.Scene{}
	if s := msg.Get("seq"); s.Type() == js.TypeNumber {
		sc.Seq = s.Int()
	}
	panels := msg.Get("panels")
	if !js.Global().Get("Array").Call("isArray", panels).Bool() {
		return nil, errors.New("scene: panels is not an array")
	}
	if panels.Length() > scene.MaxPanels {
		return nil, fmt.Errorf("scene: %d panels (at most %d)", panels.Length(), scene.MaxPanels)
	}
	for i := 0; i < panels.Length(); i++ {
		jp := panels.Index(i)
		var p scene.Panel
		var err error
		base := jp.Get("base")
		if base.Type() != js.TypeObject {
			return nil, fmt.Errorf("scene: panel %d has no base image", i)
		}
		if p.Base.W, err = intOf(base.Get("w"), "base.w"); err != nil {
			return nil, fmt.Errorf("scene: panel %d: %w", i, err)
		}
		if p.Base.H, err = intOf(base.Get("h"), "base.h"); err != nil {
			return nil, fmt.Errorf("scene: panel %d: %w", i, err)
		}
		if p.Base.Pix, err = bytesOf(base.Get("data")); err != nil {
			return nil, fmt.Errorf("scene: panel %d base data: %w", i, err)
		}
		if m := jp.Get("map"); m.Type() == js.TypeObject {
			mp := &scene.Map{}
			if mp.W, err = intOf(m.Get("w"), "map.w"); err != nil {
				return nil, fmt.Errorf("scene: panel %d: %w", i, err)
			}
			if mp.H, err = intOf(m.Get("h"), "map.h"); err != nil {
				return nil, fmt.Errorf("scene: panel %d: %w", i, err)
			}
			if mp.Data, err = floatsOf(m.Get("data")); err != nil {
				return nil, fmt.Errorf("scene: panel %d map data: %w", i, err)
			}
			p.Map = mp
			if b := jp.Get("box"); b.Type() == js.TypeObject {
				c, err := intsOf(b, 4, "box")
				if err != nil {
					return nil, fmt.Errorf("scene: panel %d: %w", i, err)
				}
				r := image.Rect(c[0], c[1], c[2], c[3])
				p.Box = &r
			}
			if pk := jp.Get("peak"); pk.Type() == js.TypeObject {
				c, err := intsOf(pk, 2, "peak")
				if err != nil {
					return nil, fmt.Errorf("scene: panel %d: %w", i, err)
				}
				pt := image.Pt(c[0], c[1])
				p.Peak = &pt
			}
		}
		sc.Panels = append(sc.Panels, p)
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return sc, nil
}

func parseStyle(msg js.Value) (*scene.Style, error) {
	st := &scene.Style{ShowBox: msg.Get("box").Truthy(), ShowPeak: msg.Get("peak").Truthy()}
	a := msg.Get("alpha")
	if a.Type() != js.TypeNumber {
		return nil, errors.New("style: alpha is not a number")
	}
	st.Alpha = a.Float()
	var err error
	if st.LUT, err = bytesOf(msg.Get("lut")); err != nil {
		return nil, fmt.Errorf("style: lut: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	return st, nil
}
