// Package dataset reads the IDX image/label files of MNIST and
// Fashion-MNIST and generates "clutter", CamLens's weakly-supervised
// localisation set: 96×96 canvases with one handwritten digit at a random
// position and scale among clutter fragments cut from other digits, with the
// digit's ground-truth box kept.
//
// The generator is deterministic (seeded PCG), so the training script and
// the Go tests that re-measure accuracy and localisation see the same data.
package dataset
