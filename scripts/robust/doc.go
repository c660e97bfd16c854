// Package robust is CamLens's bad-input suite. Its tests feed broken,
// hostile and degenerate inputs (oversized and damaged images, files of
// the wrong kind, half-downloaded and corrupt model files, ONNX graphs
// with loops, cycles or 10^12-element tensors, NaN-producing values,
// impossible requests, cancelled slow methods) through the core API
// (imaging.Decode and ToTensor, modelfile.Parse and Load, onnx.Import,
// npy.Read, cam sessions) and through the explain command, and check that
// each one gets its own clear error and that the next good input still
// works.
//
// README.md here holds the table of what a user sees for each input; a
// test keeps it in step with the cases.
package robust
