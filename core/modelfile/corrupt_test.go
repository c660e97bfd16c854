package modelfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/nn"
)

// header is a decoded safetensors header for editing in tests.
type header map[string]any

func splitFile(t testing.TB, b []byte) (header, []byte) {
	t.Helper()
	n := binary.LittleEndian.Uint64(b)
	dec := json.NewDecoder(bytes.NewReader(b[8 : 8+n]))
	dec.UseNumber()
	var h header
	if err := dec.Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h, b[8+n:]
}

// rawFile assembles a file from a header text and a data buffer.
func rawFile(h string, buf []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), buf...)
}

func joinFile(t testing.TB, h header, buf []byte) []byte {
	t.Helper()
	hb, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return rawFile(string(hb), buf)
}

func (h header) tensor(name string) map[string]any { return h[name].(map[string]any) }

func (h header) offsets(name string) (int64, int64) {
	o := h.tensor(name)["data_offsets"].([]any)
	b, _ := o[0].(json.Number).Int64()
	e, _ := o[1].(json.Number).Int64()
	return b, e
}

func (h header) metadata() map[string]any { return h["__metadata__"].(map[string]any) }

// editGraph decodes the graph JSON in the metadata, applies f and stores it back.
func (h header) editGraph(t testing.TB, f func(g *nn.GraphSpec)) {
	var g nn.GraphSpec
	if err := json.Unmarshal([]byte(h.metadata()["graph"].(string)), &g); err != nil {
		t.Fatal(err)
	}
	f(&g)
	b, _ := json.Marshal(g)
	h.metadata()["graph"] = string(b)
}

// TestParseCorrupt checks that each kind of damage gives its own error,
// wrapping the right sentinel and saying what and where.
func TestParseCorrupt(t *testing.T) {
	good := encodeT(t, testModel(), true)
	hlen := int64(binary.LittleEndian.Uint64(good))
	dataOff := 8 + hlen
	h0, _ := splitFile(t, good)
	biasBegin, _ := h0.offsets("conv1.bias")
	scaleBegin, _ := h0.offsets("fc.weight_scale")
	fcBegin, _ := h0.offsets("fc.weight")

	// edit returns a copy of good with its header and data changed by f.
	edit := func(f func(h header, buf []byte) []byte) func(*testing.T) []byte {
		return func(t *testing.T) []byte {
			h, buf := splitFile(t, good)
			buf = append([]byte(nil), buf...)
			if nb := f(h, buf); nb != nil {
				buf = nb
			}
			return joinFile(t, h, buf)
		}
	}
	// patch returns a copy of good with bytes of its data buffer changed.
	patch := func(f func(buf []byte)) func(*testing.T) []byte {
		return func(*testing.T) []byte {
			b := append([]byte(nil), good...)
			f(b[dataOff:])
			return b
		}
	}
	bytesOf := func(b []byte) func(*testing.T) []byte { return func(*testing.T) []byte { return b } }
	setF32 := func(buf []byte, at int64, v float32) {
		binary.LittleEndian.PutUint32(buf[at:], math.Float32bits(v))
	}

	cases := []struct {
		name  string
		input func(t *testing.T) []byte
		err   error
		want  string
	}{
		// Truncation at several points.
		{"empty", bytesOf(nil), ErrTruncated, "file is 0 bytes, shorter than its 8-byte header length field"},
		{"cut in length field", bytesOf(good[:5]), ErrTruncated, "file is 5 bytes"},
		{"cut in header", bytesOf(good[:8+hlen/2]), ErrTruncated, fmt.Sprintf("header length %d but only %d bytes follow", hlen, hlen/2)},
		{"cut after header", bytesOf(good[:8+hlen]), ErrTruncated, fmt.Sprintf(`tensor "act1.slope": data_offsets [0, 16] reach file byte %d, but the file ends at byte %d`, dataOff+16, 8+hlen)},
		{"cut in data", bytesOf(good[:len(good)-7]), ErrTruncated, fmt.Sprintf(`tensor "fc.weight": data_offsets [%d, %d] reach file byte %d, but the file ends at byte %d`, fcBegin, fcBegin+20, dataOff+fcBegin+20, len(good)-7)},

		// Not a (CamLens) safetensors file.
		{"header length huge", func(*testing.T) []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint64(b, 1<<40)
			return b
		}, ErrTooLarge, "header length 1099511627776 (file bytes 0–7) is over the 16777216-byte limit"},
		{"PNG", bytesOf([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")), ErrNotModelFile, "this looks like a PNG image, not a safetensors file"},
		{"header not an object", bytesOf(rawFile(`[1, 2]   `, nil)), ErrNotModelFile, "does not start with '{'"},
		{"no metadata", bytesOf(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4))), ErrNotModelFile, `header has no "__metadata__"`},
		{"format pt", edit(func(h header, _ []byte) []byte { h.metadata()["format"] = "pt"; return nil }), ErrNotModelFile, `format is "pt", want "camlens"`},
		{"no format", edit(func(h header, _ []byte) []byte { delete(h.metadata(), "format"); return nil }), ErrNotModelFile, `has no "format" key`},
		{"version 2", edit(func(h header, _ []byte) []byte { h.metadata()["version"] = "2"; return nil }), ErrVersion, `file has format version "2", this reader reads version "1"`},

		// Malformed header JSON.
		{"bad JSON", bytesOf(rawFile(`{"__metadata__": {"format": "camlens",}}`, nil)), ErrInvalid, "header: malformed JSON near file byte 45"},
		{"JSON cut short", bytesOf(rawFile(`{"__metadata__": {"format": "camlens"`, nil)), ErrInvalid, "malformed JSON"},
		{"trailing garbage", func(t *testing.T) []byte {
			h, buf := splitFile(t, good)
			hb, _ := json.Marshal(h)
			return rawFile(string(hb)+" x", buf)
		}, ErrInvalid, "malformed JSON"},
		{"not UTF-8", bytesOf(rawFile("{\"__metadata__\": {\"format\": \"caml\xffens\"}}", nil)), ErrInvalid, "not valid UTF-8 (file byte 41)"},
		{"duplicate tensor", func(t *testing.T) []byte {
			h, buf := splitFile(t, good)
			hb, _ := json.Marshal(h)
			dup, _ := json.Marshal(h["fc.bias"])
			s := strings.TrimSuffix(string(hb), "}") + `,"fc.bias":` + string(dup) + "}"
			return rawFile(s, buf)
		}, ErrInvalid, `duplicate key "fc.bias"`},
		{"metadata not strings", edit(func(h header, _ []byte) []byte { h.metadata()["extra"] = 1; return nil }), ErrInvalid, `__metadata__ value of "extra" (file byte`},
		{"tensor entry unknown field", edit(func(h header, _ []byte) []byte { h.tensor("fc.bias")["offset"] = 3; return nil }), ErrInvalid, `tensor "fc.bias" (header near file byte`},
		{"tensor entry without dtype", edit(func(h header, _ []byte) []byte { delete(h.tensor("fc.bias"), "dtype"); return nil }), ErrInvalid, `tensor "fc.bias" (header near file byte`},

		// Tensor entries.
		{"unknown dtype", edit(func(h header, _ []byte) []byte { h.tensor("fc.bias")["dtype"] = "F16"; return nil }), ErrInvalid, `dtype "F16" is not supported (format version 1 has F32 and I8)`},
		{"shape/bytes mismatch", edit(func(h header, _ []byte) []byte { h.tensor("fc.bias")["shape"] = []int{6}; return nil }), ErrInvalid, `F32 shape [6] needs 24 bytes, data_offsets`},
		{"negative dimension", edit(func(h header, _ []byte) []byte { h.tensor("fc.bias")["shape"] = []int{-5}; return nil }), ErrInvalid, "negative dimension"},
		{"huge shape", edit(func(h header, _ []byte) []byte { h.tensor("fc.bias")["shape"] = []int{1 << 20, 1 << 20}; return nil }), ErrTooLarge, `tensor "fc.bias"`},
		{"rank 9", edit(func(h header, _ []byte) []byte {
			h.tensor("fc.bias")["shape"] = []int{1, 1, 1, 1, 1, 1, 1, 1, 5}
			return nil
		}), ErrInvalid, "rank 9 over the limit 8"},
		{"offsets reversed", edit(func(h header, _ []byte) []byte {
			b, e := h.offsets("two.value")
			h.tensor("two.value")["data_offsets"] = []int64{e, b}
			return nil
		}), ErrInvalid, `tensor "two.value" (header near file byte`},
		{"offsets out of range", edit(func(h header, _ []byte) []byte {
			h.tensor("fc.bias")["data_offsets"] = []int64{1 << 40, 1<<40 + 20}
			return nil
		}), ErrInvalid, "data_offsets [1099511627776, 1099511627796] out of range"},
		{"offsets overlap", edit(func(h header, _ []byte) []byte {
			b, e := h.offsets("conv1.bias")
			h.tensor("conv1.bias")["data_offsets"] = []int64{b - 4, e - 4}
			return nil
		}), ErrInvalid, fmt.Sprintf(`data_offsets [%d, %d] overlap tensor`, biasBegin-4, biasBegin+12)},
		{"offsets gap", edit(func(h header, _ []byte) []byte {
			b, e := h.offsets("two.value") // the last F32 tensor before the I8 ones
			h.tensor("two.value")["data_offsets"] = []int64{b + 4, e + 4}
			return nil
		}), ErrInvalid, "leave a gap after tensor"},
		{"first offset not zero", func(t *testing.T) []byte {
			h, buf := splitFile(t, good)
			for name, v := range h {
				if name == "__metadata__" {
					continue
				}
				b, e := h.offsets(name)
				v.(map[string]any)["data_offsets"] = []int64{b + 4, e + 4}
			}
			return joinFile(t, h, append(make([]byte, 4), buf...))
		}, ErrInvalid, "leave bytes 0–3 of the data buffer"},
		{"trailing data bytes", func(t *testing.T) []byte {
			return append(append([]byte(nil), good...), 1, 2, 3)
		}, ErrInvalid, fmt.Sprintf("3 bytes at the end of the data buffer (from file byte %d) belong to no tensor", len(good))},

		// Quantisation.
		{"missing scale", edit(func(h header, _ []byte) []byte {
			h["fc.weight_scale2"] = h["fc.weight_scale"]
			delete(h, "fc.weight_scale")
			return nil
		}), ErrInvalid, `tensor "fc.weight" is I8 but its scale tensor "fc.weight_scale" is missing`},
		{"scale wrong length", edit(func(h header, buf []byte) []byte {
			// fc.weight_scale becomes [4] and fc.bias, just before it, [6].
			b, e := h.offsets("fc.weight_scale")
			h.tensor("fc.weight_scale")["shape"] = []int{4}
			h.tensor("fc.weight_scale")["data_offsets"] = []int64{b + 4, e}
			h.tensor("fc.bias")["shape"] = []int{6}
			h.tensor("fc.bias")["data_offsets"] = []int64{b - 20, b + 4}
			return nil
		}), ErrInvalid, `scale tensor "fc.weight_scale" is F32 [4], want F32 [5]`},
		{"scale of wrong dtype", edit(func(h header, _ []byte) []byte {
			h.tensor("fc.weight_scale")["dtype"] = "I8"
			h.tensor("fc.weight_scale")["shape"] = []int{20}
			return nil
		}), ErrInvalid, `scale tensor "fc.weight_scale" is I8 [20]`},
		{"int8 -128", patch(func(buf []byte) { buf[fcBegin+3] = 0x80 }), ErrInvalid, fmt.Sprintf(`tensor "fc.weight": element 3 (file byte %d) is -128`, dataOff+fcBegin+3)},

		// Values.
		{"NaN weight", patch(func(buf []byte) { setF32(buf, biasBegin+8, float32(math.NaN())) }), ErrInvalid, fmt.Sprintf(`tensor "conv1.bias": element 2 (file byte %d) is NaN`, dataOff+biasBegin+8)},
		{"Inf weight", patch(func(buf []byte) { setF32(buf, biasBegin, float32(math.Inf(1))) }), ErrInvalid, `tensor "conv1.bias": element 0`},
		{"Inf scale", patch(func(buf []byte) { setF32(buf, scaleBegin+4, float32(math.Inf(1))) }), ErrInvalid, fmt.Sprintf(`tensor "fc.weight_scale": scale of channel 1 (file byte %d) is +Inf`, dataOff+scaleBegin+4)},
		{"negative scale", patch(func(buf []byte) { setF32(buf, scaleBegin, -1) }), ErrInvalid, `tensor "fc.weight_scale": scale of channel 0`},

		// Meta data and graph.
		{"no graph", edit(func(h header, _ []byte) []byte { delete(h.metadata(), "graph"); return nil }), ErrInvalid, `__metadata__ has no "graph" key`},
		{"graph JSON cut short", edit(func(h header, _ []byte) []byte { h.metadata()["graph"] = `{"nodes": [`; return nil }), ErrInvalid, `__metadata__ "graph": malformed JSON: it ends early`},
		{"graph JSON bad syntax", edit(func(h header, _ []byte) []byte { h.metadata()["graph"] = `{"nodes": [}`; return nil }), ErrInvalid, `__metadata__ "graph": malformed JSON near byte 12 of the string`},
		{"graph unknown attribute", edit(func(h header, _ []byte) []byte {
			h.metadata()["graph"] = strings.Replace(h.metadata()["graph"].(string), `"stride"`, `"strides"`, 1)
			return nil
		}), ErrInvalid, `unknown field "strides"`},
		{"meta JSON wrong type", edit(func(h header, _ []byte) []byte { h.metadata()["meta"] = `{"name": 3}`; return nil }), ErrInvalid, `__metadata__ "meta"`},
		{"graph references missing weight", edit(func(h header, _ []byte) []byte {
			h.editGraph(t, func(g *nn.GraphSpec) {
				g.Nodes = append(g.Nodes, nn.NodeSpec{Name: "fc2", Op: "dense", Inputs: []string{"fc"}})
			})
			return nil
		}), ErrInvalid, `graph node "fc2" (dense) needs weight "fc2.weight", which is missing`},
		{"tensor of no node", edit(func(h header, _ []byte) []byte {
			h["fc.extra"] = h["fc.bias"]
			delete(h, "fc.bias")
			return nil
		}), ErrInvalid, `tensor "fc.extra" is not a parameter of any graph node`},
		{"unknown op", edit(func(h header, _ []byte) []byte {
			h.editGraph(t, func(g *nn.GraphSpec) { g.Nodes[6].Op = "gru" })
			return nil
		}), ErrInvalid, `graph node "pool": op "gru" is not in format version 1`},
		{"input of a later node", edit(func(h header, _ []byte) []byte {
			h.editGraph(t, func(g *nn.GraphSpec) { g.Nodes[0].Inputs = []string{"pool"} })
			return nil
		}), ErrInvalid, `graph node "conv1": input "pool" is not the graph input or an earlier node`},
	}
	if len(cases) < 12 {
		t.Fatal("too few cases")
	}
	seen := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse(c.input(t))
			if err == nil {
				t.Fatalf("Parse succeeded (%d weights), want an error", len(m.Weights))
			}
			msg := err.Error()
			if !errors.Is(err, c.err) {
				t.Errorf("error %q does not wrap %v", msg, c.err)
			}
			if !strings.HasPrefix(msg, "modelfile: ") || !strings.Contains(msg, c.want) {
				t.Errorf("error %q\nwant it to start with \"modelfile: \" and contain %q", msg, c.want)
			}
			if other, dup := seen[msg]; dup {
				t.Errorf("same message as case %q: %s", other, msg)
			}
			seen[msg] = c.name
			t.Log(msg)
		})
	}
	// The unchanged file still parses (the edits above are the only damage).
	if _, err := Parse(good); err != nil {
		t.Fatal(err)
	}
	h, buf := splitFile(t, good)
	if _, err := Parse(joinFile(t, h, buf)); err != nil {
		t.Fatalf("re-encoding the header alone breaks the file: %v", err)
	}
}

// TestParseSizeLimit checks that a file over MaxFileBytes is refused
// before anything else is looked at.
func TestParseSizeLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 256 MiB")
	}
	big := make([]byte, MaxFileBytes+1)
	if _, err := Parse(big); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "file is 268435457 bytes, limit 268435456") {
		t.Errorf("Parse(256 MiB + 1) = %v", err)
	}
}
