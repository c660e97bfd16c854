// Package gradcamref loads the pytorch-grad-cam reference fixtures kept in
// testdata/: two small random CNNs given as layer lists with their
// (unfolded) weights, and twelve cases, each the library's own activations,
// gradients and maps for one target layer and class.
//
// The fixtures were produced by jacobgil/pytorch-grad-cam v1.5.5 (commit
// 084273b3) on PyTorch 1.13.1; testdata/README.md records their provenance
// and the exact numerics an implementation has to follow. The JSON files
// are stored gzipped and embedded, so tests in any package (and under
// js/wasm) can use them without touching the file system.
//
// The package is internal: it exists for tests of core/cam, core/nn and the
// command-line tools.
package gradcamref
