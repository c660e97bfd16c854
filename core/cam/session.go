package cam

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// Session is the per-image state: the input, every activation of its one
// forward pass, and the gradients and perturbed forward passes computed so
// far, so that switching class, method, target or layer redoes as little as
// possible. Its methods may be called from several goroutines; calls are
// serialised.
type Session struct {
	model *Model

	mu          sync.Mutex
	nctx        nn.Context
	input       *tensor.Tensor
	act         *nn.Activations
	forwardTime time.Duration
	forwards    int // forward passes of the session's own input
	backwards   int // nn.Graph.Backward calls
	perturbed   int // images run by Score-CAM/Ablation-CAM's extra passes

	grads gradCache
	outs  map[outKey]*tensor.Tensor // per-channel outputs of perturbed passes, C×K
	ws    workspace                 // scratch of the map pipeline

	released bool // Release was called: act is gone
}

// errReleased is Explain's error on a released session.
var errReleased = errors.New("cam: the session was released (Session.Release); start a new one")

// GradCacheFloats bounds the gradients a session keeps (float32 values,
// 64 MiB); the oldest are dropped first and recomputed when asked for
// again.
const GradCacheFloats = 16 << 20

// gradCache keeps gradients in insertion order within GradCacheFloats.
type gradCache struct {
	m      map[gradKey]*tensor.Tensor
	order  []gradKey
	floats int
	limit  int // 0: GradCacheFloats
}

func (c *gradCache) get(k gradKey) (*tensor.Tensor, bool) {
	t, ok := c.m[k]
	return t, ok
}

func (c *gradCache) put(k gradKey, t *tensor.Tensor) {
	if c.m == nil {
		c.m = map[gradKey]*tensor.Tensor{}
	}
	if _, ok := c.m[k]; ok {
		return
	}
	c.m[k] = t
	c.order = append(c.order, k)
	c.floats += len(t.Data)
	limit := c.limit
	if limit == 0 {
		limit = GradCacheFloats
	}
	for c.floats > limit && len(c.order) > 1 {
		old := c.order[0]
		c.order = c.order[1:]
		c.floats -= len(c.m[old].Data)
		delete(c.m, old)
	}
}

// gradKey identifies a cached gradient: of target (class, kind[, negated])
// at node (nn.InputIndex for the input). Ordinary gradients are cached
// un-negated (a counterfactual negates a copy); guided ones are not linear
// in the seed, so their sign is part of the key.
type gradKey struct {
	class  int
	kind   string
	node   int
	guided bool
	negate bool
}

type outKey struct {
	method string
	node   int
}

// Prediction is one class of the network's output.
type Prediction struct {
	Class int
	Label string
	Logit float32
	Prob  float32 // softmax probability
}

// NewSession runs the forward pass on x (1×C×H×W, or C×H×W, already
// preprocessed) and keeps every activation. Cost: one forward pass; it is
// the only forward pass of this input the session ever runs.
func (m *Model) NewSession(x *tensor.Tensor, opts ...SessionOption) (*Session, error) {
	if x == nil {
		return nil, errors.New("cam: nil input tensor")
	}
	want := m.graph.InputShape()
	shape := x.Shape
	if len(shape) == len(want)-1 {
		shape = append([]int{1}, shape...)
	}
	if !tensor.SameShape(shape, want) {
		return nil, fmt.Errorf("cam: input shape %v, model %q wants %v", x.Shape, m.meta.Name, want)
	}
	in, err := tensor.FromData(shape, append([]float32(nil), x.Data...))
	if err != nil {
		return nil, fmt.Errorf("cam: input: %w", err)
	}
	s := &Session{model: m, input: in, outs: map[outKey]*tensor.Tensor{}}
	for _, o := range opts {
		o(s)
	}
	t0 := time.Now()
	if s.act, err = m.graph.ForwardInto(&s.nctx, in, m.takeSpare()); err != nil {
		return nil, fmt.Errorf("cam: forward pass: %w", err)
	}
	s.forwardTime = time.Since(t0)
	s.forwards++
	if err := s.act.Output().CheckFinite(); err != nil {
		return nil, fmt.Errorf("cam: the network output is not finite: %w", err)
	}
	return s, nil
}

// Release ends the session and gives its activation memory (every layer's
// output, about 13 MB for the 112×112 face model) back to its Model, whose
// next session's forward pass writes into it instead of allocating: call
// it when a session is replaced (a new image). Results already returned
// stay valid (they share no memory with the session). After Release, the
// session's methods that need the forward pass return an error (Explain)
// or nothing (Logits, Predictions: nil); a second Release does nothing.
func (s *Session) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.act == nil {
		return
	}
	a := s.act
	s.act, s.grads, s.outs, s.ws = nil, gradCache{}, nil, workspace{}
	s.released = true
	s.model.putSpare(a)
}

// Model returns the model the session explains.
func (s *Session) Model() *Model { return s.model }

// Input returns the session's input tensor (1×C×H×W). Do not modify it.
func (s *Session) Input() *tensor.Tensor { return s.input }

// Logits returns a copy of the network output for the input.
func (s *Session) Logits() []float32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.act == nil {
		return nil
	}
	return append([]float32(nil), s.act.Output().Data...)
}

// ForwardTime is how long the session's forward pass took.
func (s *Session) ForwardTime() time.Duration { return s.forwardTime }

// ForwardCount is the number of forward passes of the session's input
// (always 1: every explanation reuses it). For tests.
func (s *Session) ForwardCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forwards
}

// BackwardCount is the number of backward passes run so far. For tests: a
// method switch on the same class and layer adds none.
func (s *Session) BackwardCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backwards
}

// PerturbedCount is the number of perturbed images (one per channel) that
// Score-CAM and Ablation-CAM ran forward so far.
func (s *Session) PerturbedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perturbed
}

// Predictions returns the k classes with the largest logits, largest first
// (all classes when k ≤ 0 or k > K). Cost: none.
func (s *Session) Predictions(k int) []Prediction {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.act == nil {
		return nil
	}
	logits := s.act.Output().Data
	p := nn.SoftmaxRow(logits)
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	if k <= 0 || k > len(idx) {
		k = len(idx)
	}
	out := make([]Prediction, k)
	for i := range out {
		c := idx[i]
		out[i] = Prediction{Class: c, Label: s.model.labels[c], Logit: logits[c], Prob: float32(p[c])}
	}
	return out
}

// Request says what to explain.
type Request struct {
	// Method is a name from Methods(); "" means "gradcam".
	Method string
	// Class is the class to explain; -1 means the top class.
	Class int
	// Target is "logit" (the raw class score; "" means logit) or "softmax"
	// (its probability).
	Target string
	// Layers are the target layers (names from Model.Layers); empty means
	// the model's default layer. With several, the per-layer maps are
	// averaged as pytorch-grad-cam's aggregate_multi_layers does.
	Layers []string
	// Counterfactual explains the negated target: the regions that speak
	// against the class. The "counterfactual" method is Grad-CAM with it
	// always on.
	Counterfactual bool
	// EigenSmooth replaces the channel sum of the weighted activations by
	// their first principal component (pytorch-grad-cam's eigen_smooth).
	EigenSmooth bool
	// Progress, if set, is called as the slow methods (Score-CAM,
	// Ablation-CAM) finish batches of channels.
	Progress func(done, total int)
}

// Result is one explanation.
type Result struct {
	Method         string
	Layers         []string // target layers used (none for guided-backprop)
	Class          int
	Label          string
	Target         string // "logit" or "softmax"
	Counterfactual bool
	// W, H are the size of Map: the network's input size.
	W, H int
	// Map is the explanation, H×W row-major in [0, 1] (all zeros when
	// nothing speaks for the target). For the guided methods it is the
	// largest absolute value over channels of Guided, min-max normalised.
	Map []float32
	// Raw is the first layer's signed low-resolution map before the ReLU,
	// h×w (nil for guided-backprop).
	Raw *tensor.Tensor
	// Weights are the first layer's channel weights for the methods that
	// have them (gradcam, gradcam++, xgradcam, cam, scorecam, ablationcam,
	// counterfactual, guided-gradcam); nil otherwise.
	Weights []float32
	// Guided is H×W×C for guided-backprop (the guided gradient at the
	// input) and guided-gradcam (Map of Grad-CAM times that gradient, per
	// channel); nil otherwise.
	Guided []float32
	C      int // channels of Guided
	// Box is the bounding box of the largest 8-connected region of Map at
	// or above BoxThreshold of its maximum; Peak is Map's argmax.
	Box  image.Rectangle
	Peak image.Point
	// Note, when not empty, explains a map that is all zero: why nothing
	// in the target layer speaks for the target (for example: the
	// target's gradient there is zero everywhere). For people; "" for a
	// map with content.
	Note    string
	Timings Timings
}

// Timings splits the time of one Explain call. Forward is the time of the
// extra forward passes Score-CAM/Ablation-CAM ran (the session's own
// forward pass is Session.ForwardTime), Backward that of backward passes,
// Method the rest.
type Timings struct {
	Forward, Backward, Method time.Duration
}

// Explain computes one explanation. Costs, given the session's cached
// forward pass:
//   - gradient methods: one backward pass from the output down to the
//     lowest requested layer whose gradient for this (class, target) is not
//     cached yet; none when all are cached (a method switch, or a
//     counterfactual, on the same class, target and layer). Guided methods
//     need one guided backward pass to the input per (class, target, sign).
//   - eigencam, cam: no pass at all.
//   - scorecam: one forward pass of the whole network per channel of each
//     layer (batched), once per layer: other classes and targets reuse it.
//   - ablationcam: one forward pass from the layer up per channel
//     (batched), once per layer; cached likewise.
//
// ctx cancels the slow methods between batches.
func (s *Session) Explain(ctx context.Context, r Request) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.act == nil {
		return nil, errReleased
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cam: %w", err)
	}
	start := time.Now()
	name := r.Method
	if name == "" {
		name = "gradcam"
	}
	meth, ok := methodTable[name]
	if !ok {
		return nil, fmt.Errorf("cam: unknown method %q (methods: %s)", r.Method, methodNames())
	}
	k := s.model.NumClasses()
	class := r.Class
	if class == -1 {
		class = argmax(s.act.Output().Data)
	}
	if class < 0 || class >= k {
		return nil, fmt.Errorf("cam: class %d out of range [0, %d) (-1 means the top class)", r.Class, k)
	}
	kind := r.Target
	if kind == "" {
		kind = "logit"
	}
	if kind != "logit" && kind != "softmax" {
		return nil, fmt.Errorf("cam: unknown target %q (logit or softmax)", r.Target)
	}
	neg := r.Counterfactual || name == "counterfactual"
	if neg && !meth.info.Counterfactual {
		return nil, fmt.Errorf("cam: %s has no counterfactual: %s", name, meth.noCounterfactual)
	}
	if kind == "softmax" && !meth.info.Softmax {
		return nil, fmt.Errorf("cam: %s explains the raw logit only (its weights are the class's dense row)", name)
	}
	if r.EigenSmooth && meth.noChannels {
		return nil, fmt.Errorf("cam: %s has no channel map to eigen-smooth", name)
	}
	res := &Result{
		Method: name, Class: class, Label: s.model.labels[class], Target: kind, Counterfactual: neg,
		W: s.input.Shape[3], H: s.input.Shape[2],
	}
	var target nn.Target = nn.Logit{Class: class}
	if kind == "softmax" {
		target = nn.Softmax{Class: class}
	}
	if neg {
		target = nn.Negate{T: target}
	}
	j := &job{s: s, ctx: ctx, req: &r, meth: meth, class: class, kind: kind, neg: neg, target: target, res: res}
	if err := j.run(); err != nil {
		return nil, err
	}
	if err := checkResult(res); err != nil {
		return nil, err
	}
	res.Note = j.note()
	// One pass for the peak and the box's maximum (the map is finite).
	at, hi := peak(res.Map)
	res.Peak = image.Pt(at%res.W, at/res.W)
	res.Box = s.ws.box.boxMax(res.Map, res.W, res.H, maxf(hi, 0), BoxThreshold)
	res.Timings.Method = time.Since(start) - res.Timings.Forward - res.Timings.Backward
	return res, nil
}

// job is one Explain call in progress.
type job struct {
	s      *Session
	ctx    context.Context
	req    *Request
	meth   *method
	class  int
	kind   string
	neg    bool
	target nn.Target
	res    *Result
	// zeroGrad names the target layers where the target's gradient is
	// zero everywhere (for Result.Note).
	zeroGrad []string
}

func (j *job) run() error {
	s, res := j.s, j.res
	if j.meth.guidedOnly {
		g, err := j.guidedGradient()
		if err != nil {
			return err
		}
		res.Guided, res.C = g, s.input.Shape[1]
		res.Map = channelMaxAbs(g, res.C)
		return nil
	}
	names := j.req.Layers
	if len(names) == 0 {
		names = []string{s.model.defaultLayer}
	}
	idx := make([]int, len(names))
	seen := map[int]bool{}
	for i, n := range names {
		li, err := s.model.layerIndex(n)
		if err != nil {
			return fmt.Errorf("cam: %w", err)
		}
		if seen[li] {
			return fmt.Errorf("cam: layer %q requested twice", n)
		}
		seen[li] = true
		idx[i] = li
	}
	res.Layers = append([]string(nil), names...)
	var grads map[int]*tensor.Tensor
	if j.meth.info.Gradients {
		var err error
		if grads, err = j.gradients(idx); err != nil {
			return err
		}
		for i, li := range idx {
			if allZero(grads[li].Data) {
				j.zeroGrad = append(j.zeroGrad, names[i])
			}
		}
	}
	// One layer: its map is post-processed straight into the result and
	// aggregated in place; several: each into a scratch map first.
	res.Map = make([]float32, res.H*res.W)
	maps := make([][]float32, len(idx))
	for i, li := range idx {
		a := s.act.Out[li]
		l := &layerData{C: a.Shape[1], H: a.Shape[2], W: a.Shape[3], A: a.Data[:a.Shape[1]*a.Shape[2]*a.Shape[3]]}
		if grads != nil {
			l.G = grads[li].Data[:len(l.A)]
		}
		raw, w, err := j.layerMap(li, l)
		if err != nil {
			return err
		}
		if i == 0 {
			res.Raw = &tensor.Tensor{Shape: []int{l.H, l.W}, Data: raw}
			res.Weights = w
		}
		maps[i] = res.Map
		if len(idx) > 1 {
			maps[i] = s.ws.layer(i, len(res.Map))
		}
		s.ws.postprocessInto(maps[i], raw, l.H, l.W, res.H, res.W)
	}
	aggregateInto(res.Map, maps)
	if j.meth.guided {
		g, err := j.guidedGradient()
		if err != nil {
			return err
		}
		c := s.input.Shape[1]
		for p, m := range res.Map {
			for ch := range c {
				g[p*c+ch] *= m
			}
		}
		res.Guided, res.C = g, c
		res.Map = channelMaxAbs(g, c)
	}
	return nil
}

// layerMap returns one layer's raw signed map (h×w) and, for weight
// methods, the channel weights.
func (j *job) layerMap(li int, l *layerData) ([]float32, []float32, error) {
	var w, elems []float32
	var err error
	if j.meth.weights != nil {
		if w, err = j.meth.weights(j, li, l); err != nil {
			return nil, nil, err
		}
	}
	if j.meth.project || j.req.EigenSmooth {
		if w != nil {
			elems = weighted(l, w)
		} else {
			elems = j.meth.elems(l)
		}
		raw, err := project2D(elems, l.C, l.H*l.W)
		return raw, w, err
	}
	raw := make([]float32, l.hw())
	sumElems(j.meth.sum, l, w, j.s.ws.f64(l.hw()), raw)
	return raw, w, nil
}

// gradients returns the gradients of the job's target at the given nodes,
// running one backward pass for those not cached. A layer whose only
// reader is a global pooling (Model.pooled) is reached through it: the
// cache keeps the pooling output's gradient (one value per channel) and
// the layer's gradient is that node's backward of it, computed into the
// session's scratch memory — the very arithmetic of a backward pass down
// to the layer, without a C×h×w allocation per class. The returned
// tensors are valid until the session's next call.
func (j *job) gradients(nodes []int) (map[int]*tensor.Tensor, error) {
	s := j.s
	out := make(map[int]*tensor.Tensor, len(nodes))
	src := make([]int, len(nodes))             // the node whose gradient is cached for nodes[i]
	have := make([]*tensor.Tensor, len(nodes)) // its gradient
	var missing, layers []int
	for i, n := range nodes {
		src[i] = n
		if p, ok := s.model.pooled[n]; ok {
			src[i] = p
		}
		if g, ok := s.grads.get(gradKey{class: j.class, kind: j.kind, node: src[i]}); ok {
			have[i] = g
		} else if !slices.Contains(missing, src[i]) {
			missing = append(missing, src[i])
			layers = append(layers, n)
		}
	}
	if len(missing) > 0 {
		var t nn.Target = nn.Logit{Class: j.class}
		if j.kind == "softmax" {
			t = nn.Softmax{Class: j.class}
		}
		got, err := j.backwardAt(t, missing, layers, false)
		if err != nil {
			return nil, err
		}
		for _, n := range missing {
			s.grads.put(gradKey{class: j.class, kind: j.kind, node: n}, got[n])
		}
		for i := range nodes {
			if have[i] == nil {
				have[i] = got[src[i]]
			}
		}
	}
	for i, n := range nodes {
		g := have[i]
		switch {
		case src[i] != n:
			g = j.expand(i, n, src[i], g)
		case j.neg:
			g = g.Clone()
			for k, v := range g.Data {
				g.Data[k] = -v
			}
		}
		out[n] = g
	}
	return out, nil
}

// expand returns the gradient at layer (into scratch slot) from gp, the
// gradient at its only reader, the pooling node pool: that node's own
// backward, added into zeros as nn.Graph.Backward does, negated for a
// counterfactual. The slot is reused as it is when it already holds that.
func (j *job) expand(slot, layer, pool int, gp *tensor.Tensor) *tensor.Tensor {
	ws := &j.s.ws
	for len(ws.gradOf) <= slot {
		ws.gradOf = append(ws.gradOf, gradTag{})
	}
	tag := gradTag{from: gp, neg: j.neg}
	if ws.gradOf[slot] == tag && slot < len(ws.grads) {
		return ws.grads[slot]
	}
	ws.gradOf[slot] = gradTag{}
	s := j.s
	a := s.act.Out[layer]
	gl := ws.gradBuf(slot, a.Shape)
	ws.in[0], ws.gin[0] = a, gl
	s.model.graph.Nodes[pool].Op.Backward(&s.nctx, ws.in[:], s.act.Out[pool], gp, ws.gin[:])
	ws.in[0], ws.gin[0] = nil, nil
	if j.neg {
		for k, v := range gl.Data {
			gl.Data[k] = -v
		}
	}
	ws.gradOf[slot] = tag
	return gl
}

// guidedGradient returns the guided-backprop gradient of the job's target
// at the input as H×W×C (a fresh copy).
func (j *job) guidedGradient() ([]float32, error) {
	s := j.s
	key := gradKey{class: j.class, kind: j.kind, node: nn.InputIndex, guided: true, negate: j.neg}
	g, ok := s.grads.get(key)
	if !ok {
		got, err := j.backward(j.target, []int{nn.InputIndex}, true)
		if err != nil {
			return nil, err
		}
		g = got[nn.InputIndex]
		s.grads.put(key, g)
	}
	c, h, w := g.Shape[1], g.Shape[2], g.Shape[3]
	out := make([]float32, h*w*c)
	for ch := range c {
		plane := g.Data[ch*h*w : (ch+1)*h*w]
		for p, v := range plane {
			out[p*c+ch] = v
		}
	}
	return out, nil
}

func (j *job) backward(t nn.Target, wrt []int, guided bool) (map[int]*tensor.Tensor, error) {
	return j.backwardAt(t, wrt, wrt, guided)
}

// backwardAt runs one backward pass to the nodes wrt; a non-finite
// gradient at wrt[i] is reported as one at node layers[i] (the target
// layer behind a pooling node).
func (j *job) backwardAt(t nn.Target, wrt, layers []int, guided bool) (map[int]*tensor.Tensor, error) {
	s := j.s
	t0 := time.Now()
	defer func() { j.res.Timings.Backward += time.Since(t0) }()
	seed, err := t.Seed(s.act.Output())
	if err != nil {
		return nil, fmt.Errorf("cam: target: %w", err)
	}
	s.nctx.Guided = guided
	defer func() { s.nctx.Guided = false }()
	g := s.model.graph
	got, err := g.Backward(&s.nctx, s.act, g.Output, seed, wrt)
	if err != nil {
		return nil, fmt.Errorf("cam: backward pass: %w", err)
	}
	s.backwards++
	for i, k := range wrt {
		if err := got[k].CheckFinite(); err != nil {
			where := "the input"
			if l := layers[i]; l != nn.InputIndex {
				where = fmt.Sprintf("layer %q", g.Nodes[l].Spec.Name)
			}
			return nil, fmt.Errorf("cam: the gradient of class %d (%s) at %s is not finite: the backward pass overflows (%w: %v)", j.class, j.kind, where, nn.ErrNotFinite, err)
		}
	}
	return got, nil
}

// channelMaxAbs returns max_c |g[p, c]| per pixel of an H×W×C array,
// min-max normalised: a saliency map for the guided methods.
func channelMaxAbs(g []float32, c int) []float32 {
	out := make([]float32, len(g)/c)
	for p := range out {
		m := float32(0)
		for _, v := range g[p*c : (p+1)*c] {
			m = max(m, float32(math.Abs(float64(v))))
		}
		out[p] = m
	}
	minMax(out)
	return out
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// checkResult refuses a result with a NaN or an infinity in the map, the
// raw map, the weights or the guided gradient: an explanation is never
// NaN. Activations and gradients are checked where they are computed, so
// only a method's own arithmetic can get here.
func checkResult(r *Result) error {
	parts := []struct {
		what string
		v    []float32
	}{{"map", r.Map}, {"weights", r.Weights}, {"guided gradient", r.Guided}}
	if r.Raw != nil {
		parts = append(parts, struct {
			what string
			v    []float32
		}{"raw map", r.Raw.Data})
	}
	for _, p := range parts {
		if i := tensor.FirstNonFinite(p.v); i >= 0 {
			return fmt.Errorf("cam: %s of class %d at layers %q: element %d of the %s is %v (%w)", r.Method, r.Class, r.Layers, i, p.what, p.v[i], nn.ErrNotFinite)
		}
	}
	return nil
}

// note explains an all-zero map (Result.Note); "" when the map has content.
func (j *job) note() string {
	if !allZero(j.res.Map) {
		return ""
	}
	target := fmt.Sprintf("%s of class %d (%q)", j.kind, j.class, j.res.Label)
	if j.neg {
		target = "negated " + target
	}
	switch {
	case len(j.zeroGrad) > 0:
		return fmt.Sprintf("the map is all zero: the gradient of the %s is zero everywhere at layer %q, so the score does not depend on that layer for this image (for example, every ReLU after it is inactive); try another layer or class",
			target, strings.Join(j.zeroGrad, `", "`))
	case j.meth.guidedOnly:
		return fmt.Sprintf("the map is all zero: the guided gradient of the %s at the input is zero everywhere", target)
	}
	return fmt.Sprintf("the map is all zero: no position of layer %q contributes positively to the %s", strings.Join(j.res.Layers, `", "`), target)
}

//go:noinline
func allZero(x []float32) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}
