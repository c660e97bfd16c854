// Package tensor holds CamLens's dense float32 tensors (row-major, NCHW for
// images and feature maps), shape arithmetic that is checked against
// overflow and limits, and int8 symmetric per-channel quantisation.
//
// A Tensor is a plain value: a shape and a flat slice of float32 whose length
// is the product of the shape. Nothing in this package allocates without
// first checking the element count against a limit.
package tensor
