package tfjs_test

import (
	"fmt"

	"github.com/camlens/camlens/core/tfjs"
)

func ExampleParseManifest() {
	manifest := []byte(`[{"paths": ["w.bin"], "weights": [
		{"name": "conv/filters", "shape": [1, 1, 1, 3], "dtype": "float32",
		 "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}}]}]`)
	m, err := tfjs.ParseManifest(manifest)
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := m.Decode(func(path string) ([]byte, error) {
		return []byte{0, 2, 255}, nil // the contents of w.bin
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	f := w["conv/filters"]
	fmt.Println(f.Shape, f.Data) // q·scale + min

	// TF's [KH, KW, IC, OC] filter as a CamLens conv2d weight [OC, IC, KH, KW].
	c, _ := tfjs.ConvFromHWIO(f)
	fmt.Println(c.Shape)
	// Output:
	// [1 1 1 3] [-1 0 126.5]
	// [3 1 1 1]
}

func ExampleFacePreprocess() {
	p := tfjs.FacePreprocess()
	fmt.Println(p.Width, p.Height, p.Fit, p.Resize, p.Mean, p.Std)
	// Output: 112 112 pad-square bilinear-tf [122.782 117.001 104.298] [255 255 255]
}
