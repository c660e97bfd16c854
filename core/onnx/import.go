package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// Supported opset range of the default ("ai.onnx") domain.
const (
	MinOpset = 1
	MaxOpset = 21
)

// Options adjust an import. The zero value imports with defaults.
type Options struct {
	// Name, Title and the provenance go into the model's meta.
	Name       string
	Title      string
	Provenance modelfile.Provenance
	// Labels name the output classes; default "class 0" … "class K-1".
	Labels []string
	// Preprocess replaces the defaults derived from the input shape
	// (ImageNet mean/std for 3 channels, stretch + bilinear resize).
	Preprocess *modelfile.Preprocess
	// Constants turns graph inputs into constants (weights that an
	// exporter left as inputs), keyed by ONNX input name.
	Constants map[string]*tensor.Tensor
	// InputShape gives the full ONNX input shape (batch first) where the
	// model's is symbolic; a 0 keeps the model's dimension. Default:
	// symbolic batch 1, other symbolic dimensions an error.
	InputShape []int
	// Output names the ONNX tensor that holds the logits; default the
	// graph's first output.
	Output string
	// WholeInput treats the whole ONNX input as one item: the CamLens input
	// is 1×(ONNX shape) and a reshape drops the leading 1. The graph then
	// computes exactly the ONNX shapes even where ops move or mix the
	// batch axis (used to run the ONNX conformance tests).
	WholeInput bool
	// Limits default to DefaultLimits.
	Limits *Limits

	consts map[string]*value // typed constants (tests)
}

// Import decodes an ONNX model and converts it into a CamLens model with
// default options.
func Import(data []byte) (*modelfile.Model, error) {
	return ImportWith(data, Options{})
}

// ImportWith decodes an ONNX model and converts it into a CamLens model:
// every ONNX node becomes one or more nn nodes (named by the ONNX output
// tensor, so every kept tensor is addressable by its ONNX name), constant
// subgraphs are folded, BatchNormalization is folded into the preceding
// Conv or Gemm/MatMul, and MatMul + Add becomes one dense node.
func ImportWith(data []byte, opt Options) (*modelfile.Model, error) {
	lim := DefaultLimits
	if opt.Limits != nil {
		lim = *opt.Limits
	}
	mp, err := decodeModel(data, lim)
	if err != nil {
		return nil, err
	}
	im, err := newImporter(mp, opt, lim)
	if err != nil {
		return nil, err
	}
	if err := im.run(); err != nil {
		return nil, err
	}
	m, err := im.finish()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if m.Meta.Provenance.SHA256 == "" {
		m.Meta.Provenance.SHA256 = hex.EncodeToString(sum[:])
	}
	return m, nil
}

// entry is what an ONNX tensor name stands for during the import: a
// constant, or the output of an nn node (or of the graph input).
type entry struct {
	c     *value // non-nil: a constant
	node  string // nn node (or input) name
	shape []int  // shape for this import's batch size
	// batch reports that dimension 0 is the batch: every item of the batch
	// flows through it independently, so shapes written for it use 0
	// ("copy") instead of the concrete batch size.
	batch bool
	// quant marks the output of QuantizeLinear on an activation: only a
	// DequantizeLinear may consume it (activations stay float32).
	quant *entry
}

type importer struct {
	mp      *modelfile.Model
	model   *modelProto
	opt     Options
	lim     Limits
	opset   int
	env     map[string]*entry
	prod    map[string]int // tensor → index of the node producing it
	used    map[string]int // tensor → number of consumers (graph outputs count)
	spec    nn.GraphSpec
	weights map[string]*tensor.Tensor
	names   map[string]bool
	shapes  map[string][]int // nn node → shape tracked by the importer
	consts  map[*value]string
	folded  int // elements of folded constants
	inName  string
	inShape []int
}

func newImporter(mp *modelProto, opt Options, lim Limits) (*importer, error) {
	im := &importer{
		model:   mp,
		opt:     opt,
		lim:     lim,
		env:     map[string]*entry{},
		prod:    map[string]int{},
		used:    map[string]int{},
		weights: map[string]*tensor.Tensor{},
		names:   map[string]bool{},
		shapes:  map[string][]int{},
		consts:  map[*value]string{},
	}
	if mp.HasFunctions {
		return nil, errors.New("onnx: model-local functions are not supported")
	}
	if mp.Graph.HasSparse {
		return nil, errors.New("onnx: sparse initializers are not supported")
	}
	im.opset = -1
	for _, o := range mp.Opsets {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			v, err := toInt(o.Version, "opset version")
			if err != nil {
				return nil, fmt.Errorf("onnx: %w", err)
			}
			im.opset = v
		}
	}
	switch {
	case im.opset < 0 && len(mp.Opsets) == 0:
		return nil, errors.New("onnx: model declares no opset_import")
	case im.opset < 0:
		return nil, errors.New("onnx: model does not import the default ONNX domain")
	case im.opset < MinOpset || im.opset > MaxOpset:
		return nil, fmt.Errorf("onnx: opset %d is outside the supported range %d–%d", im.opset, MinOpset, MaxOpset)
	}
	return im, nil
}

// run maps every node.
func (im *importer) run() error {
	g := im.model.Graph
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if j, dup := im.prod[o]; dup {
				return fmt.Errorf("onnx: tensor %q is produced twice (nodes %d and %d)", o, j, i)
			}
			im.prod[o] = i
		}
		for _, in := range n.Inputs {
			if in != "" {
				im.used[in]++
			}
		}
	}
	for _, o := range g.Outputs {
		im.used[o.Name]++
	}
	if err := im.inputs(); err != nil {
		return err
	}
	for i, n := range g.Nodes {
		if err := im.node(i, n); err != nil {
			return err
		}
	}
	return nil
}

// inputs registers initialisers and the graph input.
func (im *importer) inputs() error {
	g := im.model.Graph
	for _, t := range g.Initializers {
		if t.Name == "" {
			return errors.New("onnx: an initializer has no name")
		}
		if _, dup := im.env[t.Name]; dup {
			return fmt.Errorf("onnx: initializer %q appears twice", t.Name)
		}
		if im.used[t.Name] == 0 {
			continue // unused weights (for example of a removed head) cost nothing
		}
		v, err := toValue(t)
		if err != nil {
			return fmt.Errorf("onnx: initializer: %w", err)
		}
		im.env[t.Name] = &entry{c: v, shape: v.Shape}
	}
	var dyn []*valueInfo
	for _, in := range g.Inputs {
		if _, ok := im.env[in.Name]; ok {
			continue // IR < 4 lists initialisers among the inputs too
		}
		if v, ok := im.opt.consts[in.Name]; ok {
			im.env[in.Name] = &entry{c: v, shape: v.Shape}
			continue
		}
		if t, ok := im.opt.Constants[in.Name]; ok {
			v := floatValue(append([]int(nil), t.Shape...), append([]float32(nil), t.Data...))
			im.env[in.Name] = &entry{c: v, shape: v.Shape}
			continue
		}
		if im.used[in.Name] == 0 {
			continue
		}
		dyn = append(dyn, in)
	}
	if len(dyn) == 0 {
		return errors.New("onnx: the graph has no (non-constant) input; CamLens needs one float image input")
	}
	if len(dyn) > 1 {
		var names []string
		for _, d := range dyn {
			names = append(names, d.Name)
		}
		return fmt.Errorf("onnx: the graph has %d inputs %q; CamLens models take one (give the others as constants)", len(dyn), names)
	}
	in := dyn[0]
	if in.NotTensor || in.ElemType != dtFloat {
		return fmt.Errorf("onnx: input %q is %s, want a FLOAT tensor", in.Name, dtypeName(in.ElemType))
	}
	if !in.HasShape || len(in.Dims) == 0 {
		return fmt.Errorf("onnx: input %q has no shape", in.Name)
	}
	if n := len(im.opt.InputShape); n > 0 && n != len(in.Dims) {
		return fmt.Errorf("onnx: InputShape %v has rank %d, input %q has rank %d", im.opt.InputShape, n, in.Name, len(in.Dims))
	}
	shape := make([]int, len(in.Dims))
	for i, d := range in.Dims {
		known := d.Known && d.Value > 0
		if len(im.opt.InputShape) > 0 && im.opt.InputShape[i] != 0 {
			want := im.opt.InputShape[i]
			if known && int64(want) != d.Value {
				return fmt.Errorf("onnx: InputShape %v disagrees with input %q dimension %d = %d", im.opt.InputShape, in.Name, i, d.Value)
			}
			shape[i] = want
			continue
		}
		switch {
		case known:
			v, err := toInt(d.Value, "input dimension")
			if err != nil {
				return fmt.Errorf("onnx: input %q: %w", in.Name, err)
			}
			shape[i] = v
		case i == 0:
			shape[i] = 1 // symbolic batch
		default:
			return fmt.Errorf("onnx: input %q dimension %d is symbolic (%q); give Options.InputShape", in.Name, i, d.Param)
		}
	}
	for _, d := range shape {
		if d <= 0 {
			return fmt.Errorf("onnx: input %q shape %v has a non-positive dimension", in.Name, shape)
		}
	}
	if _, err := tensor.NumElements(shape); err != nil {
		return fmt.Errorf("onnx: input %q: %w", in.Name, err)
	}
	if in.Name == "" || len(in.Name) > nn.MaxNameBytes {
		return fmt.Errorf("onnx: input name %q is empty or too long", in.Name)
	}
	im.inName = in.Name
	im.inShape = shape
	im.names[in.Name] = true
	if im.opt.WholeInput {
		im.spec.Input = nn.InputSpec{Name: in.Name, Shape: append([]int(nil), shape...)}
		e, err := im.emit(in.Name+"#whole", "reshape", []string{in.Name}, nn.Attrs{Shape: shape}, nil, shape, false)
		if err != nil {
			return err
		}
		im.env[in.Name] = e
		return nil
	}
	if len(shape) < 2 {
		return fmt.Errorf("onnx: input %q has shape %v; CamLens inputs are N×… with at least one dimension after the batch", in.Name, shape)
	}
	im.spec.Input = nn.InputSpec{Name: in.Name, Shape: append([]int(nil), shape[1:]...)}
	im.env[in.Name] = &entry{node: in.Name, shape: shape, batch: true}
	im.shapes[in.Name] = shape
	return nil
}

// controlFlow are ops that carry subgraphs; they are refused by name.
var controlFlow = map[string]bool{"Loop": true, "If": true, "Scan": true, "SequenceMap": true}

func (im *importer) node(i int, n *nodeProto) error {
	where := func() string {
		name := n.Name
		if name == "" && len(n.Outputs) > 0 {
			name = n.Outputs[0]
		}
		return fmt.Sprintf("node %d %q (%s, opset %d)", i, name, n.OpType, im.opset)
	}
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return fmt.Errorf("onnx: %s: op %s.%s from domain %q is not supported", where(), n.Domain, n.OpType, n.Domain)
	}
	if controlFlow[n.OpType] {
		return fmt.Errorf("onnx: %s: control-flow op %s is not supported (CamLens graphs are static DAGs)", where(), n.OpType)
	}
	for _, a := range n.Attrs {
		if a.HasGraph {
			return fmt.Errorf("onnx: %s: attribute %q holds a subgraph; ops with subgraphs are not supported", where(), a.Name)
		}
	}
	h, ok := handlers[n.OpType]
	if !ok {
		return fmt.Errorf("onnx: %s: unsupported op %s", where(), n.OpType)
	}
	if len(n.Outputs) == 0 || n.Outputs[0] == "" {
		return fmt.Errorf("onnx: %s: node has no output", where())
	}
	in := make([]*entry, len(n.Inputs))
	for k, name := range n.Inputs {
		if name == "" {
			continue // an omitted optional input
		}
		e, ok := im.env[name]
		if !ok {
			if j, later := im.prod[name]; later && j >= i {
				return fmt.Errorf("onnx: %s: input %q is produced by node %d, which does not come earlier (ONNX graphs must be topologically sorted and acyclic)", where(), name, j)
			}
			return fmt.Errorf("onnx: %s: input %q is not a graph input, initializer or earlier node output", where(), name)
		}
		if e.quant != nil && n.OpType != "DequantizeLinear" {
			return fmt.Errorf("onnx: %s: input %q is a quantized activation; only DequantizeLinear may read it (CamLens activations are float32)", where(), name)
		}
		in[k] = e
	}
	c := &call{im: im, n: n, in: in, where: where()}
	outs, err := h(c)
	if err != nil {
		return fmt.Errorf("onnx: %s: %w", where(), err)
	}
	for k, o := range n.Outputs {
		if o == "" {
			continue
		}
		if k >= len(outs) || outs[k] == nil {
			if im.used[o] > 0 {
				return fmt.Errorf("onnx: %s: output %d (%q) is used but not supported", where(), k, o)
			}
			continue
		}
		if outs[k].c != nil {
			if err := im.countConst(outs[k].c); err != nil {
				return fmt.Errorf("onnx: %s: %w", where(), err)
			}
		}
		im.env[o] = outs[k]
	}
	return nil
}

func (im *importer) countConst(v *value) error {
	im.folded += v.Len()
	if im.folded > im.lim.MaxConstElems {
		return fmt.Errorf("folded constants exceed %d elements: %w", im.lim.MaxConstElems, ErrTooLarge)
	}
	return nil
}

// fresh returns an unused nn node name based on base.
func (im *importer) fresh(base string) string {
	if base != "" && !im.names[base] && !im.taken(base) {
		return base
	}
	for k := 1; ; k++ {
		s := fmt.Sprintf("%s#%d", base, k)
		if !im.names[s] && !im.taken(s) {
			return s
		}
	}
}

// taken reports whether an ONNX tensor other than the one being named
// already owns the name (so that helper nodes never steal an ONNX name).
func (im *importer) taken(name string) bool {
	_, p := im.prod[name]
	_, e := im.env[name]
	return p || e
}

// emit appends an nn node. name must be unused; params are stored as
// "<name>.<param>".
func (im *importer) emit(name, op string, inputs []string, attrs nn.Attrs, params map[string]*tensor.Tensor, shape []int, batch bool) (*entry, error) {
	if im.names[name] {
		return nil, fmt.Errorf("nn node name %q used twice", name)
	}
	if name == "" || len(name) > nn.MaxNameBytes {
		return nil, fmt.Errorf("tensor name %q is empty or longer than %d bytes", name, nn.MaxNameBytes)
	}
	if len(im.spec.Nodes) >= nn.MaxNodes {
		return nil, fmt.Errorf("more than %d CamLens nodes: %w", nn.MaxNodes, ErrTooLarge)
	}
	if _, err := tensor.NumElements(shape); err != nil {
		return nil, fmt.Errorf("output %q: %w", name, err)
	}
	im.names[name] = true
	im.spec.Nodes = append(im.spec.Nodes, nn.NodeSpec{Name: name, Op: op, Inputs: inputs, Attrs: attrs})
	for k, t := range params {
		im.weights[name+"."+k] = t
	}
	im.shapes[name] = shape
	return &entry{node: name, shape: shape, batch: batch}, nil
}

// nodeOf returns the nn node that holds e, materialising a constant as a
// "const" node (named after base, once per constant).
func (im *importer) nodeOf(e *entry, base string) (string, error) {
	if e.c == nil {
		return e.node, nil
	}
	if name, ok := im.consts[e.c]; ok {
		return name, nil
	}
	if !e.c.IsFloat() && e.c.DType != dtBool && !isIntType(e.c.DType) {
		return "", fmt.Errorf("constant %q of %s cannot become a float tensor", base, dtypeName(e.c.DType))
	}
	t := e.c.Tensor()
	if err := t.CheckFinite(); err != nil {
		return "", fmt.Errorf("constant %q: %w", base, err)
	}
	name := base
	if im.names[base] || base == "" || im.env[base] != e && im.taken(base) {
		name = im.fresh(base)
	}
	if _, err := im.emit(name, "const", nil, nn.Attrs{}, map[string]*tensor.Tensor{"value": t}, e.c.Shape, false); err != nil {
		return "", err
	}
	im.consts[e.c] = name
	return name, nil
}

// finish picks the output, prunes, runs the graph passes and builds the
// meta.
func (im *importer) finish() (*modelfile.Model, error) {
	g := im.model.Graph
	out := im.opt.Output
	if out == "" {
		if len(g.Outputs) == 0 {
			return nil, errors.New("onnx: the graph has no outputs")
		}
		out = g.Outputs[0].Name
	}
	e, ok := im.env[out]
	if !ok {
		return nil, fmt.Errorf("onnx: output %q is not computed by the graph", out)
	}
	if e.quant != nil {
		return nil, fmt.Errorf("onnx: output %q is a quantized (integer) tensor", out)
	}
	if e.c != nil {
		if _, err := im.nodeOf(e, out); err != nil {
			return nil, fmt.Errorf("onnx: output %q: %w", out, err)
		}
		e = &entry{node: im.consts[e.c], shape: e.c.Shape}
	}
	if e.node == im.inName {
		if _, err := im.emit(im.fresh(out+"#out"), "identity", []string{e.node}, nn.Attrs{}, nil, e.shape, e.batch); err != nil {
			return nil, err
		}
		e = &entry{node: im.spec.Nodes[len(im.spec.Nodes)-1].Name, shape: e.shape}
	}
	im.spec.Output = e.node
	im.prune()
	spec, w := fuseDenseBias(im.spec, im.weights)
	spec, w, err := nn.FoldBatchNorm(spec, w)
	if err != nil {
		return nil, fmt.Errorf("onnx: folding batch norms: %w", err)
	}
	if err := checkWeightsFinite(w); err != nil {
		return nil, err
	}
	graph, err := nn.Build(spec, w)
	if err != nil {
		return nil, fmt.Errorf("onnx: the converted graph does not build: %w", err)
	}
	if im.inShape[0] == 1 || im.opt.WholeInput {
		// Cross-check the importer's shape tracking against nn's.
		for _, nd := range graph.Nodes {
			if s, ok := im.shapes[nd.Spec.Name]; ok && !sameInts(s, nd.Shape) {
				return nil, fmt.Errorf("onnx: internal error: node %q (%s) has shape %v in nn, %v in the importer", nd.Spec.Name, nd.Spec.Op, nd.Shape, s)
			}
		}
	}
	meta, err := im.meta(graph)
	if err != nil {
		return nil, err
	}
	return &modelfile.Model{Meta: meta, Graph: spec, Weights: w}, nil
}

// prune drops nodes the output does not depend on.
func (im *importer) prune() {
	need := map[string]bool{im.spec.Output: true}
	for i := len(im.spec.Nodes) - 1; i >= 0; i-- {
		n := im.spec.Nodes[i]
		if need[n.Name] {
			for _, in := range n.Inputs {
				need[in] = true
			}
		}
	}
	kept := im.spec.Nodes[:0]
	removed := map[string]bool{}
	for _, n := range im.spec.Nodes {
		if need[n.Name] {
			kept = append(kept, n)
		} else {
			removed[n.Name] = true
		}
	}
	// Parameters are "<node>.<param>" and param names have no dot.
	for k := range im.weights {
		if i := strings.LastIndex(k, "."); i >= 0 && removed[k[:i]] {
			delete(im.weights, k)
		}
	}
	im.spec.Nodes = kept
}

// fuseDenseBias turns dense (no bias) → add(const [OUT] or [1,OUT]) into
// one dense node with that bias, named after the add (MatMul + Add).
func fuseDenseBias(spec nn.GraphSpec, w map[string]*tensor.Tensor) (nn.GraphSpec, map[string]*tensor.Tensor) {
	consumers := map[string]int{spec.Output: 1}
	index := map[string]int{}
	for i, n := range spec.Nodes {
		index[n.Name] = i
		for _, in := range n.Inputs {
			consumers[in]++
		}
	}
	removed := map[string]bool{}
	rename := map[string]string{}
	for i := range spec.Nodes {
		add := &spec.Nodes[i]
		if add.Op != "add" || len(add.Inputs) != 2 {
			continue
		}
		for side := 0; side < 2; side++ {
			d, c := add.Inputs[side], add.Inputs[1-side]
			di, ok1 := index[d]
			ci, ok2 := index[c]
			if !ok1 || !ok2 || removed[d] {
				continue
			}
			dn, cn := &spec.Nodes[di], &spec.Nodes[ci]
			if dn.Op != "dense" || cn.Op != "const" || consumers[d] != 1 || w[d+".bias"] != nil {
				continue
			}
			wt, cv := w[d+".weight"], w[c+".value"]
			if wt == nil || cv == nil || wt.Rank() != 2 {
				continue
			}
			outN := wt.Shape[0]
			if !(cv.Rank() == 1 && cv.Shape[0] == outN) && !(cv.Rank() == 2 && cv.Shape[0] == 1 && cv.Shape[1] == outN) {
				continue
			}
			// The add takes the dense node's place: same name as the add,
			// dense's input and weights.
			name := add.Name
			w[name+".weight"] = wt
			w[name+".bias"] = &tensor.Tensor{Shape: []int{outN}, Data: append([]float32(nil), cv.Data...)}
			delete(w, d+".weight")
			*add = nn.NodeSpec{Name: name, Op: "dense", Inputs: dn.Inputs, Attrs: dn.Attrs}
			removed[d] = true
			consumers[c]--
			rename[d] = name
			break
		}
	}
	if len(removed) == 0 {
		return spec, w
	}
	var nodes []nn.NodeSpec
	for _, n := range spec.Nodes {
		if removed[n.Name] {
			continue
		}
		if n.Op == "const" && consumers[n.Name] == 0 {
			delete(w, n.Name+".value")
			continue
		}
		nodes = append(nodes, n)
	}
	// The dense input came earlier than the dense node, and the add is
	// where the dense was or later, so the order stays topological.
	spec.Nodes = nodes
	return spec, w
}

// meta builds labels, preprocessing and provenance.
func (im *importer) meta(g *nn.Graph) (modelfile.Meta, error) {
	out := g.Nodes[g.Output].Shape
	k := 1
	if len(out) >= 2 {
		k = prod(out[1:])
	}
	m := modelfile.Meta{Name: im.opt.Name, Title: im.opt.Title, Provenance: im.opt.Provenance}
	if m.Name == "" {
		m.Name = im.model.Graph.Name
	}
	if m.Name == "" {
		m.Name = "onnx-model"
	}
	if len(im.opt.Labels) > 0 {
		if len(im.opt.Labels) != k {
			return m, fmt.Errorf("onnx: %d labels given for %d outputs (output shape %v)", len(im.opt.Labels), k, out)
		}
		m.Labels = append([]string(nil), im.opt.Labels...)
	} else {
		m.Labels = make([]string, k)
		for i := range m.Labels {
			m.Labels[i] = fmt.Sprintf("class %d", i)
		}
	}
	if im.opt.Preprocess != nil {
		m.Preprocess = *im.opt.Preprocess
	} else {
		m.Preprocess = DefaultPreprocess(im.inShape)
	}
	if m.Provenance.Source == "" {
		src := "ONNX model"
		if p := im.model.ProducerName; p != "" {
			src += " exported by " + strings.TrimSpace(p+" "+im.model.ProducerVersion)
		}
		m.Provenance.Source = fmt.Sprintf("%s (opset %d)", src, im.opset)
	}
	if len(im.model.Metadata) > 0 && m.Provenance.Notes == "" {
		keys := make([]string, 0, len(im.model.Metadata))
		for k := range im.model.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s; ", k, im.model.Metadata[k])
		}
		m.Provenance.Notes = strings.TrimSuffix(b.String(), "; ")
	}
	return m, nil
}

// DefaultPreprocess derives preprocessing from an N×C×H×W input shape:
// stretch to W×H with bilinear resizing, pixels scaled to [0, 1], then the
// ImageNet mean and standard deviation for 3 channels (RGB), or none for 1
// channel (luma). Other shapes get only the size fields that apply.
func DefaultPreprocess(shape []int) modelfile.Preprocess {
	p := modelfile.Preprocess{Fit: "stretch", Resize: "bilinear", Scale: 1.0 / 255}
	if len(shape) != 4 {
		return p
	}
	p.Height, p.Width = shape[2], shape[3]
	switch shape[1] {
	case 3:
		p.Channels = "RGB"
		p.Mean = []float32{0.485, 0.456, 0.406}
		p.Std = []float32{0.229, 0.224, 0.225}
	case 1:
		p.Channels = "L"
		p.Mean = []float32{0}
		p.Std = []float32{1}
	}
	return p
}

// checkWeightsFinite refuses a NaN or an infinity in any weight (after
// BatchNorm folding, which can overflow): no real network has one, and the
// forward pass would only find it later.
func checkWeightsFinite(w map[string]*tensor.Tensor) error {
	names := make([]string, 0, len(w))
	for k := range w {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for i, v := range w[k].Data {
			if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
				return fmt.Errorf("onnx: weight %q: element %d is %v (%w): the model's weights are damaged, or a BatchNormalization folded into this node overflows",
					k, i, v, nn.ErrNotFinite)
			}
		}
	}
	return nil
}
