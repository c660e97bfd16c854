package cam

import (
	"context"
	"image"
	"os"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/tensor"
)

// faceModelPath is the shipped face-expression network (112×112 input, last
// block 256×7×7), the model of the browser benchmark (scripts/bench).
const faceModelPath = "../../models/face-expression.safetensors"

// faceSession starts a session of the face-expression model on a fixed
// pseudo-random input, or skips when the model file is not there.
func faceSession(b *testing.B) *Session {
	b.Helper()
	if _, err := os.Stat(faceModelPath); err != nil {
		b.Skipf("no face-expression model: %v", err)
	}
	mf, err := modelfile.Load(faceModelPath)
	if err != nil {
		b.Fatal(err)
	}
	m, err := NewModel(mf)
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.New(m.Graph().InputShape()...)
	seed := uint32(1)
	for i := range x.Data {
		seed = seed*1664525 + 1013904223
		x.Data[i] = float32(seed>>8)/float32(1<<24) - 0.5
	}
	s, err := m.NewSession(x)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkFaceClassSwitch is a class switch on a warm session: Grad-CAM
// at the last block (dense3/out, 7×7) of a class whose gradient is not
// cached (the cache keeps one gradient, the classes cycle), so each call
// runs the partial backward pass, the method and the post-processing.
func BenchmarkFaceClassSwitch(b *testing.B) {
	s := faceSession(b)
	s.grads.limit = 1
	ctx := context.Background()
	k := s.Model().NumClasses()
	req := Request{Method: "gradcam", Layers: []string{"dense3/out"}}
	for c := range k {
		req.Class = c
		if _, err := s.Explain(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req.Class = i % k
		i++
		if _, err := s.Explain(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	if s.BackwardCount() < i {
		b.Fatalf("%d backward passes for %d class switches", s.BackwardCount(), i)
	}
}

// BenchmarkFaceMethodSwitch is a method switch on a warm session (the
// gradient is cached): Grad-CAM → Grad-CAM++ → LayerCAM at the last block.
func BenchmarkFaceMethodSwitch(b *testing.B) {
	s := faceSession(b)
	ctx := context.Background()
	methods := []string{"gradcam++", "layercam", "gradcam"}
	req := Request{Class: -1, Layers: []string{"dense3/out"}}
	for _, m := range methods {
		req.Method = m
		if _, err := s.Explain(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	n := s.BackwardCount()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req.Method = methods[i%len(methods)]
		i++
		if _, err := s.Explain(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	if s.BackwardCount() != n {
		b.Fatalf("a method switch ran %d backward passes", s.BackwardCount()-n)
	}
}

// BenchmarkFaceGradCAM is Grad-CAM end to end on the face-expression model
// with the pure-Go kernels: a decoded 256×256 image in (crop, pad, resize,
// normalise), forward pass, backward to the last block, map out (112×112),
// then the session is released for the next image's.
func BenchmarkFaceGradCAM(b *testing.B) {
	s := faceSession(b)
	m := s.Model()
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for i := range img.Pix {
		img.Pix[i] = uint8(i*7 + i/1024)
		if i%4 == 3 {
			img.Pix[i] = 255 // opaque, as a decoded photo
		}
	}
	crop := image.Rect(40, 30, 200, 210)
	ctx := context.Background()
	req := Request{Method: "gradcam", Class: -1, Layers: []string{"dense3/out"}}
	b.ReportAllocs()
	for b.Loop() {
		s, err := m.SessionFromImage(img, crop)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Explain(ctx, req); err != nil {
			b.Fatal(err)
		}
		s.Release() // as the engine does when the next image comes
	}
}
