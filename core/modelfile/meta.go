package modelfile

import (
	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/core/tensor"
)

// Model is a network with everything needed to run and explain it: its
// graph, its weights (float32 in memory; int8 per output channel on disk
// where Write quantises them), its labels, preprocessing and provenance.
type Model struct {
	Meta    Meta
	Graph   nn.GraphSpec
	Weights map[string]*tensor.Tensor
}

// Meta describes a model for people and for the preprocessing code.
type Meta struct {
	Name         string     `json:"name"`                    // short id, e.g. "face-expression"
	Title        string     `json:"title,omitempty"`         // human title
	Description  string     `json:"description,omitempty"`   // one paragraph
	Labels       []string   `json:"labels"`                  // one per output class
	Preprocess   Preprocess `json:"preprocess"`              // how an image becomes the input tensor
	Provenance   Provenance `json:"provenance"`              // where it came from
	DefaultLayer string     `json:"default_layer,omitempty"` // target layer; empty: nn.Graph.DefaultLayer
}

// Preprocess says how an RGB image becomes the network input (1×C×H×W):
//
//  1. Fit: "stretch" resizes to Width×Height ignoring aspect; "pad-square"
//     pads with zeros (black) to a centred square first (face-api);
//     "center-crop" crops the largest centred region of the target aspect.
//  2. Resize: "bilinear" (half-pixel centres, as PyTorch/OpenCV),
//     "bilinear-tf" (tf.image.resizeBilinear, align_corners=false,
//     half_pixel_centers=false: src = dst·in/out), or "area".
//  3. Channels: "RGB", "BGR" or "L" (luma, C=1).
//  4. value[c] = (pixel[c]·Scale − Mean[c]) / Std[c], pixel in 0..255.
//
// Crop is a hint for the user interface: "square" means the user picks a
// square region (faces); empty means the whole image.
type Preprocess struct {
	Width    int       `json:"width"`
	Height   int       `json:"height"`
	Channels string    `json:"channels"`
	Fit      string    `json:"fit"`
	Resize   string    `json:"resize"`
	Scale    float32   `json:"scale"`
	Mean     []float32 `json:"mean"`
	Std      []float32 `json:"std"`
	Crop     string    `json:"crop,omitempty"`
}

// Provenance records where a model came from and under which licence.
type Provenance struct {
	Source      string            `json:"source"`                // package, URL-free description, or training script
	License     string            `json:"license"`               // SPDX id, e.g. "MIT"
	Attribution string            `json:"attribution,omitempty"` // copyright line to show
	SHA256      string            `json:"sha256,omitempty"`      // of what it was made from
	Notes       string            `json:"notes,omitempty"`
	Metrics     map[string]string `json:"metrics,omitempty"` // e.g. "test_accuracy_float": "0.912"
}
