package onnx

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// sameError: err (ours) is the error protowire reports with code n.
func sameError(t *testing.T, what string, n int, err error) {
	t.Helper()
	switch {
	case n >= 0 && err == nil:
	case n >= 0 || err == nil:
		t.Fatalf("%s: protowire n=%d (%v), ours %v", what, n, protowire.ParseError(n), err)
	case err == errGroupDepth:
		// protowire reports its recursion limit as a generic parse error.
		if pe := protowire.ParseError(n); !strings.Contains(pe.Error(), "parse error") {
			t.Fatalf("%s: protowire %v, ours %v", what, pe, err)
		}
	default:
		if pe := protowire.ParseError(n); pe != err && !strings.HasSuffix(pe.Error(), err.Error()) {
			t.Fatalf("%s: protowire %v, ours %v", what, pe, err)
		}
	}
}

// FuzzWire checks the wire decoder against protowire's, value for value
// and error for error, on any bytes.
func FuzzWire(f *testing.F) {
	for _, seed := range [][]byte{
		{}, {0x08, 0x96, 0x01}, {0x80}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, {0x80, 0x00}, {0x00},
		{0x0b, 0x10, 0x01, 0x0c}, {0x0b, 0x14}, {0x0b, 0x1b, 0x1c, 0x0c}, {0x0e}, {0x0f}, {0x12, 0x03, 'a', 'b'},
		{0xf8, 0xff, 0xff, 0xff, 0x0f}, {0x80, 0x80, 0x80, 0x80, 0x10}, bytes.Repeat([]byte{0x0b}, 50),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n := protowire.ConsumeVarint(b)
		v2, n2, err := consumeVarint(b)
		sameError(t, "varint", n, err)
		if err == nil && (v != v2 || n != n2) {
			t.Fatalf("varint %d (%d bytes), ours %d (%d)", v, n, v2, n2)
		}
		num, typ, n := protowire.ConsumeTag(b)
		num2, typ2, n2, err := consumeTag(b)
		sameError(t, "tag", n, err)
		if err == nil && (int32(num) != num2 || int8(typ) != int8(typ2) || n != n2) {
			t.Fatalf("tag %d/%d (%d bytes), ours %d/%d (%d)", num, typ, n, num2, typ2, n2)
		}
		f32, n := protowire.ConsumeFixed32(b)
		f32b, n2, err := consumeFixed32(b)
		sameError(t, "fixed32", n, err)
		if err == nil && (f32 != f32b || n != n2) {
			t.Fatalf("fixed32 %d, ours %d", f32, f32b)
		}
		f64, n := protowire.ConsumeFixed64(b)
		f64b, n2, err := consumeFixed64(b)
		sameError(t, "fixed64", n, err)
		if err == nil && (f64 != f64b || n != n2) {
			t.Fatalf("fixed64 %d, ours %d", f64, f64b)
		}
		bs, n := protowire.ConsumeBytes(b)
		bs2, n2, err := consumeBytes(b)
		sameError(t, "bytes", n, err)
		if err == nil && (!bytes.Equal(bs, bs2) || n != n2) {
			t.Fatalf("bytes %q, ours %q", bs, bs2)
		}
		// A whole field: its tag, then its value (groups skipped whole).
		if num, typ, n := protowire.ConsumeTag(b); n >= 0 {
			m := protowire.ConsumeFieldValue(num, typ, b[n:])
			m2, err := skipValue(int32(num), wireType(typ), b[n:], groupDepth)
			sameError(t, "field value", m, err)
			if err == nil && m != m2 {
				t.Fatalf("field value of %d bytes, ours %d", m, m2)
			}
		}
	})
}

// TestGroupDepth: groups nested beyond the limit are refused, not
// followed down the stack.
func TestGroupDepth(t *testing.T) {
	deep := append(bytes.Repeat([]byte{0x0b}, groupDepth+5), bytes.Repeat([]byte{0x0c}, groupDepth+5)...)
	if _, err := skipValue(1, startGroupType, deep[1:], groupDepth); err != errGroupDepth {
		t.Fatalf("err %v, want %v", err, errGroupDepth)
	}
	ok := append(bytes.Repeat([]byte{0x0b}, 100), bytes.Repeat([]byte{0x0c}, 100)...)
	if n, err := skipValue(1, startGroupType, ok[1:], groupDepth); err != nil || n != len(ok)-1 {
		t.Fatalf("n %d err %v, want %d bytes", n, err, len(ok)-1)
	}
}
