package onnx

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Constant folding: the ops below run at import time on constants, so that
// the Shape → Gather → Unsqueeze → Concat → Reshape chains exporters emit
// (and weights computed from other weights) become plain constants.

func sortStrings(s []string) { sort.Strings(s) }

// broadcastShape is NumPy's multidirectional broadcasting.
func broadcastShape(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if k := i - (r - len(a)); k >= 0 {
			da = a[k]
		}
		if k := i - (r - len(b)); k >= 0 {
			db = b[k]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcastIndex returns, for each element of out, the index into a
// tensor of shape s broadcast to out.
func broadcastIndex(s, out []int) []int {
	n := prod(out)
	idx := make([]int, n)
	r := len(out)
	// strides of s aligned to out (0 where broadcast)
	st := make([]int, r)
	acc := 1
	for i := len(s) - 1; i >= 0; i-- {
		k := i + r - len(s)
		if s[i] != 1 {
			st[k] = acc
		}
		acc *= s[i]
	}
	coord := make([]int, r)
	off := 0
	for e := 0; e < n; e++ {
		idx[e] = off
		for d := r - 1; d >= 0; d-- {
			coord[d]++
			off += st[d]
			if coord[d] < out[d] {
				break
			}
			off -= st[d] * coord[d]
			coord[d] = 0
		}
	}
	return idx
}

func binaryConst(op string, a, b *value) (*value, error) {
	shape, err := broadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	ia, ib := broadcastIndex(a.Shape, shape), broadcastIndex(b.Shape, shape)
	if a.IsFloat() || b.IsFloat() {
		fa, fb := a.Floats(), b.Floats()
		out := make([]float32, len(ia))
		for i := range out {
			x, y := fa[ia[i]], fb[ib[i]]
			switch op {
			case "add":
				out[i] = x + y
			case "sub":
				out[i] = x - y
			case "mul":
				out[i] = x * y
			case "div":
				out[i] = x / y
			}
		}
		return floatValue(shape, out), nil
	}
	out := make([]int64, len(ia))
	for i := range out {
		x, y := a.I[ia[i]], b.I[ib[i]]
		switch op {
		case "add":
			out[i] = x + y
		case "sub":
			out[i] = x - y
		case "mul":
			out[i] = x * y
		case "div":
			if y == 0 {
				return nil, errors.New("integer division by zero")
			}
			out[i] = x / y
		}
	}
	dt := a.DType
	return &value{DType: dt, Shape: shape, I: out}, nil
}

func concatConst(vals []*value, axis int, shape []int) (*value, error) {
	float := vals[0].IsFloat()
	for _, v := range vals {
		if v.IsFloat() != float {
			return nil, errors.New("inputs mix float and integer types")
		}
	}
	outer := prod(shape[:axis])
	out := &value{DType: vals[0].DType, Shape: shape}
	for o := 0; o < outer; o++ {
		for _, v := range vals {
			chunk := prod(v.Shape[axis:])
			if float {
				out.F = append(out.F, v.F[o*chunk:(o+1)*chunk]...)
			} else {
				out.I = append(out.I, v.I[o*chunk:(o+1)*chunk]...)
			}
		}
	}
	if float && out.F == nil {
		out.F = []float32{}
	}
	return out, nil
}

func transposeConst(v *value, perm, out []int) *value {
	r := len(perm)
	st := make([]int, r)
	acc := 1
	for i := r - 1; i >= 0; i-- {
		st[i] = acc
		acc *= v.Shape[i]
	}
	n := prod(out)
	res := &value{DType: v.DType, Shape: out}
	if v.IsFloat() {
		res.F = make([]float32, n)
	} else {
		res.I = make([]int64, n)
	}
	coord := make([]int, r)
	for e := 0; e < n; e++ {
		src := 0
		for i, p := range perm {
			src += coord[i] * st[p]
		}
		if v.IsFloat() {
			res.F[e] = v.F[src]
		} else {
			res.I[e] = v.I[src]
		}
		for d := r - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < out[d] {
				break
			}
			coord[d] = 0
		}
	}
	return res
}

func gatherConst(data, indices *value, axis int) (*value, error) {
	r := len(data.Shape)
	a, err := normAxis(axis, r)
	if err != nil {
		return nil, err
	}
	idx, err := indices.Ints()
	if err != nil {
		return nil, fmt.Errorf("indices: %w", err)
	}
	l := data.Shape[a]
	shape := append(append(append([]int(nil), data.Shape[:a]...), indices.Shape...), data.Shape[a+1:]...)
	if len(shape) > 8 {
		return nil, fmt.Errorf("result rank %d above 8", len(shape))
	}
	outer, inner := prod(data.Shape[:a]), prod(data.Shape[a+1:])
	res := &value{DType: data.DType, Shape: shape}
	for o := 0; o < outer; o++ {
		for _, k := range idx {
			if k < 0 {
				k += int64(l)
			}
			if k < 0 || k >= int64(l) {
				return nil, fmt.Errorf("index %d out of range for axis %d of shape %v", k, a, data.Shape)
			}
			base := (o*l + int(k)) * inner
			if data.IsFloat() {
				res.F = append(res.F, data.F[base:base+inner]...)
			} else {
				res.I = append(res.I, data.I[base:base+inner]...)
			}
		}
	}
	if data.IsFloat() && res.F == nil {
		res.F = []float32{}
	}
	return res, nil
}

// sliceBounds applies ONNX Slice clamping: per axis of shape, the first
// index, the element count and the step.
func sliceBounds(shape, starts, ends, axes, steps []int) (begin, count, step []int, err error) {
	r := len(shape)
	if len(starts) != len(ends) {
		return nil, nil, nil, fmt.Errorf("starts %v and ends %v differ in length", starts, ends)
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, i)
		}
	}
	if steps == nil {
		steps = make([]int, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, nil, nil, errors.New("starts, ends, axes and steps differ in length")
	}
	begin = make([]int, r)
	step = make([]int, r)
	count = append([]int(nil), shape...)
	for i := range step {
		step[i] = 1
	}
	seen := make([]bool, r)
	for i, ax := range axes {
		a, err := normAxis(ax, r)
		if err != nil {
			return nil, nil, nil, err
		}
		if seen[a] {
			return nil, nil, nil, fmt.Errorf("axes %v repeat an axis", axes)
		}
		seen[a] = true
		d, s := shape[a], steps[i]
		if s == 0 {
			return nil, nil, nil, errors.New("step 0")
		}
		st, en := starts[i], ends[i]
		if st < 0 {
			st += d
		}
		if en < 0 {
			en += d
		}
		if s > 0 {
			st, en = min(max(st, 0), d), min(max(en, 0), d)
			count[a] = max(0, (en-st+s-1)/s)
		} else {
			st, en = min(max(st, 0), d-1), min(max(en, -1), d-1)
			count[a] = max(0, (st-en-s-1)/(-s))
		}
		begin[a], step[a] = st, s
	}
	return begin, count, step, nil
}

func sliceConst(v *value, starts, ends, axes, steps []int) (*value, error) {
	r := len(v.Shape)
	begin, count, step, err := sliceBounds(v.Shape, starts, ends, axes, steps)
	if err != nil {
		return nil, err
	}
	n := prod(count)
	res := &value{DType: v.DType, Shape: count}
	if v.IsFloat() {
		res.F = make([]float32, 0, n)
	}
	st := make([]int, r)
	acc := 1
	for i := r - 1; i >= 0; i-- {
		st[i] = acc
		acc *= v.Shape[i]
	}
	coord := make([]int, r)
	for e := 0; e < n; e++ {
		src := 0
		for d := range coord {
			src += (begin[d] + coord[d]*step[d]) * st[d]
		}
		if v.IsFloat() {
			res.F = append(res.F, v.F[src])
		} else {
			res.I = append(res.I, v.I[src])
		}
		for d := r - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < count[d] {
				break
			}
			coord[d] = 0
		}
	}
	return res, nil
}

func castConst(v *value, to int32) (*value, error) {
	switch {
	case isFloatType(to):
		f := v.Floats()
		return &value{DType: to, Shape: v.Shape, F: append([]float32(nil), f...)}, nil
	case isIntType(to):
		out := make([]int64, v.Len())
		if v.IsFloat() {
			for i, x := range v.F {
				if math.IsNaN(float64(x)) || math.Abs(float64(x)) > 1<<62 {
					return nil, fmt.Errorf("cannot cast %v to %s", x, dtypeName(to))
				}
				out[i] = int64(x) // truncation toward zero, as C and ONNX
				if to == dtBool && x != 0 {
					out[i] = 1
				}
			}
		} else {
			copy(out, v.I)
		}
		if to == dtBool {
			for i, x := range out {
				if x != 0 {
					out[i] = 1
				}
			}
		}
		return &value{DType: to, Shape: v.Shape, I: out}, nil
	}
	return nil, fmt.Errorf("cast to %s is not supported", dtypeName(to))
}
