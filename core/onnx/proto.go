package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/camlens/camlens/core/modelfile"
)

// This file decodes the subset of onnx.proto (IR version 3–10) that the
// importer needs, straight from the protobuf wire format. Unknown fields are
// skipped; fields the importer cannot honour (external data, subgraphs,
// sparse tensors, functions) are recorded so that it can refuse them by name.
// Every repeated field is counted before its slice is allocated, so memory
// stays proportional to the input.

// Limits bound what the decoder and the importer accept.
type Limits struct {
	MaxFileBytes    int // whole ModelProto
	MaxNodes        int // ONNX nodes in the graph
	MaxInitializers int // initialisers in the graph
	MaxAttrElems    int // elements of one list attribute (ints, floats, strings)
	MaxNameBytes    int // any name or string attribute
	MaxRank         int // dimensions of one tensor
	MaxConstElems   int // elements of all constants made by folding, together
}

// DefaultLimits are generous for image classifiers and small enough for a
// browser tab.
var DefaultLimits = Limits{
	MaxFileBytes:    512 << 20,
	MaxNodes:        50000,
	MaxInitializers: 50000,
	MaxAttrElems:    1 << 16,
	MaxNameBytes:    4096,
	MaxRank:         8,
	MaxConstElems:   1 << 27,
}

// ONNX TensorProto.DataType values.
const (
	dtUndefined = 0
	dtFloat     = 1
	dtUint8     = 2
	dtInt8      = 3
	dtUint16    = 4
	dtInt16     = 5
	dtInt32     = 6
	dtInt64     = 7
	dtString    = 8
	dtBool      = 9
	dtFloat16   = 10
	dtDouble    = 11
	dtUint32    = 12
	dtUint64    = 13
	dtComplex64 = 14
	dtComplex   = 15
	dtBfloat16  = 16
)

var dtypeNames = map[int32]string{
	dtUndefined: "UNDEFINED", dtFloat: "FLOAT", dtUint8: "UINT8", dtInt8: "INT8", dtUint16: "UINT16",
	dtInt16: "INT16", dtInt32: "INT32", dtInt64: "INT64", dtString: "STRING", dtBool: "BOOL",
	dtFloat16: "FLOAT16", dtDouble: "DOUBLE", dtUint32: "UINT32", dtUint64: "UINT64",
	dtComplex64: "COMPLEX64", dtComplex: "COMPLEX128", dtBfloat16: "BFLOAT16",
}

func dtypeName(t int32) string {
	if n, ok := dtypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("data type %d", t)
}

// AttributeProto.AttributeType values.
const (
	atFloat        = 1
	atInt          = 2
	atString       = 3
	atTensor       = 4
	atGraph        = 5
	atFloats       = 6
	atInts         = 7
	atStrings      = 8
	atTensors      = 9
	atGraphs       = 10
	atSparseTensor = 11
	atSparse       = 12
	atTypeProto    = 13
	atTypeProtos   = 14
)

// modelProto is the decoded ModelProto.
type modelProto struct {
	IRVersion       int64
	Opsets          []opsetID
	ProducerName    string
	ProducerVersion string
	Graph           *graphProto
	Metadata        map[string]string
	HasFunctions    bool
	HasTraining     bool
}

type opsetID struct {
	Domain  string
	Version int64
}

type graphProto struct {
	Name         string
	Nodes        []*nodeProto
	Initializers []*tensorProto
	Inputs       []*valueInfo
	Outputs      []*valueInfo
	HasSparse    bool // sparse_initializer present
}

type nodeProto struct {
	Inputs  []string
	Outputs []string
	Name    string
	OpType  string
	Domain  string
	Attrs   []*attribute
}

type attribute struct {
	Name       string
	RefAttr    string
	Type       int32
	F          float32
	I          int64
	S          []byte
	T          *tensorProto
	Floats     []float32
	Ints       []int64
	Strings    [][]byte
	HasGraph   bool // g, graphs: a subgraph (If, Loop, Scan)
	HasOther   bool // sparse tensors, type protos, tensors lists
	seenFields int  // which value fields were present (for typeless old files)
}

type tensorProto struct {
	Name       string
	Dims       []int64
	DataType   int32
	FloatData  []float32
	Int32Data  []int32
	Int64Data  []int64
	DoubleData []float64
	Uint64Data []uint64
	RawData    []byte
	HasRaw     bool
	NumStrings int
	External   bool   // data_location = EXTERNAL or external_data present
	Location   string // external_data "location"
	Segmented  bool
}

type valueInfo struct {
	Name      string
	NotTensor bool  // sequence, map, optional or sparse type
	ElemType  int32 // tensor element type
	HasShape  bool
	Dims      []dim
}

type dim struct {
	Value int64
	Param string // symbolic dimension name; Value is then meaningless
	Known bool   // dim_value was set
}

// decoder carries the limits and the running counts through one decode.
type decoder struct {
	lim Limits
}

// field is one decoded protobuf field.
type field struct {
	num int32
	typ wireType
	b   []byte // BytesType payload
	u   uint64 // varint, fixed32 or fixed64 value
}

var errTruncated = errors.New("truncated or malformed protobuf")

// eachField calls fn for every field of the message in b.
func eachField(b []byte, fn func(f field) error) error {
	for len(b) > 0 {
		num, typ, n, err := consumeTag(b)
		if err != nil {
			return fmt.Errorf("%w: %v", errTruncated, err)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case varintType:
			f.u, n, err = consumeVarint(b)
		case fixed32Type:
			var v uint32
			v, n, err = consumeFixed32(b)
			f.u = uint64(v)
		case fixed64Type:
			f.u, n, err = consumeFixed64(b)
		case bytesType:
			f.b, n, err = consumeBytes(b)
		default: // groups (deprecated, unused by ONNX): skip them whole
			n, err = skipValue(num, typ, b, groupDepth)
		}
		if err != nil {
			return fmt.Errorf("%w: field %d: %v", errTruncated, num, err)
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func (f field) wantBytes(what string) error {
	if f.typ != bytesType {
		return fmt.Errorf("%s: field %d has wire type %d, want length-delimited", what, f.num, f.typ)
	}
	return nil
}

func (f field) wantVarint(what string) error {
	if f.typ != varintType {
		return fmt.Errorf("%s: field %d has wire type %d, want varint", what, f.num, f.typ)
	}
	return nil
}

func (d *decoder) str(f field, what string) (string, error) {
	if err := f.wantBytes(what); err != nil {
		return "", err
	}
	if len(f.b) > d.lim.MaxNameBytes {
		return "", fmt.Errorf("%s: string of %d bytes, limit %d: %w", what, len(f.b), d.lim.MaxNameBytes, ErrTooLarge)
	}
	return string(f.b), nil
}

// countVarints counts the varints in a packed field (bytes without the
// continuation bit); the last one must be complete.
func countVarints(b []byte) (int, error) {
	n := 0
	for _, c := range b {
		if c < 0x80 {
			n++
		}
	}
	if len(b) > 0 && b[len(b)-1] >= 0x80 {
		return 0, fmt.Errorf("%w: packed varints end mid-value", errTruncated)
	}
	return n, nil
}

// appendVarints appends the varints of f (packed or one unpacked) to dst,
// refusing to grow beyond max elements.
func appendVarints(dst []uint64, f field, max int, what string) ([]uint64, error) {
	switch f.typ {
	case varintType:
		if len(dst) >= max {
			return nil, fmt.Errorf("%s: more than %d elements: %w", what, max, ErrTooLarge)
		}
		return append(dst, f.u), nil
	case bytesType:
		n, err := countVarints(f.b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if n > max-len(dst) {
			return nil, fmt.Errorf("%s: more than %d elements: %w", what, max, ErrTooLarge)
		}
		if dst == nil {
			dst = make([]uint64, 0, n)
		}
		b := f.b
		for len(b) > 0 {
			v, k, err := consumeVarint(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, errTruncated)
			}
			dst = append(dst, v)
			b = b[k:]
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%s: field %d has wire type %d, want varint", what, f.num, f.typ)
}

// appendFixed32 appends the fixed32 values of f (packed or unpacked).
func appendFixed32(dst []uint32, f field, max int, what string) ([]uint32, error) {
	switch f.typ {
	case fixed32Type:
		if len(dst) >= max {
			return nil, fmt.Errorf("%s: more than %d elements: %w", what, max, ErrTooLarge)
		}
		return append(dst, uint32(f.u)), nil
	case bytesType:
		if len(f.b)%4 != 0 {
			return nil, fmt.Errorf("%s: packed fixed32 of %d bytes: %w", what, len(f.b), errTruncated)
		}
		n := len(f.b) / 4
		if n > max-len(dst) {
			return nil, fmt.Errorf("%s: more than %d elements: %w", what, max, ErrTooLarge)
		}
		if dst == nil {
			dst = make([]uint32, 0, n)
		}
		for i := 0; i < n; i++ {
			dst = append(dst, binary.LittleEndian.Uint32(f.b[4*i:]))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%s: field %d has wire type %d, want fixed32", what, f.num, f.typ)
}

// appendFixed64 appends the fixed64 values of f (packed or unpacked).
func appendFixed64(dst []uint64, f field, max int, what string) ([]uint64, error) {
	switch f.typ {
	case fixed64Type:
		if len(dst) >= max {
			return nil, fmt.Errorf("%s: more than %d elements: %w", what, max, ErrTooLarge)
		}
		return append(dst, f.u), nil
	case bytesType:
		if len(f.b)%8 != 0 {
			return nil, fmt.Errorf("%s: packed fixed64 of %d bytes: %w", what, len(f.b), errTruncated)
		}
		n := len(f.b) / 8
		if n > max-len(dst) {
			return nil, fmt.Errorf("%s: more than %d elements: %w", what, max, ErrTooLarge)
		}
		if dst == nil {
			dst = make([]uint64, 0, n)
		}
		for i := 0; i < n; i++ {
			dst = append(dst, binary.LittleEndian.Uint64(f.b[8*i:]))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%s: field %d has wire type %d, want fixed64", what, f.num, f.typ)
}

// decodeModel decodes a ModelProto.
func decodeModel(b []byte, lim Limits) (*modelProto, error) {
	if len(b) > lim.MaxFileBytes {
		return nil, fmt.Errorf("onnx: model is %d bytes, limit %d: %w", len(b), lim.MaxFileBytes, ErrTooLarge)
	}
	d := &decoder{lim: lim}
	m := &modelProto{}
	graphs := 0
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			if err = f.wantVarint("ir_version"); err == nil {
				m.IRVersion = int64(f.u)
			}
		case 2:
			m.ProducerName, err = d.str(f, "producer_name")
		case 3:
			m.ProducerVersion, err = d.str(f, "producer_version")
		case 7:
			if err = f.wantBytes("graph"); err != nil {
				return err
			}
			graphs++
			if graphs > 1 {
				// Protobuf merges repeated occurrences of a message field;
				// no exporter writes that, so refuse it rather than merge.
				return errors.New("model has more than one graph field")
			}
			m.Graph, err = d.graph(f.b)
			if err != nil {
				err = fmt.Errorf("graph: %w", err)
			}
		case 8:
			if err = f.wantBytes("opset_import"); err != nil {
				return err
			}
			if len(m.Opsets) >= 1000 {
				return fmt.Errorf("more than 1000 opset imports: %w", ErrTooLarge)
			}
			var o opsetID
			o, err = d.opset(f.b)
			m.Opsets = append(m.Opsets, o)
		case 14:
			if err = f.wantBytes("metadata_props"); err != nil {
				return err
			}
			var k, v string
			k, v, err = d.stringEntry(f.b)
			if err == nil {
				if m.Metadata == nil {
					m.Metadata = map[string]string{}
				}
				if len(m.Metadata) >= 1000 {
					return fmt.Errorf("more than 1000 metadata entries: %w", ErrTooLarge)
				}
				m.Metadata[k] = v
			}
		case 20:
			m.HasTraining = true
		case 25:
			m.HasFunctions = true
		}
		return err
	})
	if err != nil {
		// Name a file of another kind (a picture, a PDF, a CamLens model)
		// rather than report the protobuf error it causes.
		if what := modelfile.DescribeKind(b); what != "" && !strings.HasPrefix(what, "an ONNX") {
			return nil, fmt.Errorf("onnx: this looks like %s, not an ONNX model (decoding it as ModelProto: %w)", what, err)
		}
		return nil, fmt.Errorf("onnx: decoding ModelProto: %w", err)
	}
	if m.Graph == nil {
		return nil, errors.New("onnx: ModelProto has no graph (is this an ONNX model file?)")
	}
	return m, nil
}

func (d *decoder) opset(b []byte) (opsetID, error) {
	var o opsetID
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			o.Domain, err = d.str(f, "opset_import.domain")
		case 2:
			if err = f.wantVarint("opset_import.version"); err == nil {
				o.Version = int64(f.u)
			}
		}
		return err
	})
	return o, err
}

func (d *decoder) stringEntry(b []byte) (k, v string, err error) {
	err = eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			k, err = d.str(f, "key")
		case 2:
			v, err = d.str(f, "value")
		}
		return err
	})
	return k, v, err
}

func (d *decoder) graph(b []byte) (*graphProto, error) {
	g := &graphProto{}
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			if err = f.wantBytes("node"); err != nil {
				return err
			}
			if len(g.Nodes) >= d.lim.MaxNodes {
				return fmt.Errorf("more than %d nodes: %w", d.lim.MaxNodes, ErrTooLarge)
			}
			var n *nodeProto
			if n, err = d.node(f.b); err != nil {
				return fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, n)
		case 2:
			g.Name, err = d.str(f, "name")
		case 5:
			if err = f.wantBytes("initializer"); err != nil {
				return err
			}
			if len(g.Initializers) >= d.lim.MaxInitializers {
				return fmt.Errorf("more than %d initializers: %w", d.lim.MaxInitializers, ErrTooLarge)
			}
			var t *tensorProto
			if t, err = d.tensor(f.b); err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.Initializers), err)
			}
			g.Initializers = append(g.Initializers, t)
		case 11, 12:
			what := "input"
			if f.num == 12 {
				what = "output"
			}
			if err = f.wantBytes(what); err != nil {
				return err
			}
			if len(g.Inputs)+len(g.Outputs) >= d.lim.MaxNodes+d.lim.MaxInitializers {
				return fmt.Errorf("too many graph inputs and outputs: %w", ErrTooLarge)
			}
			var v *valueInfo
			if v, err = d.valueInfo(f.b); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if f.num == 11 {
				g.Inputs = append(g.Inputs, v)
			} else {
				g.Outputs = append(g.Outputs, v)
			}
		case 15:
			g.HasSparse = true
		}
		return err
	})
	return g, err
}

func (d *decoder) node(b []byte) (*nodeProto, error) {
	n := &nodeProto{}
	err := eachField(b, func(f field) error {
		var err error
		var s string
		switch f.num {
		case 1, 2:
			if s, err = d.str(f, "node input/output"); err != nil {
				return err
			}
			if len(n.Inputs)+len(n.Outputs) >= d.lim.MaxAttrElems {
				return fmt.Errorf("more than %d inputs and outputs: %w", d.lim.MaxAttrElems, ErrTooLarge)
			}
			if f.num == 1 {
				n.Inputs = append(n.Inputs, s)
			} else {
				n.Outputs = append(n.Outputs, s)
			}
		case 3:
			n.Name, err = d.str(f, "name")
		case 4:
			n.OpType, err = d.str(f, "op_type")
		case 7:
			n.Domain, err = d.str(f, "domain")
		case 5:
			if err = f.wantBytes("attribute"); err != nil {
				return err
			}
			if len(n.Attrs) >= 1000 {
				return fmt.Errorf("more than 1000 attributes: %w", ErrTooLarge)
			}
			var a *attribute
			if a, err = d.attribute(f.b); err != nil {
				return fmt.Errorf("attribute %d: %w", len(n.Attrs), err)
			}
			n.Attrs = append(n.Attrs, a)
		}
		return err
	})
	return n, err
}

func (d *decoder) attribute(b []byte) (*attribute, error) {
	a := &attribute{}
	max := d.lim.MaxAttrElems
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			a.Name, err = d.str(f, "name")
		case 21:
			a.RefAttr, err = d.str(f, "ref_attr_name")
		case 20:
			if err = f.wantVarint("type"); err == nil {
				a.Type = int32(f.u)
			}
		case 2:
			if f.typ != fixed32Type {
				return fmt.Errorf("f: wire type %d, want fixed32", f.typ)
			}
			a.F = math.Float32frombits(uint32(f.u))
			a.seenFields |= 1 << atFloat
		case 3:
			if err = f.wantVarint("i"); err == nil {
				a.I = int64(f.u)
				a.seenFields |= 1 << atInt
			}
		case 4:
			if err = f.wantBytes("s"); err != nil {
				return err
			}
			if len(f.b) > d.lim.MaxNameBytes {
				return fmt.Errorf("string attribute of %d bytes, limit %d: %w", len(f.b), d.lim.MaxNameBytes, ErrTooLarge)
			}
			a.S = f.b
			a.seenFields |= 1 << atString
		case 5:
			if err = f.wantBytes("t"); err != nil {
				return err
			}
			if a.T, err = d.tensor(f.b); err != nil {
				return fmt.Errorf("tensor: %w", err)
			}
			a.seenFields |= 1 << atTensor
		case 6, 11:
			a.HasGraph = true
			a.seenFields |= 1 << atGraph
		case 7:
			var u []uint32
			u, err = appendFixed32(nil, f, max-len(a.Floats), "floats")
			for _, v := range u {
				a.Floats = append(a.Floats, math.Float32frombits(v))
			}
			a.seenFields |= 1 << atFloats
		case 8:
			var u []uint64
			u, err = appendVarints(nil, f, max-len(a.Ints), "ints")
			for _, v := range u {
				a.Ints = append(a.Ints, int64(v))
			}
			a.seenFields |= 1 << atInts
		case 9:
			if err = f.wantBytes("strings"); err != nil {
				return err
			}
			if len(a.Strings) >= max {
				return fmt.Errorf("strings: more than %d elements: %w", max, ErrTooLarge)
			}
			if len(f.b) > d.lim.MaxNameBytes {
				return fmt.Errorf("string attribute of %d bytes, limit %d: %w", len(f.b), d.lim.MaxNameBytes, ErrTooLarge)
			}
			a.Strings = append(a.Strings, f.b)
			a.seenFields |= 1 << atStrings
		case 10, 14, 15, 22, 23:
			a.HasOther = true
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if a.Type == 0 {
		a.Type = a.inferType()
	}
	return a, nil
}

// inferType guesses the type of an attribute written without one (IR < 2):
// the single value field present.
func (a *attribute) inferType() int32 {
	for _, t := range []int32{atFloat, atInt, atString, atTensor, atGraph, atFloats, atInts, atStrings} {
		if a.seenFields == 1<<t {
			return t
		}
	}
	return 0
}

func (d *decoder) tensor(b []byte) (*tensorProto, error) {
	t := &tensorProto{}
	const maxUnbounded = 1 << 62 // element counts are bounded by the input size
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			var u []uint64
			u, err = appendVarints(nil, f, d.lim.MaxRank-len(t.Dims), "dims")
			if err != nil {
				return fmt.Errorf("%w (rank limit %d)", err, d.lim.MaxRank)
			}
			for _, v := range u {
				t.Dims = append(t.Dims, int64(v))
			}
		case 2:
			if err = f.wantVarint("data_type"); err == nil {
				t.DataType = int32(f.u)
			}
		case 3:
			t.Segmented = true
		case 4:
			var u []uint32
			if u, err = appendFixed32(nil, f, maxUnbounded, "float_data"); err != nil {
				return err
			}
			if t.FloatData == nil {
				t.FloatData = make([]float32, 0, len(u))
			}
			for _, v := range u {
				t.FloatData = append(t.FloatData, math.Float32frombits(v))
			}
		case 5:
			var u []uint64
			if u, err = appendVarints(nil, f, maxUnbounded, "int32_data"); err != nil {
				return err
			}
			if t.Int32Data == nil {
				t.Int32Data = make([]int32, 0, len(u))
			}
			for _, v := range u {
				t.Int32Data = append(t.Int32Data, int32(v))
			}
		case 6:
			t.NumStrings++
		case 7:
			var u []uint64
			if u, err = appendVarints(nil, f, maxUnbounded, "int64_data"); err != nil {
				return err
			}
			if t.Int64Data == nil {
				t.Int64Data = make([]int64, 0, len(u))
			}
			for _, v := range u {
				t.Int64Data = append(t.Int64Data, int64(v))
			}
		case 8:
			t.Name, err = d.str(f, "name")
		case 9:
			if err = f.wantBytes("raw_data"); err == nil {
				t.RawData = f.b
				t.HasRaw = true
			}
		case 10:
			var u []uint64
			if u, err = appendFixed64(nil, f, maxUnbounded, "double_data"); err != nil {
				return err
			}
			for _, v := range u {
				t.DoubleData = append(t.DoubleData, math.Float64frombits(v))
			}
		case 11:
			var u []uint64
			if u, err = appendVarints(nil, f, maxUnbounded, "uint64_data"); err != nil {
				return err
			}
			t.Uint64Data = append(t.Uint64Data, u...)
		case 13:
			if err = f.wantBytes("external_data"); err != nil {
				return err
			}
			t.External = true
			var k, v string
			if k, v, err = d.stringEntry(f.b); err == nil && k == "location" {
				t.Location = v
			}
		case 14:
			if err = f.wantVarint("data_location"); err == nil && f.u == 1 {
				t.External = true
			}
		}
		return err
	})
	return t, err
}

func (d *decoder) valueInfo(b []byte) (*valueInfo, error) {
	v := &valueInfo{}
	err := eachField(b, func(f field) error {
		var err error
		switch f.num {
		case 1:
			v.Name, err = d.str(f, "name")
		case 2:
			if err = f.wantBytes("type"); err != nil {
				return err
			}
			err = d.typeProto(f.b, v)
		}
		return err
	})
	return v, err
}

// typeProto reads TypeProto; only tensor types are decoded, the others are
// flagged (their nesting is never followed, so there is no recursion).
func (d *decoder) typeProto(b []byte, v *valueInfo) error {
	return eachField(b, func(f field) error {
		switch f.num {
		case 1:
			if err := f.wantBytes("tensor_type"); err != nil {
				return err
			}
			return eachField(f.b, func(f field) error {
				switch f.num {
				case 1:
					if err := f.wantVarint("elem_type"); err != nil {
						return err
					}
					v.ElemType = int32(f.u)
				case 2:
					if err := f.wantBytes("shape"); err != nil {
						return err
					}
					v.HasShape = true
					return eachField(f.b, func(f field) error {
						if f.num != 1 {
							return nil
						}
						if err := f.wantBytes("dim"); err != nil {
							return err
						}
						if len(v.Dims) >= d.lim.MaxRank {
							return fmt.Errorf("shape of rank above %d: %w", d.lim.MaxRank, ErrTooLarge)
						}
						var dm dim
						err := eachField(f.b, func(f field) error {
							var err error
							switch f.num {
							case 1:
								if err = f.wantVarint("dim_value"); err == nil {
									dm.Value, dm.Known = int64(f.u), true
								}
							case 2:
								dm.Param, err = d.str(f, "dim_param")
							}
							return err
						})
						v.Dims = append(v.Dims, dm)
						return err
					})
				}
				return nil
			})
		case 4, 5, 8, 9:
			v.NotTensor = true
		}
		return nil
	})
}
