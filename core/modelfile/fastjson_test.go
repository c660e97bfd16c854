package modelfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/nn"
)

// TestFastJSONReadsShippedModels checks that the fast decoder, not the
// fallback, reads every shipped model and test model, and that it decodes
// them exactly as encoding/json does.
func TestFastJSONReadsShippedModels(t *testing.T) {
	files, _ := filepath.Glob("../../models/*.safetensors")
	more, _ := filepath.Glob("testdata/*.safetensors")
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("found %d model files, want the shipped ones and testdata's", len(files))
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			fast, err := parseUsing(data, fastJSON)
			if err != nil {
				t.Fatalf("the fast decoder gave up: %v", err)
			}
			std, err := parseUsing(data, stdJSON)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, std) {
				t.Error("the fast and encoding/json decodings differ")
			}
		})
	}
}

// parseUsing parses a model file with the JSON decoding js only.
func parseUsing(data []byte, js headerJSON) (*Model, error) {
	header, err := headerOf(data)
	if err != nil {
		return nil, err
	}
	return parseWith(data, header, js)
}

// fill sets every field of the struct v points to a non-zero value (every
// slice and map with two entries), recursively, so that a field the fast
// decoder does not know shows up.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(v.Field(i), n)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), n)
		fill(v.Index(1), n)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, n)
			fill(e, n)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		v.SetString("s\u00e9\u2192\"<&>\\\n" + strings.Repeat("x", *n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n) * -3)
	case reflect.Float32:
		v.SetFloat(float64(*n) * 0.1)
	case reflect.Bool:
		v.SetBool(true)
	default:
		panic("fill: " + v.Type().String())
	}
}

// TestFastJSONEveryField writes a Meta, a graph and a tensor entry with
// every field set and checks that the fast decoder reads them back as
// encoding/json does (a field added to these types without teaching the
// fast decoder fails here).
func TestFastJSONEveryField(t *testing.T) {
	for _, v := range []any{&Meta{}, &nn.GraphSpec{}, &tensorEntry{}} {
		t.Run(reflect.TypeOf(v).Elem().Name(), func(t *testing.T) {
			n := 0
			fill(reflect.ValueOf(v).Elem(), &n)
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			for _, text := range [][]byte{b, indent(t, b)} {
				fast := reflect.New(reflect.TypeOf(v).Elem()).Interface()
				if err := fastStrict(text, fast); err != nil {
					t.Fatalf("fast decoder: %v on %s", err, text)
				}
				if !reflect.DeepEqual(fast, v) {
					t.Errorf("fast decoder read %s as %+v, want %+v", text, fast, v)
				}
			}
		})
	}
}

func indent(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, " ", "\t"); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestFastJSONGivesUp lists what the fast decoder leaves to encoding/json:
// inputs it must not decide, whatever encoding/json makes of them.
func TestFastJSONGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		v          any
	}{
		{"null field", `{"name": null}`, &Meta{}},
		{"null slice", `{"labels": null}`, &Meta{}},
		{"key of another case", `{"Name": "x"}`, &Meta{}},
		{"unknown field", `{"nom": "x"}`, &Meta{}},
		{"duplicate field", `{"name": "x", "name": "y"}`, &Meta{}},
		{"duplicate map key", `{"provenance": {"metrics": {"a": "1", "a": "2"}}}`, &Meta{}},
		{"lone surrogate", `{"name": "\ud800"}`, &Meta{}},
		{"surrogate then letter", `{"name": "\ud800\u0041"}`, &Meta{}},
		{"invalid UTF-8", "{\"name\": \"\xff\"}", &Meta{}},
		{"bad escape", `{"name": "\q"}`, &Meta{}},
		{"control character", "{\"name\": \"a\tb\"}", &Meta{}},
		{"fraction into int", `{"preprocess": {"width": 1.0}}`, &Meta{}},
		{"exponent into int", `{"preprocess": {"width": 1e2}}`, &Meta{}},
		{"int out of range", `{"preprocess": {"width": 9223372036854775808}}`, &Meta{}},
		{"float32 out of range", `{"preprocess": {"scale": 1e39}}`, &Meta{}},
		{"string into int", `{"preprocess": {"width": "3"}}`, &Meta{}},
		{"leading zero", `{"preprocess": {"width": 03}}`, &Meta{}},
		{"plus sign", `{"preprocess": {"width": +3}}`, &Meta{}},
		{"trailing comma", `{"name": "x",}`, &Meta{}},
		{"trailing data", `{"name": "x"} {}`, &Meta{}},
		{"not an object", `[]`, &Meta{}},
		{"cut short", `{"name": "x"`, &Meta{}},
		{"null attribute", `{"nodes": [{"attrs": {"min": null}}]}`, &nn.GraphSpec{}},
		{"array too deep", `{"nodes": [{"attrs": {"kernel": [[1]]}}]}`, &nn.GraphSpec{}},
		{"null dtype", `{"dtype": null, "shape": [], "data_offsets": [0, 0]}`, &tensorEntry{}},
		{"offset with exponent", `{"dtype": "F32", "shape": [], "data_offsets": [0, 4e0]}`, &tensorEntry{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := fastStrict([]byte(tc.json), tc.v); !errors.Is(err, errSlow) {
				t.Errorf("fast decoder: %v, want errSlow", err)
			}
		})
	}
	deep := strings.Repeat(`{"a":`, maxFastDepth+1) + "1" + strings.Repeat("}", maxFastDepth+1)
	if _, err := fastObject([]byte(deep), 0, 10); !errors.Is(err, errSlow) {
		t.Errorf("nesting deeper than %d: %v, want errSlow", maxFastDepth, err)
	}
	if _, err := fastObject([]byte(`{"a": 1, "b": 2, "c": 3}`), 0, 2); !errors.Is(err, errSlow) {
		t.Errorf("more members than allowed: %v, want errSlow", err)
	}
}

// TestFastJSONFallsBack checks that a file the fast decoder cannot read is
// still read (by encoding/json) with the same result, and that errors are
// encoding/json's.
func TestFastJSONFallsBack(t *testing.T) {
	data, err := os.ReadFile("testdata/tiny.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	hlen := binary.LittleEndian.Uint64(data)
	header := string(data[8 : 8+hlen])
	rewrite := func(old, new string) []byte {
		t.Helper()
		h := strings.Replace(header, old, new, 1)
		if h == header {
			t.Fatalf("no %s in %s", old, header)
		}
		file := append(binary.LittleEndian.AppendUint64(nil, uint64(len(h))), h...)
		return append(file, data[8+hlen:]...)
	}

	// encoding/json matches a key of another case to a field; the fast
	// decoder leaves that to it.
	other := rewrite(`"dtype"`, `"DType"`)
	if _, err := parseUsing(other, fastJSON); err == nil {
		t.Fatal("the fast decoder read a key of another case")
	}
	got, err := Parse(other)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("a key of another case changed the model")
	}

	// Errors come from encoding/json's path, with its messages.
	dup := rewrite(`"__metadata__":{`, `"__metadata__":{"version":"1",`)
	if _, err := parseUsing(dup, fastJSON); err == nil {
		t.Fatal("the fast decoder read a duplicate key")
	}
	if _, err := Parse(dup); err == nil || !strings.Contains(err.Error(), `duplicate key "version"`) {
		t.Errorf("Parse of a duplicate metadata key: %v, want encoding/json's path's message", err)
	}
}

// FuzzFastJSON checks the fast decoder against encoding/json: whatever it
// reads, encoding/json reads too, to the same values.
func FuzzFastJSON(f *testing.F) {
	for _, name := range []string{"testdata/tiny.safetensors", "testdata/tiny-f32.safetensors"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		hlen := binary.LittleEndian.Uint64(data)
		f.Add(data[8 : 8+hlen])
		var md map[string]string
		if err := json.Unmarshal(data[8:8+hlen], &struct {
			M *map[string]string `json:"__metadata__"`
		}{&md}); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(md["meta"]))
		f.Add([]byte(md["graph"]))
	}
	f.Add([]byte(`{"dtype": "I8", "shape": [2, 3], "data_offsets": [0, 6]}`))
	f.Add([]byte(`{"name": "a\u00e9\ud83d\ude00\n", "labels": [], "provenance": {"metrics": {}}}`))
	f.Add([]byte(`{"nodes": [{"name": "c", "op": "clip", "attrs": {"min": -1.5e-3, "max": 6, "keepdims": true}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, newV := range []func() any{
			func() any { return &Meta{} },
			func() any { return &nn.GraphSpec{} },
			func() any { return &tensorEntry{} },
		} {
			fast, std := newV(), newV()
			if fastStrict(b, fast) != nil {
				continue
			}
			if err := decodeStrict(b, std); err != nil {
				t.Fatalf("fast decoder read %q into %T, encoding/json refuses it: %v", b, fast, err)
			}
			if !reflect.DeepEqual(fast, std) {
				t.Fatalf("%q: fast decoder %+v, encoding/json %+v", b, fast, std)
			}
		}
		if fm, err := fastObject(b, 5, 1000); err == nil {
			sm, err := decodeObject(b, 5, 1000)
			if err != nil {
				t.Fatalf("fast decoder read the object %q, encoding/json refuses it: %v", b, err)
			}
			if len(fm) != len(sm) {
				t.Fatalf("%q: %d members, encoding/json %d", b, len(fm), len(sm))
			}
			for i := range fm {
				if fm[i].key != sm[i].key || !bytes.Equal(fm[i].value, sm[i].value) {
					t.Fatalf("%q: member %d is %q: %s, encoding/json %q: %s", b, i, fm[i].key, fm[i].value, sm[i].key, sm[i].value)
				}
			}
		}
		if fs, err := fastStrings(b, 0); err == nil {
			ss, err := decodeStrings(b, 0)
			if err != nil {
				t.Fatalf("fast decoder read the strings %q, encoding/json refuses them: %v", b, err)
			}
			if !reflect.DeepEqual(fs, ss) {
				t.Fatalf("%q: fast decoder %q, encoding/json %q", b, fs, ss)
			}
		}
	})
}
