package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// Limits on the attributes of one node, checked by Build before the op's
// builder sees them. They keep the arithmetic of shapes and indices far
// from integer overflow: no real network comes near them.
const (
	// MaxAttrLen bounds the length of a list attribute (kernel, stride,
	// dilation, pads, axes, shape, perm).
	MaxAttrLen = 16
	// MaxAttrValue bounds the magnitude of every integer attribute
	// (tensor.MaxElements, the largest dimension a tensor can have).
	MaxAttrValue = tensor.MaxElements
)

// ErrTooLarge is wrapped by Build's errors for a graph over MaxNodes nodes
// or an attribute over MaxAttrLen or MaxAttrValue. (Shapes over
// tensor.MaxElements wrap tensor.ErrTooLarge.) A graph's depth needs no
// limit of its own: it is at most its node count, and Forward, Backward
// and every graph pass walk the nodes in a loop, never recursively.
var ErrTooLarge = errors.New("over a size limit")

// checkAttrs checks the sizes and values of a node's attributes.
func checkAttrs(ns *NodeSpec) error {
	a := &ns.Attrs
	for _, l := range []struct {
		name string
		v    []int
	}{{"kernel", a.Kernel}, {"stride", a.Stride}, {"dilation", a.Dilation}, {"pads", a.Pads},
		{"axes", a.Axes}, {"shape", a.Shape}, {"perm", a.Perm}} {
		if len(l.v) > MaxAttrLen {
			return fmt.Errorf("nn: node %q (%s): %w: attribute %s has %d values, limit %d", ns.Name, ns.Op, ErrTooLarge, l.name, len(l.v), MaxAttrLen)
		}
		for _, v := range l.v {
			if v > MaxAttrValue || v < -MaxAttrValue {
				return fmt.Errorf("nn: node %q (%s): %w: attribute %s %v: %d is beyond ±%d", ns.Name, ns.Op, ErrTooLarge, l.name, l.v, v, MaxAttrValue)
			}
		}
	}
	for _, s := range []struct {
		name string
		v    int
	}{{"group", a.Group}, {"axis", a.Axis}} {
		if s.v > MaxAttrValue || s.v < -MaxAttrValue {
			return fmt.Errorf("nn: node %q (%s): %w: attribute %s %d is beyond ±%d", ns.Name, ns.Op, ErrTooLarge, s.name, s.v, MaxAttrValue)
		}
	}
	for _, f := range []struct {
		name string
		v    float32
	}{{"alpha", a.Alpha}, {"beta", a.Beta}, {"eps", a.Eps}, {"value", a.Value}} {
		if x := float64(f.v); math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("nn: node %q (%s): attribute %s is %v, want a finite number", ns.Name, ns.Op, f.name, f.v)
		}
	}
	for _, p := range []struct {
		name string
		v    *float32
	}{{"min", a.Min}, {"max", a.Max}} {
		if p.v != nil && math.IsNaN(float64(*p.v)) {
			return fmt.Errorf("nn: node %q (%s): attribute %s is NaN", ns.Name, ns.Op, p.name)
		}
	}
	return nil
}
