package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApplyEdits(t *testing.T) {
	e := ebitenEdits[0]
	for _, tc := range []struct {
		name, file, data string
		wantErr          bool
	}{
		{"once", e.file, "a\n" + e.old + "b\n", false},
		{"missing", e.file, "a\nb\n", true},
		{"twice", e.file, e.old + e.old, true},
		{"another file", "internal/ui/context.go", "untouched", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := applyEdits(filepath.FromSlash(tc.file), []byte(tc.data))
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "redo ebitenEdits") {
					t.Fatalf("err = %v, want a request to redo the edits", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(tc.data, e.old, e.new, 1)
			if tc.file != e.file {
				want = tc.data
			}
			if string(got) != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestPatchedEbiten makes the patched module copy from the pinned
// Ebitengine and checks both changes are in it.
func TestPatchedEbiten(t *testing.T) {
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	modfile, err := patchedEbiten(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(modfile)
	if err != nil || !strings.Contains(string(gomod), "replace "+ebitenModule+" => ") {
		t.Fatalf("go.mod %s: %v\n%s", modfile, err, gomod)
	}
	dir := filepath.Join(filepath.Dir(modfile), "ebiten")
	shader, _ := os.ReadFile(filepath.Join(dir, "internal", "builtinshader", "shader.go"))
	want, _ := os.ReadFile(filepath.Join(root, "wasm", "view", "builtinshader", "shader.go"))
	if len(want) == 0 || string(shader) != string(want) {
		t.Error("the copy's builtinshader/shader.go is not wasm/view/builtinshader/shader.go")
	}
	for _, e := range ebitenEdits {
		data, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.file)))
		if !strings.Contains(string(data), e.new) {
			t.Errorf("the copy's %s lacks the edit %q", e.file, e.new)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "examples")); err == nil {
		t.Error("the copy has the examples")
	}
}
