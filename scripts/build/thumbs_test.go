package build

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePNG(t *testing.T, p string, img image.Image) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWriteThumbs(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	photo := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	for i := range photo.Pix {
		photo.Pix[i] = 200
	}
	photo.SetNRGBA(0, 0, color.NRGBA{}) // a transparent corner
	writePNG(t, filepath.Join(src, "photo.png"), photo)
	writePNG(t, filepath.Join(src, "gray.png"), image.NewGray(image.Rect(0, 0, 256, 400)))
	writePNG(t, filepath.Join(src, "small.png"), image.NewGray(image.Rect(0, 0, 28, 28)))
	os.WriteFile(filepath.Join(src, "samples.json"), []byte(`{"samples": [
  {"file": "photo.png", "title": "A photo", "crop": [1, 2, 3, 4]},
  {"title": "Gray", "file": "gray.png"},
  {"file": "small.png"},
  {"file": "photo.png", "thumb": "mine.jpg"}
]}`), 0o644)

	b := &builder{out: out}
	if err := b.writeThumbs(src); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, "web", "samples", "samples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Samples []map[string]any `json:"samples"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("samples.json: %v\n%s", err, data)
	}
	for i, c := range []struct {
		thumb string
		w, h  int
	}{
		{"thumbs/photo.png.jpg", 192, 128},
		{"thumbs/gray.png.jpg", 128, 200},
		{"", 0, 0},
		{"mine.jpg", 0, 0},
	} {
		s := doc.Samples[i]
		got, _ := s["thumb"].(string)
		if got != c.thumb {
			t.Errorf("sample %d: thumb %q, want %q", i, got, c.thumb)
		}
		if c.w == 0 {
			continue
		}
		f, err := os.Open(filepath.Join(out, "web", "samples", filepath.FromSlash(c.thumb)))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := jpeg.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != c.w || cfg.Height != c.h {
			t.Errorf("%s: %dx%d (%v), want %dx%d", c.thumb, cfg.Width, cfg.Height, err, c.w, c.h)
		}
	}
	// The other fields stay, in their order, with "thumb" after them.
	if doc.Samples[0]["title"] != "A photo" || len(doc.Samples[0]["crop"].([]any)) != 4 {
		t.Errorf("sample 0 lost fields: %v", doc.Samples[0])
	}
	if s := string(data); strings.Index(s, `"title": "A photo"`) > strings.Index(s, `"thumb": "thumbs/photo.png.jpg"`) {
		t.Errorf("fields reordered:\n%s", s)
	}
	if _, ok := b.sizes["web/samples/thumbs/gray.png.jpg"]; !ok {
		t.Error("the thumbnail is not among the built files (the service worker would not cache it)")
	}
}

func TestWriteThumbsBadInput(t *testing.T) {
	for name, c := range map[string]struct{ json, file string }{
		"not JSON":          {`{"samples": [`, ""},
		"sample not object": {`{"samples": ["x"]}`, ""},
		"missing image":     {`{"samples": [{"file": "gone.png"}]}`, ""},
		"not an image":      {`{"samples": [{"file": "a.png"}]}`, "a.png"},
	} {
		t.Run(name, func(t *testing.T) {
			src := t.TempDir()
			os.WriteFile(filepath.Join(src, "samples.json"), []byte(c.json), 0o644)
			if c.file != "" {
				os.WriteFile(filepath.Join(src, c.file), []byte("not a picture"), 0o644)
			}
			b := &builder{out: t.TempDir()}
			if err := b.writeThumbs(src); err == nil || !strings.HasPrefix(err.Error(), "build: ") {
				t.Errorf("writeThumbs = %v, want a build error", err)
			}
		})
	}
	// No samples.json: nothing to do.
	if err := (&builder{out: t.TempDir()}).writeThumbs(t.TempDir()); err != nil {
		t.Errorf("no samples.json: %v", err)
	}
}
