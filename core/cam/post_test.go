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

// boxFloodFill is the reference for Box: a flood fill from every unvisited
// above-threshold pixel in row-major order, keeping the first largest
// region.
func boxFloodFill(m []float32, w, h int) image.Rectangle {
	hi := float32(0)
	for _, v := range m[:w*h] {
		hi = max(hi, v)
	}
	if hi <= 0 {
		return image.Rectangle{}
	}
	t := hi * BoxThreshold
	label := make([]int32, w*h) // 0: unvisited; -1: below; >0: region id
	var best image.Rectangle
	bestN := 0
	for start := range label {
		if label[start] != 0 {
			continue
		}
		if m[start] < t {
			label[start] = -1
			continue
		}
		label[start] = 1
		stack := []int{start}
		n := 0
		r := image.Rect(start%w, start/w, start%w+1, start/w+1)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := p%w, p/w
			r = r.Union(image.Rect(x, y, x+1, y+1))
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					q := ny*w + nx
					if label[q] != 0 {
						continue
					}
					if m[q] < t {
						label[q] = -1
						continue
					}
					label[q] = 1
					stack = append(stack, q)
				}
			}
		}
		if n > bestN {
			best, bestN = r, n
		}
	}
	return best
}

// TestBoxMatchesFloodFill compares the run-based Box with a flood fill on
// random maps of many densities and shapes (spirals, diagonals, ties), with
// one scratch reused across maps as a session does.
func TestBoxMatchesFloodFill(t *testing.T) {
	seed := uint32(3)
	rnd := func() float32 {
		seed = seed*1664525 + 1013904223
		return float32(seed>>8) / (1 << 24)
	}
	var b boxScratch
	for it := range 3000 {
		w, h := 1+int(rnd()*17), 1+int(rnd()*13)
		density := rnd()
		m := make([]float32, w*h)
		for i := range m {
			if rnd() < density {
				m[i] = 0.1 + rnd()
			} else {
				m[i] = rnd() * 0.1 // some below, some above 15 % of the max
			}
		}
		if it%7 == 0 { // diagonal chains only meet at corners
			clear(m)
			for i := range min(w, h) {
				m[i*w+i] = 1
				if i+2 < w {
					m[i*w+i+2] = 1
				}
			}
		}
		if it%11 == 0 { // two equal regions: the first one wins
			clear(m)
			m[0] = 1
			m[w*h-1] = 1
		}
		switch it % 13 { // values the fast path refuses: the plain loops take over
		case 3:
			m[int(rnd()*float32(len(m)))] = -0.5
		case 5:
			m[int(rnd()*float32(len(m)))] = float32(math.NaN())
		case 8:
			m[int(rnd()*float32(len(m)))] = float32(math.Copysign(0, -1))
		case 9:
			m[int(rnd()*float32(len(m)))] = float32(math.Inf(1))
		}
		want := boxFloodFill(m, w, h)
		if got := b.box(m, w, h, BoxThreshold); got != want {
			t.Fatalf("map %d (%d×%d): box %v, flood fill %v", it, w, h, got, want)
		}
		if got := Box(m, w, h); got != want {
			t.Fatalf("map %d (%d×%d): Box %v, flood fill %v", it, w, h, got, want)
		}
	}
}

// TestMinMaxTwoPass compares minMax with the library's three-step form,
// (x − min) then its max, bit for bit, NaN and infinities included.
func TestMinMaxTwoPass(t *testing.T) {
	ref := func(x []float32) {
		lo := x[0]
		for _, v := range x {
			lo = minf(lo, v)
		}
		hi := float32(0)
		for i, v := range x {
			x[i] = v - lo
			hi = maxf(hi, x[i])
		}
		d := float32(minMaxEps + float64(hi))
		for i, v := range x {
			x[i] = v / d
		}
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	cases := [][]float32{{3}, {0, 0}, {-1, 2, 0.5}, {1e-30, 3e-30}, {-3e38, 3e38}, {1, inf}, {-inf, 1, 2}, {-inf, inf}, {inf, inf}, {1, nan, 2}, {-0.0, 0}}
	seed := uint32(9)
	for range 200 {
		x := make([]float32, 1+seed%50)
		for i := range x {
			seed = seed*1664525 + 1013904223
			x[i] = float32(int32(seed)) / (1 << 20)
		}
		cases = append(cases, x)
	}
	for _, c := range cases {
		got, want := append([]float32(nil), c...), append([]float32(nil), c...)
		minMax(got)
		ref(want)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("minMax(%v)[%d] = %v, reference %v", c, i, got[i], want[i])
			}
		}
	}
}
