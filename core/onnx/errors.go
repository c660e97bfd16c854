package onnx

import "errors"

// ErrTooLarge is wrapped by every error about a model over one of the
// Limits (file size, nodes, initialisers, elements of a list attribute,
// bytes of a name, rank, elements of folded constants) or over nn.MaxNodes
// once converted. A tensor shape over tensor.MaxElements wraps
// tensor.ErrTooLarge instead.
var ErrTooLarge = errors.New("over a size limit")
