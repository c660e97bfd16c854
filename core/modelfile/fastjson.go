package modelfile

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/camlens/camlens/core/nn"
)

// The header's JSON is decoded twice over at most: first by the small
// decoder in this file, which reads the canonical form that Write and
// Python's json module produce (exact-case keys, no duplicates, no null,
// no unknown fields) and gives up (errSlow) on anything else; then, only
// when the first attempt failed for any reason, by encoding/json, which
// decides every other input and writes every error message. A file the
// small decoder reads decodes to exactly what encoding/json would make of
// it (FuzzFastJSON checks that).
//
// Why not encoding/json alone: in a browser the engine decodes the header
// once, in freshly loaded WebAssembly, on the way to the first heatmap.
// encoding/json's reflection-driven decoder runs about 2,500 values through
// a few large functions there, and V8 sends each of them to its optimising
// compiler on a background thread (1–1.5 s of a core on a 2-core machine,
// competing with the engine). The functions here are small.

// errSlow says the fast decoder cannot decide an input.
var errSlow = errors.New("modelfile: outside the fast JSON decoder's subset")

// headerJSON is the JSON decoding parse uses.
type headerJSON struct {
	object  func(b []byte, base int64, maxMembers int) ([]member, error)
	strings func(b []byte, base int64) (map[string]string, error)
	strict  func(b []byte, v any) error
}

var (
	stdJSON  = headerJSON{decodeObject, decodeStrings, decodeStrict}
	fastJSON = headerJSON{fastObject, fastStrings, fastStrict}
)

// maxFastDepth bounds the nesting the fast decoder follows (encoding/json
// takes deeper input).
const maxFastDepth = 32

// cur is a position in a JSON text. Its methods skip white space before a
// token and report false for anything they do not read.
type cur struct {
	b     []byte
	i     int
	depth int
}

func (c *cur) ws() {
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// eat consumes ch, the next token.
func (c *cur) eat(ch byte) bool {
	c.ws()
	if c.i < len(c.b) && c.b[c.i] == ch {
		c.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (c *cur) end() bool {
	c.ws()
	return c.i == len(c.b)
}

// str reads a string: valid UTF-8, escapes decoded, surrogate pairs
// joined (a lone surrogate, which encoding/json turns into U+FFFD, is
// left to it).
func (c *cur) str() (string, bool) {
	if !c.eat('"') {
		return "", false
	}
	start := c.i
	c.i += plain(c.b[c.i:])
	switch {
	case c.i == len(c.b):
		return "", false
	case c.b[c.i] == '"':
		s := c.b[start:c.i]
		c.i++
		return string(s), utf8.Valid(s)
	case c.b[c.i] == '\\':
		return c.escaped(start)
	}
	return "", false // a control character
}

// plain returns the length of b's first run of bytes that are neither a
// quote, a backslash nor a control character.
//
//go:noinline
func plain(b []byte) int {
	for i, ch := range b {
		if ch == '"' || ch == '\\' || ch < 0x20 {
			return i
		}
	}
	return len(b)
}

// escaped finishes a string that started at start and has an escape at
// c.i. The model's graph and meta data are such strings: JSON texts of
// their own, with an escape at every quote. The runs between \u escapes
// are decoded by unescapeRun, a small leaf function, so that V8 does not
// optimise a large one for one file (see plain).
func (c *cur) escaped(start int) (string, bool) {
	out := append([]byte(nil), c.b[start:c.i]...)
	for {
		var n int
		out, n = unescapeRun(out, c.b[c.i:])
		switch c.i += n; {
		case c.i == len(c.b) || c.b[c.i] < 0x20:
			return "", false
		case c.b[c.i] == '"':
			c.i++
			return string(out), utf8.Valid(out)
		}
		// A backslash that unescapeRun left: \u, or not an escape.
		var ok bool
		if out, ok = c.unicodeEscape(out); !ok {
			return "", false
		}
	}
}

// simpleEscapes maps the letter after a backslash to the byte it stands
// for; 0 for \u and for what is not an escape.
var simpleEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// unescapeRun appends to out the bytes of b up to its first quote,
// control character, \u escape or invalid escape, with the other escapes
// decoded, and returns out and how many bytes of b it read.
//
//go:noinline
func unescapeRun(out, b []byte) ([]byte, int) {
	i := 0
	for {
		n := plain(b[i:])
		out = append(out, b[i:i+n]...)
		if i += n; i+1 >= len(b) || b[i] != '\\' {
			return out, i
		}
		e := simpleEscapes[b[i+1]]
		if e == 0 {
			return out, i
		}
		out = append(out, e)
		i += 2
	}
}

// unicodeEscape appends the character of the \u escape at c.i (two, for
// a surrogate pair) to out.
//
//go:noinline
func (c *cur) unicodeEscape(out []byte) ([]byte, bool) {
	if c.i+1 >= len(c.b) || c.b[c.i+1] != 'u' {
		return out, false
	}
	c.i += 2
	r, ok := c.hex4()
	if !ok {
		return out, false
	}
	if utf16.IsSurrogate(r) {
		if c.i+2 > len(c.b) || c.b[c.i] != '\\' || c.b[c.i+1] != 'u' {
			return out, false
		}
		c.i += 2
		r2, ok := c.hex4()
		if !ok {
			return out, false
		}
		if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
			return out, false
		}
	}
	return utf8.AppendRune(out, r), true
}

func (c *cur) hex4() (rune, bool) {
	if c.i+4 > len(c.b) {
		return 0, false
	}
	var r rune
	for _, h := range c.b[c.i : c.i+4] {
		switch {
		case h >= '0' && h <= '9':
			h -= '0'
		case h >= 'a' && h <= 'f':
			h -= 'a' - 10
		case h >= 'A' && h <= 'F':
			h -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(h)
	}
	c.i += 4
	return r, true
}

// number reads a JSON number and returns its text and whether it is an
// integer (no fraction, no exponent).
func (c *cur) number() (text []byte, integer, ok bool) {
	c.ws()
	start := c.i
	if c.i < len(c.b) && c.b[c.i] == '-' {
		c.i++
	}
	switch {
	case c.i < len(c.b) && c.b[c.i] == '0':
		c.i++
	case c.digits() == 0:
		return nil, false, false
	}
	integer = true
	if c.i < len(c.b) && c.b[c.i] == '.' {
		c.i++
		if c.digits() == 0 {
			return nil, false, false
		}
		integer = false
	}
	if c.i < len(c.b) && (c.b[c.i] == 'e' || c.b[c.i] == 'E') {
		c.i++
		if c.i < len(c.b) && (c.b[c.i] == '+' || c.b[c.i] == '-') {
			c.i++
		}
		if c.digits() == 0 {
			return nil, false, false
		}
		integer = false
	}
	return c.b[start:c.i], integer, true
}

func (c *cur) digits() int {
	n := 0
	for c.i < len(c.b) && c.b[c.i] >= '0' && c.b[c.i] <= '9' {
		c.i++
		n++
	}
	return n
}

// int64v reads an integer as encoding/json does into an int of bits bits:
// no fraction or exponent, and in range.
func (c *cur) int64v(bits int) (int64, bool) {
	t, integer, ok := c.number()
	if !ok || !integer {
		return 0, false
	}
	n, err := strconv.ParseInt(string(t), 10, bits)
	return n, err == nil
}

func (c *cur) intv(dst *int) bool {
	n, ok := c.int64v(strconv.IntSize)
	*dst = int(n)
	return ok
}

// f32 reads a number as encoding/json does into a float32 (in range).
func (c *cur) f32(dst *float32) bool {
	t, _, ok := c.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(t), 32)
	*dst = float32(f)
	return err == nil
}

func (c *cur) boolv(dst *bool) bool {
	c.ws()
	switch {
	case c.lit("true"):
		*dst = true
	case c.lit("false"):
		*dst = false
	default:
		return false
	}
	return true
}

func (c *cur) lit(s string) bool {
	if len(c.b)-c.i >= len(s) && string(c.b[c.i:c.i+len(s)]) == s {
		c.i += len(s)
		return true
	}
	return false
}

func (c *cur) strv(dst *string) bool {
	s, ok := c.str()
	*dst = s
	return ok
}

// object reads an object, calling member with the cursor at each value;
// member must read the value. A duplicate key is refused.
func (c *cur) object(member func(key string) bool) bool {
	if !c.eat('{') || c.depth == maxFastDepth {
		return false
	}
	c.depth++
	ok := c.members(member)
	c.depth--
	return ok
}

// members reads an object's members and its closing brace.
func (c *cur) members(member func(key string) bool) bool {
	if c.eat('}') {
		return true
	}
	var seen keySet
	for {
		k, ok := c.str()
		if !ok || !c.eat(':') || !seen.add(k) || !member(k) {
			return false
		}
		if !c.eat(',') {
			return c.eat('}')
		}
	}
}

// keySet holds an object's keys so far: a list while it is short, a map
// after that.
type keySet struct {
	list []string
	set  map[string]bool
}

// add adds k and reports whether it was new.
func (s *keySet) add(k string) bool {
	if s.set != nil {
		if s.set[k] {
			return false
		}
		s.set[k] = true
		return true
	}
	for _, e := range s.list {
		if e == k {
			return false
		}
	}
	if s.list = append(s.list, k); len(s.list) > 16 {
		s.set = make(map[string]bool, 2*len(s.list))
		for _, e := range s.list {
			s.set[e] = true
		}
	}
	return true
}

// array reads an array, calling elem with the cursor at each element; n is
// the number of elements read.
func (c *cur) array(elem func() bool) (n int, ok bool) {
	if !c.eat('[') || c.depth == maxFastDepth {
		return 0, false
	}
	c.depth++
	n, ok = c.elements(elem)
	c.depth--
	return n, ok
}

// elements reads an array's elements and its closing bracket.
func (c *cur) elements(elem func() bool) (n int, ok bool) {
	if c.eat(']') {
		return 0, true
	}
	for {
		if !elem() {
			return n, false
		}
		n++
		if !c.eat(',') {
			return n, c.eat(']')
		}
	}
}

// skip reads any value but null.
func (c *cur) skip() bool {
	c.ws()
	if c.i == len(c.b) {
		return false
	}
	switch c.b[c.i] {
	case '{':
		return c.object(func(string) bool { return c.skip() })
	case '[':
		_, ok := c.array(c.skip)
		return ok
	case '"':
		_, ok := c.str()
		return ok
	case 't', 'f':
		var b bool
		return c.boolv(&b)
	}
	_, _, ok := c.number()
	return ok
}

// list reads an array into *dst, each element with read. The slice is
// never nil once read: encoding/json makes an empty array an empty slice.
func list[T any](c *cur, dst *[]T, read func(*T) bool) bool {
	s := []T{}
	_, ok := c.array(func() bool {
		var v T
		if !read(&v) {
			return false
		}
		s = append(s, v)
		return true
	})
	*dst = s
	return ok
}

func (c *cur) ints(dst *[]int) bool { return list(c, dst, c.intv) }

func (c *cur) int64s(dst *[]int64) bool {
	return list(c, dst, func(v *int64) bool {
		n, ok := c.int64v(64)
		*v = n
		return ok
	})
}

func (c *cur) f32s(dst *[]float32) bool { return list(c, dst, c.f32) }

func (c *cur) strs(dst *[]string) bool { return list(c, dst, c.strv) }

func (c *cur) strMap(dst *map[string]string) bool {
	m := map[string]string{}
	*dst = m
	return c.object(func(k string) bool {
		v, ok := c.str()
		m[k] = v
		return ok
	})
}

// fastObject is decodeObject for the fast decoder.
func fastObject(b []byte, base int64, maxMembers int) ([]member, error) {
	c := &cur{b: b}
	var out []member
	ok := c.object(func(key string) bool {
		if len(out) == maxMembers {
			return false
		}
		c.ws()
		v := c.i
		if !c.skip() {
			return false
		}
		// off is the value's offset too, not the key's: offsets only go
		// into error messages, and those come from encoding/json's path.
		out = append(out, member{key: key, value: b[v:c.i:c.i], off: base + int64(v), voff: base + int64(v)})
		return true
	})
	if !ok || !c.end() {
		return nil, errSlow
	}
	return out, nil
}

// fastStrings is decodeStrings for the fast decoder.
func fastStrings(b []byte, base int64) (map[string]string, error) {
	c := &cur{b: b}
	var m map[string]string
	if !c.strMap(&m) || !c.end() || len(m) > MaxTensors {
		return nil, errSlow
	}
	return m, nil
}

// fastStrict is decodeStrict for the fast decoder and the types parse
// decodes.
func fastStrict(b []byte, v any) error {
	c := &cur{b: b}
	var ok bool
	switch v := v.(type) {
	case *tensorEntry:
		ok = c.tensorEntry(v)
	case *Meta:
		ok = c.meta(v)
	case *nn.GraphSpec:
		ok = c.graph(v)
	}
	if !ok || !c.end() {
		return errSlow
	}
	return nil
}

func (c *cur) tensorEntry(h *tensorEntry) bool {
	return c.object(func(k string) bool {
		switch k {
		case "dtype":
			h.Dtype = new(string)
			return c.strv(h.Dtype)
		case "shape":
			h.Shape = new([]int64)
			return c.int64s(h.Shape)
		case "data_offsets":
			h.DataOffsets = new([]int64)
			return c.int64s(h.DataOffsets)
		}
		return false
	})
}

func (c *cur) meta(m *Meta) bool {
	return c.object(func(k string) bool {
		switch k {
		case "name":
			return c.strv(&m.Name)
		case "title":
			return c.strv(&m.Title)
		case "description":
			return c.strv(&m.Description)
		case "labels":
			return c.strs(&m.Labels)
		case "preprocess":
			return c.preprocess(&m.Preprocess)
		case "provenance":
			return c.provenance(&m.Provenance)
		case "default_layer":
			return c.strv(&m.DefaultLayer)
		}
		return false
	})
}

func (c *cur) preprocess(p *Preprocess) bool {
	return c.object(func(k string) bool {
		switch k {
		case "width":
			return c.intv(&p.Width)
		case "height":
			return c.intv(&p.Height)
		case "channels":
			return c.strv(&p.Channels)
		case "fit":
			return c.strv(&p.Fit)
		case "resize":
			return c.strv(&p.Resize)
		case "scale":
			return c.f32(&p.Scale)
		case "mean":
			return c.f32s(&p.Mean)
		case "std":
			return c.f32s(&p.Std)
		case "crop":
			return c.strv(&p.Crop)
		}
		return false
	})
}

func (c *cur) provenance(p *Provenance) bool {
	return c.object(func(k string) bool {
		switch k {
		case "source":
			return c.strv(&p.Source)
		case "license":
			return c.strv(&p.License)
		case "attribution":
			return c.strv(&p.Attribution)
		case "sha256":
			return c.strv(&p.SHA256)
		case "notes":
			return c.strv(&p.Notes)
		case "metrics":
			return c.strMap(&p.Metrics)
		}
		return false
	})
}

func (c *cur) graph(g *nn.GraphSpec) bool {
	return c.object(func(k string) bool {
		switch k {
		case "input":
			return c.object(func(k string) bool {
				switch k {
				case "name":
					return c.strv(&g.Input.Name)
				case "shape":
					return c.ints(&g.Input.Shape)
				}
				return false
			})
		case "nodes":
			g.Nodes = []nn.NodeSpec{}
			_, ok := c.array(func() bool {
				if len(g.Nodes) == nn.MaxNodes {
					return false
				}
				g.Nodes = append(g.Nodes, nn.NodeSpec{})
				return c.node(&g.Nodes[len(g.Nodes)-1])
			})
			return ok
		case "output":
			return c.strv(&g.Output)
		}
		return false
	})
}

func (c *cur) node(n *nn.NodeSpec) bool {
	return c.object(func(k string) bool {
		switch k {
		case "name":
			return c.strv(&n.Name)
		case "op":
			return c.strv(&n.Op)
		case "inputs":
			return c.strs(&n.Inputs)
		case "attrs":
			return c.attrs(&n.Attrs)
		}
		return false
	})
}

func (c *cur) attrs(a *nn.Attrs) bool {
	return c.object(func(k string) bool {
		switch k {
		case "kernel":
			return c.ints(&a.Kernel)
		case "stride":
			return c.ints(&a.Stride)
		case "dilation":
			return c.ints(&a.Dilation)
		case "pads":
			return c.ints(&a.Pads)
		case "group":
			return c.intv(&a.Group)
		case "ceil_mode":
			return c.boolv(&a.CeilMode)
		case "count_include_pad":
			return c.boolv(&a.CountIncludePad)
		case "alpha":
			return c.f32(&a.Alpha)
		case "beta":
			return c.f32(&a.Beta)
		case "min":
			a.Min = new(float32)
			return c.f32(a.Min)
		case "max":
			a.Max = new(float32)
			return c.f32(a.Max)
		case "eps":
			return c.f32(&a.Eps)
		case "axis":
			return c.intv(&a.Axis)
		case "axes":
			return c.ints(&a.Axes)
		case "keepdims":
			return c.boolv(&a.KeepDims)
		case "shape":
			return c.ints(&a.Shape)
		case "perm":
			return c.ints(&a.Perm)
		case "value":
			return c.f32(&a.Value)
		}
		return false
	})
}
