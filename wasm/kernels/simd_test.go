//go:build js && wasm

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"testing"

	"github.com/camlens/camlens/core/nn"
)

// simd returns the SIMD kernels, or skips the test when the module is not
// preloaded (fails instead under CAMLENS_REQUIRE_DEPS=1).
func simd(t testing.TB) *SIMD {
	t.Helper()
	k, err := Load()
	if err != nil {
		msg := fmt.Sprintf("%v: run with the module preloaded (scripts/test.d/80-simd.sh)", err)
		if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return k
}

func TestNewUsesSIMD(t *testing.T) {
	simd(t)
	if _, ok := New().(*SIMD); !ok {
		t.Errorf("New() = %T with the module loaded, want *SIMD", New())
	}
}

// guarded returns a slice of n random values inside a larger buffer whose
// margins hold a sentinel, and a check that the margins are untouched.
func guarded(rng *rand.Rand, n int) ([]float32, func() bool) {
	const margin = 37
	buf := randSlice(rng, n+2*margin)
	const sentinel = float32(-12345.5)
	for i := 0; i < margin; i++ {
		buf[i], buf[len(buf)-1-i] = sentinel, sentinel
	}
	return buf[margin : margin+n : margin+n], func() bool {
		for i := 0; i < margin; i++ {
			if buf[i] != sentinel || buf[len(buf)-1-i] != sentinel {
				return false
			}
		}
		return true
	}
}

// testGemm compares one GEMM shape: bit-identical to the naive loop, close
// to nn.GoKernels, nothing written outside C.
func testGemm(t *testing.T, k *SIMD, rng *rand.Rand, m, n, kk int) {
	for _, acc := range []bool{false, true} {
		a := randSlice(rng, m*kk)
		b := randSlice(rng, kk*n)
		c, ok := guarded(rng, m*n)
		c0 := append([]float32(nil), c...)
		want := append([]float32(nil), c0...)
		gemmNaive(m, n, kk, a, b, want, acc)
		k.Gemm(m, n, kk, a, b, c, acc)
		if !ok() {
			t.Errorf("gemm %d×%d×%d acc=%v wrote outside C", m, n, kk, acc)
		}
		if i, eq := equalBits(c, want); !eq {
			t.Errorf("gemm %d×%d×%d acc=%v: C[%d] = %v, naive loop %v", m, n, kk, acc, i, c[i], want[i])
			continue
		}
		goc := append([]float32(nil), c0...)
		nn.GoKernels{}.Gemm(m, n, kk, a, b, goc, acc)
		scale := make([]float32, m*n)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				s := float64(0)
				if acc {
					s = math.Abs(float64(c0[i*n+j]))
				}
				for p := 0; p < kk; p++ {
					s += math.Abs(float64(a[i*kk+p] * b[p*n+j]))
				}
				scale[i*n+j] = float32(s)
			}
		}
		if i, close := closeAbs(c, goc, scale, float64(kk+2)*6e-8); !close {
			t.Errorf("gemm %d×%d×%d acc=%v: C[%d] = %v, nn.GoKernels %v", m, n, kk, acc, i, c[i], goc[i])
		}
	}
}

func TestGemm(t *testing.T) {
	k := simd(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range gemmSizes {
		testGemm(t, k, rng, s[0], s[1], s[2])
	}
}

// testDW compares one depthwise geometry in both directions.
func testDW(t *testing.T, k *SIMD, rng *rand.Rand, g nn.Depthwise3x3Geom) {
	nx, ny := g.Planes/g.Mult*g.H*g.W, g.Planes*g.OH*g.OW
	x := randSlice(rng, nx)
	f := randSlice(rng, g.Planes*9)
	for _, bias := range [][]float32{nil, randSlice(rng, g.Planes)} {
		y, ok := guarded(rng, ny)
		want := make([]float32, ny)
		dwNaive(g, x, f, bias, want)
		k.Depthwise3x3(g, x, f, bias, y)
		if !ok() {
			t.Errorf("depthwise %+v bias=%v wrote outside y", g, bias != nil)
		}
		if i, eq := equalBits(y, want); !eq {
			t.Errorf("depthwise %+v bias=%v: y[%d] = %v, naive loop %v", g, bias != nil, i, y[i], want[i])
		}
		goy := make([]float32, ny)
		nn.GoKernels{}.Depthwise3x3(g, x, f, bias, goy)
		if i, eq := equalBits(goy, want); !eq {
			// nn.GoKernels may add in another order: compare loosely.
			scale := dwScale(g, f, x, bias)
			if j, close := closeAbs(y, goy, scale, 1e-6); !close {
				t.Errorf("depthwise %+v bias=%v: y[%d] = %v, nn.GoKernels %v (first difference from naive at %d)", g, bias != nil, j, y[j], goy[j], i)
			}
		}
	}
	// Gradient: close to the exact (float64) scatter and to nn.GoKernels.
	gy := randSlice(rng, ny)
	gx, ok := guarded(rng, nx)
	gx0 := append([]float32(nil), gx...)
	want := append([]float32(nil), gx0...)
	dwGradNaive(g, f, gy, want)
	k.Depthwise3x3Grad(g, f, gy, gx)
	if !ok() {
		t.Errorf("depthwise gradient %+v wrote outside gx", g)
	}
	scale := dwGradScale(g, f, gy, gx0)
	if i, close := closeAbs(gx, want, scale, 1e-6); !close {
		t.Errorf("depthwise gradient %+v: gx[%d] = %v, exact %v", g, i, gx[i], want[i])
	}
	gogx := append([]float32(nil), gx0...)
	nn.GoKernels{}.Depthwise3x3Grad(g, f, gy, gogx)
	if i, close := closeAbs(gx, gogx, scale, 2e-6); !close {
		t.Errorf("depthwise gradient %+v: gx[%d] = %v, nn.GoKernels %v", g, i, gx[i], gogx[i])
	}
}

// dwScale bounds the magnitude of the terms of each forward output.
func dwScale(g nn.Depthwise3x3Geom, f, x, bias []float32) []float32 {
	abs := func(s []float32) []float32 {
		if s == nil {
			return nil
		}
		out := make([]float32, len(s))
		for i, v := range s {
			out[i] = float32(math.Abs(float64(v)))
		}
		return out
	}
	y := make([]float32, g.Planes*g.OH*g.OW)
	dwNaive(g, abs(x), abs(f), abs(bias), y)
	return y
}

// dwGradScale bounds the magnitude of the terms of each gradient value.
func dwGradScale(g nn.Depthwise3x3Geom, f, gy, gx0 []float32) []float32 {
	af, agy := make([]float32, len(f)), make([]float32, len(gy))
	for i, v := range f {
		af[i] = float32(math.Abs(float64(v)))
	}
	for i, v := range gy {
		agy[i] = float32(math.Abs(float64(v)))
	}
	s := make([]float32, len(gx0))
	for i, v := range gx0 {
		s[i] = float32(math.Abs(float64(v)))
	}
	dwGradNaive(g, af, agy, s)
	return s
}

func TestDepthwise3x3(t *testing.T) {
	k := simd(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, g := range dwGeoms {
		testDW(t, k, rng, g)
	}
}

// elemLens: every tail of the 4-lane loops, and long runs.
var elemLens = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1001, 3136}

// specials puts values whose bits matter into s: ±0, ±Inf, NaNs with
// payloads and signs, denormals.
func specials(s []float32) {
	sp := []float32{float32(math.Copysign(0, -1)), 0, float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00001), math.Float32frombits(0xffc00002), math.Float32frombits(0x7f800001),
		math.Float32frombits(0x80000001), math.Float32frombits(0x00000001), -1e-40}
	for i := 0; i < len(s); i += 3 {
		s[i] = sp[(i/3)%len(sp)]
	}
}

// TestElementwise: SetRows, Relu and Binary give GoKernels's bits (NaNs,
// −0 and infinities included) and write nothing outside y.
func TestElementwise(t *testing.T) {
	k := simd(t)
	rng := rand.New(rand.NewPCG(9, 10))
	sameBits := func(got, want []float32) (int, bool) {
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				return i, false
			}
		}
		return -1, true
	}
	for _, n := range elemLens {
		x := randSlice(rng, n)
		specials(x)
		y, ok := guarded(rng, n)
		want := make([]float32, n)
		nn.GoKernels{}.Relu(want, x)
		k.Relu(y, x)
		if i, eq := sameBits(y, want); !eq {
			t.Errorf("relu n=%d: y[%d] = %#x, want %#x", n, i, math.Float32bits(y[i]), math.Float32bits(want[i]))
		}
		if !ok() {
			t.Errorf("relu n=%d wrote outside y", n)
		}
		for _, op := range []nn.BinaryOp{nn.OpAdd, nn.OpSub, nn.OpMul} {
			a, b := randSlice(rng, n), randSlice(rng, n)
			specials(b)
			y, ok := guarded(rng, n)
			nn.GoKernels{}.Binary(op, want, a, b)
			k.Binary(op, y, a, b)
			for i := range want {
				// NaN results: any NaN (WebAssembly leaves the payload open).
				if w, g := want[i], y[i]; w != w && g != g {
					y[i] = w
				}
			}
			if i, eq := sameBits(y, want); !eq {
				t.Errorf("binary %d n=%d: y[%d] = %v, want %v", op, n, i, y[i], want[i])
			}
			if !ok() {
				t.Errorf("binary %d n=%d wrote outside y", op, n)
			}
		}
		for _, rows := range []int{0, 1, 3} {
			v := randSlice(rng, rows)
			specials(v)
			y, ok := guarded(rng, rows*n)
			want := make([]float32, rows*n)
			nn.GoKernels{}.SetRows(want, v, n)
			k.SetRows(y, v, n)
			if i, eq := sameBits(y, want); !eq {
				t.Errorf("setrows %d×%d: y[%d] = %v, want %v", rows, n, i, y[i], want[i])
			}
			if !ok() {
				t.Errorf("setrows %d×%d wrote outside y", rows, n)
			}
		}
	}
	// In place (y is an input): the same results.
	x := randSlice(rng, 37)
	specials(x)
	want := make([]float32, len(x))
	nn.GoKernels{}.Relu(want, x)
	k.Relu(x, x)
	if i, eq := sameBits(x, want); !eq {
		t.Errorf("relu in place: x[%d] = %v, want %v", i, x[i], want[i])
	}
}

// TestFaceModelShapes replays every kernel call shape of the shipped face
// model's forward and backward passes.
func TestFaceModelShapes(t *testing.T) {
	k := simd(t)
	r := modelShapes(t)
	rng := rand.New(rand.NewPCG(5, 6))
	var gs [][3]int
	for s := range r.gemms {
		gs = append(gs, s)
	}
	sort.Slice(gs, func(i, j int) bool { return fmt.Sprint(gs[i]) < fmt.Sprint(gs[j]) })
	for _, s := range gs {
		testGemm(t, k, rng, s[0], s[1], s[2])
	}
	dws := map[nn.Depthwise3x3Geom]bool{}
	for g := range r.dws {
		dws[g] = true
	}
	for g := range r.grads {
		dws[g] = true
	}
	for g := range dws {
		testDW(t, k, rng, g)
	}
	t.Logf("%d GEMM shapes, %d depthwise geometries", len(gs), len(dws))
}

// TestFaceModel runs the whole face model (forward, gradient to the input,
// guided gradient) with both kernels.
func TestFaceModel(t *testing.T) {
	k := simd(t)
	g, x := faceModel(t)
	out0, gx0, ggx0 := runModel(t, g, x, nn.GoKernels{})
	out1, gx1, ggx1 := runModel(t, g, x, k)
	for _, c := range []struct {
		name      string
		got, want []float32
	}{{"logits", out1, out0}, {"input gradient", gx1, gx0}, {"guided input gradient", ggx1, ggx0}} {
		var maxAbs, maxDiff float64
		for i := range c.want {
			maxAbs = max(maxAbs, math.Abs(float64(c.want[i])))
			maxDiff = max(maxDiff, math.Abs(float64(c.got[i])-float64(c.want[i])))
		}
		if !(maxDiff <= 1e-4*maxAbs) || maxAbs == 0 {
			t.Errorf("%s: max difference %.3g for values up to %.3g", c.name, maxDiff, maxAbs)
		}
		t.Logf("%s: max difference %.3g for values up to %.3g", c.name, maxDiff, maxAbs)
	}
}

func TestShortSlicesPanic(t *testing.T) {
	k := simd(t)
	g := nn.Depthwise3x3Geom{Planes: 2, Mult: 1, H: 4, W: 4, OH: 4, OW: 4, SH: 1, SW: 1, PadTop: 1, PadLeft: 1}
	for name, call := range map[string]func(){
		"gemm a":        func() { k.Gemm(2, 2, 2, make([]float32, 3), make([]float32, 4), make([]float32, 4), false) },
		"gemm c":        func() { k.Gemm(2, 2, 2, make([]float32, 4), make([]float32, 4), make([]float32, 3), true) },
		"gemm negative": func() { k.Gemm(-2, 2, 2, nil, nil, nil, false) },
		"depthwise x":   func() { k.Depthwise3x3(g, make([]float32, 31), make([]float32, 18), nil, make([]float32, 32)) },
		"depthwise y":   func() { k.Depthwise3x3(g, make([]float32, 32), make([]float32, 18), nil, make([]float32, 31)) },
		"depthwise bias": func() {
			k.Depthwise3x3(g, make([]float32, 32), make([]float32, 18), make([]float32, 1), make([]float32, 32))
		},
		"depthwise f":  func() { k.Depthwise3x3(g, make([]float32, 32), make([]float32, 17), nil, make([]float32, 32)) },
		"gradient gx":  func() { k.Depthwise3x3Grad(g, make([]float32, 18), make([]float32, 32), make([]float32, 31)) },
		"gradient gy":  func() { k.Depthwise3x3Grad(g, make([]float32, 18), make([]float32, 31), make([]float32, 32)) },
		"bad geometry": func() { k.Depthwise3x3(nn.Depthwise3x3Geom{Planes: 3, Mult: 2}, nil, nil, nil, nil) },
		"setrows y":    func() { k.SetRows(make([]float32, 11), make([]float32, 3), 4) },
		"setrows n":    func() { k.SetRows(make([]float32, 11), make([]float32, 3), -4) },
		"relu x":       func() { k.Relu(make([]float32, 8), make([]float32, 7)) },
		"binary a":     func() { k.Binary(nn.OpAdd, make([]float32, 8), make([]float32, 7), make([]float32, 8)) },
		"binary b":     func() { k.Binary(nn.OpMul, make([]float32, 8), make([]float32, 8), make([]float32, 7)) },
		"binary op":    func() { k.Binary(nn.BinaryOp(7), make([]float32, 8), make([]float32, 8), make([]float32, 8)) },
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

func BenchmarkGemm(b *testing.B) {
	for _, s := range [][3]int{{32, 3136, 32}, {64, 784, 64}, {128, 196, 128}, {256, 49, 256}} {
		m, n, kk := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 1))
		a, bb, c := randSlice(rng, m*kk), randSlice(rng, kk*n), make([]float32, m*n)
		for _, impl := range []struct {
			name string
			k    nn.Kernels
		}{{"go", nn.GoKernels{}}, {"simd", New()}} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", impl.name, m, n, kk), func(b *testing.B) {
				for b.Loop() {
					impl.k.Gemm(m, n, kk, a, bb, c, false)
				}
				b.ReportMetric(float64(2*m*n*kk)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkDepthwise3x3(b *testing.B) {
	for _, g := range []nn.Depthwise3x3Geom{
		{Planes: 32, Mult: 1, H: 56, W: 56, OH: 56, OW: 56, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
		{Planes: 32, Mult: 1, H: 56, W: 56, OH: 28, OW: 28, SH: 2, SW: 2, PadTop: 0, PadLeft: 0},
		{Planes: 256, Mult: 1, H: 7, W: 7, OH: 7, OW: 7, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
	} {
		rng := rand.New(rand.NewPCG(1, 1))
		x, f := randSlice(rng, g.Planes*g.H*g.W), randSlice(rng, g.Planes*9)
		y, gy := make([]float32, g.Planes*g.OH*g.OW), randSlice(rng, g.Planes*g.OH*g.OW)
		gx := make([]float32, len(x))
		flops := float64(18 * len(y))
		for _, impl := range []struct {
			name string
			k    nn.Kernels
		}{{"go", nn.GoKernels{}}, {"simd", New()}} {
			name := fmt.Sprintf("%dx%dx%d/s%d", g.Planes, g.H, g.W, g.SH)
			b.Run(impl.name+"/fwd/"+name, func(b *testing.B) {
				for b.Loop() {
					impl.k.Depthwise3x3(g, x, f, nil, y)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
			b.Run(impl.name+"/grad/"+name, func(b *testing.B) {
				for b.Loop() {
					impl.k.Depthwise3x3Grad(g, f, gy, gx)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
