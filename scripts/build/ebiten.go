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
// (from the module cache, which go.sum has verified) whose
// internal/builtinshader/shader.go is wasm/view/builtinshader/shader.go:
// the same shader sources, written without text/template. text/template
// calls reflect.Value.MethodByName, and that makes Go's linker keep every
// exported method of every type in the binary (math/big's, text/template's,
// the core's): 0.44 MB of the view's 1.77 MB of brotli-compressed wasm.
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
	sum := sha256.Sum256(append(patch, mod.Version...))
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

// copyModule copies the module in src to dst (emptied first), without its
// examples and tests, and writes patch over internal/builtinshader/shader.go.
func copyModule(src, dst string, patch []byte) error {
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	target := filepath.Join("internal", "builtinshader", "shader.go")
	found := false
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
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		return fmt.Errorf("build: copy %s: %w", src, err)
	}
	if !found {
		return fmt.Errorf("build: %s has no %s; redo wasm/view/builtinshader", src, target)
	}
	return nil
}
