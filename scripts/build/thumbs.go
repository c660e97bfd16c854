package build

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	xdraw "golang.org/x/image/draw"

	"github.com/camlens/camlens/core/imaging"
)

// thumbSide is the shorter side of a gallery thumbnail in pixels: the
// gallery shows each sample in 64 CSS pixels (web/app.css, .sample), so
// twice that for a 2× screen.
const thumbSide = 128

// writeThumbs gives each sample of dir/samples.json whose image is larger
// than a thumbnail a small JPEG of it, web/samples/thumbs/<file>.jpg, and
// writes the site's samples.json with its path in the sample's "thumb"
// field (relative to web/samples/), the rest of each entry as it was
// (Build copies the other files of dir, not samples.json). The
// gallery then downloads and decodes a few kilobytes per sample instead of
// the photo, which it loads only when the sample is picked. A sample whose
// image is already small keeps no "thumb".
func (b *builder) writeThumbs(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "samples.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	var doc struct {
		Samples []json.RawMessage `json:"samples"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("build: samples.json: %w", err)
	}
	for i, raw := range doc.Samples {
		var s struct {
			File  string `json:"file"`
			Thumb string `json:"thumb"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("build: samples.json, sample %d: %w", i, err)
		}
		if s.Thumb != "" || s.File == "" || path.Base(s.File) != s.File {
			continue // named already, or not a plain file name
		}
		src, err := os.ReadFile(filepath.Join(dir, s.File))
		if err != nil {
			return fmt.Errorf("build: sample %s: %w", s.File, err)
		}
		img, _, err := imaging.Decode(src) // the engine's decoder, formats and limits
		if err != nil {
			return fmt.Errorf("build: sample %s: %w", s.File, err)
		}
		th := thumbnail(img, thumbSide)
		if th == nil {
			continue
		}
		var out bytes.Buffer
		if err := jpeg.Encode(&out, th, &jpeg.Options{Quality: 85}); err != nil {
			return fmt.Errorf("build: thumbnail of %s: %w", s.File, err)
		}
		rel := "thumbs/" + s.File + ".jpg"
		if err := b.writeFile("web/samples/"+rel, out.Bytes()); err != nil {
			return err
		}
		field, err := json.Marshal(rel)
		if err != nil {
			return fmt.Errorf("build: %w", err)
		}
		// The entry as it was, with "thumb" added last (a RawMessage is
		// the value's bytes, without the whitespace around it).
		entry := raw
		if len(entry) < 2 || entry[len(entry)-1] != '}' {
			return fmt.Errorf("build: samples.json, sample %d is not an object", i)
		}
		var e bytes.Buffer
		e.Write(entry[:len(entry)-1])
		if len(bytes.TrimSpace(entry[1:len(entry)-1])) > 0 {
			e.WriteByte(',')
		}
		e.WriteString(`"thumb":`)
		e.Write(field)
		e.WriteByte('}')
		doc.Samples[i] = e.Bytes()
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("build: samples.json: %w", err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, js, "", "  "); err != nil {
		return fmt.Errorf("build: samples.json: %w", err)
	}
	pretty.WriteByte('\n')
	return b.writeFile("web/samples/samples.json", pretty.Bytes())
}

// thumbnail scales img so that its shorter side is side pixels (Catmull-Rom),
// on white where it is transparent; nil when that side is side or less
// already.
func thumbnail(img image.Image, side int) image.Image {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	short := min(w, h)
	if short <= side {
		return nil
	}
	tw, th := max(1, (w*side+short/2)/short), max(1, (h*side+short/2)/short)
	rect := image.Rect(0, 0, tw, th)
	if _, gray := img.(*image.Gray); gray {
		dst := image.NewGray(rect)
		xdraw.CatmullRom.Scale(dst, rect, img, r, xdraw.Src, nil)
		return dst
	}
	dst := image.NewRGBA(rect)
	draw.Draw(dst, rect, image.White, image.Point{}, draw.Src)
	xdraw.CatmullRom.Scale(dst, rect, img, r, xdraw.Over, nil)
	return dst
}
