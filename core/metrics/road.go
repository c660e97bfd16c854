package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/camlens/camlens/core/cam"
)

// ROADNoise is the standard deviation of the noise NoisyLinearImpute adds
// (the ROAD reference's and pytorch-grad-cam's 0.01, in the units of the
// input tensor).
const ROADNoise = 0.01

// DefaultROADFractions are the removed fractions ROAD uses when given none:
// pytorch-grad-cam's percentiles 10…90.
var DefaultROADFractions = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}

// neighbours are ROAD's imputation weights: (dy, dx, weight).
var neighbours = [8]struct {
	dy, dx int
	w      float64
}{
	{1, 1, 1.0 / 12}, {0, 1, 1.0 / 6}, {-1, 1, 1.0 / 12}, {1, -1, 1.0 / 12},
	{0, -1, 1.0 / 6}, {-1, -1, 1.0 / 12}, {1, 0, 1.0 / 6}, {-1, 0, 1.0 / 6},
}

// cgTol is the relative residual at which the conjugate gradients stop.
const cgTol = 1e-8

// NoisyLinearImpute fills the removed pixels of a C×H×W image (removed:
// H×W) as ROAD does: every removed pixel equals the weighted mean of its
// neighbours inside the image (1/6 for the four direct, 1/12 for the four
// diagonal ones), which is one sparse linear system per channel over all
// removed pixels, solved here by Jacobi-preconditioned conjugate gradients
// in float64; then Gaussian noise of standard deviation noise (drawn from
// seed) is added to every imputed value. Kept pixels are copied. At least
// one pixel must be kept.
func NoisyLinearImpute(img []float32, c, h, w int, removed []bool, noise float64, seed uint64) ([]float32, error) {
	n := h * w
	if c < 1 || h < 1 || w < 1 || len(img) != c*n {
		return nil, fmt.Errorf("metrics: impute: image has %d values, want %d×%d×%d", len(img), c, h, w)
	}
	if len(removed) != n {
		return nil, fmt.Errorf("metrics: impute: mask has %d values, want %d×%d", len(removed), h, w)
	}
	if noise < 0 || math.IsNaN(noise) {
		return nil, fmt.Errorf("metrics: impute: noise %v", noise)
	}
	// Unknowns: the removed pixels, numbered in row-major order.
	vid := make([]int32, n)
	var pix []int32
	for p, r := range removed {
		vid[p] = -1
		if r {
			vid[p] = int32(len(pix))
			pix = append(pix, int32(p))
		}
	}
	out := append([]float32(nil), img...)
	u := len(pix)
	if u == 0 {
		return out, nil
	}
	if u == n {
		return nil, errors.New("metrics: impute: every pixel is removed; nothing to impute from")
	}
	// Row i of the system: diag[i]·x_i − Σ w_j x_j (removed neighbours j)
	// = Σ w_j v_j (kept neighbours j), diag[i] = Σ weights inside the image.
	// The matrix is symmetric and, since every component of removed pixels
	// touches a kept one, positive definite.
	diag := make([]float64, u)
	nbr := make([][8]int32, u)   // removed neighbours' unknown index, -1 none
	nbw := make([][8]float64, u) // their weights
	known := make([][8]int32, u) // kept neighbours' pixel index, -1 none
	for i, p := range pix {
		y, x := int(p)/w, int(p)%w
		for k, nb := range neighbours {
			nbr[i][k], known[i][k] = -1, -1
			yy, xx := y+nb.dy, x+nb.dx
			if yy < 0 || xx < 0 || yy >= h || xx >= w {
				continue
			}
			q := yy*w + xx
			diag[i] += nb.w
			nbw[i][k] = nb.w
			if removed[q] {
				nbr[i][k] = vid[q]
			} else {
				known[i][k] = int32(q)
			}
		}
	}
	apply := func(dst, v []float64) {
		for i := range dst {
			s := diag[i] * v[i]
			for k, j := range nbr[i] {
				if j >= 0 {
					s -= nbw[i][k] * v[j]
				}
			}
			dst[i] = s
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x726f6164))
	b := make([]float64, u)
	sol := make([]float64, u)
	for ch := range c {
		plane := img[ch*n : (ch+1)*n]
		for i := range b {
			s := 0.0
			for k, q := range known[i] {
				if q >= 0 {
					s += nbw[i][k] * float64(plane[q])
				}
			}
			b[i] = s
		}
		if err := solveCG(apply, diag, b, sol); err != nil {
			return nil, fmt.Errorf("metrics: impute channel %d: %w", ch, err)
		}
		dst := out[ch*n : (ch+1)*n]
		for i, p := range pix {
			dst[p] = float32(sol[i] + noise*rng.NormFloat64())
		}
	}
	return out, nil
}

// solveCG solves A·x = b for a symmetric positive definite A (given by
// apply) with Jacobi-preconditioned conjugate gradients, starting from
// x = b/diag.
func solveCG(apply func(dst, v []float64), diag, b, x []float64) error {
	u := len(b)
	r := make([]float64, u)
	z := make([]float64, u)
	p := make([]float64, u)
	ap := make([]float64, u)
	bn := 0.0
	for i := range b {
		x[i] = b[i] / diag[i]
		bn += b[i] * b[i]
	}
	if bn == 0 {
		clear(x)
		return nil
	}
	apply(ap, x)
	rz := 0.0
	for i := range r {
		r[i] = b[i] - ap[i]
		z[i] = r[i] / diag[i]
		p[i] = z[i]
		rz += r[i] * z[i]
	}
	limit := max(1000, 4*u)
	for it := 0; it < limit; it++ {
		rn := 0.0
		for _, v := range r {
			rn += v * v
		}
		if rn <= cgTol*cgTol*bn {
			return nil
		}
		apply(ap, p)
		pap := 0.0
		for i := range p {
			pap += p[i] * ap[i]
		}
		if !(pap > 0) {
			return fmt.Errorf("conjugate gradients: matrix not positive definite (pᵀAp = %g)", pap)
		}
		alpha := rz / pap
		rz2 := 0.0
		for i := range x {
			x[i] += alpha * p[i]
			r[i] -= alpha * ap[i]
			z[i] = r[i] / diag[i]
			rz2 += r[i] * z[i]
		}
		beta := rz2 / rz
		rz = rz2
		for i := range p {
			p[i] = z[i] + beta*p[i]
		}
	}
	return fmt.Errorf("conjugate gradients: no convergence in %d iterations", limit)
}

// ROADCurve is the class probability after removing and imputing growing
// fractions of the pixels in one order.
type ROADCurve struct {
	// Order is "morf" (most relevant first) or "lerf" (least relevant
	// first).
	Order     string    `json:"order"`
	Fractions []float64 `json:"fractions"` // removed fractions
	Scores    []float64 `json:"scores"`    // class probabilities
	// Mean is the mean of Scores (pytorch-grad-cam's ROAD*Average, up to
	// the constant Before it subtracts).
	Mean float64 `json:"mean"`
}

// ROAD is the result of ROAD's two orders on one map.
type ROAD struct {
	Class  int       `json:"class"`
	Before float64   `json:"before"` // class probability of the input
	MoRF   ROADCurve `json:"morf"`   // low is good: removing the top hurts
	LeRF   ROADCurve `json:"lerf"`   // high is good: removing the bottom does not
	// Combined is (LeRF.Mean − MoRF.Mean)/2, pytorch-grad-cam's
	// ROADCombined: higher is better.
	Combined float64 `json:"combined"`
}

// ROADMetric removes each fraction of fractions (in (0, 1); nil:
// DefaultROADFractions) of map m's pixels, most relevant first and least
// relevant first, imputes them with NoisyLinearImpute and scores the class
// (-1: the top class). Cost: 2·len(fractions)+1 forward passes and as many
// sparse solves per channel.
func ROADMetric(ctx context.Context, s *cam.Session, m []float32, class int, fractions []float64, opt Options) (*ROAD, error) {
	if s != nil && class == -1 {
		class = topClass(s)
	}
	if fractions == nil {
		fractions = DefaultROADFractions
	}
	nf := len(fractions)
	if nf == 0 {
		return nil, errors.New("metrics: ROAD needs at least one fraction")
	}
	sc, err := newScorer(ctx, s, m, class, opt, 2*nf+1)
	if err != nil {
		return nil, err
	}
	n := sc.h * sc.w
	counts := make([]int, nf)
	for i, f := range fractions {
		if !(f > 0 && f < 1) {
			return nil, fmt.Errorf("metrics: ROAD fraction %v not in (0, 1)", f)
		}
		counts[i] = min(n-1, int(f*float64(n)+0.5))
	}
	x := s.Input().Data
	order := Rank(m, opt.Seed)
	removed := make([]bool, n)
	// Image 0 is the input; 1..nf MoRF; nf+1..2nf LeRF.
	ys, err := sc.scores(2*nf+1, func(i int, dst []float32) error {
		if i == 0 {
			copy(dst, x)
			return nil
		}
		clear(removed)
		j, pix := i-1, order[:0]
		if j < nf {
			pix = order[:counts[j]]
		} else {
			j -= nf
			pix = order[n-counts[j]:]
		}
		for _, p := range pix {
			removed[p] = true
		}
		if err := sc.ctx.Err(); err != nil {
			return fmt.Errorf("metrics: ROAD cancelled: %w", err)
		}
		im, err := NoisyLinearImpute(x, sc.c, sc.h, sc.w, removed, ROADNoise, opt.Seed^uint64(i)*0x9e3779b97f4a7c15)
		if err != nil {
			return err
		}
		copy(dst, im)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("metrics: ROAD: %w", err)
	}
	r := &ROAD{Class: class, Before: ys[0]}
	mk := func(order string, y []float64) ROADCurve {
		c := ROADCurve{Order: order, Fractions: append([]float64(nil), fractions...), Scores: y}
		for _, v := range y {
			c.Mean += v / float64(len(y))
		}
		return c
	}
	r.MoRF = mk("morf", ys[1:nf+1])
	r.LeRF = mk("lerf", ys[nf+1:])
	r.Combined = (r.LeRF.Mean - r.MoRF.Mean) / 2
	return r, nil
}
