// Package camtest gives tests outside core/ (the command-line tools) the
// pytorch-grad-cam reference fixtures of core/internal/gradcamref, which
// Go's internal-package rule keeps from them. It is for tests only:
// importing it embeds the fixtures (about 2.7 MB).
package camtest

import (
	"github.com/camlens/camlens/core/internal/gradcamref"
	"github.com/camlens/camlens/core/modelfile"
)

// Case is one reference explanation (see gradcamref.Case).
type Case = gradcamref.Case

// Presets are the names of the two reference networks.
var Presets = gradcamref.Presets

// Cases lists the 12 case names, sorted.
func Cases() []string { return gradcamref.Cases() }

// LoadCase returns a fresh copy of one case.
func LoadCase(name string) (*Case, error) { return gradcamref.LoadCase(name) }

// NodeName is the graph node of layer index i of a reference network.
func NodeName(i int) string { return gradcamref.NodeName(i) }

// Model returns a reference network as a CamLens model (float32 weights,
// BatchNorm not folded, node i = layer i).
func Model(preset string) (*modelfile.Model, error) {
	n, err := gradcamref.LoadNetwork(preset)
	if err != nil {
		return nil, err
	}
	return n.Model(), nil
}

// ONNX returns a reference network's ONNX export.
func ONNX(preset string) ([]byte, error) { return gradcamref.ONNX(preset) }
