package metrics

import (
	"context"
	"errors"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/camlens/camlens/core/cam"
)

// quadrantRun explains n quadrant images with Grad-CAM and evaluates the
// Grad-CAM map, a random map, the centre baseline and a map of the wrong
// blob. It returns the mean of each metric per map kind.
type quadStats struct {
	pointing, iou50, del, ins, keep10Drop, multDrop, road float64
}

func TestQuadrantModelFaithfulness(t *testing.T) {
	m := newQuadrant(t)
	rng := rand.New(rand.NewPCG(1, 2))
	n := 8
	if testing.Short() {
		n = 4
	}
	stats := map[string]*quadStats{"gradcam": {}, "random": {}, "center": {}, "wrong": {}}
	for i := range n {
		x, box := quadrantImage(rng)
		s := session(t, m, x)
		if p := s.Predictions(1)[0]; p.Class != 0 || p.Prob < 0.99 {
			t.Fatalf("image %d: the model predicts %+v, want class 0 with p > 0.99", i, p)
		}
		res, err := s.Explain(context.Background(), cam.Request{Class: 0})
		if err != nil {
			t.Fatal(err)
		}
		if res.Layers[0] != "masked" {
			t.Fatalf("default layer %v, want masked", res.Layers)
		}
		wrong := make([]float32, quadSide*quadSide) // the distractor in the top right quadrant
		for y := range quadSide / 2 {
			for xx := quadSide / 2; xx < quadSide; xx++ {
				wrong[y*quadSide+xx] = x.Data[y*quadSide+xx]
			}
		}
		maps := map[string][]float32{
			"gradcam": res.Map,
			"random":  RandomMap(quadSide, quadSide, uint64(i)),
			"center":  CenterMap(quadSide, quadSide),
			"wrong":   wrong,
		}
		for name, mp := range maps {
			full := name == "gradcam" || name == "random" // the slow metrics only where they are checked
			r, err := Evaluate(context.Background(), s, mp, 0, EvalOptions{
				Options: Options{Steps: 64, Seed: uint64(i)}, GroundTruth: box, Confidence: full, ROAD: full,
			})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			st := stats[name]
			if *r.Pointing {
				st.pointing += 1 / float64(n)
			}
			if *r.IoU >= 0.5 {
				st.iou50 += 1 / float64(n)
			}
			st.del += r.Deletion.AUC / float64(n)
			st.ins += r.Insertion.AUC / float64(n)
			if full {
				st.keep10Drop += r.KeepTop[0].Drop / float64(n)
				st.multDrop += r.CAMMult.Drop / float64(n)
				st.road += r.ROAD.Combined / float64(n)
			}
			if name == "gradcam" && (*r.IoU != 1 || r.Box != box) {
				t.Errorf("image %d: Grad-CAM box %v, ground truth %v (IoU %.3f), want identical", i, r.Box, box, *r.IoU)
			}
			if r.Deletion.Scores[0] < 0.99 || r.Insertion.Scores[64] < 0.99 {
				t.Errorf("%s image %d: deletion starts at %.4f, insertion ends at %.4f; both are the intact image", name, i, r.Deletion.Scores[0], r.Insertion.Scores[64])
			}
			if r.Deletion.Scores[64] > 0.01 || r.Insertion.Scores[0] > 0.01 {
				t.Errorf("%s image %d: deletion ends at %.4f, insertion starts at %.4f; want about 0 (no blob)", name, i, r.Deletion.Scores[64], r.Insertion.Scores[0])
			}
		}
	}
	for name, st := range stats {
		t.Logf("%-8s pointing %.2f iou50 %.2f deletion %.4f insertion %.4f keep10-drop %.4f mult-drop %.4f road %.4f",
			name, st.pointing, st.iou50, st.del, st.ins, st.keep10Drop, st.multDrop, st.road)
	}
	g, r, w := stats["gradcam"], stats["random"], stats["wrong"]
	checks := []struct {
		what string
		ok   bool
	}{
		{"Grad-CAM pointing game 100%", g.pointing == 1},
		{"Grad-CAM box IoU ≥ 0.5 on every image", g.iou50 == 1},
		{"Grad-CAM deletion AUC near 0 (< 0.03)", g.del < 0.03},
		{"Grad-CAM insertion AUC near 1 (> 0.95)", g.ins > 0.95},
		{"random deletion AUC near 0.5", math.Abs(r.del-0.5) < 0.08},
		{"random insertion AUC near 0.5", math.Abs(r.ins-0.5) < 0.08},
		{"random pointing game below 20%", r.pointing < 0.2},
		{"random box IoU ≥ 0.5 never", r.iou50 == 0},
		{"wrong map never points at the blob", w.pointing == 0},
		{"wrong map deletion AUC no better than random (> 0.4)", w.del > 0.4},
		{"Grad-CAM keeps the class with its top 10% (drop < 0.01)", g.keep10Drop < 0.01},
		{"random top 10% loses the class (drop > 0.9)", r.keep10Drop > 0.9},
		{"Grad-CAM × image keeps the class (drop < 0.01)", g.multDrop < 0.01},
		{"random × image loses the class (drop > 0.5)", r.multDrop > 0.5},
		{"ROAD combined: Grad-CAM > 0.4", g.road > 0.4},
		{"ROAD combined: random near 0", math.Abs(r.road) < 0.15},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("want %s", c.what)
		}
	}
}

func TestDeletionInsertionBatchAndSteps(t *testing.T) {
	m := newQuadrant(t)
	x, _ := quadrantImage(rand.New(rand.NewPCG(3, 4)))
	s := session(t, m, x)
	mp := RandomMap(quadSide, quadSide, 9)
	var calls, last int
	a, err := DeletionInsertion(context.Background(), s, mp, -1, Options{Steps: 10, Batch: 1,
		Progress: func(done, total int) { calls++; last = done; _ = total }})
	if err != nil {
		t.Fatal(err)
	}
	b, err := DeletionInsertion(context.Background(), s, mp, 0, Options{Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 22 || last != 22 {
		t.Errorf("progress called %d times, last done %d; want 22 (one per image with batch 1)", calls, last)
	}
	if a.Class != 0 || len(a.Deletion.Scores) != 11 || len(a.Insertion.Fractions) != 11 {
		t.Fatalf("class %d, %d/%d points; want class 0 and 11 points", a.Class, len(a.Deletion.Scores), len(a.Insertion.Fractions))
	}
	for k := range 11 {
		if a.Deletion.Fractions[k] != float64(k*quadSide*quadSide/10)/float64(quadSide*quadSide) {
			t.Errorf("fraction %d = %v", k, a.Deletion.Fractions[k])
		}
		if d := math.Abs(a.Deletion.Scores[k] - b.Deletion.Scores[k]); d > 1e-6 {
			t.Errorf("deletion step %d: batch 1 gives %v, default batch %v", k, a.Deletion.Scores[k], b.Deletion.Scores[k])
		}
		if d := math.Abs(a.Insertion.Scores[k] - b.Insertion.Scores[k]); d > 1e-6 {
			t.Errorf("insertion step %d: batch 1 gives %v, default batch %v", k, a.Insertion.Scores[k], b.Insertion.Scores[k])
		}
	}
	p := s.Predictions(1)[0].Prob
	if math.Abs(a.Deletion.Scores[0]-float64(p)) > 1e-5 {
		t.Errorf("deletion starts at %v, the session's probability is %v", a.Deletion.Scores[0], p)
	}
}

func TestBadInput(t *testing.T) {
	m := newQuadrant(t)
	x, _ := quadrantImage(rand.New(rand.NewPCG(5, 6)))
	s := session(t, m, x)
	good := RandomMap(quadSide, quadSide, 1)
	nan := append([]float32(nil), good...)
	nan[77] = float32(math.NaN())
	ctx := context.Background()
	cases := []struct {
		name string
		run  func() error
	}{
		{"short map", func() error { _, err := DeletionInsertion(ctx, s, good[:10], 0, Options{}); return err }},
		{"NaN map", func() error { _, err := DeletionInsertion(ctx, s, nan, 0, Options{}); return err }},
		{"class 2", func() error { _, err := DeletionInsertion(ctx, s, good, 2, Options{}); return err }},
		{"class -2", func() error { _, err := DeletionInsertion(ctx, s, good, -2, Options{}); return err }},
		{"steps > pixels", func() error { _, err := DeletionInsertion(ctx, s, good, 0, Options{Steps: 5000}); return err }},
		{"negative steps", func() error { _, err := DeletionInsertion(ctx, s, good, 0, Options{Steps: -1}); return err }},
		{"negative batch", func() error { _, err := DeletionInsertion(ctx, s, good, 0, Options{Batch: -1}); return err }},
		{"nil session", func() error { _, err := DeletionInsertion(ctx, nil, good, 0, Options{}); return err }},
		{"keep 0", func() error { _, err := ConfidenceKeepTop(ctx, s, good, 0, []float64{0}, Options{}); return err }},
		{"keep 1.5", func() error { _, err := ConfidenceKeepTop(ctx, s, good, 0, []float64{1.5}, Options{}); return err }},
		{"ROAD fraction 1", func() error { _, err := ROADMetric(ctx, s, good, 0, []float64{1}, Options{}); return err }},
		{"ROAD no fractions", func() error { _, err := ROADMetric(ctx, s, good, 0, []float64{}, Options{}); return err }},
		{"CAM-mult short map", func() error { _, err := ConfidenceCAMMult(ctx, s, good[1:], 0, Options{}); return err }},
	}
	for _, c := range cases {
		if err := c.run(); err == nil {
			t.Errorf("%s: no error", c.name)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
}

func TestCancel(t *testing.T) {
	m := newQuadrant(t)
	x, _ := quadrantImage(rand.New(rand.NewPCG(5, 6)))
	s := session(t, m, x)
	ctx, cancel := context.WithCancel(context.Background())
	mp := RandomMap(quadSide, quadSide, 1)
	_, err := DeletionInsertion(ctx, s, mp, 0, Options{Batch: 4, Progress: func(done, total int) {
		if done >= 8 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	_, err = ROADMetric(ctx, s, mp, 0, nil, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ROAD error %v, want context.Canceled", err)
	}
}

func TestRank(t *testing.T) {
	m := []float32{0.5, 1, 0, 0, 0, 0.5, 2, 0, 0, 0}
	a, b := Rank(m, 1), Rank(m, 1)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different ranking")
		}
	}
	if a[0] != 6 || a[1] != 1 || !(a[2] == 0 && a[3] == 5 || a[2] == 5 && a[3] == 0) {
		t.Fatalf("ranking %v: want 6, 1, then 0 and 5", a)
	}
	differ := false
	for seed := uint64(2); seed < 10 && !differ; seed++ {
		c := Rank(m, seed)
		for i := 4; i < len(c); i++ {
			differ = differ || c[i] != a[i]
		}
	}
	if !differ {
		t.Error("ties among the zeros are ordered the same for 9 seeds; want a seeded permutation")
	}
}

func TestAUC(t *testing.T) {
	// RISE: (Σy − y₀/2 − yₙ/2)/n on an even grid.
	y := []float64{1, 0.8, 0.3, 0.1, 0}
	x := []float64{0, 0.25, 0.5, 0.75, 1}
	want := (1 + 0.8 + 0.3 + 0.1 + 0 - 0.5 - 0) / 4
	if got := AUC(x, y); math.Abs(got-want) > 1e-12 {
		t.Fatalf("AUC %v, want %v", got, want)
	}
}

func TestPointingGameAndIoU(t *testing.T) {
	box := image.Rect(10, 20, 30, 40) // pixels x 10..29, y 20..39
	pts := []struct {
		p   image.Point
		tol int
		hit bool
	}{
		{image.Pt(10, 20), 0, true}, {image.Pt(29, 39), 0, true}, {image.Pt(30, 39), 0, false},
		{image.Pt(29, 40), 0, false}, {image.Pt(9, 25), 0, false}, {image.Pt(9, 25), 1, true},
		{image.Pt(32, 42), 4, false}, {image.Pt(32, 41), 4, true}, // distance √(3²+3²) ≈ 4.2 vs √(3²+2²) ≈ 3.6
		{image.Pt(0, 0), 15, false},
	}
	for _, c := range pts {
		if got := PointingGame(c.p, box, c.tol); got != c.hit {
			t.Errorf("PointingGame(%v, %v, %d) = %v", c.p, box, c.tol, got)
		}
	}
	if PointingGame(image.Pt(0, 0), image.Rectangle{}, 100) {
		t.Error("an empty box was hit")
	}
	ious := []struct {
		a, b image.Rectangle
		want float64
	}{
		{image.Rect(0, 0, 10, 10), image.Rect(5, 5, 15, 15), 25.0 / 175},
		{image.Rect(0, 0, 10, 10), image.Rect(0, 0, 5, 10), 0.5},
		{image.Rect(0, 0, 10, 10), image.Rect(0, 0, 10, 10), 1},
		{image.Rect(0, 0, 10, 10), image.Rect(10, 0, 20, 10), 0},
		{image.Rect(0, 0, 10, 10), image.Rectangle{}, 0},
		{image.Rect(2, 3, 8, 9), image.Rect(0, 0, 100, 100), 36.0 / 10000},
	}
	for _, c := range ious {
		if got := IoU(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("IoU(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := IoU(c.b, c.a); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("IoU(%v, %v) = %v, want %v (symmetry)", c.b, c.a, got, c.want)
		}
	}
}

func TestBaselines(t *testing.T) {
	w, h := 96, 80
	c := CenterMap(w, h)
	if b := cam.Box(c, w, h); b != image.Rect(24, 20, 72, 60) {
		t.Errorf("centre map box %v, want the central half (24,20)-(72,60)", b)
	}
	if p := cam.Peak(c, w, h); p != image.Pt(47, 39) {
		t.Errorf("centre map peak %v", p)
	}
	r1, r2, r3 := RandomMap(w, h, 1), RandomMap(w, h, 1), RandomMap(w, h, 2)
	sum := 0.0
	for i := range r1 {
		if r1[i] != r2[i] {
			t.Fatal("random map not reproducible")
		}
		if r1[i] < 0 || r1[i] >= 1 {
			t.Fatalf("random value %v outside [0, 1)", r1[i])
		}
		sum += float64(r1[i])
	}
	if mean := sum / float64(len(r1)); math.Abs(mean-0.5) > 0.02 {
		t.Errorf("random map mean %v", mean)
	}
	if rho := Spearman(r1, r3); math.Abs(rho) > 0.05 {
		t.Errorf("two random maps have rank correlation %v", rho)
	}
}

func TestFill(t *testing.T) {
	m := newQuadrant(t)
	x, _ := quadrantImage(rand.New(rand.NewPCG(7, 8)))
	s := session(t, m, x)
	res, err := s.Explain(context.Background(), cam.Request{Class: 0})
	if err != nil {
		t.Fatal(err)
	}
	// Filling removed pixels with 1 (the blob's value) keeps the class:
	// the quadrant stays bright.
	c, err := DeletionInsertion(context.Background(), s, res.Map, 0, Options{Steps: 8, Fill: []float32{1}})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.Deletion.Scores {
		if v < 0.99 {
			t.Errorf("deletion step %d with fill 1: p = %v, want about 1", k, v)
		}
	}
	kt, err := ConfidenceKeepTop(context.Background(), s, res.Map, 0, []float64{0.01}, Options{Fill: []float32{1}})
	if err != nil {
		t.Fatal(err)
	}
	if kt[0].After < 0.99 {
		t.Errorf("keep-top with fill 1: p = %v, want about 1", kt[0].After)
	}
	// Blending towards 1 with a map of zeros gives an all-bright image:
	// the quadrant is full, the class stays; towards 0 it is black: gone.
	zero := make([]float32, quadSide*quadSide)
	for _, c := range []struct {
		fill []float32
		want float64
	}{{[]float32{1}, 1}, {nil, 0}} {
		cm, err := ConfidenceCAMMult(context.Background(), s, zero, 0, Options{Fill: c.fill})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(cm.After-c.want) > 0.01 {
			t.Errorf("CAM-mult with fill %v and a zero map: p = %v, want %v", c.fill, cm.After, c.want)
		}
	}
	if _, err := DeletionInsertion(context.Background(), s, res.Map, 0, Options{Fill: []float32{0, 0}}); err == nil {
		t.Error("two fill values for one channel: no error")
	}
}

func TestBoxThreshold(t *testing.T) {
	// Two bumps: a strong one (1.0) with a 0.4 shoulder, and a weak one
	// (0.3) of 30 pixels, larger than the strong core (9 pixels).
	w, h := 20, 10
	m := make([]float32, w*h)
	set := func(r image.Rectangle, v float32) {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				m[y*w+x] = v
			}
		}
	}
	set(image.Rect(0, 0, 8, 8), 0.4)
	set(image.Rect(2, 2, 5, 5), 1)
	set(image.Rect(12, 2, 18, 7), 0.3)
	for _, c := range []struct {
		th   float64
		want image.Rectangle
	}{
		{0.15, image.Rect(0, 0, 8, 8)}, // the shoulder joins the core: 64 pixels
		{0.3, image.Rect(0, 0, 8, 8)},
		{0.35, image.Rect(0, 0, 8, 8)},
		{0.5, image.Rect(2, 2, 5, 5)}, // only the core
		{1, image.Rect(2, 2, 5, 5)},
	} {
		got, err := Box(m, w, h, c.th)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("threshold %v: box %v, want %v", c.th, got, c.want)
		}
	}
	if b, _ := Box(m, w, h, 0.15); b != cam.Box(m, w, h) {
		t.Error("threshold 0.15 differs from cam.Box")
	}
	for _, th := range []float64{0.1, 1.5, math.NaN()} {
		if _, err := Box(m, w, h, th); err == nil {
			t.Errorf("threshold %v: no error", th)
		}
	}
}
