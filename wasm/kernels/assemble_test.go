//go:build !js

package kernels

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestAssemble(t *testing.T) {
	b, err := Assemble(context.Background())
	if errors.Is(err, ErrNoWat2Wasm) && os.Getenv("CAMLENS_REQUIRE_DEPS") != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The module imports env.mem and exports abi, gemm, dw3x3, dw3x3grad.
	for _, name := range []string{"env", "mem", "abi", "gemm", "dw3x3", "dw3x3grad"} {
		if !containsName(b, name) {
			t.Errorf("kernels.wasm has no name %q", name)
		}
	}
	t.Logf("kernels.wasm: %d bytes", len(b))
}

// containsName reports whether b holds name as a WebAssembly name (its
// length byte, then the bytes).
func containsName(b []byte, name string) bool {
	for i := 0; i+1+len(name) <= len(b); i++ {
		if int(b[i]) == len(name) && string(b[i+1:i+1+len(name)]) == name {
			return true
		}
	}
	return false
}
