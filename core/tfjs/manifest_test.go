package tfjs

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
)

func TestParseManifestFaceExpression(t *testing.T) {
	data, err := os.ReadFile("testdata/face_expression_model-weights_manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Groups) != 1 || len(m.Groups[0].Paths) != 1 || m.Groups[0].Paths[0] != FaceExpressionWeightsFile {
		t.Fatalf("groups %+v, want one group stored in %s", m.Groups, FaceExpressionWeightsFile)
	}
	g := m.Groups[0]
	// 4 blocks × (conv0 2 or 3 tensors + 3 separable convs × 3) + fc 2.
	if len(g.Weights) != 4*12-1+2 {
		t.Errorf("%d weights, want %d", len(g.Weights), 4*12-1+2)
	}
	// The .bin shipped with face-api 1.7.15 is 329,468 bytes.
	if got := g.StoredBytes(); got != 329468 {
		t.Errorf("stored bytes %d, want 329468", got)
	}
	first, last := g.Weights[0], g.Weights[len(g.Weights)-1]
	if first.Name != "dense0/conv0/filters" || first.Quantization == nil || first.Quantization.Dtype != "uint8" {
		t.Errorf("first weight %+v", first)
	}
	if last.Name != "fc/bias" || last.Quantization != nil || last.StoredBytes() != 28 {
		t.Errorf("last weight %+v", last)
	}
}

func TestParseManifestErrors(t *testing.T) {
	w := func(s string) string { return `[{"paths":["a.bin"],"weights":[` + s + `]}]` }
	cases := []struct {
		name, json, want string
	}{
		{"not JSON", `{`, "manifest JSON"},
		{"object not array", `{"paths":[]}`, "manifest JSON"},
		{"trailing data", `[] []`, "after the top-level array"},
		{"no groups", `[]`, "no weight groups"},
		{"no paths", `[{"paths":[],"weights":[{"name":"a","shape":[1],"dtype":"float32"}]}]`, "has no paths"},
		{"no weights", `[{"paths":["a.bin"],"weights":[]}]`, "has no weights"},
		{"absolute path", `[{"paths":["/etc/passwd"],"weights":[{"name":"a","shape":[1],"dtype":"float32"}]}]`, "clean relative path"},
		{"dotdot path", `[{"paths":["../x.bin"],"weights":[{"name":"a","shape":[1],"dtype":"float32"}]}]`, "clean relative path"},
		{"empty path", `[{"paths":[""],"weights":[{"name":"a","shape":[1],"dtype":"float32"}]}]`, "clean relative path"},
		{"no name", w(`{"shape":[1],"dtype":"float32"}`), "no name"},
		{"empty name", w(`{"name":"","shape":[1],"dtype":"float32"}`), "no name"},
		{"no shape", w(`{"name":"a","dtype":"float32"}`), "no shape"},
		{"negative dim", w(`{"name":"a","shape":[2,-1],"dtype":"float32"}`), "negative"},
		{"fractional dim", w(`{"name":"a","shape":[1.5],"dtype":"float32"}`), "manifest JSON"},
		{"huge shape", w(`{"name":"a","shape":[65536,65536],"dtype":"float32"}`), "too large"},
		{"rank 9", w(`{"name":"a","shape":[1,1,1,1,1,1,1,1,1],"dtype":"float32"}`), "rank 9"},
		{"int32 dtype", w(`{"name":"a","shape":[1],"dtype":"int32"}`), "not supported"},
		{"float16 quantization", w(`{"name":"a","shape":[1],"dtype":"float32","quantization":{"dtype":"float16"}}`), "not supported"},
		{"no scale", w(`{"name":"a","shape":[1],"dtype":"float32","quantization":{"dtype":"uint8","min":0}}`), "needs scale and min"},
		{"negative scale", w(`{"name":"a","shape":[1],"dtype":"float32","quantization":{"dtype":"uint8","scale":-1,"min":0}}`), "scale"},
		{"huge min", w(`{"name":"a","shape":[1],"dtype":"float32","quantization":{"dtype":"uint8","scale":1,"min":1e999}}`), "manifest JSON"},
		{"duplicate", w(`{"name":"a","shape":[1],"dtype":"float32"},{"name":"a","shape":[1],"dtype":"float32"}`), "duplicate name"},
		{"too many bytes", w(`{"name":"a","shape":[16384,16384],"dtype":"float32"},{"name":"b","shape":[16384,16384],"dtype":"float32"}`), "more than"},
		{"too big", "[" + strings.Repeat(" ", MaxManifestBytes) + "]", "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(c.json))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want ErrFormat containing %q", err, c.want)
			}
		})
	}
}

const testManifest = `[
 {"paths":["g0-1.bin","g0-2.bin"],"weights":[
   {"name":"q8","shape":[2,3],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.1,"min":-1.5}},
   {"name":"raw","shape":[2],"dtype":"float32"},
   {"name":"q16","shape":[3],"dtype":"float32","quantization":{"dtype":"uint16","scale":0.001,"min":2}}]},
 {"paths":["g1.bin"],"weights":[{"name":"empty","shape":[0,4],"dtype":"float32"},{"name":"scalar","shape":[],"dtype":"float32"}]}
]`

func testShards() map[string][]byte {
	var g0 []byte
	g0 = append(g0, 0, 1, 2, 253, 254, 255)
	g0 = binary.LittleEndian.AppendUint32(g0, math.Float32bits(3.25))
	g0 = binary.LittleEndian.AppendUint32(g0, math.Float32bits(-0.5))
	g0 = binary.LittleEndian.AppendUint16(g0, 0)
	g0 = binary.LittleEndian.AppendUint16(g0, 1000)
	g0 = binary.LittleEndian.AppendUint16(g0, 65535)
	g1 := binary.LittleEndian.AppendUint32(nil, math.Float32bits(7))
	return map[string][]byte{"g0-1.bin": g0[:5], "g0-2.bin": g0[5:], "g1.bin": g1}
}

func TestDecode(t *testing.T) {
	m, err := ParseManifest([]byte(testManifest))
	if err != nil {
		t.Fatal(err)
	}
	shards := testShards()
	w, err := m.Decode(func(p string) ([]byte, error) { return shards[p], nil })
	if err != nil {
		t.Fatal(err)
	}
	q8 := func(q float64) float32 { return float32(q*0.1 - 1.5) }
	q16 := func(q float64) float32 { return float32(q*0.001 + 2) }
	want := map[string][]float32{
		"q8":     {q8(0), q8(1), q8(2), q8(253), q8(254), q8(255)},
		"raw":    {3.25, -0.5},
		"q16":    {q16(0), q16(1000), q16(65535)},
		"empty":  {},
		"scalar": {7},
	}
	if len(w) != len(want) {
		t.Fatalf("%d weights, want %d", len(w), len(want))
	}
	for name, vals := range want {
		got := w[name]
		if got == nil || len(got.Data) != len(vals) {
			t.Fatalf("%s: got %v", name, got)
		}
		for i := range vals {
			if got.Data[i] != vals[i] {
				t.Errorf("%s[%d] = %v, want %v", name, i, got.Data[i], vals[i])
			}
		}
	}
	if s := w["q8"].Shape; len(s) != 2 || s[0] != 2 || s[1] != 3 {
		t.Errorf("q8 shape %v", s)
	}
}

func TestDecodeErrors(t *testing.T) {
	m, err := ParseManifest([]byte(testManifest))
	if err != nil {
		t.Fatal(err)
	}
	nan := binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(math.NaN())))
	cases := []struct {
		name   string
		modify func(map[string][]byte)
		want   string
	}{
		{"short shard", func(s map[string][]byte) { s["g0-2.bin"] = s["g0-2.bin"][:3] }, "shards hold 8 bytes, its weights take 20"},
		{"long first shard", func(s map[string][]byte) { s["g0-1.bin"] = make([]byte, 21) }, "more than the 20 bytes"},
		{"long last shard", func(s map[string][]byte) { s["g1.bin"] = make([]byte, 5) }, "more than the 4 bytes"},
		{"missing shard", func(s map[string][]byte) { delete(s, "g1.bin") }, "reading shard \"g1.bin\""},
		{"NaN", func(s map[string][]byte) { s["g1.bin"] = nan }, "\"scalar\" at byte 0: element 0 is NaN"},
		{"NaN raw in group 0", func(s map[string][]byte) {
			b := append([]byte(nil), s["g0-2.bin"]...)
			copy(b[1:], nan)
			s["g0-2.bin"] = b
		}, "\"raw\" at byte 6"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			shards := testShards()
			c.modify(shards)
			_, err := m.Decode(func(p string) ([]byte, error) {
				b, ok := shards[p]
				if !ok {
					return nil, errors.New("no such file")
				}
				return b, nil
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestDecodeOverflowingScale(t *testing.T) {
	m, err := ParseManifest([]byte(`[{"paths":["a"],"weights":[{"name":"x","shape":[1],"dtype":"float32","quantization":{"dtype":"uint8","scale":1e300,"min":0}}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Decode(func(string) ([]byte, error) { return []byte{200}, nil })
	if err == nil || !strings.Contains(err.Error(), "+Inf") {
		t.Fatalf("error %v, want an infinite value reported", err)
	}
}
