package imaging

import (
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"math"
)

// Colormap maps values in [0, 1] to colours through a 256-entry table.
// A Colormap is immutable and safe for concurrent use.
type Colormap struct {
	name string
	lut  [256][3]uint8
}

// ColormapNames lists the colormaps LookupColormap knows, default first.
func ColormapNames() []string { return []string{"jet", "turbo", "viridis", "inferno"} }

// LookupColormap returns the named colormap:
//
//   - "jet": exactly OpenCV's COLORMAP_JET (the default of pytorch-grad-cam's
//     show_cam_on_image), computed from GNU Octave's jet formula with
//     OpenCV's float32 table construction and rounding.
//   - "turbo", "viridis", "inferno": OpenCV's COLORMAP_TURBO, _VIRIDIS and
//     _INFERNO tables (viridis and inferno are matplotlib's).
func LookupColormap(name string) (*Colormap, error) {
	cm := &Colormap{name: name}
	switch name {
	case "jet":
		cm.lut = jetTable()
	case "turbo":
		cm.lut = mustTable(turboHex)
	case "viridis":
		cm.lut = mustTable(viridisHex)
	case "inferno":
		cm.lut = mustTable(infernoHex)
	default:
		return nil, fmt.Errorf("imaging: unknown colormap %q (want one of %v)", name, ColormapNames())
	}
	return cm, nil
}

// Name is the colormap's name.
func (c *Colormap) Name() string { return c.name }

// Table returns the 256 opaque colours of the map, index 0 for value 0.
func (c *Colormap) Table() [256]color.RGBA {
	var t [256]color.RGBA
	for i, e := range c.lut {
		t[i] = color.RGBA{e[0], e[1], e[2], 255}
	}
	return t
}

// Index returns the table index for v: ⌊255·v⌋ for v in [0, 1], as
// pytorch-grad-cam's np.uint8(255·mask); values outside are clamped and NaN
// maps to 0.
func Index(v float32) uint8 {
	switch {
	case !(v > 0): // also NaN
		return 0
	case v >= 1:
		return 255
	}
	return uint8(float32(255) * v)
}

// At returns the colour of value v (see Index).
func (c *Colormap) At(v float32) color.RGBA {
	e := c.lut[Index(v)]
	return color.RGBA{e[0], e[1], e[2], 255}
}

// Heatmap colours a w×h row-major map (values in [0, 1]) into an opaque
// image with bounds (0, 0)–(w, h). It panics when w or h is not positive or
// len(m) != w·h.
func Heatmap(m []float32, w, h int, cm *Colormap) *image.RGBA {
	checkMap("Heatmap", m, w, h)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, v := range m {
		e := cm.lut[Index(v)]
		copy(img.Pix[4*i:4*i+4], []uint8{e[0], e[1], e[2], 255})
	}
	return img
}

// Overlay blends the heatmap of m over base: each output pixel is
// alpha·heat + (1−alpha)·base per RGB channel, rounded, opaque. alpha is
// clamped to [0, 1] (NaN counts as 0). The map is stretched over the whole
// of base: when its size differs from base's it is first resized to base's
// size with ResizeHalfPixel (as cv2.resize in pytorch-grad-cam), so the
// result has base's bounds. Transparency in base is ignored (its colour
// channels are used un-premultiplied). Unlike pytorch-grad-cam's
// show_cam_on_image the result is not divided by its maximum.
//
// To overlay a map computed on a crop or a padded square, pass the matching
// sub-image (see Geometry) or resize the map yourself. Overlay panics when w
// or h is not positive or len(m) != w·h.
func Overlay(base image.Image, m []float32, w, h int, cm *Colormap, alpha float64) *image.RGBA {
	checkMap("Overlay", m, w, h)
	b := base.Bounds()
	out := image.NewRGBA(b)
	if b.Empty() {
		return out
	}
	if b.Dx() != w || b.Dy() != h {
		m = ResizePlane(m, w, h, b.Dx(), b.Dy(), ResizeHalfPixel)
	}
	a := float32(alpha)
	if !(alpha > 0) {
		a = 0
	} else if alpha > 1 {
		a = 1
	}
	rows := make([]float32, 3*b.Dx())
	planes := [][]float32{rows[:b.Dx()], rows[b.Dx() : 2*b.Dx()], rows[2*b.Dx():]}
	src := newPixelReader(base, b, false)
	for y := range b.Dy() {
		src.row(y, planes)
		o := out.Pix[y*out.Stride:]
		for x := range b.Dx() {
			e := cm.lut[Index(m[y*b.Dx()+x])]
			for c := range 3 {
				v := a*float32(e[c]) + (1-a)*planes[c][x]
				o[4*x+c] = uint8(math.Round(float64(min(max(v, 0), 255))))
			}
			o[4*x+3] = 255
		}
	}
	return out
}

func checkMap(fn string, m []float32, w, h int) {
	if w <= 0 || h <= 0 || w > math.MaxInt32/h || len(m) != w*h {
		panic(fmt.Sprintf("imaging.%s: map of %d values does not match %d×%d", fn, len(m), w, h))
	}
}

// jetTable builds OpenCV's COLORMAP_JET: the Octave jet formula sampled at
// 256 points and rounded to float32 (OpenCV's base table), linearly
// re-interpolated at linspace(0, 1, 256) in float32 (interp1), then scaled by
// 255 and rounded half to even (convertTo CV_8U). The float32 steps matter:
// a plain round(255·jet(i/255)) differs from OpenCV in over 100 entries.
func jetTable() [256][3]uint8 {
	const n = 256
	jet := func(x float64) [3]float64 {
		ramp := func(v float64) float64 { return math.Min(math.Max(v, 0), 1) }
		return [3]float64{
			ramp(math.Min(4*x-1.5, -4*x+4.5)),
			ramp(math.Min(4*x-0.5, -4*x+3.5)),
			ramp(math.Min(4*x+0.5, -4*x+2.5)),
		}
	}
	// OpenCV's linspace(0, 1, n): x0 + i·step in float32.
	var xs [n]float32
	step := float32(1) / float32(n-1)
	for i := range xs {
		xs[i] = float32(0) + float32(float32(i)*step)
	}
	var base [n][3]float32
	for i := range base {
		v := jet(float64(i) / float64(n-1))
		for c := range 3 {
			base[i][c] = float32(v[c])
		}
	}
	var lut [n][3]uint8
	for i := range lut {
		for c := range 3 {
			y := base[i][c]
			if i > 0 {
				// interp1 between breakpoints i−1 and i at xs[i].
				lo, hi := base[i-1][c], base[i][c]
				num := float32(float32(xs[i]-xs[i-1]) * float32(hi-lo))
				y = lo + num/float32(xs[i]-xs[i-1])
			}
			v := math.RoundToEven(float64(float32(y * 255)))
			lut[i][c] = uint8(min(max(v, 0), 255))
		}
	}
	return lut
}

func mustTable(h string) [256][3]uint8 {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 256*3 {
		panic(fmt.Sprintf("imaging: corrupt built-in colormap table (%d bytes, %v)", len(b), err))
	}
	var lut [256][3]uint8
	for i := range lut {
		copy(lut[i][:], b[3*i:3*i+3])
	}
	return lut
}
