package scene

import (
	"fmt"
	"image"
	"math"
)

// MaxSide bounds every image and map side the view accepts.
const MaxSide = 4096

// MaxPanels is the most panels a scene shows side by side.
const MaxPanels = 2

// RGBA is a straight (not premultiplied) 8-bit RGBA image, rows top to
// bottom, as ImageData and Go's image.RGBA store it.
type RGBA struct {
	W, H int
	Pix  []byte
}

// Map is an explanation map: W×H values in [0, 1], row-major.
type Map struct {
	W, H int
	Data []float32
}

// Panel is one image of the view, with an optional map blended over it.
// The map covers the whole base image (the engine renders the base from the
// same region of the photo the network saw). Box and Peak are in map pixels.
type Panel struct {
	Base RGBA
	Map  *Map
	Box  *image.Rectangle
	Peak *image.Point
}

// Scene is what the view draws: one or two panels (side by side when the
// view is wider than tall, stacked otherwise).
type Scene struct {
	Seq    int // echoed back once drawn, so the page knows the frame shows this scene
	Panels []Panel
}

// Style holds the options that change only the drawing: the opacity of the
// map (the weight of the heatmap in the blend), the colormap as a 256-entry
// RGBA table, and whether the box and the peak are drawn.
type Style struct {
	Alpha    float64
	LUT      []byte // 256×4 bytes
	ShowBox  bool
	ShowPeak bool
}

// Validate checks sizes and ranges so that drawing never indexes out of
// bounds.
func (s *Scene) Validate() error {
	if len(s.Panels) == 0 || len(s.Panels) > MaxPanels {
		return fmt.Errorf("scene: %d panels (want 1..%d)", len(s.Panels), MaxPanels)
	}
	for i, p := range s.Panels {
		if err := checkSize(p.Base.W, p.Base.H); err != nil {
			return fmt.Errorf("scene: panel %d base: %w", i, err)
		}
		if len(p.Base.Pix) != 4*p.Base.W*p.Base.H {
			return fmt.Errorf("scene: panel %d base: %d bytes for %d×%d RGBA", i, len(p.Base.Pix), p.Base.W, p.Base.H)
		}
		if p.Map == nil {
			if p.Box != nil || p.Peak != nil {
				return fmt.Errorf("scene: panel %d: box or peak without a map", i)
			}
			continue
		}
		m := p.Map
		if err := checkSize(m.W, m.H); err != nil {
			return fmt.Errorf("scene: panel %d map: %w", i, err)
		}
		if len(m.Data) != m.W*m.H {
			return fmt.Errorf("scene: panel %d map: %d values for %d×%d", i, len(m.Data), m.W, m.H)
		}
		if p.Box != nil && !p.Box.In(image.Rect(0, 0, m.W, m.H)) {
			return fmt.Errorf("scene: panel %d: box %v outside the %d×%d map", i, *p.Box, m.W, m.H)
		}
		if p.Peak != nil && !p.Peak.In(image.Rect(0, 0, m.W, m.H)) {
			return fmt.Errorf("scene: panel %d: peak %v outside the %d×%d map", i, *p.Peak, m.W, m.H)
		}
	}
	return nil
}

// Validate checks the style's ranges.
func (s *Style) Validate() error {
	if math.IsNaN(s.Alpha) || s.Alpha < 0 || s.Alpha > 1 {
		return fmt.Errorf("style: alpha %v outside [0, 1]", s.Alpha)
	}
	if len(s.LUT) != 256*4 {
		return fmt.Errorf("style: colormap has %d bytes (want 1024: 256 RGBA entries)", len(s.LUT))
	}
	return nil
}

func checkSize(w, h int) error {
	if w <= 0 || h <= 0 || w > MaxSide || h > MaxSide {
		return fmt.Errorf("size %d×%d outside 1..%d", w, h, MaxSide)
	}
	return nil
}

// Pack16 encodes map values as RGBA texels with 16 bits of precision: R is
// the high byte and G the low byte of round(clamp(v, 0, 1)·65535); B is 0
// and A is 255. The shader decodes them and interpolates in float, so a
// texture's 8-bit channels cost no precision in the colormap look-up.
func Pack16(m []float32) []byte {
	out := make([]byte, 4*len(m))
	for i, v := range m {
		q := uint16(0)
		switch {
		case v >= 1:
			q = 65535
		case v > 0: // NaN falls through to 0
			q = uint16(math.Round(float64(v) * 65535))
		}
		out[4*i] = byte(q >> 8)
		out[4*i+1] = byte(q)
		out[4*i+3] = 255
	}
	return out
}

// Unpack16 is the shader's decoding of one Pack16 texel, for tests.
func Unpack16(r, g byte) float32 {
	return float32(float64(r)*256+float64(g)) / 65535
}
