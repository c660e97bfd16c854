package modelfile

import (
	"fmt"

	"github.com/camlens/camlens/core/nn"
)

// Build validates the graph against the registered ops and the weights
// (nn.Build) and checks that the output has one value per label and that
// the default layer, if set, is a node.
func (m *Model) Build() (*nn.Graph, error) {
	g, err := nn.Build(m.Graph, m.Weights)
	if err != nil {
		return nil, fmt.Errorf("modelfile: build %q: %w", m.Meta.Name, err)
	}
	out := g.Nodes[g.Output]
	n := 1
	for _, d := range out.Shape[1:] {
		n *= d
	}
	if len(m.Meta.Labels) > 0 && len(m.Meta.Labels) != n {
		return nil, fmt.Errorf("modelfile: build %q: %d labels, but output node %q has %d values (shape %v)", m.Meta.Name, len(m.Meta.Labels), out.Spec.Name, n, out.Shape)
	}
	if m.Meta.DefaultLayer != "" {
		if _, err := g.Index(m.Meta.DefaultLayer); err != nil {
			return nil, fmt.Errorf("modelfile: build %q: default layer: %w", m.Meta.Name, err)
		}
	}
	return g, nil
}
