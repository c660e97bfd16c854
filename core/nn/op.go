package nn

import (
	"fmt"
	"sort"

	"github.com/camlens/camlens/core/tensor"
)

// Op is one node's computation. Shapes include the batch dimension first.
// Implementations keep their parameters (already dequantised) and are
// read-only after construction.
type Op interface {
	// OutShape checks the input shapes and returns the output shape.
	OutShape(in [][]int) ([]int, error)
	// Forward writes the output into out, allocated with OutShape's shape.
	Forward(ctx *Context, in []*tensor.Tensor, out *tensor.Tensor)
	// Backward adds the gradient of the target with respect to in[i] into
	// gin[i] for every non-nil gin[i] (same shape as in[i]), given gout, the
	// gradient with respect to out. It must not modify in, out or gout.
	Backward(ctx *Context, in []*tensor.Tensor, out, gout *tensor.Tensor, gin []*tensor.Tensor)
}

// Weights gives an op builder the parameters of its node.
type Weights interface {
	// Param returns the tensor "<node>.<name>", or nil if absent.
	Param(name string) *tensor.Tensor
}

// Builder makes an Op from its spec and parameters, validating both.
type Builder func(spec *NodeSpec, w Weights) (Op, error)

// builders maps op names to builders. It is filled by init functions in
// this package's op files and never changed afterwards.
var builders = map[string]Builder{}

func register(name string, b Builder) {
	if _, dup := builders[name]; dup {
		panic("nn: op registered twice: " + name)
	}
	builders[name] = b
}

// Ops lists the op names this package can build, sorted.
func Ops() []string {
	names := make([]string, 0, len(builders))
	for n := range builders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Context is the per-session state of forward and backward passes: the
// guided-backprop switch, the compute kernels and reusable scratch memory.
// A Context must not be used by two goroutines at once.
type Context struct {
	// Guided makes every relu pass g·[x>0]·[g>0] backward (Guided
	// Backpropagation). Clip/ReLU6 keep their ordinary gradient.
	Guided bool
	// Kernels does the heavy loops; nil means the pure-Go kernels.
	Kernels Kernels

	scratch [][]float32
}

// K returns the kernels to use.
func (c *Context) K() Kernels {
	if c == nil || c.Kernels == nil {
		return GoKernels{}
	}
	return c.Kernels
}

// Scratch returns a zeroed buffer of n float32 for temporary use; slot
// distinguishes buffers needed at the same time. The buffer stays valid
// until the next call with the same slot.
func (c *Context) Scratch(slot, n int) []float32 {
	if c == nil {
		return make([]float32, n)
	}
	for len(c.scratch) <= slot {
		c.scratch = append(c.scratch, nil)
	}
	if cap(c.scratch[slot]) < n {
		c.scratch[slot] = make([]float32, n)
	}
	b := c.scratch[slot][:n]
	clear(b)
	return b
}

func errorf(spec *NodeSpec, format string, args ...any) error {
	return fmt.Errorf("node %q (%s): %s", spec.Name, spec.Op, fmt.Sprintf(format, args...))
}
