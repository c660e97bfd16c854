package worker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"path"
	"strings"
	"time"

	"golang.org/x/image/draw"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/onnx"
)

// Sizes of the images the engine sends to the page.
const (
	PreviewSide = 640 // longest side of the crop editor's preview
	BaseSide    = 512 // longest side of the base image under the map
)

// state is what the engine holds between requests.
type state struct {
	kernels nn.Kernels // nil: pure Go

	model     *cam.Model
	modelName string
	format    string

	img      image.Image
	imgName  string
	imgFmt   string
	decodeMS float64

	sess     *cam.Session
	geom     imaging.Geometry
	base     *image.RGBA
	preds    []cam.Prediction
	predTime Fields

	last *cam.Result
}

// loadModel parses a CamLens model file or imports an ONNX model. On error
// the previous model stays loaded.
func (s *state) loadModel(data []byte, name string) (Fields, error) {
	t0 := time.Now()
	if len(data) == 0 {
		return nil, inputErr(fmt.Errorf("%s is empty (0 bytes)", displayName(name)))
	}
	if lim, what := modelLimit(name, data); len(data) > lim {
		return nil, inputErr(fmt.Errorf("%s is %s; the limit for %s is %s", displayName(name), formatBytes(len(data)), what, formatBytes(lim)))
	}
	// A model file is not sniffed for images (its own check is cheap; the
	// image decoders' is not, in freshly loaded WebAssembly).
	if !isSafetensors(data) {
		if what, ok := imageKind(data); ok {
			return nil, inputErr(fmt.Errorf("%s is %s, not a model: open it with “Open image…” or drop it on the page", displayName(name), what))
		}
	}
	var (
		m   *modelfile.Model
		err error
	)
	format := modelFormat(name, data)
	switch format {
	case "camlens":
		m, err = modelfile.Parse(data)
	case "onnx":
		m, err = onnx.Import(data)
		if err == nil && m.Meta.Name == "" {
			m.Meta.Name = strings.TrimSuffix(path.Base(name), path.Ext(name))
		}
	default:
		if what := modelfile.DescribeKind(data); what != "" {
			return nil, inputErr(fmt.Errorf("%s is neither a CamLens model (.safetensors) nor an ONNX model: it looks like %s", displayName(name), what))
		}
		return nil, inputErr(fmt.Errorf("%s is neither a CamLens model (.safetensors) nor an ONNX model (first bytes % x)", displayName(name), data[:min(len(data), 8)]))
	}
	if err != nil {
		return nil, inputErr(fmt.Errorf("%s: %w", displayName(name), err))
	}
	cm, err := cam.NewModel(m)
	if err != nil {
		return nil, inputErr(fmt.Errorf("%s: %w", displayName(name), err))
	}
	params := 0
	for _, t := range m.Weights {
		params += len(t.Data)
	}
	s.model, s.modelName, s.format = cm, name, format
	s.resetSession()
	return Fields{"model": modelInfo(cm, format, params), "timings": Fields{"load": ms(time.Since(t0))}}, nil
}

func displayName(name string) string {
	if name == "" {
		return "the model file"
	}
	return path.Base(name)
}

// isSafetensors checks the container's frame: an 8-byte little-endian
// header length followed by a JSON object that fits in the data.
func isSafetensors(data []byte) bool {
	if len(data) < 10 {
		return false
	}
	n := binary.LittleEndian.Uint64(data[:8])
	return n >= 2 && n <= uint64(len(data)-8) && data[8] == '{'
}

// looksLikeONNX: an ONNX ModelProto starts with field 1 (ir_version,
// varint), tag 0x08.
func looksLikeONNX(data []byte) bool { return len(data) > 2 && data[0] == 0x08 }

func modelInfo(m *cam.Model, format string, params int) Fields {
	meta := m.Meta()
	var layers []Fields
	for _, l := range m.Layers() {
		layers = append(layers, Fields{"name": l.Name, "shape": append([]int(nil), l.Shape...)})
	}
	p := meta.Preprocess
	title := meta.Title
	if title == "" {
		title = meta.Name
	}
	return Fields{
		"name": meta.Name, "title": title, "description": meta.Description, "format": format,
		"labels": m.Labels(), "layers": layers, "defaultLayer": m.DefaultLayer(),
		"input": Fields{"width": p.Width, "height": p.Height, "channels": p.Channels, "fit": p.Fit, "resize": p.Resize, "crop": p.Crop},
		"provenance": Fields{
			"source": meta.Provenance.Source, "license": meta.Provenance.License,
			"attribution": meta.Provenance.Attribution, "notes": meta.Provenance.Notes,
		},
		"parameters": params,
	}
}

// setImage decodes an image. On error the previous image stays. With
// preview, the answer has one for the crop editor.
func (s *state) setImage(data []byte, name string, preview bool) (Fields, error) {
	if len(data) > MaxImageBytes {
		return nil, inputErr(fmt.Errorf("%s is %s; the limit for an image is %s", imageName(name), formatBytes(len(data)), formatBytes(MaxImageBytes)))
	}
	t0 := time.Now()
	img, format, err := imaging.Decode(data)
	if err != nil {
		if what := modelfile.DescribeKind(data); errors.Is(err, imaging.ErrFormat) && isModelKind(what) {
			return nil, inputErr(fmt.Errorf("%s is %s, not an image: open it with “Open model file…”", imageName(name), modelKindOnly(what)))
		}
		return nil, inputErr(fmt.Errorf("%s: %w", imageName(name), err))
	}
	s.decodeMS = ms(time.Since(t0))
	return s.imageSet(img, name, format, preview), nil
}

// setPixels is setImage for an image the page decoded: 8-bit RGBA rows,
// opaque (see Request.Pixels). The result is the same image.RGBA Go's PNG
// decoder gives for an opaque 8-bit PNG, so everything after is the same.
func (s *state) setPixels(pix []byte, w, h int, name string, preview bool) (Fields, error) {
	switch {
	case w <= 0 || h <= 0:
		return nil, inputErr(fmt.Errorf("%s: decoded image is %d×%d: empty image", imageName(name), w, h))
	case int64(w)*int64(h) > imaging.MaxPixels:
		return nil, inputErr(fmt.Errorf("%s: image is %d×%d = %d pixels, limit %d", imageName(name), w, h, int64(w)*int64(h), imaging.MaxPixels))
	case len(pix) != 4*w*h:
		return nil, inputErr(fmt.Errorf("%s: decoded image is %d bytes, want 4×%d×%d = %d", imageName(name), len(pix), w, h, 4*w*h))
	}
	if i := firstTranslucent(pix); i >= 0 {
		return nil, inputErr(fmt.Errorf("%s: decoded pixel %d is not opaque (alpha %d); send the file's bytes instead", imageName(name), i, pix[4*i+3]))
	}
	s.decodeMS = 0
	img := &image.RGBA{Pix: pix, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	res := s.imageSet(img, name, imaging.FormatPNG, preview)
	res["decoder"] = "browser"
	return res, nil
}

// firstTranslucent returns the index of the first RGBA pixel in pix whose
// alpha is not 255, or −1. A leaf function: in js/wasm every loop
// back-edge of a large function costs V8's tier-up budget in proportion to
// the function's size, and an optimised copy of the caller would be built
// for one image.
//
//go:noinline
func firstTranslucent(pix []byte) int {
	for i := 3; i < len(pix); i += 4 {
		if pix[i] != 0xff {
			return i / 4
		}
	}
	return -1
}

// imageSet makes img the current image (a new session) and describes it,
// with a preview for the crop box if asked: the image scaled to fit in
// PreviewSide.
func (s *state) imageSet(img image.Image, name, format string, preview bool) Fields {
	s.img, s.imgName, s.imgFmt = img, name, format
	s.resetSession()
	b := img.Bounds()
	res := Fields{
		"width": b.Dx(), "height": b.Dy(), "format": format, "decoder": "go",
		"timings": Fields{"decode": s.decodeMS},
	}
	if preview {
		pw, ph := fitSide(b.Dx(), b.Dy(), PreviewSide)
		prev := image.NewRGBA(image.Rect(0, 0, pw, ph))
		drawScaled(prev, prev.Bounds(), img, b)
		res["preview"] = Fields{"w": pw, "h": ph, "data": prev.Pix}
	}
	return res
}

func imageName(name string) string {
	if name == "" {
		return "the image"
	}
	return path.Base(name)
}

// fitSide scales w×h so that its longer side is at most side (never up).
func fitSide(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, int(math.Round(float64(h)*float64(side)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(side)/float64(h)))), side
}

func (s *state) resetSession() {
	if s.sess != nil {
		// Its activations go back to the model, so the next image's
		// forward pass allocates nothing (about 13 MB on the face model).
		s.sess.Release()
	}
	s.sess, s.base, s.preds, s.last = nil, nil, nil, nil
}

// predict preprocesses the image (crop, fit, resize, normalise), runs the
// forward pass once in a new session and returns the top-k classes and the
// base image: the region of the photo the network saw (black where
// "pad-square" padded), which the map covers exactly.
func (s *state) predict(crop []int, k int) (Fields, error) {
	if s.model == nil {
		return nil, stateErr("no model loaded")
	}
	if s.img == nil {
		return nil, stateErr("no image loaded")
	}
	r, err := rect(crop)
	if err != nil {
		return nil, err
	}
	p := s.model.Meta().Preprocess
	t0 := time.Now()
	g, err := imaging.InputGeometry(s.img.Bounds(), r, p)
	if err != nil {
		return nil, inputErr(err)
	}
	x, err := imaging.ToTensor(s.img, r, p)
	if err != nil {
		return nil, inputErr(err)
	}
	prep := time.Since(t0)
	sess, err := s.model.NewSession(x, cam.WithKernels(s.kernels))
	if err != nil {
		return nil, inputErr(err)
	}
	if k <= 0 {
		k = 5
	}
	if s.sess != nil {
		s.sess.Release() // after the new one exists: an error keeps the old
	}
	s.sess, s.geom, s.last = sess, g, nil
	s.preds = sess.Predictions(k)
	s.base = renderBase(s.img, g, max(p.Width, p.Height))
	s.predTime = Fields{"decode": s.decodeMS, "preprocess": ms(prep), "forward": ms(sess.ForwardTime())}
	return Fields{
		"predictions": predictionFields(s.preds),
		"base":        Fields{"w": s.base.Rect.Dx(), "h": s.base.Rect.Dy(), "data": s.base.Pix},
		"region":      rectFields(g.Canvas),
		"crop":        rectFields(g.Crop),
		"timings":     s.predTime,
	}, nil
}

func predictionFields(ps []cam.Prediction) []Fields {
	out := make([]Fields, len(ps))
	for i, p := range ps {
		out[i] = Fields{"class": p.Class, "label": p.Label, "logit": float64(p.Logit), "prob": float64(p.Prob)}
	}
	return out
}

// rectFields is [x, y, w, h].
func rectFields(r image.Rectangle) []int { return []int{r.Min.X, r.Min.Y, r.Dx(), r.Dy()} }

// renderBase draws the geometry's canvas region of img: the crop scaled
// into its place, black elsewhere. The longer side is the canvas's, but at
// least minSide (the network's input) and at most BaseSide.
func renderBase(img image.Image, g imaging.Geometry, minSide int) *image.RGBA {
	cw, ch := g.Canvas.Dx(), g.Canvas.Dy()
	side := min(max(max(cw, ch), minSide), BaseSide)
	var bw, bh int
	if cw >= ch {
		bw, bh = side, max(1, int(math.Round(float64(ch)*float64(side)/float64(cw))))
	} else {
		bw, bh = max(1, int(math.Round(float64(cw)*float64(side)/float64(ch)))), side
	}
	out := image.NewRGBA(image.Rect(0, 0, bw, bh))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.RGBA{0, 0, 0, 255}), image.Point{}, draw.Src)
	sx, sy := float64(bw)/float64(cw), float64(bh)/float64(ch)
	dst := image.Rect(
		int(math.Round(float64(g.Crop.Min.X-g.Canvas.Min.X)*sx)), int(math.Round(float64(g.Crop.Min.Y-g.Canvas.Min.Y)*sy)),
		int(math.Round(float64(g.Crop.Max.X-g.Canvas.Min.X)*sx)), int(math.Round(float64(g.Crop.Max.Y-g.Canvas.Min.Y)*sy)),
	)
	drawScaled(out, dst, img, g.Crop)
	return out
}

// drawScaled draws the part sr of src into the part dr of dst, scaled
// bilinearly. Where nothing is scaled it copies (with std's fast
// conversions): at scale 1 the bilinear kernel gives the same pixels
// (TestRenderBaseCopies), and the copy spares its loops, tens to hundreds
// of milliseconds in freshly loaded WebAssembly on the way to the first
// heatmap.
func drawScaled(dst *image.RGBA, dr image.Rectangle, src image.Image, sr image.Rectangle) {
	if dr.Size() == sr.Size() {
		draw.Draw(dst, dr, src, sr.Min, draw.Src)
		return
	}
	draw.BiLinear.Scale(dst, dr, src, sr, draw.Src, nil)
}

// explain runs one explanation on the current session.
func (s *state) explain(ctx context.Context, r *Request, progress func(done, total int)) (Fields, error) {
	if s.sess == nil {
		return nil, stateErr("nothing to explain: load a model and an image, then predict")
	}
	t0 := time.Now()
	res, err := s.runExplain(ctx, r, progress)
	if err != nil {
		return nil, err
	}
	total := time.Since(t0)
	s.last = res
	out := Fields{
		"method": res.Method, "class": res.Class, "label": res.Label, "layers": append([]string{}, res.Layers...),
		"target": res.Target, "counterfactual": res.Counterfactual,
		"w": res.W, "h": res.H, "map": append([]float32(nil), res.Map...),
		"peak": []int{res.Peak.X, res.Peak.Y},
		"timings": Fields{
			"extraForward": ms(res.Timings.Forward), "backward": ms(res.Timings.Backward),
			"method": ms(res.Timings.Method), "total": ms(total),
		},
	}
	if res.Note != "" {
		out["note"] = res.Note
	}
	if !res.Box.Empty() {
		out["box"] = []int{res.Box.Min.X, res.Box.Min.Y, res.Box.Max.X, res.Box.Max.Y}
	}
	if res.Raw != nil && len(res.Raw.Shape) >= 2 {
		sh := res.Raw.Shape
		out["raw"] = Fields{"w": sh[len(sh)-1], "h": sh[len(sh)-2], "data": append([]float32(nil), res.Raw.Data...)}
	}
	if res.Guided != nil {
		g := guidedImage(res.Guided, res.W, res.H, res.C, s.model.Meta().Preprocess.Channels)
		out["guided"] = Fields{"w": res.W, "h": res.H, "data": g.Pix}
	}
	return out, nil
}

// runExplain computes on the session the explanation r asks for (explain,
// metrics). A cancel stays a cancel; any other error is the input's.
func (s *state) runExplain(ctx context.Context, r *Request, progress func(done, total int)) (*cam.Result, error) {
	res, err := s.sess.Explain(ctx, cam.Request{
		Method: r.Method, Class: r.Class, Target: r.Target, Layers: r.Layers,
		Counterfactual: r.Counterfactual, EigenSmooth: r.EigenSmooth, Progress: progress,
	})
	return res, requestErr(err)
}

// requestErr classifies an error of a computation a request asked for:
// nil stays nil, a cancel stays a cancel, anything else is the input's.
func requestErr(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	return inputErr(err)
}

// guidedImage shows a signed H×W×C gradient as pytorch-grad-cam's
// deprocess_image does: subtract the mean, divide by the standard
// deviation (+1e-5), scale by 0.1, add 0.5, clip to [0, 1]; channels in the
// model's order are shown as RGB (BGR swapped, one channel as grey).
func guidedImage(g []float32, w, h, c int, channels string) *image.RGBA {
	var sum, sq float64
	for _, v := range g {
		sum += float64(v)
	}
	mean := sum / float64(len(g))
	for _, v := range g {
		d := float64(v) - mean
		sq += d * d
	}
	std := math.Sqrt(sq / float64(len(g)))
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	px := func(v float32) uint8 {
		x := (float64(v)-mean)/(std+1e-5)*0.1 + 0.5
		return uint8(math.Round(255 * min(max(x, 0), 1)))
	}
	for i := 0; i < w*h; i++ {
		var r, gg, b uint8
		switch {
		case c >= 3 && channels == "BGR":
			b, gg, r = px(g[i*c]), px(g[i*c+1]), px(g[i*c+2])
		case c >= 3:
			r, gg, b = px(g[i*c]), px(g[i*c+1]), px(g[i*c+2])
		default:
			r = px(g[i*c])
			gg, b = r, r
		}
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = r, gg, b, 255
	}
	return out
}

func colormapNames() []string { return imaging.ColormapNames() }

// colormapLUT returns the named colormap as 256 RGBA entries.
func colormapLUT(name string) (Fields, error) {
	cm, err := imaging.LookupColormap(name)
	if err != nil {
		return nil, inputErr(err)
	}
	t := cm.Table()
	lut := make([]byte, 0, 1024)
	for _, c := range t {
		lut = append(lut, c.R, c.G, c.B, c.A)
	}
	return Fields{"lut": lut}, nil
}

// pngBytes encodes an image.
func pngBytes(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := imaging.EncodePNG(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
