package imaging

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"
)

// TestColormapsMatchOpenCV checks every table against cv2.applyColorMap on
// the ramp 0..255 (testdata/opencv_ref.json). jet is computed from its
// formula, so this is an independent check; the other tables were sampled
// from the same OpenCV, so for them it guards the embedded data.
func TestColormapsMatchOpenCV(t *testing.T) {
	ref := loadOpenCVRef(t)
	for _, name := range ColormapNames() {
		cm, err := LookupColormap(name)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := ref.Colormaps[name]
		if !ok || len(want) != 256 {
			t.Fatalf("%s: no 256-entry reference", name)
		}
		tab := cm.Table()
		for i := range 256 {
			got := [3]int{int(tab[i].R), int(tab[i].G), int(tab[i].B)}
			if got != want[i] || tab[i].A != 255 {
				t.Errorf("%s[%d] = %v, OpenCV %v", name, i, got, want[i])
			}
		}
	}
}

// Published anchor colours of the maps, independent of OpenCV.
func TestColormapAnchors(t *testing.T) {
	tests := []struct {
		name string
		v    float32
		want color.RGBA
	}{
		{"jet", 0, color.RGBA{0, 0, 128, 255}},       // dark blue
		{"jet", 1, color.RGBA{128, 0, 0, 255}},       // dark red
		{"jet", 0.5, color.RGBA{126, 255, 130, 255}}, // index 127: green-ish midpoint
		{"viridis", 0, color.RGBA{0x44, 0x01, 0x54, 255}},
		{"viridis", 1, color.RGBA{0xfd, 0xe7, 0x25, 255}},
		{"inferno", 0, color.RGBA{0x00, 0x00, 0x04, 255}},
		{"inferno", 1, color.RGBA{0xfc, 0xff, 0xa4, 255}},
		{"turbo", 0, color.RGBA{0x30, 0x12, 0x3b, 255}},
		{"turbo", 1, color.RGBA{0x7a, 0x04, 0x03, 255}},
	}
	for _, tc := range tests {
		cm, err := LookupColormap(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := cm.At(tc.v); got != tc.want {
			t.Errorf("%s(%v) = %v, want %v", tc.name, tc.v, got, tc.want)
		}
	}
	// viridis and inferno are perceptually uniform with rising lightness.
	for _, name := range []string{"viridis", "inferno"} {
		cm, _ := LookupColormap(name)
		tab := cm.Table()
		prev := -1.0
		for i, c := range tab {
			l := 0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)
			if l < prev-1 {
				t.Errorf("%s: luminance drops at %d (%.1f after %.1f)", name, i, l, prev)
			}
			prev = l
		}
	}
}

func TestLookupColormapUnknown(t *testing.T) {
	if _, err := LookupColormap("rainbow"); err == nil {
		t.Fatal("no error for an unknown colormap")
	}
}

func TestIndex(t *testing.T) {
	tests := []struct {
		v    float32
		want uint8
	}{
		{0, 0}, {-1, 0}, {float32(math.NaN()), 0}, {1, 255}, {2, 255},
		{0.5, 127},     // 127.5 truncates, like np.uint8
		{1.0 / 255, 1}, // exactly 1 in float32
		{0.999, 254},   // 254.745
		{float32(math.Inf(1)), 255},
	}
	for _, tc := range tests {
		if got := Index(tc.v); got != tc.want {
			t.Errorf("Index(%v) = %d, want %d", tc.v, got, tc.want)
		}
	}
}

func TestHeatmapAndOverlay(t *testing.T) {
	cm, _ := LookupColormap("jet")
	m := []float32{0, 1, 0.5, float32(math.NaN())}
	hm := Heatmap(m, 2, 2, cm)
	if hm.Bounds() != image.Rect(0, 0, 2, 2) {
		t.Fatalf("bounds %v", hm.Bounds())
	}
	for i, v := range m {
		if got, want := hm.RGBAAt(i%2, i/2), cm.At(v); got != want {
			t.Errorf("heatmap pixel %d = %v, want %v", i, got, want)
		}
	}

	// Overlay on a same-size grey base: alpha·heat + (1−alpha)·base, rounded.
	base := image.NewGray(image.Rect(10, 20, 12, 22))
	for i := range base.Pix {
		base.Pix[i] = 100
	}
	for _, alpha := range []float64{0, 0.3, 1} {
		ov := Overlay(base, m, 2, 2, cm, alpha)
		if ov.Bounds() != base.Bounds() {
			t.Fatalf("overlay bounds %v, want %v", ov.Bounds(), base.Bounds())
		}
		for i, v := range m {
			h := cm.At(v)
			got := ov.RGBAAt(10+i%2, 20+i/2)
			want := color.RGBA{
				uint8(math.Round(alpha*float64(h.R) + (1-alpha)*100)),
				uint8(math.Round(alpha*float64(h.G) + (1-alpha)*100)),
				uint8(math.Round(alpha*float64(h.B) + (1-alpha)*100)), 255}
			if diff(got.R, want.R) > 1 || diff(got.G, want.G) > 1 || diff(got.B, want.B) > 1 || got.A != 255 {
				t.Errorf("alpha %v pixel %d = %v, want %v", alpha, i, got, want)
			}
		}
	}

	// A 1×1 map over a 3×2 base is resized: every pixel gets the same colour.
	ov := Overlay(image.NewRGBA(image.Rect(0, 0, 3, 2)), []float32{1}, 1, 1, cm, 1)
	for y := range 2 {
		for x := range 3 {
			if got := ov.RGBAAt(x, y); got != cm.At(1) {
				t.Errorf("resized overlay (%d,%d) = %v", x, y, got)
			}
		}
	}
	// Alpha outside [0, 1] is clamped.
	if got := Overlay(base, m, 2, 2, cm, 7).RGBAAt(11, 20); got != cm.At(1) {
		t.Errorf("alpha 7: %v, want pure heatmap %v", got, cm.At(1))
	}
}

func diff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func TestHeatmapPanicsOnSizeMismatch(t *testing.T) {
	cm, _ := LookupColormap("jet")
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Heatmap(make([]float32, 5), 2, 2, cm)
}

func TestEncodePNGRoundTrip(t *testing.T) {
	cm, _ := LookupColormap("turbo")
	m := []float32{0, 0.25, 0.5, 0.75, 1, 0.1}
	hm := Heatmap(m, 3, 2, cm)
	var buf bytes.Buffer
	if err := EncodePNG(&buf, hm); err != nil {
		t.Fatal(err)
	}
	back, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		r, g, b, a := back.At(i%3, i/3).RGBA()
		want := hm.RGBAAt(i%3, i/3)
		if uint8(r>>8) != want.R || uint8(g>>8) != want.G || uint8(b>>8) != want.B || a != 0xffff {
			t.Errorf("pixel %d changed in PNG round trip", i)
		}
	}
	if err := EncodePNG(failWriter{}, hm); err == nil {
		t.Error("no error from a failing writer")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

var errWrite = errorString("write refused")

type errorString string

func (e errorString) Error() string { return string(e) }
