package nn

import (
	"fmt"
	"strings"

	"github.com/camlens/camlens/core/tensor"
)

// FoldBatchNorm folds every inference "batchnorm" node whose only input is a
// "conv2d" or "dense" node with no other consumer into that node's weight
// and bias:
//
//	a[c] = scale[c]/√(var[c] + eps)
//	W'[c, …] = a[c]·W[c, …]          (output channel first: conv OIHW, dense [out, in])
//	b'[c]    = a[c]·(b[c] − mean[c]) + bias[c]   (b = 0 when the node had no bias)
//
// Naming rule: the folded node takes the batchnorm's name (and stays at the
// conv's position). Its output equals the batchnorm's output, so every
// reference to the batchnorm, the graph output and any target layer named
// after it keep their meaning; the conv's own pre-normalisation output no
// longer exists and its name disappears. A caller that needs that output
// (for example to target the conv itself rather than its batchnorm) must not
// fold. Its parameters move from "<conv>.*" to "<batchnorm>.*".
//
// A batchnorm is left alone when its input is the graph input or another
// kind of node, or when the conv/dense node has another consumer or is the
// graph output. Chains (conv → bn → bn) fold completely.
//
// spec and w are not modified; the returned spec and map are new, and the
// returned map shares the tensors that were not changed. Errors name the
// node (bad batchnorm parameters, a weight whose first dimension is not the
// channel count, duplicate node names).
func FoldBatchNorm(spec GraphSpec, w map[string]*tensor.Tensor) (GraphSpec, map[string]*tensor.Tensor, error) {
	nodes := make([]NodeSpec, len(spec.Nodes))
	index := make(map[string]int, len(spec.Nodes))
	consumers := map[string]int{}
	for i, n := range spec.Nodes {
		if _, dup := index[n.Name]; dup {
			return GraphSpec{}, nil, fmt.Errorf("nn: fold batchnorm: duplicate node name %q", n.Name)
		}
		index[n.Name] = i
		nodes[i] = cloneNodeSpec(n)
		for _, in := range n.Inputs {
			consumers[in]++
		}
	}
	output := spec.Output
	if output == "" && len(spec.Nodes) > 0 {
		output = spec.Nodes[len(spec.Nodes)-1].Name
	}
	consumers[output]++

	nw := make(map[string]*tensor.Tensor, len(w))
	for k, v := range w {
		nw[k] = v
	}
	removed := make([]bool, len(nodes))
	for i := range nodes {
		bn := &nodes[i]
		if bn.Op != "batchnorm" || len(bn.Inputs) != 1 {
			continue
		}
		j, ok := index[bn.Inputs[0]]
		if !ok || j >= i || removed[j] {
			continue
		}
		src := &nodes[j]
		if (src.Op != "conv2d" && src.Op != "dense") || consumers[src.Name] != 1 {
			continue
		}
		if err := foldInto(nw, src.Name, bn); err != nil {
			return GraphSpec{}, nil, fmt.Errorf("nn: fold batchnorm %q into %s %q: %w", bn.Name, src.Op, src.Name, err)
		}
		delete(index, src.Name)
		src.Name = bn.Name
		index[bn.Name] = j
		removed[i] = true
	}
	out := GraphSpec{
		Input:  InputSpec{Name: spec.Input.Name, Shape: append([]int(nil), spec.Input.Shape...)},
		Output: spec.Output,
	}
	for i, n := range nodes {
		if !removed[i] {
			out.Nodes = append(out.Nodes, n)
		}
	}
	return out, nw, nil
}

// foldInto replaces the parameters of node src in w by the folded ones,
// stored under bn's name, and removes bn's and src's old entries.
func foldInto(w map[string]*tensor.Tensor, src string, bn *NodeSpec) error {
	a, b, err := bnCoefficients(func(p string) *tensor.Tensor { return w[bn.Name+"."+p] }, bn.Attrs.Eps)
	if err != nil {
		return err
	}
	c := len(a)
	wt := w[src+".weight"]
	if wt == nil {
		return fmt.Errorf("missing parameter %q", src+".weight")
	}
	if wt.Rank() < 1 || wt.Shape[0] != c {
		return fmt.Errorf("weight shape %v: want %d output channels first", wt.Shape, c)
	}
	if n, err := tensor.NumElements(wt.Shape); err != nil || n != len(wt.Data) {
		return fmt.Errorf("weight shape %v does not match its %d values", wt.Shape, len(wt.Data))
	}
	var bias []float32
	if bt := w[src+".bias"]; bt != nil {
		if bt.Rank() != 1 || bt.Shape[0] != c || len(bt.Data) != c {
			return fmt.Errorf("bias shape %v: want [%d]", bt.Shape, c)
		}
		bias = bt.Data
	}
	nwt := wt.Clone()
	per := len(nwt.Data) / c
	for ch := range c {
		row := nwt.Data[ch*per : (ch+1)*per]
		for i, v := range row {
			row[i] = float32(float64(v) * a[ch])
		}
	}
	nb := tensor.New(c)
	for ch := range c {
		v := 0.0
		if bias != nil {
			v = float64(bias[ch])
		}
		nb.Data[ch] = float32(a[ch]*v + b[ch])
	}
	// Drop src's and bn's parameters, then store src's others (if any) and
	// the folded ones under bn's name.
	moved := map[string]*tensor.Tensor{}
	for _, node := range []string{src, bn.Name} {
		for k, v := range w {
			p, ok := strings.CutPrefix(k, node+".")
			if !ok || strings.Contains(p, ".") {
				continue // another node's parameter (names may contain dots)
			}
			delete(w, k)
			if node == src && p != "weight" && p != "bias" {
				moved[bn.Name+"."+p] = v
			}
		}
	}
	for k, v := range moved {
		w[k] = v
	}
	w[bn.Name+".weight"] = nwt
	w[bn.Name+".bias"] = nb
	return nil
}

// cloneNodeSpec returns a deep copy of n.
func cloneNodeSpec(n NodeSpec) NodeSpec {
	c := n
	c.Inputs = append([]string(nil), n.Inputs...)
	a := &c.Attrs
	a.Kernel = append([]int(nil), n.Attrs.Kernel...)
	a.Stride = append([]int(nil), n.Attrs.Stride...)
	a.Dilation = append([]int(nil), n.Attrs.Dilation...)
	a.Pads = append([]int(nil), n.Attrs.Pads...)
	a.Axes = append([]int(nil), n.Attrs.Axes...)
	a.Shape = append([]int(nil), n.Attrs.Shape...)
	a.Perm = append([]int(nil), n.Attrs.Perm...)
	if n.Attrs.Min != nil {
		v := *n.Attrs.Min
		a.Min = &v
	}
	if n.Attrs.Max != nil {
		v := *n.Attrs.Max
		a.Max = &v
	}
	return c
}
