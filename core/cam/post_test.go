package cam

import (
	"image"
	"math"
	"testing"
)

func TestPostprocessAllNegativeIsZero(t *testing.T) {
	raw := []float32{-1, -2, -3, -0.5, -7, -1e-9}
	m := aggregate([][]float32{postprocess(raw, 2, 3, 4, 6)})
	if len(m) != 24 {
		t.Fatalf("len %d, want 24", len(m))
	}
	for i, v := range m {
		if v != 0 {
			t.Fatalf("map[%d] = %v, want 0 (all-negative map)", i, v)
		}
	}
}

func TestPostprocessRange(t *testing.T) {
	raw := []float32{-1, 2, 3, 0.5, 7, -4}
	m := aggregate([][]float32{postprocess(raw, 2, 3, 5, 7)})
	lo, hi := m[0], m[0]
	for _, v := range m {
		if math.IsNaN(float64(v)) {
			t.Fatal("NaN in map")
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi < 0.9999 || hi > 1 {
		t.Fatalf("range [%v, %v], want [0, ~1]", lo, hi)
	}
}

func TestAggregateMean(t *testing.T) {
	a := []float32{0, 0.5, 1, 0.25}
	b := []float32{1, 0.5, 0, 0.25}
	got := aggregate([][]float32{a, b})
	// mean = 0.5, 0.5, 0.5, 0.25 → min-max: 1, 1, 1, 0 (up to eps)
	want := []float32{1, 1, 1, 0}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("aggregate = %v, want %v", got, want)
		}
	}
}

func TestBoxAndPeak(t *testing.T) {
	const w, h = 8, 6
	tests := []struct {
		name string
		set  map[image.Point]float32
		box  image.Rectangle
		peak image.Point
	}{
		{"empty", nil, image.Rectangle{}, image.Pt(0, 0)},
		{"single", map[image.Point]float32{{3, 2}: 1}, image.Rect(3, 2, 4, 3), image.Pt(3, 2)},
		{
			// A large dim region (4 pixels) wins over a small bright one.
			"largest region wins",
			map[image.Point]float32{{0, 0}: 1, {5, 3}: 0.5, {6, 3}: 0.5, {5, 4}: 0.5, {6, 5}: 0.5},
			image.Rect(5, 3, 7, 6), image.Pt(0, 0),
		},
		{
			// Diagonal neighbours are connected (8-connectivity).
			"diagonal",
			map[image.Point]float32{{1, 1}: 0.9, {2, 2}: 0.8, {3, 3}: 1, {7, 0}: 0.95},
			image.Rect(1, 1, 4, 4), image.Pt(3, 3),
		},
		{
			// Values under 15% of the max do not count.
			"threshold",
			map[image.Point]float32{{2, 2}: 1, {3, 2}: 0.14, {4, 2}: 0.14, {5, 2}: 0.14, {2, 3}: 0.15},
			image.Rect(2, 2, 3, 4), image.Pt(2, 2),
		},
	}
	for _, tc := range tests {
		m := make([]float32, w*h)
		for p, v := range tc.set {
			m[p.Y*w+p.X] = v
		}
		if got := Box(m, w, h); got != tc.box {
			t.Errorf("%s: Box = %v, want %v", tc.name, got, tc.box)
		}
		if got := Peak(m, w, h); got != tc.peak {
			t.Errorf("%s: Peak = %v, want %v", tc.name, got, tc.peak)
		}
	}
}

func TestProject2DRankOneAndSign(t *testing.T) {
	// x[k, i] = v[k]·u[i]: the centred matrix is rank one, so the
	// projection is ±|v|·(u − mean u); CamLens's sign makes it correlate
	// positively with the channel sum.
	u := []float32{0, 1, 4, 2, 3, 9}
	for _, v := range [][]float32{{1, 2, 0.5}, {-1, -2, -0.5}} {
		n, c := len(u), len(v)
		x := make([]float32, c*n)
		for k := range c {
			for i := range n {
				x[k*n+i] = v[k] * u[i]
			}
		}
		p, err := project2D(x, c, n)
		if err != nil {
			t.Fatal(err)
		}
		norm := 0.0
		sumV := 0.0
		for _, vk := range v {
			norm += float64(vk * vk)
			sumV += float64(vk)
		}
		norm = math.Sqrt(norm)
		mean := float64(0+1+4+2+3+9) / 6
		for i := range n {
			want := norm * (float64(u[i]) - mean) * math.Copysign(1, sumV)
			if math.Abs(float64(p[i])-want) > 1e-5 {
				t.Fatalf("v=%v: projection %v, want element %d = %v", v, p, i, want)
			}
		}
	}
}

func TestProject2DConstantIsZero(t *testing.T) {
	x := []float32{3, 3, 3, 3, 5, 5, 5, 5}
	p, err := project2D(x, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range p {
		if v != 0 || math.IsNaN(float64(v)) {
			t.Fatalf("projection[%d] = %v, want 0", i, v)
		}
	}
}
