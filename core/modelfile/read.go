package modelfile

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/camlens/camlens/core/tensor"
)

// Load reads and parses the model file at path. It checks the file size
// against MaxFileBytes before reading.
func Load(path string) (*Model, error) {
	m, err := load(path)
	if err != nil {
		return nil, fmt.Errorf("modelfile: %s: %w", path, err)
	}
	return m, nil
}

func load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errf(ErrNotModelFile, "not a regular file (%v)", fi.Mode())
	}
	if fi.Size() > MaxFileBytes {
		return nil, errf(ErrTooLarge, "file is %d bytes, limit %d", fi.Size(), MaxFileBytes)
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("reading %d bytes: %w", len(data), err)
	}
	var one [1]byte
	if n, _ := f.Read(one[:]); n != 0 {
		return nil, errors.New("file grew while being read")
	}
	return parse(data)
}

// Parse decodes and validates a model file held in memory. Weights stored
// as int8 are dequantised (value = q·scale of the channel). Nothing is
// allocated in proportion to what the header claims before every claim has
// been checked against the limits and the actual data.
func Parse(data []byte) (*Model, error) {
	m, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("modelfile: %w", err)
	}
	return m, nil
}

// tensorInfo is one validated header entry; begin and end are offsets into
// the data buffer.
type tensorInfo struct {
	name       string
	dtype      string
	shape      []int
	n          int // elements
	begin, end int64
	scale      *tensorInfo // for I8 tensors
	isScale    bool
}

// member is one key of a JSON object with its value and their file
// offsets (off: near where the key starts; voff: where the value starts).
type member struct {
	key       string
	value     json.RawMessage
	off, voff int64
}

// headerOffset is the file offset of the JSON header.
const headerOffset = 8

func parse(data []byte) (*Model, error) {
	header, err := headerOf(data)
	if err != nil {
		return nil, err
	}
	// The fast JSON decoder first; encoding/json for anything it cannot
	// read and for every error (see fastjson.go).
	if m, err := parseWith(data, header, fastJSON); err == nil {
		return m, nil
	}
	return parseWith(data, header, stdJSON)
}

// parseWith parses a model file whose layout headerOf has checked, with
// the JSON decoding js. Each step is
// a function of its own: in js/wasm every jump in a large function costs
// V8's tier-up budget in proportion to the function's size, and V8 would
// otherwise compile this one-off code again, optimised, on a background
// thread while the engine starts.
func parseWith(data, header []byte, js headerJSON) (*Model, error) {
	buf := data[headerOffset+len(header):]
	dataOff := int64(headerOffset + len(header)) // file offset of the data buffer
	md, tensorMembers, err := decodeHeader(js, header, headerOffset)
	if err != nil {
		return nil, err
	}
	list, infos, err := decodeTensorInfos(js, tensorMembers)
	if err != nil {
		return nil, err
	}
	if err := checkTiling(list, len(buf), dataOff, len(data)); err != nil {
		return nil, err
	}
	weights, names, err := pairScales(list, infos)
	if err != nil {
		return nil, err
	}
	m, err := decodeMetaGraph(js, md)
	if err != nil {
		return nil, err
	}
	params, err := validateMetaGraph(&m.Meta, &m.Graph)
	if err != nil {
		return nil, err
	}
	if err := checkWeightNames(params, func(name string) bool { ti := infos[name]; return ti != nil && !ti.isScale }, names); err != nil {
		return nil, err
	}
	if err := checkValues(list, buf, dataOff); err != nil {
		return nil, err
	}
	m.Weights = decodeWeights(weights, buf)
	return m, nil
}

// headerOf checks the file's layout, [8-byte header length N][N bytes of
// JSON][data buffer], and returns the header.
func headerOf(data []byte) ([]byte, error) {
	if len(data) > MaxFileBytes {
		return nil, errf(ErrTooLarge, "file is %d bytes, limit %d", len(data), MaxFileBytes)
	}
	if len(data) < 8 {
		return nil, errf(ErrTruncated, "file is %d bytes, shorter than its 8-byte header length field", len(data))
	}
	hlen := binary.LittleEndian.Uint64(data)
	if len(data) > 8 && data[8] != '{' && (hlen > MaxHeaderBytes || hlen > uint64(len(data)-8) || DescribeKind(data) != "") {
		// Bytes 0–7 are not the length of a header that starts at byte 8:
		// another kind of file, not a truncated or oversized model.
		return nil, notSafetensors(data)
	}
	if hlen > MaxHeaderBytes {
		return nil, errf(ErrTooLarge, "header length %d (file bytes 0–7) is over the %d-byte limit (not a safetensors file?)", hlen, MaxHeaderBytes)
	}
	if hlen > uint64(len(data)-8) {
		return nil, errf(ErrTruncated, "header length %d but only %d bytes follow the length field", hlen, len(data)-8)
	}
	header := data[headerOffset : headerOffset+hlen]
	if len(header) < 2 || header[0] != '{' {
		return nil, errf(ErrNotModelFile, "header (file byte 8) does not start with '{': not a safetensors file")
	}
	if !utf8.Valid(header) {
		i := 0
		for i < len(header) {
			r, size := utf8.DecodeRune(header[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return nil, errf(ErrInvalid, "header is not valid UTF-8 (file byte %d)", headerOffset+i)
	}
	return header, nil
}

// decodeHeader decodes the header's top level: __metadata__ (checked for
// the format and version) and the tensor entries, in header order. hoff is
// the header's file offset.
func decodeHeader(js headerJSON, header []byte, hoff int64) (map[string]string, []member, error) {
	top, err := js.object(header, hoff, MaxTensors+1)
	if err != nil {
		return nil, nil, jsonErr(err, "header", hoff)
	}
	var md map[string]string
	var tensorMembers []member
	for _, mb := range top {
		if mb.key == keyMetadata {
			if md, err = js.strings(mb.value, mb.voff); err != nil {
				return nil, nil, jsonErr(err, keyMetadata, mb.voff)
			}
			continue
		}
		tensorMembers = append(tensorMembers, mb)
	}
	if md == nil {
		return nil, nil, errf(ErrNotModelFile, "header has no %q: a safetensors file, but not a CamLens model", keyMetadata)
	}
	if f, ok := md[keyFormat]; !ok || f != FormatName {
		if !ok {
			return nil, nil, errf(ErrNotModelFile, "%s has no %q key: a safetensors file, but not a CamLens model", keyMetadata, keyFormat)
		}
		return nil, nil, errf(ErrNotModelFile, "%s format is %.64q, want %q", keyMetadata, f, FormatName)
	}
	if v := md[keyVersion]; v != Version {
		return nil, nil, errf(ErrVersion, "file has format version %.64q, this reader reads version %q", v, Version)
	}
	return md, tensorMembers, nil
}

// decodeTensorInfos decodes and checks the tensor entries (dtype, shape,
// byte range) and returns them sorted by byte range, and by name.
func decodeTensorInfos(js headerJSON, tensorMembers []member) ([]*tensorInfo, map[string]*tensorInfo, error) {
	infos := make(map[string]*tensorInfo, len(tensorMembers))
	list := make([]*tensorInfo, 0, len(tensorMembers))
	for _, mb := range tensorMembers {
		ti, err := decodeTensorInfo(js, mb)
		if err != nil {
			return nil, nil, err
		}
		infos[ti.name] = ti
		list = append(list, ti)
	}
	slices.SortFunc(list, func(a, b *tensorInfo) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end), strings.Compare(a.name, b.name))
	})
	return list, infos, nil
}

// checkTiling checks that the byte ranges of list (sorted) tile the data
// buffer of n bytes at file offset dataOff: each begins where the previous
// ended, the first at 0, the last at its end. fileLen is for messages.
func checkTiling(list []*tensorInfo, n int, dataOff int64, fileLen int) error {
	var next int64
	for i, ti := range list {
		switch {
		case ti.begin > next && i == 0:
			return errf(ErrInvalid, "tensor %q: data_offsets [%d, %d] leave bytes 0–%d of the data buffer (file byte %d) to no tensor", ti.name, ti.begin, ti.end, ti.begin-1, dataOff)
		case ti.begin > next:
			return errf(ErrInvalid, "tensor %q: data_offsets [%d, %d] leave a gap after tensor %q, which ends at %d (file byte %d)", ti.name, ti.begin, ti.end, list[i-1].name, next, dataOff+next)
		case ti.begin < next:
			return errf(ErrInvalid, "tensor %q: data_offsets [%d, %d] overlap tensor %q [%d, %d]", ti.name, ti.begin, ti.end, list[i-1].name, list[i-1].begin, list[i-1].end)
		}
		if ti.end > int64(n) {
			return errf(ErrTruncated, "tensor %q: data_offsets [%d, %d] reach file byte %d, but the file ends at byte %d", ti.name, ti.begin, ti.end, dataOff+ti.end, fileLen)
		}
		next = ti.end
	}
	if next != int64(n) {
		return errf(ErrInvalid, "%d bytes at the end of the data buffer (from file byte %d) belong to no tensor", int64(n)-next, dataOff+next)
	}
	return nil
}

// pairScales gives every int8 tensor its scale tensor and returns the
// weights (the tensors that are no scale) and their names, sorted.
func pairScales(list []*tensorInfo, infos map[string]*tensorInfo) ([]*tensorInfo, []string, error) {
	for _, ti := range list {
		if ti.dtype != DtypeI8 {
			continue
		}
		if p := infos[strings.TrimSuffix(ti.name, ScaleSuffix)]; p != ti && p != nil && p.dtype == DtypeI8 {
			continue // the scale of another I8 tensor, reported with it below
		}
		sname := ti.name + ScaleSuffix
		s := infos[sname]
		switch {
		case s == nil:
			return nil, nil, errf(ErrInvalid, "tensor %q is %s but its scale tensor %q is missing", ti.name, DtypeI8, sname)
		case len(ti.shape) == 0:
			return nil, nil, errf(ErrInvalid, "tensor %q is %s with rank 0; int8 tensors need an output-channel axis", ti.name, DtypeI8)
		case s.dtype != DtypeF32 || len(s.shape) != 1 || s.shape[0] != ti.shape[0]:
			return nil, nil, errf(ErrInvalid, "scale tensor %q is %s %v, want %s [%d] (one per channel of %q %v)", sname, s.dtype, s.shape, DtypeF32, ti.shape[0], ti.name, ti.shape)
		}
		ti.scale, s.isScale = s, true
	}
	var weights []*tensorInfo
	names := make([]string, 0, len(list))
	for _, ti := range list {
		if !ti.isScale {
			weights = append(weights, ti)
			names = append(names, ti.name)
		}
	}
	sort.Strings(names)
	return weights, names, nil
}

// decodeMetaGraph decodes the meta data and the graph of __metadata__.
func decodeMetaGraph(js headerJSON, md map[string]string) (*Model, error) {
	m := &Model{}
	for _, v := range []struct {
		key string
		dst any
	}{{keyMeta, &m.Meta}, {keyGraph, &m.Graph}} {
		s, ok := md[v.key]
		if !ok {
			return nil, errf(ErrInvalid, "%s has no %q key", keyMetadata, v.key)
		}
		if err := js.strict([]byte(s), v.dst); err != nil {
			return nil, errf(ErrInvalid, "%s %q: %v", keyMetadata, v.key, describeJSONErr(err))
		}
	}
	return m, nil
}

// checkValues checks the values on the raw bytes, before any tensor is
// allocated: finite floats, positive scales, int8 in [-127, 127].
func checkValues(list []*tensorInfo, buf []byte, dataOff int64) error {
	for _, ti := range list {
		raw := buf[ti.begin:ti.end]
		at := dataOff + ti.begin
		switch ti.dtype {
		case DtypeF32:
			if i := badF32(raw[:4*ti.n], ti.isScale); i >= 0 {
				v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
				what := "scale of channel"
				if !ti.isScale {
					what = "element"
				}
				return errf(ErrInvalid, "tensor %q: %s %d (file byte %d) is %v", ti.name, what, i, at+4*int64(i), v)
			}
		case DtypeI8:
			if i := bytes.IndexByte(raw, 0x80); i >= 0 {
				return errf(ErrInvalid, "tensor %q: element %d (file byte %d) is -128, outside the symmetric int8 range [-127, 127]", ti.name, i, at+int64(i))
			}
		}
	}
	return nil
}

// decodeWeights decodes the checked weights.
func decodeWeights(weights []*tensorInfo, buf []byte) map[string]*tensor.Tensor {
	out := make(map[string]*tensor.Tensor, len(weights))
	for _, ti := range weights {
		raw := buf[ti.begin:ti.end]
		switch ti.dtype {
		case DtypeF32:
			out[ti.name] = &tensor.Tensor{Shape: ti.shape, Data: f32s(raw)}
		case DtypeI8:
			// Q views the file's bytes as int8 (same size, no copy): the
			// Quantized lives only to be dequantised.
			q := &tensor.Quantized{Shape: ti.shape, Q: unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)), Scale: f32s(buf[ti.scale.begin:ti.scale.end])}
			out[ti.name] = q.Dequantize()
		}
	}
	return out
}

// decodeTensorInfo decodes and checks one tensor entry of the header on its
// own (dtype, shape, offsets, byte length).
func decodeTensorInfo(js headerJSON, mb member) (*tensorInfo, error) {
	// Formatted only for an error: quoting every tensor's name of a good
	// file made fmt's and strconv's quoting hot in a cold start.
	where := func() string { return fmt.Sprintf("tensor %.200q (header near file byte %d)", mb.key, mb.off) }
	if err := checkName(mb.key); err != nil {
		return nil, fmt.Errorf("%s: %w", where(), err)
	}
	var h tensorEntry
	if err := js.strict(mb.value, &h); err != nil {
		return nil, errf(ErrInvalid, "%s: %v", where(), err)
	}
	ti, err := tensorInfoOf(mb.key, &h)
	if p, ok := err.(*entryProblem); ok {
		return nil, errf(p.sentinel, "%s: %s", where(), p.msg)
	}
	return ti, err
}

// entryProblem is what is wrong with a tensor entry: the sentinel error and
// the message that follow where the entry is.
type entryProblem struct {
	sentinel error
	msg      string
}

func (p *entryProblem) Error() string { return p.msg }

// tensorInfoOf checks a decoded tensor entry; its errors are
// *entryProblem. (A function of its own, small enough that V8 leaves it
// unoptimised: see parseWith.)
func tensorInfoOf(name string, h *tensorEntry) (*tensorInfo, error) {
	switch {
	case h.Dtype == nil:
		return nil, &entryProblem{ErrInvalid, "no dtype"}
	case h.Shape == nil:
		return nil, &entryProblem{ErrInvalid, "no shape"}
	case h.DataOffsets == nil || len(*h.DataOffsets) != 2:
		return nil, &entryProblem{ErrInvalid, "data_offsets must be [begin, end]"}
	}
	ti := &tensorInfo{name: name, dtype: *h.Dtype}
	size := dtypeSize(ti.dtype)
	if size == 0 {
		return nil, &entryProblem{ErrInvalid, fmt.Sprintf("dtype %.32q is not supported (format version %s has %s and %s)", ti.dtype, Version, DtypeF32, DtypeI8)}
	}
	var err error
	if ti.shape, err = shapeOf(*h.Shape); err != nil {
		return nil, err
	}
	n, err := tensor.NumElements(ti.shape)
	if err != nil {
		return nil, &entryProblem{ErrTooLarge, err.Error()}
	}
	ti.n = n
	ti.begin, ti.end = (*h.DataOffsets)[0], (*h.DataOffsets)[1]
	switch {
	case ti.begin < 0 || ti.end < 0:
		return nil, &entryProblem{ErrInvalid, fmt.Sprintf("data_offsets [%d, %d] are negative", ti.begin, ti.end)}
	case ti.begin > ti.end:
		return nil, &entryProblem{ErrInvalid, fmt.Sprintf("data_offsets [%d, %d] end before they begin", ti.begin, ti.end)}
	case ti.end > MaxFileBytes:
		return nil, &entryProblem{ErrInvalid, fmt.Sprintf("data_offsets [%d, %d] out of range (files are at most %d bytes)", ti.begin, ti.end, MaxFileBytes)}
	}
	if want := int64(n) * int64(size); ti.end-ti.begin != want {
		return nil, &entryProblem{ErrInvalid, fmt.Sprintf("%s shape %v needs %d bytes, data_offsets [%d, %d] hold %d", ti.dtype, ti.shape, want, ti.begin, ti.end, ti.end-ti.begin)}
	}
	return ti, nil
}

// shapeOf checks a shape's rank and dimensions, as tensorInfoOf does.
func shapeOf(shape []int64) ([]int, error) {
	if len(shape) > MaxRank {
		return nil, &entryProblem{ErrInvalid, fmt.Sprintf("rank %d over the limit %d", len(shape), MaxRank)}
	}
	out := make([]int, len(shape))
	for i, d := range shape {
		if d < 0 {
			return nil, &entryProblem{ErrInvalid, fmt.Sprintf("shape %v has a negative dimension", shape)}
		}
		if d > tensor.MaxElements {
			return nil, &entryProblem{ErrTooLarge, fmt.Sprintf("shape %v: dimension %d over %d elements", shape, i, tensor.MaxElements)}
		}
		out[i] = int(d)
	}
	return out, nil
}

// tensorEntry is a tensor's entry in the header as it is written.
type tensorEntry struct {
	Dtype       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// decodeObject decodes a JSON object into its members in order, rejecting
// duplicate keys, more than maxMembers members and anything after the
// object but white space. base is the file offset of b; the offsets in
// members and errors are file offsets.
func decodeObject(b []byte, base int64, maxMembers int) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil {
		return nil, err
	} else if tok != json.Delim('{') {
		return nil, errf(ErrInvalid, "JSON at file byte %d is not an object", base)
	}
	var out []member
	seen := map[string]bool{}
	for dec.More() {
		off := base + dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errf(ErrInvalid, "object key near file byte %d is not a string", off)
		}
		if seen[key] {
			return nil, errf(ErrInvalid, "duplicate key %.200q near file byte %d", key, off)
		}
		seen[key] = true
		if len(out) == maxMembers {
			return nil, errf(ErrTooLarge, "more than %d entries (near file byte %d)", maxMembers, off)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out = append(out, member{key, raw, off, base + dec.InputOffset() - int64(len(raw))})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return nil, errf(ErrInvalid, "data after the JSON object near file byte %d", base+dec.InputOffset())
		}
		return nil, err
	}
	return out, nil
}

// decodeStrings decodes a JSON object whose values are all strings; base
// is the file offset of b.
func decodeStrings(b []byte, base int64) (map[string]string, error) {
	members, err := decodeObject(b, base, MaxTensors)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(members))
	for _, mb := range members {
		var s string
		if len(mb.value) == 0 || mb.value[0] != '"' || json.Unmarshal(mb.value, &s) != nil {
			return nil, errf(ErrInvalid, "%s value of %.64q (file byte %d) is not a string", keyMetadata, mb.key, mb.voff)
		}
		out[mb.key] = s
	}
	return out, nil
}

// decodeStrict decodes one JSON value into v, rejecting unknown fields and
// trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("data after the JSON value at byte %d", dec.InputOffset())
	}
	return nil
}

// describeJSONErr says where in a JSON text a decoding error is.
func describeJSONErr(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON near byte %d of the string: %v", se.Offset, se)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return "malformed JSON: it ends early"
	}
	return err.Error()
}

// jsonErr turns an error of decodeObject into one that wraps a sentinel
// and, for syntax errors, gives the file offset (base is the file offset
// of the text decoded; what names it).
func jsonErr(err error, what string, base int64) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return errf(ErrInvalid, "%s: malformed JSON near file byte %d: %v", what, base+se.Offset, se)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return errf(ErrInvalid, "%s: malformed JSON: it ends early", what)
	case errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge):
		return err
	}
	return errf(ErrInvalid, "%s: %v", what, err)
}

// badF32 returns the index of the first float32 in raw (little-endian)
// that is not finite, or negative when scale is set, and −1 when all are
// good. A leaf function: in js/wasm every loop back-edge of a large
// function costs V8's tier-up budget in proportion to the function's size.
//
//go:noinline
func badF32(raw []byte, scale bool) int {
	for i := 0; 4*i+4 <= len(raw); i++ {
		v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if !finite32(v) || scale && v < 0 {
			return i
		}
	}
	return -1
}

// f32s decodes little-endian binary32 values.
func f32s(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
