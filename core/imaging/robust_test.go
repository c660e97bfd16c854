package imaging

import (
	"errors"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
)

// TestToTensorNotFinite: preprocessing whose scale or std turns pixel
// values into infinities is an error wrapping nn.ErrNotFinite that names
// the channel and position, never a tensor of infinities.
func TestToTensorNotFinite(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 3))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	img.SetNRGBA(1, 1, color.NRGBA{0, 0, 0, 255})
	base := modelfile.Preprocess{Width: 4, Height: 3, Channels: "RGB", Fit: "stretch", Resize: "bilinear", Scale: 1}
	cases := []struct {
		name string
		edit func(p *modelfile.Preprocess)
		want string
	}{
		{"tiny std", func(p *modelfile.Preprocess) { p.Std = []float32{1, 1e-40, 1} }, "input channel 1 at (0, 0) is (200·1 − 0) / 1e-40 = +Inf"},
		{"huge scale", func(p *modelfile.Preprocess) { p.Scale = 3e38 }, "input channel 0 at (0, 0)"},
		{"huge negative mean", func(p *modelfile.Preprocess) { p.Scale = 1e38; p.Mean = []float32{-3e38, 0, 0} }, "= +Inf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := base
			c.edit(&p)
			x, err := ToTensor(img, image.Rectangle{}, p)
			if x != nil || !errors.Is(err, nn.ErrNotFinite) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ToTensor = %v, %v; want nn.ErrNotFinite saying %q", x, err, c.want)
			}
		})
	}
	if _, err := ToTensor(img, image.Rectangle{}, base); err != nil {
		t.Fatal(err)
	}
}
