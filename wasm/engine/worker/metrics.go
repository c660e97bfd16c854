package worker

import (
	"context"

	"github.com/camlens/camlens/core/metrics"
)

// RandomSeed draws the random baseline map of the metrics request
// (metrics.RandomMap); the ranking's tie-breaking uses metrics.Options'
// default seed (0).
const RandomSeed = 1

// metricsOptions are the options of the metrics request: core/metrics'
// defaults (DefaultSteps steps, zeros as the deletion fill) with the
// engine's kernels.
func (s *state) metricsOptions() metrics.Options {
	return metrics.Options{Kernels: s.kernels}
}

// metrics computes RISE's deletion and insertion curves (metrics.
// DeletionInsertion) of the explanation r asks for, and of a random map
// of the same size, for the class explained. The explanation is
// recomputed on the session (cached for the gradient methods) so that the
// curves belong to exactly the map the page shows for these settings.
// explainProgress reports the explanation's progress (slow methods),
// progress the 4·(Steps+1) scored images.
func (s *state) metrics(ctx context.Context, r *Request, explainProgress, progress func(done, total int)) (Fields, error) {
	if s.sess == nil {
		return nil, stateErr("nothing to check: load a model and an image, then predict")
	}
	res, err := s.runExplain(ctx, r, explainProgress)
	if err != nil {
		return nil, err
	}
	opt := s.metricsOptions()
	steps := opt.Steps
	if steps == 0 {
		steps = metrics.DefaultSteps
	}
	per := 2 * (steps + 1) // images scored by one DeletionInsertion call
	offset := 0
	opt.Progress = func(done, _ int) { progress(offset+done, 2*per) }
	progress(0, 2*per)
	mc, err := metrics.DeletionInsertion(ctx, s.sess, res.Map, res.Class, opt)
	if err != nil {
		return nil, requestErr(err)
	}
	offset = per
	rnd := metrics.RandomMap(res.W, res.H, RandomSeed)
	rc, err := metrics.DeletionInsertion(ctx, s.sess, rnd, res.Class, opt)
	if err != nil {
		return nil, requestErr(err)
	}
	return Fields{
		"method": res.Method, "class": res.Class, "label": res.Label, "layers": append([]string{}, res.Layers...),
		"target": res.Target, "counterfactual": res.Counterfactual, "steps": steps, "randomSeed": RandomSeed,
		"map":    curvesFields(mc),
		"random": curvesFields(rc),
	}, nil
}

func curvesFields(c *metrics.Curves) Fields {
	return Fields{"deletion": curveFields(c.Deletion), "insertion": curveFields(c.Insertion)}
}

func curveFields(c metrics.Curve) Fields {
	return Fields{
		"fractions": append([]float64(nil), c.Fractions...),
		"scores":    append([]float64(nil), c.Scores...),
		"auc":       c.AUC,
	}
}
