package nn

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/tensor"
)

func TestMaxAbs(t *testing.T) {
	tests := []struct {
		x    []float32
		want float64
	}{
		{nil, 0},
		{[]float32{1, -3, 2}, 3},
		{[]float32{float32(math.Copysign(0, -1))}, 0},
		{[]float32{1, float32(math.NaN())}, math.Inf(1)},
		{[]float32{float32(math.Inf(-1)), 1}, math.Inf(1)},
	}
	for _, tc := range tests {
		if got := maxAbs(tc.x); got != tc.want {
			t.Errorf("maxAbs(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
}

// boundGraph is conv → relu → add(relu, relu) → avgpool → flatten →
// dense, with weights of scale s.
func boundGraph(t *testing.T, s float32) *Graph {
	t.Helper()
	spec := GraphSpec{Input: InputSpec{Name: "x", Shape: []int{2, 4, 4}}, Nodes: []NodeSpec{
		{Name: "c", Op: "conv2d", Inputs: []string{"x"}, Attrs: Attrs{Pads: []int{1, 1, 1, 1}}},
		{Name: "r", Op: "relu", Inputs: []string{"c"}},
		{Name: "a", Op: "add", Inputs: []string{"r", "r"}},
		{Name: "p", Op: "avgpool", Inputs: []string{"a"}, Attrs: Attrs{Kernel: []int{4, 4}}},
		{Name: "f", Op: "flatten", Inputs: []string{"p"}},
		{Name: "d", Op: "dense", Inputs: []string{"f"}},
	}}
	w := map[string]*tensor.Tensor{
		"c.weight": tensor.New(3, 2, 3, 3), "c.bias": tensor.New(3),
		"d.weight": tensor.New(5, 3), "d.bias": tensor.New(5),
	}
	for _, p := range w {
		for i := range p.Data {
			p.Data[i] = s * float32(i%5-2) // row sums of |w| known below
		}
	}
	g, err := Build(spec, w)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// maxRowL1 is the largest row sum of |w| for rows×n weights filled as
// boundGraph fills them (scale 1).
func maxRowL1(rows, n int) float64 {
	l1 := 0.0
	for o := 0; o < rows; o++ {
		s := 0.0
		for i := o * n; i < (o+1)*n; i++ {
			s += math.Abs(float64(i%5 - 2))
		}
		l1 = math.Max(l1, s)
	}
	return l1
}

// TestNodeBounds: the bounds follow the ops' rules exactly.
func TestNodeBounds(t *testing.T) {
	g := boundGraph(t, 1)
	b := g.nodeBounds(2)
	// conv rows: 18 weights cycling |−2..2| → largest row sum; bias ≤ 2.
	conv := maxRowL1(3, 18)*2 + 2
	want := []float64{conv, conv, 2 * conv, 2 * conv, 2 * conv, 0}
	want[5] = maxRowL1(5, 3)*want[4] + 2
	for i := range want {
		if b[i] != want[i] {
			t.Errorf("node %s: bound %v, want %v", g.Nodes[i].Spec.Name, b[i], want[i])
		}
	}
	if got := g.nodeBounds(math.Inf(1)); !math.IsInf(got[5], 1) {
		t.Errorf("an unbounded input gives a bound %v", got[5])
	}
}

// TestBoundedOverflowStillCaught: with huge weights the bounds exceed
// boundSafe, the checks run, and an overflow is still an error naming the
// first node where it happens.
func TestBoundedOverflowStillCaught(t *testing.T) {
	g := boundGraph(t, 3e37)
	if b := g.nodeBounds(1); b[0] < boundSafe {
		t.Fatalf("bound %v for weights of 3e37", b[0])
	}
	x := tensor.New(1, 2, 4, 4)
	for i := range x.Data {
		x.Data[i] = 1e3
	}
	_, err := g.Forward(nil, x)
	if !errors.Is(err, ErrNotFinite) {
		t.Fatalf("err %v, want ErrNotFinite", err)
	}
	if want := `node "c"`; !strings.Contains(err.Error(), want) {
		t.Fatalf("err %v does not name %s", err, want)
	}
}
