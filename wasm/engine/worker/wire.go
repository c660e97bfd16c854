package worker

import (
	"fmt"
	"math"
	"strconv"
	"unsafe"
)

// Blob is the bytes of a typed array in an encoded message: a Float32Array
// (Float32) or a Uint8Array.
type Blob struct {
	Data    []byte
	Float32 bool
}

// Encode writes m as the JSON text of the object the page receives, with
// the result's typed arrays apart: each []byte and []float32 of the tree
// is a placeholder {"$blob": i} for blobs[i] (web/worker.js puts the typed
// array in its place, and transfers its buffer), and each float that JSON
// cannot write (NaN, ±Inf) is {"$num": "NaN" | "Infinity" | "-Infinity"}.
// Result keys never start with "$". A []float32's blob shares its memory.
//
// The glue hands the page one string and a few byte arrays this way,
// instead of building the result in JavaScript one value at a time
// through syscall/js: each of those values is a call across the
// WebAssembly boundary with a finalizer on the Go side, and on a cold
// start the model's description alone is hundreds of them.
func Encode(m Message) (text []byte, blobs []Blob) {
	e := encoder{b: make([]byte, 0, 256)}
	e.b = append(e.b, '{')
	if m.ID != 0 {
		e.b = append(e.b, `"id":`...)
		e.b = strconv.AppendInt(e.b, int64(m.ID), 10)
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, `"type":`...)
	e.str(m.Type)
	switch m.Type {
	case "result":
		e.b = append(e.b, `,"result":`...)
		e.value(m.Result)
	case "error":
		e.b = append(e.b, `,"error":`...)
		e.str(m.Error)
		e.b = append(e.b, `,"code":`...)
		e.str(m.Code)
	case "progress":
		e.b = append(e.b, `,"done":`...)
		e.b = strconv.AppendInt(e.b, int64(m.Done), 10)
		e.b = append(e.b, `,"total":`...)
		e.b = strconv.AppendInt(e.b, int64(m.Total), 10)
		e.b = append(e.b, `,"stage":`...)
		e.str(m.Stage)
	}
	e.b = append(e.b, '}')
	return e.b, e.blobs
}

type encoder struct {
	b     []byte
	blobs []Blob
}

// value writes one value of a result tree (see Fields). It only
// dispatches, to functions the compiler keeps apart: in js/wasm a large
// function that runs often on a cold start is what V8 optimises first
// (see firstTranslucent), and this one runs for every value.
func (e *encoder) value(v any) {
	switch x := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case bool:
		e.bool(x)
	case int:
		e.int(x)
	case float64:
		e.float(x)
	case float32:
		e.float(float64(x))
	case string:
		e.str(x)
	case []byte:
		e.blob(x, false)
	case []float32:
		e.float32s(x)
	case []float64:
		e.list(len(x), func(i int) { e.float(x[i]) })
	case []int:
		e.list(len(x), func(i int) { e.int(x[i]) })
	case []string:
		e.list(len(x), func(i int) { e.str(x[i]) })
	case Fields:
		e.object(x)
	case []Fields:
		e.list(len(x), func(i int) { e.object(x[i]) })
	default:
		panic(fmt.Sprintf("worker: cannot send a %T", v))
	}
}

//go:noinline
func (e *encoder) bool(x bool) { e.b = strconv.AppendBool(e.b, x) }

//go:noinline
func (e *encoder) int(x int) { e.b = strconv.AppendInt(e.b, int64(x), 10) }

// float32s sends a []float32 as its bytes: WebAssembly memory is
// little-endian, as a Float32Array on every platform a browser runs on
// is.
//
//go:noinline
func (e *encoder) float32s(x []float32) {
	var b []byte
	if len(x) > 0 {
		b = unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
	}
	e.blob(b, true)
}

// list writes a JSON array of n elements, each written by elem(i).
//
//go:noinline
func (e *encoder) list(n int, elem func(i int)) {
	e.b = append(e.b, '[')
	for i := range n {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		elem(i)
	}
	e.b = append(e.b, ']')
}

//go:noinline
func (e *encoder) object(f Fields) {
	e.b = append(e.b, '{')
	first := true
	for k, v := range f {
		if !first {
			e.b = append(e.b, ',')
		}
		first = false
		e.str(k)
		e.b = append(e.b, ':')
		e.value(v)
	}
	e.b = append(e.b, '}')
}

//go:noinline
func (e *encoder) blob(b []byte, f32 bool) {
	e.b = append(e.b, `{"$blob":`...)
	e.b = strconv.AppendInt(e.b, int64(len(e.blobs)), 10)
	e.b = append(e.b, '}')
	e.blobs = append(e.blobs, Blob{Data: b, Float32: f32})
}

// float writes the shortest decimal that reads back as x (JavaScript's
// Number parses it to the same double).
//
//go:noinline
func (e *encoder) float(x float64) {
	switch {
	case math.IsNaN(x):
		e.b = append(e.b, `{"$num":"NaN"}`...)
	case math.IsInf(x, 1):
		e.b = append(e.b, `{"$num":"Infinity"}`...)
	case math.IsInf(x, -1):
		e.b = append(e.b, `{"$num":"-Infinity"}`...)
	default:
		e.b = strconv.AppendFloat(e.b, x, 'g', -1, 64)
	}
}

// str writes s as a JSON string. Bytes of s that are not UTF-8 are
// written as they are: the page's TextDecoder makes them U+FFFD, as it
// does for a string handed over through syscall/js.
//
//go:noinline
func (e *encoder) str(s string) {
	e.b = append(e.b, '"')
	e.b = appendEscaped(e.b, s)
	e.b = append(e.b, '"')
}

// appendEscaped escapes the quote, the backslash and the control
// characters of s. A leaf function: see firstTranslucent.
//
//go:noinline
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	return append(b, s[start:]...)
}
