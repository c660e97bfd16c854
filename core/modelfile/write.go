package modelfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/camlens/camlens/core/tensor"
)

// WriteOptions controls how Write stores weights.
type WriteOptions struct {
	// Quantize stores the "weight" of every conv2d and dense node (rank ≥ 2)
	// as int8 symmetric per output channel (axis 0) with a float32 scale
	// tensor "<name>_scale"; everything else stays float32. False stores
	// every tensor as float32 (float reference models).
	Quantize bool
}

// entry is one tensor as stored: its dtype, shape and little-endian bytes.
type entry struct {
	name  string
	dtype string
	shape []int
	data  []byte
}

// tensorHeader is one tensor's entry in the safetensors header.
type tensorHeader struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// Write validates m (see Validate) and writes it to w as a CamLens model
// file. The output is deterministic: the same Model and options always
// give the same bytes (header keys sorted, tensors in a fixed order).
func Write(w io.Writer, m *Model, opt WriteOptions) error {
	b, err := encode(m, opt)
	if err != nil {
		return fmt.Errorf("modelfile: write: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("modelfile: write: %w", err)
	}
	return nil
}

// encode returns the whole file.
func encode(m *Model, opt WriteOptions) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	quant := map[string]bool{}
	if opt.Quantize {
		for _, n := range m.Graph.Nodes {
			name := n.Name + ".weight"
			if t := m.Weights[name]; t != nil && quantizedParam(n.Op, "weight") && t.Rank() >= 2 {
				quant[name] = true
			}
		}
	}

	var entries []entry
	for _, name := range sortedKeys(m.Weights) {
		t := m.Weights[name]
		if !quant[name] {
			entries = append(entries, entry{name, DtypeF32, t.Shape, f32Bytes(t.Data)})
			continue
		}
		q, err := tensor.QuantizePerChannel(t)
		if err != nil {
			return nil, errf(ErrInvalid, "tensor %q: %v", name, err)
		}
		qb := make([]byte, len(q.Q))
		for i, v := range q.Q {
			qb[i] = byte(v)
		}
		entries = append(entries,
			entry{name, DtypeI8, t.Shape, qb},
			entry{name + ScaleSuffix, DtypeF32, []int{len(q.Scale)}, f32Bytes(q.Scale)})
	}
	if len(entries) > MaxTensors {
		return nil, errf(ErrTooLarge, "%d tensors, limit %d", len(entries), MaxTensors)
	}
	// Data order: wider dtypes first (F32, then I8), by name within a
	// dtype, so every F32 tensor starts 4-byte aligned in the file.
	sort.SliceStable(entries, func(i, j int) bool {
		si, sj := dtypeSize(entries[i].dtype), dtypeSize(entries[j].dtype)
		if si != sj {
			return si > sj
		}
		return entries[i].name < entries[j].name
	})

	metaJSON, err := marshalJSON(m.Meta)
	if err != nil {
		return nil, errf(ErrInvalid, "meta: %v", err)
	}
	graphJSON, err := marshalJSON(m.Graph)
	if err != nil {
		return nil, errf(ErrInvalid, "graph: %v", err)
	}
	md, err := marshalJSON(map[string]string{
		keyFormat:  FormatName,
		keyVersion: Version,
		keyMeta:    string(metaJSON),
		keyGraph:   string(graphJSON),
	})
	if err != nil {
		return nil, errf(ErrInvalid, "metadata: %v", err)
	}

	infos := make(map[string]tensorHeader, len(entries))
	var off int64
	for _, e := range entries {
		shape := e.shape
		if shape == nil {
			shape = []int{}
		}
		infos[e.name] = tensorHeader{e.dtype, shape, [2]int64{off, off + int64(len(e.data))}}
		off += int64(len(e.data))
	}
	// Header: "__metadata__" first, then the tensors sorted by name.
	var h bytes.Buffer
	h.WriteString(`{"` + keyMetadata + `":`)
	h.Write(md)
	for _, name := range sortedKeys(infos) {
		k, err := marshalJSON(name)
		if err != nil {
			return nil, errf(ErrInvalid, "tensor name %q: %v", name, err)
		}
		v, err := marshalJSON(infos[name])
		if err != nil {
			return nil, errf(ErrInvalid, "tensor %q: %v", name, err)
		}
		h.WriteByte(',')
		h.Write(k)
		h.WriteByte(':')
		h.Write(v)
	}
	h.WriteByte('}')
	// Pad with spaces so that the data buffer starts 8-byte aligned.
	for (8+h.Len())%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > MaxHeaderBytes {
		return nil, errf(ErrTooLarge, "header is %d bytes, limit %d", h.Len(), MaxHeaderBytes)
	}
	total := 8 + int64(h.Len()) + off
	if total > MaxFileBytes {
		return nil, errf(ErrTooLarge, "file would be %d bytes, limit %d", total, MaxFileBytes)
	}
	out := make([]byte, 8, total)
	binary.LittleEndian.PutUint64(out, uint64(h.Len()))
	out = append(out, h.Bytes()...)
	for _, e := range entries {
		out = append(out, e.data...)
	}
	return out, nil
}

// f32Bytes returns v as little-endian IEEE-754 binary32.
func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// marshalJSON is json.Marshal without HTML escaping (so that "<", ">" and
// "&" in labels stay readable) and without the encoder's newline.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
