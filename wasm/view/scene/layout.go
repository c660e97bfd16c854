package scene

import "math"

// Rect is a rectangle in canvas pixels (floating point; X1, Y1 exclusive).
type Rect struct{ X0, Y0, X1, Y1 float64 }

// Dx is the width.
func (r Rect) Dx() float64 { return r.X1 - r.X0 }

// Dy is the height.
func (r Rect) Dy() float64 { return r.Y1 - r.Y0 }

// Contains reports whether (x, y) lies inside r.
func (r Rect) Contains(x, y float64) bool {
	return x >= r.X0 && x < r.X1 && y >= r.Y0 && y < r.Y1
}

// Gap is the space between two panels, in canvas pixels.
const Gap = 8

// Layout places n images of the given aspect ratios (width/height) in a
// w×h canvas: side by side when the canvas is at least as wide as tall,
// stacked otherwise; each image is as large as its cell allows, centred,
// keeping its aspect ratio.
func Layout(w, h int, aspects []float64) []Rect {
	n := len(aspects)
	out := make([]Rect, n)
	if n == 0 || w <= 0 || h <= 0 {
		return out
	}
	fw, fh := float64(w), float64(h)
	horizontal := fw >= fh
	for i, a := range aspects {
		var cell Rect
		if horizontal {
			cw := (fw - Gap*float64(n-1)) / float64(n)
			cell = Rect{float64(i) * (cw + Gap), 0, float64(i)*(cw+Gap) + cw, fh}
		} else {
			ch := (fh - Gap*float64(n-1)) / float64(n)
			cell = Rect{0, float64(i) * (ch + Gap), fw, float64(i)*(ch+Gap) + ch}
		}
		out[i] = fit(cell, a)
	}
	return out
}

// fit returns the largest rectangle of aspect a centred in cell, with
// whole-pixel corners.
func fit(cell Rect, a float64) Rect {
	if !(a > 0) || math.IsInf(a, 0) {
		a = 1
	}
	cw, ch := cell.Dx(), cell.Dy()
	if cw <= 0 || ch <= 0 {
		return Rect{cell.X0, cell.Y0, cell.X0, cell.Y0}
	}
	w, h := cw, cw/a
	if h > ch {
		w, h = ch*a, ch
	}
	x0 := math.Round(cell.X0 + (cw-w)/2)
	y0 := math.Round(cell.Y0 + (ch-h)/2)
	return Rect{x0, y0, x0 + math.Round(w), y0 + math.Round(h)}
}

// Lookup maps a canvas point inside r (where a w×h map is drawn) to the map
// pixel under it and returns that pixel and its value; ok is false outside
// r or for an empty map.
func Lookup(m *Map, r Rect, x, y float64) (px, py int, v float32, ok bool) {
	if m == nil || m.W <= 0 || m.H <= 0 || len(m.Data) != m.W*m.H || !r.Contains(x, y) || r.Dx() <= 0 || r.Dy() <= 0 {
		return 0, 0, 0, false
	}
	px = int((x - r.X0) / r.Dx() * float64(m.W))
	py = int((y - r.Y0) / r.Dy() * float64(m.H))
	px = min(max(px, 0), m.W-1)
	py = min(max(py, 0), m.H-1)
	return px, py, m.Data[py*m.W+px], true
}

// ToCanvas maps a point in map pixels (a corner, not a centre) to canvas
// coordinates inside r.
func ToCanvas(m *Map, r Rect, x, y float64) (float64, float64) {
	return r.X0 + x*r.Dx()/float64(m.W), r.Y0 + y*r.Dy()/float64(m.H)
}
