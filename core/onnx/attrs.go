package onnx

import (
	"fmt"
	"math"
)

// Attribute accessors. Each checks the attribute's type and range so that a
// malformed file gives an error naming the attribute, never a panic.

func (n *nodeProto) attr(name string) *attribute {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func (n *nodeProto) has(name string) bool { return n.attr(name) != nil }

func checkAttrType(a *attribute, want int32) error {
	if a.RefAttr != "" {
		return fmt.Errorf("attribute %q refers to a function attribute (%q), not supported", a.Name, a.RefAttr)
	}
	if a.Type != want {
		return fmt.Errorf("attribute %q has type %d, want %d", a.Name, a.Type, want)
	}
	return nil
}

const maxAttrInt = 1 << 30

func toInt(v int64, what string) (int, error) {
	if v > maxAttrInt || v < -maxAttrInt {
		return 0, fmt.Errorf("%s: %d is out of range", what, v)
	}
	return int(v), nil
}

func (n *nodeProto) attrInt(name string, def int) (int, error) {
	a := n.attr(name)
	if a == nil {
		return def, nil
	}
	if err := checkAttrType(a, atInt); err != nil {
		return 0, err
	}
	return toInt(a.I, "attribute "+name)
}

// attrInts returns the list attribute, or nil (and false) when absent.
func (n *nodeProto) attrInts(name string) ([]int, bool, error) {
	a := n.attr(name)
	if a == nil {
		return nil, false, nil
	}
	if err := checkAttrType(a, atInts); err != nil {
		return nil, false, err
	}
	out := make([]int, len(a.Ints))
	for i, v := range a.Ints {
		x, err := toInt(v, fmt.Sprintf("attribute %s[%d]", name, i))
		if err != nil {
			return nil, false, err
		}
		out[i] = x
	}
	return out, true, nil
}

func (n *nodeProto) attrFloat(name string, def float32) (float32, error) {
	a := n.attr(name)
	if a == nil {
		return def, nil
	}
	if err := checkAttrType(a, atFloat); err != nil {
		return 0, err
	}
	if math.IsNaN(float64(a.F)) {
		return 0, fmt.Errorf("attribute %q is NaN", name)
	}
	return a.F, nil
}

func (n *nodeProto) attrString(name, def string) (string, error) {
	a := n.attr(name)
	if a == nil {
		return def, nil
	}
	if err := checkAttrType(a, atString); err != nil {
		return "", err
	}
	return string(a.S), nil
}

// ints64 converts int64 data from a constant to checked ints.
func ints64(v []int64, what string) ([]int, error) {
	out := make([]int, len(v))
	for i, x := range v {
		y, err := toInt(x, fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		out[i] = y
	}
	return out, nil
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis, rank int) (int, error) {
	a := axis
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return a, nil
}

func prod(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
