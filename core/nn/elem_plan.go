package nn

import "fmt"

// stridePlan walks up to three strided views of the same index space (an
// output and its operands) in runs along the innermost dimension. Size-1
// dimensions are dropped and adjacent dimensions merged wherever every view
// is contiguous across them, so the common cases collapse to one long run
// (same shapes) or to outer×inner runs (per-channel broadcast: stride 0 for
// the broadcast operand inside a run).
type stridePlan struct {
	dims  []int    // outermost first; at least one entry
	st    [3][]int // element strides of each view per dim (0 = broadcast)
	total int      // product of dims
}

// makePlan builds a plan over dims with per-view strides st and drops and
// merges dimensions as described above. Views that are not used may be nil.
func makePlan(dims []int, st [3][]int) stridePlan {
	r := len(dims)
	total := 1
	for _, d := range dims {
		total *= d
	}
	p := stridePlan{total: total}
	// Collect innermost first, merging each outer dim into the current one
	// when all views are contiguous across the boundary.
	var rd []int
	var rs [3][]int
	stride := func(k, i int) int {
		if st[k] == nil {
			return 0
		}
		return st[k][i]
	}
	for i := r - 1; i >= 0; i-- {
		d := dims[i]
		if d == 1 {
			continue
		}
		if n := len(rd); n > 0 {
			merge := true
			for k := range 3 {
				if stride(k, i) != rs[k][n-1]*rd[n-1] {
					merge = false
					break
				}
			}
			if merge {
				rd[n-1] *= d
				continue
			}
		}
		rd = append(rd, d)
		for k := range 3 {
			rs[k] = append(rs[k], stride(k, i))
		}
	}
	if len(rd) == 0 {
		rd = []int{1}
		for k := range 3 {
			rs[k] = []int{0}
		}
	}
	// Reverse to outermost first.
	n := len(rd)
	p.dims = make([]int, n)
	for k := range 3 {
		p.st[k] = make([]int, n)
	}
	for i := range n {
		p.dims[i] = rd[n-1-i]
		for k := range 3 {
			p.st[k][i] = rs[k][n-1-i]
		}
	}
	return p
}

// inner returns the length of a run and the inner strides of the views.
func (p *stridePlan) inner() (n int, s [3]int) {
	last := len(p.dims) - 1
	return p.dims[last], [3]int{p.st[0][last], p.st[1][last], p.st[2][last]}
}

// runs calls f with the starting offset of every view for each run along
// the innermost dimension, in row-major order of the outer dimensions.
func (p *stridePlan) runs(base [3]int, f func(off [3]int)) {
	if p.total == 0 {
		return
	}
	last := len(p.dims) - 1
	n := p.dims[last]
	idx := make([]int, len(p.dims))
	off := base
	for o := 0; o < p.total; o += n {
		f(off)
		for k := last - 1; k >= 0; k-- {
			idx[k]++
			for v := range 3 {
				off[v] += p.st[v][k]
			}
			if idx[k] < p.dims[k] {
				break
			}
			for v := range 3 {
				off[v] -= p.st[v][k] * p.dims[k]
			}
			idx[k] = 0
		}
	}
}

// maxRank bounds the rank of tensors the element-wise and shape ops accept.
const maxRank = 8

// contiguousStrides returns row-major strides of shape.
func contiguousStrides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// broadcastShape returns the NumPy/ONNX multidirectional broadcast of a and
// b: shapes are right-aligned and each pair of dims must be equal or have a
// 1 (which stretches).
func broadcastShape(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	if r > maxRank {
		return nil, fmt.Errorf("rank %d above the limit %d", r, maxRank)
	}
	out := make([]int, r)
	for i := range r {
		da, db := dimFromRight(a, r-1-i), dimFromRight(b, r-1-i)
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast (dimension %d: %d vs %d)", a, b, i, da, db)
		}
	}
	return out, nil
}

// dimFromRight returns shape's dimension j places from the right, or 1 when
// shape is shorter.
func dimFromRight(shape []int, j int) int {
	if j >= len(shape) {
		return 1
	}
	return shape[len(shape)-1-j]
}

// broadcastStrides returns the strides, aligned to out, of a contiguous
// operand of shape s broadcast to out (0 along stretched or missing dims).
func broadcastStrides(s, out []int) []int {
	r := len(out)
	st := make([]int, r)
	acc := 1
	for j := 0; j < r; j++ {
		d := dimFromRight(s, j)
		if j < len(s) && d == out[r-1-j] && d != 1 {
			st[r-1-j] = acc
		}
		acc *= d
	}
	return st
}

// normAxis maps a possibly negative axis into [0, n) or returns an error.
func normAxis(axis, n int) (int, error) {
	a := axis
	if a < 0 {
		a += n
	}
	if a < 0 || a >= n {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, n)
	}
	return a, nil
}

func prod(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}
