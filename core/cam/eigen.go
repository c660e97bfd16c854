package cam

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// project2D is pytorch-grad-cam's get_2d_projection for one image: x is
// C×n (n = h·w positions); viewed as an n×C matrix with each channel's mean
// subtracted, it returns the projection onto the first right-singular
// vector (the first principal component), n values. NaNs count as 0.
//
// The sign of a singular vector is arbitrary (the library leaves it to
// LAPACK). CamLens fixes it so that the projection correlates positively
// with the channel sum of the same centred data, the map the method would
// give without the projection: a smoothed map is never an inverted one.
func project2D(x []float32, c, n int) ([]float32, error) {
	r := mat.NewDense(n, c, nil)
	for k := range c {
		col := x[k*n : (k+1)*n]
		s := 0.0
		for _, v := range col {
			if !math.IsNaN(float64(v)) {
				s += float64(v)
			}
		}
		mean := s / float64(n)
		for i, v := range col {
			f := float64(v)
			if math.IsNaN(f) {
				f = 0
			}
			r.Set(i, k, f-mean)
		}
	}
	var svd mat.SVD
	if !svd.Factorize(r, mat.SVDThinV) {
		return nil, fmt.Errorf("cam: SVD of the %d×%d activation matrix did not converge", n, c)
	}
	var v mat.Dense
	svd.VTo(&v)
	v0 := mat.Col(nil, 0, &v)
	proj := make([]float64, n)
	dot := 0.0
	for i := range n {
		row := r.RawRowView(i)
		p, sum := 0.0, 0.0
		for k, rv := range row {
			p += rv * v0[k]
			sum += rv
		}
		proj[i] = p
		dot += p * sum
	}
	out := make([]float32, n)
	sign := 1.0
	if dot < 0 {
		sign = -1
	}
	for i, p := range proj {
		out[i] = float32(sign * p)
	}
	return out, nil
}
