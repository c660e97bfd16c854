package imaging

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
)

func benchImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	return img
}

// BenchmarkToTensor turns a 12-megapixel photo into a 224×224 input.
func BenchmarkToTensor(b *testing.B) {
	img := benchImage(4000, 3000)
	for _, resize := range []string{"bilinear", "area"} {
		b.Run(resize, func(b *testing.B) {
			p := modelfile.Preprocess{Width: 224, Height: 224, Channels: "RGB", Fit: "center-crop", Resize: resize,
				Scale: 1.0 / 255, Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}}
			for b.Loop() {
				if _, err := ToTensor(img, image.Rectangle{}, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkResizePlane7to224(b *testing.B) {
	m := make([]float32, 7*7)
	for i := range m {
		m[i] = float32(i)
	}
	for b.Loop() {
		ResizePlane(m, 7, 7, 224, 224, ResizeHalfPixel)
	}
}

func BenchmarkDecodeJPEG(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, benchImage(1600, 1200), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, _, err := Decode(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlaneResizer7to112(b *testing.B) {
	m := make([]float32, 7*7)
	for i := range m {
		m[i] = float32(i)
	}
	r, err := NewPlaneResizer(7, 7, 112, 112, ResizeHalfPixel)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, 112*112)
	b.ReportAllocs()
	for b.Loop() {
		r.Resize(dst, m)
	}
}
