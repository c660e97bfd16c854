package cam

// The explanation methods, each in pytorch-grad-cam's shape: a function of
// the target layer's activations A and gradients G (one image, C×h×w,
// row-major) that returns either one weight per channel (the library's
// get_cam_weights) or, for the element-wise methods, the weighted
// activations C×h×w whose channel sum is the map. Sums are accumulated in
// float64 and stored as float32 (the library works in float32 NumPy).

import "math"

// layerData is one target layer of one image.
type layerData struct {
	C, H, W int
	A, G    []float32 // C×H×W; G is nil for gradient-free methods
}

func (l *layerData) hw() int { return l.H * l.W }

// gradCAMWeights: w_k = mean(G_k) (GradCAM).
func gradCAMWeights(l *layerData) []float32 {
	w := make([]float32, l.C)
	n := l.hw()
	for k := range w {
		w[k] = float32(sum64(l.G[k*n:(k+1)*n]) / float64(n))
	}
	return w
}

// xGradCAMWeights: w_k = Σ(G_k·A_k) / (ΣA_k + 1e-7) (XGradCAM).
func xGradCAMWeights(l *layerData) []float32 {
	w := make([]float32, l.C)
	n := l.hw()
	for k := range w {
		a, g := l.A[k*n:(k+1)*n], l.G[k*n:(k+1)*n]
		sa, sga := 0.0, 0.0
		for i := range a {
			sa += float64(a[i])
			sga += float64(g[i]) * float64(a[i])
		}
		w[k] = float32(sga / (float64(float32(sa)) + 1e-7))
	}
	return w
}

// gradCAMPlusPlusWeights (GradCAM++, eq. 19 of Chattopadhay et al.):
// α = g²/(2g² + ΣA·g³ + 1e-6), 0 where g = 0; w_k = Σ relu(g)·α.
func gradCAMPlusPlusWeights(l *layerData) []float32 {
	w := make([]float32, l.C)
	n := l.hw()
	for k := range w {
		a, g := l.A[k*n:(k+1)*n], l.G[k*n:(k+1)*n]
		sa := sum64(a)
		w[k] = float32(plusPlusSum(g, float64(float32(sa))))
	}
	return w
}

// plusPlusSum is Σ relu(g)·α over one channel's gradients, α = g²/(2g² +
// sa·g³ + 1e-6), in float64 and in order. Terms where g ≤ 0 are not added
// (relu(g) = 0, and α = 0 where g = 0): they are computed and masked to
// +0, which adds nothing to a sum of non-negative terms, so the loop has
// no branch (see kern.go).
//
//go:noinline
func plusPlusSum(g []float32, sa float64) float64 {
	s := 0.0
	for _, gv := range g {
		g1 := float64(gv)
		g2 := g1 * g1
		t := g1 * (g2 / (2*g2 + sa*g2*g1 + 1e-6))
		var keep uint64
		if gv > 0 {
			keep = ^uint64(0) // a select, not a branch
		}
		s += math.Float64frombits(math.Float64bits(t) & keep)
	}
	return s
}

// hiResCAMElems: G⊙A (HiResCAM; its channel sum is the map).
func hiResCAMElems(l *layerData) []float32 {
	out := make([]float32, len(l.A))
	for i, a := range l.A {
		out[i] = l.G[i] * a
	}
	return out
}

// gradCAMElementWiseElems: relu(G⊙A) (GradCAMElementWise).
func gradCAMElementWiseElems(l *layerData) []float32 {
	out := make([]float32, len(l.A))
	for i, a := range l.A {
		out[i] = maxf(l.G[i]*a, 0)
	}
	return out
}

// layerCAMElems: relu(G)⊙A (LayerCAM).
func layerCAMElems(l *layerData) []float32 {
	out := make([]float32, len(l.A))
	for i, a := range l.A {
		out[i] = maxf(l.G[i], 0) * a
	}
	return out
}

// weighted returns w_k·A_k (C×h×w), the library's weighted_activations.
func weighted(l *layerData, w []float32) []float32 {
	out := make([]float32, len(l.A))
	n := l.hw()
	for k, wk := range w {
		a, o := l.A[k*n:(k+1)*n], out[k*n:(k+1)*n]
		for i, v := range a {
			o[i] = wk * v
		}
	}
	return out
}

// channelSum returns Σ_k x_k (h×w) of a C×h×w array.
func channelSum(x []float32, c, n int) []float32 {
	acc := make([]float64, n)
	for k := range c {
		for i, v := range x[k*n : (k+1)*n] {
			acc[i] += float64(v)
		}
	}
	out := make([]float32, n)
	for i, v := range acc {
		out[i] = float32(v)
	}
	return out
}

// elemKind names the element-wise methods for sumElems.
type elemKind int

const (
	elemWeighted    elemKind = iota // w_k·A (weighted)
	elemHiRes                       // G·A (hiResCAMElems)
	elemElementWise                 // relu(G·A) (gradCAMElementWiseElems)
	elemLayerCAM                    // relu(G)·A (layerCAMElems)
)

// sumElems writes the channel sum of a method's C×h×w elements into raw
// (h·w) without materialising them: channelSum(weighted(l, w)) for
// elemWeighted, channelSum(elems(l)) otherwise, with the same float32
// products and the same float64 sums in the same order, so the results
// are identical (l.G is finite: gradients are checked where they are
// computed). acc is scratch of h·w float64.
func sumElems(kind elemKind, l *layerData, w []float32, acc []float64, raw []float32) {
	n := l.hw()
	acc, raw = acc[:n], raw[:n]
	clear(acc)
	for k := range l.C {
		a := l.A[k*n : (k+1)*n]
		a = a[:len(acc)]
		switch kind {
		case elemWeighted:
			accScaled(acc, a, w[k])
		default:
			accProd(kind, acc, a, l.G[k*n:(k+1)*n])
		}
	}
	for i, v := range acc {
		raw[i] = float32(v)
	}
}

// softmax32 is torch.nn.Softmax over a vector, in float64, returned as
// float32 (Score-CAM's channel weights).
func softmax32(x []float64) []float32 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	out := make([]float32, len(x))
	s := 0.0
	e := make([]float64, len(x))
	for i, v := range x {
		e[i] = math.Exp(v - m)
		s += e[i]
	}
	for i := range e {
		out[i] = float32(e[i] / s)
	}
	return out
}
