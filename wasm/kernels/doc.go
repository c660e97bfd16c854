// Package kernels runs the heavy loops of CamLens's networks (nn.Kernels:
// GEMM, depthwise 3×3 convolution and its input gradient) in WebAssembly
// SIMD when the engine runs in a browser or under Node.
//
// Go cannot emit SIMD instructions for js/wasm, so the kernels are a
// separate, hand-written WebAssembly module (kernels.wat, about 4 KB once
// assembled by wabt's wat2wasm; Assemble). The module has no memory of its
// own: the JavaScript host instantiates it with the Go instance's memory
// as env.mem and stores its exports in the global camlensKernels
// (GlobalName) before the Go program starts:
//
//	const k = await WebAssembly.instantiate(bytes, {env: {mem: goInstance.exports.mem}});
//	globalThis.camlensKernels = k.instance.exports;
//
// web/worker.js does this in the browser; preload.cjs does it under Node
// (node -r preload.cjs, see scripts/test.d/80-simd.sh). Go then passes byte
// offsets of its slices, so there is no copying; each call costs about
// 150 ns (syscall/js), and the ops call a kernel once per layer.
//
// New returns the SIMD kernels when the module is there and the pure-Go
// nn.GoKernels otherwise (other browsers, native builds, a missing or
// invalid module), so callers never need to care:
//
//	ctx := &nn.Context{Kernels: kernels.New()}
//
// Every size is checked on the Go side before a call, because the module
// writes raw memory. GEMM and the depthwise forward add their products in
// the same order as the plain reference loops, so their results are
// bit-identical to them; the depthwise gradient differs from the reference
// by float32 rounding only. The tests (run as js/wasm under Node with the
// module preloaded) check both against the reference loops and against
// nn.GoKernels on every convolution shape of the shipped face model.
package kernels
