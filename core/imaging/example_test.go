package imaging_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
)

func ExampleDecode() {
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, 64, 48)))

	img, format, err := imaging.Decode(buf.Bytes())
	fmt.Println(format, img.Bounds(), err)

	_, _, err = imaging.Decode([]byte("%PDF-1.7 ..."))
	fmt.Println(err, errors.Is(err, imaging.ErrFormat))
	// Output:
	// png (0,0)-(64,48) <nil>
	// imaging: not an image: looks like a PDF document: unsupported image format true
}

func ExampleToTensor() {
	// A 4×2 image: left half red, right half blue.
	img := image.NewRGBA(image.Rect(0, 0, 4, 2))
	for y := range 2 {
		for x := range 4 {
			c := color.RGBA{255, 0, 0, 255}
			if x >= 2 {
				c = color.RGBA{0, 0, 255, 255}
			}
			img.Set(x, y, c)
		}
	}
	p := modelfile.Preprocess{
		Width: 2, Height: 1, Channels: "RGB", Fit: "stretch", Resize: "area",
		Scale: 1.0 / 255, Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.5, 0.5, 0.5},
	}
	x, err := imaging.ToTensor(img, image.Rectangle{}, p)
	if err != nil {
		panic(err)
	}
	fmt.Println(x.Shape)
	fmt.Println("R", x.Data[0:2], "G", x.Data[2:4], "B", x.Data[4:6])
	// Output:
	// [1 3 1 2]
	// R [1 -1] G [-1 -1] B [-1 1]
}

func ExampleInputGeometry() {
	// A face box 81 wide and 100 tall, padded to a square like face-api: 9
	// columns of black on the left, 10 on the right.
	p := modelfile.Preprocess{Width: 112, Height: 112, Fit: "pad-square", Resize: "bilinear-tf", Scale: 1}
	g, err := imaging.InputGeometry(image.Rect(0, 0, 640, 480), image.Rect(100, 50, 181, 150), p)
	if err != nil {
		panic(err)
	}
	fmt.Println("crop", g.Crop, "square", g.Canvas)
	x, y := g.ToImage(56, 56) // centre of the input
	fmt.Println(x, y)
	// Output:
	// crop (100,50)-(181,150) square (91,50)-(191,150)
	// 141 100
}

func ExampleOverlay() {
	base := image.NewGray(image.Rect(0, 0, 2, 1)) // black
	cm, _ := imaging.LookupColormap("jet")
	out := imaging.Overlay(base, []float32{0, 1}, 2, 1, cm, 0.5)
	fmt.Println(out.RGBAAt(0, 0), out.RGBAAt(1, 0))

	var buf bytes.Buffer
	if err := imaging.EncodePNG(&buf, out); err != nil {
		panic(err)
	}
	fmt.Println(buf.Len() > 0)
	// Output:
	// {0 0 64 255} {64 0 0 255}
	// true
}

func ExampleLookupColormap() {
	for _, name := range imaging.ColormapNames() {
		cm, _ := imaging.LookupColormap(name)
		fmt.Println(name, cm.At(0), cm.At(1))
	}
	// Output:
	// jet {0 0 128 255} {128 0 0 255}
	// turbo {48 18 59 255} {122 4 3 255}
	// viridis {68 1 84 255} {253 231 37 255}
	// inferno {0 0 4 255} {252 255 164 255}
}
