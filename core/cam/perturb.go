package cam

// The gradient-free methods that perturb the network: Score-CAM masks the
// input with each upsampled channel and runs the whole network; Ablation-CAM
// replaces one channel of the target layer and runs the network from there
// up. Both depend on the class only through the target's value on the
// perturbed outputs, so the outputs are computed once per layer and cached.

import (
	"fmt"
	"time"

	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

const (
	// ablationBatch is pytorch-grad-cam's AblationCAM batch size. It
	// changes the numerics (the ablation value depends on the position in
	// the batch, see ablationOutputs), so it is kept exactly; the physical
	// batch is chosen by batchSize independently.
	ablationBatch = 32
	// scoreCAMBatch is the library's Score-CAM batch size; batching does
	// not change Score-CAM's numerics, so it only caps the physical batch.
	scoreCAMBatch = 16
	// batchBudget bounds the activations one perturbed batch keeps
	// (float32 values, 32 MiB).
	batchBudget = 8 << 20
	// ablationValue is the library's ABLATION_VALUE.
	ablationValue = 1e7
	scoreCAMEps   = 1e-8
)

// scoreCAMWeights (Score-CAM, Wang et al. 2020, as pytorch-grad-cam): each
// channel k of A is upsampled to the input size (bilinear, align_corners),
// min-max normalised (eps 1e-8) and multiplied into the input; the weights
// are the softmax over channels of the target's value on those inputs.
func (j *job) scoreCAMWeights(li int, l *layerData) ([]float32, error) {
	outs, err := j.perturbedOutputs("scorecam", li, l, j.scoreCAMOutputs)
	if err != nil {
		return nil, err
	}
	scores, err := j.values(outs)
	if err != nil {
		return nil, err
	}
	return softmax32(scores), nil
}

// ablationCAMWeights (Ablation-CAM, Desai & Ramaswamy 2020, as
// pytorch-grad-cam): w_k = (y − y_k)/y with y the target's value and y_k
// its value with channel k ablated (float32 arithmetic, like the library).
func (j *job) ablationCAMWeights(li int, l *layerData) ([]float32, error) {
	outs, err := j.perturbedOutputs("ablationcam", li, l, j.ablationOutputs)
	if err != nil {
		return nil, err
	}
	yk, err := j.values(outs)
	if err != nil {
		return nil, err
	}
	y0, err := j.target.Value(j.s.act.Output())
	if err != nil {
		return nil, fmt.Errorf("cam: target: %w", err)
	}
	y := float32(y0)
	if y == 0 {
		return nil, fmt.Errorf("cam: ablationcam: the target's value is 0 for class %d, so its weights (y − y_k)/y are undefined; use another method or class", j.class)
	}
	w := make([]float32, len(yk))
	for k, v := range yk {
		w[k] = (y - float32(v)) / y
	}
	return w, nil
}

// values applies the job's target to each row of a C×K output.
func (j *job) values(outs *tensor.Tensor) ([]float64, error) {
	c, k := outs.Shape[0], outs.Shape[1]
	v := make([]float64, c)
	for i := range c {
		row := &tensor.Tensor{Shape: []int{1, k}, Data: outs.Data[i*k : (i+1)*k]}
		x, err := j.target.Value(row)
		if err != nil {
			return nil, fmt.Errorf("cam: target: %w", err)
		}
		v[i] = float64(float32(x))
	}
	return v, nil
}

// perturbedOutputs returns the cached C×K outputs of method at node li, or
// computes them with run.
func (j *job) perturbedOutputs(method string, li int, l *layerData, run func(li int, l *layerData) (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	key := outKey{method: method, node: li}
	if o, ok := j.s.outs[key]; ok {
		return o, nil
	}
	t0 := time.Now()
	o, err := run(li, l)
	j.res.Timings.Forward += time.Since(t0)
	if err != nil {
		return nil, err
	}
	j.s.outs[key] = o
	return o, nil
}

// batchSize picks how many perturbed items run at once: at most limit, and
// few enough that the activations of nodes from..output fit batchBudget.
func (j *job) batchSize(from, limit int) int {
	g := j.s.model.graph
	per := 0
	for i := max(from, 0); i <= g.Output; i++ {
		n, _ := tensor.NumElements(g.Nodes[i].Shape)
		per += n
	}
	if from <= 0 {
		n, _ := tensor.NumElements(g.InputShape())
		per += n
	}
	return max(1, min(limit, batchBudget/max(per, 1)))
}

// scoreCAMOutputs runs the network on the input masked by each channel.
func (j *job) scoreCAMOutputs(_ int, l *layerData) (*tensor.Tensor, error) {
	s := j.s
	g := s.model.graph
	x := s.input
	cin, H, W := x.Shape[1], x.Shape[2], x.Shape[3]
	k := s.model.NumClasses()
	outs := tensor.New(l.C, k)
	bs := j.batchSize(0, scoreCAMBatch)
	var a *nn.Activations
	for b0 := 0; b0 < l.C; b0 += bs {
		if err := j.ctx.Err(); err != nil {
			return nil, fmt.Errorf("cam: scorecam cancelled after %d of %d channels: %w", b0, l.C, err)
		}
		n := min(bs, l.C-b0)
		batch, err := tensor.Zeros([]int{n, cin, H, W})
		if err != nil {
			return nil, fmt.Errorf("cam: scorecam batch: %w", err)
		}
		for i := range n {
			ch := b0 + i
			up := imaging.ResizePlane(l.A[ch*l.H*l.W:(ch+1)*l.H*l.W], l.W, l.H, W, H, imaging.ResizeAlignCorners)
			lo, hi := up[0], up[0]
			for _, v := range up {
				lo, hi = min(lo, v), max(hi, v)
			}
			d := hi - lo + scoreCAMEps
			for p, v := range up {
				up[p] = (v - lo) / d
			}
			dst := batch.Data[i*cin*H*W : (i+1)*cin*H*W]
			for c := range cin {
				src := x.Data[c*H*W : (c+1)*H*W]
				for p, m := range up {
					dst[c*H*W+p] = src[p] * m
				}
			}
		}
		if a == nil || a.Input.Shape[0] != n {
			a = &nn.Activations{Graph: g, Out: make([]*tensor.Tensor, len(g.Nodes))}
		}
		a.Input = batch
		if err := g.Resume(&s.nctx, a, 0, g.Output); err != nil {
			return nil, fmt.Errorf("cam: scorecam forward pass: %w", err)
		}
		copy(outs.Data[b0*k:(b0+n)*k], a.Output().Data)
		s.perturbed += n
		if j.req.Progress != nil {
			j.req.Progress(b0+n, l.C)
		}
	}
	return outs, nil
}

// ablationOutputs runs the network from node li+1 up with each channel of
// li's output ablated. Like pytorch-grad-cam's AblationLayer: when the
// layer's minimum m is 0 the channel is set to 0; otherwise item i of each
// batch of 32 gets m − (i+1)·1e7, computed as i+1 successive float32
// subtractions (the library takes the minimum of the batch after each
// item's ablation).
func (j *job) ablationOutputs(li int, l *layerData) (*tensor.Tensor, error) {
	s := j.s
	g := s.model.graph
	k := s.model.NumClasses()
	m0 := l.A[0]
	for _, v := range l.A {
		m0 = min(m0, v)
	}
	values := make([]float32, ablationBatch)
	v := m0
	for i := range values {
		if m0 != 0 {
			v -= ablationValue
			values[i] = v
		}
	}
	// The nodes below li that nodes above it read (skip connections) must
	// have the batch size too.
	needed := map[int]bool{}
	for i := li + 1; i <= g.Output; i++ {
		for _, in := range g.Nodes[i].In {
			if in < li {
				needed[in] = true
			}
		}
	}
	outs := tensor.New(l.C, k)
	bs := j.batchSize(li, ablationBatch)
	per := l.C * l.H * l.W
	var a *nn.Activations
	for b0 := 0; b0 < l.C; b0 += bs {
		if err := j.ctx.Err(); err != nil {
			return nil, fmt.Errorf("cam: ablationcam cancelled after %d of %d channels: %w", b0, l.C, err)
		}
		n := min(bs, l.C-b0)
		if a == nil || a.Out[li].Shape[0] != n {
			var err error
			if a, err = j.batchActivations(li, n, needed); err != nil {
				return nil, err
			}
		}
		val := a.Out[li]
		for i := range n {
			ch := b0 + i
			item := val.Data[i*per : (i+1)*per]
			copy(item, l.A)
			plane := item[ch*l.H*l.W : (ch+1)*l.H*l.W]
			for p := range plane {
				plane[p] = values[ch%ablationBatch]
			}
		}
		if err := g.Resume(&s.nctx, a, li+1, g.Output); err != nil {
			return nil, fmt.Errorf("cam: ablationcam forward pass: %w", err)
		}
		copy(outs.Data[b0*k:(b0+n)*k], a.Output().Data)
		s.perturbed += n
		if j.req.Progress != nil {
			j.req.Progress(b0+n, l.C)
		}
	}
	return outs, nil
}

// batchActivations makes activations for a batch of n resumed at node
// li+1: node li's output is allocated (filled by the caller) and the nodes
// below li that later nodes read are repeated n times.
func (j *job) batchActivations(li, n int, needed map[int]bool) (*nn.Activations, error) {
	s := j.s
	g := s.model.graph
	repeat := func(t *tensor.Tensor) (*tensor.Tensor, error) {
		shape := append([]int{n}, t.Shape[1:]...)
		r, err := tensor.Zeros(shape)
		if err != nil {
			return nil, fmt.Errorf("cam: batch of %d: %w", n, err)
		}
		for i := range n {
			copy(r.Data[i*len(t.Data):], t.Data)
		}
		return r, nil
	}
	a := &nn.Activations{Graph: g, Input: s.input, Out: make([]*tensor.Tensor, len(g.Nodes))}
	var err error
	for i := range needed {
		switch {
		case i == nn.InputIndex:
			a.Input, err = repeat(s.input)
		case g.Nodes[i].Const:
			a.Out[i] = s.act.Out[i]
		default:
			a.Out[i], err = repeat(s.act.Out[i])
		}
		if err != nil {
			return nil, err
		}
	}
	if a.Out[li], err = repeat(s.act.Out[li]); err != nil {
		return nil, err
	}
	return a, nil
}
