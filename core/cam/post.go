package cam

import (
	"image"
	"math"

	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/tensor"
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
//
// It takes max(x − min) as max(x) − min: rounding is monotonic, so that is
// the same float32 value (and NaN/Inf propagate the same way), in two
// passes over x instead of three.
func minMax(x []float32) {
	if len(x) == 0 {
		return
	}
	lo, hi, ok := rangeNonNeg(x)
	if !ok {
		lo, hi = x[0], x[0]
		for _, v := range x {
			lo = minf(lo, v)
			hi = maxf(hi, v)
		}
	}
	minMaxRange(x, lo, hi)
}

// minMaxRange is minMax given lo = min(x) and hi = max(x).
func minMaxRange(x []float32, lo, hi float32) {
	normalize(x, lo, float32(minMaxEps+float64(maxf(0, hi-lo))))
}

// workspace holds a session's reusable buffers for the map pipeline; none
// of them ends up in a Result. Not safe for concurrent use (the session
// serialises its calls).
type workspace struct {
	acc      []float64
	raw      []float32
	layers   [][]float32 // per-layer maps at the input size (several layers)
	resizers []*imaging.PlaneResizer
	box      boxScratch
	grads    []*tensor.Tensor // gradients expanded from pooled ones, per request layer
	gradOf   []gradTag        // what grads[i] holds
	in, gin  [1]*tensor.Tensor
}

// gradTag says which expansion a gradient slot holds: the pooled gradient
// it came from (kept alive here, so the pointer cannot be reused) and its
// sign. A method switch on the same class reuses it.
type gradTag struct {
	from *tensor.Tensor
	neg  bool
}

// gradBuf returns scratch tensor slot i with the given shape, zeroed.
func (ws *workspace) gradBuf(i int, shape []int) *tensor.Tensor {
	for len(ws.grads) <= i {
		ws.grads = append(ws.grads, &tensor.Tensor{})
	}
	t := ws.grads[i]
	n := 1
	for _, d := range shape {
		n *= d
	}
	if cap(t.Data) < n {
		t.Data = make([]float32, n)
	}
	t.Data = t.Data[:n]
	clear(t.Data)
	t.Shape = append(t.Shape[:0], shape...)
	return t
}

// f64 returns a scratch []float64 of n values (contents undefined).
func (ws *workspace) f64(n int) []float64 {
	if cap(ws.acc) < n {
		ws.acc = make([]float64, n)
	}
	return ws.acc[:n]
}

// layer returns scratch slot i of n float32 (contents undefined).
func (ws *workspace) layer(i, n int) []float32 {
	for len(ws.layers) <= i {
		ws.layers = append(ws.layers, nil)
	}
	if cap(ws.layers[i]) < n {
		ws.layers[i] = make([]float32, n)
	}
	return ws.layers[i][:n]
}

// resizer returns the cached resizer from w×h to outW×outH (half-pixel
// bilinear, as postprocess resizes).
func (ws *workspace) resizer(h, w, outH, outW int) *imaging.PlaneResizer {
	for _, r := range ws.resizers {
		if sw, sh, dw, dh := r.Size(); sw == w && sh == h && dw == outW && dh == outH {
			return r
		}
	}
	r, err := imaging.NewPlaneResizer(w, h, outW, outH, imaging.ResizeHalfPixel)
	if err != nil {
		// Map and input sizes come from the model's checked shapes.
		panic("cam: " + err.Error())
	}
	if len(ws.resizers) >= 8 {
		ws.resizers = ws.resizers[1:]
	}
	ws.resizers = append(ws.resizers, r)
	return r
}

// postprocess turns one layer's raw signed h×w map into the library's
// per-layer map at the input size W×H (compute_cam_per_layer): ReLU →
// min-max → bilinear resize with half-pixel centres (OpenCV INTER_LINEAR).
// aggregate does the final min-max.
func postprocess(raw []float32, h, w, outH, outW int) []float32 {
	dst := make([]float32, outH*outW)
	new(workspace).postprocessInto(dst, raw, h, w, outH, outW)
	return dst
}

// postprocessInto is postprocess writing into dst (outH·outW values).
func (ws *workspace) postprocessInto(dst, raw []float32, h, w, outH, outW int) {
	if cap(ws.raw) < len(raw) {
		ws.raw = make([]float32, len(raw))
	}
	m := ws.raw[:len(raw)]
	copy(m, raw)
	relu(m)
	minMax(m)
	if h == outH && w == outW {
		copy(dst, m)
		return
	}
	ws.resizer(h, w, outH, outW).Resize(dst, m)
}

// aggregate combines per-layer maps (each already post-processed, W×H) as
// pytorch-grad-cam's aggregate_multi_layers: ReLU, mean over layers,
// min-max.
func aggregate(maps [][]float32) []float32 {
	out := make([]float32, len(maps[0]))
	aggregateInto(out, maps)
	return out
}

// aggregateInto is aggregate writing into dst, which may be maps[0] when
// there is one map. The mean is accumulated in float64 in layer order;
// for one layer it is the ReLU'd map itself.
func aggregateInto(dst []float32, maps [][]float32) {
	if len(maps) == 1 {
		src := maps[0][:len(dst)]
		if len(src) == 0 {
			return
		}
		if lo, hi, ok := rangeNonNeg(src); ok { // ReLU changes nothing
			copy(dst, src)
			minMaxRange(dst, lo, hi)
			return
		}
		for i, v := range src {
			dst[i] = maxf(v, 0)
		}
		minMax(dst)
		return
	}
	n := float64(len(maps))
	for i := range dst {
		s := 0.0
		for _, m := range maps {
			s += float64(maxf(m[i], 0))
		}
		dst[i] = float32(s / n)
	}
	minMax(dst)
}

// Peak returns the position of the largest value of a w×h map (the first
// one in row-major order on ties).
func Peak(m []float32, w, h int) image.Point {
	at, _ := peak(m[:w*h])
	return image.Pt(at%w, at/w)
}

// peak returns the index of the first largest value of m and that value
// (−Inf for an empty or all-NaN m).
func peak(m []float32) (int, float32) {
	if at, hi, ok := peakNonNeg(m); ok {
		return at, hi
	}
	return peakAny(m)
}

func peakAny(m []float32) (int, float32) {
	best, at := float32(math.Inf(-1)), 0
	for i, v := range m {
		if v > best {
			best, at = v, i
		}
	}
	return at, best
}

// Box thresholds a w×h map at BoxThreshold of its maximum and returns the
// bounding box of the largest 8-connected region of pixels at or above the
// threshold (ties: the region found first in row-major order). A map with
// no positive value gives the empty rectangle.
func Box(m []float32, w, h int) image.Rectangle {
	return BoxAt(m, w, h, BoxThreshold)
}

// BoxAt is Box with the threshold given as a fraction of the map's
// maximum (Box uses BoxThreshold).
func BoxAt(m []float32, w, h int, threshold float32) image.Rectangle {
	var b boxScratch
	return b.box(m, w, h, threshold)
}

// boxScratch is Box's reusable memory: a bit mask of the pixels at or
// above the threshold and the runs of set bits.
type boxScratch struct {
	mask []uint64
	runs []boxRun
}

// boxRun is a horizontal run [x0, x1) of above-threshold pixels on row y,
// a node of a union-find forest over runs (parent: the smallest run index
// of its region, so a root is the region's first run in row-major order).
// At roots, n and the bounds accumulate the region's pixel count and box.
type boxRun struct {
	x0, x1, y int32
	parent    int32
	n         int32
	bx0, bx1  int32
	by0, by1  int32
}

func (b *boxScratch) find(i int32) int32 {
	r := b.runs
	root := i
	for r[root].parent != root {
		root = r[root].parent
	}
	for r[i].parent != root { // path compression
		next := r[i].parent
		r[i].parent = root
		i = next
	}
	return root
}

// box labels 8-connected regions run by run: each run joins the runs of
// the previous row that touch it (overlap or meet diagonally), the region
// keeps its smallest run index as root, and the largest region wins, the
// first one in row-major order on ties, as a flood fill in row-major
// order finds them.
func (b *boxScratch) box(m []float32, w, h int, threshold float32) image.Rectangle {
	m = m[:w*h]
	hi := float32(0)
	if _, top, ok := peakNonNeg(m); ok {
		hi = top
	} else {
		for _, v := range m {
			hi = maxf(hi, v)
		}
	}
	return b.boxMax(m, w, h, hi, threshold)
}

// boxMax is box given hi, max(0, max(m)) (a NaN in m makes hi NaN).
func (b *boxScratch) boxMax(m []float32, w, h int, hi, threshold float32) image.Rectangle {
	m = m[:w*h]
	if hi <= 0 {
		return image.Rectangle{}
	}
	t := hi * threshold
	words := (w + 63) / 64
	if cap(b.mask) < words*h {
		b.mask = make([]uint64, words*h)
	}
	mask := b.mask[:words*h]
	fast := math.Float32bits(t) < 0x7f800000 // t ≥ +0 and finite
	for y := 0; fast && y < h; y++ {
		fast = maskAtLeast(m[y*w:(y+1)*w], t, mask[y*words:(y+1)*words])
	}
	if !fast {
		for y := range h {
			maskNotBelow(m[y*w:(y+1)*w], t, mask[y*words:(y+1)*words])
		}
	}
	runs := b.runs[:0]
	prevStart, prevEnd := 0, 0
	for y := range h {
		row := mask[y*words : (y+1)*words]
		curStart := len(runs)
		j := prevStart
		for x := nextBit(row, 0, w, true); x < w; x = nextBit(row, x, w, true) {
			x0 := x
			x = nextBit(row, x, w, false)
			id := int32(len(runs))
			runs = append(runs, boxRun{x0: int32(x0), x1: int32(x), y: int32(y), parent: id})
			b.runs = runs
			// Runs of the previous row that end before x0−1 touch no later run.
			for j < prevEnd && int(runs[j].x1) < x0 {
				j++
			}
			for k := j; k < prevEnd && int(runs[k].x0) <= x; k++ {
				ra, rb := b.find(int32(k)), b.find(id)
				if ra < rb {
					runs[rb].parent = ra
				} else if rb < ra {
					runs[ra].parent = rb
				}
			}
		}
		prevStart, prevEnd = curStart, len(runs)
	}
	b.runs = runs
	for i := range runs {
		r := &runs[i]
		root := b.find(int32(i))
		p := &runs[root]
		if root == int32(i) {
			p.n, p.bx0, p.bx1, p.by0, p.by1 = 0, r.x0, r.x1, r.y, r.y+1
		}
		p.n += r.x1 - r.x0
		p.bx0, p.bx1 = min(p.bx0, r.x0), max(p.bx1, r.x1)
		p.by1 = max(p.by1, r.y+1)
	}
	best := -1
	for i := range runs {
		if runs[i].parent == int32(i) && (best < 0 || runs[i].n > runs[best].n) {
			best = i
		}
	}
	if best < 0 {
		return image.Rectangle{}
	}
	r := &runs[best]
	return image.Rect(int(r.bx0), int(r.by0), int(r.bx1), int(r.by1))
}
