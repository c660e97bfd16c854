package kernels

import (
	"math"
	"testing"

	"github.com/camlens/camlens/core/nn"
)

func TestCheckGemm(t *testing.T) {
	for _, c := range []struct {
		m, n, k, la, lb, lc int
		ok                  bool
	}{
		{2, 3, 4, 8, 12, 6, true},
		{2, 3, 4, 9, 13, 7, true},
		{0, 0, 0, 0, 0, 0, true},
		{2, 3, 4, 7, 12, 6, false},
		{2, 3, 4, 8, 11, 6, false},
		{2, 3, 4, 8, 12, 5, false},
		{-1, 3, 4, 8, 12, 6, false},
		{1 << 20, 1 << 20, 1, math.MaxInt, math.MaxInt, math.MaxInt, false},
	} {
		err := checkGemm(c.m, c.n, c.k, c.la, c.lb, c.lc)
		if (err == nil) != c.ok {
			t.Errorf("checkGemm(%+v) = %v, want ok=%v", c, err, c.ok)
		}
	}
}

func TestCheckDW(t *testing.T) {
	g := nn.Depthwise3x3Geom{Planes: 4, Mult: 2, H: 11, W: 6, OH: 5, OW: 3, SH: 2, SW: 2, PadTop: 0, PadLeft: 1}
	nx, nf, ny := 2*11*6, 4*9, 4*5*3
	need, err := checkDW(g, nx, nf, ny, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := (4*2 + 3) * (2*2 + 4); need != want {
		t.Errorf("forward scratch %d, want %d", need, want)
	}
	s1 := nn.Depthwise3x3Geom{Planes: 1, Mult: 1, H: 7, W: 9, OH: 7, OW: 9, SH: 1, SW: 1, PadTop: 1, PadLeft: 1}
	if need, err := checkDW(s1, 63, 9, 63, true); err != nil || need != 9*12 {
		t.Errorf("stride-1 gradient scratch %d (%v), want %d", need, err, 9*12)
	}
	bad := []struct {
		g          nn.Depthwise3x3Geom
		nx, nf, ny int
	}{
		{g, nx - 1, nf, ny},
		{g, nx, nf - 1, ny},
		{g, nx, nf, ny - 1},
		{nn.Depthwise3x3Geom{Planes: 3, Mult: 2, H: 1, W: 1, OH: 1, OW: 1, SH: 1, SW: 1}, 10, 27, 3},
		{nn.Depthwise3x3Geom{Planes: 1, Mult: 1, H: 0, W: 1, OH: 1, OW: 1, SH: 1, SW: 1}, 10, 9, 3},
		{nn.Depthwise3x3Geom{Planes: 1, Mult: 1, H: 1, W: 1, OH: 1, OW: 1, SH: 0, SW: 1}, 10, 9, 3},
		{nn.Depthwise3x3Geom{Planes: 1, Mult: 1, H: 1 << 20, W: 1 << 20, OH: 1, OW: 1, SH: 1, SW: 1}, math.MaxInt, 9, 3},
		{nn.Depthwise3x3Geom{Planes: 1, Mult: 1, H: 1, W: 1, OH: 1, OW: 1, SH: 1, SW: 1, PadTop: math.MinInt / 2}, 10, 9, 3},
	}
	for _, c := range bad {
		for _, grad := range []bool{false, true} {
			if _, err := checkDW(c.g, c.nx, c.nf, c.ny, grad); err == nil {
				t.Errorf("checkDW(%+v, %d, %d, %d, grad %v) accepted", c.g, c.nx, c.nf, c.ny, grad)
			}
		}
	}
}

// TestNewFallback: without the module, New gives the pure-Go kernels.
func TestNewFallback(t *testing.T) {
	if Available() != nil {
		if _, ok := New().(nn.GoKernels); !ok {
			t.Errorf("New() = %T without the SIMD module, want nn.GoKernels", New())
		}
	}
}

// TestModelShapesRecorded runs the face model through the recorder (on
// every platform) so that a change in the model's shapes shows here.
func TestModelShapesRecorded(t *testing.T) {
	r := modelShapes(t)
	t.Logf("face model: %d GEMM shapes, %d depthwise shapes, %d depthwise-gradient shapes", len(r.gemms), len(r.dws), len(r.grads))
}
