package worker

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"unicode/utf8"
)

// revive turns decoded JSON back into a result tree as web/worker.js
// does: placeholders become their blobs and numbers.
func revive(t *testing.T, v any, blobs []Blob) any {
	switch x := v.(type) {
	case map[string]any:
		if i, ok := x["$blob"]; ok {
			n := int(i.(float64))
			if len(x) != 1 || n < 0 || n >= len(blobs) {
				t.Fatalf("bad blob placeholder %v (%d blobs)", x, len(blobs))
			}
			return blobs[n]
		}
		if s, ok := x["$num"]; ok {
			f := map[string]float64{"NaN": math.NaN(), "Infinity": math.Inf(1), "-Infinity": math.Inf(-1)}[s.(string)]
			if len(x) != 1 || f == 0 {
				t.Fatalf("bad number placeholder %v", x)
			}
			return f
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = revive(t, e, blobs)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = revive(t, e, blobs)
		}
		return out
	}
	return v
}

// comparable makes a tree comparable with reflect.DeepEqual: numbers
// become their float64 bits (NaN one value), Fields maps, lists []any.
func comparable(v any) any {
	num := func(f float64) any {
		if math.IsNaN(f) {
			return "NaN"
		}
		return fmt.Sprintf("%016x", math.Float64bits(f))
	}
	switch x := v.(type) {
	case int:
		return num(float64(x))
	case float64:
		return num(x)
	case float32:
		return num(float64(x))
	case []byte:
		return Blob{Data: x}
	case []float32:
		b := make([]byte, 4*len(x))
		for i, f := range x {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
		}
		return Blob{Data: b, Float32: true}
	case Blob:
		return Blob{Data: append([]byte{}, x.Data...), Float32: x.Float32}
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = comparable(e)
		}
		return out
	}
	if rv := reflect.ValueOf(v); rv.IsValid() && rv.Kind() == reflect.Slice {
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = comparable(rv.Index(i).Interface())
		}
		return out
	}
	return v
}

func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
		text string // the exact text, where given
	}{
		{name: "ready", m: Message{Type: "ready"}, text: `{"type":"ready"}`},
		{name: "pong", m: Message{Type: "pong"}, text: `{"type":"pong"}`},
		{name: "error", m: Message{ID: 3, Type: "error", Error: "photo.png: \"bad\"\n\tat line 1", Code: CodeInput},
			text: `{"id":3,"type":"error","error":"photo.png: \"bad\"\n\tat line 1","code":"input"}`},
		{name: "progress", m: Message{ID: 12, Type: "progress", Done: 4, Total: 256, Stage: "explain"},
			text: `{"id":12,"type":"progress","done":4,"total":256,"stage":"explain"}`},
		{name: "empty result", m: Message{ID: 1, Type: "result", Result: Fields{}}, text: `{"id":1,"type":"result","result":{}}`},
		{name: "nil result", m: Message{ID: 1, Type: "result"}, text: `{"id":1,"type":"result","result":{}}`}, // as an empty one
		{name: "every kind of value", m: Message{ID: 7, Type: "result", Result: Fields{
			"nil": nil, "yes": true, "no": false,
			"int": -42, "big": 1 << 53, "zero": 0.0, "negZero": math.Copysign(0, -1),
			"pi": math.Pi, "tiny": 5e-324, "huge": math.MaxFloat64, "f32": float32(0.1),
			"nan": math.NaN(), "inf": math.Inf(1), "-inf": math.Inf(-1),
			"str": "naïve “quotes” \\ \" \u2028 \x00\x1f\x7f 😀", "empty": "",
			"bytes": []byte{0, 1, 254, 255}, "noBytes": []byte{},
			"floats32": []float32{1.5, -0.25, float32(math.Inf(1)), 3.4e38},
			"floats":   []float64{0.1, math.NaN(), -1e-300}, "ints": []int{1, -2, 3}, "strs": []string{"a", "", "\"b\""},
			"emptyInts": []int{}, "nested": Fields{"deeper": Fields{"list": []Fields{{"a": 1}, {"b": []byte{9}}}}},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, blobs := Encode(tc.m)
			if tc.text != "" && string(text) != tc.text {
				t.Fatalf("Encode = %s\nwant     %s", text, tc.text)
			}
			if !json.Valid(text) {
				t.Fatalf("not JSON: %s", text)
			}
			var got any
			if err := json.Unmarshal(text, &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"type": tc.m.Type}
			if tc.m.ID != 0 {
				want["id"] = tc.m.ID
			}
			switch tc.m.Type {
			case "result":
				want["result"] = map[string]any(tc.m.Result)
				if tc.m.Result == nil {
					want["result"] = map[string]any{}
				}
			case "error":
				want["error"], want["code"] = tc.m.Error, tc.m.Code
			case "progress":
				want["done"], want["total"], want["stage"] = tc.m.Done, tc.m.Total, tc.m.Stage
			}
			if g, w := comparable(revive(t, got, blobs)), comparable(want); !reflect.DeepEqual(g, w) {
				t.Fatalf("decoded\n%v\nwant\n%v", g, w)
			}
		})
	}
}

// TestEncodeSharesFloats: a []float32 goes out as its own bytes, not a copy.
func TestEncodeSharesFloats(t *testing.T) {
	m := []float32{1, 2, 3}
	_, blobs := Encode(Message{Type: "result", Result: Fields{"map": m}})
	if len(blobs) != 1 || !blobs[0].Float32 || len(blobs[0].Data) != 12 {
		t.Fatalf("blobs %v", blobs)
	}
	m[0] = 5
	if got := math.Float32frombits(binary.LittleEndian.Uint32(blobs[0].Data)); got != 5 {
		t.Fatalf("blob reads %v after the slice changed, want 5 (shared)", got)
	}
}

func TestEncodeRefusesOtherTypes(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Encode of a struct did not panic")
		}
	}()
	Encode(Message{Type: "result", Result: Fields{"x": struct{}{}}})
}

// FuzzEncodeString: any string is written as JSON that reads back as
// itself (valid UTF-8), or at least as JSON (the page's decoder replaces
// what is not UTF-8).
func FuzzEncodeString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\n\t\x1f", "é😀", "\xff\xfe", "\xe2\x82", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, _ := Encode(Message{Type: "result", Result: Fields{s: s}})
		if !json.Valid(text) {
			t.Fatalf("not JSON: %q", text)
		}
		if !utf8.ValidString(s) {
			return
		}
		var got struct {
			Result map[string]string `json:"result"`
		}
		if err := json.Unmarshal(text, &got); err != nil {
			t.Fatal(err)
		}
		if got.Result[s] != s || len(got.Result) != 1 {
			t.Fatalf("read back %q, want %q", got.Result, s)
		}
	})
}
