// Package onnx imports ONNX image classifiers into CamLens models.
//
// The ModelProto is decoded straight from the protobuf wire format by a
// small reader of its own (wire.go: no generated code, no cgo; generated
// messages and the protobuf runtime would add about 3.8 MB to a js/wasm
// binary), checked against google.golang.org/protobuf/encoding/protowire
// by FuzzWire: protowire's own package initialisation would run on every
// start of the browser's engine. Every size read from the file
// (file, node count, attribute lengths, tensor elements, raw_data bytes
// against dims) is checked before anything is allocated for it.
//
// Import maps each ONNX node to one or more nn nodes. The nn node that
// holds an ONNX tensor is named after that tensor, so every 4-D activation
// is addressable by its ONNX name (helper nodes get "<name>#<suffix>").
// Constant subgraphs — initialisers, Constant nodes and the
// Shape/Gather/Unsqueeze/Concat chains exporters write around Reshape —
// are folded at import time using the static input shape.
// BatchNormalization is folded into the preceding Conv (nn.FoldBatchNorm),
// MatMul + Add becomes one dense node, and DequantizeLinear of int8
// weights (QDQ models) becomes float weights; QuantizeLinear →
// DequantizeLinear pairs on activations become identities (CamLens keeps
// activations in float32).
//
// The batch dimension: CamLens graphs take N×(input shape) for any N. The
// importer tracks which tensors carry the batch in dimension 0 and writes
// reshapes of those with -1 in front, so a model exported for batch 1 runs
// on any batch. Options.WholeInput instead treats the whole ONNX input as
// one item, for graphs whose ops move the batch axis.
package onnx
