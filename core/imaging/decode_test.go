package imaging

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rgbAt returns the 8-bit un-premultiplied colour at (x, y).
func rgbAt(img image.Image, x, y int) [3]int {
	c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
	return [3]int{int(c.R), int(c.G), int(c.B)}
}

// TestDecodeFormats decodes the same pattern written by PIL in every
// format: lossless ones must equal the PNG exactly; lossy ones and the GIF
// are compared with PIL's own decoding (testdata/pil_decoded.json). Go's
// JPEG decoder upsamples chroma by replication where libjpeg interpolates,
// so JPEG pixels differ a little at colour edges.
func TestDecodeFormats(t *testing.T) {
	var pil map[string][]int
	if err := json.Unmarshal(readTestdata(t, "pil_decoded.json"), &pil); err != nil {
		t.Fatal(err)
	}
	refs := map[string]image.Image{"pattern": decodeFile(t, "pattern.png"), "smooth": decodeFile(t, "smooth.png")}
	tests := []struct {
		file, format string
		w, h         int
		ref          string // PNG to match exactly, or "" for PIL's decoding
		maxErr       int    // per channel
		meanErr      float64
	}{
		{"pattern.png", FormatPNG, 23, 16, "pattern", 0, 0},
		{"pattern.bmp", FormatBMP, 23, 16, "pattern", 0, 0},
		{"pattern.lossless.webp", FormatWebP, 23, 16, "pattern", 0, 0},
		{"pattern_rgba.png", FormatPNG, 23, 16, "pattern", 0, 0},
		{"pattern.gif", FormatGIF, 23, 16, "", 0, 0},
		{"smooth.jpg", FormatJPEG, 32, 24, "", 3, 0.5},
		{"smooth422.jpg", FormatJPEG, 32, 24, "", 3, 0.5},
		{"odd.jpg", FormatJPEG, 31, 23, "", 3, 0.5},
		{"pattern.jpg", FormatJPEG, 23, 16, "", 3, 0.5},
		{"smooth.lossy.webp", FormatWebP, 32, 24, "", 2, 0.5},
		{"smooth_alpha.webp", FormatWebP, 32, 24, "", 2, 0.5},
	}
	for _, tc := range tests {
		img, format, err := Decode(readTestdata(t, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		w, h := tc.w, tc.h
		if format != tc.format || img.Bounds() != image.Rect(0, 0, w, h) {
			t.Fatalf("%s: format %q bounds %v", tc.file, format, img.Bounds())
		}
		var want func(x, y int) [3]int
		if tc.ref != "" {
			want = func(x, y int) [3]int { return rgbAt(refs[tc.ref], x, y) }
		} else {
			p, ok := pil[tc.file]
			if !ok || len(p) != w*h*3 {
				t.Fatalf("%s: PIL reference has %d values", tc.file, len(p))
			}
			want = func(x, y int) [3]int { i := 3 * (y*w + x); return [3]int{p[i], p[i+1], p[i+2]} }
		}
		worst, sum := 0, 0
		for y := range h {
			for x := range w {
				a, b := rgbAt(img, x, y), want(x, y)
				for c := range 3 {
					d := max(a[c]-b[c], b[c]-a[c])
					worst = max(worst, d)
					sum += d
				}
			}
		}
		mean := float64(sum) / float64(w*h*3)
		t.Logf("%s: max error %d, mean %.3f", tc.file, worst, mean)
		if worst > tc.maxErr || mean > tc.meanErr {
			t.Errorf("%s: max error %d, mean %.2f (allowed %d, %.1f)", tc.file, worst, mean, tc.maxErr, tc.meanErr)
		}
	}
	// The lossy WebP with alpha keeps its (losslessly coded) alpha plane.
	img, _, err := Decode(readTestdata(t, "smooth_alpha.webp"))
	if err != nil {
		t.Fatal(err)
	}
	for y := range 24 {
		for x := range 32 {
			_, _, _, a := img.At(x, y).RGBA()
			if want := math.RoundToEven(255 * float64(x+y) / 54); int(a>>8) != int(want) {
				t.Fatalf("alpha at (%d,%d) = %d, want %v", x, y, a>>8, want)
			}
		}
	}
	cfg, format, err := DecodeConfig(readTestdata(t, "gray.png"))
	if err != nil || format != FormatPNG || cfg.Width != 23 || cfg.Height != 16 || cfg.ColorModel != color.GrayModel {
		t.Errorf("DecodeConfig(gray.png) = %+v, %q, %v", cfg, format, err)
	}
}

func pngOfSize(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// patchPNGSize rewrites the IHDR size (and its CRC) so the header claims a
// size the data does not have.
func patchPNGSize(t *testing.T, data []byte, w, h uint32) []byte {
	t.Helper()
	out := append([]byte(nil), data...)
	binary.BigEndian.PutUint32(out[16:], w)
	binary.BigEndian.PutUint32(out[20:], h)
	binary.BigEndian.PutUint32(out[29:], crc32IEEE(out[12:29]))
	return out
}

func TestDecodeLimits(t *testing.T) {
	small := pngOfSize(t, 4, 3)
	// A header that claims 10000×10000 (100 MP) is refused before decoding.
	huge := patchPNGSize(t, small, 10000, 10000)
	if _, _, err := Decode(huge); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "10000×10000") {
		t.Errorf("huge: err = %v, want ErrTooLarge naming the size", err)
	}
	if _, _, err := DecodeConfig(huge); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeConfig huge: err = %v", err)
	}
	// Exactly at the limit passes the header check (it then fails to decode
	// because the data is short, which is a different error).
	_, _, err := decode(patchPNGSize(t, small, 5000, 10000), 50_000_000)
	if err == nil || errors.Is(err, ErrTooLarge) {
		t.Errorf("at limit: err = %v, want a decode error", err)
	}
	// A lower limit applies.
	if _, _, err := decode(small, 11); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit 11 for 12 pixels: err = %v", err)
	}
	// Zero width is refused (the PNG decoder itself also rejects it).
	if _, _, err := Decode(patchPNGSize(t, small, 0, 3)); err == nil {
		t.Error("zero width accepted")
	}
	// Truncated data.
	if _, _, err := Decode(small[:len(small)-20]); err == nil || !strings.Contains(err.Error(), "decode png") {
		t.Errorf("truncated: err = %v", err)
	}
}

func TestDecodeNotImage(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"empty", "", "empty input"},
		{"pdf", "%PDF-1.7\n...", "looks like a PDF document"},
		{"tiff", "II*\x00\x08\x00\x00\x00", "TIFF"},
		{"heic", "\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIC"},
		{"avif", "\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "AVIF"},
		{"mp4", "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", "video"},
		{"svg", "\xef\xbb\xbf  <?xml version=\"1.0\"?>\n<svg xmlns=...>", "SVG"},
		{"html", "<!DOCTYPE html><html>", "HTML or XML"},
		{"json", `{"a": 1}`, "JSON"},
		{"zip", "PK\x03\x04rest", "ZIP"},
		{"npy", "\x93NUMPY\x01\x00", "NumPy"},
		{"data url", "data:image/png;base64,iVBOR", "data: URL"},
		{"damaged png", "\x89PNGxxxxxxxx", "damaged"},
		{"safetensors model", "\x10\x00\x00\x00\x00\x00\x00\x00{\"__metadata__\":{}}xxxx", "safetensors file (a CamLens model?"},
		{"onnx model", "\x08\x07\x12\x07pytorch", "ONNX model"},
		{"pytorch checkpoint", "\x80\x02\x8a\x0al\xfc\x9cF\xf9", "pickle"},
		{"random", "\x01\x02\x03\x04\x05\x06\x07\x08\x09", "first bytes 01 02 03 04 05 06 07 08"},
	}
	for _, tc := range tests {
		_, _, err := Decode([]byte(tc.data))
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrFormat mentioning %q", tc.name, err, tc.want)
		}
	}
	// A real format with a broken body is a decode error, not ErrFormat.
	_, format, err := Decode([]byte("GIF89a\x01\x00"))
	if err == nil || errors.Is(err, ErrFormat) || format != FormatGIF {
		t.Errorf("broken gif: %q, %v", format, err)
	}
}

// exifJPEG returns a JPEG of img with an APP1 EXIF segment giving the
// orientation o (byte order "II" or "MM") right after SOI.
func exifJPEG(t *testing.T, img image.Image, o int, order string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	var bo interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.LittleEndian
	magic := "II*\x00"
	if order == "MM" {
		bo, magic = binary.BigEndian, "MM\x00*"
	}
	tiff := []byte(magic)
	tiff = bo.AppendUint32(tiff, 8)
	tiff = bo.AppendUint16(tiff, 2) // two entries: a dummy tag, then orientation
	for _, e := range [][3]uint32{{0x010f, 2, 0}, {0x0112, 3, uint32(o)}} {
		tiff = bo.AppendUint16(tiff, uint16(e[0]))
		tiff = bo.AppendUint16(tiff, uint16(e[1]))
		tiff = bo.AppendUint32(tiff, 1)
		if e[1] == 3 {
			tiff = bo.AppendUint16(tiff, uint16(e[2]))
			tiff = append(tiff, 0, 0)
		} else {
			tiff = bo.AppendUint32(tiff, 0)
		}
	}
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(seg)+2))
	out := append([]byte{0xff, 0xd8}, app1...)
	out = append(out, seg...)
	return append(out, buf.Bytes()[2:]...)
}

func TestDecodeEXIFOrientation(t *testing.T) {
	// A 4×2 image with distinct, well separated colours per pixel.
	const w, h = 4, 2
	src := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			src.Set(x, y, color.RGBA{uint8(60 * x), uint8(200 * y), uint8(255 - 60*x), 255})
		}
	}
	plain, _, err := Decode(exifJPEG(t, src, 1, "II"))
	if err != nil {
		t.Fatal(err)
	}
	// Where display pixel (x, y) comes from in the stored image.
	from := map[int]func(x, y int) (int, int){
		1: func(x, y int) (int, int) { return x, y },
		2: func(x, y int) (int, int) { return w - 1 - x, y },
		3: func(x, y int) (int, int) { return w - 1 - x, h - 1 - y },
		4: func(x, y int) (int, int) { return x, h - 1 - y },
		5: func(x, y int) (int, int) { return y, x },
		6: func(x, y int) (int, int) { return y, h - 1 - x },
		7: func(x, y int) (int, int) { return w - 1 - y, h - 1 - x },
		8: func(x, y int) (int, int) { return w - 1 - y, x },
	}
	for o := 1; o <= 8; o++ {
		for _, order := range []string{"II", "MM"} {
			data := exifJPEG(t, src, o, order)
			if got := jpegOrientation(data); got != o {
				t.Fatalf("orientation %d %s read as %d", o, order, got)
			}
			img, format, err := Decode(data)
			if err != nil || format != FormatJPEG {
				t.Fatalf("orientation %d: %q %v", o, format, err)
			}
			dw, dh := w, h
			if o >= 5 {
				dw, dh = h, w
			}
			if img.Bounds() != image.Rect(0, 0, dw, dh) {
				t.Fatalf("orientation %d: bounds %v", o, img.Bounds())
			}
			cfg, _, _ := DecodeConfig(data)
			if cfg.Width != dw || cfg.Height != dh {
				t.Errorf("orientation %d: DecodeConfig %d×%d", o, cfg.Width, cfg.Height)
			}
			for y := range dh {
				for x := range dw {
					sx, sy := from[o](x, y)
					if got, want := rgbAt(img, x, y), rgbAt(plain, sx, sy); got != want {
						t.Fatalf("orientation %d %s: (%d,%d) = %v, want stored (%d,%d) = %v", o, order, x, y, got, sx, sy, want)
					}
				}
			}
		}
	}
	// Grey JPEGs keep a grey result.
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(g.Pix, []uint8{0, 50, 100, 150, 200, 250})
	img, _, err := Decode(exifJPEG(t, g, 6, "MM"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.Gray); !ok || img.Bounds() != image.Rect(0, 0, 2, 3) {
		t.Errorf("grey rotated: %T %v", img, img.Bounds())
	}
}

func TestJPEGOrientationMalformed(t *testing.T) {
	good := exifJPEG(t, image.NewGray(image.Rect(0, 0, 2, 2)), 6, "II")
	tests := map[string][]byte{
		"not jpeg":         []byte("\x89PNG"),
		"truncated":        good[:20],
		"bad length":       append([]byte{0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff}, good[6:30]...),
		"zero length":      {0xff, 0xd8, 0xff, 0xe1, 0x00, 0x00, 0xff, 0xd9},
		"no exif":          {0xff, 0xd8, 0xff, 0xd9},
		"junk after soi":   {0xff, 0xd8, 0x00, 0x00, 0x00, 0x00},
		"bad tiff magic":   append([]byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x10}, []byte("Exif\x00\x00XX*\x00\x08\x00\x00\x00")...),
		"ifd out of range": append([]byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x10}, []byte("Exif\x00\x00II*\x00\xff\x00\x00\x00")...),
	}
	for name, data := range tests {
		if o := jpegOrientation(data); o != 1 {
			t.Errorf("%s: orientation %d, want 1", name, o)
		}
	}
	// Orientation 9 is invalid and ignored.
	bad := exifJPEG(t, image.NewGray(image.Rect(0, 0, 2, 2)), 9, "II")
	if o := jpegOrientation(bad); o != 1 {
		t.Errorf("orientation 9 read as %d", o)
	}
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }

// A GIF whose first frame covers part of the logical screen decodes to the
// full screen with the frame in place and the rest transparent.
func TestDecodeGIFPartialFrame(t *testing.T) {
	frame := image.NewPaletted(image.Rect(2, 1, 5, 3), color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}})
	for i := range frame.Pix {
		frame.Pix[i] = uint8(i % 2)
	}
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame}, Delay: []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: 6, Height: 4}})
	if err != nil {
		t.Fatal(err)
	}
	img, format, err := Decode(buf.Bytes())
	if err != nil || format != FormatGIF {
		t.Fatalf("%q %v", format, err)
	}
	if img.Bounds() != image.Rect(0, 0, 6, 4) {
		t.Fatalf("bounds %v", img.Bounds())
	}
	for y := range 4 {
		for x := range 6 {
			_, _, _, a := img.At(x, y).RGBA()
			in := image.Pt(x, y).In(frame.Rect)
			if in != (a == 0xffff) || !in && a != 0 {
				t.Errorf("(%d,%d): alpha %#x, inside frame %v", x, y, a, in)
			}
			if in && rgbAt(img, x, y) != rgbAt(frame, x, y) {
				t.Errorf("(%d,%d) = %v, want %v", x, y, rgbAt(img, x, y), rgbAt(frame, x, y))
			}
		}
	}
}
