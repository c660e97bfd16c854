package metrics

import (
	"context"
	"fmt"
	"math"

	"github.com/camlens/camlens/core/cam"
)

// Curve is a deletion or insertion curve.
type Curve struct {
	// Fractions are the fractions of the pixels changed at each step,
	// from 0 to 1.
	Fractions []float64 `json:"fractions"`
	// Scores are the class's softmax probabilities at each step.
	Scores []float64 `json:"scores"`
	// AUC is the area under Scores over Fractions.
	AUC float64 `json:"auc"`
}

// Curves are the deletion and insertion curves of one map.
type Curves struct {
	Class     int   `json:"class"`
	Deletion  Curve `json:"deletion"`
	Insertion Curve `json:"insertion"`
}

// DeletionInsertion computes RISE's deletion and insertion curves of map m
// (H×W, the session's input size) for class (-1: the session's top class):
// deletion sets the input's pixels to zero (Options.Fill) in decreasing
// order of m,
// insertion puts them back into a blurred copy (Blur) in the same order.
// Cost: 2·(Steps+1) forward passes, in batches.
func DeletionInsertion(ctx context.Context, s *cam.Session, m []float32, class int, opt Options) (*Curves, error) {
	if s != nil && class == -1 {
		class = topClass(s)
	}
	steps := opt.Steps
	if steps == 0 {
		steps = DefaultSteps
	}
	sc, err := newScorer(ctx, s, m, class, opt, 0)
	if err != nil {
		return nil, err
	}
	n := sc.h * sc.w
	if steps < 1 || steps > n {
		return nil, fmt.Errorf("metrics: %d steps, want 1 to %d (the pixels of the input)", steps, n)
	}
	sc.total = 2 * (steps + 1)
	x := s.Input().Data
	blurred := Blur(x, sc.c, sc.h, sc.w)
	order := Rank(m, opt.Seed)
	counts := make([]int, steps+1)
	fr := make([]float64, steps+1)
	for k := range counts {
		counts[k] = k * n / steps
		fr[k] = float64(counts[k]) / float64(n)
	}
	// Images 0..steps are the deletion curve, steps+1.. the insertion one.
	ys, err := sc.scores(sc.total, func(i int, dst []float32) error {
		if i <= steps { // deletion: x with the top pixels set to the fill
			copy(dst, x)
			for _, p := range order[:counts[i]] {
				for ch := range sc.c {
					dst[ch*n+p] = sc.fill[ch]
				}
			}
			return nil
		}
		copy(dst, blurred) // insertion: the blur with the top pixels of x
		for _, p := range order[:counts[i-steps-1]] {
			for ch := range sc.c {
				dst[ch*n+p] = x[ch*n+p]
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("metrics: deletion/insertion: %w", err)
	}
	del := Curve{Fractions: fr, Scores: ys[:steps+1]}
	ins := Curve{Fractions: append([]float64(nil), fr...), Scores: ys[steps+1:]}
	del.AUC = AUC(del.Fractions, del.Scores)
	ins.AUC = AUC(ins.Fractions, ins.Scores)
	return &Curves{Class: class, Deletion: del, Insertion: ins}, nil
}

// blurSize and blurSigma are RISE's insertion substrate: gkern(11, 5).
const (
	blurSize  = 11
	blurSigma = 5.0
)

// BlurKernel returns RISE's 1-D insertion kernel: the 2-D kernel
// gkern(11, 5) (scipy.ndimage.gaussian_filter of an 11×11 delta with σ 5,
// truncate 4, mode "reflect") is the outer product of this one with
// itself. It sums to 1.
func BlurKernel() []float64 {
	const radius = 20 // int(4·σ + 0.5): scipy's truncate 4
	var w [2*radius + 1]float64
	sum := 0.0
	for j := -radius; j <= radius; j++ {
		w[j+radius] = math.Exp(-0.5 * float64(j*j) / (blurSigma * blurSigma))
		sum += w[j+radius]
	}
	const c, l = blurSize / 2, blurSize
	k := make([]float64, blurSize)
	for i := range k {
		for j := -radius; j <= radius; j++ {
			// scipy's "reflect" extension: d c b a | a b c d | d c b a.
			e := ((i+j)%(2*l) + 2*l) % (2 * l)
			if e >= l {
				e = 2*l - 1 - e
			}
			if e == c {
				k[i] += w[j+radius] / sum
			}
		}
	}
	return k
}

// Blur returns RISE's blurred copy of a C×H×W image: each channel
// convolved with gkern(11, 5) with zero padding (torch conv2d with
// padding 5), so values near the border shrink towards zero.
func Blur(x []float32, c, h, w int) []float32 {
	k := BlurKernel()
	r := blurSize / 2
	tmp := make([]float64, h*w)
	out := make([]float32, len(x))
	for ch := range c {
		plane := x[ch*h*w : (ch+1)*h*w]
		for y := range h {
			for xx := range w {
				s := 0.0
				for j := -r; j <= r; j++ {
					if u := xx + j; u >= 0 && u < w {
						s += k[j+r] * float64(plane[y*w+u])
					}
				}
				tmp[y*w+xx] = s
			}
		}
		dst := out[ch*h*w : (ch+1)*h*w]
		for y := range h {
			for xx := range w {
				s := 0.0
				for j := -r; j <= r; j++ {
					if v := y + j; v >= 0 && v < h {
						s += k[j+r] * tmp[v*w+xx]
					}
				}
				dst[y*w+xx] = float32(s)
			}
		}
	}
	return out
}
