package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// nodeAndRoot finds Node (skipping the test without it, unless
// CAMLENS_REQUIRE_DEPS=1) and the repository root.
func nodeAndRoot(t *testing.T) (node, root string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
			t.Fatal("node is not installed")
		}
		t.Skip("node is not installed")
	}
	root = env.root
	if root == "" {
		root = filepath.Join("..", "..")
	}
	return node, root
}

// TestExplainerRecovery runs testdata/explainer_test.mjs under Node: the
// Explainer's recovery from a dead engine (web/camlens.js) against a fake
// engine, including what the browser tests cannot provoke reliably (deaths
// during the reload, giving up after maxRestarts), and the page's file
// size check.
func TestExplainerRecovery(t *testing.T) {
	node, root := nodeAndRoot(t)
	out, err := exec.Command(node, "testdata/explainer_test.mjs", filepath.Join(root, "web", "camlens.js")).CombinedOutput()
	t.Logf("%s", strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("node: %v", err)
	}
}

// TestPlainPNG runs testdata/plainpng_test.mjs under Node: which PNGs the
// page decodes itself (web/camlens.js plainPNG) and which it leaves to Go.
func TestPlainPNG(t *testing.T) {
	node, root := nodeAndRoot(t)
	encode := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	// withChunk inserts a chunk (CRC not checked by plainPNG) after IHDR.
	withChunk := func(data []byte, typ string, body []byte) []byte {
		chunk := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
		chunk = append(append(append(chunk, typ...), body...), 0, 0, 0, 0)
		return slices.Concat(data[:33], chunk, data[33:])
	}
	r := image.Rect(0, 0, 6, 4)
	rgb := image.NewRGBA(r)
	for i := range rgb.Pix {
		rgb.Pix[i] = 255
	}
	nrgba := image.NewNRGBA(r)
	nrgba.Pix[3] = 10
	pal := image.NewPaletted(r, color.Palette{color.Black, color.White})
	palAlpha := image.NewPaletted(r, color.Palette{color.Black, color.NRGBA{255, 0, 0, 128}})
	plain := encode(rgb)
	dir := t.TempDir()
	type tc struct {
		File      string `json:"file"`
		Plain     bool   `json:"plain"`
		W         int    `json:"w"`
		H         int    `json:"h"`
		MaxPixels int    `json:"maxPixels"`
	}
	var cases []tc
	for _, c := range []struct {
		name      string
		data      []byte
		plain     bool
		maxPixels int
	}{
		{"rgb8.png", plain, true, 0},
		{"gray8.png", encode(image.NewGray(r)), true, 0},
		{"palette.png", encode(pal), true, 0},
		{"text-and-phys.png", withChunk(withChunk(plain, "tEXt", []byte("k\x00v")), "pHYs", make([]byte, 9)), true, 0},
		{"within-limit.png", plain, true, 24},
		{"over-limit.png", plain, false, 23},
		{"alpha.png", encode(nrgba), false, 0},
		{"palette-alpha.png", encode(palAlpha), false, 0},
		{"rgb16.png", encode(image.NewRGBA64(r)), false, 0},
		{"gray16.png", encode(image.NewGray16(r)), false, 0},
		{"gamma.png", withChunk(plain, "gAMA", []byte{0, 0, 0xb1, 0x8f}), false, 0},
		{"srgb.png", withChunk(plain, "sRGB", []byte{0}), false, 0},
		{"iccp.png", withChunk(plain, "iCCP", []byte("p\x00\x00x")), false, 0},
		{"header-only.png", plain[:33], false, 0},
		{"not-png.jpg", []byte("\xff\xd8\xff\xe0 not a png at all, but long enough"), false, 0},
		{"empty.png", nil, false, 0},
	} {
		if err := os.WriteFile(filepath.Join(dir, c.name), c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, tc{c.name, c.plain, 6, 4, c.maxPixels})
	}
	manifest, _ := json.Marshal(cases)
	if err := os.WriteFile(filepath.Join(dir, "cases.json"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, "testdata/plainpng_test.mjs", filepath.Join(root, "web", "camlens.js"), dir).CombinedOutput()
	t.Logf("%s", strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("node: %v", err)
	}
}
