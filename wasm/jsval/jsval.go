//go:build js && wasm

// Package jsval turns the JavaScript values the page posts (to the engine's
// worker and to the view) into Go values, with errors in words. The engine
// (wasm/engine) and the view (wasm/view) share it: they are one binary.
package jsval

import (
	"errors"
	"fmt"
	"math"
	"syscall/js"
)

// Bytes copies an ArrayBuffer or a typed array (its bytes) into Go memory.
// max > 0 refuses more bytes than that before copying.
func Bytes(v js.Value, max int) ([]byte, error) {
	ab := js.Global().Get("ArrayBuffer")
	u8 := js.Global().Get("Uint8Array")
	switch {
	case v.InstanceOf(ab):
		v = u8.New(v)
	case ab.Call("isView", v).Bool():
		v = u8.New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength"))
	default:
		return nil, errors.New("not an ArrayBuffer or typed array")
	}
	n := v.Get("length").Int()
	if max > 0 && n > max {
		return nil, fmt.Errorf("%d bytes is too large", n)
	}
	b := make([]byte, n)
	js.CopyBytesToGo(b, v)
	return b, nil
}

// Int is a JavaScript number that must be an integer of magnitude at most
// limit; what names it in the error.
func Int(v js.Value, what string, limit float64) (int, error) {
	if v.Type() != js.TypeNumber {
		return 0, fmt.Errorf("%s is not a number", what)
	}
	f := v.Float()
	if f != math.Trunc(f) || math.Abs(f) > limit {
		return 0, fmt.Errorf("%s = %v is not an integer", what, f)
	}
	return int(f), nil
}
