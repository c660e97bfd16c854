package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// value is a constant tensor known at import time: an initialiser, a
// Constant node's value, or the result of folding. Floating-point types are
// held as float32 in F, integer and boolean types as int64 in I.
type value struct {
	DType int32
	Shape []int
	F     []float32
	I     []int64
}

func isFloatType(t int32) bool {
	return t == dtFloat || t == dtDouble || t == dtFloat16 || t == dtBfloat16
}

func isIntType(t int32) bool {
	switch t {
	case dtUint8, dtInt8, dtUint16, dtInt16, dtInt32, dtInt64, dtBool, dtUint32, dtUint64:
		return true
	}
	return false
}

// elemSize is the byte size of one element in raw_data.
func elemSize(t int32) int {
	switch t {
	case dtUint8, dtInt8, dtBool:
		return 1
	case dtUint16, dtInt16, dtFloat16, dtBfloat16:
		return 2
	case dtFloat, dtInt32, dtUint32:
		return 4
	case dtInt64, dtDouble, dtUint64:
		return 8
	}
	return 0
}

// IsFloat reports whether v holds floating-point data.
func (v *value) IsFloat() bool { return isFloatType(v.DType) }

// Len is the element count.
func (v *value) Len() int {
	if v.IsFloat() {
		return len(v.F)
	}
	return len(v.I)
}

// Floats returns the data as float32 (converting integers).
func (v *value) Floats() []float32 {
	if v.IsFloat() {
		return v.F
	}
	out := make([]float32, len(v.I))
	for i, x := range v.I {
		out[i] = float32(x)
	}
	return out
}

// Ints returns the data as int64; floats must be integral.
func (v *value) Ints() ([]int64, error) {
	if !v.IsFloat() {
		return v.I, nil
	}
	out := make([]int64, len(v.F))
	for i, x := range v.F {
		if x != float32(math.Trunc(float64(x))) || math.Abs(float64(x)) > 1<<53 {
			return nil, fmt.Errorf("element %d (%v) is not an integer", i, x)
		}
		out[i] = int64(x)
	}
	return out, nil
}

// Tensor returns v as a float32 tensor (copying).
func (v *value) Tensor() *tensor.Tensor {
	d := append([]float32(nil), v.Floats()...)
	return &tensor.Tensor{Shape: append([]int(nil), v.Shape...), Data: d}
}

func floatValue(shape []int, data []float32) *value {
	return &value{DType: dtFloat, Shape: shape, F: data}
}

func intValue(shape []int, data []int64) *value {
	return &value{DType: dtInt64, Shape: shape, I: data}
}

// dimsToShape converts ONNX int64 dims to a checked []int.
func dimsToShape(dims []int64) ([]int, int, error) {
	shape := make([]int, len(dims))
	for i, d := range dims {
		if d < 0 || d > math.MaxInt32 {
			return nil, 0, fmt.Errorf("dimension %d is %d", i, d)
		}
		shape[i] = int(d)
	}
	n, err := tensor.NumElements(shape)
	if err != nil {
		return nil, 0, err
	}
	return shape, n, nil
}

var errExternal = errors.New("external data is not supported: re-export the model with its weights inside the .onnx file (onnx.save_model(..., save_as_external_data=False))")

// toValue converts a TensorProto into a value after checking its size
// against its data.
func toValue(t *tensorProto) (*value, error) {
	if t == nil {
		return nil, errors.New("tensor attribute has no tensor")
	}
	if t.External {
		loc := ""
		if t.Location != "" {
			loc = fmt.Sprintf(" (location %q)", t.Location)
		}
		return nil, fmt.Errorf("tensor %q%s: %w", t.Name, loc, errExternal)
	}
	if t.Segmented {
		return nil, fmt.Errorf("tensor %q: segmented tensors are not supported", t.Name)
	}
	shape, n, err := dimsToShape(t.Dims)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	dt := t.DataType
	if !isFloatType(dt) && !isIntType(dt) {
		return nil, fmt.Errorf("tensor %q: %s tensors are not supported", t.Name, dtypeName(dt))
	}
	v := &value{DType: dt, Shape: shape}
	if t.HasRaw {
		size := elemSize(dt)
		if len(t.RawData) != n*size {
			return nil, fmt.Errorf("tensor %q: raw_data has %d bytes, dims %v of %s need %d", t.Name, len(t.RawData), shape, dtypeName(dt), n*size)
		}
		raw := t.RawData
		if isFloatType(dt) {
			v.F = make([]float32, n)
		} else {
			v.I = make([]int64, n)
		}
		le := binary.LittleEndian
		for i := 0; i < n; i++ {
			switch dt {
			case dtFloat:
				v.F[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
			case dtDouble:
				v.F[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
			case dtFloat16:
				v.F[i] = halfToFloat(le.Uint16(raw[2*i:]))
			case dtBfloat16:
				v.F[i] = math.Float32frombits(uint32(le.Uint16(raw[2*i:])) << 16)
			case dtUint8, dtBool:
				v.I[i] = int64(raw[i])
			case dtInt8:
				v.I[i] = int64(int8(raw[i]))
			case dtUint16:
				v.I[i] = int64(le.Uint16(raw[2*i:]))
			case dtInt16:
				v.I[i] = int64(int16(le.Uint16(raw[2*i:])))
			case dtInt32:
				v.I[i] = int64(int32(le.Uint32(raw[4*i:])))
			case dtUint32:
				v.I[i] = int64(le.Uint32(raw[4*i:]))
			case dtInt64:
				v.I[i] = int64(le.Uint64(raw[8*i:]))
			case dtUint64:
				v.I[i] = int64(le.Uint64(raw[8*i:])) // wraps above 2^63; no CNN uses such values
			}
		}
		return v, nil
	}
	count := func(have int, field string) error {
		if have != n {
			return fmt.Errorf("tensor %q: %s has %d elements, dims %v need %d", t.Name, field, have, shape, n)
		}
		return nil
	}
	switch dt {
	case dtFloat:
		if err := count(len(t.FloatData), "float_data"); err != nil {
			return nil, err
		}
		v.F = append([]float32(nil), t.FloatData...)
	case dtDouble:
		if err := count(len(t.DoubleData), "double_data"); err != nil {
			return nil, err
		}
		v.F = make([]float32, n)
		for i, x := range t.DoubleData {
			v.F[i] = float32(x)
		}
	case dtFloat16, dtBfloat16:
		if err := count(len(t.Int32Data), "int32_data"); err != nil {
			return nil, err
		}
		v.F = make([]float32, n)
		for i, x := range t.Int32Data {
			if dt == dtFloat16 {
				v.F[i] = halfToFloat(uint16(x))
			} else {
				v.F[i] = math.Float32frombits(uint32(uint16(x)) << 16)
			}
		}
	case dtInt64:
		if err := count(len(t.Int64Data), "int64_data"); err != nil {
			return nil, err
		}
		v.I = append([]int64(nil), t.Int64Data...)
	case dtUint32, dtUint64:
		if err := count(len(t.Uint64Data), "uint64_data"); err != nil {
			return nil, err
		}
		v.I = make([]int64, n)
		for i, x := range t.Uint64Data {
			v.I[i] = int64(x)
		}
	default: // int8, uint8, int16, uint16, int32, bool: int32_data
		if err := count(len(t.Int32Data), "int32_data"); err != nil {
			return nil, err
		}
		v.I = make([]int64, n)
		for i, x := range t.Int32Data {
			v.I[i] = int64(x)
		}
	}
	return v, nil
}

// halfToFloat converts IEEE 754 binary16 bits to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(mant) / 1024 / 16384
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | mant<<13)
}
