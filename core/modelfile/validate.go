package modelfile

import (
	"math"
	"sort"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// Validate checks m the way Parse checks a file, after decoding: the meta
// data, the graph's structure (names, ops of this format version, inputs
// naming earlier nodes, output and default layer naming nodes), that every
// weight a node needs is present and every weight belongs to a node, and
// that every weight has a valid shape, matching data and only finite
// values. Attributes and shapes are checked by Build. Write calls Validate
// first, so that it never writes a file Parse would reject.
func (m *Model) Validate() error {
	if m == nil {
		return errf(ErrInvalid, "nil model")
	}
	params, err := validateMetaGraph(&m.Meta, &m.Graph)
	if err != nil {
		return err
	}
	if len(m.Weights) > MaxTensors {
		return errf(ErrTooLarge, "%d weight tensors, limit %d", len(m.Weights), MaxTensors)
	}
	names := sortedKeys(m.Weights)
	for _, name := range names {
		if err := checkTensor(name, m.Weights[name]); err != nil {
			return err
		}
	}
	return checkWeightNames(params, func(name string) bool { _, ok := m.Weights[name]; return ok }, names)
}

// checkTensor checks one in-memory weight tensor.
func checkTensor(name string, t *tensor.Tensor) error {
	if t == nil {
		return errf(ErrInvalid, "tensor %q is nil", name)
	}
	if err := checkName(name); err != nil {
		return err
	}
	if len(t.Shape) > MaxRank {
		return errf(ErrInvalid, "tensor %q: rank %d over the limit %d", name, len(t.Shape), MaxRank)
	}
	n, err := tensor.NumElements(t.Shape)
	if err != nil {
		return errf(ErrTooLarge, "tensor %q: %v", name, err)
	}
	if n != len(t.Data) {
		return errf(ErrInvalid, "tensor %q: shape %v needs %d elements, data has %d", name, t.Shape, n, len(t.Data))
	}
	for i, v := range t.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return errf(ErrInvalid, "tensor %q: element %d is %v", name, i, v)
		}
	}
	return nil
}

// checkName checks a tensor name's length and that it is not the
// safetensors metadata key.
func checkName(name string) error {
	if name == "" || len(name) > MaxTensorNameBytes {
		return errf(ErrInvalid, "tensor name %.64q is empty or longer than %d bytes", name, MaxTensorNameBytes)
	}
	if name == keyMetadata {
		return errf(ErrInvalid, "tensor name %q is reserved", name)
	}
	return nil
}

// paramRef says which node parameter a tensor name stands for.
type paramRef struct {
	node, op, param string
	required        bool
}

// validateMetaGraph checks the meta data and the structure of the graph
// and returns every tensor name the graph's nodes may use.
func validateMetaGraph(meta *Meta, g *nn.GraphSpec) (map[string]paramRef, error) {
	if len(g.Nodes) == 0 {
		return nil, errf(ErrInvalid, "graph has no nodes")
	}
	if len(g.Nodes) > nn.MaxNodes {
		return nil, errf(ErrTooLarge, "graph has %d nodes, limit %d", len(g.Nodes), nn.MaxNodes)
	}
	input := g.Input.Name
	if input == "" {
		input = "input" // nn.Build's default
	}
	if len(input) > nn.MaxNameBytes {
		return nil, errf(ErrInvalid, "graph input name longer than %d bytes", nn.MaxNameBytes)
	}
	if len(g.Input.Shape) == 0 || len(g.Input.Shape) > MaxRank {
		return nil, errf(ErrInvalid, "graph input shape %v: need 1 to %d dimensions", g.Input.Shape, MaxRank)
	}
	for _, d := range g.Input.Shape {
		if d <= 0 {
			return nil, errf(ErrInvalid, "graph input shape %v has a non-positive dimension", g.Input.Shape)
		}
	}
	if _, err := tensor.NumElements(g.Input.Shape); err != nil {
		return nil, errf(ErrTooLarge, "graph input: %v", err)
	}
	seen := make(map[string]bool, len(g.Nodes))
	params := map[string]paramRef{}
	for i := range g.Nodes {
		if err := checkNodeSpec(i, &g.Nodes[i], input, seen, params); err != nil {
			return nil, err
		}
	}
	if g.Output != "" && !seen[g.Output] {
		return nil, errf(ErrInvalid, "graph output %q is not a node", g.Output)
	}
	if meta.DefaultLayer != "" && !seen[meta.DefaultLayer] {
		return nil, errf(ErrInvalid, "meta default_layer %q is not a graph node", meta.DefaultLayer)
	}
	if err := validateMeta(meta, g.Input.Shape); err != nil {
		return nil, err
	}
	return params, nil
}

// checkNodeSpec checks graph node i, ns, against the graph input's name
// and the nodes before it (seen), and adds its parameters' tensor names to
// params. (A function of its own, so that validateMetaGraph's loop stays
// small: in js/wasm every jump in a large function costs V8's tier-up
// budget in proportion to the function's size.)
func checkNodeSpec(i int, ns *nn.NodeSpec, input string, seen map[string]bool, params map[string]paramRef) error {
	if ns.Name == "" || len(ns.Name) > nn.MaxNameBytes {
		return errf(ErrInvalid, "graph node %d: name empty or longer than %d bytes", i, nn.MaxNameBytes)
	}
	if ns.Name == input {
		return errf(ErrInvalid, "graph node %d: name %q is the graph input's", i, ns.Name)
	}
	if seen[ns.Name] {
		return errf(ErrInvalid, "graph node %d: duplicate name %q", i, ns.Name)
	}
	req, opt, ok := opParams(ns.Op)
	if !ok {
		return errf(ErrInvalid, "graph node %q: op %q is not in format version %s", ns.Name, ns.Op, Version)
	}
	if in, ok := unknownInput(ns.Inputs, input, seen); ok {
		return errf(ErrInvalid, "graph node %q: input %q is not the graph input or an earlier node", ns.Name, in)
	}
	seen[ns.Name] = true
	addParams(params, ns, req, true)
	addParams(params, ns, opt, false)
	return nil
}

// unknownInput returns the first of inputs that is neither input nor in
// seen.
func unknownInput(inputs []string, input string, seen map[string]bool) (string, bool) {
	for _, in := range inputs {
		if in != input && !seen[in] {
			return in, true
		}
	}
	return "", false
}

// addParams adds the tensor names of ns's parameters ps to params.
func addParams(params map[string]paramRef, ns *nn.NodeSpec, ps []string, required bool) {
	for _, p := range ps {
		params[ns.Name+"."+p] = paramRef{ns.Name, ns.Op, p, required}
	}
}

// checkWeightNames checks that every required parameter is present (has)
// and that every tensor in names is a parameter of some node.
func checkWeightNames(params map[string]paramRef, has func(string) bool, names []string) error {
	for _, name := range sortedKeys(params) {
		if p := params[name]; p.required && !has(name) {
			return errf(ErrInvalid, "graph node %q (%s) needs weight %q, which is missing", p.node, p.op, name)
		}
	}
	for _, name := range names {
		if _, ok := params[name]; !ok {
			return errf(ErrInvalid, "tensor %q is not a parameter of any graph node", name)
		}
	}
	return nil
}

// validateMeta checks the meta data against the documented values; input
// is the graph input shape (without batch).
func validateMeta(m *Meta, input []int) error {
	if m.Name == "" {
		return errf(ErrInvalid, "meta: name is empty")
	}
	p := &m.Preprocess
	channels := 0
	switch p.Channels {
	case "":
	case "RGB", "BGR":
		channels = 3
	case "L":
		channels = 1
	default:
		return errf(ErrInvalid, "meta: preprocess channels %q: want RGB, BGR or L", p.Channels)
	}
	switch p.Fit {
	case "", "stretch", "pad-square", "center-crop":
	default:
		return errf(ErrInvalid, "meta: preprocess fit %q: want stretch, pad-square or center-crop", p.Fit)
	}
	switch p.Resize {
	case "", "bilinear", "bilinear-tf", "area":
	default:
		return errf(ErrInvalid, "meta: preprocess resize %q: want bilinear, bilinear-tf or area", p.Resize)
	}
	switch p.Crop {
	case "", "square":
	default:
		return errf(ErrInvalid, "meta: preprocess crop %q: want square or empty", p.Crop)
	}
	if p.Width < 0 || p.Height < 0 {
		return errf(ErrInvalid, "meta: preprocess size %d×%d is negative", p.Width, p.Height)
	}
	if len(input) == 3 {
		if p.Width != 0 && p.Width != input[2] || p.Height != 0 && p.Height != input[1] {
			return errf(ErrInvalid, "meta: preprocess size %d×%d does not match the graph input %v (C, H, W)", p.Width, p.Height, input)
		}
		if channels != 0 && channels != input[0] {
			return errf(ErrInvalid, "meta: preprocess channels %q give %d channels, the graph input %v has %d", p.Channels, channels, input, input[0])
		}
	}
	if !finite32(p.Scale) {
		return errf(ErrInvalid, "meta: preprocess scale %v is not finite", p.Scale)
	}
	for _, v := range []struct {
		name string
		x    []float32
	}{{"mean", p.Mean}, {"std", p.Std}} {
		if channels != 0 && len(v.x) != 0 && len(v.x) != channels {
			return errf(ErrInvalid, "meta: preprocess %s has %d values for %d channels", v.name, len(v.x), channels)
		}
		for i, x := range v.x {
			if !finite32(x) || v.name == "std" && x == 0 {
				return errf(ErrInvalid, "meta: preprocess %s[%d] = %v", v.name, i, x)
			}
		}
	}
	if s := m.Provenance.SHA256; s != "" && !isSHA256Hex(s) {
		return errf(ErrInvalid, "meta: provenance sha256 %.80q is not 64 lowercase hex digits", s)
	}
	return nil
}

func finite32(v float32) bool {
	return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
