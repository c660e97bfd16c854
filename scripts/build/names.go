package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// FunctionNames builds the page's binary (wasm/camlens) once more, with
// its symbols, and returns the name of each function by its index: the
// index V8 prints for camlens.wasm ("wasm-function[i]", "#i"). The
// stripped build that Build ships has the same functions in the same
// order (stripping drops the name section, not code), and ImportMemory
// imports no function, so the indices hold for it too.
func FunctionNames(ctx context.Context, root string) (map[uint32]string, error) {
	modfile, err := patchedEbiten(ctx, root)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "camlens-names")
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	defer os.RemoveAll(dir)
	dst := filepath.Join(dir, "camlens.wasm")
	if err := goBuildWasm(ctx, root, "./wasm/camlens", dst, modfile, false); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(dst)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	names, err := wasmFunctionNames(bin)
	if err != nil {
		return nil, fmt.Errorf("build: the symbols of camlens.wasm: %w", err)
	}
	return names, nil
}

// wasmFunctionNames reads the function names of a module's "name" custom
// section (subsection 1: a vector of index, name).
func wasmFunctionNames(bin []byte) (map[uint32]string, error) {
	secs, err := wasmSections(bin)
	if err != nil {
		return nil, err
	}
	for _, s := range secs {
		r := wasmReader{b: s.body}
		if s.id != 0 {
			continue
		}
		if n, err := r.name(); err != nil || n != "name" {
			continue
		}
		for r.off < len(r.b) {
			id, err := r.byte()
			if err != nil {
				return nil, err
			}
			size, err := r.u32()
			if err != nil {
				return nil, err
			}
			if uint64(size) > uint64(len(r.b)-r.off) {
				return nil, fmt.Errorf("name subsection %d runs past the end", id)
			}
			end := r.off + int(size)
			if id != 1 {
				r.off = end
				continue
			}
			sub := wasmReader{b: r.b[:end], off: r.off}
			count, err := sub.u32()
			if err != nil {
				return nil, err
			}
			names := make(map[uint32]string, min(count, uint32(len(r.b))))
			for range count {
				i, err := sub.u32()
				if err != nil {
					return nil, fmt.Errorf("function names: %w", err)
				}
				if names[i], err = sub.name(); err != nil {
					return nil, fmt.Errorf("function names: %w", err)
				}
			}
			return names, nil
		}
	}
	return nil, fmt.Errorf("no function names (built with -ldflags=-s?)")
}
