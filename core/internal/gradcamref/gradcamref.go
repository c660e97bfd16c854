package gradcamref

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

//go:embed testdata/*.json.gz testdata/*.onnx
var files embed.FS

// Presets are the two reference networks.
var Presets = []string{"basic", "all-layers"}

// Methods are the keys of Case.Maps, the library's class names.
var Methods = []string{
	"GradCAM", "HiResCAM", "GradCAMPlusPlus", "XGradCAM", "LayerCAM",
	"EigenCAM", "ScoreCAM", "AblationCAM", "GradCAMElementWise", "GuidedBackprop",
}

// maxFileBytes bounds the decompressed size of one fixture file.
const maxFileBytes = 64 << 20

// Spec is a network as the fixtures describe it: an nn.Sequential layer
// list with the preprocessing that produced the inputs.
type Spec struct {
	Format             string    `json:"format"`
	Name               string    `json:"name"`
	InputShape         []int     `json:"input_shape"` // C, H, W
	Mean               []float32 `json:"mean"`
	Std                []float32 `json:"std"`
	Layers             []Layer   `json:"layers"`
	DefaultTargetLayer int       `json:"default_target_layer"`
}

// Layer is one entry of Spec.Layers. Which fields apply depends on Type:
// conv2d, batchnorm2d, relu, relu6, maxpool2d, avgpool2d, global_avg_pool,
// flatten, linear or dropout.
type Layer struct {
	Type            string  `json:"type"`
	OutChannels     int     `json:"out_channels"`
	Kernel          Pair    `json:"kernel"`
	Stride          Pair    `json:"stride"`
	Padding         Pair    `json:"padding"`
	Dilation        Pair    `json:"dilation"`
	Groups          int     `json:"groups"`
	Bias            *bool   `json:"bias"`
	Eps             float64 `json:"eps"`
	CeilMode        bool    `json:"ceil_mode"`
	CountIncludePad *bool   `json:"count_include_pad"`
	OutFeatures     int     `json:"out_features"`
	P               float64 `json:"p"`
}

// Pair is an int field that the layer list gives either as n (meaning
// [n, n]) or as [h, w]. The zero Pair means "absent".
type Pair []int

// UnmarshalJSON accepts a number or a two-element array.
func (p *Pair) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*p = Pair{n, n}
		return nil
	}
	var hw []int
	if err := json.Unmarshal(b, &hw); err != nil || len(hw) != 2 {
		return fmt.Errorf("want n or [h, w], got %s", b)
	}
	*p = hw
	return nil
}

func (p Pair) or(def int) []int {
	if p == nil {
		return []int{def, def}
	}
	return []int{p[0], p[1]}
}

// Network is a reference network: its layer list, the equivalent CamLens
// graph (node i is layer i, named strconv.Itoa(i)) and its weights keyed
// for nn.Build.
type Network struct {
	Spec    Spec
	Graph   nn.GraphSpec
	Weights map[string]*tensor.Tensor
}

// NodeName is the graph node of layer index i of a reference network.
func NodeName(i int) string { return strconv.Itoa(i) }

// Load returns the graph and weights of a reference network (BatchNorm not
// folded, so every layer index is a node).
func Load(preset string) (nn.GraphSpec, map[string]*tensor.Tensor, error) {
	n, err := LoadNetwork(preset)
	if err != nil {
		return nn.GraphSpec{}, nil, err
	}
	return n.Graph, n.Weights, nil
}

// LoadNetwork reads testdata/<preset>.model.json.gz and converts it.
func LoadNetwork(preset string) (*Network, error) {
	var raw struct {
		Spec    Spec                      `json:"spec"`
		Weights map[string]*tensor.Tensor `json:"weights"`
	}
	if err := readJSON(preset+".model.json", &raw); err != nil {
		return nil, err
	}
	g, w, err := convert(raw.Spec, raw.Weights)
	if err != nil {
		return nil, fmt.Errorf("gradcamref: network %q: %w", preset, err)
	}
	return &Network{Spec: raw.Spec, Graph: g, Weights: w}, nil
}

// Model wraps a reference network as a CamLens model: labels "class 0" …,
// the fixture's mean and std (pixels scaled to [0, 1]) and the default
// target layer of the fixture.
func (n *Network) Model() *modelfile.Model {
	k := 0
	for i := len(n.Spec.Layers) - 1; i >= 0; i-- {
		if n.Spec.Layers[i].Type == "linear" {
			k = n.Spec.Layers[i].OutFeatures
			break
		}
	}
	labels := make([]string, k)
	for i := range labels {
		labels[i] = fmt.Sprintf("class %d", i)
	}
	w := make(map[string]*tensor.Tensor, len(n.Weights))
	for name, t := range n.Weights {
		w[name] = t.Clone()
	}
	spec := n.Graph
	spec.Nodes = append([]nn.NodeSpec(nil), n.Graph.Nodes...)
	return &modelfile.Model{
		Meta: modelfile.Meta{
			Name:   n.Spec.Name,
			Title:  "pytorch-grad-cam reference network " + n.Spec.Name,
			Labels: labels,
			Preprocess: modelfile.Preprocess{
				Width: n.Spec.InputShape[2], Height: n.Spec.InputShape[1],
				Channels: "RGB", Fit: "stretch", Resize: "bilinear",
				Scale: 1.0 / 255, Mean: append([]float32(nil), n.Spec.Mean...), Std: append([]float32(nil), n.Spec.Std...),
			},
			Provenance: modelfile.Provenance{
				Source:  "core/internal/gradcamref/testdata (pytorch-grad-cam v1.5.5 reference fixtures)",
				License: "MIT",
			},
			DefaultLayer: NodeName(n.Spec.DefaultTargetLayer),
		},
		Graph:   spec,
		Weights: w,
	}
}

// convert maps the layer list to a graph spec. Weights are renamed where
// CamLens's parameter names differ (BatchNorm: weight→scale,
// running_mean→mean, running_var→var).
func convert(s Spec, tw map[string]*tensor.Tensor) (nn.GraphSpec, map[string]*tensor.Tensor, error) {
	if len(s.InputShape) != 3 {
		return nn.GraphSpec{}, nil, fmt.Errorf("input_shape %v, want [C, H, W]", s.InputShape)
	}
	g := nn.GraphSpec{Input: nn.InputSpec{Name: "input", Shape: append([]int(nil), s.InputShape...)}}
	w := map[string]*tensor.Tensor{}
	prev := "input"
	take := func(i int, from, to string, required bool) error {
		t, ok := tw[fmt.Sprintf("%d.%s", i, from)]
		if !ok {
			if required {
				return fmt.Errorf("layer %d: weight %q missing", i, from)
			}
			return nil
		}
		if n, err := tensor.NumElements(t.Shape); err != nil || n != len(t.Data) {
			return fmt.Errorf("layer %d: weight %q: shape %v does not match %d values", i, from, t.Shape, len(t.Data))
		}
		w[NodeName(i)+"."+to] = t
		return nil
	}
	for i, l := range s.Layers {
		n := nn.NodeSpec{Name: NodeName(i), Inputs: []string{prev}}
		var err error
		switch l.Type {
		case "conv2d":
			n.Op = "conv2d"
			p := l.Padding.or(0)
			n.Attrs = nn.Attrs{
				Kernel: l.Kernel.or(1), Stride: l.Stride.or(1), Dilation: l.Dilation.or(1),
				Pads: []int{p[0], p[1], p[0], p[1]}, Group: max(l.Groups, 1),
			}
			err = take(i, "weight", "weight", true)
			if err == nil && (l.Bias == nil || *l.Bias) {
				err = take(i, "bias", "bias", l.Bias != nil)
			}
		case "batchnorm2d":
			n.Op = "batchnorm"
			n.Attrs.Eps = 1e-5
			if l.Eps != 0 {
				n.Attrs.Eps = float32(l.Eps)
			}
			for _, m := range [][2]string{{"weight", "scale"}, {"bias", "bias"}, {"running_mean", "mean"}, {"running_var", "var"}} {
				if err = take(i, m[0], m[1], true); err != nil {
					break
				}
			}
		case "relu":
			n.Op = "relu"
		case "relu6":
			lo, hi := float32(0), float32(6)
			n.Op, n.Attrs.Min, n.Attrs.Max = "clip", &lo, &hi
		case "maxpool2d", "avgpool2d":
			k := l.Kernel.or(1)
			p := l.Padding.or(0)
			n.Attrs = nn.Attrs{Kernel: k, Stride: l.Stride.or(0), Pads: []int{p[0], p[1], p[0], p[1]}, CeilMode: l.CeilMode}
			if l.Stride == nil { // PyTorch: stride defaults to the kernel size
				n.Attrs.Stride = k
			}
			if l.Type == "maxpool2d" {
				n.Op = "maxpool"
				n.Attrs.Dilation = l.Dilation.or(1)
			} else {
				n.Op = "avgpool"
				n.Attrs.CountIncludePad = l.CountIncludePad == nil || *l.CountIncludePad // PyTorch default: true
			}
		case "global_avg_pool":
			n.Op = "globalavgpool"
		case "flatten":
			n.Op = "flatten"
			n.Attrs.Axis = 1
		case "linear":
			n.Op = "dense"
			err = take(i, "weight", "weight", true)
			if err == nil && (l.Bias == nil || *l.Bias) {
				err = take(i, "bias", "bias", l.Bias != nil)
			}
		case "dropout":
			n.Op = "dropout"
		default:
			err = fmt.Errorf("layer %d: unknown type %q", i, l.Type)
		}
		if err != nil {
			return nn.GraphSpec{}, nil, err
		}
		g.Nodes = append(g.Nodes, n)
		prev = n.Name
	}
	if len(g.Nodes) == 0 {
		return nn.GraphSpec{}, nil, errors.New("no layers")
	}
	g.Output = prev
	return g, w, nil
}

// ONNX returns testdata/<preset>.onnx, the network as torch.onnx.export
// wrote it (opset 13; BatchNorm folded into the convolutions).
func ONNX(preset string) ([]byte, error) {
	b, err := files.ReadFile(path.Join("testdata", preset+".onnx"))
	if err != nil {
		return nil, fmt.Errorf("gradcamref: %w", err)
	}
	return b, nil
}

// Case is one reference explanation: target layer Layer (an index into the
// layer list, node NodeName(Layer)), class Class.
type Case struct {
	Name      string // e.g. "basic.L3.c2"
	Preset    string
	Layer     int
	LayerType string
	Class     int
	// Input is 1×C×H×W, already normalised. Logits is 1×K.
	Input, Logits *tensor.Tensor
	// Activations and Gradients (of the raw logit of Class) at the target
	// layer, 1×C×h×w.
	Activations, Gradients *tensor.Tensor
	// Maps holds the library's output per method (keys as in Methods):
	// H×W, except GuidedBackprop, H×W×C.
	Maps map[string]*tensor.Tensor
	// EigenCAMFlipped is the EigenCAM map for the opposite SVD sign.
	EigenCAMFlipped *tensor.Tensor
	// ONNXTensor names the ONNX tensor holding the target layer's output,
	// or is empty where the exporter folded it away.
	ONNXTensor string
}

// Cases lists the names of all cases, sorted.
func Cases() []string {
	ents, err := fs.ReadDir(files, "testdata")
	if err != nil {
		panic("gradcamref: embedded testdata missing: " + err.Error())
	}
	var out []string
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".json.gz")
		if ok && strings.Contains(n, ".L") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// cache keeps decoded cases: JSON decoding dominates the tests' run time,
// under js/wasm especially. LoadCase hands out deep copies.
var cache struct {
	sync.Mutex
	cases map[string]*Case
}

// LoadCase reads testdata/<name>.json.gz and adds the batch dimension to
// Input, Logits, Activations and Gradients. Each call returns a fresh copy
// (decoded once per process).
func LoadCase(name string) (*Case, error) {
	cache.Lock()
	defer cache.Unlock()
	c, ok := cache.cases[name]
	if !ok {
		var err error
		if c, err = loadCase(name); err != nil {
			return nil, err
		}
		if cache.cases == nil {
			cache.cases = map[string]*Case{}
		}
		cache.cases[name] = c
	}
	return c.clone(), nil
}

func (c *Case) clone() *Case {
	d := *c
	d.Input, d.Logits, d.Activations, d.Gradients = c.Input.Clone(), c.Logits.Clone(), c.Activations.Clone(), c.Gradients.Clone()
	d.EigenCAMFlipped = c.EigenCAMFlipped.Clone()
	d.Maps = make(map[string]*tensor.Tensor, len(c.Maps))
	for k, v := range c.Maps {
		d.Maps[k] = v.Clone()
	}
	return &d
}

func loadCase(name string) (*Case, error) {
	var raw struct {
		Preset          string                    `json:"preset"`
		Layer           int                       `json:"target_layer_index"`
		LayerType       string                    `json:"target_layer_type"`
		Class           int                       `json:"target_class"`
		Input           *tensor.Tensor            `json:"input"`
		Logits          *tensor.Tensor            `json:"logits"`
		Activations     *tensor.Tensor            `json:"activations"`
		Gradients       *tensor.Tensor            `json:"gradients"`
		Maps            map[string]*tensor.Tensor `json:"maps"`
		EigenCAMFlipped *tensor.Tensor            `json:"eigencam_flipped"`
		ONNXTensor      *string                   `json:"onnx_tensor"`
	}
	if err := readJSON(name+".json", &raw); err != nil {
		return nil, err
	}
	c := &Case{
		Name: name, Preset: raw.Preset, Layer: raw.Layer, LayerType: raw.LayerType, Class: raw.Class,
		Input: raw.Input, Logits: raw.Logits, Activations: raw.Activations, Gradients: raw.Gradients,
		Maps: raw.Maps, EigenCAMFlipped: raw.EigenCAMFlipped,
	}
	if raw.ONNXTensor != nil {
		c.ONNXTensor = *raw.ONNXTensor
	}
	for _, p := range []struct {
		what string
		t    *tensor.Tensor
	}{{"input", c.Input}, {"logits", c.Logits}, {"activations", c.Activations}, {"gradients", c.Gradients}, {"eigencam_flipped", c.EigenCAMFlipped}} {
		if p.t == nil {
			return nil, fmt.Errorf("gradcamref: case %q: %s missing", name, p.what)
		}
		if err := check(p.t); err != nil {
			return nil, fmt.Errorf("gradcamref: case %q: %s: %w", name, p.what, err)
		}
		if p.what != "eigencam_flipped" {
			p.t.Shape = append([]int{1}, p.t.Shape...)
		}
	}
	for _, m := range Methods {
		t, ok := c.Maps[m]
		if !ok || t == nil {
			return nil, fmt.Errorf("gradcamref: case %q: map %s missing", name, m)
		}
		if err := check(t); err != nil {
			return nil, fmt.Errorf("gradcamref: case %q: map %s: %w", name, m, err)
		}
	}
	return c, nil
}

// MustLoadCase is LoadCase for tests: it panics on error.
func MustLoadCase(name string) *Case {
	c, err := LoadCase(name)
	if err != nil {
		panic(err)
	}
	return c
}

func check(t *tensor.Tensor) error {
	n, err := tensor.NumElements(t.Shape)
	if err != nil {
		return err
	}
	if n != len(t.Data) {
		return fmt.Errorf("shape %v needs %d values, has %d", t.Shape, n, len(t.Data))
	}
	return nil
}

func readJSON(name string, v any) error {
	data, err := files.ReadFile(path.Join("testdata", name+".gz"))
	if err != nil {
		return fmt.Errorf("gradcamref: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("gradcamref: %s: %w", name, err)
	}
	plain, err := io.ReadAll(io.LimitReader(zr, maxFileBytes+1))
	if err != nil {
		return fmt.Errorf("gradcamref: %s: %w", name, err)
	}
	if len(plain) > maxFileBytes {
		return fmt.Errorf("gradcamref: %s: larger than %d bytes", name, maxFileBytes)
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("gradcamref: %s: %w", name, err)
	}
	return nil
}
