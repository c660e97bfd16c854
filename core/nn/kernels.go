package nn

// Kernels is the narrow seam through which the heavy loops run, so that a
// faster implementation (WebAssembly SIMD in the browser) can replace the
// pure-Go one without touching the ops. All matrices are row-major and
// contiguous; implementations must give the same results as GoKernels to
// float32 rounding.
type Kernels interface {
	// Gemm computes C[m×n] = A[m×k]·B[k×n], or C += A·B when accumulate.
	Gemm(m, n, k int, a, b, c []float32, accumulate bool)
}

// GoKernels is the portable pure-Go implementation of Kernels.
type GoKernels struct{}

// Gemm implements Kernels.
func (GoKernels) Gemm(m, n, k int, a, b, c []float32, accumulate bool) {
	gemmGo(m, n, k, a, b, c, accumulate)
}

// gemmGo is the reference i-k-j loop.
// TODO(perf): register-blocked version.
func gemmGo(m, n, k int, a, b, c []float32, accumulate bool) {
	a = a[:m*k]
	b = b[:k*n]
	c = c[:m*n]
	if !accumulate {
		clear(c)
	}
	for i := 0; i < m; i++ {
		ci := c[i*n : (i+1)*n]
		for p := 0; p < k; p++ {
			av := a[i*k+p]
			if av == 0 {
				continue
			}
			bp := b[p*n : (p+1)*n]
			for j := range ci {
				ci[j] += av * bp[j]
			}
		}
	}
}
