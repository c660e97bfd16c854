//go:build !js

package kernels

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Source is the kernel module's WebAssembly text (kernels.wat).
//
//go:embed kernels.wat
var Source string

// ErrNoWat2Wasm is returned (wrapped) by Assemble when wabt's wat2wasm is
// not installed.
var ErrNoWat2Wasm = errors.New("wat2wasm not found (install the Debian package wabt)")

// Assemble turns Source into the binary module (kernels.wasm, served
// beside the engine) with wabt's wat2wasm.
func Assemble(ctx context.Context) ([]byte, error) {
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		return nil, fmt.Errorf("kernels: %w", ErrNoWat2Wasm)
	}
	dir, err := os.MkdirTemp("", "camlens-kernels-")
	if err != nil {
		return nil, fmt.Errorf("kernels: %w", err)
	}
	defer os.RemoveAll(dir)
	src, dst := filepath.Join(dir, "kernels.wat"), filepath.Join(dir, "kernels.wasm")
	if err := os.WriteFile(src, []byte(Source), 0o644); err != nil {
		return nil, fmt.Errorf("kernels: %w", err)
	}
	cmd := exec.CommandContext(ctx, tool, src, "-o", dst)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("kernels: wat2wasm kernels.wat: %w\n%s", err, msg)
	}
	out, err := os.ReadFile(dst)
	if err != nil {
		return nil, fmt.Errorf("kernels: %w", err)
	}
	if !bytes.HasPrefix(out, []byte("\x00asm\x01\x00\x00\x00")) {
		return nil, errors.New("kernels: wat2wasm wrote something that is not a WebAssembly module")
	}
	return out, nil
}
