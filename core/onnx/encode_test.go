package onnx

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// A tiny ONNX writer for tests: it builds ModelProto bytes field by field,
// so that tests can make valid and deliberately broken models.

type pb []byte

func (b pb) varint(num protowire.Number, v uint64) pb {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (b pb) bytes(num protowire.Number, v []byte) pb {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func (b pb) str(num protowire.Number, s string) pb { return b.bytes(num, []byte(s)) }

func (b pb) fixed32(num protowire.Number, v uint32) pb {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

func packedVarints(v []int64) []byte {
	var p []byte
	for _, x := range v {
		p = protowire.AppendVarint(p, uint64(x))
	}
	return p
}

// floatTensor is a FLOAT TensorProto with raw_data.
func floatTensor(name string, dims []int64, data []float32) pb {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	var b pb
	b = b.bytes(1, packedVarints(dims))
	b = b.varint(2, dtFloat)
	b = b.str(8, name)
	return b.bytes(9, raw)
}

// intTensor is a TensorProto of type dt (an integer type) written in
// int64_data (INT64) or int32_data (others).
func intTensor(name string, dt int32, dims []int64, data []int64) pb {
	var b pb
	b = b.bytes(1, packedVarints(dims))
	b = b.varint(2, uint64(dt))
	b = b.str(8, name)
	if dt == dtInt64 {
		return b.bytes(7, packedVarints(data))
	}
	return b.bytes(5, packedVarints(data))
}

func attrIntsPB(name string, v ...int64) pb {
	var b pb
	b = b.str(1, name).varint(20, atInts)
	return b.bytes(8, packedVarints(v))
}

func attrIntPB(name string, v int64) pb {
	var b pb
	return b.str(1, name).varint(20, atInt).varint(3, uint64(v))
}

func attrFloatPB(name string, v float32) pb {
	var b pb
	return b.str(1, name).varint(20, atFloat).fixed32(2, math.Float32bits(v))
}

func attrStringPB(name, v string) pb {
	var b pb
	return b.str(1, name).varint(20, atString).str(4, v)
}

func attrTensorPB(name string, t pb) pb {
	var b pb
	return b.str(1, name).varint(20, atTensor).bytes(5, t)
}

func nodePB(op string, in, out []string, attrs ...pb) pb {
	var b pb
	for _, s := range in {
		b = b.str(1, s)
	}
	for _, s := range out {
		b = b.str(2, s)
	}
	b = b.str(3, "n_"+out[0]).str(4, op)
	for _, a := range attrs {
		b = b.bytes(5, a)
	}
	return b
}

// valueInfoPB is a tensor ValueInfoProto; a negative dim is symbolic.
func valueInfoPB(name string, elem int32, dims ...int64) pb {
	var shape pb
	for _, d := range dims {
		var dm pb
		if d < 0 {
			dm = dm.str(2, "N")
		} else {
			dm = dm.varint(1, uint64(d))
		}
		shape = shape.bytes(1, dm)
	}
	var tt pb
	tt = tt.varint(1, uint64(elem)).bytes(2, shape)
	var tp pb
	tp = tp.bytes(1, tt)
	var b pb
	return b.str(1, name).bytes(2, tp)
}

type graphSpec struct {
	nodes, inits, inputs, outputs []pb
}

func (g graphSpec) bytes() pb {
	var b pb
	for _, n := range g.nodes {
		b = b.bytes(1, n)
	}
	b = b.str(2, "test-graph")
	for _, t := range g.inits {
		b = b.bytes(5, t)
	}
	for _, v := range g.inputs {
		b = b.bytes(11, v)
	}
	for _, v := range g.outputs {
		b = b.bytes(12, v)
	}
	return b
}

func modelPB(opset int64, g graphSpec) []byte {
	var op pb
	op = op.str(1, "").varint(2, uint64(opset))
	var b pb
	b = b.varint(1, 8).str(2, "camlens-test").bytes(8, op).bytes(7, g.bytes())
	return b
}

// tinyConvNet: x[1,2,5,5] → Conv(3 ch, 3×3, pad 1) → BatchNormalization →
// Relu → GlobalAveragePool → Flatten → MatMul → Add (3 classes).
func tinyConvNet(opset int64) []byte {
	w := make([]float32, 3*2*3*3)
	for i := range w {
		w[i] = float32(i%7-3) / 10
	}
	g := graphSpec{
		nodes: []pb{
			nodePB("Conv", []string{"x", "w", "b"}, []string{"conv"}, attrIntsPB("pads", 1, 1, 1, 1), attrIntsPB("kernel_shape", 3, 3)),
			nodePB("BatchNormalization", []string{"conv", "s", "bb", "m", "v"}, []string{"bn"}, attrFloatPB("epsilon", 1e-3)),
			nodePB("Relu", []string{"bn"}, []string{"relu"}),
			nodePB("GlobalAveragePool", []string{"relu"}, []string{"gap"}),
			nodePB("Flatten", []string{"gap"}, []string{"flat"}, attrIntPB("axis", 1)),
			nodePB("MatMul", []string{"flat", "fw"}, []string{"mm"}),
			nodePB("Add", []string{"mm", "fb"}, []string{"logits"}),
		},
		inits: []pb{
			floatTensor("w", []int64{3, 2, 3, 3}, w),
			floatTensor("b", []int64{3}, []float32{0.1, -0.2, 0.3}),
			floatTensor("s", []int64{3}, []float32{1.5, 0.5, 1}),
			floatTensor("bb", []int64{3}, []float32{0.1, 0.2, -0.1}),
			floatTensor("m", []int64{3}, []float32{0.05, -0.1, 0.2}),
			floatTensor("v", []int64{3}, []float32{0.9, 1.2, 0.6}),
			floatTensor("fw", []int64{3, 3}, []float32{1, 0, -1, 0.5, 0.5, 0.5, -1, 2, 0}),
			floatTensor("fb", []int64{3}, []float32{0.01, 0.02, 0.03}),
		},
		inputs:  []pb{valueInfoPB("x", dtFloat, -1, 2, 5, 5)},
		outputs: []pb{valueInfoPB("logits", dtFloat, -1, 3)},
	}
	return modelPB(opset, g)
}
