// Package nn is CamLens's small neural-network engine: a directed acyclic
// graph of named ops over NCHW float32 tensors, a forward pass that keeps
// every node's output, and a backward pass from a scalar target down to the
// nodes asked for (and no further).
//
// Each op lives in one file with its forward and its backward side by side,
// in the style of llm.c: plain loops with the shapes written above them.
// Every backward is tested against central finite differences.
//
// A Graph is immutable once built and safe to share between goroutines; the
// per-call state (scratch buffers, the guided-backprop switch, the compute
// kernels) lives in a Context, one per session.
package nn
