package imaging

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
)

func decodeFile(t *testing.T, name string) image.Image {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

func checkTensor(t *testing.T, name string, got []float32, shape []int, gotShape []int, want []float32, tol float64) {
	t.Helper()
	if fmt.Sprint(gotShape) != fmt.Sprint(shape) {
		t.Fatalf("%s: shape %v, want %v", name, gotShape, shape)
	}
	worst, at := 0.0, -1
	for i := range want {
		d := math.Abs(float64(got[i] - want[i]))
		if d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if worst > tol || at >= 0 && math.IsNaN(float64(got[at])) {
		t.Errorf("%s: max |diff| %.3g at %d (got %v, want %v), tolerance %g", name, worst, at, got[at], want[at], tol)
	}
}

// TestToTensorReference compares with PyTorch and OpenCV pipelines written
// independently in testdata/gen_images.py.
func TestToTensorReference(t *testing.T) {
	data, err := os.ReadFile("testdata/preprocess_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Name       string
			Image      string
			Crop       []int
			Preprocess modelfile.Preprocess
			Shape      []int
			Data       []float32
		}
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 12 {
		t.Fatalf("only %d cases", len(ref.Cases))
	}
	for _, c := range ref.Cases {
		t.Run(c.Name, func(t *testing.T) {
			img := decodeFile(t, c.Image)
			var crop image.Rectangle
			if c.Crop != nil {
				crop = image.Rect(c.Crop[0], c.Crop[1], c.Crop[2], c.Crop[3])
			}
			x, err := ToTensor(img, crop, c.Preprocess)
			if err != nil {
				t.Fatal(err)
			}
			tol := pixelTolerance(c.Preprocess)
			checkTensor(t, c.Name, x.Data, c.Shape, x.Shape, c.Data, tol)
		})
	}
}

// TestToTensorFaceAPI compares pad-square + bilinear-tf + (x−mean)/255 with
// face-api's own NetInput.toBatchTensor and normalize on tfjs
// (testdata/gen_faceapi_ref.cjs).
func TestToTensorFaceAPI(t *testing.T) {
	data, err := os.ReadFile("testdata/faceapi_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Image string
			Size  int
			Shape []int
			Data  []float32
		}
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) != 6 {
		t.Fatalf("%d cases, want 6", len(ref.Cases))
	}
	for _, c := range ref.Cases {
		p := modelfile.Preprocess{Width: c.Size, Height: c.Size, Channels: "RGB", Fit: "pad-square",
			Resize: "bilinear-tf", Scale: 1, Mean: []float32{122.782, 117.001, 104.298}, Std: []float32{255, 255, 255}}
		x, err := ToTensor(decodeFile(t, c.Image), image.Rectangle{}, p)
		if err != nil {
			t.Fatal(err)
		}
		checkTensor(t, fmt.Sprintf("%s → %d", c.Image, c.Size), x.Data, c.Shape, x.Shape, c.Data, pixelTolerance(p))
	}
}

// pixelTolerance is 1e-3 of a pixel level (on 0..255) in the units of the
// normalised output. float32 rounding of the sampling positions differs
// between implementations (OpenCV computes in/out in double, PyTorch in
// float); next to the test pattern's 255-level jumps that moves values by
// up to ~4e-4 levels.
func pixelTolerance(p modelfile.Preprocess) float64 {
	minStd := 1.0
	for i, s := range p.Std {
		if i == 0 || math.Abs(float64(s)) < minStd {
			minStd = math.Abs(float64(s))
		}
	}
	return 1e-3 * math.Abs(float64(p.Scale)) / minStd
}

// ToTensor on a grey image with identity normalisation is ResizePlane.
func TestToTensorMatchesResizePlane(t *testing.T) {
	const w, h = 37, 23
	img := image.NewGray(image.Rect(5, 7, 5+w, 7+h))
	plane := make([]float32, w*h)
	for i := range img.Pix {
		img.Pix[i] = uint8((i * 37) % 251)
		plane[i] = float32(img.Pix[i])
	}
	for _, mode := range []struct {
		name string
		m    ResizeMode
	}{{"bilinear", ResizeHalfPixel}, {"bilinear-tf", ResizeTF}, {"area", ResizeArea}} {
		for _, sz := range [][2]int{{10, 9}, {64, 50}, {37, 23}} {
			p := modelfile.Preprocess{Width: sz[0], Height: sz[1], Channels: "L", Resize: mode.name, Scale: 1}
			x, err := ToTensor(img, image.Rectangle{}, p)
			if err != nil {
				t.Fatal(err)
			}
			want := ResizePlane(plane, w, h, sz[0], sz[1], mode.m)
			checkTensor(t, fmt.Sprintf("%s %v", mode.name, sz), x.Data, []int{1, 1, sz[1], sz[0]}, x.Shape, want, 0)
		}
	}
}

func TestToTensorChannels(t *testing.T) {
	// One pixel, no resize: the channel rules and the normalisation exactly.
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 0}) // alpha ignored
	tests := []struct {
		ch   string
		want []float32
	}{
		{"RGB", []float32{(200*0.5 - 1) / 2, (100*0.5 - 2) / 4, (50*0.5 - 3) / 8}},
		{"BGR", []float32{(50*0.5 - 1) / 2, (100*0.5 - 2) / 4, (200*0.5 - 3) / 8}},
		{"L", []float32{((299*200+587*100+114*50)/1000.0*0.5 - 1) / 2}},
	}
	for _, tc := range tests {
		n := len(tc.want)
		p := modelfile.Preprocess{Width: 1, Height: 1, Channels: tc.ch, Scale: 0.5,
			Mean: []float32{1, 2, 3}[:n], Std: []float32{2, 4, 8}[:n]}
		x, err := ToTensor(img, image.Rectangle{}, p)
		if err != nil {
			t.Fatal(err)
		}
		checkTensor(t, tc.ch, x.Data, []int{1, n, 1, 1}, x.Shape, tc.want, 1e-5)
	}
}

func TestToTensorPadSquareIsBlack(t *testing.T) {
	// A white 3×1 image padded to 3×3: rows 0 and 2 are black padding.
	img := image.NewGray(image.Rect(0, 0, 3, 1))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	p := modelfile.Preprocess{Width: 3, Height: 3, Channels: "L", Fit: "pad-square", Scale: 1}
	x, err := ToTensor(img, image.Rectangle{}, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0, 0, 255, 255, 255, 0, 0, 0}
	checkTensor(t, "pad", x.Data, []int{1, 1, 3, 3}, x.Shape, want, 0)
	// Padding is not image content: a crop in the middle of a white image
	// still gets black padding.
	big := image.NewGray(image.Rect(0, 0, 9, 9))
	for i := range big.Pix {
		big.Pix[i] = 255
	}
	x, err = ToTensor(big, image.Rect(3, 4, 6, 5), p)
	if err != nil {
		t.Fatal(err)
	}
	checkTensor(t, "pad crop", x.Data, []int{1, 1, 3, 3}, x.Shape, want, 0)
}

func TestInputGeometry(t *testing.T) {
	b := image.Rect(0, 0, 100, 60)
	tests := []struct {
		name         string
		bounds, crop image.Rectangle
		fit          string
		w, h         int
		crp, canvas  image.Rectangle
	}{
		{"stretch whole", b, image.Rectangle{}, "stretch", 10, 10, b, b},
		{"stretch crop", b, image.Rect(10, 10, 30, 50), "", 10, 10, image.Rect(10, 10, 30, 50), image.Rect(10, 10, 30, 50)},
		{"clip", b, image.Rect(90, 50, 120, 80), "stretch", 10, 10, image.Rect(90, 50, 100, 60), image.Rect(90, 50, 100, 60)},
		// 100×60: diff 40 → 20 above, 20 below.
		{"pad wide", b, image.Rectangle{}, "pad-square", 8, 8, b, image.Rect(0, -20, 100, 80)},
		// 7 wide × 10 tall: diff 3 → 1 before, round(1.5) = 2 after.
		{"pad odd", b, image.Rect(10, 10, 17, 20), "pad-square", 8, 8, image.Rect(10, 10, 17, 20), image.Rect(9, 10, 19, 20)},
		{"pad square already", b, image.Rect(0, 0, 5, 5), "pad-square", 8, 8, image.Rect(0, 0, 5, 5), image.Rect(0, 0, 5, 5)},
		// 100×60 to 1:1 → 60×60 at x 20.
		{"center wide", b, image.Rectangle{}, "center-crop", 8, 8, b, image.Rect(20, 0, 80, 60)},
		// 100×60 to 1:2 (tall): width 30 at x 35.
		{"center tall target", b, image.Rectangle{}, "center-crop", 5, 10, b, image.Rect(35, 0, 65, 60)},
		// 100×60 to 2:1 → height 50 at y 5.
		{"center wider target", b, image.Rectangle{}, "center-crop", 20, 10, b, image.Rect(0, 5, 100, 55)},
		// Same aspect: untouched.
		{"center same aspect", b, image.Rectangle{}, "center-crop", 5, 3, b, b},
		{"offset bounds", image.Rect(-5, 3, 5, 7), image.Rectangle{}, "pad-square", 4, 4, image.Rect(-5, 3, 5, 7), image.Rect(-5, 0, 5, 10)},
	}
	for _, tc := range tests {
		p := modelfile.Preprocess{Width: tc.w, Height: tc.h, Fit: tc.fit, Scale: 1}
		g, err := InputGeometry(tc.bounds, tc.crop, p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if g.Crop != tc.crp || g.Canvas != tc.canvas || g.Width != tc.w || g.Height != tc.h {
			t.Errorf("%s: got %+v, want crop %v canvas %v", tc.name, g, tc.crp, tc.canvas)
		}
	}
	if _, err := InputGeometry(b, image.Rect(200, 200, 210, 210), modelfile.Preprocess{Width: 4, Height: 4, Scale: 1}); !errors.Is(err, ErrCrop) {
		t.Errorf("crop outside: err = %v, want ErrCrop", err)
	}

	// Mapping back: pad-square canvas (0,−20)–(100,80) on 8×8.
	g, _ := InputGeometry(b, image.Rectangle{}, modelfile.Preprocess{Width: 8, Height: 8, Fit: "pad-square", Scale: 1})
	if x, y := g.ToImage(4, 4); x != 50 || y != 30 {
		t.Errorf("centre maps to (%v, %v), want (50, 30)", x, y)
	}
	if r := g.RectToImage(image.Rect(0, 0, 1, 1)); r != image.Rect(0, -20, 13, -7) {
		t.Errorf("RectToImage = %v", r)
	}
}

func TestPreprocessValidation(t *testing.T) {
	ok := modelfile.Preprocess{Width: 4, Height: 4, Channels: "RGB", Fit: "stretch", Resize: "bilinear",
		Scale: 1, Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1}}
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	tests := []struct {
		name string
		edit func(p *modelfile.Preprocess)
		want string
	}{
		{"zero width", func(p *modelfile.Preprocess) { p.Width = 0 }, "size 0×4"},
		{"too tall", func(p *modelfile.Preprocess) { p.Height = 4097 }, "size 4×4097"},
		{"channels", func(p *modelfile.Preprocess) { p.Channels = "rgb" }, `channels "rgb"`},
		{"fit", func(p *modelfile.Preprocess) { p.Fit = "cover" }, `fit "cover"`},
		{"resize", func(p *modelfile.Preprocess) { p.Resize = "bicubic" }, `resize "bicubic"`},
		{"scale 0", func(p *modelfile.Preprocess) { p.Scale = 0 }, "scale 0"},
		{"scale NaN", func(p *modelfile.Preprocess) { p.Scale = float32(math.NaN()) }, "scale NaN"},
		{"mean length", func(p *modelfile.Preprocess) { p.Mean = []float32{1} }, "mean has 1 values for 3 channels"},
		{"std length L", func(p *modelfile.Preprocess) { p.Channels = "L"; p.Mean = nil }, "std has 3 values for 1 channels"},
		{"std zero", func(p *modelfile.Preprocess) { p.Std = []float32{1, 0, 1} }, "std[1] is 0"},
		{"mean inf", func(p *modelfile.Preprocess) { p.Mean = []float32{0, float32(math.Inf(1)), 0} }, "mean[1] = +Inf"},
	}
	for _, tc := range tests {
		p := ok
		p.Mean = append([]float32(nil), ok.Mean...)
		p.Std = append([]float32(nil), ok.Std...)
		tc.edit(&p)
		_, err := ToTensor(img, image.Rectangle{}, p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	// Defaults: empty channels/fit/resize/mean/std.
	x, err := ToTensor(img, image.Rectangle{}, modelfile.Preprocess{Width: 3, Height: 2, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(x.Shape) != "[1 3 2 3]" {
		t.Errorf("default shape %v", x.Shape)
	}
}
