package cam

import (
	"image"
	"math"

	"github.com/camlens/camlens/core/imaging"
)

// minMaxEps is pytorch-grad-cam's scale_cam_image epsilon.
const minMaxEps = 1e-7

// BoxThreshold is the fraction of the map's maximum above which pixels
// count for the localisation box.
const BoxThreshold = 0.15

// relu sets negative values to 0 in place.
func relu(x []float32) {
	for i, v := range x {
		if v < 0 || v != v { // NaN becomes 0 too
			x[i] = 0
		}
	}
}

// minMax normalises in place as scale_cam_image does:
// (x − min) / (1e-7 + max(x − min)). A constant map becomes all zeros.
func minMax(x []float32) {
	if len(x) == 0 {
		return
	}
	lo := x[0]
	for _, v := range x {
		lo = minf(lo, v)
	}
	hi := float32(0)
	for i, v := range x {
		x[i] = v - lo
		hi = maxf(hi, x[i])
	}
	d := float32(minMaxEps + float64(hi))
	for i, v := range x {
		x[i] = v / d
	}
}

// postprocess turns one layer's raw signed h×w map into the library's
// per-layer map at the input size W×H (compute_cam_per_layer): ReLU →
// min-max → bilinear resize with half-pixel centres (OpenCV INTER_LINEAR).
// aggregate does the final min-max.
func postprocess(raw []float32, h, w, outH, outW int) []float32 {
	m := append([]float32(nil), raw...)
	relu(m)
	minMax(m)
	if h != outH || w != outW {
		m = imaging.ResizePlane(m, w, h, outW, outH, imaging.ResizeHalfPixel)
	}
	return m
}

// aggregate combines per-layer maps (each already post-processed, W×H) as
// pytorch-grad-cam's aggregate_multi_layers: ReLU, mean over layers,
// min-max.
func aggregate(maps [][]float32) []float32 {
	n := len(maps[0])
	acc := make([]float64, n)
	for _, m := range maps {
		for i, v := range m {
			acc[i] += float64(maxf(v, 0))
		}
	}
	out := make([]float32, n)
	for i, v := range acc {
		out[i] = float32(v / float64(len(maps)))
	}
	minMax(out)
	return out
}

// Peak returns the position of the largest value of a w×h map (the first
// one in row-major order on ties).
func Peak(m []float32, w, h int) image.Point {
	best, at := float32(math.Inf(-1)), 0
	for i, v := range m[:w*h] {
		if v > best {
			best, at = v, i
		}
	}
	return image.Pt(at%w, at/w)
}

// Box thresholds a w×h map at BoxThreshold of its maximum and returns the
// bounding box of the largest 8-connected region of pixels at or above the
// threshold (ties: the region found first in row-major order). A map with
// no positive value gives the empty rectangle.
func Box(m []float32, w, h int) image.Rectangle {
	hi := float32(0)
	for _, v := range m[:w*h] {
		hi = maxf(hi, v)
	}
	if hi <= 0 {
		return image.Rectangle{}
	}
	t := hi * BoxThreshold
	label := make([]int32, w*h) // 0: unvisited; -1: below; >0: region id
	var best image.Rectangle
	bestN := 0
	stack := make([]int, 0, 64)
	for start := range label {
		if label[start] != 0 {
			continue
		}
		if m[start] < t {
			label[start] = -1
			continue
		}
		id := int32(start + 1)
		label[start] = id
		stack = append(stack[:0], start)
		n := 0
		r := image.Rect(start%w, start/w, start%w+1, start/w+1)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := p%w, p/w
			r = r.Union(image.Rect(x, y, x+1, y+1))
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					q := ny*w + nx
					if label[q] != 0 {
						continue
					}
					if m[q] < t {
						label[q] = -1
						continue
					}
					label[q] = id
					stack = append(stack, q)
				}
			}
		}
		if n > bestN {
			best, bestN = r, n
		}
	}
	return best
}
