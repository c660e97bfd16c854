package onnx

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
)

// The protobuf wire format, as far as the decoder reads it: tags, varints,
// fixed32 and fixed64 values, length-delimited bytes, and (to skip them)
// groups. It follows google.golang.org/protobuf/encoding/protowire, which
// the tests check it against (FuzzWire), but is written here: protowire's
// package initialisation formats its error values with fmt, and in the
// browser that was the first use of fmt's printer, compiled and run in
// freshly loaded WebAssembly on every cold start (20 ms and more),
// whether or not an ONNX file is ever opened.

// wireType is a field's wire type, the low 3 bits of its tag.
type wireType int8

const (
	varintType     wireType = 0
	fixed64Type    wireType = 1
	bytesType      wireType = 2
	startGroupType wireType = 3
	endGroupType   wireType = 4
	fixed32Type    wireType = 5
)

// groupDepth is how deeply groups may nest (protowire's default limit).
const groupDepth = 10000

var (
	errFieldNumber = errors.New("invalid field number")
	errOverflow    = errors.New("variable length integer overflow")
	errReserved    = errors.New("cannot parse reserved wire type")
	errEndGroup    = errors.New("mismatching end group marker")
	errGroupDepth  = errors.New("groups nested too deeply")
)

// consumeVarint decodes the varint at the start of b and returns it and
// its length. binary.Uvarint reads what protobuf decoders read: overlong
// encodings, and a tenth byte of at most one bit.
func consumeVarint(b []byte) (uint64, int, error) {
	v, n := binary.Uvarint(b)
	switch {
	case n < 0, n == 0 && len(b) >= binary.MaxVarintLen64:
		// Uvarint calls ten bytes that all continue "too short";
		// protobuf calls them an overflow, as they are.
		return 0, 0, errOverflow
	case n == 0:
		return 0, 0, io.ErrUnexpectedEOF
	}
	return v, n, nil
}

// consumeTag decodes a field's tag: its number (1 to 2³¹−1) and wire
// type.
func consumeTag(b []byte) (int32, wireType, int, error) {
	v, n, err := consumeVarint(b)
	if err != nil {
		return 0, 0, 0, err
	}
	if v>>3 < 1 || v>>3 > math.MaxInt32 {
		return 0, 0, 0, errFieldNumber
	}
	return int32(v >> 3), wireType(v & 7), n, nil
}

func consumeFixed32(b []byte) (uint32, int, error) {
	if len(b) < 4 {
		return 0, 0, io.ErrUnexpectedEOF
	}
	return binary.LittleEndian.Uint32(b), 4, nil
}

func consumeFixed64(b []byte) (uint64, int, error) {
	if len(b) < 8 {
		return 0, 0, io.ErrUnexpectedEOF
	}
	return binary.LittleEndian.Uint64(b), 8, nil
}

// consumeBytes decodes a length-delimited value: its bytes (a part of b)
// and the length of the whole.
func consumeBytes(b []byte) ([]byte, int, error) {
	m, n, err := consumeVarint(b)
	if err != nil {
		return nil, 0, err
	}
	if m > uint64(len(b)-n) {
		return nil, 0, io.ErrUnexpectedEOF
	}
	return b[n : n+int(m)], n + int(m), nil
}

// skipValue returns the length of the value of field num, of wire type
// typ, at the start of b: for a group, everything up to and including
// its end marker.
func skipValue(num int32, typ wireType, b []byte, depth int) (int, error) {
	var n int
	var err error
	switch typ {
	case varintType:
		_, n, err = consumeVarint(b)
	case fixed32Type:
		_, n, err = consumeFixed32(b)
	case fixed64Type:
		_, n, err = consumeFixed64(b)
	case bytesType:
		_, n, err = consumeBytes(b)
	case startGroupType:
		return skipGroup(num, b, depth)
	case endGroupType:
		err = errEndGroup
	default:
		err = errReserved
	}
	return n, err
}

func skipGroup(num int32, b []byte, depth int) (int, error) {
	if depth < 0 {
		return 0, errGroupDepth
	}
	total := len(b)
	for {
		num2, typ2, n, err := consumeTag(b)
		if err != nil {
			return 0, err
		}
		b = b[n:]
		if typ2 == endGroupType {
			if num2 != num {
				return 0, errEndGroup
			}
			return total - len(b), nil
		}
		if n, err = skipValue(num2, typ2, b, depth-1); err != nil {
			return 0, err
		}
		b = b[n:]
	}
}
