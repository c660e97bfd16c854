package scene

import "strconv"

// The hover read-out is a number: a 3×5 pixel font for its characters
// (digits, point, minus) replaces ebitenutil.DebugPrint, whose package
// pulls net/http and crypto into the view binary (about 0.4 MB of
// compressed transfer for one label).

// digitGlyphs are 3×5 bitmaps, one row per 3 bits (bit 2 is the left
// column), top row first.
var digitGlyphs = map[rune][5]uint8{
	'0': {7, 5, 5, 5, 7},
	'1': {2, 6, 2, 2, 7},
	'2': {7, 1, 7, 4, 7},
	'3': {7, 1, 3, 1, 7},
	'4': {5, 5, 7, 1, 1},
	'5': {7, 4, 7, 1, 7},
	'6': {7, 4, 7, 5, 7},
	'7': {7, 1, 1, 2, 2},
	'8': {7, 5, 7, 5, 7},
	'9': {7, 5, 7, 1, 7},
	'.': {0, 0, 0, 0, 2},
	'-': {0, 0, 7, 0, 0},
}

// GlyphW and GlyphH are the size of a glyph cell in font pixels (3×5 and
// a one-pixel gap).
const GlyphW, GlyphH = 4, 5

// FormatValue is the read-out of a map value: three decimals.
func FormatValue(v float32) string { return strconv.FormatFloat(float64(v), 'f', 3, 32) }

// TextPixels returns the lit font pixels of s, drawn at (x, y) with each
// font pixel scale×scale canvas pixels, as rectangles. Characters without
// a glyph leave a blank cell.
func TextPixels(s string, x, y, scale float64) []Rect {
	var out []Rect
	for i, c := range []rune(s) {
		g, ok := digitGlyphs[c]
		if !ok {
			continue
		}
		cx := x + float64(i*GlyphW)*scale
		for row, bits := range g {
			for col := range 3 {
				if bits&(4>>col) != 0 {
					px, py := cx+float64(col)*scale, y+float64(row)*scale
					out = append(out, Rect{px, py, px + scale, py + scale})
				}
			}
		}
	}
	return out
}
