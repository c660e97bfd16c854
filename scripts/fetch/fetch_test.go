package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/tfjs"
)

type tarEntry struct {
	name string
	typ  byte
	size int64 // header size; the body is size bytes of 'x' unless body is set
	body []byte
}

func makeTgz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		body := e.body
		if body == nil {
			body = bytes.Repeat([]byte("x"), int(e.size))
		}
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Size: int64(len(body)), Mode: 0o644}
		if e.typ != tar.TypeReg {
			h.Size = 0
			body = nil
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestExtract(t *testing.T) {
	ok := makeTgz(t,
		tarEntry{name: "package/a", typ: tar.TypeReg, body: []byte("A")},
		tarEntry{name: "package/other", typ: tar.TypeReg, size: 10},
		tarEntry{name: "package/b", typ: tar.TypeReg, body: []byte("BB")})
	got, err := extract(ok, "package/a", "package/b")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["package/a"]) != "A" || string(got["package/b"]) != "BB" {
		t.Fatalf("got %q", got)
	}
	cases := []struct {
		name string
		tgz  []byte
		want string
	}{
		{"missing", makeTgz(t, tarEntry{name: "package/a", typ: tar.TypeReg, size: 1}), "package/b is missing"},
		{"twice", makeTgz(t, tarEntry{name: "package/a", typ: tar.TypeReg, size: 1}, tarEntry{name: "package/a", typ: tar.TypeReg, size: 1}), "appears twice"},
		{"symlink", makeTgz(t, tarEntry{name: "package/a", typ: tar.TypeSymlink}), "not a regular file"},
		{"too big", makeTgz(t, tarEntry{name: "package/a", typ: tar.TypeReg, size: maxEntryBytes + 1}), "limit"},
		{"not gzip", []byte("not a tarball"), "gzip"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := extract(c.tgz, "package/a", "package/b")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestShippedModelIsReproducible converts the face-api files installed under
// scripts/node/node_modules (the same files as in the checked npm tarball:
// the .bin's sha256 is checked) and compares with the committed model and
// licence, byte for byte; a second conversion must give the same bytes.
func TestShippedModelIsReproducible(t *testing.T) {
	dir := "../node/node_modules/@vladmandic/face-api"
	bin, err := os.ReadFile(filepath.Join(dir, "model", tfjs.FaceExpressionWeightsFile))
	if err != nil {
		if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
			t.Fatalf("%v (CAMLENS_REQUIRE_DEPS=1)", err)
		}
		t.Skipf("face-api is not installed under scripts/node/node_modules: %v", err)
	}
	man, err := os.ReadFile(filepath.Join(dir, "model", "face_expression_model-weights_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	lic, err := os.ReadFile(filepath.Join(dir, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("../../models/face-expression.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	shippedLic, err := os.ReadFile("../../models/LICENSE-face-api.txt")
	if err != nil {
		t.Fatal(err)
	}
	a, err := convertFaceExpression(man, bin, true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := convertFaceExpression(man, bin, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two conversions differ")
	}
	sum := sha256.Sum256(a)
	t.Logf("converted: %d bytes, sha256 %s; shipped: %d bytes", len(a), hex.EncodeToString(sum[:]), len(shipped))
	if !bytes.Equal(a, shipped) {
		t.Error("models/face-expression.safetensors differs from a fresh conversion: run go run ./scripts/fetch face-api")
	}
	if !bytes.Equal(lic, shippedLic) {
		t.Error("models/LICENSE-face-api.txt differs from the package's LICENSE")
	}
	m, err := modelfile.Parse(shipped)
	if err != nil {
		t.Fatal(err)
	}
	binSum := sha256.Sum256(bin)
	if m.Meta.Provenance.SHA256 != hex.EncodeToString(binSum[:]) || m.Meta.Name != "face-expression" {
		t.Errorf("shipped meta: name %q, provenance %+v", m.Meta.Name, m.Meta.Provenance)
	}
	card, err := os.ReadFile("../../models/cards/face-expression.md")
	if err != nil {
		t.Fatal(err)
	}
	shippedSum := sha256.Sum256(shipped)
	for _, want := range []string{hex.EncodeToString(shippedSum[:]), commas(len(shipped)) + " bytes", hex.EncodeToString(binSum[:])} {
		if !strings.Contains(string(card), want) {
			t.Errorf("models/cards/face-expression.md does not mention %q", want)
		}
	}
	f, err := convertFaceExpression(man, bin, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("float32 file: %d bytes", len(f))
}

// TestSamplesAreReproducible regenerates web/samples' photos from the
// Debian packages into a temporary directory and compares byte for byte.
func TestSamplesAreReproducible(t *testing.T) {
	for _, s := range sampleFiles {
		if _, err := os.Stat(s.src); err != nil {
			if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
				t.Fatalf("%v (CAMLENS_REQUIRE_DEPS=1)", err)
			}
			t.Skipf("Debian package %s is not installed: %v", s.pkg, err)
		}
	}
	dir := t.TempDir()
	if err := samples(dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, s := range sampleFiles {
		got, err := os.ReadFile(filepath.Join(dir, s.name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("../../web/samples", s.name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("web/samples/%s differs from a fresh copy of %s", s.name, s.src)
		}
	}
}

// commas formats n with thousands separators (360112 → "360,112").
func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
