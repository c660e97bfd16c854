package nn

import "math"

// Static bounds on activation magnitudes, so that the forward pass can
// skip its finite checks where no value can overflow.
//
// Forward checks every node's output for NaN and infinities so that the
// error names the node where one first appears. That check reads every
// activation once more (≈5% of a pure-Go forward pass in js/wasm). But
// for most networks overflow is impossible: if |x| ≤ B elementwise, a
// conv or dense layer's output is bounded by max_o(Σ|w_o|)·B + max|b|, an
// add by the sum of its inputs' bounds, a ReLU or a pooling by its input's.
// ops that implement bounder give such a bound; Forward computes the
// input's max |x| (the same pass checks the input: +Inf means a NaN or an
// infinity), propagates the bounds and checks only the outputs whose
// bound is not far below the float32 range (or whose op has no bound).
// Rounding in float32 changes a value by a relative 2⁻²⁴ per operation,
// far inside the margin (boundSafe ≪ MaxFloat32), so a bounded output is
// finite and no NaN can arise from finite operands of these ops.

// boundSafe is the largest bound for which a node's finite check is
// skipped.
const boundSafe = 1e30

// bounder is implemented by ops that bound the magnitude of every output
// element given bounds on the magnitudes of their inputs' elements (in
// the order of Node.In); +Inf means no bound.
type bounder interface {
	bound(in []float64) float64
}

// maxAbs returns max |x| over x, +Inf when x holds a NaN or an infinity.
// The magnitudes' bit patterns order as their values, and those of NaN
// and ±Inf are the largest, so one integer max (no branch) finds both.
// Kept out of its callers: in js/wasm each loop back-edge of a large
// function costs V8's tier-up budget in proportion to the function's
// size, and Graph.forward would be optimised for one pass over the input.
//
//go:noinline
func maxAbs(x []float32) float64 {
	var m uint32
	for _, v := range x {
		m = max(m, math.Float32bits(v)&^(1<<31))
	}
	if m >= 0x7f800000 {
		return math.Inf(1)
	}
	return float64(math.Float32frombits(m))
}

// affineBound describes y = W·x + b: rows of W with at most l1 absolute
// sum, biases at most bmax in magnitude.
type affineBound struct{ l1, bmax float64 }

func newAffineBound(w []float32, rows int, bias []float32) affineBound {
	var ab affineBound
	if rows < 1 {
		return affineBound{l1: math.Inf(1)}
	}
	n := len(w) / rows
	for r := 0; r < rows; r++ {
		ab.l1 = math.Max(ab.l1, absSum(w[r*n:(r+1)*n]))
	}
	for _, v := range bias {
		ab.bmax = math.Max(ab.bmax, math.Abs(float64(v)))
	}
	if math.IsNaN(ab.l1) || math.IsNaN(ab.bmax) {
		return affineBound{l1: math.Inf(1)}
	}
	return ab
}

// absSum is Σ|v| in float64, in order, unrolled and in a leaf function
// (see fill in conv.go): it runs once per row of every layer's weights
// while a model loads, in freshly compiled WebAssembly in the browser.
//
//go:noinline
func absSum(w []float32) float64 {
	s := 0.0
	i := 0
	for ; i+4 <= len(w); i += 4 {
		v := w[i : i+4 : i+4]
		s += math.Abs(float64(v[0]))
		s += math.Abs(float64(v[1]))
		s += math.Abs(float64(v[2]))
		s += math.Abs(float64(v[3]))
	}
	for ; i < len(w); i++ {
		s += math.Abs(float64(w[i]))
	}
	return s
}

func (a affineBound) apply(b float64) float64 { return a.l1*b + a.bmax }

func (op *convOp) bound(in []float64) float64  { return op.ab.apply(in[0]) }
func (op *denseOp) bound(in []float64) float64 { return op.ab.apply(in[0]) }

// ReLU, pooling (maxima and averages of the input and padding zeros) and
// the reshaping ops never exceed their input's bound.
func (reluOp) bound(in []float64) float64      { return in[0] }
func (*poolOp) bound(in []float64) float64     { return in[0] }
func (*meanOp) bound(in []float64) float64     { return in[0] }
func (reshapeOp) bound(in []float64) float64   { return in[0] }
func (transposeOp) bound(in []float64) float64 { return in[0] }

func (concatOp) bound(in []float64) float64 {
	m := 0.0
	for _, b := range in {
		m = math.Max(m, b)
	}
	return m
}

func (op binaryOp) bound(in []float64) float64 {
	switch op.kind {
	case binAdd, binSub:
		return in[0] + in[1]
	case binMul:
		return in[0] * in[1]
	}
	return math.Inf(1) // a division can overflow or make 0/0
}

// softmaxOp's outputs are probabilities.
func (softmaxOp) bound([]float64) float64 { return 1 }
