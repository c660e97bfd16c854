// Package badfiles makes the bad inputs of the browser tests
// (scripts/e2e): a PNG header that claims a huge image, and ONNX models
// edited at the protobuf wire level (an extra node, a weight replaced) so
// that a test can start from a good model and break exactly one thing.
package badfiles

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// PNGHeader is a PNG signature, an IHDR declaring w×h 8-bit RGB pixels,
// an empty IDAT and IEND: a file of 57 bytes whose header claims an image
// of any size.
func PNGHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = append(b, chunk("IHDR", ihdr)...)
	b = append(b, chunk("IDAT", nil)...)
	return append(b, chunk("IEND", nil)...)
}

func chunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// Field numbers of the ONNX protobuf messages used here.
const (
	modelGraph      = 7 // ModelProto.graph
	graphNode       = 1 // GraphProto.node
	graphInit       = 5 // GraphProto.initializer
	nodeInput       = 1 // NodeProto.input
	nodeOutput      = 2 // NodeProto.output
	nodeName        = 3 // NodeProto.name
	nodeOpType      = 4 // NodeProto.op_type
	tensorName      = 8 // TensorProto.name
	tensorRawData   = 9 // TensorProto.raw_data
	maxFieldsToScan = 1 << 20
)

// field is one top-level field of a message: its number and the offsets
// of its value (for length-delimited fields, the payload) in the message.
type field struct {
	num        protowire.Number
	typ        protowire.Type
	start, end int
}

func fields(b []byte) ([]field, error) {
	var out []field
	for off := 0; off < len(b); {
		if len(out) > maxFieldsToScan {
			return nil, errors.New("badfiles: too many fields")
		}
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return nil, fmt.Errorf("badfiles: bad tag at byte %d: %w", off, protowire.ParseError(n))
		}
		off += n
		start := off
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b[off:])
			if m < 0 {
				return nil, fmt.Errorf("badfiles: bad field %d at byte %d: %w", num, off, protowire.ParseError(m))
			}
			start = off + m - len(v)
			off += m
		} else {
			m := protowire.ConsumeFieldValue(num, typ, b[off:])
			if m < 0 {
				return nil, fmt.Errorf("badfiles: bad field %d at byte %d: %w", num, off, protowire.ParseError(m))
			}
			off += m
		}
		out = append(out, field{num, typ, start, off})
	}
	return out, nil
}

// graph returns the offsets of the graph message in an ONNX model.
func graph(model []byte) (field, error) {
	fs, err := fields(model)
	if err != nil {
		return field{}, err
	}
	for _, f := range fs {
		if f.num == modelGraph && f.typ == protowire.BytesType {
			return f, nil
		}
	}
	return field{}, errors.New("badfiles: the model has no graph")
}

// AddNode returns a copy of an ONNX model with one more node at the end
// of its graph: op, with the given inputs and outputs.
func AddNode(model []byte, op string, inputs, outputs []string) ([]byte, error) {
	g, err := graph(model)
	if err != nil {
		return nil, err
	}
	var node []byte
	for _, s := range inputs {
		node = protowire.AppendTag(node, nodeInput, protowire.BytesType)
		node = protowire.AppendString(node, s)
	}
	for _, s := range outputs {
		node = protowire.AppendTag(node, nodeOutput, protowire.BytesType)
		node = protowire.AppendString(node, s)
	}
	node = protowire.AppendTag(node, nodeName, protowire.BytesType)
	node = protowire.AppendString(node, "added_"+op)
	node = protowire.AppendTag(node, nodeOpType, protowire.BytesType)
	node = protowire.AppendString(node, op)
	gb := append([]byte(nil), model[g.start:g.end]...)
	gb = protowire.AppendTag(gb, graphNode, protowire.BytesType)
	gb = protowire.AppendBytes(gb, node)
	// Rewrite the model: everything but the graph field as it was, then
	// the new graph.
	fs, err := fields(model)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, f := range fs {
		if f.num == modelGraph {
			continue
		}
		out = protowire.AppendTag(out, f.num, f.typ)
		if f.typ == protowire.BytesType {
			out = protowire.AppendBytes(out, model[f.start:f.end])
		} else {
			out = append(out, model[f.start:f.end]...)
		}
	}
	out = protowire.AppendTag(out, modelGraph, protowire.BytesType)
	return protowire.AppendBytes(out, gb), nil
}

// SetWeight returns a copy of an ONNX model with element i of the float32
// initializer name (stored as raw_data) replaced by v, in place.
func SetWeight(model []byte, name string, i int, v float32) ([]byte, error) {
	g, err := graph(model)
	if err != nil {
		return nil, err
	}
	gfs, err := fields(model[g.start:g.end])
	if err != nil {
		return nil, err
	}
	for _, f := range gfs {
		if f.num != graphInit || f.typ != protowire.BytesType {
			continue
		}
		t := model[g.start+f.start : g.start+f.end]
		tfs, err := fields(t)
		if err != nil {
			return nil, err
		}
		var tname string
		var raw *field
		for k := range tfs {
			switch tfs[k].num {
			case tensorName:
				tname = string(t[tfs[k].start:tfs[k].end])
			case tensorRawData:
				raw = &tfs[k]
			}
		}
		if tname != name {
			continue
		}
		if raw == nil {
			return nil, fmt.Errorf("badfiles: initializer %q has no raw_data", name)
		}
		if i < 0 || 4*i+4 > raw.end-raw.start {
			return nil, fmt.Errorf("badfiles: initializer %q has %d bytes, no element %d", name, raw.end-raw.start, i)
		}
		out := append([]byte(nil), model...)
		at := g.start + f.start + raw.start + 4*i
		binary.LittleEndian.PutUint32(out[at:], math.Float32bits(v))
		return out, nil
	}
	return nil, fmt.Errorf("badfiles: no initializer %q", name)
}
