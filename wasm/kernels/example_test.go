package kernels_test

import (
	"fmt"

	"github.com/camlens/camlens/core/nn"
	"github.com/camlens/camlens/wasm/kernels"
)

// New gives the SIMD kernels in a browser (or Node) where the host loaded
// kernels.wasm, and the pure-Go kernels everywhere else; both give the
// same GEMM results.
func ExampleNew() {
	k := kernels.New()
	c := make([]float32, 4)
	k.Gemm(2, 2, 2, []float32{1, 2, 3, 4}, []float32{5, 6, 7, 8}, c, false)
	fmt.Println(c)

	// A network runs on them through its context (cam.WithKernels for a
	// session).
	_ = &nn.Context{Kernels: k}
	// Output: [19 22 43 50]
}
