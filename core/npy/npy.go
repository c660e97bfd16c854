package npy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/camlens/camlens/core/tensor"
)

// Magic starts every .npy file.
const Magic = "\x93NUMPY"

// MaxHeaderLen bounds the header dictionary (NumPy itself refuses headers
// over 10,000 bytes by default).
const MaxHeaderLen = 1 << 16

// ErrFormat is returned (wrapped) for input that is not a valid .npy file or
// uses features this package does not support.
var ErrFormat = errors.New("npy: invalid or unsupported file")

// header is the parsed header dictionary.
type header struct {
	descr   string
	fortran bool
	shape   []int
}

// Read reads one .npy array from r and returns it as a float32 tensor of
// the same shape (a 0-d array gives Shape [] and one value). It reads
// exactly the array's bytes, so several arrays can follow one another in r.
func Read(r io.Reader) (*tensor.Tensor, error) {
	var pre [8]byte
	if n, err := io.ReadFull(r, pre[:]); err != nil {
		if n == 0 && err == io.EOF {
			return nil, fmt.Errorf("npy: empty input: %w", ErrFormat)
		}
		return nil, fmt.Errorf("npy: truncated preamble (%d of 8 bytes): %w", n, ErrFormat)
	}
	if string(pre[:6]) != Magic {
		return nil, fmt.Errorf("npy: bad magic % x (want 93 4e 55 4d 50 59): %w", pre[:6], ErrFormat)
	}
	major, minor := pre[6], pre[7]
	var hlen int
	switch major {
	case 1:
		var b [2]byte
		if n, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy: truncated header length (%d of 2 bytes): %w", n, ErrFormat)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if n, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("npy: truncated header length (%d of 4 bytes): %w", n, ErrFormat)
		}
		l := binary.LittleEndian.Uint32(b[:])
		if l > MaxHeaderLen {
			return nil, fmt.Errorf("npy: header of %d bytes exceeds %d: %w", l, MaxHeaderLen, ErrFormat)
		}
		hlen = int(l)
	default:
		return nil, fmt.Errorf("npy: format version %d.%d not supported (want 1.0, 2.0 or 3.0): %w", major, minor, ErrFormat)
	}
	if minor != 0 {
		return nil, fmt.Errorf("npy: format version %d.%d not supported (want 1.0, 2.0 or 3.0): %w", major, minor, ErrFormat)
	}
	hb := make([]byte, hlen)
	if n, err := io.ReadFull(r, hb); err != nil {
		return nil, fmt.Errorf("npy: truncated header (%d of %d bytes): %w", n, hlen, ErrFormat)
	}
	if major < 3 {
		for i, c := range hb {
			if c >= 0x80 {
				return nil, fmt.Errorf("npy: non-ASCII byte %#x at header offset %d in a version %d file: %w", c, i, major, ErrFormat)
			}
		}
	} else if !utf8.Valid(hb) {
		return nil, fmt.Errorf("npy: header is not valid UTF-8: %w", ErrFormat)
	}
	h, err := parseHeader(string(hb))
	if err != nil {
		return nil, err
	}
	if h.fortran {
		return nil, fmt.Errorf("npy: fortran_order arrays are not supported (save with numpy.ascontiguousarray): %w", ErrFormat)
	}
	size, order, conv, err := dtype(h.descr)
	if err != nil {
		return nil, err
	}
	n, err := tensor.NumElements(h.shape)
	if err != nil {
		return nil, fmt.Errorf("npy: shape %v: %w", h.shape, err)
	}
	// Grow the result as data arrives, one chunk at a time, so a header
	// that promises more than the input holds costs memory in proportion to
	// the bytes actually present, not to the claimed shape.
	const chunk = 1 << 16
	data := make([]float32, 0, min(n, 4*chunk))
	buf := make([]byte, min(n, chunk)*size)
	for len(data) < n {
		k := min(n-len(data), chunk)
		b := buf[:k*size]
		if got, err := io.ReadFull(r, b); err != nil {
			have := int64(len(data))*int64(size) + int64(got)
			return nil, fmt.Errorf("npy: data truncated: %d of %d bytes for shape %v %s: %w",
				have, int64(n)*int64(size), h.shape, h.descr, ErrFormat)
		}
		done := len(data)
		data = append(data, make([]float32, k)...)
		if err := conv(data[done:], b, order); err != nil {
			return nil, fmt.Errorf("npy: data at element %d: %w", done, err)
		}
	}
	t, err := tensor.FromData(h.shape, data)
	if err != nil {
		return nil, fmt.Errorf("npy: shape %v: %w", h.shape, err)
	}
	return t, nil
}

type converter func(dst []float32, src []byte, order binary.ByteOrder) error

// dtype returns the element size, byte order and converter for a descr.
func dtype(descr string) (int, binary.ByteOrder, converter, error) {
	switch descr {
	case "<f4", ">f4":
		return 4, byteOrder(descr), func(dst []float32, src []byte, o binary.ByteOrder) error {
			for i := range dst {
				dst[i] = math.Float32frombits(o.Uint32(src[4*i:]))
			}
			return nil
		}, nil
	case "<f8", ">f8":
		return 8, byteOrder(descr), func(dst []float32, src []byte, o binary.ByteOrder) error {
			for i := range dst {
				v := math.Float64frombits(o.Uint64(src[8*i:]))
				f := float32(v)
				if math.IsInf(float64(f), 0) && !math.IsInf(v, 0) {
					return fmt.Errorf("float64 value %g at index %d overflows float32: %w", v, i, ErrFormat)
				}
				dst[i] = f
			}
			return nil
		}, nil
	case "|u1", "<u1", ">u1", "=u1":
		return 1, binary.LittleEndian, func(dst []float32, src []byte, _ binary.ByteOrder) error {
			for i := range dst {
				dst[i] = float32(src[i])
			}
			return nil
		}, nil
	}
	return 0, nil, nil, fmt.Errorf("npy: dtype %q not supported (want '<f4', '<f8' or '|u1'): %w", descr, ErrFormat)
}

func byteOrder(descr string) binary.ByteOrder {
	if descr[0] == '>' {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// parseHeader parses the Python dict literal of a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, followed by
// padding and a newline. Exactly the keys descr, fortran_order and shape
// must be present.
func parseHeader(s string) (header, error) {
	p := &hparser{s: strings.TrimRight(s, " \t\r\n\x00")}
	var h header
	seen := map[string]bool{}
	bad := func(format string, a ...any) (header, error) {
		return header{}, fmt.Errorf("npy: header %.200q: "+format+": %w", append([]any{s}, append(a, ErrFormat)...)...)
	}
	if !p.eat('{') {
		return bad("want '{' at offset %d", p.i)
	}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		key, ok := p.str()
		if !ok {
			return bad("want a quoted key at offset %d", p.i)
		}
		if seen[key] {
			return bad("duplicate key %q", key)
		}
		seen[key] = true
		p.space()
		if !p.eat(':') {
			return bad("want ':' after key %q", key)
		}
		p.space()
		switch key {
		case "descr":
			d, ok := p.str()
			if !ok {
				return bad("descr must be a string (structured dtypes are not supported)")
			}
			h.descr = d
		case "fortran_order":
			switch {
			case p.word("True"):
				h.fortran = true
			case p.word("False"):
				h.fortran = false
			default:
				return bad("fortran_order must be True or False")
			}
		case "shape":
			shape, err := p.tuple()
			if err != nil {
				return bad("shape: %v", err)
			}
			h.shape = shape
		default:
			return bad("unexpected key %q", key)
		}
		p.space()
		if p.eat(',') {
			continue
		}
		p.space()
		if !p.eat('}') {
			return bad("want ',' or '}' at offset %d", p.i)
		}
		break
	}
	if p.space(); p.i != len(p.s) {
		return bad("trailing text at offset %d", p.i)
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return bad("missing key %q", k)
		}
	}
	return h, nil
}

type hparser struct {
	s string
	i int
}

func (p *hparser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *hparser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *hparser) word(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// str parses a '...' or "..." string without escapes.
func (p *hparser) str() (string, bool) {
	if p.i >= len(p.s) || p.s[p.i] != '\'' && p.s[p.i] != '"' {
		return "", false
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.ContainsRune(v, '\\') {
		return "", false
	}
	p.i += end + 2
	return v, true
}

// tuple parses (), (n,), (a, b), (a, b,) of non-negative integers.
func (p *hparser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, errors.New("want '('")
	}
	shape := []int{}
	for {
		p.space()
		if p.eat(')') { // empty tuple, or after a trailing comma
			return shape, nil
		}
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		if j == p.i {
			return nil, fmt.Errorf("want a non-negative integer at offset %d", p.i)
		}
		v, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil || v > math.MaxInt32 {
			return nil, fmt.Errorf("dimension %q out of range", p.s[p.i:j])
		}
		if len(shape) >= 32 {
			return nil, errors.New("more than 32 dimensions")
		}
		shape = append(shape, int(v))
		p.i = j
		p.space()
		if p.eat(',') {
			continue
		}
		p.space()
		if !p.eat(')') {
			return nil, fmt.Errorf("want ',' or ')' at offset %d", p.i)
		}
		if len(shape) == 1 {
			return nil, errors.New("a 1-tuple needs a trailing comma")
		}
		return shape, nil
	}
}

// Write writes t as a C-order '<f4' .npy file (version 1.0, or 2.0 when the
// header does not fit in 65535 bytes). It checks that the shape matches the
// data.
func Write(w io.Writer, t *tensor.Tensor) error {
	if t == nil {
		return errors.New("npy: write nil tensor")
	}
	n, err := tensor.NumElements(t.Shape)
	if err != nil {
		return fmt.Errorf("npy: write: %w", err)
	}
	if n != len(t.Data) {
		return fmt.Errorf("npy: write: shape %v needs %d values, tensor has %d", t.Shape, n, len(t.Data))
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := "(" + strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	shape += ")"
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }"
	// Like numpy.save: spare room after the dict so the first dimension can
	// grow to 21 digits in place, then spaces so that magic + version +
	// length + header + '\n' is a multiple of 64 (never zero padding).
	if len(dims) > 0 {
		dict += strings.Repeat(" ", max(0, 21-len(dims[0])))
	}
	version, lenBytes := byte(1), 2
	pad := 64 - (len(Magic)+2+lenBytes+len(dict)+1)%64
	if len(dict)+1+pad > math.MaxUint16 {
		version, lenBytes = 2, 4
		pad = 64 - (len(Magic)+2+lenBytes+len(dict)+1)%64
	}
	hlen := len(dict) + pad + 1
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(Magic)
	bw.Write([]byte{version, 0})
	if lenBytes == 2 {
		bw.Write(binary.LittleEndian.AppendUint16(nil, uint16(hlen)))
	} else {
		bw.Write(binary.LittleEndian.AppendUint32(nil, uint32(hlen)))
	}
	bw.WriteString(dict)
	bw.WriteString(strings.Repeat(" ", pad))
	bw.WriteByte('\n')
	var b [4]byte
	for _, v := range t.Data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		if _, err := bw.Write(b[:]); err != nil {
			return fmt.Errorf("npy: write data: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("npy: write: %w", err)
	}
	return nil
}
