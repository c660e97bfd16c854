package cam

import (
	"fmt"
	"image"

	"github.com/camlens/camlens/core/imaging"
)

// SessionFromImage preprocesses the crop of img as the model's
// Meta.Preprocess says (imaging.ToTensor; an empty crop means the whole
// image) and starts a session on it. Cost: the preprocessing and one
// forward pass.
func (m *Model) SessionFromImage(img image.Image, crop image.Rectangle, opts ...SessionOption) (*Session, error) {
	if img == nil {
		return nil, fmt.Errorf("cam: nil image")
	}
	x, err := imaging.ToTensor(img, crop, m.meta.Preprocess)
	if err != nil {
		return nil, fmt.Errorf("cam: preprocess: %w", err)
	}
	return m.NewSession(x, opts...)
}
