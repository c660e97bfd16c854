package metrics

import (
	"math"
	"math/rand/v2"

	"github.com/camlens/camlens/core/cam"
)

// RandomMap is the random baseline: w×h values drawn uniformly from
// [0, 1), independently per pixel, from seed.
func RandomMap(w, h int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x72616e646f6d))
	m := make([]float32, w*h)
	for i := range m {
		m[i] = rng.Float32()
	}
	return m
}

// CenterMap is the centre-bias baseline: a Gaussian centred on the image,
// with its standard deviations chosen so that its localisation box (the
// 15 % threshold of cam.Box) is the central half of the image in each
// direction. Values are in (0, 1].
func CenterMap(w, h int) []float32 {
	// exp(−r²/2σ²) = 0.15 at r = side/4.
	k := math.Sqrt(2 * math.Log(1/cam.BoxThreshold))
	sx, sy := float64(w)/4/k, float64(h)/4/k
	cx, cy := float64(w-1)/2, float64(h-1)/2
	m := make([]float32, w*h)
	for y := range h {
		for x := range w {
			dx, dy := (float64(x)-cx)/sx, (float64(y)-cy)/sy
			m[y*w+x] = float32(math.Exp(-(dx*dx + dy*dy) / 2))
		}
	}
	return m
}
