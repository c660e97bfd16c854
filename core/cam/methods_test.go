package cam

import (
	"math"
	"testing"

	"github.com/camlens/camlens/core/internal/gradcamref"
	"github.com/camlens/camlens/core/tensor"
)

// gradTol is the README's tolerance for gradient methods (and EigenCAM).
const gradTol = 1e-4

// fixtureMap runs one pure method on a fixture case's own activations and
// gradients and post-processes the result like the library.
func fixtureMap(t *testing.T, c *gradcamref.Case, weights func(*layerData) []float32, elems func(*layerData) []float32, project bool) []float32 {
	t.Helper()
	a := c.Activations
	l := &layerData{C: a.Shape[1], H: a.Shape[2], W: a.Shape[3], A: a.Data, G: c.Gradients.Data}
	var x []float32
	if weights != nil {
		x = weighted(l, weights(l))
	} else {
		x = elems(l)
	}
	var raw []float32
	if project {
		var err error
		if raw, err = project2D(x, l.C, l.H*l.W); err != nil {
			t.Fatal(err)
		}
	} else {
		raw = channelSum(x, l.C, l.H*l.W)
	}
	H, W := c.Input.Shape[2], c.Input.Shape[3]
	return aggregate([][]float32{postprocess(raw, l.H, l.W, H, W)})
}

// eigenDiff compares an EigenCAM-like map with the library's, accepting
// either SVD sign.
func eigenDiff(got []float32, c *gradcamref.Case) float64 {
	return math.Min(tensor.MaxAbsDiff(got, c.Maps["EigenCAM"].Data), tensor.MaxAbsDiff(got, c.EigenCAMFlipped.Data))
}

// TestMethodsOnFixtureGradients checks the pure methods and the
// post-processing against the library's maps, fed with the library's own
// activations and gradients (no network involved).
func TestMethodsOnFixtureGradients(t *testing.T) {
	methods := []struct {
		key     string
		weights func(*layerData) []float32
		elems   func(*layerData) []float32
		project bool
	}{
		{"GradCAM", gradCAMWeights, nil, false},
		{"GradCAMPlusPlus", gradCAMPlusPlusWeights, nil, false},
		{"XGradCAM", xGradCAMWeights, nil, false},
		{"HiResCAM", nil, hiResCAMElems, false},
		{"GradCAMElementWise", nil, gradCAMElementWiseElems, false},
		{"LayerCAM", nil, layerCAMElems, false},
		{"EigenCAM", nil, func(l *layerData) []float32 { return l.A }, true},
	}
	for _, name := range gradcamref.Cases() {
		c := gradcamref.MustLoadCase(name)
		for _, m := range methods {
			got := fixtureMap(t, c, m.weights, m.elems, m.project)
			var d float64
			if m.key == "EigenCAM" {
				d = eigenDiff(got, c)
			} else {
				d = tensor.MaxAbsDiff(got, c.Maps[m.key].Data)
			}
			if d > gradTol || math.IsNaN(d) {
				t.Errorf("%s %s: max abs diff %.3g > %g", name, m.key, d, gradTol)
			} else {
				t.Logf("%s %-18s max abs diff %.2e", name, m.key, d)
			}
		}
	}
}

// TestSumElemsMatchesChannelSum: the fused channel sums equal channelSum of
// the materialised elements bit for bit, for every element-wise kind.
func TestSumElemsMatchesChannelSum(t *testing.T) {
	seed := uint32(5)
	rnd := func() float32 {
		seed = seed*1664525 + 1013904223
		return float32(int32(seed)) / (1 << 30)
	}
	l := &layerData{C: 13, H: 7, W: 5}
	n := l.C * l.hw()
	l.A, l.G = make([]float32, n), make([]float32, n)
	for i := range n {
		l.A[i], l.G[i] = rnd(), rnd()
	}
	w := gradCAMWeights(l)
	tests := []struct {
		name string
		kind elemKind
		ref  []float32
	}{
		{"weighted", elemWeighted, weighted(l, w)},
		{"hirescam", elemHiRes, hiResCAMElems(l)},
		{"gradcam-elementwise", elemElementWise, gradCAMElementWiseElems(l)},
		{"layercam", elemLayerCAM, layerCAMElems(l)},
	}
	acc := make([]float64, l.hw())
	for _, tc := range tests {
		want := channelSum(tc.ref, l.C, l.hw())
		got := make([]float32, l.hw())
		for i := range acc {
			acc[i] = 99 // stale scratch must not leak through
		}
		sumElems(tc.kind, l, w, acc, got)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: [%d] = %v, channelSum %v", tc.name, i, got[i], want[i])
			}
		}
	}
	for _, m := range methodList {
		if m.elems != nil && !m.project && m.sum == elemWeighted {
			t.Errorf("method %s has elements but no sum kind", m.info.Name)
		}
	}
}
