package nn

import (
	"errors"
	"fmt"

	"github.com/camlens/camlens/core/tensor"
)

// ErrNotFinite is wrapped by the error of a forward pass in which a node's
// output holds a NaN or an infinity. The graph input is checked before the
// pass, so the node the error names is where the first non-finite value
// appeared: its weights or its arithmetic overflow there.
var ErrNotFinite = errors.New("value not finite")

// finitePreserving lists ops whose output cannot hold a NaN or an infinity
// when their inputs do not: they only move, select or clamp values. Every
// other op's output is checked after its forward pass.
var finitePreserving = map[string]bool{
	"relu": true, "maxpool": true, "clip": true, "concat": true, "transpose": true,
	"reshape": true, "flatten": true, "identity": true, "dropout": true,
}

// checkFiniteOutput returns an error wrapping ErrNotFinite that names node
// n when out holds a non-finite value.
func checkFiniteOutput(n *Node, out *tensor.Tensor) error {
	if finitePreserving[n.Spec.Op] {
		return nil
	}
	if i := tensor.FirstNonFinite(out.Data); i >= 0 {
		return fmt.Errorf("nn: node %q (%s): %w: output element %d of %v is %v, although its inputs are finite (a weight or the arithmetic overflows here)",
			n.Spec.Name, n.Spec.Op, ErrNotFinite, i, out.Shape, out.Data[i])
	}
	return nil
}
