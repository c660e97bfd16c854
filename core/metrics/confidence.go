package metrics

import (
	"context"
	"fmt"

	"github.com/camlens/camlens/core/cam"
)

// Confidence is the change of the class probability when the input is
// reduced to what the map shows (pytorch-grad-cam's
// CamMultImageConfidenceChange, with DropInConfidence and
// IncreaseInConfidence).
type Confidence struct {
	// Keep is the fraction of the pixels kept (top of the map first); 0
	// for ConfidenceCAMMult, which multiplies the input by the map.
	Keep   float64 `json:"keep"`
	Before float64 `json:"before"` // class probability of the input
	After  float64 `json:"after"`  // class probability of the reduced input
	// Change is After − Before.
	Change float64 `json:"change"`
	// Drop is max(0, Before − After), in [0, 1].
	Drop float64 `json:"drop"`
	// Increase is After > Before.
	Increase bool `json:"increase"`
}

func confidence(keep, before, after float64) Confidence {
	return Confidence{Keep: keep, Before: before, After: after, Change: after - before,
		Drop: max(0, before-after), Increase: after > before}
}

// DefaultKeep are the fractions ConfidenceKeepTop uses when given none.
var DefaultKeep = []float64{0.1, 0.25, 0.5}

// ConfidenceKeepTop keeps only the top fraction of map m's pixels for each
// of keep (in (0, 1]; nil: DefaultKeep), sets the rest of the input tensor
// to zero (Options.Fill), and returns the change of class's probability (-1: the top
// class). Cost: len(keep)+1 forward passes.
func ConfidenceKeepTop(ctx context.Context, s *cam.Session, m []float32, class int, keep []float64, opt Options) ([]Confidence, error) {
	if s != nil && class == -1 {
		class = topClass(s)
	}
	if keep == nil {
		keep = DefaultKeep
	}
	sc, err := newScorer(ctx, s, m, class, opt, len(keep)+1)
	if err != nil {
		return nil, err
	}
	n := sc.h * sc.w
	counts := make([]int, len(keep))
	for i, f := range keep {
		if !(f > 0 && f <= 1) {
			return nil, fmt.Errorf("metrics: keep fraction %v not in (0, 1]", f)
		}
		counts[i] = max(1, int(f*float64(n)+0.5))
	}
	x := s.Input().Data
	order := Rank(m, opt.Seed)
	ys, err := sc.scores(len(keep)+1, func(i int, dst []float32) error {
		if i == 0 {
			copy(dst, x)
			return nil
		}
		for ch := range sc.c {
			f := sc.fill[ch]
			for q := range n {
				dst[ch*n+q] = f
			}
		}
		for _, p := range order[:counts[i-1]] {
			for ch := range sc.c {
				dst[ch*n+p] = x[ch*n+p]
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("metrics: confidence change: %w", err)
	}
	out := make([]Confidence, len(keep))
	for i, f := range keep {
		out[i] = confidence(f, ys[0], ys[i+1])
	}
	return out, nil
}

// ConfidenceCAMMult multiplies the input tensor by map m (every channel)
// and returns the change of class's probability (-1: the top class):
// pytorch-grad-cam's CamMultImageConfidenceChange with a softmax target.
// With Options.Fill the input is blended towards the fill instead:
// fill + (x − fill)·m, which is the same for a fill of 0.
// Cost: 2 forward passes.
func ConfidenceCAMMult(ctx context.Context, s *cam.Session, m []float32, class int, opt Options) (Confidence, error) {
	if s != nil && class == -1 {
		class = topClass(s)
	}
	sc, err := newScorer(ctx, s, m, class, opt, 2)
	if err != nil {
		return Confidence{}, err
	}
	n := sc.h * sc.w
	x := s.Input().Data
	ys, err := sc.scores(2, func(i int, dst []float32) error {
		copy(dst, x)
		if i == 1 {
			for ch := range sc.c {
				f := sc.fill[ch]
				for p := range n {
					q := ch*n + p
					dst[q] = f + (x[q]-f)*m[p]
				}
			}
		}
		return nil
	})
	if err != nil {
		return Confidence{}, fmt.Errorf("metrics: confidence change: %w", err)
	}
	return confidence(0, ys[0], ys[1]), nil
}
