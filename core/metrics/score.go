package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// Options configure the perturbation metrics. The zero value uses the
// defaults.
type Options struct {
	// Steps is the number of deletion/insertion steps; a curve has Steps+1
	// points. 0 means DefaultSteps. At most the number of pixels.
	Steps int
	// Batch caps the images of one forward pass; 0 means MaxBatch. The
	// batch is also kept small enough that its activations fit
	// BatchBudget.
	Batch int
	// Fill is the value, per input channel and in the units of the input
	// tensor, that deletion and ConfidenceKeepTop put in place of a removed
	// pixel; nil means 0 (RISE's zeros: the dataset mean of a normalised
	// input). For black, pass (0 − mean)/std of each channel.
	Fill []float32
	// Seed draws the tie-breaking permutation of the ranking and the ROAD
	// imputation noise.
	Seed uint64
	// Kernels run the forward passes (nil: the pure-Go kernels).
	Kernels nn.Kernels
	// Progress, if set, is called after each batch with the images scored
	// so far and the total of the call.
	Progress func(done, total int)
}

const (
	// DefaultSteps is the default number of deletion/insertion steps.
	DefaultSteps = 50
	// MaxBatch is the default cap on the images of one forward pass.
	MaxBatch = 32
	// BatchBudget bounds the activations one batch keeps (float32 values,
	// 32 MiB).
	BatchBudget = 8 << 20
)

// scorer runs batches of perturbed inputs through a session's network and
// returns the softmax probability of one class for each.
type scorer struct {
	ctx      context.Context
	fill     []float32 // per channel; zeros when Options.Fill is nil
	g        *nn.Graph
	nctx     nn.Context
	a        *nn.Activations
	class    int
	c, h, w  int
	batch    int
	progress func(done, total int)
	done     int
	total    int
}

// newScorer checks the session, class and map and returns a scorer for
// total images.
func newScorer(ctx context.Context, s *cam.Session, m []float32, class int, opt Options, total int) (*scorer, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if s == nil {
		return nil, errors.New("metrics: nil session")
	}
	x := s.Input()
	c, h, w := x.Shape[1], x.Shape[2], x.Shape[3]
	if m != nil {
		if err := checkMap(m, w, h); err != nil {
			return nil, err
		}
	}
	k := s.Model().NumClasses()
	if class < 0 || class >= k {
		return nil, fmt.Errorf("metrics: class %d out of range [0, %d)", class, k)
	}
	if opt.Batch < 0 {
		return nil, fmt.Errorf("metrics: batch %d is negative", opt.Batch)
	}
	if opt.Fill != nil {
		if len(opt.Fill) != c {
			return nil, fmt.Errorf("metrics: %d fill values for %d input channels", len(opt.Fill), c)
		}
		for i, v := range opt.Fill {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("metrics: fill value %d is %v", i, v)
			}
		}
	}
	g := s.Model().Graph()
	sc := &scorer{ctx: ctx, g: g, class: class, c: c, h: h, w: w, progress: opt.Progress, total: total}
	sc.nctx.Kernels = opt.Kernels
	sc.fill = make([]float32, c)
	copy(sc.fill, opt.Fill)
	per := c * h * w
	for _, n := range g.Nodes {
		if !n.Const {
			e, _ := tensor.NumElements(n.Shape)
			per += e
		}
	}
	limit := opt.Batch
	if limit == 0 {
		limit = MaxBatch
	}
	sc.batch = max(1, min(limit, BatchBudget/max(per, 1)))
	return sc, nil
}

// checkMap checks that m is a finite w×h map.
func checkMap(m []float32, w, h int) error {
	if len(m) != w*h {
		return fmt.Errorf("metrics: map has %d values, the input is %d×%d (%d)", len(m), w, h, w*h)
	}
	for i, v := range m {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("metrics: map value %d (x %d, y %d) is %v", i, i%w, i/w, v)
		}
	}
	return nil
}

// scores fills n images with fill (dst is one C×H×W image, zeroed) and
// returns the class probability of each.
func (sc *scorer) scores(n int, fill func(i int, dst []float32) error) ([]float64, error) {
	per := sc.c * sc.h * sc.w
	out := make([]float64, n)
	var batch *tensor.Tensor
	for b0 := 0; b0 < n; b0 += sc.batch {
		if err := sc.ctx.Err(); err != nil {
			return nil, fmt.Errorf("metrics: cancelled after %d of %d images: %w", sc.done, sc.total, err)
		}
		nb := min(sc.batch, n-b0)
		if batch == nil || batch.Shape[0] != nb {
			var err error
			if batch, err = tensor.Zeros([]int{nb, sc.c, sc.h, sc.w}); err != nil {
				return nil, fmt.Errorf("metrics: batch: %w", err)
			}
		} else {
			batch.Zero()
		}
		for i := range nb {
			if err := fill(b0+i, batch.Data[i*per:(i+1)*per]); err != nil {
				return nil, err
			}
		}
		if err := batch.CheckFinite(); err != nil {
			return nil, fmt.Errorf("metrics: perturbed input: %w", err)
		}
		if sc.a == nil {
			sc.a = &nn.Activations{Graph: sc.g, Out: make([]*tensor.Tensor, len(sc.g.Nodes))}
		}
		sc.a.Input = batch
		if err := sc.g.Resume(&sc.nctx, sc.a, 0, sc.g.Output); err != nil {
			return nil, fmt.Errorf("metrics: forward pass: %w", err)
		}
		logits := sc.a.Output()
		k := logits.Shape[1]
		for i := range nb {
			p := nn.SoftmaxRow(logits.Data[i*k : (i+1)*k])
			if math.IsNaN(p[sc.class]) {
				return nil, fmt.Errorf("metrics: the network output of perturbed image %d is not finite", b0+i)
			}
			out[b0+i] = p[sc.class]
		}
		sc.done += nb
		if sc.progress != nil {
			sc.progress(sc.done, sc.total)
		}
	}
	return out, nil
}

// topClass returns the session's top class.
func topClass(s *cam.Session) int { return s.Predictions(1)[0].Class }

// Rank returns the pixel indices of a map in decreasing order of value;
// equal values are ordered by a pseudo-random permutation drawn from seed.
func Rank(m []float32, seed uint64) []int {
	n := len(m)
	key := rand.New(rand.NewPCG(seed, 0x72616e6b)).Perm(n)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		va, vb := m[idx[a]], m[idx[b]]
		if va != vb {
			return va > vb
		}
		return key[idx[a]] < key[idx[b]]
	})
	return idx
}

// AUC is the trapezoidal area under (x, y), x increasing. With x evenly
// spaced over [0, 1] it is RISE's auc: (Σy − y₀/2 − yₙ/2)/n.
func AUC(x, y []float64) float64 {
	a := 0.0
	for i := 1; i < len(x) && i < len(y); i++ {
		a += (x[i] - x[i-1]) * (y[i] + y[i-1]) / 2
	}
	return a
}
