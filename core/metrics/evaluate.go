package metrics

import (
	"context"
	"image"

	"github.com/camlens/camlens/core/cam"
)

// EvalOptions configure Evaluate.
type EvalOptions struct {
	Options
	// GroundTruth is the object's box in input pixels, if known (empty:
	// unknown): Evaluate then plays the pointing game and measures the IoU
	// of the map's box with it.
	GroundTruth image.Rectangle
	// Tolerance is the pointing game's tolerance in pixels.
	Tolerance int
	// BoxThreshold is the fraction of the map's maximum for Report.Box
	// (see Box); 0 means cam.BoxThreshold, the Grad-CAM paper's 15 %.
	BoxThreshold float64
	// Confidence adds ConfidenceKeepTop (DefaultKeep) and
	// ConfidenceCAMMult: 5 forward passes.
	Confidence bool
	// ROAD adds ROADMetric (DefaultROADFractions): 19 forward passes and
	// 18 sparse solves per channel, the slowest part.
	ROAD bool
}

// Report holds every metric of one map.
type Report struct {
	Class int `json:"class"`
	// Peak and Box are the map's argmax and localisation box (cam.Peak,
	// Box at EvalOptions.BoxThreshold).
	Peak image.Point     `json:"peak"`
	Box  image.Rectangle `json:"box"`
	// Deletion and Insertion are RISE's curves.
	Deletion  Curve `json:"deletion"`
	Insertion Curve `json:"insertion"`
	// Pointing and IoU are set when a ground-truth box was given.
	Pointing *bool    `json:"pointing,omitempty"`
	IoU      *float64 `json:"iou,omitempty"`
	// KeepTop and CAMMult are set with EvalOptions.Confidence.
	KeepTop []Confidence `json:"keep_top,omitempty"`
	CAMMult *Confidence  `json:"cam_mult,omitempty"`
	// ROAD is set with EvalOptions.ROAD.
	ROAD *ROAD `json:"road,omitempty"`
}

// Evaluate measures map m (H×W, the session's input size) of class (-1:
// the top class) on session s: the deletion and insertion curves, the map's
// peak and box, and, as opt asks, the pointing game and box IoU, the
// confidence changes and ROAD. Cost: 2·(Steps+1) forward passes, plus 5
// with Confidence and 19 with ROAD.
func Evaluate(ctx context.Context, s *cam.Session, m []float32, class int, opt EvalOptions) (*Report, error) {
	if s != nil && class == -1 {
		class = topClass(s)
	}
	// One progress count over all the parts.
	steps := opt.Steps
	if steps == 0 {
		steps = DefaultSteps
	}
	total, offset := 2*(steps+1), 0
	if opt.Confidence {
		total += len(DefaultKeep) + 1 + 2
	}
	if opt.ROAD {
		total += 2*len(DefaultROADFractions) + 1
	}
	if p := opt.Progress; p != nil {
		opt.Progress = func(done, _ int) { p(offset+done, total) }
	}
	c, err := DeletionInsertion(ctx, s, m, class, opt.Options)
	if err != nil {
		return nil, err
	}
	w, h := s.Input().Shape[3], s.Input().Shape[2]
	th := opt.BoxThreshold
	if th == 0 {
		th = cam.BoxThreshold
	}
	box, err := Box(m, w, h, th)
	if err != nil {
		return nil, err
	}
	r := &Report{Class: class, Peak: cam.Peak(m, w, h), Box: box, Deletion: c.Deletion, Insertion: c.Insertion}
	if !opt.GroundTruth.Empty() {
		hit := PointingGame(r.Peak, opt.GroundTruth, opt.Tolerance)
		iou := IoU(r.Box, opt.GroundTruth)
		r.Pointing, r.IoU = &hit, &iou
	}
	offset += 2 * (steps + 1)
	if opt.Confidence {
		if r.KeepTop, err = ConfidenceKeepTop(ctx, s, m, class, nil, opt.Options); err != nil {
			return nil, err
		}
		offset += len(DefaultKeep) + 1
		cm, err := ConfidenceCAMMult(ctx, s, m, class, opt.Options)
		if err != nil {
			return nil, err
		}
		r.CAMMult = &cm
		offset += 2
	}
	if opt.ROAD {
		if r.ROAD, err = ROADMetric(ctx, s, m, class, nil, opt.Options); err != nil {
			return nil, err
		}
	}
	return r, nil
}
