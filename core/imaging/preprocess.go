package imaging

import (
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// MaxInputSize bounds Preprocess.Width and Height.
const MaxInputSize = 4096

// ErrCrop is returned (wrapped) when a crop rectangle does not overlap the
// image.
var ErrCrop = errors.New("crop outside the image")

// Geometry says which part of an image becomes the network input, in image
// coordinates, so a map computed on the input can be drawn over the image.
type Geometry struct {
	// Crop is the region of the image that is used: the requested crop
	// clipped to the image bounds, or the whole image.
	Crop image.Rectangle
	// Canvas is the rectangle, in image coordinates, that is resized onto
	// the Width×Height input. It equals Crop for "stretch", lies inside Crop
	// for "center-crop", and contains Crop for "pad-square", where the part
	// outside Crop is black padding (not image content, even where the image
	// has pixels there).
	Canvas image.Rectangle
	// Width and Height are the input size (Preprocess.Width, Height).
	Width, Height int
}

// ToImage maps a point in input coordinates (0..Width, 0..Height; pixel
// centres at +0.5) to image coordinates.
func (g Geometry) ToImage(x, y float64) (float64, float64) {
	return float64(g.Canvas.Min.X) + x*float64(g.Canvas.Dx())/float64(g.Width),
		float64(g.Canvas.Min.Y) + y*float64(g.Canvas.Dy())/float64(g.Height)
}

// RectToImage maps a rectangle of input pixels to the smallest rectangle of
// image pixels that covers it.
func (g Geometry) RectToImage(r image.Rectangle) image.Rectangle {
	x0, y0 := g.ToImage(float64(r.Min.X), float64(r.Min.Y))
	x1, y1 := g.ToImage(float64(r.Max.X), float64(r.Max.Y))
	return image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
}

// InputGeometry computes the geometry ToTensor uses for an image with the
// given bounds. crop is in image coordinates; an empty crop means the whole
// image, and a crop that extends past the image is clipped to it (as
// face-api clips face boxes at the image border); a crop that does not
// overlap the image is an error wrapping ErrCrop.
//
// Fit rules: "stretch" uses the crop as is. "pad-square" centres the crop
// in a square of side max(w, h); an odd padding puts the extra pixel after
// the image (right or bottom), as face-api's padToSquare(isCenterImage=true)
// does with Math.round. "center-crop" keeps the largest centred region of
// the input's aspect ratio: its short side is round(long·aspect) with halves
// rounded up, and its offset (excess)/2 rounded down.
func InputGeometry(bounds, crop image.Rectangle, p modelfile.Preprocess) (Geometry, error) {
	q, err := checkPreprocess(p)
	if err != nil {
		return Geometry{}, err
	}
	return geometry(bounds, crop, q)
}

func geometry(bounds, crop image.Rectangle, q params) (Geometry, error) {
	if bounds.Empty() {
		return Geometry{}, fmt.Errorf("imaging: image %v is empty", bounds)
	}
	r := bounds
	if !crop.Empty() {
		r = crop.Intersect(bounds)
		if r.Empty() {
			return Geometry{}, fmt.Errorf("imaging: crop %v does not overlap the image %v: %w", crop, bounds, ErrCrop)
		}
	}
	g := Geometry{Crop: r, Canvas: r, Width: q.w, Height: q.h}
	w, h := r.Dx(), r.Dy()
	switch q.fit {
	case "pad-square":
		if w != h {
			side := max(w, h)
			diff := side - min(w, h)
			before := diff - (diff+1)/2 // face-api appends round(diff/2) after
			if w < h {
				g.Canvas = image.Rect(r.Min.X-before, r.Min.Y, r.Min.X-before+side, r.Max.Y)
			} else {
				g.Canvas = image.Rect(r.Min.X, r.Min.Y-before, r.Max.X, r.Min.Y-before+side)
			}
		}
	case "center-crop":
		// Compare w/h with W/H exactly in integers.
		W, H := int64(q.w), int64(q.h)
		switch {
		case int64(w)*H > int64(h)*W: // too wide: keep full height
			nw := int((int64(h)*W + H/2) / H)
			nw = max(1, min(nw, w))
			x0 := r.Min.X + (w-nw)/2
			g.Canvas = image.Rect(x0, r.Min.Y, x0+nw, r.Max.Y)
		case int64(w)*H < int64(h)*W: // too tall: keep full width
			nh := int((int64(w)*H + W/2) / W)
			nh = max(1, min(nh, h))
			y0 := r.Min.Y + (h-nh)/2
			g.Canvas = image.Rect(r.Min.X, y0, r.Max.X, y0+nh)
		}
	}
	return g, nil
}

// params is a checked Preprocess with defaults filled in.
type params struct {
	w, h      int
	channels  string
	fit       string
	mode      ResizeMode
	scale     float32
	mean, std []float32
	nc        int
}

// checkPreprocess validates p. Empty Channels, Fit and Resize default to
// "RGB", "stretch" and "bilinear", and empty Mean and Std to 0 and 1 (the
// model file format allows leaving them out); anything given must be valid.
func checkPreprocess(p modelfile.Preprocess) (params, error) {
	q := params{w: p.Width, h: p.Height, channels: p.Channels, fit: p.Fit, scale: p.Scale}
	bad := func(format string, a ...any) (params, error) {
		return params{}, fmt.Errorf("imaging: preprocess: "+format, a...)
	}
	if q.w <= 0 || q.h <= 0 || q.w > MaxInputSize || q.h > MaxInputSize {
		return bad("size %d×%d: want 1..%d", q.w, q.h, MaxInputSize)
	}
	switch q.channels {
	case "":
		q.channels, q.nc = "RGB", 3
	case "RGB", "BGR":
		q.nc = 3
	case "L":
		q.nc = 1
	default:
		return bad("channels %q: want RGB, BGR or L", p.Channels)
	}
	switch q.fit {
	case "":
		q.fit = "stretch"
	case "stretch", "pad-square", "center-crop":
	default:
		return bad("fit %q: want stretch, pad-square or center-crop", p.Fit)
	}
	switch p.Resize {
	case "", "bilinear":
		q.mode = ResizeHalfPixel
	case "bilinear-tf":
		q.mode = ResizeTF
	case "area":
		q.mode = ResizeArea
	default:
		return bad("resize %q: want bilinear, bilinear-tf or area", p.Resize)
	}
	if !finite(q.scale) || q.scale == 0 {
		return bad("scale %v: want a finite non-zero factor (1 for 0..255 input, 1/255 for 0..1)", p.Scale)
	}
	var err error
	if q.mean, err = perChannel("mean", p.Mean, q.nc, 0); err != nil {
		return params{}, err
	}
	if q.std, err = perChannel("std", p.Std, q.nc, 1); err != nil {
		return params{}, err
	}
	for c, s := range q.std {
		if s == 0 {
			return bad("std[%d] is 0", c)
		}
	}
	return q, nil
}

func perChannel(name string, v []float32, nc int, def float32) ([]float32, error) {
	if len(v) == 0 {
		out := make([]float32, nc)
		for i := range out {
			out[i] = def
		}
		return out, nil
	}
	if len(v) != nc {
		return nil, fmt.Errorf("imaging: preprocess: %s has %d values for %d channels", name, len(v), nc)
	}
	for i, x := range v {
		if !finite(x) {
			return nil, fmt.Errorf("imaging: preprocess: %s[%d] = %v is not finite", name, i, x)
		}
	}
	return v, nil
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// normalize sets d[i] = (d[i]·scale − mean) / std up to the first value
// that would not be finite, whose index it returns (−1 when there is
// none). A leaf function: in js/wasm every loop back-edge costs V8's
// tier-up budget in proportion to the size of the function it is in.
//
//go:noinline
func normalize(d []float32, scale, mean, std float32) int {
	for i, v := range d {
		r := (v*scale - mean) / std
		if !finite(r) {
			return i
		}
		d[i] = r
	}
	return -1
}

// ToTensor turns an image into the network input described by p, a
// 1×C×Height×Width float32 tensor:
//
//  1. crop (see InputGeometry: empty = whole image, clipped to the image);
//  2. fit: stretch, pad-square (black padding) or center-crop;
//  3. resize: "bilinear" (half-pixel centres, PyTorch/OpenCV without
//     antialiasing), "bilinear-tf" (tf.image.resizeBilinear legacy, as
//     face-api) or "area" (box filter; OpenCV INTER_AREA when shrinking);
//  4. channels: RGB, BGR or L (ITU-R 601 luma (299R+587G+114B)/1000 of each
//     source pixel, like PIL's convert("L") but not rounded to 8 bits);
//  5. value = (pixel·Scale − Mean[c]) / Std[c], with pixel on 0..255.
//
// Everything is float32 on 0..255 values and nothing is rounded to 8 bits
// between steps (face-api resizes the float tensor too). Padding pixels are
// 0 before normalisation, as in face-api. Only the source rows a resize
// needs are converted, so large images cost little memory beyond their
// decoded form. Transparent pixels keep their stored (un-premultiplied)
// colour; the alpha channel is ignored.
func ToTensor(img image.Image, crop image.Rectangle, p modelfile.Preprocess) (*tensor.Tensor, error) {
	q, err := checkPreprocess(p)
	if err != nil {
		return nil, err
	}
	g, err := geometry(img.Bounds(), crop, q)
	if err != nil {
		return nil, err
	}
	t, err := tensor.Zeros([]int{1, q.nc, q.h, q.w})
	if err != nil {
		return nil, fmt.Errorf("imaging: input tensor: %w", err)
	}
	r := g.Crop
	rs := resampler{
		x: axisTaps(g.Canvas.Dx(), r.Dx(), r.Min.X-g.Canvas.Min.X, q.w, q.mode),
		y: axisTaps(g.Canvas.Dy(), r.Dy(), r.Min.Y-g.Canvas.Min.Y, q.h, q.mode),
	}
	plane := q.w * q.h
	dst := make([][]float32, q.nc)
	for c := range dst {
		dst[c] = t.Data[c*plane : (c+1)*plane]
	}
	// BGR: the reader yields R, G, B; route them to reversed planes.
	order := dst
	if q.channels == "BGR" {
		order = [][]float32{dst[2], dst[1], dst[0]}
	}
	pr := newPixelReader(img, r, q.nc == 1)
	rs.run(order, q.w, func(y int, rows [][]float32) { pr.row(y, rows) }, r.Dx())
	for c := range q.nc {
		m, s := q.mean[c], q.std[c]
		d := dst[c]
		if i := normalize(d, q.scale, m, s); i >= 0 {
			v := d[i]
			return nil, fmt.Errorf("imaging: preprocessing gives a non-finite value: input channel %d at (%d, %d) is (%v·%v − %v) / %v = %v; the model's preprocess scale, mean or std is out of range: %w",
				c, i%q.w, i/q.w, v, q.scale, m, s, (v*q.scale-m)/s, nn.ErrNotFinite)
		}
	}
	return t, nil
}
