package modelfile

import (
	"bytes"
	"encoding/binary"
)

// notSafetensors is the error for data whose first bytes cannot start a
// safetensors file (the header must begin with '{' at byte 8): it says
// what the data looks like when it is a common file of another kind, so
// that a picture or another model format dropped where a model file goes
// gets a message a person understands.
func notSafetensors(data []byte) error {
	if what := DescribeKind(data); what != "" {
		return errf(ErrNotModelFile, "this looks like %s, not a safetensors file", what)
	}
	n := min(len(data), 16)
	return errf(ErrNotModelFile, "not a safetensors file: byte 8 is not the '{' that starts the JSON header (first bytes % x)", data[:n])
}

// DescribeKind names the kind of a file by its first bytes, for error
// messages about a file given in the wrong place: "a PNG image", "a PDF
// document", "a ZIP archive (a PyTorch .pt/.pth checkpoint? ...)", "an
// ONNX model (open it as .onnx)", "a safetensors file (...)" and a few
// more; "" when it recognises none.
func DescribeKind(data []byte) string {
	has := func(off int, magic string) bool {
		return len(data) >= off+len(magic) && string(data[off:off+len(magic)]) == magic
	}
	head := bytes.TrimLeft(data[:min(len(data), 512)], " \t\r\n\xef\xbb\xbf")
	switch {
	case has(0, "\x89PNG"):
		return "a PNG image"
	case has(0, "\xff\xd8\xff"):
		return "a JPEG image"
	case has(0, "GIF8"):
		return "a GIF image"
	case has(0, "RIFF") && has(8, "WEBP"):
		return "a WebP image"
	case has(0, "%PDF"):
		return "a PDF document"
	case has(0, "PK\x03\x04"):
		return "a ZIP archive (a PyTorch .pt/.pth checkpoint? export it to ONNX first)"
	case has(0, "\x80") && len(data) > 1 && data[1] >= 2 && data[1] <= 5:
		return "a Python pickle (a PyTorch checkpoint? export it to ONNX first)"
	case has(0, "\x89HDF"):
		return "an HDF5 file (a Keras .h5 model?)"
	case has(0, "\x1f\x8b"):
		return "gzip-compressed data (decompress it first)"
	case has(0, "\x93NUMPY"):
		return "a NumPy .npy array"
	case len(data) > 9 && data[8] == '{' && data[9] == '"' && binary.LittleEndian.Uint64(data) < uint64(len(data)):
		return "a safetensors file (a CamLens model? open it as .safetensors)"
	case has(0, "\x08") && len(data) > 1 && data[1] < 16 && has(2, "\x12"):
		return "an ONNX model (open it as .onnx)"
	case len(head) > 0 && (head[0] == '{' || head[0] == '['):
		return "JSON text (a tfjs model.json or weights manifest?)"
	case len(head) > 0 && head[0] == '<':
		return "HTML or XML text"
	}
	return ""
}
