package kernels

import (
	"errors"
	"fmt"
	"math"

	"github.com/camlens/camlens/core/nn"
)

// GlobalName is the JavaScript global that holds the kernel module's
// exports.
const GlobalName = "camlensKernels"

// ABI is the version of the module's calling convention (its abi export);
// the Go side refuses a module with another version.
const ABI = 2

// ErrNotJS is what Available returns outside js/wasm: the SIMD kernels
// exist only there.
var ErrNotJS = errors.New("kernels: WebAssembly SIMD kernels need GOOS=js GOARCH=wasm")

// maxBytes bounds every byte count the module computes (it uses 32-bit
// integers).
const maxBytes = math.MaxInt32

// mulOK returns a·b·c (all ≥ 0) and whether it stays within maxBytes/4
// float32 values.
func mulOK(a, b, c int) (int, bool) {
	if a < 0 || b < 0 || c < 0 {
		return 0, false
	}
	const lim = maxBytes / 4
	if a != 0 && b > lim/a {
		return 0, false
	}
	ab := a * b
	if ab != 0 && c > lim/ab {
		return 0, false
	}
	return ab * c, true
}

// checkGemm checks a Gemm call: C[m×n] = A[m×k]·B[k×n] with slices of the
// given lengths.
func checkGemm(m, n, k, la, lb, lc int) error {
	mk, ok1 := mulOK(m, k, 1)
	kn, ok2 := mulOK(k, n, 1)
	mn, ok3 := mulOK(m, n, 1)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("kernels: gemm %d×%d×%d: bad or too large sizes", m, n, k)
	}
	if la < mk || lb < kn || lc < mn {
		return fmt.Errorf("kernels: gemm %d×%d×%d: slices too short (a %d, b %d, c %d)", m, n, k, la, lb, lc)
	}
	return nil
}

// dwPadded is the size of the padded plane the module builds for a 3×3
// window over oh×ow outputs with strides sh, sw: ((oh−1)·sh+3)×((ow−1)·sw+4).
func dwPadded(oh, ow, sh, sw int) (int, bool) {
	ph, ok1 := mulOK(oh-1, sh, 1)
	pw, ok2 := mulOK(ow-1, sw, 1)
	if !ok1 || !ok2 {
		return 0, false
	}
	return mulOK(ph+3, pw+4, 1)
}

// checkDW checks a depthwise 3×3 geometry and the slice lengths (x, f, y
// for the forward; gx, f, gy for the gradient) and returns the scratch
// the module needs, in float32 values.
func checkDW(g nn.Depthwise3x3Geom, nx, nf, ny int, grad bool) (int, error) {
	if g.Planes < 1 || g.Mult < 1 || g.Planes%g.Mult != 0 || g.H < 1 || g.W < 1 || g.OH < 1 || g.OW < 1 || g.SH < 1 || g.SW < 1 {
		return 0, fmt.Errorf("kernels: depthwise 3×3: bad geometry %+v", g)
	}
	const lim = maxBytes / 4 / 8 // pads and sizes stay far from overflow
	for _, v := range []int{g.H, g.W, g.OH, g.OW, g.SH, g.SW, g.PadTop, g.PadLeft} {
		if v > lim || v < -lim {
			return 0, fmt.Errorf("kernels: depthwise 3×3: geometry %+v too large", g)
		}
	}
	xs, ok1 := mulOK(g.Planes/g.Mult, g.H, g.W)
	ys, ok2 := mulOK(g.Planes, g.OH, g.OW)
	fs, ok3 := mulOK(g.Planes, 9, 1)
	var scratch int
	var ok4 bool
	if grad && g.SH == 1 && g.SW == 1 {
		scratch, ok4 = mulOK(g.H+2, g.W+3, 1)
	} else {
		scratch, ok4 = dwPadded(g.OH, g.OW, g.SH, g.SW)
	}
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, fmt.Errorf("kernels: depthwise 3×3: geometry %+v too large", g)
	}
	if nx < xs || nf < fs || ny < ys {
		what := "x %d, f %d, y %d"
		if grad {
			what = "gx %d, f %d, gy %d"
		}
		return 0, fmt.Errorf("kernels: depthwise 3×3: slices too short for %+v ("+what+")", g, nx, nf, ny)
	}
	return scratch, nil
}

// checkRows checks a SetRows call: rows rows of n values in y (ny values),
// within the module's 32-bit byte offsets.
func checkRows(rows, n, ny int) error {
	total, ok := mulOK(rows, n, 1)
	switch {
	case !ok:
		return fmt.Errorf("kernels: set rows: %d rows of %d values exceed the module's 32-bit offsets", rows, n)
	case ny < total:
		return fmt.Errorf("kernels: set rows: y has %d values, %d rows of %d need %d", ny, rows, n, total)
	}
	return nil
}

// checkElem checks an elementwise call: n outputs from inputs of na and nb
// values (each at least n), within the module's 32-bit byte offsets.
func checkElem(what string, n, na, nb int) error {
	if _, ok := mulOK(n, 1, 1); !ok {
		return fmt.Errorf("kernels: %s: %d values exceed the module's 32-bit offsets", what, n)
	}
	if na < n || nb < n {
		return fmt.Errorf("kernels: %s: inputs of %d and %d values for %d outputs", what, na, nb, n)
	}
	return nil
}
