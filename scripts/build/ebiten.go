package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ebitenModule is the module wasm/view/builtinshader patches.
const ebitenModule = "github.com/hajimehoshi/ebiten/v2"

// patchedEbiten returns a go.mod file for `go build -modfile` that is the
// repository's with Ebitengine replaced by a copy of the pinned module
// (from the module cache, which go.sum has verified) with two changes:
//
//   - internal/builtinshader/shader.go is wasm/view/builtinshader/shader.go:
//     the same shader sources, written without text/template.
//     text/template calls reflect.Value.MethodByName, and that makes Go's
//     linker keep every exported method of every type in the binary
//     (math/big's, text/template's, the core's): 0.44 MB of the view's
//     1.77 MB of brotli-compressed wasm.
//   - the edits in ebitenEdits, so that the engine's Web Worker, which runs
//     the same binary (wasm/camlens), can initialise Ebitengine's packages.
//
// (`go build -overlay` cannot do this: it refuses to replace files in the
// module cache.)
//
// The copy lives in the user cache directory under a name made of the
// module version and the patch's hash, so that repeated builds reuse it and
// Go's build cache.
func patchedEbiten(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, goCmd(), "mod", "download", "-json", ebitenModule)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build: go mod download %s: %w", ebitenModule, err)
	}
	var mod struct{ Dir, Version, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" || mod.Version == "" {
		return "", fmt.Errorf("build: go mod download %s: no module directory (%v %s)", ebitenModule, err, mod.Error)
	}
	patch, err := os.ReadFile(filepath.Join(root, "wasm", "view", "builtinshader", "shader.go"))
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	if !bytes.Contains(patch, []byte("Ebitengine "+mod.Version+"'s")) {
		return "", fmt.Errorf("build: wasm/view/builtinshader/shader.go is not for %s %s; redo it from that version's internal/builtinshader/shader.go", ebitenModule, mod.Version)
	}
	h := sha256.New()
	h.Write(patch)
	h.Write([]byte(mod.Version))
	for _, e := range ebitenEdits {
		fmt.Fprintf(h, "%q %q %q", e.file, e.old, e.new)
	}
	sum := h.Sum(nil)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "camlens", "ebiten-"+mod.Version+"-"+hex.EncodeToString(sum[:6]))
	modDir := filepath.Join(dir, "ebiten")
	modfile := filepath.Join(dir, "go.mod")
	// go.mod and go.sum are rewritten on every build (the repository's may
	// have changed); the module copy only when it is not complete.
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		if err := copyModule(mod.Dir, modDir, patch); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644); err != nil {
			return "", fmt.Errorf("build: %w", err)
		}
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	gomod = fmt.Appendf(gomod, "\n// Written by scripts/build: Ebitengine without text/template.\nreplace %s => %s\n", ebitenModule, modDir)
	if err := os.WriteFile(modfile, gomod, 0o644); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), gosum, 0o644); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	return modfile, nil
}

// edit replaces the text old, which must occur exactly once, in a file of
// the module (a slash-separated path) by new.
type edit struct{ file, old, new string }

// ebitenEdits make Ebitengine v2.8.8's package initialisation fit for the
// engine's Web Worker, which runs the same binary and draws nothing; in a
// page (the view) they change nothing:
//
//   - internal/ui initialises two variables from document and Document,
//     which panics where there is no document (Ebitengine's own code around
//     them expects "document is undefined on node.js"); they are undefined
//     there now.
//   - internal/restorable compiles its three built-in Kage shaders (go/parser,
//     the shader compiler) at initialisation: 0.3–0.5 s of freshly loaded
//     WebAssembly before the engine could answer; it skips that where there
//     is no document.
//   - internal/ui builds its two key maps (174 js.ValueOf calls) on first
//     use instead of at initialisation. The engine never uses them, but
//     running them made V8 optimise the package's 65 KB init function on
//     a background thread (about 1 s of a core) while the engine started.
//   - internal/shader compiles its one regular expression on first use
//     instead of at initialisation: the engine compiled and ran 0.1 MB of
//     package regexp's WebAssembly for it before it could answer.
var ebitenEdits = []edit{{
	file: "internal/ui/ui_js.go",
	old: `var (
	documentHasFocus = document.Get("hasFocus").Call("bind", document)
	documentHidden   = js.Global().Get("Object").Call("getOwnPropertyDescriptor", js.Global().Get("Document").Get("prototype"), "hidden").Get("get").Call("bind", document)
)
`,
	new: `// Edited by CamLens (scripts/build/ebiten.go): undefined where there is
// no document (a Web Worker) instead of a panic at initialisation.
var (
	documentHasFocus = ifDocument(func() js.Value { return document.Get("hasFocus").Call("bind", document) })
	documentHidden   = ifDocument(func() js.Value {
		return js.Global().Get("Object").Call("getOwnPropertyDescriptor", js.Global().Get("Document").Get("prototype"), "hidden").Get("get").Call("bind", document)
	})
)

func ifDocument(f func() js.Value) js.Value {
	if !document.Truthy() {
		return js.Undefined()
	}
	return f()
}
`,
}, {
	file: "internal/restorable/shader.go",
	old: `import (
	"fmt"
`,
	new: `import (
	"fmt"
	"syscall/js"
`,
}, {
	file: "internal/restorable/shader.go",
	old: `func init() {
	var wg errgroup.Group
`,
	new: `func init() {
	// Edited by CamLens (scripts/build/ebiten.go): nothing to draw where
	// there is no document (the engine's Web Worker).
	if !js.Global().Get("document").Truthy() {
		return
	}
	var wg errgroup.Group
`,
}, {
	file: "internal/ui/keys_js.go",
	old: `import (
	"syscall/js"
)

var uiKeyToJSCode = map[Key]js.Value{
`,
	new: `import (
	"sync"
	"syscall/js"
)

// Edited by CamLens (scripts/build/ebiten.go): built on first use, not at
// initialisation.
var uiKeyToJSCode = sync.OnceValue(func() map[Key]js.Value { return map[Key]js.Value{
`,
}, {
	file: "internal/ui/keys_js.go",
	old: `	KeyZ:              js.ValueOf("KeyZ"),
}
`,
	new: `	KeyZ:              js.ValueOf("KeyZ"),
}})
`,
}, {
	file: "internal/ui/input_js.go",
	old: `	"strings"
	"syscall/js"
`,
	new: `	"strings"
	"sync"
	"syscall/js"
`,
}, {
	file: "internal/ui/input_js.go",
	old:  "range uiKeyToJSCode {",
	new:  "range uiKeyToJSCode() {",
}, {
	file: "internal/ui/input_js.go",
	old:  "uiKeyToJSCode[key])",
	new:  "uiKeyToJSCode()[key])",
}, {
	file: "internal/ui/input_js.go",
	old:  "range uiKeyToJSKey {",
	new:  "range uiKeyToJSKey() {",
}, {
	file: "internal/ui/input_js.go",
	old: `var uiKeyToJSKey = map[Key]js.Value{
`,
	new: `// Edited by CamLens (scripts/build/ebiten.go): built on first use, not at
// initialisation.
var uiKeyToJSKey = sync.OnceValue(func() map[Key]js.Value { return map[Key]js.Value{
`,
}, {
	file: "internal/ui/input_js.go",
	old: `	KeyNumpad9:        js.ValueOf("9"),
}
`,
	new: `	KeyNumpad9:        js.ValueOf("9"),
}})
`,
}, {
	file: "internal/shader/expr.go",
	old: `	"strings"
`,
	new: `	"strings"
	"sync"
`,
}, {
	file: "internal/shader/expr.go",
	old:  "var textureVariableRe = regexp.MustCompile(`\\A__t(\\d+)\\z`)\n",
	new:  "// Edited by CamLens (scripts/build/ebiten.go): compiled on first use.\nvar textureVariableRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\\A__t(\\d+)\\z`) })\n",
}, {
	file: "internal/shader/expr.go",
	old:  "textureVariableRe.FindStringSubmatch(",
	new:  "textureVariableRe().FindStringSubmatch(",
}}

// applyEdits returns data (the file rel of the module) with the edits for
// that file applied; an edit whose text is not there exactly once is an
// error (a new Ebitengine version needs them redone).
func applyEdits(rel string, data []byte) ([]byte, error) {
	for _, e := range ebitenEdits {
		if e.file != filepath.ToSlash(rel) {
			continue
		}
		if n := bytes.Count(data, []byte(e.old)); n != 1 {
			return nil, fmt.Errorf("build: %s in %s: the text to edit occurs %d times, want 1; redo ebitenEdits for this version", e.file, ebitenModule, n)
		}
		data = bytes.Replace(data, []byte(e.old), []byte(e.new), 1)
	}
	return data, nil
}

// copyModule copies the module in src to dst (emptied first), without its
// examples and tests, writes patch over internal/builtinshader/shader.go and
// applies ebitenEdits.
func copyModule(src, dst string, patch []byte) error {
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	target := filepath.Join("internal", "builtinshader", "shader.go")
	found := false
	edited := map[string]bool{}
	for _, e := range ebitenEdits {
		edited[e.file] = false
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel == "examples" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if strings.HasSuffix(rel, "_test.go") || !d.Type().IsRegular() {
			return nil
		}
		data := patch
		if rel == target {
			found = true
		} else if data, err = os.ReadFile(p); err != nil {
			return err
		}
		if data, err = applyEdits(rel, data); err != nil {
			return err
		}
		if _, ok := edited[filepath.ToSlash(rel)]; ok {
			edited[filepath.ToSlash(rel)] = true
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		return fmt.Errorf("build: copy %s: %w", src, err)
	}
	if !found {
		return fmt.Errorf("build: %s has no %s; redo wasm/view/builtinshader", src, target)
	}
	for f, ok := range edited {
		if !ok {
			return fmt.Errorf("build: %s has no %s; redo ebitenEdits", src, f)
		}
	}
	return nil
}
