// Package modelfile reads and writes the CamLens model file: one
// self-describing ".safetensors" file that holds a network's graph, its
// weights (int8 per output channel with float32 scales, or float32), its
// labels, its preprocessing and its provenance.
//
// The container is plain safetensors (an 8-byte little-endian header
// length, a JSON header, a data buffer), so any safetensors reader can open
// it; the CamLens parts are JSON strings in the header's "__metadata__".
// models/FORMAT.md is the full specification.
//
// Parse checks everything a file claims against limits before it
// allocates: total and header size, JSON syntax, format and version, every
// tensor's dtype, shape, byte range and values, the quantisation scales,
// and the graph's references to weights. Its errors start with
// "modelfile:", say what is wrong and where (tensor name, byte offset) and
// wrap a sentinel (ErrTruncated, ErrNotModelFile, ErrVersion, ErrTooLarge
// or ErrInvalid) for errors.Is. The header's JSON is read by a small
// decoder for the canonical form that Write and Python's json module
// produce; anything else, and every error, is left to encoding/json, with
// the same result (fastjson.go says why).
//
// Write is deterministic: the same Model always gives the same bytes.
package modelfile
