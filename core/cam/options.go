package cam

import "github.com/camlens/camlens/core/nn"

// SessionOption configures a Session (Model.NewSession,
// Model.SessionFromImage).
type SessionOption func(*Session)

// WithKernels runs the session's forward and backward passes (its own and
// the perturbed ones of Score-CAM and Ablation-CAM) on k instead of the
// pure-Go kernels; nil means the pure-Go kernels. In the browser the
// engine passes the WebAssembly SIMD kernels (package wasm/kernels). The
// results agree with the pure-Go kernels' up to float32 rounding.
func WithKernels(k nn.Kernels) SessionOption {
	return func(s *Session) { s.nctx.Kernels = k }
}
