package tfjs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"

	"github.com/camlens/camlens/core/tensor"
)

// Limits on what ParseManifest and Decode accept.
const (
	MaxManifestBytes = 4 << 20   // size of the manifest JSON
	MaxWeights       = 10000     // weight entries over all groups
	MaxShards        = 1000      // shard paths over all groups
	MaxRank          = 8         // dimensions of one weight
	MaxNameBytes     = 1024      // length of a weight name or shard path
	MaxTotalBytes    = 512 << 20 // stored bytes of all weights together
)

// ErrFormat is wrapped by every error about a malformed manifest or shard.
var ErrFormat = errors.New("tfjs: malformed weights")

// Manifest is a parsed TF.js weights manifest.
type Manifest struct {
	Groups []Group
}

// Group is one weights group: its tensors are stored back to back, in the
// order of Weights, in the concatenation of the files named by Paths.
type Group struct {
	Paths   []string
	Weights []Entry
}

// Entry describes one stored tensor.
type Entry struct {
	Name  string
	Shape []int
	// Dtype is the dtype of the decoded tensor; only "float32" is supported.
	Dtype string
	// Quantization is nil for raw float32 data.
	Quantization *Quantization
}

// Quantization describes affine-quantised storage: value = q·Scale + Min,
// with q an unsigned integer of Dtype ("uint8" or "uint16").
type Quantization struct {
	Dtype string
	Scale float64
	Min   float64
}

// NumElements is the element count of the entry's shape (validated by
// ParseManifest, so it cannot overflow there).
func (e Entry) NumElements() int {
	n := 1
	for _, d := range e.Shape {
		n *= d
	}
	return n
}

// StoredBytes is the number of bytes the entry occupies in its group's data.
func (e Entry) StoredBytes() int {
	return e.NumElements() * e.bytesPerElement()
}

func (e Entry) bytesPerElement() int {
	if e.Quantization == nil {
		return 4
	}
	if e.Quantization.Dtype == "uint16" {
		return 2
	}
	return 1
}

// StoredBytes is the size of the group's data (the sum over its entries).
func (g Group) StoredBytes() int {
	n := 0
	for _, e := range g.Weights {
		n += e.StoredBytes()
	}
	return n
}

// The JSON form. Unknown fields are ignored, as TF.js does.
type jsonGroup struct {
	Paths   []string    `json:"paths"`
	Weights []jsonEntry `json:"weights"`
}

type jsonEntry struct {
	Name         *string    `json:"name"`
	Shape        []int      `json:"shape"`
	Dtype        string     `json:"dtype"`
	Quantization *jsonQuant `json:"quantization"`
}

type jsonQuant struct {
	Dtype string   `json:"dtype"`
	Scale *float64 `json:"scale"`
	Min   *float64 `json:"min"`
}

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// ParseManifest parses and validates a weights manifest: at least one group,
// every group with at least one shard path (a clean relative path) and at
// least one weight, weight names unique and non-empty, shapes with at most
// MaxRank non-negative dimensions within tensor.MaxElements, dtype float32,
// quantisation uint8 or uint16 with a finite scale ≥ 0 and a finite min, and
// the stored size of everything within MaxTotalBytes.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestBytes {
		return nil, formatErr("manifest is %d bytes, limit %d", len(data), MaxManifestBytes)
	}
	var groups []jsonGroup
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&groups); err != nil {
		return nil, formatErr("manifest JSON: %v", err)
	}
	if dec.More() {
		return nil, formatErr("manifest JSON: data after the top-level array")
	}
	if len(groups) == 0 {
		return nil, formatErr("manifest has no weight groups")
	}
	m := &Manifest{Groups: make([]Group, 0, len(groups))}
	names := map[string]bool{}
	nWeights, nShards, total := 0, 0, 0
	for gi, jg := range groups {
		if len(jg.Paths) == 0 {
			return nil, formatErr("group %d has no paths", gi)
		}
		if len(jg.Weights) == 0 {
			return nil, formatErr("group %d has no weights", gi)
		}
		nShards += len(jg.Paths)
		if nShards > MaxShards {
			return nil, formatErr("more than %d shard paths", MaxShards)
		}
		nWeights += len(jg.Weights)
		if nWeights > MaxWeights {
			return nil, formatErr("more than %d weights", MaxWeights)
		}
		g := Group{Paths: make([]string, len(jg.Paths)), Weights: make([]Entry, 0, len(jg.Weights))}
		for pi, p := range jg.Paths {
			if len(p) > MaxNameBytes || !fs.ValidPath(p) || p == "." {
				return nil, formatErr("group %d path %d %.64q is not a clean relative path", gi, pi, p)
			}
			g.Paths[pi] = p
		}
		for wi, jw := range jg.Weights {
			e, err := checkEntry(jw)
			if err != nil {
				return nil, formatErr("group %d weight %d: %v", gi, wi, err)
			}
			if names[e.Name] {
				return nil, formatErr("group %d weight %d: duplicate name %q", gi, wi, e.Name)
			}
			names[e.Name] = true
			// Each entry is at most tensor.MaxElements·4 bytes, so the sum
			// cannot overflow before the comparison.
			total += e.StoredBytes()
			if total > MaxTotalBytes {
				return nil, formatErr("weights take more than %d bytes (at %q)", MaxTotalBytes, e.Name)
			}
			g.Weights = append(g.Weights, e)
		}
		m.Groups = append(m.Groups, g)
	}
	return m, nil
}

func checkEntry(jw jsonEntry) (Entry, error) {
	if jw.Name == nil || *jw.Name == "" {
		return Entry{}, errors.New("no name")
	}
	name := *jw.Name
	if len(name) > MaxNameBytes {
		return Entry{}, fmt.Errorf("name longer than %d bytes", MaxNameBytes)
	}
	if jw.Shape == nil {
		return Entry{}, fmt.Errorf("%q: no shape", name)
	}
	if len(jw.Shape) > MaxRank {
		return Entry{}, fmt.Errorf("%q: rank %d, limit %d", name, len(jw.Shape), MaxRank)
	}
	if _, err := tensor.NumElements(jw.Shape); err != nil {
		return Entry{}, fmt.Errorf("%q: %v", name, err)
	}
	if jw.Dtype != "float32" {
		return Entry{}, fmt.Errorf("%q: dtype %.32q not supported (only float32)", name, jw.Dtype)
	}
	e := Entry{Name: name, Shape: append([]int(nil), jw.Shape...), Dtype: jw.Dtype}
	if q := jw.Quantization; q != nil {
		if q.Dtype != "uint8" && q.Dtype != "uint16" {
			return Entry{}, fmt.Errorf("%q: quantization dtype %.32q not supported (uint8, uint16)", name, q.Dtype)
		}
		if q.Scale == nil || q.Min == nil {
			return Entry{}, fmt.Errorf("%q: %s quantization needs scale and min", name, q.Dtype)
		}
		if math.IsNaN(*q.Scale) || math.IsInf(*q.Scale, 0) || *q.Scale < 0 {
			return Entry{}, fmt.Errorf("%q: quantization scale %v is not finite and ≥ 0", name, *q.Scale)
		}
		if math.IsNaN(*q.Min) || math.IsInf(*q.Min, 0) {
			return Entry{}, fmt.Errorf("%q: quantization min %v is not finite", name, *q.Min)
		}
		e.Quantization = &Quantization{Dtype: q.Dtype, Scale: *q.Scale, Min: *q.Min}
	}
	return e, nil
}

// ShardReader returns the bytes of the shard file at path (a path from the
// manifest, relative to the manifest's directory).
type ShardReader func(path string) ([]byte, error)

// Decode reads every group's shards through read and returns the weights as
// float32 tensors keyed by name. The shards of a group must together hold
// exactly the group's stored bytes; the check is made before any tensor is
// allocated. Quantised values are computed as TF.js does: q·scale + min in
// float64, rounded once to float32. Raw float32 values must be finite.
func (m *Manifest) Decode(read ShardReader) (map[string]*tensor.Tensor, error) {
	out := map[string]*tensor.Tensor{}
	for gi, g := range m.Groups {
		want := g.StoredBytes()
		var buf []byte
		for _, p := range g.Paths {
			b, err := read(p)
			if err != nil {
				return nil, fmt.Errorf("tfjs: group %d: reading shard %q: %w", gi, p, err)
			}
			if len(b) > want-len(buf) {
				return nil, formatErr("group %d: shards hold more than the %d bytes its weights take (at %q)", gi, want, p)
			}
			if len(g.Paths) == 1 {
				buf = b
			} else {
				if buf == nil {
					buf = make([]byte, 0, want)
				}
				buf = append(buf, b...)
			}
		}
		if len(buf) != want {
			return nil, formatErr("group %d: shards hold %d bytes, its weights take %d", gi, len(buf), want)
		}
		off := 0
		for _, e := range g.Weights {
			n := e.StoredBytes()
			t, err := decodeEntry(e, buf[off:off+n])
			if err != nil {
				return nil, fmt.Errorf("%w: group %d weight %q at byte %d: %v", ErrFormat, gi, e.Name, off, err)
			}
			out[e.Name] = t
			off += n
		}
	}
	return out, nil
}

func decodeEntry(e Entry, b []byte) (*tensor.Tensor, error) {
	t, err := tensor.Zeros(e.Shape)
	if err != nil {
		return nil, err
	}
	q := e.Quantization
	switch {
	case q == nil:
		for i := range t.Data {
			u := uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24
			v := math.Float32frombits(u)
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("element %d is %v", i, v)
			}
			t.Data[i] = v
		}
	case q.Dtype == "uint8":
		for i := range t.Data {
			t.Data[i] = float32(float64(b[i])*q.Scale + q.Min)
		}
	default: // uint16, little-endian
		for i := range t.Data {
			t.Data[i] = float32(float64(uint16(b[2*i])|uint16(b[2*i+1])<<8)*q.Scale + q.Min)
		}
	}
	if err := t.CheckFinite(); err != nil { // a huge scale can overflow float32
		return nil, err
	}
	return t, nil
}
