package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

	"github.com/camlens/camlens/core/modelfile"
)

// MaxPixels bounds width·height of an image Decode accepts (50 megapixels:
// about 200 MB once decoded as RGBA).
const MaxPixels = 50_000_000

var (
	// ErrTooLarge is returned (wrapped) when an image's header declares more
	// than MaxPixels pixels; nothing is decoded.
	ErrTooLarge = errors.New("image too large")
	// ErrFormat is returned (wrapped) for data that is not a PNG, JPEG, GIF,
	// BMP or WebP image; the message names the format when it is a common
	// non-image one.
	ErrFormat = errors.New("unsupported image format")
)

// Format names returned by Decode.
const (
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
	FormatGIF  = "gif"
	FormatBMP  = "bmp"
	FormatWebP = "webp"
)

type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// codecs are selected by magic number here rather than through the image
// package's global registry, so exactly these formats are accepted.
var codecs = map[string]codec{
	FormatPNG:  {png.DecodeConfig, png.Decode},
	FormatJPEG: {jpeg.DecodeConfig, jpeg.Decode},
	FormatGIF:  {gif.DecodeConfig, gif.Decode},
	FormatBMP:  {bmp.DecodeConfig, bmp.Decode},
	FormatWebP: {webp.DecodeConfig, webp.Decode},
}

// Decode decodes a PNG, JPEG, GIF (first frame), BMP or WebP image. The
// header is read first and the image is rejected before any pixel buffer is
// allocated when a dimension is 0 or width·height exceeds MaxPixels
// (ErrTooLarge). A JPEG's EXIF orientation (tag 0x0112) is applied, so the
// result is upright as a browser shows it; its format is still "jpeg".
//
// JPEG and lossy WebP images are returned as *image.NRGBA converted the way
// libjpeg and libwebp (and so PIL and browsers) convert them: chroma
// interpolated rather than replicated, and WebP's video-range Y'CbCr
// expanded to full range. Other formats keep the decoder's image type
// (*image.NRGBA, *image.RGBA, *image.Gray, *image.Paletted, ...). No
// colour management: embedded ICC profiles are ignored.
// Errors say what went wrong and wrap ErrFormat or ErrTooLarge where they
// apply.
func Decode(data []byte) (image.Image, string, error) {
	return decode(data, MaxPixels)
}

// DecodeConfig returns the format and the size of an image (after EXIF
// orientation) without decoding its pixels, with the checks of Decode.
func DecodeConfig(data []byte) (image.Config, string, error) {
	cfg, format, err := decodeConfig(data, MaxPixels)
	if err == nil && format == FormatJPEG && jpegOrientation(data) >= 5 {
		cfg.Width, cfg.Height = cfg.Height, cfg.Width
	}
	return cfg, format, err
}

func decodeConfig(data []byte, maxPixels int64) (image.Config, string, error) {
	format, err := sniff(data)
	if err != nil {
		return image.Config{}, "", err
	}
	cfg, err := codecs[format].config(bytes.NewReader(data))
	if err != nil {
		return image.Config{}, format, fmt.Errorf("imaging: read %s header (the file is damaged or cut short): %w", format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return image.Config{}, format, fmt.Errorf("imaging: %s image is %d×%d: empty image", format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > maxPixels {
		return image.Config{}, format, fmt.Errorf("imaging: %s image is %d×%d = %d pixels, limit %d: %w",
			format, cfg.Width, cfg.Height, px, maxPixels, ErrTooLarge)
	}
	return cfg, format, nil
}

func decode(data []byte, maxPixels int64) (image.Image, string, error) {
	cfg, format, err := decodeConfig(data, maxPixels)
	if err != nil {
		return nil, format, err
	}
	img, err := codecs[format].decode(bytes.NewReader(data))
	if err != nil {
		return nil, format, fmt.Errorf("imaging: decode %s (%d×%d): the file is damaged or cut short: %w", format, cfg.Width, cfg.Height, err)
	}
	full := image.Rect(0, 0, cfg.Width, cfg.Height)
	if b := img.Bounds(); b != full {
		// The header check above bounded the allocation only if the decoder
		// honours the header; refuse anything else, except a GIF whose first
		// frame covers part of its logical screen, which is placed on a
		// transparent screen-sized canvas as browsers show it.
		if format != FormatGIF || !b.In(full) || b.Empty() {
			return nil, format, fmt.Errorf("imaging: decode %s: header says %d×%d, decoded %v",
				format, cfg.Width, cfg.Height, b)
		}
		canvas := image.NewNRGBA(full)
		draw.Draw(canvas, b, img, b.Min, draw.Src)
		img = canvas
	}
	img = toRGB(img, format)
	if format == FormatJPEG {
		if o := jpegOrientation(data); o > 1 {
			img = orient(img, o)
		}
	}
	return img, format, nil
}

// sniff identifies the format from magic numbers and explains common
// non-image inputs.
func sniff(data []byte) (string, error) {
	has := func(off int, magic string) bool {
		return len(data) >= off+len(magic) && string(data[off:off+len(magic)]) == magic
	}
	switch {
	case len(data) == 0:
		return "", fmt.Errorf("imaging: empty input: %w", ErrFormat)
	case has(0, "\x89PNG\r\n\x1a\n"):
		return FormatPNG, nil
	case has(0, "\xff\xd8\xff"):
		return FormatJPEG, nil
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return FormatGIF, nil
	case has(0, "BM"):
		return FormatBMP, nil
	case has(0, "RIFF") && has(8, "WEBP"):
		return FormatWebP, nil
	}
	what := ""
	switch {
	case has(0, "%PDF"):
		what = "a PDF document"
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		what = "a TIFF image (not supported; convert it to PNG or JPEG)"
	case has(4, "ftyp"):
		what = ftypKind(data)
	case has(0, "\xff\x0a"), has(0, "\x00\x00\x00\x0cJXL \r\n\x87\n"):
		what = "a JPEG XL image (not supported)"
	case has(0, "\x00\x00\x01\x00"):
		what = "a Windows icon (ICO)"
	case has(0, "8BPS"):
		what = "a Photoshop document"
	case has(0, "PK\x03\x04"):
		what = "a ZIP archive"
	case has(0, "\x1f\x8b"):
		what = "gzip-compressed data"
	case has(0, "\x93NUMPY"):
		what = "a NumPy .npy array"
	case has(0, "RIFF"):
		what = "a RIFF file (audio or video)"
	case has(0, "GIF8"), has(0, "\x89PNG"):
		what = "a damaged image header"
	default:
		what = textKind(data)
	}
	if what == "" {
		// A model file dropped where an image goes (safetensors, ONNX,
		// a PyTorch checkpoint...): modelfile knows those.
		what = modelfile.DescribeKind(data)
	}
	if what == "" {
		n := min(len(data), 8)
		return "", fmt.Errorf("imaging: not a PNG, JPEG, GIF, BMP or WebP image (first bytes % x): %w", data[:n], ErrFormat)
	}
	return "", fmt.Errorf("imaging: not an image: looks like %s: %w", what, ErrFormat)
}

func ftypKind(data []byte) string {
	if len(data) < 12 {
		return "an ISO media file"
	}
	switch string(data[8:12]) {
	case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
		return "a HEIC/HEIF image (not supported; export it as JPEG)"
	case "avif", "avis":
		return "an AVIF image (not supported)"
	}
	return "a video (MP4/QuickTime)"
}

// textKind recognises text formats by their first non-blank characters.
func textKind(data []byte) string {
	head := data[:min(len(data), 1024)]
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(head) == 0:
		return "blank text"
	case bytes.Contains(bytes.ToLower(head), []byte("<svg")):
		return "an SVG drawing (vector images are not supported)"
	case head[0] == '<':
		return "HTML or XML text"
	case head[0] == '{' || head[0] == '[':
		return "JSON text"
	case bytes.HasPrefix(head, []byte("data:image/")):
		return "a data: URL (send the decoded bytes instead)"
	}
	return ""
}

// toRGB converts the Y'CbCr images of the JPEG and lossy WebP decoders to
// *image.NRGBA with interpolated chroma and, for WebP, the video-range
// conversion VP8 needs (see ycbcrToNRGBA). Other images are returned as
// they are.
func toRGB(img image.Image, format string) image.Image {
	switch m := img.(type) {
	case *image.YCbCr:
		if format == FormatWebP {
			return ycbcrToNRGBA(m, nil, 0, bt601Limited)
		}
		return ycbcrToNRGBA(m, nil, 0, jfif)
	case *image.NYCbCrA:
		mat := jfif
		if format == FormatWebP {
			mat = bt601Limited
		}
		return ycbcrToNRGBA(&m.YCbCr, m.A, m.AStride, mat)
	}
	return img
}
