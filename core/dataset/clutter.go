package dataset

import (
	"fmt"
	"image"
	"math/rand/v2"

	"golang.org/x/image/draw"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist installs the data.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// ClutterOptions configures Clutter. Zero fields take the defaults shown.
type ClutterOptions struct {
	Size      int // canvas side, default 96
	MinScale  int // smallest digit side in pixels, default 32
	MaxScale  int // largest digit side, default 64
	Fragments int // clutter fragments per canvas, default 8
	FragSize  int // fragment side, default 9
	InkLevel  int // pixel value counted as ink for the box, default 64
}

func (o *ClutterOptions) defaults() {
	if o.Size == 0 {
		o.Size = 96
	}
	if o.MinScale == 0 {
		o.MinScale = 32
	}
	if o.MaxScale == 0 {
		o.MaxScale = 64
	}
	if o.Fragments == 0 {
		o.Fragments = 8
	}
	if o.FragSize == 0 {
		o.FragSize = 9
	}
	if o.InkLevel == 0 {
		o.InkLevel = 64
	}
}

// Clutter makes n canvases from src (28×28 digits): each holds src image
// (seeded random choice) scaled to a random size at a random position, over
// fragments cut from other images of src, combined with max. The label is
// the digit's; the box is the tight box of the scaled digit's ink.
// The same src, n, seed and options always give the same set.
func Clutter(src *Set, n int, seed uint64, opt ClutterOptions) (*Set, error) {
	opt.defaults()
	if src.Len() == 0 {
		return nil, fmt.Errorf("dataset: clutter: empty source set")
	}
	if opt.MaxScale > opt.Size || opt.MinScale < 1 || opt.MinScale > opt.MaxScale || opt.FragSize > min(src.Rows, src.Cols) {
		return nil, fmt.Errorf("dataset: clutter: inconsistent options %+v for %d×%d sources", opt, src.Rows, src.Cols)
	}
	rng := rand.New(rand.NewPCG(seed, 0x636c7574746572))
	S := opt.Size
	out := &Set{Rows: S, Cols: S, Images: make([][]byte, n), Labels: make([]int, n), Boxes: make([]Box, n)}
	for i := 0; i < n; i++ {
		canvas := make([]byte, S*S)
		for f := 0; f < opt.Fragments; f++ {
			j := rng.IntN(src.Len())
			fx := rng.IntN(src.Cols - opt.FragSize + 1)
			fy := rng.IntN(src.Rows - opt.FragSize + 1)
			px := rng.IntN(S - opt.FragSize + 1)
			py := rng.IntN(S - opt.FragSize + 1)
			for y := 0; y < opt.FragSize; y++ {
				for x := 0; x < opt.FragSize; x++ {
					v := src.Images[j][(fy+y)*src.Cols+fx+x]
					k := (py+y)*S + px + x
					canvas[k] = max(canvas[k], v)
				}
			}
		}
		j := rng.IntN(src.Len())
		s := opt.MinScale + rng.IntN(opt.MaxScale-opt.MinScale+1)
		px := rng.IntN(S - s + 1)
		py := rng.IntN(S - s + 1)
		digit := &image.Gray{Pix: src.Images[j], Stride: src.Cols, Rect: image.Rect(0, 0, src.Cols, src.Rows)}
		scaled := image.NewGray(image.Rect(0, 0, s, s))
		draw.BiLinear.Scale(scaled, scaled.Rect, digit, digit.Rect, draw.Src, nil)
		box := Box{X0: S, Y0: S}
		for y := 0; y < s; y++ {
			for x := 0; x < s; x++ {
				v := scaled.Pix[y*scaled.Stride+x]
				k := (py+y)*S + px + x
				canvas[k] = max(canvas[k], v)
				if int(v) >= opt.InkLevel {
					box.X0, box.Y0 = min(box.X0, px+x), min(box.Y0, py+y)
					box.X1, box.Y1 = max(box.X1, px+x+1), max(box.Y1, py+y+1)
				}
			}
		}
		if box.X1 == 0 { // no ink at all: use the pasted square
			box = Box{px, py, px + s, py + s}
		}
		out.Images[i], out.Labels[i], out.Boxes[i] = canvas, src.Labels[j], box
	}
	return out, nil
}
