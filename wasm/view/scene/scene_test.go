package scene

import (
	"image"
	"math"
	"strings"
	"testing"
)

func TestPack16RoundTrip(t *testing.T) {
	in := []float32{0, 1, 0.5, 1e-6, 0.999999, -0.25, 1.75, float32(math.NaN()), 0.123456}
	want := []float32{0, 1, 0.5, 0, 1, 0, 1, 0, 0.123456}
	px := Pack16(in)
	if len(px) != 4*len(in) {
		t.Fatalf("len = %d, want %d", len(px), 4*len(in))
	}
	for i := range in {
		got := Unpack16(px[4*i], px[4*i+1])
		if math.Abs(float64(got-want[i])) > 0.5/65535+1e-9 {
			t.Errorf("value %d: %v packs to %v, want %v ± 1/131070", i, in[i], got, want[i])
		}
		if px[4*i+2] != 0 || px[4*i+3] != 255 {
			t.Errorf("value %d: B, A = %d, %d; want 0, 255", i, px[4*i+2], px[4*i+3])
		}
	}
}

func TestLayout(t *testing.T) {
	tests := []struct {
		name    string
		w, h    int
		aspects []float64
		want    []Rect
	}{
		{"one square in a square", 400, 400, []float64{1}, []Rect{{0, 0, 400, 400}}},
		{"one square letterboxed", 600, 400, []float64{1}, []Rect{{100, 0, 500, 400}}},
		{"one wide image pillarboxed", 400, 400, []float64{2}, []Rect{{0, 100, 400, 300}}},
		{"two side by side", 808, 400, []float64{1, 1}, []Rect{{0, 0, 400, 400}, {408, 0, 808, 400}}},
		{"two stacked when tall", 390, 788, []float64{1, 1}, []Rect{{0, 0, 390, 390}, {0, 398, 390, 788}}},
		{"bad aspect treated as square", 100, 100, []float64{0}, []Rect{{0, 0, 100, 100}}},
		{"empty canvas", 0, 0, []float64{1}, []Rect{{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Layout(tc.w, tc.h, tc.aspects)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d rects, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("rect %d = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestLookup(t *testing.T) {
	m := &Map{W: 4, H: 2, Data: []float32{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7}}
	r := Rect{10, 20, 50, 40} // 10 canvas px per map px
	tests := []struct {
		x, y   float64
		px, py int
		v      float32
		ok     bool
	}{
		{10, 20, 0, 0, 0, true},
		{19.9, 29.9, 0, 0, 0, true},
		{20, 30, 1, 1, 0.5, true},
		{49.9, 39.9, 3, 1, 0.7, true},
		{50, 39, 0, 0, 0, false},
		{9.9, 25, 0, 0, 0, false},
	}
	for _, tc := range tests {
		px, py, v, ok := Lookup(m, r, tc.x, tc.y)
		if ok != tc.ok || (ok && (px != tc.px || py != tc.py || v != tc.v)) {
			t.Errorf("Lookup(%v, %v) = %d, %d, %v, %v; want %d, %d, %v, %v", tc.x, tc.y, px, py, v, ok, tc.px, tc.py, tc.v, tc.ok)
		}
	}
	if _, _, _, ok := Lookup(nil, r, 20, 30); ok {
		t.Error("Lookup on a nil map reported ok")
	}
	x, y := ToCanvas(m, r, 4, 2)
	if x != 50 || y != 40 {
		t.Errorf("ToCanvas(4, 2) = %v, %v; want 50, 40", x, y)
	}
}

func TestValidate(t *testing.T) {
	base := RGBA{W: 2, H: 2, Pix: make([]byte, 16)}
	mp := &Map{W: 2, H: 2, Data: make([]float32, 4)}
	box := image.Rect(0, 0, 2, 2)
	outBox := image.Rect(0, 0, 3, 2)
	peak := image.Pt(1, 1)
	outPeak := image.Pt(2, 0)
	tests := []struct {
		name string
		sc   Scene
		err  string
	}{
		{"ok", Scene{Panels: []Panel{{Base: base, Map: mp, Box: &box, Peak: &peak}}}, ""},
		{"ok two panels, one plain", Scene{Panels: []Panel{{Base: base, Map: mp}, {Base: base}}}, ""},
		{"no panels", Scene{}, "0 panels"},
		{"three panels", Scene{Panels: []Panel{{Base: base}, {Base: base}, {Base: base}}}, "3 panels"},
		{"short base", Scene{Panels: []Panel{{Base: RGBA{W: 2, H: 2, Pix: make([]byte, 15)}}}}, "15 bytes"},
		{"huge base", Scene{Panels: []Panel{{Base: RGBA{W: MaxSide + 1, H: 1}}}}, "outside"},
		{"short map", Scene{Panels: []Panel{{Base: base, Map: &Map{W: 2, H: 2, Data: make([]float32, 3)}}}}, "3 values"},
		{"box outside", Scene{Panels: []Panel{{Base: base, Map: mp, Box: &outBox}}}, "box"},
		{"peak outside", Scene{Panels: []Panel{{Base: base, Map: mp, Peak: &outPeak}}}, "peak"},
		{"box without map", Scene{Panels: []Panel{{Base: base, Box: &box}}}, "without a map"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sc.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error = %v, want one containing %q", err, tc.err)
			}
		})
	}
	styles := []struct {
		st Style
		ok bool
	}{
		{Style{Alpha: 0.5, LUT: make([]byte, 1024)}, true},
		{Style{Alpha: 1.5, LUT: make([]byte, 1024)}, false},
		{Style{Alpha: math.NaN(), LUT: make([]byte, 1024)}, false},
		{Style{Alpha: 0.5, LUT: make([]byte, 768)}, false},
	}
	for i, tc := range styles {
		if err := tc.st.Validate(); (err == nil) != tc.ok {
			t.Errorf("style %d: Validate() = %v, want ok=%v", i, err, tc.ok)
		}
	}
}

func TestTextPixels(t *testing.T) {
	if got := FormatValue(0.25); got != "0.250" {
		t.Fatalf("FormatValue(0.25) = %q", got)
	}
	// "1" is 2,6,2,2,7: 1+2+1+1+3 = 8 pixels; "." one; "-" three.
	tests := []struct {
		s string
		n int
	}{{"1", 8}, {".", 1}, {"-", 3}, {"8", 13}, {"x", 0}, {"0.5", 12 + 1 + 11}}
	for _, tc := range tests {
		if got := len(TextPixels(tc.s, 0, 0, 1)); got != tc.n {
			t.Errorf("TextPixels(%q): %d pixels, want %d", tc.s, got, tc.n)
		}
	}
	px := TextPixels("-1", 10, 20, 2) // minus: row 2; then "1" from x = 10 + 4·2
	if px[0] != (Rect{10, 24, 12, 26}) {
		t.Errorf("first pixel of the minus at %v", px[0])
	}
	for _, r := range px[3:] {
		if r.X0 < 18 || r.X1 > 24 || r.Y0 < 20 || r.Y1 > 30 {
			t.Errorf("pixel %v of the 1 outside its cell", r)
		}
	}
	for c, g := range digitGlyphs {
		for _, b := range g {
			if b > 7 {
				t.Errorf("glyph %q row %d wider than 3 pixels", c, b)
			}
		}
	}
}
