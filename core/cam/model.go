package cam

import (
	"errors"
	"fmt"
	"sync"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// Model is a network ready to explain: its graph built once, its labels and
// its candidate target layers. A Model is immutable and safe to share
// between goroutines and sessions (the only state it changes is a small
// store of released sessions' activation memory, behind a mutex).
type Model struct {
	meta         modelfile.Meta
	graph        *nn.Graph
	weights      map[string]*tensor.Tensor
	labels       []string
	layers       []Layer
	defaultLayer string
	consumers    [][]int // node index → indices of the nodes that read it
	// pooled maps a target layer whose only reader is a global pooling
	// node (one value per channel) to that node: its gradient is the
	// pooling's backward of the C-value gradient at the pooling output
	// (constant per channel for average pooling), so sessions cache the
	// C values and expand them into scratch memory.
	pooled map[int]int

	// spare holds the activations of released sessions (Session.Release)
	// for the next session's forward pass to write into: a forward pass
	// then allocates nothing. At most maxSpare sets are kept.
	spareMu sync.Mutex
	spare   []*nn.Activations
}

// maxSpare bounds the activation sets a Model keeps for reuse.
const maxSpare = 2

// takeSpare returns released activations to reuse, or nil.
func (m *Model) takeSpare() *nn.Activations {
	m.spareMu.Lock()
	defer m.spareMu.Unlock()
	n := len(m.spare)
	if n == 0 {
		return nil
	}
	a := m.spare[n-1]
	m.spare[n-1] = nil
	m.spare = m.spare[:n-1]
	return a
}

// putSpare keeps a for a later session (unless maxSpare are kept).
func (m *Model) putSpare(a *nn.Activations) {
	m.spareMu.Lock()
	defer m.spareMu.Unlock()
	if len(m.spare) < maxSpare {
		m.spare = append(m.spare, a)
	}
}

// Layer is a candidate target layer: a node with a 4-D output.
type Layer struct {
	Name  string
	Shape []int // C, H, W (the node's output without the batch dimension)
}

// NewModel builds m's graph (nn.Build) and checks that it can be
// explained: the output must be N×K logits with one label per class (no
// labels: "class 0", "class 1", …) and there must be a target layer.
// Meta.DefaultLayer, when set, must name a 4-D node. The Model keeps m's
// weights: do not modify m afterwards.
func NewModel(m *modelfile.Model) (*Model, error) {
	if m == nil {
		return nil, errors.New("cam: nil model")
	}
	g, err := nn.Build(m.Graph, m.Weights)
	if err != nil {
		return nil, fmt.Errorf("cam: model %q: %w", m.Meta.Name, err)
	}
	out := g.Nodes[g.Output].Shape
	if len(out) != 2 {
		return nil, fmt.Errorf("cam: model %q: output node %q has shape %v, want 1×K logits", m.Meta.Name, g.Nodes[g.Output].Spec.Name, out)
	}
	k := out[1]
	labels := append([]string(nil), m.Meta.Labels...)
	switch {
	case len(labels) == 0:
		labels = make([]string, k)
		for i := range labels {
			labels[i] = fmt.Sprintf("class %d", i)
		}
	case len(labels) != k:
		return nil, fmt.Errorf("cam: model %q has %d labels for %d outputs", m.Meta.Name, len(labels), k)
	}
	cm := &Model{meta: m.Meta, graph: g, weights: m.Weights, labels: labels}
	cm.meta.Labels = labels
	cm.consumers = consumersOf(g)
	cm.indexLayers()
	if len(cm.layers) == 0 {
		return nil, fmt.Errorf("cam: model %q has no layer with a 4-D output to explain", m.Meta.Name)
	}
	if d := m.Meta.DefaultLayer; d != "" {
		if _, err := cm.layerIndex(d); err != nil {
			return nil, fmt.Errorf("cam: model %q: default layer: %w", m.Meta.Name, err)
		}
		cm.defaultLayer = d
	} else {
		i, err := g.DefaultLayer()
		if err != nil {
			return nil, fmt.Errorf("cam: model %q: %w", m.Meta.Name, err)
		}
		cm.defaultLayer = g.Nodes[i].Spec.Name
	}
	return cm, nil
}

// consumersOf lists, for each node of g, the nodes that take it as an
// input. (NewModel's loops are functions of their own: in js/wasm every
// jump in a large function costs V8's tier-up budget in proportion to the
// function's size, and V8 would compile this one-off code again, optimised,
// while the engine starts.)
func consumersOf(g *nn.Graph) [][]int {
	consumers := make([][]int, len(g.Nodes))
	for i, n := range g.Nodes {
		for _, in := range n.In {
			if in >= 0 {
				consumers[in] = append(consumers[in], i)
			}
		}
	}
	return consumers
}

// indexLayers lists the candidate target layers and the global pools that
// follow them.
func (m *Model) indexLayers() {
	g := m.graph
	m.pooled = map[int]int{}
	for _, i := range g.Layers() {
		if i >= g.Output {
			continue
		}
		if p, ok := m.globalPoolOf(i); ok {
			m.pooled[i] = p
		}
		s := g.Nodes[i].Shape
		m.layers = append(m.layers, Layer{Name: g.Nodes[i].Spec.Name, Shape: append([]int(nil), s[1:]...)})
	}
}

// Layers lists the candidate target layers in graph order.
func (m *Model) Layers() []Layer {
	out := make([]Layer, len(m.layers))
	for i, l := range m.layers {
		out[i] = Layer{Name: l.Name, Shape: append([]int(nil), l.Shape...)}
	}
	return out
}

// DefaultLayer is the target layer used when a request names none: the
// model's Meta.DefaultLayer, else the last 4-D node output larger than 1×1
// before the output (the last layer before global pooling).
func (m *Model) DefaultLayer() string { return m.defaultLayer }

// Labels returns the class labels, one per output.
func (m *Model) Labels() []string { return append([]string(nil), m.labels...) }

// Meta returns the model's metadata (labels filled in).
func (m *Model) Meta() modelfile.Meta { return m.meta }

// Graph returns the built network (immutable; shared).
func (m *Model) Graph() *nn.Graph { return m.graph }

// NumClasses is the number of outputs.
func (m *Model) NumClasses() int { return len(m.labels) }

// layerIndex resolves a target layer name to its node index.
func (m *Model) layerIndex(name string) (int, error) {
	i, err := m.graph.Index(name)
	if err != nil || i == nn.InputIndex {
		return 0, fmt.Errorf("no layer named %q", name)
	}
	n := m.graph.Nodes[i]
	if len(n.Shape) != 4 || n.Const {
		return 0, fmt.Errorf("layer %q has output shape %v; a target layer needs a 4-D (N×C×H×W) output that depends on the input", name, n.Shape)
	}
	if i >= m.graph.Output {
		return 0, fmt.Errorf("layer %q is not before the output node", name)
	}
	return i, nil
}

// passThrough lists ops that do not change values (for CAM's check).
var passThrough = map[string]bool{"flatten": true, "dropout": true, "identity": true, "reshape": true}

// camRow returns the dense weights row of class c that CAM uses for target
// layer i, or an error saying why CAM does not apply: CAM needs the target
// layer to feed only a global average pool, followed (possibly through
// flatten/dropout/identity/reshape) by a single dense layer that is the
// network output.
func (m *Model) camRow(i, c int) ([]float32, error) {
	g := m.graph
	name := g.Nodes[i].Spec.Name
	next := func(j int) (int, error) {
		cs := m.consumers[j]
		if len(cs) != 1 {
			return 0, fmt.Errorf("cam: CAM needs layer %q → global average pooling → dense, but node %q feeds %d nodes", name, g.Nodes[j].Spec.Name, len(cs))
		}
		return cs[0], nil
	}
	j, err := next(i)
	if err != nil {
		return nil, err
	}
	n := g.Nodes[j]
	if !isGlobalPool(n) {
		return nil, fmt.Errorf("cam: CAM needs layer %q → global average pooling → dense, but %q is followed by %q (%s)", name, name, n.Spec.Name, n.Spec.Op)
	}
	for {
		if j == g.Output {
			return nil, fmt.Errorf("cam: CAM needs a dense layer after the global pooling of %q; the network ends at %q", name, g.Nodes[j].Spec.Name)
		}
		if j, err = next(j); err != nil {
			return nil, err
		}
		n = g.Nodes[j]
		if !passThrough[n.Spec.Op] {
			break
		}
	}
	if n.Spec.Op != "dense" {
		return nil, fmt.Errorf("cam: CAM needs layer %q → global average pooling → dense, but the pooling is followed by %q (%s)", name, n.Spec.Name, n.Spec.Op)
	}
	dense := j
	for j != g.Output {
		if j, err = next(j); err != nil {
			return nil, err
		}
		if !passThrough[g.Nodes[j].Spec.Op] {
			return nil, fmt.Errorf("cam: CAM needs the dense layer %q to give the logits, but it is followed by %q (%s)", g.Nodes[dense].Spec.Name, g.Nodes[j].Spec.Name, g.Nodes[j].Spec.Op)
		}
	}
	w := m.weights[g.Nodes[dense].Spec.Name+".weight"]
	ch := g.Nodes[i].Shape[1]
	if w == nil || w.Rank() != 2 || w.Shape[1] != ch || c < 0 || c >= w.Shape[0] {
		return nil, fmt.Errorf("cam: dense layer %q has no [K×%d] weight for class %d", g.Nodes[dense].Spec.Name, ch, c)
	}
	return append([]float32(nil), w.Data[c*ch:(c+1)*ch]...), nil
}

// globalPoolOf returns the node that pools layer i to one value per
// channel when that node is i's only reader and i its only input.
func (m *Model) globalPoolOf(i int) (int, bool) {
	g := m.graph
	if len(m.consumers[i]) != 1 {
		return 0, false
	}
	p := m.consumers[i][0]
	n := g.Nodes[p]
	if len(n.In) != 1 || n.Const {
		return 0, false
	}
	switch n.Spec.Op {
	case "avgpool", "maxpool", "globalavgpool", "reducemean":
	default:
		return 0, false
	}
	out, in := n.Shape, g.Nodes[i].Shape
	size := 1
	for _, d := range out {
		size *= d
	}
	if len(out) < 2 || out[0] != 1 || in[0] != 1 || out[1] != in[1] || size != in[1] {
		return 0, false
	}
	return p, true
}

// isGlobalPool reports whether n averages each channel over all positions.
func isGlobalPool(n *nn.Node) bool {
	switch n.Spec.Op {
	case "globalavgpool":
		return true
	case "reducemean":
		ax := n.Spec.Attrs.Axes
		if len(ax) == 0 {
			return true // default axes [2, 3]
		}
		if len(ax) != 2 {
			return false
		}
		has := map[int]bool{}
		for _, a := range ax {
			if a < 0 {
				a += 4
			}
			has[a] = true
		}
		return has[2] && has[3]
	}
	return false
}
