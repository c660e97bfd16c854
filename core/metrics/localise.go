package metrics

import (
	"fmt"
	"image"
	"math"
	"sort"

	"github.com/camlens/camlens/core/cam"
)

// Box is the localisation box of a w×h map at threshold (a fraction of the
// map's maximum, from cam.BoxThreshold to 1): cam.BoxAt, the bounding box
// of the largest 8-connected region of pixels at or above threshold·max.
// A map with no positive value gives the empty rectangle.
func Box(m []float32, w, h int, threshold float64) (image.Rectangle, error) {
	if err := checkMap(m, w, h); err != nil {
		return image.Rectangle{}, err
	}
	if !(threshold >= cam.BoxThreshold && threshold <= 1) {
		return image.Rectangle{}, fmt.Errorf("metrics: box threshold %v not in [%v, 1]", threshold, cam.BoxThreshold)
	}
	return cam.BoxAt(m, w, h, float32(threshold)), nil
}

// PointingGame reports a hit when peak lies inside box, or within
// tolerance pixels of it (Euclidean distance to the nearest pixel of the
// box; Zhang et al. use 15 pixels at 224×224). An empty box is never hit.
func PointingGame(peak image.Point, box image.Rectangle, tolerance int) bool {
	if box.Empty() {
		return false
	}
	dx := max(box.Min.X-peak.X, 0, peak.X-(box.Max.X-1))
	dy := max(box.Min.Y-peak.Y, 0, peak.Y-(box.Max.Y-1))
	return dx*dx+dy*dy <= tolerance*tolerance
}

// IoU is the intersection over union of two pixel rectangles (0 when
// either is empty).
func IoU(a, b image.Rectangle) float64 {
	if a.Empty() || b.Empty() {
		return 0
	}
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := float64(in.Dx()) * float64(in.Dy())
	u := float64(a.Dx())*float64(a.Dy()) + float64(b.Dx())*float64(b.Dy()) - ia
	return ia / u
}

// Spearman is Spearman's rank correlation of a and b (equal lengths): the
// Pearson correlation of their ranks, tied values sharing their mean rank,
// as scipy.stats.spearmanr. It is 0 (not NaN) when either has a single
// distinct value, which carries no ranking, and NaN when the lengths
// differ or are below 2.
func Spearman(a, b []float32) float64 {
	if len(a) != len(b) || len(a) < 2 {
		return math.NaN()
	}
	ra, rb := ranks(a), ranks(b)
	n := float64(len(a))
	mean := (n + 1) / 2
	var sab, saa, sbb float64
	for i := range ra {
		da, db := ra[i]-mean, rb[i]-mean
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return 0
	}
	return sab / math.Sqrt(saa*sbb)
}

// ranks returns 1-based ranks in increasing order, ties averaged. NaNs
// rank last.
func ranks(v []float32) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	less := func(x, y float32) bool { return x < y || (x == x && y != y) }
	sort.Slice(idx, func(a, b int) bool { return less(v[idx[a]], v[idx[b]]) })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && !less(v[idx[i]], v[idx[j]]) && !less(v[idx[j]], v[idx[i]]) {
			j++
		}
		avg := float64(i+j+1) / 2 // mean of ranks i+1 … j
		for k := i; k < j; k++ {
			r[idx[k]] = avg
		}
		i = j
	}
	return r
}
