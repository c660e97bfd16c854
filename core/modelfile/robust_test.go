package modelfile

import (
	"errors"
	"strings"
	"testing"
)

// TestParseOtherKinds: files of another kind given as a model file get
// ErrNotModelFile with a message naming what they look like, whatever
// their first eight bytes say as a header length; a real header that is
// cut short or too long keeps ErrTruncated or ErrTooLarge.
func TestParseOtherKinds(t *testing.T) {
	pad := strings.Repeat("\x00", 64)
	cases := []struct {
		name, data string
		err        error
		want       string
	}{
		{"png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + pad, ErrNotModelFile, "looks like a PNG image"},
		{"jpeg", "\xff\xd8\xff\xe0\x00\x10JFIF\x00" + pad, ErrNotModelFile, "looks like a JPEG image"},
		{"pdf", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + pad, ErrNotModelFile, "looks like a PDF document"},
		{"pytorch zip", "PK\x03\x04\x00\x00\x08\x08\x00\x00" + pad, ErrNotModelFile, "PyTorch .pt/.pth checkpoint? export it to ONNX first"},
		{"pickle", "\x80\x02}q\x00(X\x0b\x00\x00\x00" + pad, ErrNotModelFile, "a Python pickle"},
		{"keras h5", "\x89HDF\r\n\x1a\n" + pad, ErrNotModelFile, "an HDF5 file"},
		{"onnx", "\x08\x07\x12\x07pytorch\x1a\x031.13" + pad, ErrNotModelFile, "an ONNX model (open it as .onnx)"},
		{"tfjs json", `{"modelTopology": {}, "weightsManifest": []}` + pad, ErrNotModelFile, "JSON text"},
		{"gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + pad, ErrNotModelFile, "gzip-compressed"},
		{"random", "\x13\x37\xca\xfe\xba\xbe\x00\x01\x02\x03\x04" + pad, ErrNotModelFile, "byte 8 is not the '{' that starts the JSON header (first bytes 13 37 ca fe"},
		{"cut header", "\x20\x00\x00\x00\x00\x00\x00\x00{\"__meta", ErrTruncated, "header length 32 but only 8 bytes follow"},
		{"huge header", "\x00\x00\x00\x00\x01\x00\x00\x00{}", ErrTooLarge, "header length 4294967296"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.data))
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Parse = %v, want %v saying %q", err, c.err, c.want)
			}
			checkParseErr(t, err)
		})
	}
}
