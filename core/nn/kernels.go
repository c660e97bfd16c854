package nn

import "fmt"

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
// alias inputs. Implementations must give the same results as GoKernels up to
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
}

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

// Depthwise3x3 implements Kernels.
func (GoKernels) Depthwise3x3(g Depthwise3x3Geom, x, f, bias, y []float32) {
	g.check(len(x), len(f), len(y))
	if bias != nil && len(bias) < g.Planes {
		panic(fmt.Sprintf("nn: depthwise 3×3: bias has %d values for %d planes", len(bias), g.Planes))
	}
	hw, ohw := g.H*g.W, g.OH*g.OW
	for p := 0; p < g.Planes; p++ {
		q := p / g.Mult
		var b float32
		if bias != nil {
			b = bias[p]
		}
		dw3x3Plane(x[q*hw:(q+1)*hw], g.H, g.W, (*[9]float32)(f[p*9:p*9+9]), b,
			y[p*ohw:(p+1)*ohw], g.OH, g.OW, g.SH, g.SW, g.PadTop, g.PadLeft, false)
	}
}

// Depthwise3x3Grad implements Kernels.
func (GoKernels) Depthwise3x3Grad(g Depthwise3x3Geom, f, gy, gx []float32) {
	g.check(len(gx), len(f), len(gy))
	hw, ohw := g.H*g.W, g.OH*g.OW
	for p := 0; p < g.Planes; p++ {
		q := p / g.Mult
		fp := (*[9]float32)(f[p*9 : p*9+9])
		gxp, gyp := gx[q*hw:(q+1)*hw], gy[p*ohw:(p+1)*ohw]
		if g.SH == 1 && g.SW == 1 {
			// Stride 1: the gradient is the correlation of gy with the
			// flipped filter, padded by 2−pad (a gather, like the forward).
			var fl [9]float32
			for i := range fl {
				fl[i] = fp[8-i]
			}
			dw3x3Plane(gyp, g.OH, g.OW, &fl, 0, gxp, g.H, g.W, 1, 1, 2-g.PadTop, 2-g.PadLeft, true)
			continue
		}
		dw3x3GradScatter(fp, gyp, g.OH, g.OW, gxp, g.H, g.W, g.SH, g.SW, g.PadTop, g.PadLeft)
	}
}

// ---------------------------------------------------------------------------
// GEMM

// Cache blocking of gemmGo: a kc×nc panel of B (128 KiB) stays in L2 while
// every 4-row strip of A runs over it; a 4×nc strip of C stays in L1.
const (
	gemmKC = 128
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
// 4 rows of C are updated with k unrolled by 4 (16 values of A in
// registers, each element of B loaded once per 4 rows and each element of C
// loaded and stored once per 4 values of k). The inner loops run over
// re-sliced rows of equal length so the compiler drops their bounds checks.
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
			i := 0
			for ; i+4 <= m; i += 4 {
				gemm4(n, k, i, j0, j1, p0, p1, a, b, c)
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
	for ; p+4 <= p1; p += 4 {
		x00, x01, x02, x03 := a0[p], a0[p+1], a0[p+2], a0[p+3]
		x10, x11, x12, x13 := a1[p], a1[p+1], a1[p+2], a1[p+3]
		x20, x21, x22, x23 := a2[p], a2[p+1], a2[p+2], a2[p+3]
		x30, x31, x32, x33 := a3[p], a3[p+1], a3[p+2], a3[p+3]
		b0 := b[p*n+j0 : p*n+j1]
		b1 := b[(p+1)*n+j0:][:len(b0)]
		b2 := b[(p+2)*n+j0:][:len(b0)]
		b3 := b[(p+3)*n+j0:][:len(b0)]
		c0, c1, c2, c3 := c0[:len(b0)], c1[:len(b0)], c2[:len(b0)], c3[:len(b0)]
		for j, v0 := range b0 {
			v1, v2, v3 := b1[j], b2[j], b3[j]
			c0[j] += x00*v0 + x01*v1 + x02*v2 + x03*v3
			c1[j] += x10*v0 + x11*v1 + x12*v2 + x13*v3
			c2[j] += x20*v0 + x21*v1 + x22*v2 + x23*v3
			c3[j] += x30*v0 + x31*v1 + x32*v2 + x33*v3
		}
	}
	for ; p < p1; p++ {
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

// interior returns the range [lo, hi) of output positions o whose 3-tap
// window o·s−pad+{0,1,2} lies inside [0, n). pad may be negative.
func interior(n, outN, s, pad int) (lo, hi int) {
	if pad > 0 {
		lo = (pad + s - 1) / s
	}
	if last := n - 3 + pad; last >= 0 {
		hi = min(last/s+1, outN)
	}
	return lo, max(hi, lo)
}

// dw3x3At is the bounds-checked value of one output position (border path).
func dw3x3At(x []float32, h, w int, f *[9]float32, iy0, ix0 int) float32 {
	var s float32
	for i := 0; i < 3; i++ {
		iy := iy0 + i
		if iy < 0 || iy >= h {
			continue
		}
		for j := 0; j < 3; j++ {
			if ix := ix0 + j; ix >= 0 && ix < w {
				s += f[i*3+j] * x[iy*w+ix]
			}
		}
	}
	return s
}

// dw3x3Plane computes one plane of a 3×3 correlation:
//
//	y[oy][ox] (+)= b + Σ f[i][j]·x[oy·sh−pt+i][ox·sw−pl+j]   x: h×w, y: oh×ow
//
// adding into y when acc. Interior positions run in bounds-check-free loops
// over three input rows; only the border goes through dw3x3At.
func dw3x3Plane(x []float32, h, w int, f *[9]float32, b float32, y []float32, oh, ow, sh, sw, pt, pl int, acc bool) {
	x, y = x[:h*w], y[:oh*ow]
	if !acc {
		for i := range y {
			y[i] = b
		}
	}
	f0, f1, f2, f3, f4, f5, f6, f7, f8 := f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
	lo, hi := interior(w, ow, sw, pl)
	for oy := 0; oy < oh; oy++ {
		iy0 := oy*sh - pt
		yr := y[oy*ow : (oy+1)*ow]
		if iy0 < 0 || iy0+2 >= h {
			for ox := range yr {
				yr[ox] += dw3x3At(x, h, w, f, iy0, ox*sw-pl)
			}
			continue
		}
		for ox := 0; ox < lo; ox++ {
			yr[ox] += dw3x3At(x, h, w, f, iy0, ox*sw-pl)
		}
		for ox := hi; ox < ow; ox++ {
			yr[ox] += dw3x3At(x, h, w, f, iy0, ox*sw-pl)
		}
		if lo >= hi {
			continue
		}
		r0 := x[iy0*w : (iy0+1)*w]
		r1 := x[(iy0+1)*w : (iy0+2)*w]
		r2 := x[(iy0+2)*w : (iy0+3)*w]
		yy := yr[lo:hi]
		base := lo*sw - pl
		if sw == 1 {
			// Sliding window: each input element is loaded once per row.
			s0 := r0[base : base+len(yy)+2]
			s1 := r1[base : base+len(yy)+2]
			s2 := r2[base : base+len(yy)+2]
			a0, a1 := s0[0], s0[1]
			b0, b1 := s1[0], s1[1]
			c0, c1 := s2[0], s2[1]
			s0, s1, s2 = s0[2:], s1[2:], s2[2:]
			s1, s2 = s1[:len(s0)], s2[:len(s0)]
			yy = yy[:len(s0)]
			for j, a2 := range s0 {
				b2, c2 := s1[j], s2[j]
				yy[j] += f0*a0 + f1*a1 + f2*a2 + f3*b0 + f4*b1 + f5*b2 + f6*c0 + f7*c1 + f8*c2
				a0, a1, b0, b1, c0, c1 = a1, a2, b1, b2, c1, c2
			}
			continue
		}
		for j := range yy {
			ix := base + j*sw
			t0 := (*[3]float32)(r0[ix : ix+3])
			t1 := (*[3]float32)(r1[ix : ix+3])
			t2 := (*[3]float32)(r2[ix : ix+3])
			yy[j] += f0*t0[0] + f1*t0[1] + f2*t0[2] + f3*t1[0] + f4*t1[1] + f5*t1[2] + f6*t2[0] + f7*t2[1] + f8*t2[2]
		}
	}
}

// dw3x3GradScatter adds the input gradient of one plane of a strided 3×3
// correlation: gx[oy·sh−pt+i][ox·sw−pl+j] += f[i][j]·gy[oy][ox].
func dw3x3GradScatter(f *[9]float32, gy []float32, oh, ow int, gx []float32, h, w, sh, sw, pt, pl int) {
	gy, gx = gy[:oh*ow], gx[:h*w]
	lo, hi := interior(w, ow, sw, pl)
	for oy := 0; oy < oh; oy++ {
		gr := gy[oy*ow : (oy+1)*ow]
		for i := 0; i < 3; i++ {
			iy := oy*sh - pt + i
			if iy < 0 || iy >= h {
				continue
			}
			xr := gx[iy*w : (iy+1)*w]
			f0, f1, f2 := f[i*3], f[i*3+1], f[i*3+2]
			for ox, g := range gr {
				if ox >= lo && ox < hi {
					continue
				}
				for j := 0; j < 3; j++ {
					if ix := ox*sw - pl + j; ix >= 0 && ix < w {
						xr[ix] += f[i*3+j] * g
					}
				}
			}
			if lo >= hi {
				continue
			}
			base := lo*sw - pl
			for k, g := range gr[lo:hi] {
				ix := base + k*sw
				t := (*[3]float32)(xr[ix : ix+3])
				t[0] += f0 * g
				t[1] += f1 * g
				t[2] += f2 * g
			}
		}
	}
}
