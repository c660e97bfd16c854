package kernels

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// The plain reference loops, written from nn.Kernels's documentation.

// gemmNaive: C[m×n] (+)= A[m×k]·B[k×n], C (or 0) first, then p in order.
func gemmNaive(m, n, k int, a, b, c []float32, acc bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			if acc {
				s = c[i*n+j]
			}
			for p := 0; p < k; p++ {
				s += a[i*k+p] * b[p*n+j]
			}
			c[i*n+j] = s
		}
	}
}

// dwNaive: y[p][oy][ox] = bias[p] + Σ_ij f[p][i][j]·x[p/mult][oy·sh−pt+i][ox·sw−pl+j].
func dwNaive(g nn.Depthwise3x3Geom, x, f, bias, y []float32) {
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

// dwGradNaive: gx[p/mult][oy·sh−pt+i][ox·sw−pl+j] += f[p][i][j]·gy[p][oy][ox],
// accumulated in float64 (the exact sum, rounded once).
func dwGradNaive(g nn.Depthwise3x3Geom, f, gy, gx []float32) {
	acc := make([]float64, len(gx))
	for i, v := range gx {
		acc[i] = float64(v)
	}
	for p := 0; p < g.Planes; p++ {
		q := p / g.Mult
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				v := float64(gy[(p*g.OH+oy)*g.OW+ox])
				for i := 0; i < 3; i++ {
					for j := 0; j < 3; j++ {
						iy, ix := oy*g.SH-g.PadTop+i, ox*g.SW-g.PadLeft+j
						if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
							acc[(q*g.H+iy)*g.W+ix] += float64(f[p*9+i*3+j]) * v
						}
					}
				}
			}
		}
	}
	for i, v := range acc {
		gx[i] = float32(v)
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// closeAbs reports the first index where |got−want| > tol·(scale[i]+1e-30)
// (scale: a bound on the magnitude of the terms summed into want[i]).
func closeAbs(got, want, scale []float32, tol float64) (int, bool) {
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if !(d <= tol*float64(scale[i])+1e-30) {
			return i, false
		}
	}
	return -1, true
}

// equalBits reports the first index where got and want differ (−0 equals 0).
func equalBits(got, want []float32) (int, bool) {
	for i := range want {
		if got[i] != want[i] {
			return i, false
		}
	}
	return -1, true
}

// dwGeoms: odd geometries (strides, multipliers, negative and large pads,
// tails of 1–3 outputs).
var dwGeoms = []nn.Depthwise3x3Geom{
	{Planes: 3, Mult: 1, H: 7, W: 9, OH: 7, OW: 9, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
	{Planes: 4, Mult: 2, H: 11, W: 6, OH: 5, OW: 3, SH: 2, SW: 2, PadTop: 0, PadLeft: 1},
	{Planes: 2, Mult: 1, H: 5, W: 13, OH: 6, OW: 6, SH: 1, SW: 2, PadTop: 2, PadLeft: 0},
	{Planes: 2, Mult: 1, H: 13, W: 5, OH: 6, OW: 5, SH: 2, SW: 1, PadTop: 0, PadLeft: 1},
	{Planes: 2, Mult: 1, H: 3, W: 3, OH: 1, OW: 1, SH: 1, SW: 1},
	{Planes: 1, Mult: 1, H: 2, W: 2, OH: 2, OW: 2, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
	{Planes: 3, Mult: 3, H: 9, W: 10, OH: 3, OW: 4, SH: 3, SW: 3, PadTop: 1, PadLeft: 2},
	{Planes: 1, Mult: 1, H: 9, W: 9, OH: 5, OW: 4, SH: 1, SW: 1, PadTop: -1, PadLeft: -2},
	{Planes: 1, Mult: 1, H: 4, W: 5, OH: 9, OW: 10, SH: 1, SW: 1, PadTop: 3, PadLeft: 4},
	{Planes: 2, Mult: 2, H: 17, W: 23, OH: 9, OW: 13, SH: 2, SW: 2, PadTop: 1, PadLeft: 1},
	{Planes: 5, Mult: 1, H: 19, W: 21, OH: 19, OW: 21, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
	{Planes: 2, Mult: 1, H: 30, W: 30, OH: 15, OW: 15, SH: 2, SW: 2, PadTop: 1, PadLeft: 1},
	{Planes: 1, Mult: 1, H: 8, W: 8, OH: 5, OW: 5, SH: 2, SW: 2, PadTop: 3, PadLeft: -1},
	// channel multipliers with stride 1 (the padded plane is reused, the
	// gradient of Mult planes lands on one input plane)
	{Planes: 4, Mult: 2, H: 6, W: 7, OH: 6, OW: 7, SH: 1, SW: 1, PadTop: 1, PadLeft: 1},
	{Planes: 6, Mult: 3, H: 9, W: 12, OH: 8, OW: 11, SH: 1, SW: 1, PadTop: 0, PadLeft: 0},
}

// gemmSizes: odd sizes (tile remainders of 1–7 columns and 1–3 rows, k = 0).
var gemmSizes = [][3]int{{1, 1, 1}, {0, 3, 4}, {3, 0, 4}, {3, 4, 0}, {4, 4, 4}, {4, 8, 1}, {5, 7, 3}, {7, 13, 9},
	{13, 1, 17}, {1, 1000, 33}, {9, 515, 133}, {6, 255, 259}, {17, 31, 259}, {8, 12, 5}, {3, 17, 2}}

// recorder is an nn.Kernels that records every call's shape and runs the
// pure-Go kernels.
type recorder struct {
	mu    sync.Mutex
	gemms map[[3]int]bool
	dws   map[nn.Depthwise3x3Geom]bool
	grads map[nn.Depthwise3x3Geom]bool
	elems map[string]bool // elementwise calls: "setrows", "relu", "binary"
}

func newRecorder() *recorder {
	return &recorder{gemms: map[[3]int]bool{}, dws: map[nn.Depthwise3x3Geom]bool{}, grads: map[nn.Depthwise3x3Geom]bool{}, elems: map[string]bool{}}
}

func (r *recorder) Gemm(m, n, k int, a, b, c []float32, acc bool) {
	r.mu.Lock()
	r.gemms[[3]int{m, n, k}] = true
	r.mu.Unlock()
	nn.GoKernels{}.Gemm(m, n, k, a, b, c, acc)
}

func (r *recorder) Depthwise3x3(g nn.Depthwise3x3Geom, x, f, bias, y []float32) {
	r.mu.Lock()
	r.dws[g] = true
	r.mu.Unlock()
	nn.GoKernels{}.Depthwise3x3(g, x, f, bias, y)
}

func (r *recorder) Depthwise3x3Grad(g nn.Depthwise3x3Geom, f, gy, gx []float32) {
	r.mu.Lock()
	r.grads[g] = true
	r.mu.Unlock()
	nn.GoKernels{}.Depthwise3x3Grad(g, f, gy, gx)
}

func (r *recorder) elem(name string) {
	r.mu.Lock()
	r.elems[name] = true
	r.mu.Unlock()
}

func (r *recorder) SetRows(y, v []float32, n int) {
	r.elem("setrows")
	nn.GoKernels{}.SetRows(y, v, n)
}

func (r *recorder) Relu(y, x []float32) {
	r.elem("relu")
	nn.GoKernels{}.Relu(y, x)
}

func (r *recorder) Binary(op nn.BinaryOp, y, a, b []float32) {
	r.elem("binary")
	nn.GoKernels{}.Binary(op, y, a, b)
}

const modelPath = "../../models/face-expression.safetensors"

// faceModel builds the shipped face-expression network and a random input.
func faceModel(t testing.TB) (*nn.Graph, *tensor.Tensor) {
	t.Helper()
	m, err := modelfile.Load(modelPath)
	if err != nil {
		t.Fatalf("load %s: %v", modelPath, err)
	}
	g, err := nn.Build(m.Graph, m.Weights)
	if err != nil {
		t.Fatalf("build %s: %v", modelPath, err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	shape := g.InputShape()
	n, err := tensor.NumElements(shape)
	if err != nil {
		t.Fatal(err)
	}
	x, err := tensor.FromData(shape, randSlice(rng, n))
	if err != nil {
		t.Fatal(err)
	}
	return g, x
}

// runModel runs the forward pass and the backward pass of logit 1 to the
// input (plain and guided, which reach every layer) and returns the
// output and both input gradients.
func runModel(t testing.TB, g *nn.Graph, x *tensor.Tensor, k nn.Kernels) (out, gx, ggx []float32) {
	t.Helper()
	ctx := &nn.Context{Kernels: k}
	a, err := g.Forward(ctx, x)
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	seed, err := nn.Logit{Class: 1}.Seed(a.Output())
	if err != nil {
		t.Fatal(err)
	}
	for _, guided := range []bool{false, true} {
		ctx.Guided = guided
		grads, err := g.Backward(ctx, a, g.Output, seed, []int{nn.InputIndex})
		if err != nil {
			t.Fatalf("backward (guided %v): %v", guided, err)
		}
		if guided {
			ggx = grads[nn.InputIndex].Data
		} else {
			gx = grads[nn.InputIndex].Data
		}
	}
	return a.Output().Data, gx, ggx
}

// modelShapes records the kernel calls of the face model's forward and
// backward passes.
func modelShapes(t testing.TB) *recorder {
	g, x := faceModel(t)
	r := newRecorder()
	runModel(t, g, x, r)
	if len(r.gemms) == 0 || len(r.dws) == 0 || len(r.grads) == 0 || !r.elems["setrows"] || !r.elems["relu"] || !r.elems["binary"] {
		t.Fatalf("the face model made no kernel calls of some kind: %d gemm, %d depthwise, %d gradient shapes; elementwise %v", len(r.gemms), len(r.dws), len(r.grads), r.elems)
	}
	return r
}
