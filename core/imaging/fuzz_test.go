package imaging

import (
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
)

// fuzzPreprocess are the pipelines the fuzzer exercises, picked by a byte.
var fuzzPreprocess = []modelfile.Preprocess{
	{Width: 7, Height: 5, Channels: "RGB", Fit: "stretch", Resize: "bilinear", Scale: 1.0 / 255,
		Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}},
	{Width: 9, Height: 9, Channels: "RGB", Fit: "pad-square", Resize: "bilinear-tf", Scale: 1,
		Mean: []float32{122.782, 117.001, 104.298}, Std: []float32{255, 255, 255}},
	{Width: 4, Height: 6, Channels: "L", Fit: "center-crop", Resize: "area", Scale: 1.0 / 255},
	{Width: 3, Height: 3, Channels: "BGR", Fit: "stretch", Resize: "area", Scale: 1},
}

// FuzzDecodeToTensor: decoding arbitrary bytes never panics, honours the
// pixel limit, and whatever decodes turns into a finite tensor of the
// requested shape, for whole images and for crops.
func FuzzDecodeToTensor(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, name := range files {
		switch filepath.Ext(name) {
		case ".png", ".jpg", ".gif", ".bmp", ".webp":
			if data, err := os.ReadFile(name); err == nil {
				f.Add(data, uint8(len(name)), int16(1), int16(2), int16(5), int16(4))
			}
		}
	}
	f.Add([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), uint8(0), int16(0), int16(0), int16(0), int16(0))
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II*\x00\x08\x00\x00\x00"), uint8(1), int16(0), int16(0), int16(0), int16(0))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), uint8(2), int16(0), int16(0), int16(0), int16(0))
	f.Add([]byte("BM"), uint8(3), int16(-3), int16(-3), int16(3), int16(3))
	const limit = 1 << 18
	f.Fuzz(func(t *testing.T, data []byte, pick uint8, x0, y0, x1, y1 int16) {
		img, format, err := decode(data, limit)
		if err != nil {
			if img != nil {
				t.Fatalf("error %v with an image", err)
			}
			return
		}
		b := img.Bounds()
		if b.Empty() || int64(b.Dx())*int64(b.Dy()) > limit {
			t.Fatalf("%s: decoded bounds %v break the limit", format, b)
		}
		p := fuzzPreprocess[int(pick)%len(fuzzPreprocess)]
		for _, crop := range []image.Rectangle{{}, image.Rect(int(x0), int(y0), int(x1), int(y1))} {
			g, gerr := InputGeometry(b, crop, p)
			x, err := ToTensor(img, crop, p)
			if (err == nil) != (gerr == nil) {
				t.Fatalf("ToTensor err %v, InputGeometry err %v", err, gerr)
			}
			if err != nil {
				if crop.Empty() {
					t.Fatalf("%s %v: whole image failed: %v", format, b, err)
				}
				continue
			}
			if !g.Crop.In(b) || g.Crop.Empty() || !g.Crop.In(g.Canvas) && p.Fit != "center-crop" {
				t.Fatalf("geometry %+v for bounds %v crop %v", g, b, crop)
			}
			nc := 3
			if p.Channels == "L" {
				nc = 1
			}
			if len(x.Shape) != 4 || x.Shape[1] != nc || x.Shape[2] != p.Height || x.Shape[3] != p.Width || len(x.Data) != nc*p.Width*p.Height {
				t.Fatalf("shape %v for %+v", x.Shape, p)
			}
			for i, v := range x.Data {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 1000 {
					t.Fatalf("value %d = %v", i, v)
				}
			}
		}
	})
}
