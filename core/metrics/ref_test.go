package metrics

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// ref is testdata/ref.json, written by testdata/gen_ref.py with scipy,
// torch and pytorch-grad-cam's imputation code.
type ref struct {
	GKern       []float64 `json:"gkern"`
	BlurInput   []float32 `json:"blur_input"`
	Blur        []float64 `json:"blur"`
	ImputeInput []float32 `json:"impute_input"`
	ImputeKeep  []int     `json:"impute_keep"`
	Impute      []float64 `json:"impute"`
	Spearman    []struct {
		A, B []float32
		Rho  float64
	} `json:"spearman"`
}

func loadRef(t *testing.T) *ref {
	t.Helper()
	b, err := os.ReadFile("testdata/ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var r ref
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestBlurMatchesRISE(t *testing.T) {
	r := loadRef(t)
	k := BlurKernel()
	sum := 0.0
	for i := range 11 {
		sum += k[i]
		for j := range 11 {
			if d := math.Abs(k[i]*k[j] - r.GKern[i*11+j]); d > 1e-15 {
				t.Fatalf("gkern[%d][%d] = %v, scipy %v", i, j, k[i]*k[j], r.GKern[i*11+j])
			}
		}
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("kernel sums to %v", sum)
	}
	got := Blur(r.BlurInput, 2, 7, 9)
	worst := 0.0
	for i, v := range got {
		worst = max(worst, math.Abs(float64(v)-r.Blur[i]))
	}
	t.Logf("blur vs torch conv2d: max |Δ| = %.2g", worst)
	if worst > 1e-6 {
		t.Errorf("blur differs from torch conv2d by %v", worst)
	}
}

func TestImputeMatchesReference(t *testing.T) {
	r := loadRef(t)
	removed := make([]bool, len(r.ImputeKeep))
	nr := 0
	for i, k := range r.ImputeKeep {
		removed[i] = k == 0
		if removed[i] {
			nr++
		}
	}
	got, err := NoisyLinearImpute(r.ImputeInput, 2, 10, 12, removed, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, v := range got {
		worst = max(worst, math.Abs(float64(v)-r.Impute[i]))
		if !removed[i%120] && v != r.ImputeInput[i] {
			t.Fatalf("kept value %d changed", i)
		}
	}
	t.Logf("%d of 120 pixels imputed; vs scipy spsolve of pytorch-grad-cam's system: max |Δ| = %.2g", nr, worst)
	if worst > 1e-5 {
		t.Errorf("imputation differs from the reference by %v", worst)
	}
	// The noise: imputed values move by N(0, 0.01²), kept ones not at all.
	noisy, err := NoisyLinearImpute(r.ImputeInput, 2, 10, 12, removed, 0.01, 7)
	if err != nil {
		t.Fatal(err)
	}
	ss, n := 0.0, 0
	for i := range noisy {
		d := float64(noisy[i] - got[i])
		if !removed[i%120] && d != 0 {
			t.Fatalf("noise on kept pixel %d", i)
		}
		if removed[i%120] {
			ss += d * d
			n++
		}
	}
	if sd := math.Sqrt(ss / float64(n)); sd < 0.007 || sd > 0.013 {
		t.Errorf("noise standard deviation %v, want about 0.01", sd)
	}
}

func TestImputeSmoothImage(t *testing.T) {
	const h, w = 48, 64
	img := make([]float32, 3*h*w)
	for ch := range 3 {
		for y := range h {
			for x := range w {
				fx, fy := float64(x), float64(y)
				img[(ch*h+y)*w+x] = float32(math.Sin(fx/9+float64(ch)) + math.Cos(fy/11) + 0.002*fx*fy)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	mean := 0.0
	for _, v := range img {
		mean += float64(v) / float64(len(img))
	}
	// Inside, the weighted mean of the 8 neighbours is second-order accurate
	// and the error grows with the size of the holes; on the border only one
	// side is left, so the error there is about the gradient (≈ 0.2 a pixel
	// here), and it reaches a pixel or two inwards. Inside = at least 2
	// pixels from the border.
	for _, c := range []struct{ frac, rms, max float64 }{{0.2, 0.006, 0.025}, {0.5, 0.012, 0.08}, {0.8, 0.035, 0.2}} {
		removed := make([]bool, h*w)
		for i := range removed {
			removed[i] = rng.Float64() < c.frac
		}
		got, err := NoisyLinearImpute(img, 3, h, w, removed, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var in, border, meanFill errStats
		for i, v := range got {
			p := i % (h * w)
			if !removed[p] {
				continue
			}
			y, x := p/w, p%w
			e := &in
			if min(x, y, w-1-x, h-1-y) < 2 {
				e = &border
			}
			e.add(float64(v - img[i]))
			meanFill.add(mean - float64(img[i]))
		}
		t.Logf("%.0f%% removed (image range about 4): inside rms %.4f max %.4f; border rms %.4f max %.4f; filling with the mean: rms %.3f",
			c.frac*100, in.rms(), in.max, border.rms(), border.max, meanFill.rms())
		if in.rms() > c.rms || in.max > c.max || border.max > 0.5 || in.rms() > meanFill.rms()/40 {
			t.Errorf("%.0f%% removed: imputation error inside rms %v max %v, border max %v; want < %v, < %v, < 0.5 and 40× better than the mean",
				c.frac*100, in.rms(), in.max, border.max, c.rms, c.max)
		}
	}
	// A linear image is reproduced exactly where the border is kept (the
	// weights are symmetric, so the weighted mean of a linear function is
	// its centre value).
	lin := make([]float32, h*w)
	removed := make([]bool, h*w)
	for y := range h {
		for x := range w {
			lin[y*w+x] = float32(0.3*float64(x) - 0.2*float64(y) + 1)
			removed[y*w+x] = x > 0 && y > 0 && x < w-1 && y < h-1 && rng.Float64() < 0.9
		}
	}
	got, err := NoisyLinearImpute(lin, 1, h, w, removed, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if math.Abs(float64(v-lin[i])) > 1e-4 {
			t.Fatalf("linear image: pixel %d imputed %v, want %v", i, v, lin[i])
		}
	}
	all := make([]bool, h*w)
	for i := range all {
		all[i] = true
	}
	if _, err := NoisyLinearImpute(lin, 1, h, w, all, 0, 0); err == nil {
		t.Error("no error with every pixel removed")
	}
	if _, err := NoisyLinearImpute(lin, 1, h, w, all[1:], 0, 0); err == nil {
		t.Error("no error with a short mask")
	}
}

func TestSpearman(t *testing.T) {
	r := loadRef(t)
	for _, c := range r.Spearman {
		if got := Spearman(c.A, c.B); math.Abs(got-c.Rho) > 1e-12 {
			t.Errorf("Spearman(%v, %v) = %v, scipy %v", c.A, c.B, got, c.Rho)
		}
	}
	cases := []struct {
		a, b []float32
		want float64
	}{
		{[]float32{1, 2, 3, 4}, []float32{10, 20, 30, 40}, 1},
		{[]float32{1, 2, 3, 4}, []float32{4, 3, 2, 1}, -1},
		{[]float32{1, 2, 3, 4}, []float32{1, 8, 27, 64}, 1}, // monotone, not linear
		{[]float32{1, 2, 3, 4}, []float32{0, 0, 0, 0}, 0},   // no ranking
	}
	for _, c := range cases {
		if got := Spearman(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Spearman(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	if !math.IsNaN(Spearman([]float32{1, 2}, []float32{1})) {
		t.Error("lengths differ: want NaN")
	}
}

type errStats struct {
	ss, max float64
	n       int
}

func (e *errStats) add(d float64) {
	e.ss += d * d
	e.max = max(e.max, math.Abs(d))
	e.n++
}

func (e *errStats) rms() float64 { return math.Sqrt(e.ss / float64(max(e.n, 1))) }
