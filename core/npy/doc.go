// Package npy reads and writes NumPy .npy files (format versions 1.0, 2.0
// and 3.0) as float32 tensors.
//
// Read accepts little- or big-endian float32 ('<f4', '>f4') and float64
// ('<f8', '>f8', converted to float32) and unsigned bytes ('|u1', values
// 0..255) in C order. Fortran order, other dtypes and object arrays are
// errors. Shapes are checked against tensor.MaxElements before anything is
// allocated, memory grows only as data actually arrives (a short file with
// a huge shape costs little), and truncated files give errors that say how
// much is missing.
// Write produces what numpy.save writes for a float32 C-order array: '<f4',
// version 1.0 (2.0 only when the header needs it), header padded to a
// multiple of 64 bytes.
//
// The format is specified in numpy/lib/format.py (NEP 1).
package npy
