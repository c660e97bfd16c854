package imaging

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
)

func approxEqual(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > tol || math.IsNaN(float64(got[i])) {
			if len(got) <= 16 {
				t.Fatalf("%s: value %d = %v, want %v (all: got %v want %v)", name, i, got[i], want[i], got, want)
			}
			t.Fatalf("%s: value %d = %v, want %v", name, i, got[i], want[i])
		}
	}
}

func TestResizePlaneHandComputed(t *testing.T) {
	ramp4 := []float32{0, 10, 20, 30}
	tests := []struct {
		name           string
		src            []float32
		sw, sh, dw, dh int
		mode           ResizeMode
		want           []float32
	}{
		// Upscale 2→4: src x = (d+0.5)/2−0.5 = −0.25, 0.25, 0.75, 1.25 → clamp ends.
		{"half up 2→4", []float32{0, 10}, 2, 1, 4, 1, ResizeHalfPixel, []float32{0, 2.5, 7.5, 10}},
		// Downscale 4→2: src x = 0.5, 2.5.
		{"half down 4→2", ramp4, 4, 1, 2, 1, ResizeHalfPixel, []float32{5, 25}},
		// 3→2: scale 1.5, src x = 0.25, 1.75.
		{"half 3→2", []float32{0, 10, 20}, 3, 1, 2, 1, ResizeHalfPixel, []float32{2.5, 17.5}},
		// 4→1: src x = 0.5·4−0.5 = 1.5.
		{"half 4→1", ramp4, 4, 1, 1, 1, ResizeHalfPixel, []float32{15}},
		// 1→3: everything clamps to the single sample.
		{"half 1→3", []float32{7}, 1, 1, 3, 1, ResizeHalfPixel, []float32{7, 7, 7}},
		// Vertical only: a column 1×2 → 1×4.
		{"half column", []float32{0, 10}, 1, 2, 1, 4, ResizeHalfPixel, []float32{0, 2.5, 7.5, 10}},
		// 2-D: value = 10x + 20y on the grid {0, .25, .75, 1}².
		{"half 2×2→4×4", []float32{0, 10, 20, 30}, 2, 2, 4, 4, ResizeHalfPixel, []float32{
			0, 2.5, 7.5, 10,
			5, 7.5, 12.5, 15,
			15, 17.5, 22.5, 25,
			20, 22.5, 27.5, 30}},
		// 2-D down 4×4→2×2 of v = x + 4y: centres at (0.5, 0.5) etc. → mean of 2×2 blocks.
		{"half 4×4→2×2", []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 4, 4, 2, 2, ResizeHalfPixel,
			[]float32{2.5, 4.5, 10.5, 12.5}},
		// Align corners: src x = d·(in−1)/(out−1).
		{"corners up 2→4", []float32{0, 10}, 2, 1, 4, 1, ResizeAlignCorners, []float32{0, 10.0 / 3, 20.0 / 3, 10}},
		{"corners down 4→2", ramp4, 4, 1, 2, 1, ResizeAlignCorners, []float32{0, 30}},
		{"corners 4→3", ramp4, 4, 1, 3, 1, ResizeAlignCorners, []float32{0, 15, 30}},
		{"corners 4→1", ramp4, 4, 1, 1, 1, ResizeAlignCorners, []float32{0}},
		{"corners 2×2→3×3", []float32{0, 10, 20, 30}, 2, 2, 3, 3, ResizeAlignCorners, []float32{
			0, 5, 10,
			10, 15, 20,
			20, 25, 30}},
		// TF legacy: src x = d·in/out.
		{"tf 4→3", ramp4, 4, 1, 3, 1, ResizeTF, []float32{0, 40.0 / 3, 80.0 / 3}},
		{"tf 2→4", []float32{0, 10}, 2, 1, 4, 1, ResizeTF, []float32{0, 5, 10, 10}},
		{"tf 4→2", ramp4, 4, 1, 2, 1, ResizeTF, []float32{0, 20}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ResizePlane(tc.src, tc.sw, tc.sh, tc.dw, tc.dh, tc.mode)
			approxEqual(t, tc.name, got, tc.want, 1e-5)
		})
	}
}

func TestResizePlaneIdentity(t *testing.T) {
	src := make([]float32, 7*5)
	for i := range src {
		src[i] = float32(math.Sin(float64(i)))
	}
	for _, m := range []ResizeMode{ResizeHalfPixel, ResizeAlignCorners, ResizeTF, ResizeArea} {
		got := ResizePlane(src, 7, 5, 7, 5, m)
		approxEqual(t, m.String(), got, src, 0)
	}
}

// A linear function of the coordinates is reproduced exactly away from the
// clamped border, in both directions and for non-integer scales.
func TestResizePlaneLinearInterior(t *testing.T) {
	const sw, sh = 9, 6
	f := func(x, y float64) float64 { return 3*x - 2*y + 1 }
	src := make([]float32, sw*sh)
	for y := range sh {
		for x := range sw {
			src[y*sw+x] = float32(f(float64(x), float64(y)))
		}
	}
	for _, sz := range [][2]int{{13, 11}, {4, 3}, {20, 6}, {9, 17}} {
		dw, dh := sz[0], sz[1]
		got := ResizePlane(src, sw, sh, dw, dh, ResizeHalfPixel)
		for y := range dh {
			for x := range dw {
				sx := (float64(x)+0.5)*sw/float64(dw) - 0.5
				sy := (float64(y)+0.5)*sh/float64(dh) - 0.5
				sx = math.Min(math.Max(sx, 0), sw-1)
				sy = math.Min(math.Max(sy, 0), sh-1)
				if d := math.Abs(float64(got[y*dw+x]) - f(sx, sy)); d > 1e-4 {
					t.Fatalf("%d×%d at (%d,%d): got %v want %v", dw, dh, x, y, got[y*dw+x], f(sx, sy))
				}
			}
		}
		got = ResizePlane(src, sw, sh, dw, dh, ResizeAlignCorners)
		for y := range dh {
			for x := range dw {
				sx := float64(x) * (sw - 1) / float64(dw-1)
				sy := float64(y) * (sh - 1) / float64(dh-1)
				if d := math.Abs(float64(got[y*dw+x]) - f(sx, sy)); d > 1e-4 {
					t.Fatalf("corners %d×%d at (%d,%d): got %v want %v", dw, dh, x, y, got[y*dw+x], f(sx, sy))
				}
			}
		}
	}
}

func TestResizePlanePanics(t *testing.T) {
	tests := []struct {
		name           string
		n              int
		sw, sh, dw, dh int
		mode           ResizeMode
	}{
		{"zero width", 0, 0, 1, 1, 1, ResizeHalfPixel},
		{"negative dst", 4, 2, 2, -1, 2, ResizeHalfPixel},
		{"short src", 3, 2, 2, 2, 2, ResizeHalfPixel},
		{"huge dst", 1, 1, 1, 1 << 20, 1 << 20, ResizeHalfPixel},
		{"bad mode", 1, 1, 1, 1, 1, ResizeMode(99)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			ResizePlane(make([]float32, tc.n), tc.sw, tc.sh, tc.dw, tc.dh, tc.mode)
		})
	}
}

func ExampleResizePlane() {
	m := []float32{0, 1}
	fmt.Println(ResizePlane(m, 2, 1, 4, 1, ResizeHalfPixel))
	fmt.Println(ResizePlane(m, 2, 1, 3, 1, ResizeAlignCorners))
	// Output:
	// [0 0.25 0.75 1]
	// [0 0.5 1]
}

// A PlaneResizer computes the taps once and resizes many planes of the
// same geometry into buffers the caller reuses, with ResizePlane's values.
func ExamplePlaneResizer() {
	r, err := NewPlaneResizer(2, 1, 4, 1, ResizeHalfPixel)
	if err != nil {
		fmt.Println(err)
		return
	}
	dst := make([]float32, 4)
	for _, m := range [][]float32{{0, 1}, {2, 0}} {
		r.Resize(dst, m)
		fmt.Println(dst)
	}
	_, err = NewPlaneResizer(0, 1, 4, 1, ResizeHalfPixel)
	fmt.Println(err != nil)
	// Output:
	// [0 0.25 0.75 1]
	// [2 1.5 0.5 0]
	// true
}

// TestResizePlaneTorchReference compares with PyTorch's F.interpolate
// (testdata/gen_resize_ref.py), which agrees with OpenCV INTER_LINEAR for
// half-pixel centres on float32.
func TestResizePlaneTorchReference(t *testing.T) {
	data, err := os.ReadFile("testdata/resize_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			SW, SH, DW, DH int
			Mode           string
			Src, Dst       []float32
		}
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) == 0 {
		t.Fatal("no cases in resize_ref.json")
	}
	for _, c := range ref.Cases {
		mode := ResizeHalfPixel
		if c.Mode == "align-corners" {
			mode = ResizeAlignCorners
		}
		name := fmt.Sprintf("%s %d×%d→%d×%d", c.Mode, c.SW, c.SH, c.DW, c.DH)
		approxEqual(t, name, ResizePlane(c.Src, c.SW, c.SH, c.DW, c.DH, mode), c.Dst, 1e-5)
	}
}

// TestResizePlaneOpenCVReference compares with cv2.resize on float32 planes
// (testdata/gen_opencv_ref.py): INTER_LINEAR for ResizeHalfPixel and, when
// shrinking, INTER_AREA for ResizeArea.
func TestResizePlaneOpenCVReference(t *testing.T) {
	ref := loadOpenCVRef(t)
	n := 0
	for _, c := range ref.Resize {
		mode := ResizeHalfPixel
		if c.Mode == "area" {
			mode = ResizeArea
		}
		name := fmt.Sprintf("%s %d×%d→%d×%d", c.Mode, c.SW, c.SH, c.DW, c.DH)
		approxEqual(t, name, ResizePlane(c.Src, c.SW, c.SH, c.DW, c.DH, mode), c.Dst, 1e-5)
		n++
	}
	if n < 10 {
		t.Fatalf("only %d OpenCV resize cases", n)
	}
}

type openCVRef struct {
	Colormaps map[string][][3]int
	Resize    []struct {
		SW, SH, DW, DH int
		Mode           string
		Src, Dst       []float32
	}
}

func loadOpenCVRef(t *testing.T) *openCVRef {
	t.Helper()
	data, err := os.ReadFile("testdata/opencv_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref openCVRef
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	return &ref
}

func TestResizePlaneAreaHandComputed(t *testing.T) {
	tests := []struct {
		name           string
		src            []float32
		sw, sh, dw, dh int
		want           []float32
	}{
		{"4→2", []float32{0, 10, 20, 30}, 4, 1, 2, 1, []float32{5, 25}},
		// 3→2: footprints [0,1.5) and [1.5,3): (0 + 0.5·10)/1.5, (0.5·10 + 20)/1.5.
		{"3→2", []float32{0, 10, 20}, 3, 1, 2, 1, []float32{5.0 / 1.5, 25.0 / 1.5}},
		// 2→3 (enlarging): footprints of 2/3: [0,.667) → 0; [.667,1.333) → half each; [1.333,2) → 10.
		{"2→3", []float32{0, 10}, 2, 1, 3, 1, []float32{0, 5, 10}},
		{"2→4", []float32{0, 10}, 2, 1, 4, 1, []float32{0, 0, 10, 10}},
		{"2×2→1×1", []float32{1, 2, 3, 4}, 2, 2, 1, 1, []float32{2.5}},
		{"column 3→1", []float32{1, 2, 6}, 1, 3, 1, 1, []float32{3}},
	}
	for _, tc := range tests {
		got := ResizePlane(tc.src, tc.sw, tc.sh, tc.dw, tc.dh, ResizeArea)
		approxEqual(t, tc.name, got, tc.want, 1e-5)
	}
}

// resampleRef resizes through the general resampler that ToTensor uses:
// PlaneResizer must agree with it bit for bit.
func resampleRef(src []float32, sw, sh, dw, dh int, mode ResizeMode) []float32 {
	dst := make([]float32, dw*dh)
	rs := resampler{x: axisTaps(sw, sw, 0, dw, mode), y: axisTaps(sh, sh, 0, dh, mode)}
	rs.run([][]float32{dst}, dw, func(y int, rows [][]float32) { copy(rows[0], src[y*sw:(y+1)*sw]) }, sw)
	return dst
}

func TestPlaneResizerMatchesResampler(t *testing.T) {
	sizes := [][4]int{{7, 7, 112, 112}, {7, 7, 224, 224}, {14, 14, 112, 112}, {3, 5, 8, 2}, {9, 4, 3, 11}, {1, 1, 5, 5}, {6, 6, 6, 6}, {32, 16, 7, 9}}
	seed := uint32(7)
	for _, mode := range []ResizeMode{ResizeHalfPixel, ResizeAlignCorners, ResizeTF, ResizeArea} {
		for _, sz := range sizes {
			sw, sh, dw, dh := sz[0], sz[1], sz[2], sz[3]
			r, err := NewPlaneResizer(sw, sh, dw, dh, mode)
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]float32, dw*dh)
			for rep := range 3 { // the scratch buffer is reused
				src := make([]float32, sw*sh)
				for i := range src {
					seed = seed*1664525 + 1013904223
					src[i] = float32(int32(seed)) / (1 << 31)
				}
				if rep == 2 {
					clear(src[:len(src)/2])
					for i := 0; i < len(src); i += 3 {
						src[i] = float32(math.Copysign(0, -1))
					}
				}
				for i := range dst {
					dst[i] = float32(i) // stale values must not leak through
				}
				r.Resize(dst, src)
				want := resampleRef(src, sw, sh, dw, dh, mode)
				for i := range want {
					if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v %v rep %d: [%d] = %v, resampler %v", mode, sz, rep, i, dst[i], want[i])
					}
				}
			}
		}
	}
}

func TestNewPlaneResizerErrors(t *testing.T) {
	tests := []struct {
		name           string
		sw, sh, dw, dh int
		mode           ResizeMode
	}{
		{"zero source", 0, 3, 4, 4, ResizeHalfPixel},
		{"negative destination", 3, 3, -1, 4, ResizeHalfPixel},
		{"huge destination", 2, 2, 1 << 20, 1 << 20, ResizeHalfPixel},
		{"unknown mode", 2, 2, 4, 4, ResizeMode(99)},
	}
	for _, tc := range tests {
		if _, err := NewPlaneResizer(tc.sw, tc.sh, tc.dw, tc.dh, tc.mode); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestPlaneResizerWrongLengthPanics(t *testing.T) {
	r, err := NewPlaneResizer(2, 2, 4, 4, ResizeHalfPixel)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a 3-value source")
		}
	}()
	r.Resize(make([]float32, 16), make([]float32, 3))
}
