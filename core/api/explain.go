package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/imaging"
)

// explainParams are the query parameters of /api/explain; true marks the
// repeatable ones.
var explainParams = map[string]bool{
	"model": false, "method": false, "class": false, "layer": true, "target": false,
	"counterfactual": false, "crop": false, "format": false, "colormap": false, "alpha": false, "topk": false,
}

// imageTypes are the body content types /api/explain takes besides
// multipart/form-data. The format itself is sniffed from the bytes.
var imageTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/bmp": true, "image/x-ms-bmp": true,
	"image/webp": true, "application/octet-stream": true,
}

// maxCropCoord bounds each number of crop (no image is this large).
const maxCropCoord = 1 << 24

// request is a parsed /api/explain query.
type request struct {
	model, method, class, target, format string
	layers                               []string
	counterfactual                       bool
	crop                                 image.Rectangle
	colormap                             *imaging.Colormap
	alpha                                float64
	topk                                 int
}

func (h *Handler) parseExplain(u *url.URL) (*request, *Error) {
	q, e := query(u, explainParams)
	if e != nil {
		return nil, e
	}
	req := &request{
		model: q.Get("model"), method: q.Get("method"), class: q.Get("class"),
		target: q.Get("target"), format: q.Get("format"), alpha: 0.5, topk: 5,
	}
	if req.model == "" {
		req.model = h.DefaultModel()
	} else if _, ok := h.cat.byID[req.model]; !ok {
		return nil, errorf(http.StatusBadRequest, CodeUnknownModel, "unknown model %q (models: %s)", req.model, h.modelIDs())
	}
	if req.method == "" {
		req.method = "gradcam"
	}
	var info *cam.MethodInfo
	var names []string
	for _, m := range cam.Methods() {
		names = append(names, m.Name)
		if m.Name == req.method {
			info = &m
		}
	}
	if info == nil {
		return nil, errorf(http.StatusBadRequest, CodeUnknownMethod, "unknown method %q (methods: %s)", req.method, strings.Join(names, ", "))
	}
	if info.Slow && !h.cfg.AllowSlow {
		return nil, errorf(http.StatusBadRequest, CodeMethodDisabled, "method %q runs one forward pass per channel of the target layer and is disabled on this server; run it in the browser or with scripts/explain", req.method)
	}
	for _, l := range q["layer"] {
		if l == "" {
			return nil, badParam("empty layer name")
		}
		req.layers = append(req.layers, l)
	}
	switch req.target {
	case "":
		req.target = "logit"
	case "logit", "softmax":
	default:
		return nil, badParam("target %q: want logit or softmax", req.target)
	}
	if v := q.Get("counterfactual"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badParam("counterfactual %q: want true or false", v)
		}
		req.counterfactual = b
	}
	if v := q.Get("crop"); v != "" {
		r, e := parseCrop(v)
		if e != nil {
			return nil, e
		}
		req.crop = r
	}
	switch req.format {
	case "":
		req.format = "png"
	case "png", "json":
	default:
		return nil, badParam("format %q: want png or json", req.format)
	}
	cm := q.Get("colormap")
	if cm == "" {
		cm = "jet"
	}
	var err error
	if req.colormap, err = imaging.LookupColormap(cm); err != nil {
		return nil, badParam("colormap %q: want one of %s", cm, strings.Join(imaging.ColormapNames(), ", "))
	}
	if v := q.Get("alpha"); v != "" {
		a, err := strconv.ParseFloat(v, 64)
		if err != nil || !(a >= 0 && a <= 1) {
			return nil, badParam("alpha %q: want a number from 0 to 1", v)
		}
		req.alpha = a
	}
	if v := q.Get("topk"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 || k > 1000 {
			return nil, badParam("topk %q: want an integer from 1 to 1000", v)
		}
		req.topk = k
	}
	return req, nil
}

// parseCrop parses x,y,w,h (x, y ≥ 0; w, h > 0).
func parseCrop(s string) (image.Rectangle, *Error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return image.Rectangle{}, errorf(http.StatusBadRequest, CodeBadCrop, "crop %q: want x,y,w,h", s)
	}
	var v [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return image.Rectangle{}, errorf(http.StatusBadRequest, CodeBadCrop, "crop %q: %q is not an integer", s, p)
		}
		if n > maxCropCoord {
			return image.Rectangle{}, errorf(http.StatusBadRequest, CodeBadCrop, "crop %q: %d is larger than %d", s, n, maxCropCoord)
		}
		v[i] = n
	}
	if v[0] < 0 || v[1] < 0 || v[2] <= 0 || v[3] <= 0 {
		return image.Rectangle{}, errorf(http.StatusBadRequest, CodeBadCrop, "crop %q: want x, y ≥ 0 and w, h > 0", s)
	}
	return image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]), nil
}

// resolve checks the model-dependent parameters: class and layers.
func resolve(m *cam.Model, req *request) (int, *Error) {
	layers := m.Layers()
	for _, name := range req.layers {
		found := false
		for _, l := range layers {
			found = found || l.Name == name
		}
		if !found {
			names := make([]string, 0, len(layers))
			for _, l := range layers {
				names = append(names, l.Name)
			}
			if len(names) > 30 {
				names = append(names[:30], "…")
			}
			return 0, errorf(http.StatusBadRequest, CodeUnknownLayer, "model %q has no target layer %q (layers: %s)", req.model, name, strings.Join(names, ", "))
		}
	}
	switch req.class {
	case "", "top":
		return -1, nil
	}
	if n, err := strconv.Atoi(req.class); err == nil {
		if n < 0 || n >= m.NumClasses() {
			return 0, errorf(http.StatusBadRequest, CodeUnknownClass, "class %d out of range: model %q has classes 0 to %d", n, req.model, m.NumClasses()-1)
		}
		return n, nil
	}
	labels := m.Labels()
	for i, l := range labels {
		if strings.EqualFold(l, req.class) {
			return i, nil
		}
	}
	if len(labels) > 30 {
		labels = append(labels[:30], "…")
	}
	return 0, errorf(http.StatusBadRequest, CodeUnknownClass, "class %q: not top, a class index, or a label of model %q (%s)", req.class, req.model, strings.Join(labels, ", "))
}

// errBodyTooLarge is returned by capReader past its limit.
var errBodyTooLarge = errors.New("body too large")

// capReader reads at most limit bytes and fails with errBodyTooLarge when
// the body has more.
type capReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// readImage reads the image bytes of the request body.
func (h *Handler) readImage(r *http.Request) ([]byte, *Error) {
	limit := h.cfg.MaxBodyBytes
	tooLarge := errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body larger than %d bytes", limit)
	ct := r.Header.Get("Content-Type")
	mt, params, err := "", map[string]string(nil), error(nil)
	if ct != "" {
		if mt, params, err = mime.ParseMediaType(ct); err != nil {
			return nil, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedType, "malformed Content-Type %q: %v", ct, err)
		}
	}
	if r.Body == nil {
		return nil, errorf(http.StatusBadRequest, CodeEmptyBody, "empty body: send the image bytes, or a multipart form with an \"image\" file")
	}
	body := &capReader{r: r.Body, left: limit, limit: limit}
	var data []byte
	switch {
	case mt == "multipart/form-data":
		b := params["boundary"]
		if b == "" {
			return nil, errorf(http.StatusBadRequest, CodeBadMultipart, "multipart/form-data without a boundary")
		}
		mr := multipart.NewReader(body, b)
		for {
			part, err := mr.NextPart()
			if errors.Is(err, errBodyTooLarge) {
				return nil, tooLarge
			}
			if errors.Is(err, io.EOF) {
				return nil, errorf(http.StatusBadRequest, CodeMissingImage, "multipart body without an \"image\" field")
			}
			if err != nil {
				return nil, errorf(http.StatusBadRequest, CodeBadMultipart, "malformed multipart body: %v", err)
			}
			if part.FormName() != "image" {
				continue
			}
			data, err = io.ReadAll(part)
			if errors.Is(err, errBodyTooLarge) {
				return nil, tooLarge
			}
			if err != nil {
				return nil, errorf(http.StatusBadRequest, CodeBadMultipart, "malformed multipart body: %v", err)
			}
			break
		}
	case mt == "" || imageTypes[mt]:
		data, err = io.ReadAll(body)
		if errors.Is(err, errBodyTooLarge) {
			return nil, tooLarge
		}
		if err != nil {
			return nil, errorf(http.StatusBadRequest, CodeBadImage, "reading the body: %v", err)
		}
	default:
		return nil, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedType,
			"Content-Type %q: send the image bytes as image/png, image/jpeg, image/gif, image/bmp, image/webp or application/octet-stream, or a multipart/form-data body with an \"image\" file", mt)
	}
	if len(data) == 0 {
		return nil, errorf(http.StatusBadRequest, CodeEmptyBody, "empty image: send the image bytes, or a multipart form with an \"image\" file")
	}
	return data, nil
}

// decodeImage checks the image's header against the limits and the crop,
// then decodes it.
func (h *Handler) decodeImage(data []byte, crop image.Rectangle) (image.Image, *Error) {
	cfg, format, err := imaging.DecodeConfig(data)
	if err == nil && int64(cfg.Width)*int64(cfg.Height) > h.cfg.MaxPixels {
		return nil, errorf(http.StatusRequestEntityTooLarge, CodeImageTooLarge, "%s image is %d×%d = %d pixels, limit %d",
			format, cfg.Width, cfg.Height, int64(cfg.Width)*int64(cfg.Height), h.cfg.MaxPixels)
	}
	if err == nil && !crop.Empty() && !crop.Overlaps(image.Rect(0, 0, cfg.Width, cfg.Height)) {
		return nil, errorf(http.StatusBadRequest, CodeBadCrop, "crop x=%d y=%d w=%d h=%d does not overlap the %d×%d image",
			crop.Min.X, crop.Min.Y, crop.Dx(), crop.Dy(), cfg.Width, cfg.Height)
	}
	var img image.Image
	if err == nil {
		img, _, err = imaging.Decode(data)
	}
	switch {
	case err == nil:
		return img, nil
	case errors.Is(err, imaging.ErrFormat):
		return nil, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedImage, "the body is not a PNG, JPEG, GIF, BMP or WebP image (%v)", err)
	case errors.Is(err, imaging.ErrTooLarge):
		return nil, errorf(http.StatusRequestEntityTooLarge, CodeImageTooLarge, "%s image declares more than %d pixels in its header, limit %d",
			format, imaging.MaxPixels, h.cfg.MaxPixels)
	}
	return nil, errorf(http.StatusBadRequest, CodeBadImage, "%v", err)
}

// explainJSON is the format=json answer. Its fields match the JSON report
// of scripts/explain, plus the map.
type explainJSON struct {
	Model          string    `json:"model"`
	Method         string    `json:"method"`
	Target         string    `json:"target"`
	Counterfactual bool      `json:"counterfactual"`
	Layers         []string  `json:"layers"`
	Class          int       `json:"class"`
	Label          string    `json:"label"`
	Logits         []float32 `json:"logits"`
	TopK           []topK    `json:"topk"`
	Size           [2]int    `json:"size"` // W, H of the map (the network input)
	Map            []float32 `json:"map"`  // H×W row-major, in [0, 1]
	Box            box       `json:"box"`  // in map coordinates
	ImageBox       *box      `json:"image_box,omitempty"`
	Peak           [2]int    `json:"peak"` // x, y in map coordinates
	// Note, when present, says why the map is all zero (cam.Result.Note).
	Note    string  `json:"note,omitempty"`
	Timings timings `json:"timings_ms"`
}

type topK struct {
	Class int     `json:"class"`
	Label string  `json:"label"`
	Logit float32 `json:"logit"`
	Prob  float32 `json:"prob"`
}

type box struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

type timings struct {
	Decode   float64 `json:"decode"` // read, check and decode the image
	Model    float64 `json:"model"`  // load the model (0 when cached)
	Forward  float64 `json:"forward"`
	Backward float64 `json:"backward"`
	Method   float64 `json:"method"`
	Total    float64 `json:"total"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// explain serves POST /api/explain.
func (h *Handler) explain(w http.ResponseWriter, r *http.Request) *Error {
	t0 := time.Now()
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return errorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body of %d bytes, limit %d", r.ContentLength, h.cfg.MaxBodyBytes)
	}
	req, e := h.parseExplain(r.URL)
	if e != nil {
		return e
	}
	data, e := h.readImage(r)
	if e != nil {
		return e
	}
	tm := time.Now()
	model, e := h.modelFor(req.model)
	if e != nil {
		return e
	}
	dModel := time.Since(tm)
	class, e := resolve(model, req)
	if e != nil {
		return e
	}
	img, e := h.decodeImage(data, req.crop)
	if e != nil {
		return e
	}
	data = nil
	crop := req.crop
	if !crop.Empty() {
		crop = crop.Add(img.Bounds().Min)
	}
	geo, err := imaging.InputGeometry(img.Bounds(), crop, model.Meta().Preprocess)
	if err != nil {
		if errors.Is(err, imaging.ErrCrop) {
			return errorf(http.StatusBadRequest, CodeBadCrop, "%v", err)
		}
		return errorf(http.StatusInternalServerError, CodeModelUnavailable, "model %q: %v", req.model, err)
	}
	dDecode := time.Since(t0) - dModel
	sess, err := model.SessionFromImage(img, crop)
	if err != nil {
		return errorf(http.StatusBadRequest, CodeExplainFailed, "%v", err)
	}
	res, err := sess.Explain(r.Context(), cam.Request{
		Method: req.method, Class: class, Target: req.target, Layers: req.layers, Counterfactual: req.counterfactual,
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return errorf(http.StatusServiceUnavailable, CodeCanceled, "%v", err)
		}
		return errorf(http.StatusBadRequest, CodeExplainFailed, "%v", err)
	}
	tt := timings{
		Decode: ms(dDecode), Model: ms(dModel), Forward: ms(sess.ForwardTime() + res.Timings.Forward),
		Backward: ms(res.Timings.Backward), Method: ms(res.Timings.Method),
	}
	w.Header().Set("X-CamLens-Class", strconv.Itoa(res.Class))
	w.Header().Set("X-CamLens-Label", url.PathEscape(res.Label))
	w.Header().Set("X-CamLens-Method", res.Method)
	if res.Note != "" {
		w.Header().Set("X-CamLens-Note", url.PathEscape(res.Note))
	}
	if req.format == "json" {
		out := explainJSON{
			Model: req.model, Method: res.Method, Target: res.Target, Counterfactual: res.Counterfactual,
			Layers: res.Layers, Class: res.Class, Label: res.Label, Logits: sess.Logits(),
			Size: [2]int{res.W, res.H}, Map: res.Map,
			Box:  box{res.Box.Min.X, res.Box.Min.Y, res.Box.Dx(), res.Box.Dy()},
			Peak: [2]int{res.Peak.X, res.Peak.Y}, Note: res.Note,
		}
		if out.Layers == nil {
			out.Layers = []string{}
		}
		if !res.Box.Empty() {
			b := geo.RectToImage(res.Box).Sub(img.Bounds().Min)
			out.ImageBox = &box{b.Min.X, b.Min.Y, b.Dx(), b.Dy()}
		}
		for _, p := range sess.Predictions(req.topk) {
			out.TopK = append(out.TopK, topK{p.Class, p.Label, p.Logit, p.Prob})
		}
		tt.Total = ms(time.Since(t0))
		out.Timings = tt
		w.Header().Set("Server-Timing", serverTiming(tt))
		writeJSON(w, r, http.StatusOK, out)
		return nil
	}
	base := overlayBase(img, geo, h.cfg.MaxOverlaySide)
	var buf bytes.Buffer
	if err := imaging.EncodePNG(&buf, imaging.Overlay(base, res.Map, res.W, res.H, req.colormap, req.alpha)); err != nil {
		panic(fmt.Sprintf("api: %v", err)) // writing to a bytes.Buffer does not fail
	}
	tt.Total = ms(time.Since(t0))
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Server-Timing", serverTiming(tt))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}

func serverTiming(t timings) string {
	return fmt.Sprintf("decode;dur=%.1f, model;dur=%.1f, forward;dur=%.1f, backward;dur=%.1f, method;dur=%.1f, total;dur=%.1f",
		t.Decode, t.Model, t.Forward, t.Backward, t.Method, t.Total)
}

// overlayBase returns what the overlay is drawn on: the part of img that
// became the network input (geo.Canvas), black where preprocessing pads,
// scaled down (bilinear, antialiased) so that its longer side is at most
// maxSide.
func overlayBase(img image.Image, geo imaging.Geometry, maxSide int) *image.RGBA {
	cw, ch := geo.Canvas.Dx(), geo.Canvas.Dy()
	s := min(1, float64(maxSide)/float64(max(cw, ch)))
	ow, oh := max(1, int(math.Round(float64(cw)*s))), max(1, int(math.Round(float64(ch)*s)))
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	draw.Draw(out, out.Bounds(), image.Black, image.Point{}, draw.Src)
	if s == 1 {
		draw.Draw(out, geo.Crop.Sub(geo.Canvas.Min), img, geo.Crop.Min, draw.Src)
		return out
	}
	sx, sy := float64(ow)/float64(cw), float64(oh)/float64(ch)
	c := geo.Crop.Sub(geo.Canvas.Min)
	dst := image.Rect(int(math.Round(float64(c.Min.X)*sx)), int(math.Round(float64(c.Min.Y)*sy)),
		int(math.Round(float64(c.Max.X)*sx)), int(math.Round(float64(c.Max.Y)*sy)))
	xdraw.BiLinear.Scale(out, dst, img, geo.Crop, xdraw.Src, nil)
	return out
}
