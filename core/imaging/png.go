package imaging

import (
	"fmt"
	"image"
	"image/png"
	"io"
)

// EncodePNG writes img as a PNG with fast compression (heatmaps and overlays
// are produced interactively).
func EncodePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("imaging: encode PNG (%v): %w", img.Bounds(), err)
	}
	return nil
}
