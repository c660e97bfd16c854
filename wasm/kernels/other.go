//go:build !(js && wasm)

package kernels

import "github.com/camlens/camlens/core/nn"

// New returns the pure-Go kernels outside js/wasm.
func New() nn.Kernels { return nn.GoKernels{} }

// Available reports why the SIMD kernels cannot be used: outside js/wasm
// they never can.
func Available() error { return ErrNotJS }
