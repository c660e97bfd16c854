package nn

// GraphSpec is the serialisable description of a network: its input and its
// nodes in topological order. Weights are stored separately, keyed by
// "<node name>.<param>" (for example "conv1.weight", "conv1.bias").
type GraphSpec struct {
	Input  InputSpec  `json:"input"`
	Nodes  []NodeSpec `json:"nodes"`
	Output string     `json:"output"` // name of the node whose value is the logits; default: the last node
}

// InputSpec names the graph input and gives its shape without the batch
// dimension (C, H, W for images).
type InputSpec struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// NodeSpec is one op application. Inputs name earlier nodes or the graph
// input. Which attributes apply depends on Op; see the op's file.
type NodeSpec struct {
	Name   string   `json:"name"`
	Op     string   `json:"op"`
	Inputs []string `json:"inputs,omitempty"`
	Attrs  Attrs    `json:"attrs,omitzero"`
}

// Attrs holds every op attribute CamLens knows. Unused fields stay zero and
// are omitted from JSON.
type Attrs struct {
	Kernel          []int    `json:"kernel,omitempty"`   // [kh, kw] (conv weights give it; pools need it)
	Stride          []int    `json:"stride,omitempty"`   // [sh, sw], default [1, 1]
	Dilation        []int    `json:"dilation,omitempty"` // [dh, dw], default [1, 1]
	Pads            []int    `json:"pads,omitempty"`     // conv/pool: [top, left, bottom, right]; pad op: ONNX order [b0,c0,h0,w0,b1,c1,h1,w1]
	Group           int      `json:"group,omitempty"`    // conv groups, default 1
	CeilMode        bool     `json:"ceil_mode,omitempty"`
	CountIncludePad bool     `json:"count_include_pad,omitempty"`
	Alpha           float32  `json:"alpha,omitempty"` // leakyrelu slope; hardsigmoid alpha
	Beta            float32  `json:"beta,omitempty"`  // hardsigmoid beta
	Min             *float32 `json:"min,omitempty"`   // clip lower bound (nil: none)
	Max             *float32 `json:"max,omitempty"`   // clip upper bound (nil: none)
	Eps             float32  `json:"eps,omitempty"`   // batchnorm epsilon
	Axis            int      `json:"axis,omitempty"`  // concat/softmax/flatten axis
	Axes            []int    `json:"axes,omitempty"`  // reducemean axes
	KeepDims        bool     `json:"keepdims,omitempty"`
	Shape           []int    `json:"shape,omitempty"` // reshape target (0 copies, -1 infers)
	Perm            []int    `json:"perm,omitempty"`  // transpose permutation
	Value           float32  `json:"value,omitempty"` // pad constant
}
