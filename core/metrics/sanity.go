package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/camlens/camlens/core/cam"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// Explainer computes the map (H×W at the input size) of class on a
// session.
type Explainer func(ctx context.Context, s *cam.Session, class int) ([]float32, error)

// CAMExplainer explains with r (its Class replaced by the class asked for).
func CAMExplainer(r cam.Request) Explainer {
	return func(ctx context.Context, s *cam.Session, class int) ([]float32, error) {
		r.Class = class
		res, err := s.Explain(ctx, r)
		if err != nil {
			return nil, err
		}
		return res.Map, nil
	}
}

// SanityStep is one step of the cascading randomisation.
type SanityStep struct {
	// Layer is the learned layer randomised at this step; it and every
	// learned layer after it in the graph are random.
	Layer string `json:"layer"`
	// Spearman is the rank correlation of the map with the original one:
	// near 1 means the map did not change.
	Spearman float64 `json:"spearman"`
	// Map is the map of the randomised model.
	Map []float32 `json:"-"`
}

// Sanity is the result of SanityCheck.
type Sanity struct {
	Class    int          `json:"class"`
	Original []float32    `json:"-"`
	Steps    []SanityStep `json:"steps"`
}

// SanityOptions configure SanityCheck.
type SanityOptions struct {
	// Seed draws the random weights.
	Seed uint64
	// Layers stops the cascade after this many learned layers (0: all).
	Layers int
	// Progress, if set, is called after each step.
	Progress func(done, total int)
}

// learnedOps are the ops whose parameters SanityCheck randomises, and the
// parameters it draws anew (batchnorm keeps its running statistics, which
// must stay valid; const values and PReLU slopes are kept).
var learnedOps = map[string][]string{
	"conv2d":    {"weight", "bias"},
	"dense":     {"weight", "bias"},
	"batchnorm": {"scale", "bias"},
}

// SanityCheck is Adebayo et al.'s cascading model-parameter randomisation
// test. It explains class (-1: the top class of the original model) on
// input x with explain, then re-draws the learned layers of m one at a
// time from the output down (each parameter tensor replaced by Gaussian
// values with the same root mean square, so activations keep their
// scale; an all-zero tensor stays zero) and explains the same class again after each, reporting the
// Spearman rank correlation with the original map. m is not modified.
// Cost per step: building the model, one forward pass and the method's
// own cost.
func SanityCheck(ctx context.Context, m *modelfile.Model, x *tensor.Tensor, class int, explain Explainer, opt SanityOptions) (*Sanity, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if m == nil || x == nil || explain == nil {
		return nil, errors.New("metrics: sanity check: nil model, input or explainer")
	}
	if opt.Layers < 0 {
		return nil, fmt.Errorf("metrics: sanity check: %d layers", opt.Layers)
	}
	orig, err := cam.NewModel(m)
	if err != nil {
		return nil, fmt.Errorf("metrics: sanity check: %w", err)
	}
	s, err := orig.NewSession(x)
	if err != nil {
		return nil, fmt.Errorf("metrics: sanity check: %w", err)
	}
	if class == -1 {
		class = topClass(s)
	}
	base, err := explain(ctx, s, class)
	if err != nil {
		return nil, fmt.Errorf("metrics: sanity check: original model: %w", err)
	}
	res := &Sanity{Class: class, Original: base}
	var layers []nn.NodeSpec
	nodes := m.Graph.Nodes
	for i := len(nodes) - 1; i >= 0; i-- {
		for _, p := range learnedOps[nodes[i].Op] {
			if m.Weights[nodes[i].Name+"."+p] != nil {
				layers = append(layers, nodes[i])
				break
			}
		}
	}
	if len(layers) == 0 {
		return nil, errors.New("metrics: sanity check: the model has no learned layer (conv2d, dense, batchnorm)")
	}
	if opt.Layers > 0 && opt.Layers < len(layers) {
		layers = layers[:opt.Layers]
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x73616e697479))
	weights := make(map[string]*tensor.Tensor, len(m.Weights))
	for k, v := range m.Weights {
		weights[k] = v
	}
	for step, node := range layers {
		name := node.Name
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("metrics: sanity check cancelled after %d of %d layers: %w", step, len(layers), err)
		}
		for _, p := range learnedOps[node.Op] {
			key := name + "." + p
			if t := weights[key]; t != nil {
				weights[key] = randomLike(t, rng)
			}
		}
		rm := &modelfile.Model{Meta: m.Meta, Graph: m.Graph, Weights: make(map[string]*tensor.Tensor, len(weights))}
		for k, v := range weights {
			rm.Weights[k] = v
		}
		cm, err := cam.NewModel(rm)
		if err != nil {
			return nil, fmt.Errorf("metrics: sanity check: randomised %q: %w", name, err)
		}
		rs, err := cm.NewSession(x)
		if err != nil {
			return nil, fmt.Errorf("metrics: sanity check: randomised %q: %w", name, err)
		}
		mp, err := explain(ctx, rs, class)
		if err != nil {
			return nil, fmt.Errorf("metrics: sanity check: randomised %q: %w", name, err)
		}
		if len(mp) != len(base) {
			return nil, fmt.Errorf("metrics: sanity check: randomised %q: map has %d values, the original %d", name, len(mp), len(base))
		}
		res.Steps = append(res.Steps, SanityStep{Layer: name, Spearman: Spearman(base, mp), Map: mp})
		if opt.Progress != nil {
			opt.Progress(step+1, len(layers))
		}
	}
	return res, nil
}

// randomLike returns a tensor of t's shape with Gaussian values of t's
// root mean square (all zeros stay zeros).
func randomLike(t *tensor.Tensor, rng *rand.Rand) *tensor.Tensor {
	ss := 0.0
	for _, v := range t.Data {
		ss += float64(v) * float64(v)
	}
	sd := 0.0
	if len(t.Data) > 0 {
		sd = math.Sqrt(ss / float64(len(t.Data)))
	}
	out := &tensor.Tensor{Shape: append([]int(nil), t.Shape...), Data: make([]float32, len(t.Data))}
	for i := range out.Data {
		out.Data[i] = float32(sd * rng.NormFloat64())
	}
	return out
}
