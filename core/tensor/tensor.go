package tensor

import (
	"errors"
	"fmt"
	"math"
)

// MaxElements bounds the element count of any tensor this package creates
// from untrusted shapes (256 Mi float32 = 1 GiB).
const MaxElements = 1 << 28

// ErrTooLarge is returned (wrapped) when a shape exceeds MaxElements.
var ErrTooLarge = errors.New("tensor too large")

// Tensor is a dense row-major float32 tensor.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NumElements returns the product of shape, or an error when a dimension is
// negative or the product overflows or exceeds MaxElements.
func NumElements(shape []int) (int, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor: dimension %d of shape %v is negative", i, shape)
		}
		if d != 0 && n > MaxElements/d {
			return 0, fmt.Errorf("tensor: shape %v: %w (limit %d elements)", shape, ErrTooLarge, MaxElements)
		}
		n *= d
	}
	return n, nil
}

// New returns a zero tensor of the given shape. It panics on an invalid
// shape; use Zeros for shapes that come from untrusted input.
func New(shape ...int) *Tensor {
	t, err := Zeros(shape)
	if err != nil {
		panic(err)
	}
	return t
}

// Zeros returns a zero tensor of the given shape after checking it.
func Zeros(shape []int) (*Tensor, error) {
	n, err := NumElements(shape)
	if err != nil {
		return nil, err
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}, nil
}

// FromData wraps data (not copied) in a tensor of the given shape.
func FromData(shape []int, data []float32) (*Tensor, error) {
	n, err := NumElements(shape)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("tensor: shape %v needs %d elements, got %d", shape, n, len(data))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}, nil
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// String describes the tensor briefly (shape only).
func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool {
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

// CheckFinite returns an error naming the first NaN or Inf element.
func (t *Tensor) CheckFinite() error {
	if i := FirstNonFinite(t.Data); i >= 0 {
		return fmt.Errorf("tensor%v: element %d is %v", t.Shape, i, t.Data[i])
	}
	return nil
}

// FirstNonFinite returns the index of the first NaN or ±Inf in x, or −1.
func FirstNonFinite(x []float32) int {
	if AllFinite(x) {
		return -1
	}
	for i, v := range x {
		if v-v != 0 { // v − v is 0 for every finite v, NaN for NaN and ±Inf
			return i
		}
	}
	return -1
}

// MaxAbsDiff returns max |a-b| over equal-length data; +Inf if lengths differ.
func MaxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if d > m || math.IsNaN(d) {
			m = d
		}
	}
	return m
}

// AllFinite reports whether x holds no NaN and no infinity. It has no
// branch per element (an all-ones exponent carries into the sign bit when
// one is added to it, and the carries are ORed together), which matters
// in js/wasm, where Go compiles every taken branch into a jump through the
// function's block dispatcher; it runs on every layer output of a forward
// pass.
//
//go:noinline
func AllFinite(x []float32) bool {
	var bad uint32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y := x[i : i+4 : i+4]
		a, b, c, d := math.Float32bits(y[0]), math.Float32bits(y[1]), math.Float32bits(y[2]), math.Float32bits(y[3])
		bad |= ((a & 0x7fffffff) + 0x00800000) | ((b & 0x7fffffff) + 0x00800000) | ((c & 0x7fffffff) + 0x00800000) | ((d & 0x7fffffff) + 0x00800000)
	}
	for ; i < len(x); i++ {
		bad |= (math.Float32bits(x[i]) & 0x7fffffff) + 0x00800000
	}
	return bad&0x80000000 == 0
}
