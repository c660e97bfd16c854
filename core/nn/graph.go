package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// Limits bound what Build accepts from a spec.
const (
	MaxNodes     = 10000
	MaxNameBytes = 1024
)

// InputIndex is the index used for the graph input in Node.In.
const InputIndex = -1

// Node is a built node of a Graph.
type Node struct {
	Spec  NodeSpec
	Op    Op
	In    []int // indices of input nodes; InputIndex for the graph input
	Shape []int // output shape for batch 1
	Const bool  // output does not depend on the graph input
}

// Graph is a built, validated network. It is immutable.
type Graph struct {
	Spec   GraphSpec
	Nodes  []*Node
	Output int // index of the output node
	index  map[string]int
}

type weightMap struct {
	node string
	w    map[string]*tensor.Tensor
}

func (m weightMap) Param(name string) *tensor.Tensor { return m.w[m.node+"."+name] }

// Build validates spec against the registered ops and weights and returns
// the graph. Node names must be unique, inputs must name earlier nodes (so
// the graph is acyclic by construction) and every shape must check.
func Build(spec GraphSpec, weights map[string]*tensor.Tensor) (*Graph, error) {
	if len(spec.Nodes) == 0 {
		return nil, errors.New("nn: graph has no nodes")
	}
	if len(spec.Nodes) > MaxNodes {
		return nil, fmt.Errorf("nn: %w: graph has %d nodes, limit %d", ErrTooLarge, len(spec.Nodes), MaxNodes)
	}
	if spec.Input.Name == "" {
		spec.Input.Name = "input"
	}
	if len(spec.Input.Shape) == 0 {
		return nil, errors.New("nn: graph input has no shape")
	}
	inShape := append([]int{1}, spec.Input.Shape...)
	if _, err := tensor.NumElements(inShape); err != nil {
		return nil, fmt.Errorf("nn: graph input: %w", err)
	}
	for _, d := range spec.Input.Shape {
		if d <= 0 {
			return nil, fmt.Errorf("nn: graph input shape %v has a non-positive dimension", spec.Input.Shape)
		}
	}
	g := &Graph{Spec: spec, index: map[string]int{}}
	for i := range spec.Nodes {
		if err := g.add(i, inShape, weights); err != nil {
			return nil, err
		}
	}
	g.Output = len(g.Nodes) - 1
	if spec.Output != "" {
		k, ok := g.index[spec.Output]
		if !ok {
			return nil, fmt.Errorf("nn: output %q is not a node", spec.Output)
		}
		g.Output = k
	}
	return g, nil
}

// add builds node i of g.Spec (a function of its own, so that Build's
// loop stays small: in js/wasm every jump in a large function costs V8's
// tier-up budget in proportion to the function's size).
func (g *Graph) add(i int, inShape []int, weights map[string]*tensor.Tensor) error {
	ns := &g.Spec.Nodes[i]
	if ns.Name == "" || len(ns.Name) > MaxNameBytes {
		return fmt.Errorf("nn: node %d: name empty or longer than %d bytes", i, MaxNameBytes)
	}
	if ns.Name == g.Spec.Input.Name {
		return fmt.Errorf("nn: node %d: name %q is the graph input's", i, ns.Name)
	}
	if _, dup := g.index[ns.Name]; dup {
		return fmt.Errorf("nn: node %d: duplicate name %q", i, ns.Name)
	}
	b, ok := builders[ns.Op]
	if !ok {
		return fmt.Errorf("nn: node %q: unknown op %q", ns.Name, ns.Op)
	}
	if err := checkAttrs(ns); err != nil {
		return err
	}
	n := &Node{Spec: *ns, Const: true}
	shapes, err := g.connect(n, inShape)
	if err != nil {
		return err
	}
	op, err := b(ns, weightMap{ns.Name, weights})
	if err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	n.Op = op
	if n.Shape, err = op.OutShape(shapes); err != nil {
		return fmt.Errorf("nn: node %q (%s): %w", ns.Name, ns.Op, err)
	}
	if _, err := tensor.NumElements(n.Shape); err != nil {
		return fmt.Errorf("nn: node %q: %w", ns.Name, err)
	}
	g.index[ns.Name] = len(g.Nodes)
	g.Nodes = append(g.Nodes, n)
	return nil
}

// connect resolves the inputs of n (whose Spec is set) to node indices,
// sets n.In and n.Const and returns the input shapes.
func (g *Graph) connect(n *Node, inShape []int) ([][]int, error) {
	shapes := make([][]int, len(n.Spec.Inputs))
	for j, in := range n.Spec.Inputs {
		if in == g.Spec.Input.Name {
			n.In = append(n.In, InputIndex)
			shapes[j] = inShape
			n.Const = false
			continue
		}
		k, ok := g.index[in]
		if !ok {
			return nil, fmt.Errorf("nn: node %q: input %q is not the graph input or an earlier node", n.Spec.Name, in)
		}
		n.In = append(n.In, k)
		shapes[j] = g.Nodes[k].Shape
		n.Const = n.Const && g.Nodes[k].Const
	}
	return shapes, nil
}

// Index returns the index of the named node, InputIndex for the graph
// input, or an error.
func (g *Graph) Index(name string) (int, error) {
	if name == g.Spec.Input.Name {
		return InputIndex, nil
	}
	k, ok := g.index[name]
	if !ok {
		return 0, fmt.Errorf("nn: no node named %q", name)
	}
	return k, nil
}

// InputShape returns the input shape for batch 1.
func (g *Graph) InputShape() []int { return append([]int{1}, g.Spec.Input.Shape...) }

// Layers returns the indices of nodes with a 4-D output, the candidate
// target layers of an explanation, in graph order.
func (g *Graph) Layers() []int {
	var out []int
	for i, n := range g.Nodes {
		if len(n.Shape) == 4 && !n.Const {
			out = append(out, i)
		}
	}
	return out
}

// DefaultLayer returns the last node with a 4-D output whose spatial size is
// larger than 1×1 (the last layer before global pooling), or an error when
// the graph has none.
func (g *Graph) DefaultLayer() (int, error) {
	best := -1
	for _, i := range g.Layers() {
		if s := g.Nodes[i].Shape; s[2]*s[3] > 1 && i < g.Output {
			best = i
		}
	}
	if best < 0 {
		return 0, errors.New("nn: graph has no layer with a spatial (4-D, larger than 1×1) output")
	}
	return best, nil
}

// Activations holds the output of every node of one forward pass.
type Activations struct {
	Graph *Graph
	Input *tensor.Tensor
	Out   []*tensor.Tensor
}

// Output returns the graph output (the logits).
func (a *Activations) Output() *tensor.Tensor { return a.Out[a.Graph.Output] }

// At returns the value of node i, or the input for InputIndex.
func (a *Activations) At(i int) *tensor.Tensor {
	if i == InputIndex {
		return a.Input
	}
	return a.Out[i]
}

// Forward runs every node up to the output on x (shape N×input shape) and
// keeps every output. A NaN or infinity in x is an error, and so is one in
// a node's output: the error wraps ErrNotFinite and names the first node
// that produced one.
func (g *Graph) Forward(ctx *Context, x *tensor.Tensor) (*Activations, error) {
	return g.ForwardTo(ctx, x, g.Output)
}

// ForwardTo runs the nodes 0..last only; later entries of Out stay nil.
func (g *Graph) ForwardTo(ctx *Context, x *tensor.Tensor, last int) (*Activations, error) {
	return g.forwardTo(ctx, x, last, nil)
}

// ForwardInto is Forward writing into the output tensors of reuse, an
// earlier forward pass of g whose results are no longer needed, instead of
// allocating new ones (a tensor whose shape no longer fits, for another
// batch size, is replaced). Every op overwrites its whole output, so the
// results are those of Forward. reuse may be nil; it must not be used
// afterwards, except as the returned activations. On error, reuse is
// left in an unspecified state.
func (g *Graph) ForwardInto(ctx *Context, x *tensor.Tensor, reuse *Activations) (*Activations, error) {
	if reuse != nil && (reuse.Graph != g || len(reuse.Out) != len(g.Nodes)) {
		return nil, errors.New("nn: ForwardInto: the activations to reuse are of another graph")
	}
	return g.forwardTo(ctx, x, g.Output, reuse)
}

func (g *Graph) forwardTo(ctx *Context, x *tensor.Tensor, last int, a *Activations) (*Activations, error) {
	want := g.InputShape()
	if len(x.Shape) != len(want) || !tensor.SameShape(x.Shape[1:], want[1:]) || x.Shape[0] < 1 {
		return nil, fmt.Errorf("nn: input shape %v, want N×%v", x.Shape, want[1:])
	}
	// One pass over x: its magnitude bound, +Inf when x is not finite.
	inBound := maxAbs(x.Data)
	if math.IsInf(inBound, 1) {
		if err := x.CheckFinite(); err != nil {
			return nil, fmt.Errorf("nn: input: %w: %v", ErrNotFinite, err)
		}
	}
	if a == nil {
		a = &Activations{Graph: g, Out: make([]*tensor.Tensor, len(g.Nodes))}
	}
	a.Input = x
	for i := last + 1; i < len(a.Out); i++ {
		a.Out[i] = nil
	}
	// Magnitude bounds (bound.go): nodes whose output provably stays far
	// inside the float32 range skip the finite check.
	bounds := g.nodeBounds(inBound)
	for i := 0; i <= last && i < len(g.Nodes); i++ {
		if err := g.forwardNodeCheck(ctx, a, i, bounds[i] < boundSafe); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// nodeBounds returns a bound on the magnitude of every node's output
// elements given inBound for the graph input's (+Inf where none is known
// or it reaches boundSafe).
func (g *Graph) nodeBounds(inBound float64) []float64 {
	bounds := make([]float64, len(g.Nodes))
	var buf [8]float64
	for i, n := range g.Nodes {
		b := math.Inf(1)
		if bo, ok := n.Op.(bounder); ok {
			ins := buf[:0]
			for _, k := range n.In {
				if k == InputIndex {
					ins = append(ins, inBound)
				} else {
					ins = append(ins, bounds[k])
				}
			}
			b = bo.bound(ins)
		}
		if !(b < boundSafe) { // also NaN
			b = math.Inf(1)
		}
		bounds[i] = b
	}
	return bounds
}

// Resume recomputes nodes from..last of a (for example after an
// intervention replaced the output of node from-1) reusing earlier outputs.
func (g *Graph) Resume(ctx *Context, a *Activations, from, last int) error {
	for i := from; i <= last && i < len(g.Nodes); i++ {
		if err := g.forwardNode(ctx, a, i); err != nil {
			return err
		}
	}
	return nil
}

func (g *Graph) forwardNode(ctx *Context, a *Activations, i int) error {
	return g.forwardNodeCheck(ctx, a, i, false)
}

// forwardNodeCheck runs node i and checks its output for NaN and
// infinities unless bounded (its output is provably finite).
func (g *Graph) forwardNodeCheck(ctx *Context, a *Activations, i int, bounded bool) error {
	n := g.Nodes[i]
	in := make([]*tensor.Tensor, len(n.In))
	shapes := make([][]int, len(n.In))
	for j, k := range n.In {
		in[j] = a.At(k)
		shapes[j] = in[j].Shape
	}
	shape, err := n.Op.OutShape(shapes)
	if err != nil {
		return fmt.Errorf("nn: node %q (%s): %w", n.Spec.Name, n.Spec.Op, err)
	}
	out := a.Out[i]
	if out == nil || !tensor.SameShape(out.Shape, shape) {
		if out, err = tensor.Zeros(shape); err != nil {
			return fmt.Errorf("nn: node %q: %w", n.Spec.Name, err)
		}
	}
	n.Op.Forward(ctx, in, out)
	a.Out[i] = out
	if bounded {
		return nil
	}
	return checkFiniteOutput(n, out)
}

// Backward propagates seed, the gradient of a scalar target with respect to
// node from's output, down the graph and returns the gradients at the nodes
// in wrt (InputIndex for the graph input), keyed by index. It does no work
// below the lowest node asked for. A node the target does not depend on
// gets a zero gradient.
func (g *Graph) Backward(ctx *Context, a *Activations, from int, seed *tensor.Tensor, wrt []int) (map[int]*tensor.Tensor, error) {
	if from < 0 || from >= len(g.Nodes) || a.Out[from] == nil {
		return nil, fmt.Errorf("nn: backward from node %d: not computed", from)
	}
	if !tensor.SameShape(seed.Shape, a.Out[from].Shape) {
		return nil, fmt.Errorf("nn: backward seed shape %v, node %q output %v", seed.Shape, g.Nodes[from].Spec.Name, a.Out[from].Shape)
	}
	lowest := from
	for _, w := range wrt {
		if w < InputIndex || w >= len(g.Nodes) {
			return nil, fmt.Errorf("nn: backward: no node %d", w)
		}
		if w > from {
			return nil, fmt.Errorf("nn: backward: node %q comes after the target node", g.Nodes[w].Spec.Name)
		}
		lowest = min(lowest, w)
	}
	grads := make([]*tensor.Tensor, len(g.Nodes))
	var gInput *tensor.Tensor
	grads[from] = seed
	need := func(k int) bool {
		if k == InputIndex {
			return lowest == InputIndex
		}
		return k >= lowest && !g.Nodes[k].Const
	}
	for i := from; i > lowest; i-- {
		gout := grads[i]
		if gout == nil {
			continue
		}
		n := g.Nodes[i]
		in := make([]*tensor.Tensor, len(n.In))
		gin := make([]*tensor.Tensor, len(n.In))
		any := false
		for j, k := range n.In {
			in[j] = a.At(k)
			if !need(k) {
				continue
			}
			any = true
			if k == InputIndex {
				if gInput == nil {
					gInput = tensor.New(a.Input.Shape...)
				}
				gin[j] = gInput
				continue
			}
			if grads[k] == nil {
				grads[k] = tensor.New(a.Out[k].Shape...)
			}
			gin[j] = grads[k]
		}
		if any {
			n.Op.Backward(ctx, in, a.Out[i], gout, gin)
		}
	}
	res := make(map[int]*tensor.Tensor, len(wrt))
	for _, w := range wrt {
		var t *tensor.Tensor
		if w == InputIndex {
			t = gInput
			if t == nil {
				t = tensor.New(a.Input.Shape...)
			}
		} else {
			t = grads[w]
			if t == nil {
				t = tensor.New(a.Out[w].Shape...)
			}
		}
		res[w] = t
	}
	return res, nil
}
