package nn

import (
	"fmt"

	"github.com/camlens/camlens/core/tensor"
)

// Kernels is the narrow seam through which the heavy loops run, so that a
// faster implementation (WebAssembly SIMD in the browser) can replace the
// pure-Go one without touching the ops. Each method is called about once per
// layer (not per pixel), so a per-call overhead of a microsecond is fine.
//
// All matrices are row-major and contiguous; all planes are row-major H×W
// float32 images stored one after the other. Slices may be longer than
// needed (only the prefix described is read or written) but never shorter;
// the callers (the ops in this package) check every size before calling, and
// an implementation may panic on a slice that is too short. Outputs never
// alias inputs (for Relu and Binary, y may also be an input itself, exactly;
// never a partial overlap). Implementations must give the same results as GoKernels up to
// float32 rounding (the order of the additions may differ).
type Kernels interface {
	// Gemm computes C[m×n] = A[m×k]·B[k×n], or C += A·B when accumulate.
	// m, n, k ≥ 0; with k = 0 C is zeroed (or left alone when accumulate).
	Gemm(m, n, k int, a, b, c []float32, accumulate bool)

	// Depthwise3x3 computes a depthwise 3×3 correlation with dilation 1:
	// for every output plane p in [0, g.Planes), input plane q = p/g.Mult,
	//
	//	y[p][oy][ox] = bias[p] + Σ_{i,j<3} f[p][i][j] · x[q][oy·SH−PadTop+i][ox·SW−PadLeft+j]
	//
	// where x is zero outside its H×W plane. x holds Planes/Mult planes of
	// H×W, f holds Planes filters of 3×3 (9 floats each), y holds Planes
	// planes of OH×OW and is overwritten. bias may be nil (zero). Pads may
	// be any integers (negative crops); the output size is given, not derived.
	Depthwise3x3(g Depthwise3x3Geom, x, f, bias, y []float32)

	// Depthwise3x3Grad adds to gx the gradient of Depthwise3x3 with respect
	// to x, given gy (the gradient with respect to y): for every p, q = p/Mult,
	//
	//	gx[q][oy·SH−PadTop+i][ox·SW−PadLeft+j] += f[p][i][j] · gy[p][oy][ox]
	//
	// for every output position and tap whose input position is inside the
	// H×W plane. gx holds Planes/Mult planes of H×W, gy Planes of OH×OW.
	Depthwise3x3Grad(g Depthwise3x3Geom, f, gy, gx []float32)

	// SetRows sets y[r·n : (r+1)·n] to v[r] for every r < len(v) (the bias
	// a convolution's output starts from). n ≥ 0; len(y) ≥ len(v)·n.
	SetRows(y, v []float32, n int)

	// Relu sets y[i] = max(x[i], 0) for i < len(y) (len(x) ≥ len(y)), bit
	// for bit as reluBits: negative values and −0 become +0, NaNs stay.
	Relu(y, x []float32)

	// Binary sets y[i] = a[i] ∘ b[i] for i < len(y), ∘ the operation op
	// (len(a), len(b) ≥ len(y)).
	Binary(op BinaryOp, y, a, b []float32)
}

// BinaryOp is the elementwise operation of Kernels.Binary.
type BinaryOp int

// The operations of Kernels.Binary.
const (
	OpAdd BinaryOp = iota // a + b
	OpSub                 // a − b
	OpMul                 // a · b
)

// Depthwise3x3Geom is the geometry of one Depthwise3x3 call: Planes output
// planes (Mult of them per input plane, Planes divisible by Mult), input
// planes of H×W, output planes of OH×OW, strides SH, SW ≥ 1 and the top and
// left padding. All sizes are ≥ 1.
type Depthwise3x3Geom struct {
	Planes, Mult    int
	H, W, OH, OW    int
	SH, SW          int
	PadTop, PadLeft int
}

func (g Depthwise3x3Geom) check(nx, nf, ny int) {
	if g.Planes < 1 || g.Mult < 1 || g.Planes%g.Mult != 0 || g.H < 1 || g.W < 1 || g.OH < 1 || g.OW < 1 || g.SH < 1 || g.SW < 1 {
		panic(fmt.Sprintf("nn: depthwise 3×3: bad geometry %+v", g))
	}
	if nx < g.Planes/g.Mult*g.H*g.W || nf < g.Planes*9 || ny < g.Planes*g.OH*g.OW {
		panic(fmt.Sprintf("nn: depthwise 3×3: slices too short for %+v (x %d, f %d, y %d)", g, nx, nf, ny))
	}
}

// GoKernels is the portable pure-Go implementation of Kernels, tuned for a
// single thread (js/wasm has one).
type GoKernels struct{}

// Gemm implements Kernels.
func (GoKernels) Gemm(m, n, k int, a, b, c []float32, accumulate bool) {
	gemmGo(m, n, k, a, b, c, accumulate)
}

// SetRows implements Kernels.
func (GoKernels) SetRows(y, v []float32, n int) {
	if n < 0 || len(y) < len(v)*n {
		panic(fmt.Sprintf("nn: set rows: %d rows of %d need %d values, y has %d", len(v), n, len(v)*n, len(y)))
	}
	for r, x := range v {
		fill(y[r*n:(r+1)*n], x)
	}
}

// Relu implements Kernels.
func (GoKernels) Relu(y, x []float32) {
	if len(x) < len(y) {
		panic(fmt.Sprintf("nn: relu: x has %d values, y %d", len(x), len(y)))
	}
	reluVec(y, x)
}

// Binary implements Kernels.
func (GoKernels) Binary(op BinaryOp, y, a, b []float32) {
	if len(a) < len(y) || len(b) < len(y) {
		panic(fmt.Sprintf("nn: binary: a has %d values, b %d, y %d", len(a), len(b), len(y)))
	}
	binVec(op, y, a, b)
}

// Depthwise3x3 implements Kernels. Each input plane is copied once into a
// zero-padded scratch plane, so that every output position is an interior
// one and the row loops need no bounds tests.
func (GoKernels) Depthwise3x3(g Depthwise3x3Geom, x, f, bias, y []float32) {
	g.check(len(x), len(f), len(y))
	if bias != nil && len(bias) < g.Planes {
		panic(fmt.Sprintf("nn: depthwise 3×3: bias has %d values for %d planes", len(bias), g.Planes))
	}
	ph, pw := g.padded()
	buf := make([]float32, ph*pw)
	hw, ohw := g.H*g.W, g.OH*g.OW
	// Stride 1: the padded plane is one long row. Output (oy, ox) reads
	// buf[(oy+i)·pw + ox + j], so one dw3x3Row call over (OH−1)·pw + OW
	// positions computes every output (and pw−OW = 2 unused ones per row,
	// from the padding) in one run instead of OH short ones with their
	// scalar tails; the rows are then copied out. Same arithmetic per
	// output, same results.
	var run []float32
	if g.SH == 1 && g.SW == 1 {
		run = make([]float32, (g.OH-1)*pw+g.OW)
	}
	for p := 0; p < g.Planes; p++ {
		if p%g.Mult == 0 {
			q := p / g.Mult
			padPlane(x[q*hw:(q+1)*hw], g.H, g.W, buf, ph, pw, g.PadTop, g.PadLeft)
		}
		yp := y[p*ohw : (p+1)*ohw]
		var b float32
		if bias != nil {
			b = bias[p]
		}
		f9 := (*[9]float32)(f[p*9 : p*9+9])
		if run != nil {
			n := len(run)
			dw3x3Row(run, buf[:n+2], buf[pw:pw+n+2], buf[2*pw:2*pw+n+2], f9, b, false)
			for oy := range g.OH {
				copy(yp[oy*g.OW:(oy+1)*g.OW], run[oy*pw:oy*pw+g.OW])
			}
			continue
		}
		dw3x3Padded(buf, pw, f9, b, false, yp, g.OH, g.OW, g.SH, g.SW)
	}
}

// Depthwise3x3Grad implements Kernels. With stride 1 the gradient is the
// correlation of gy with the flipped filter, padded by 2−pad (a gather, run
// by the forward's row loop); otherwise each filter tap is scattered into a
// zero-padded plane whose inside is then added to gx.
func (GoKernels) Depthwise3x3Grad(g Depthwise3x3Geom, f, gy, gx []float32) {
	g.check(len(gx), len(f), len(gy))
	hw, ohw := g.H*g.W, g.OH*g.OW
	if g.SH == 1 && g.SW == 1 {
		t := Depthwise3x3Geom{Planes: 1, Mult: 1, H: g.OH, W: g.OW, OH: g.H, OW: g.W, SH: 1, SW: 1, PadTop: 2 - g.PadTop, PadLeft: 2 - g.PadLeft}
		ph, pw := t.padded()
		buf := make([]float32, ph*pw)
		var fl [9]float32
		for p := 0; p < g.Planes; p++ {
			q := p / g.Mult
			for i := range fl {
				fl[i] = f[p*9+8-i]
			}
			padPlane(gy[p*ohw:(p+1)*ohw], g.OH, g.OW, buf, ph, pw, t.PadTop, t.PadLeft)
			dw3x3Padded(buf, pw, &fl, 0, true, gx[q*hw:(q+1)*hw], g.H, g.W, 1, 1)
		}
		return
	}
	ph, pw := g.padded()
	buf := make([]float32, ph*pw)
	for p := 0; p < g.Planes; p++ {
		if p%g.Mult == 0 {
			clear(buf)
		}
		dw3x3ScatterPadded(buf, pw, (*[9]float32)(f[p*9:p*9+9]), gy[p*ohw:(p+1)*ohw], g.OH, g.OW, g.SH, g.SW)
		if p%g.Mult == g.Mult-1 {
			q := p / g.Mult
			unpadAdd(buf, ph, pw, gx[q*hw:(q+1)*hw], g.H, g.W, g.PadTop, g.PadLeft)
		}
	}
}

// ---------------------------------------------------------------------------
// GEMM

// Cache blocking of gemmGo: a kc×nc panel of B (192 KiB) stays in L2 while
// every 4-row strip of A runs over it; a 4×nc strip of C stays in L1. kc is
// a multiple of the k unroll (3).
const (
	gemmKC = 192
	gemmNC = 256
)

// gemmRef is the plain reference loop: C[m×n] (+)= A[m×k]·B[k×n].
func gemmRef(m, n, k int, a, b, c []float32, accumulate bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			if accumulate {
				s = c[i*n+j]
			}
			for p := 0; p < k; p++ {
				s += a[i*k+p] * b[p*n+j]
			}
			c[i*n+j] = s
		}
	}
}

// gemmGo is the register-blocked GEMM: for each kc×nc panel of B, strips of
// 3 rows of C are updated with k unrolled by 4 (gemm3), with one or two
// strips of 4 rows and k unrolled by 3 (gemm4) first where m is not a
// multiple of 3 (12 values of A in registers either way). The inner loops run over
// re-sliced rows of equal length so the compiler drops their bounds checks.
//
// 4×3 is what fits Go's WebAssembly backend, which has 16 float32
// registers: 12 of A, 3 of B and one temporary. Wider tiles (4×4) spill to
// the stack and measured ~15% slower under V8; narrower ones (4×2, 2×4, 3×3)
// reload C more often and measured slower still.
func gemmGo(m, n, k int, a, b, c []float32, accumulate bool) {
	if m < 0 || n < 0 || k < 0 || len(a) < m*k || len(b) < k*n || len(c) < m*n {
		panic(fmt.Sprintf("nn: gemm %d×%d×%d: slices too short (a %d, b %d, c %d)", m, n, k, len(a), len(b), len(c)))
	}
	a, b, c = a[:m*k], b[:k*n], c[:m*n]
	if !accumulate {
		clear(c)
	}
	if m == 0 || n == 0 || k == 0 {
		return
	}
	for j0 := 0; j0 < n; j0 += gemmNC {
		j1 := min(j0+gemmNC, n)
		for p0 := 0; p0 < k; p0 += gemmKC {
			p1 := min(p0+gemmKC, k)
			// Strips of 3 rows, after one or two of 4 rows so that m
			// splits without single rows where it can (32 = 4+4+8·3).
			i := 0
			for r := m % 3; r > 0 && i+4 <= m && m-i >= 4+3*(r-1); r-- {
				gemm4(n, k, i, j0, j1, p0, p1, a, b, c)
				i += 4
			}
			for ; i+3 <= m; i += 3 {
				gemm3(n, k, i, j0, j1, p0, p1, a, b, c)
			}
			for ; i < m; i++ {
				gemm1(n, k, i, j0, j1, p0, p1, a, b, c)
			}
		}
	}
}

// gemm4 updates C[i..i+3][j0..j1) += A[i..i+3][p0..p1)·B[p0..p1)[j0..j1).
func gemm4(n, k, i, j0, j1, p0, p1 int, a, b, c []float32) {
	w := j1 - j0
	c0 := c[i*n+j0 : i*n+j1]
	c1 := c[(i+1)*n+j0:][:w]
	c2 := c[(i+2)*n+j0:][:w]
	c3 := c[(i+3)*n+j0:][:w]
	a0, a1, a2, a3 := a[i*k:(i+1)*k], a[(i+1)*k:(i+2)*k], a[(i+2)*k:(i+3)*k], a[(i+3)*k:(i+4)*k]
	p := p0
	for ; p+3 <= p1; p += 3 {
		x00, x01, x02 := a0[p], a0[p+1], a0[p+2]
		x10, x11, x12 := a1[p], a1[p+1], a1[p+2]
		x20, x21, x22 := a2[p], a2[p+1], a2[p+2]
		x30, x31, x32 := a3[p], a3[p+1], a3[p+2]
		b0 := b[p*n+j0 : p*n+j1]
		b1 := b[(p+1)*n+j0:][:len(b0)]
		b2 := b[(p+2)*n+j0:][:len(b0)]
		c0, c1, c2, c3 := c0[:len(b0)], c1[:len(b0)], c2[:len(b0)], c3[:len(b0)]
		for j, v0 := range b0 {
			v1, v2 := b1[j], b2[j]
			c0[j] += x00*v0 + x01*v1 + x02*v2
			c1[j] += x10*v0 + x11*v1 + x12*v2
			c2[j] += x20*v0 + x21*v1 + x22*v2
			c3[j] += x30*v0 + x31*v1 + x32*v2
		}
	}
	if p+2 <= p1 {
		x00, x01 := a0[p], a0[p+1]
		x10, x11 := a1[p], a1[p+1]
		x20, x21 := a2[p], a2[p+1]
		x30, x31 := a3[p], a3[p+1]
		b0 := b[p*n+j0 : p*n+j1]
		b1 := b[(p+1)*n+j0:][:len(b0)]
		c0, c1, c2, c3 := c0[:len(b0)], c1[:len(b0)], c2[:len(b0)], c3[:len(b0)]
		for j, v0 := range b0 {
			v1 := b1[j]
			c0[j] += x00*v0 + x01*v1
			c1[j] += x10*v0 + x11*v1
			c2[j] += x20*v0 + x21*v1
			c3[j] += x30*v0 + x31*v1
		}
		p += 2
	}
	if p < p1 {
		x0, x1, x2, x3 := a0[p], a1[p], a2[p], a3[p]
		b0 := b[p*n+j0 : p*n+j1]
		c0, c1, c2, c3 := c0[:len(b0)], c1[:len(b0)], c2[:len(b0)], c3[:len(b0)]
		for j, v := range b0 {
			c0[j] += x0 * v
			c1[j] += x1 * v
			c2[j] += x2 * v
			c3[j] += x3 * v
		}
	}
}

// gemm3 updates C[i..i+2][j0..j1) += A[i..i+2][p0..p1)·B[p0..p1)[j0..j1)
// with k unrolled by 4: 12 values of A in registers, each element of C
// loaded and stored once per 4 values of k (gemm4's 4×3 tile does it once
// per 3); measured 6–12% faster under V8.
func gemm3(n, k, i, j0, j1, p0, p1 int, a, b, c []float32) {
	w := j1 - j0
	c0 := c[i*n+j0 : i*n+j1]
	c1 := c[(i+1)*n+j0:][:w]
	c2 := c[(i+2)*n+j0:][:w]
	a0, a1, a2 := a[i*k:(i+1)*k], a[(i+1)*k:(i+2)*k], a[(i+2)*k:(i+3)*k]
	p := p0
	for ; p+4 <= p1; p += 4 {
		x00, x01, x02, x03 := a0[p], a0[p+1], a0[p+2], a0[p+3]
		x10, x11, x12, x13 := a1[p], a1[p+1], a1[p+2], a1[p+3]
		x20, x21, x22, x23 := a2[p], a2[p+1], a2[p+2], a2[p+3]
		b0 := b[p*n+j0 : p*n+j1]
		b1 := b[(p+1)*n+j0:][:len(b0)]
		b2 := b[(p+2)*n+j0:][:len(b0)]
		b3 := b[(p+3)*n+j0:][:len(b0)]
		c0, c1, c2 := c0[:len(b0)], c1[:len(b0)], c2[:len(b0)]
		for j, v0 := range b0 {
			v1, v2, v3 := b1[j], b2[j], b3[j]
			c0[j] += x00*v0 + x01*v1 + x02*v2 + x03*v3
			c1[j] += x10*v0 + x11*v1 + x12*v2 + x13*v3
			c2[j] += x20*v0 + x21*v1 + x22*v2 + x23*v3
		}
	}
	for ; p < p1; p++ {
		x0, x1, x2 := a0[p], a1[p], a2[p]
		b0 := b[p*n+j0 : p*n+j1]
		c0, c1, c2 := c0[:len(b0)], c1[:len(b0)], c2[:len(b0)]
		for j, v := range b0 {
			c0[j] += x0 * v
			c1[j] += x1 * v
			c2[j] += x2 * v
		}
	}
}

// gemm1 updates one row of C: C[i][j0..j1) += A[i][p0..p1)·B[p0..p1)[j0..j1).
func gemm1(n, k, i, j0, j1, p0, p1 int, a, b, c []float32) {
	c0 := c[i*n+j0 : i*n+j1]
	a0 := a[i*k : (i+1)*k]
	p := p0
	for ; p+4 <= p1; p += 4 {
		x0, x1, x2, x3 := a0[p], a0[p+1], a0[p+2], a0[p+3]
		b0 := b[p*n+j0 : p*n+j1]
		b1 := b[(p+1)*n+j0:][:len(b0)]
		b2 := b[(p+2)*n+j0:][:len(b0)]
		b3 := b[(p+3)*n+j0:][:len(b0)]
		c0 := c0[:len(b0)]
		for j, v0 := range b0 {
			c0[j] += x0*v0 + x1*b1[j] + x2*b2[j] + x3*b3[j]
		}
	}
	for ; p < p1; p++ {
		x0 := a0[p]
		b0 := b[p*n+j0 : p*n+j1]
		c0 := c0[:len(b0)]
		for j, v := range b0 {
			c0[j] += x0 * v
		}
	}
}

// ---------------------------------------------------------------------------
// Depthwise 3×3

// depthwise3x3Ref is the plain reference loop of Kernels.Depthwise3x3.
func depthwise3x3Ref(g Depthwise3x3Geom, x, f, bias, y []float32) {
	for p := 0; p < g.Planes; p++ {
		q := p / g.Mult
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				var s float32
				if bias != nil {
					s = bias[p]
				}
				for i := 0; i < 3; i++ {
					for j := 0; j < 3; j++ {
						iy, ix := oy*g.SH-g.PadTop+i, ox*g.SW-g.PadLeft+j
						if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
							s += f[p*9+i*3+j] * x[(q*g.H+iy)*g.W+ix]
						}
					}
				}
				y[(p*g.OH+oy)*g.OW+ox] = s
			}
		}
	}
}

// depthwise3x3GradRef is the plain reference loop of Kernels.Depthwise3x3Grad.
func depthwise3x3GradRef(g Depthwise3x3Geom, f, gy, gx []float32) {
	for p := 0; p < g.Planes; p++ {
		q := p / g.Mult
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				v := gy[(p*g.OH+oy)*g.OW+ox]
				for i := 0; i < 3; i++ {
					for j := 0; j < 3; j++ {
						iy, ix := oy*g.SH-g.PadTop+i, ox*g.SW-g.PadLeft+j
						if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
							gx[(q*g.H+iy)*g.W+ix] += f[p*9+i*3+j] * v
						}
					}
				}
			}
		}
	}
}

// padded returns the size of the zero-padded input plane that covers every
// window: rows −PadTop … (OH−1)·SH − PadTop + 2, likewise for columns.
func (g Depthwise3x3Geom) padded() (ph, pw int) {
	ph, pw = (g.OH-1)*g.SH+3, (g.OW-1)*g.SW+3
	if ph > tensor.MaxElements/pw {
		panic(fmt.Sprintf("nn: depthwise 3×3: geometry %+v too large", g))
	}
	return ph, pw
}

// padPlane writes into buf (ph×pw) the plane x (h×w) shifted by (top, left)
// with zeros around: buf[r][c] = x[r−top][c−left] or 0 outside x. Negative
// top/left crop.
func padPlane(x []float32, h, w int, buf []float32, ph, pw, top, left int) {
	lo, hi := span(w, pw, 1, -left) // columns c with c−left inside x
	for r := 0; r < ph; r++ {
		row := buf[r*pw : (r+1)*pw]
		iy := r - top
		if iy < 0 || iy >= h || lo >= hi {
			clear(row)
			continue
		}
		clear(row[:lo])
		copy(row[lo:hi], x[iy*w+lo-left:iy*w+hi-left])
		clear(row[hi:])
	}
}

// unpadAdd adds the inside of the padded plane buf (ph×pw) back onto gx
// (h×w): gx[iy][ix] += buf[iy+top][ix+left] where that lies in buf.
func unpadAdd(buf []float32, ph, pw int, gx []float32, h, w, top, left int) {
	lo, hi := span(pw, w, 1, left) // columns ix with ix+left inside buf
	if lo >= hi {
		return
	}
	for iy := 0; iy < h; iy++ {
		r := iy + top
		if r < 0 || r >= ph {
			continue
		}
		axpy(gx[iy*w+lo:iy*w+hi], buf[r*pw+lo+left:r*pw+hi+left], 1)
	}
}

// dw3x3Padded computes the 3×3 correlation of the padded plane xp (row
// length pw, every window inside) into y (oh×ow):
// y[oy][ox] = b + Σ f[i][j]·xp[oy·sh+i][ox·sw+j], or += Σ … when acc.
func dw3x3Padded(xp []float32, pw int, f *[9]float32, b float32, acc bool, y []float32, oh, ow, sh, sw int) {
	n := (ow-1)*sw + 3
	for oy := 0; oy < oh; oy++ {
		r := oy * sh * pw
		r0, r1, r2 := xp[r:r+n], xp[r+pw:r+pw+n], xp[r+2*pw:r+2*pw+n]
		yr := y[oy*ow : (oy+1)*ow]
		switch sw {
		case 1:
			dw3x3Row(yr, r0, r1, r2, f, b, acc)
		case 2:
			dw3x3RowS2(yr, r0, r1, r2, f, b, acc)
		default:
			dw3x3RowStrided(yr, r0, r1, r2, sw, f, b, acc)
		}
	}
}

// dw3x3Row computes one output row of a stride-1 3×3 correlation,
// y[j] = b + Σ f[i][k]·r_i[j+k], or y[j] += Σ … when acc (b unused), with
// len(r_i) ≥ len(y)+2.
//
// Four outputs per iteration, each loaded input consumed at once: 9 filter
// values + 4 sums + 1 temporary fit the 16 float32 registers of Go's
// WebAssembly backend (a sliding window needs 19 and spills; measured 2×
// slower under V8). The row loops are small separate functions because
// that compiles to much tighter WebAssembly: Go's wasm backend turns a
// function into one dispatch loop and V8 allocates registers over all of it.
//
//go:noinline
func dw3x3Row(y, r0, r1, r2 []float32, f *[9]float32, b float32, acc bool) {
	f0, f1, f2, f3, f4, f5, f6, f7, f8 := f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
	n := len(y)
	r0, r1, r2 = r0[:n+2], r1[:n+2], r2[:n+2]
	j := 0
	for ; j+4 <= n; j += 4 {
		t := (*[6]float32)(r0[j : j+6])
		u0 := f0 * t[0]
		a := t[1]
		u0 += f1 * a
		u1 := f0 * a
		a = t[2]
		u0 += f2 * a
		u1 += f1 * a
		u2 := f0 * a
		a = t[3]
		u1 += f2 * a
		u2 += f1 * a
		u3 := f0 * a
		a = t[4]
		u2 += f2 * a
		u3 += f1 * a
		u3 += f2 * t[5]
		t = (*[6]float32)(r1[j : j+6])
		u0 += f3 * t[0]
		a = t[1]
		u0 += f4 * a
		u1 += f3 * a
		a = t[2]
		u0 += f5 * a
		u1 += f4 * a
		u2 += f3 * a
		a = t[3]
		u1 += f5 * a
		u2 += f4 * a
		u3 += f3 * a
		a = t[4]
		u2 += f5 * a
		u3 += f4 * a
		u3 += f5 * t[5]
		t = (*[6]float32)(r2[j : j+6])
		u0 += f6 * t[0]
		a = t[1]
		u0 += f7 * a
		u1 += f6 * a
		a = t[2]
		u0 += f8 * a
		u1 += f7 * a
		u2 += f6 * a
		a = t[3]
		u1 += f8 * a
		u2 += f7 * a
		u3 += f6 * a
		a = t[4]
		u2 += f8 * a
		u3 += f7 * a
		u3 += f8 * t[5]
		yy := (*[4]float32)(y[j : j+4])
		if acc {
			u0, u1, u2, u3 = u0+yy[0], u1+yy[1], u2+yy[2], u3+yy[3]
		} else {
			u0, u1, u2, u3 = u0+b, u1+b, u2+b, u3+b
		}
		yy[0], yy[1], yy[2], yy[3] = u0, u1, u2, u3
	}
	for ; j < n; j++ {
		u := f0*r0[j] + f1*r0[j+1] + f2*r0[j+2] + f3*r1[j] + f4*r1[j+1] + f5*r1[j+2] + f6*r2[j] + f7*r2[j+1] + f8*r2[j+2]
		if acc {
			y[j] += u
		} else {
			y[j] = u + b
		}
	}
}

// dw3x3RowS2 is dw3x3Row for column stride 2: y[j] (+)= Σ f[i][k]·r_i[2j+k],
// with len(r_i) ≥ 2·len(y)+1; four outputs (nine inputs per row) per
// iteration.
//
//go:noinline
func dw3x3RowS2(y, r0, r1, r2 []float32, f *[9]float32, b float32, acc bool) {
	f0, f1, f2, f3, f4, f5, f6, f7, f8 := f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
	n := len(y)
	r0, r1, r2 = r0[:2*n+1], r1[:2*n+1], r2[:2*n+1]
	j := 0
	for ; j+4 <= n; j += 4 {
		t := (*[9]float32)(r0[2*j : 2*j+9])
		u0 := f0*t[0] + f1*t[1]
		a := t[2]
		u0 += f2 * a
		u1 := f0*a + f1*t[3]
		a = t[4]
		u1 += f2 * a
		u2 := f0*a + f1*t[5]
		a = t[6]
		u2 += f2 * a
		u3 := f0*a + f1*t[7] + f2*t[8]
		t = (*[9]float32)(r1[2*j : 2*j+9])
		u0 += f3*t[0] + f4*t[1]
		a = t[2]
		u0 += f5 * a
		u1 += f3*a + f4*t[3]
		a = t[4]
		u1 += f5 * a
		u2 += f3*a + f4*t[5]
		a = t[6]
		u2 += f5 * a
		u3 += f3*a + f4*t[7] + f5*t[8]
		t = (*[9]float32)(r2[2*j : 2*j+9])
		u0 += f6*t[0] + f7*t[1]
		a = t[2]
		u0 += f8 * a
		u1 += f6*a + f7*t[3]
		a = t[4]
		u1 += f8 * a
		u2 += f6*a + f7*t[5]
		a = t[6]
		u2 += f8 * a
		u3 += f6*a + f7*t[7] + f8*t[8]
		yy := (*[4]float32)(y[j : j+4])
		if acc {
			u0, u1, u2, u3 = u0+yy[0], u1+yy[1], u2+yy[2], u3+yy[3]
		} else {
			u0, u1, u2, u3 = u0+b, u1+b, u2+b, u3+b
		}
		yy[0], yy[1], yy[2], yy[3] = u0, u1, u2, u3
	}
	for ; j < n; j++ {
		k := 2 * j
		u := f0*r0[k] + f1*r0[k+1] + f2*r0[k+2] + f3*r1[k] + f4*r1[k+1] + f5*r1[k+2] + f6*r2[k] + f7*r2[k+1] + f8*r2[k+2]
		if acc {
			y[j] += u
		} else {
			y[j] = u + b
		}
	}
}

// dw3x3RowStrided is dw3x3Row for any column stride s:
// y[j] (+)= Σ f[i][k]·r_i[j·s+k], with len(r_i) ≥ (len(y)−1)·s + 3.
//
//go:noinline
func dw3x3RowStrided(y, r0, r1, r2 []float32, s int, f *[9]float32, b float32, acc bool) {
	f0, f1, f2, f3, f4, f5, f6, f7, f8 := f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
	for j := range y {
		ix := j * s
		t0 := (*[3]float32)(r0[ix : ix+3])
		t1 := (*[3]float32)(r1[ix : ix+3])
		t2 := (*[3]float32)(r2[ix : ix+3])
		u := f0*t0[0] + f1*t0[1] + f2*t0[2] + f3*t1[0] + f4*t1[1] + f5*t1[2] + f6*t2[0] + f7*t2[1] + f8*t2[2]
		if acc {
			y[j] += u
		} else {
			y[j] = u + b
		}
	}
}

// dw3x3ScatterPadded adds the input gradient of a strided 3×3 correlation
// into the padded plane buf (row length pw, every window inside):
// buf[oy·sh+i][ox·sw+j] += f[i][j]·gy[oy][ox].
func dw3x3ScatterPadded(buf []float32, pw int, f *[9]float32, gy []float32, oh, ow, sh, sw int) {
	n := (ow-1)*sw + 3
	for oy := 0; oy < oh; oy++ {
		gr := gy[oy*ow : (oy+1)*ow]
		for i := 0; i < 3; i++ {
			r := (oy*sh + i) * pw
			dw3x3ScatterRow(buf[r:r+n], gr, sw, f[i*3], f[i*3+1], f[i*3+2])
		}
	}
}

// dw3x3ScatterRow: t[j·s+k] += f_k·g[j] for k < 3.
//
//go:noinline
func dw3x3ScatterRow(t, g []float32, s int, f0, f1, f2 float32) {
	for j, v := range g {
		ix := j * s
		u := (*[3]float32)(t[ix : ix+3])
		u[0] += f0 * v
		u[1] += f1 * v
		u[2] += f2 * v
	}
}
