package modelfile

import (
	"errors"
	"fmt"
)

// Format identification, stored in the header's "__metadata__".
const (
	FormatName = "camlens" // __metadata__["format"]
	Version    = "1"       // __metadata__["version"]; the only version this package reads and writes
)

// Metadata keys of the safetensors header's "__metadata__" object. Every
// value is a string; meta and graph are JSON documents.
const (
	keyFormat   = "format"
	keyVersion  = "version"
	keyMeta     = "meta"
	keyGraph    = "graph"
	keyMetadata = "__metadata__"
)

// ScaleSuffix names the companion tensor of an int8 tensor: the float32
// per-output-channel scales of tensor "conv1.weight" are the tensor
// "conv1.weight_scale", shape [OC]. No op has a parameter whose name ends
// in "_scale", so the name never collides with a real parameter.
const ScaleSuffix = "_scale"

// Dtypes stored in a CamLens file (safetensors dtype names).
const (
	DtypeF32 = "F32" // little-endian IEEE-754 binary32
	DtypeI8  = "I8"  // two's-complement int8, symmetric per channel with a scale tensor
)

// Limits Parse and Write enforce before allocating.
const (
	MaxFileBytes       = 256 << 20 // whole file
	MaxHeaderBytes     = 16 << 20  // JSON header
	MaxTensors         = 1 << 16   // tensors in one file (scales included)
	MaxRank            = 8         // dimensions of one tensor
	MaxTensorNameBytes = 2048      // bytes in one tensor name
)

// Sentinel errors. Every error from Parse, Load and Write wraps exactly one
// of them; the message around it says what and where.
var (
	// ErrNotModelFile: not a safetensors file, or a safetensors file that
	// is not a CamLens model (no "__metadata__" or another "format").
	ErrNotModelFile = errors.New("not a CamLens model file")
	// ErrTruncated: the file ends before the header or the data it declares.
	ErrTruncated = errors.New("file truncated")
	// ErrVersion: a CamLens file of a version this package cannot read.
	ErrVersion = errors.New("unsupported format version")
	// ErrTooLarge: a size over one of the limits above or tensor.MaxElements.
	ErrTooLarge = errors.New("over a size limit")
	// ErrInvalid: anything else that is wrong in the file or the Model.
	ErrInvalid = errors.New("invalid model")
)

// errf returns an error wrapping sentinel, without the "modelfile:" prefix
// that Parse, Load and Write add.
func errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// opParams says which weight tensors a node of each op has, as parameter
// names (the tensor is "<node>.<param>"). It is the list of ops of format
// version 1; ok is false for any other op. Not inlined: its string switch
// would make checkNodeSpec, which runs for every node, large enough for V8
// to optimise it during a cold start.
//
//go:noinline
func opParams(op string) (required, optional []string, ok bool) {
	switch op {
	case "conv2d", "dense":
		return []string{"weight"}, []string{"bias"}, true
	case "batchnorm":
		return []string{"scale", "bias", "mean", "var"}, nil, true
	case "prelu":
		return []string{"slope"}, nil, true
	case "const":
		return []string{"value"}, nil, true
	case "maxpool", "avgpool", "globalavgpool", "reducemean",
		"relu", "clip", "leakyrelu", "sigmoid", "hardsigmoid", "hardswish", "silu", "tanh",
		"add", "sub", "mul", "div", "concat", "flatten", "reshape", "transpose", "pad",
		"softmax", "identity", "dropout":
		return nil, nil, true
	}
	return nil, nil, false
}

// formatOps lists every op of format version 1 (the cases of opParams), sorted.
func formatOps() []string {
	return []string{
		"add", "avgpool", "batchnorm", "clip", "concat", "const", "conv2d", "dense", "div",
		"dropout", "flatten", "globalavgpool", "hardsigmoid", "hardswish", "identity",
		"leakyrelu", "maxpool", "mul", "pad", "prelu", "reducemean", "relu", "reshape",
		"sigmoid", "silu", "softmax", "sub", "tanh", "transpose",
	}
}

// quantizedParam reports whether Write with Quantize stores parameter
// param of an op-node as int8: the "weight" of conv2d and dense nodes.
func quantizedParam(op, param string) bool {
	return param == "weight" && (op == "conv2d" || op == "dense")
}

// dtypeSize returns the byte size of one element of dtype, or 0 when the
// dtype is not one of format version 1.
func dtypeSize(dtype string) int {
	switch dtype {
	case DtypeF32:
		return 4
	case DtypeI8:
		return 1
	}
	return 0
}
