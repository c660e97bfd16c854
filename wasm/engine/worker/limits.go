package worker

import (
	"fmt"
	"strings"

	"github.com/camlens/camlens/core/imaging"
	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/onnx"
)

// MaxImageBytes bounds the size of an image file the engine accepts. The
// core bounds images by their pixels (imaging.MaxPixels, checked from the
// header); a file of more bytes than this is refused before decoding:
// even uncompressed in 8-bit RGBA, an image at the pixel limit takes
// 200 MB.
const MaxImageBytes = 256 << 20

// limits are the size limits the page checks a file against before
// reading it (the hello reply's "limits"): the engine's and the core's.
func limits() Fields {
	return Fields{
		"imageBytes":  MaxImageBytes,
		"imagePixels": imaging.MaxPixels,
		"modelBytes":  modelfile.MaxFileBytes,
		"onnxBytes":   onnx.DefaultLimits.MaxFileBytes,
	}
}

// modelLimit is the size limit of a model file, and what kind of file it
// applies to: the CamLens reader's or the ONNX importer's, as the name or
// the first bytes say (the larger when neither does).
func modelLimit(name string, data []byte) (limit int, what string) {
	switch modelFormat(name, data) {
	case "camlens":
		return modelfile.MaxFileBytes, "a CamLens model file"
	case "onnx":
		return onnx.DefaultLimits.MaxFileBytes, "an ONNX model"
	}
	return max(modelfile.MaxFileBytes, onnx.DefaultLimits.MaxFileBytes), "a model file"
}

// modelFormat is "camlens", "onnx" or "" (unknown) from the name and the
// first bytes.
func modelFormat(name string, data []byte) string {
	lower := strings.ToLower(name)
	switch {
	case isSafetensors(data) || strings.HasSuffix(lower, ".safetensors"):
		return "camlens"
	case strings.HasSuffix(lower, ".onnx") || looksLikeONNX(data):
		return "onnx"
	}
	return ""
}

// imageKind says whether data is an image (one the core decodes, or one
// modelfile.DescribeKind names), and which: "a PNG image (640×480)".
func imageKind(data []byte) (string, bool) {
	if cfg, format, err := imaging.DecodeConfig(data); err == nil {
		return fmt.Sprintf("%s image (%d×%d)", article(formatTitle(format)), cfg.Width, cfg.Height), true
	}
	if what := modelfile.DescribeKind(data); strings.HasSuffix(what, " image") {
		return what, true
	}
	return "", false
}

func formatTitle(format string) string {
	if format == imaging.FormatWebP {
		return "WebP"
	}
	return strings.ToUpper(format)
}

func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOU", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

// isModelKind reports whether a modelfile.DescribeKind result names a
// model format; modelKindOnly shortens it for a message.
func isModelKind(what string) bool { return modelKindOnly(what) != "" }

func modelKindOnly(what string) string {
	switch {
	case strings.HasPrefix(what, "an ONNX model"):
		return "an ONNX model"
	case strings.HasPrefix(what, "a safetensors file"):
		return "a safetensors model file"
	}
	return ""
}

// formatBytes writes a size for people, in decimal units as file managers
// do (web/camlens.js formats the same way).
func formatBytes(n int) string {
	const mb = 1e6
	switch f := float64(n); {
	case f >= 100*mb:
		return fmt.Sprintf("%.0f MB", f/mb)
	case f >= mb:
		return fmt.Sprintf("%.1f MB", f/mb)
	case f >= 1e3:
		return fmt.Sprintf("%.1f kB", f/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}
