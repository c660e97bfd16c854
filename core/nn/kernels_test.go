package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmMatchesRef checks the register-blocked GEMM against the plain
// loop on odd sizes, including sizes that cross the cache-block edges
// (gemmKC, gemmNC) and the 4-row and 4-k unroll remainders.
func TestGemmMatchesRef(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := [][3]int{{1, 1, 1}, {0, 3, 4}, {3, 0, 4}, {3, 4, 0}, {4, 4, 4}, {5, 7, 3}, {7, 13, 9}, {13, 1, 17}, {1, 1000, 33},
		{9, 2*gemmNC + 3, gemmKC + 5}, {6, gemmNC - 1, 2*gemmKC + 3}, {17, 31, 259}}
	for _, s := range sizes {
		m, n, k := s[0], s[1], s[2]
		for _, acc := range []bool{false, true} {
			a := randTensor(rng, 0, m*k+1).Data[:m*k]
			b := randTensor(rng, 0, k*n+1).Data[:k*n]
			c0 := randTensor(rng, 0, m*n+1).Data[:m*n]
			c := append([]float32(nil), c0...)
			want := append([]float32(nil), c0...)
			GoKernels{}.Gemm(m, n, k, a, b, c, acc)
			gemmRef(m, n, k, a, b, want, acc)
			if i, ok := closeTo(c, want, 1e-5); !ok {
				t.Errorf("gemm %dx%dx%d acc=%v: element %d: got %v, want %v", m, n, k, acc, i, c[i], want[i])
			}
		}
	}
}

// TestGemmLongSlices checks that only the described prefix is touched.
func TestGemmLongSlices(t *testing.T) {
	a := []float32{1, 2, 3, 4, 99}
	b := []float32{5, 6, 7, 8, 99}
	c := []float32{0, 0, 0, 0, -1}
	GoKernels{}.Gemm(2, 2, 2, a, b, c, false)
	want := []float32{19, 22, 43, 50, -1}
	if _, ok := closeTo(c, want, 0); !ok {
		t.Errorf("got %v, want %v", c, want)
	}
}

func TestGemmShortSlicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Gemm with a short slice did not panic")
		}
	}()
	GoKernels{}.Gemm(2, 2, 2, make([]float32, 4), make([]float32, 3), make([]float32, 4), false)
}

var dwGeoms = []Depthwise3x3Geom{
	{Planes: 3, Mult: 1, H: 7, W: 9, OH: 7, OW: 9, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
	{Planes: 4, Mult: 2, H: 11, W: 6, OH: 5, OW: 3, SH: 2, SW: 2, PadTop: 0, PadLeft: 1},
	{Planes: 2, Mult: 1, H: 5, W: 13, OH: 6, OW: 6, SH: 1, SW: 2, PadTop: 2, PadLeft: 0},
	{Planes: 2, Mult: 1, H: 3, W: 3, OH: 1, OW: 1, SH: 1, SW: 1},
	{Planes: 1, Mult: 1, H: 2, W: 2, OH: 2, OW: 2, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
	{Planes: 3, Mult: 3, H: 9, W: 10, OH: 3, OW: 4, SH: 3, SW: 3, PadTop: 1, PadLeft: 2},
	// Stride 2 with rows wide enough for the 4-output loop and its tail.
	{Planes: 2, Mult: 1, H: 12, W: 19, OH: 6, OW: 9, SH: 2, SW: 2, PadTop: 1, PadLeft: 1},
	{Planes: 2, Mult: 2, H: 8, W: 17, OH: 3, OW: 8, SH: 2, SW: 2},
	{Planes: 1, Mult: 1, H: 9, W: 30, OH: 9, OW: 15, SH: 1, SW: 2, PadTop: 1, PadLeft: 0},
	// Negative pads (cropping) and pads > 2 (as the stride-1 gradient uses).
	{Planes: 1, Mult: 1, H: 9, W: 9, OH: 5, OW: 4, SH: 1, SW: 1, PadTop: -1, PadLeft: -2},
	{Planes: 1, Mult: 1, H: 4, W: 5, OH: 9, OW: 10, SH: 1, SW: 1, PadTop: 3, PadLeft: 4},
}

func TestDepthwise3x3MatchesRef(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, g := range dwGeoms {
		x := randTensor(rng, 0, g.Planes/g.Mult*g.H*g.W).Data
		f := randTensor(rng, 0, g.Planes*9).Data
		for _, bias := range [][]float32{nil, randTensor(rng, 0, g.Planes).Data} {
			y := randTensor(rng, 0, g.Planes*g.OH*g.OW).Data // overwritten
			want := make([]float32, len(y))
			GoKernels{}.Depthwise3x3(g, x, f, bias, y)
			depthwise3x3Ref(g, x, f, bias, want)
			if i, ok := closeTo(y, want, 1e-5); !ok {
				t.Errorf("%+v bias=%v: element %d: got %v, want %v", g, bias != nil, i, y[i], want[i])
			}
		}
		gy := randTensor(rng, 0, g.Planes*g.OH*g.OW).Data
		gx := randTensor(rng, 0, g.Planes/g.Mult*g.H*g.W).Data // added to
		want := append([]float32(nil), gx...)
		GoKernels{}.Depthwise3x3Grad(g, f, gy, gx)
		depthwise3x3GradRef(g, f, gy, want)
		if i, ok := closeTo(gx, want, 1e-5); !ok {
			t.Errorf("%+v grad: element %d: got %v, want %v", g, i, gx[i], want[i])
		}
	}
}

func TestDepthwise3x3BadGeometryPanics(t *testing.T) {
	for _, c := range []struct {
		g           Depthwise3x3Geom
		nx, nf, ny  int
		description string
	}{
		{Depthwise3x3Geom{Planes: 3, Mult: 2, H: 3, W: 3, OH: 1, OW: 1, SH: 1, SW: 1}, 9, 27, 3, "planes not divisible by mult"},
		{Depthwise3x3Geom{Planes: 1, Mult: 1, H: 3, W: 3, OH: 1, OW: 1, SH: 0, SW: 1}, 9, 9, 1, "zero stride"},
		{Depthwise3x3Geom{Planes: 2, Mult: 1, H: 3, W: 3, OH: 1, OW: 1, SH: 1, SW: 1}, 9, 18, 2, "x too short"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.description)
				}
			}()
			GoKernels{}.Depthwise3x3(c.g, make([]float32, c.nx), make([]float32, c.nf), nil, make([]float32, c.ny))
		}()
	}
}

func TestSpan(t *testing.T) {
	for _, c := range []struct{ n, outN, s, off, lo, hi int }{
		{5, 5, 1, -1, 1, 5}, {5, 5, 1, 1, 0, 4}, {5, 3, 2, -1, 1, 3}, {5, 3, 2, 0, 0, 3}, {5, 3, 2, 1, 0, 2},
		{3, 4, 1, 5, 0, 0}, {3, 4, 1, -9, 4, 4}, {1, 1, 3, 0, 0, 1},
	} {
		lo, hi := span(c.n, c.outN, c.s, c.off)
		if lo != c.lo || hi != c.hi {
			t.Errorf("span(%d, %d, %d, %d) = %d, %d, want %d, %d", c.n, c.outN, c.s, c.off, lo, hi, c.lo, c.hi)
		}
		// Cross-check by brute force.
		blo, bhi := -1, -1
		for o := 0; o < c.outN; o++ {
			if p := o*c.s + c.off; p >= 0 && p < c.n {
				if blo < 0 {
					blo = o
				}
				bhi = o + 1
			}
		}
		if blo >= 0 && (lo != blo || hi != bhi) || blo < 0 && lo != hi {
			t.Errorf("span(%d, %d, %d, %d) = %d, %d, brute force %d, %d", c.n, c.outN, c.s, c.off, lo, hi, blo, bhi)
		}
	}
}

func ExampleGoKernels_Gemm() {
	// C[2×3] = A[2×2]·B[2×3]
	a := []float32{1, 2, 3, 4}
	b := []float32{1, 0, 1, 0, 1, 1}
	c := make([]float32, 6)
	GoKernels{}.Gemm(2, 3, 2, a, b, c, false)
	fmt.Println(c)
	// Output: [1 2 3 3 4 7]
}

// TestDepthwise3x3StrideOneRun: the stride-1 path (one run over the padded
// plane) gives the row-by-row loop's results bit for bit, on the face
// model's plane sizes and odd ones, with and without channel multipliers.
func TestDepthwise3x3StrideOneRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	geoms := []Depthwise3x3Geom{
		{Planes: 3, Mult: 1, H: 7, W: 7, OH: 7, OW: 7, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
		{Planes: 2, Mult: 1, H: 14, W: 14, OH: 14, OW: 14, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
		{Planes: 2, Mult: 1, H: 56, W: 56, OH: 56, OW: 56, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
		{Planes: 4, Mult: 2, H: 5, W: 9, OH: 3, OW: 7, SH: 1, SW: 1},
		{Planes: 3, Mult: 3, H: 6, W: 5, OH: 8, OW: 7, SH: 1, SW: 1, PadTop: 2, PadLeft: 2},
		{Planes: 1, Mult: 1, H: 1, W: 1, OH: 1, OW: 1, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
	}
	for _, g := range geoms {
		x := randTensor(rng, 0, g.Planes/g.Mult*g.H*g.W).Data
		f := randTensor(rng, 0, g.Planes*9).Data
		bias := randTensor(rng, 0, g.Planes).Data
		y := make([]float32, g.Planes*g.OH*g.OW)
		GoKernels{}.Depthwise3x3(g, x, f, bias, y)
		ph, pw := g.padded()
		buf := make([]float32, ph*pw)
		hw, ohw := g.H*g.W, g.OH*g.OW
		for p := range g.Planes {
			q := p / g.Mult
			padPlane(x[q*hw:(q+1)*hw], g.H, g.W, buf, ph, pw, g.PadTop, g.PadLeft)
			want := make([]float32, ohw)
			dw3x3Padded(buf, pw, (*[9]float32)(f[p*9:p*9+9]), bias[p], false, want, g.OH, g.OW, 1, 1)
			for i, v := range want {
				if math.Float32bits(v) != math.Float32bits(y[p*ohw+i]) {
					t.Fatalf("%+v plane %d: [%d] = %v, row by row %v", g, p, i, y[p*ohw+i], v)
				}
			}
		}
	}
}

// TestGoKernelsElementwise checks SetRows, Relu and Binary against their
// definitions, bit for bit (−0, NaN payloads, infinities), on every tail
// length of the unrolled loops, and that short slices panic.
func TestGoKernelsElementwise(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	nan := math.Float32frombits(0x7fc00123)
	inf := float32(math.Inf(1))
	x := []float32{-2, negZero, 0, 1.5, nan, -inf, inf, math.Float32frombits(0xffc00007), -1e-40}
	reluWant := []uint32{0, 0, 0, math.Float32bits(1.5), 0x7fc00123, 0, math.Float32bits(inf), 0xffc00007, 0}
	for n := 0; n <= len(x); n++ {
		y := make([]float32, n)
		GoKernels{}.Relu(y, x)
		for i := range y {
			if math.Float32bits(y[i]) != reluWant[i] {
				t.Errorf("relu n=%d: y[%d] = %#x, want %#x", n, i, math.Float32bits(y[i]), reluWant[i])
			}
		}
	}
	a := []float32{1, 2, 3, 4, 5, 6, 7}
	b := []float32{7, 6, 5, 4, 3, 2, 1}
	for _, c := range []struct {
		op BinaryOp
		f  func(p, q float32) float32
	}{{OpAdd, func(p, q float32) float32 { return p + q }}, {OpSub, func(p, q float32) float32 { return p - q }}, {OpMul, func(p, q float32) float32 { return p * q }}} {
		for n := 0; n <= len(a); n++ {
			y := make([]float32, n)
			GoKernels{}.Binary(c.op, y, a, b)
			for i := range y {
				if y[i] != c.f(a[i], b[i]) {
					t.Errorf("binary %d n=%d: y[%d] = %v, want %v", c.op, n, i, y[i], c.f(a[i], b[i]))
				}
			}
		}
	}
	y := make([]float32, 7)
	GoKernels{}.SetRows(y, []float32{negZero, 3}, 3)
	want := []float32{negZero, negZero, negZero, 3, 3, 3, 0}
	for i := range want {
		if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
			t.Errorf("setrows: y[%d] = %v, want %v", i, y[i], want[i])
		}
	}
	for name, call := range map[string]func(){
		"setrows short y": func() { GoKernels{}.SetRows(make([]float32, 5), make([]float32, 2), 3) },
		"setrows n < 0":   func() { GoKernels{}.SetRows(make([]float32, 5), make([]float32, 2), -1) },
		"relu short x":    func() { GoKernels{}.Relu(make([]float32, 5), make([]float32, 4)) },
		"binary short a":  func() { GoKernels{}.Binary(OpAdd, make([]float32, 5), make([]float32, 4), make([]float32, 5)) },
		"binary bad op":   func() { GoKernels{}.Binary(BinaryOp(9), make([]float32, 5), make([]float32, 5), make([]float32, 5)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			call()
		}()
	}
}
