package build

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/camlens/camlens/wasm/engine/worker/workertest"
)

func TestParseCatalog(t *testing.T) {
	good := `[{"id": "a", "file": "a.safetensors", "title": "A", "default": true, "input": "x", "crop": "square", "extra": {"k": 1}},
	          {"id": "b.v2", "file": "sub/b.onnx", "title": "B", "card": "cards/b.md"}]`
	cat, objs, err := ParseCatalog([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(cat) != 2 || cat[0].ID != "a" || !cat[0].Default || cat[0].Crop != "square" || cat[1].Card != "cards/b.md" {
		t.Fatalf("parsed %+v", cat)
	}
	if objs[0]["extra"] == nil {
		t.Error("unknown fields are not passed through")
	}
	bad := []struct{ name, json, err string }{
		{"not a list", `{"id": "a"}`, "array"},
		{"empty id", `[{"id": "", "file": "a", "title": "A"}]`, "id"},
		{"slash in id", `[{"id": "a/b", "file": "a", "title": "A"}]`, "id"},
		{"duplicate id", `[{"id": "a", "file": "a", "title": "A"}, {"id": "a", "file": "b", "title": "B"}]`, "duplicate"},
		{"escaping file", `[{"id": "a", "file": "../secret", "title": "A"}]`, "bad path"},
		{"absolute file", `[{"id": "a", "file": "/etc/passwd", "title": "A"}]`, "relative"},
		{"hidden file", `[{"id": "a", "file": ".git/config", "title": "A"}]`, "bad path"},
		{"bad card", `[{"id": "a", "file": "a", "title": "A", "card": "x/../../y"}]`, "card"},
		{"no title", `[{"id": "a", "file": "a"}]`, "title"},
		{"bad crop", `[{"id": "a", "file": "a", "title": "A", "crop": "circle"}]`, "crop"},
		{"two defaults", `[{"id": "a", "file": "a", "title": "A", "default": true}, {"id": "b", "file": "b", "title": "B", "default": true}]`, "default"},
		{"wrong type", `[{"id": 3, "file": "a", "title": "A"}]`, "entry 0"},
	}
	for _, tc := range bad {
		if _, _, err := ParseCatalog([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.err)
		}
	}
}

// TestBuild builds the real site with a small test model in its catalog.
func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two wasm binaries")
	}
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	models := t.TempDir()
	model, err := workertest.ModelFile(16, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(models, "test.safetensors"), model, 0o644)
	os.MkdirAll(filepath.Join(models, "cards"), 0o755)
	os.WriteFile(filepath.Join(models, "cards", "test.md"), []byte("# Test\n"), 0o644)
	os.WriteFile(filepath.Join(models, "LICENSE-test.txt"), []byte("MIT\n"), 0o644)
	os.WriteFile(filepath.Join(models, "catalog.json"), []byte(`[{"id": "test", "file": "test.safetensors", "title": "Test", "default": true, "card": "cards/test.md", "note": "kept"}]`), 0o644)

	out := filepath.Join(t.TempDir(), "dist")
	rep, err := Build(context.Background(), Options{Root: root, Out: out, Models: models, Compress: CompressGzip})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index.html", "embed.html", "view.html", "embed-demo.html", "sw.js", "_headers", "wasm_exec.js",
		"camlens.wasm", "camlens.wasm.gz", "web/load.js", "web/app.js", "web/embed.js", "web/worker.js", "models/test.safetensors",
		"models/cards/test.md", "models/LICENSE-test.txt", "models/catalog.json", "web/samples/samples.json", "build.json", marker} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	// The site's catalog has the size and hash filled in, unknown fields kept.
	var cat []map[string]any
	data, _ := os.ReadFile(filepath.Join(out, "models", "catalog.json"))
	if err := json.Unmarshal(data, &cat); err != nil {
		t.Fatal(err)
	}
	if cat[0]["size"] != float64(len(model)) || len(cat[0]["sha256"].(string)) != 64 || cat[0]["note"] != "kept" {
		t.Errorf("site catalog %v", cat[0])
	}
	// The service worker lists everything a visit needs and carries the version.
	sw, _ := os.ReadFile(filepath.Join(out, "sw.js"))
	if strings.Contains(string(sw), "__CAMLENS_") || !strings.Contains(string(sw), rep.Version) {
		t.Error("sw.js placeholders were not replaced")
	}
	// camlens.wasm imports its memory, and the scripts that start it
	// know its minimum size.
	bin, _ := os.ReadFile(filepath.Join(out, "camlens.wasm"))
	if _, _, err := ImportMemory(bin, MemoryImport{Module: "camlens", Name: "mem"}); err == nil || !strings.Contains(err.Error(), "defines no memory") {
		t.Errorf("the built camlens.wasm still defines its memory (%v)", err)
	}
	for _, js := range []string{"web/worker.js", "web/view-boot.js"} {
		data, _ := os.ReadFile(filepath.Join(out, js))
		if strings.Contains(string(data), "__CAMLENS_") || !regexp.MustCompile(`initial: \d+ }|MEMORY_PAGES = \d+;`).Match(data) {
			t.Errorf("%s: the placeholders were not replaced with the memory's size", js)
		}
	}
	for _, want := range []string{"./", "index.html", "camlens.wasm", "web/load.js", "wasm_exec.js", "models/test.safetensors", "web/samples/samples.json"} {
		if !slices.Contains(rep.Precache, want) {
			t.Errorf("precache lacks %s", want)
		}
	}
	if slices.Contains(rep.Precache, "_headers") {
		t.Error("precache lists _headers, which is not served")
	}
	raw, tr := rep.ColdLoadBytes()
	if !slices.Contains(rep.ColdLoad, "camlens.wasm") || tr <= 0 || tr >= raw {
		t.Errorf("cold load %v: %d raw, %d transferred", rep.ColdLoad, raw, tr)
	}
	t.Logf("cold load: %d files, %d bytes raw, %d with gzip", len(rep.ColdLoad), raw, tr)

	// A second build replaces the first.
	if _, err := Build(context.Background(), Options{Root: root, Out: out, Models: models, Compress: CompressNone}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "camlens.wasm.gz")); err == nil {
		t.Error("a stale .gz survived the rebuild")
	}
}

func TestBuildRefusesForeignDir(t *testing.T) {
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "precious.txt"), []byte("keep me"), 0o644)
	_, err := Build(context.Background(), Options{Root: ".", Out: out})
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("error %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(out, "precious.txt")); err != nil {
		t.Fatal("the build deleted a file it did not write")
	}
}

func TestBadCatalogFailsBuild(t *testing.T) {
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	models := t.TempDir()
	os.WriteFile(filepath.Join(models, "m.safetensors"), []byte("abc"), 0o644)
	os.WriteFile(filepath.Join(models, "catalog.json"), []byte(`[{"id": "m", "file": "m.safetensors", "title": "M", "size": 4}]`), 0o644)
	_, err = Build(context.Background(), Options{Root: root, Out: filepath.Join(t.TempDir(), "d"), Models: models, Compress: CompressNone})
	if err == nil || !strings.Contains(err.Error(), "catalog says 4 bytes") {
		t.Fatalf("error %v, want a size mismatch", err)
	}
}
