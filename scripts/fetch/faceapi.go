package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/camlens/camlens/core/modelfile"
	"github.com/camlens/camlens/core/tfjs"
)

const (
	faceAPIPackage = "@vladmandic/face-api@" + tfjs.FaceAPIVersion
	faceAPITarball = "vladmandic-face-api-" + tfjs.FaceAPIVersion + ".tgz"
	// faceAPITarballSHA256 is the sha256 of the npm tarball of
	// @vladmandic/face-api@1.7.15 (its sha512 integrity is the one in
	// scripts/node/package-lock.json).
	faceAPITarballSHA256 = "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"

	maxTarballBytes = 64 << 20
	maxEntryBytes   = 16 << 20
)

// The files taken from the package.
const (
	entryBin      = "package/model/" + tfjs.FaceExpressionWeightsFile
	entryManifest = "package/model/face_expression_model-weights_manifest.json"
	entryLicense  = "package/LICENSE"
)

func faceAPI(cacheDir, outDir string, float bool) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	tgz, err := tarball(cacheDir)
	if err != nil {
		return err
	}
	files, err := extract(tgz, entryBin, entryManifest, entryLicense)
	if err != nil {
		return fmt.Errorf("%s: %w", faceAPITarball, err)
	}
	data, err := convertFaceExpression(files[entryManifest], files[entryBin], !float)
	if err != nil {
		return err
	}
	name := filepath.Join(outDir, "face-expression.safetensors")
	if float {
		name = filepath.Join(cacheDir, "face-expression-float.safetensors")
	}
	if err := writeFile(name, data); err != nil {
		return err
	}
	if !float {
		if err := writeFile(filepath.Join(outDir, "LICENSE-face-api.txt"), files[entryLicense]); err != nil {
			return err
		}
	}
	sum := sha256.Sum256(data)
	fmt.Printf("%s: %d bytes, sha256 %s\n", name, len(data), hex.EncodeToString(sum[:]))
	return nil
}

// convertFaceExpression converts face-api's weights manifest and .bin into
// the bytes of a CamLens model file (int8 weights when quantize is set),
// and checks that the result reads back and builds.
func convertFaceExpression(manifest, bin []byte, quantize bool) ([]byte, error) {
	m, err := tfjs.ConvertFaceExpression(manifest, bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := modelfile.Write(&buf, m, modelfile.WriteOptions{Quantize: quantize}); err != nil {
		return nil, fmt.Errorf("writing the face expression model: %w", err)
	}
	back, err := modelfile.Parse(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("reading the written model back: %w", err)
	}
	if _, err := back.Build(); err != nil {
		return nil, fmt.Errorf("building the written model: %w", err)
	}
	return buf.Bytes(), nil
}

// tarball returns the checked npm tarball, running `npm pack` into cacheDir
// when it is not there yet.
func tarball(cacheDir string) ([]byte, error) {
	path := filepath.Join(cacheDir, faceAPITarball)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		cmd := exec.Command("npm", "pack", faceAPIPackage, "--pack-destination", cacheDir, "--silent")
		cmd.Stderr = os.Stderr
		if out, err := cmd.Output(); err != nil {
			return nil, fmt.Errorf("npm pack %s: %w (output %q)", faceAPIPackage, err, out)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxTarballBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d expected at most", path, st.Size(), maxTarballBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != faceAPITarballSHA256 {
		return nil, fmt.Errorf("%s: sha256 %s, want %s (delete the file to fetch it again)", path, got, faceAPITarballSHA256)
	}
	return data, nil
}

// extract returns the named regular files of a .tgz; each must be present
// exactly once and no larger than maxEntryBytes.
func extract(tgz []byte, names ...string) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if !want[h.Name] {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%s is not a regular file", h.Name)
		}
		if _, dup := out[h.Name]; dup {
			return nil, fmt.Errorf("%s appears twice", h.Name)
		}
		if h.Size < 0 || h.Size > maxEntryBytes {
			return nil, fmt.Errorf("%s: %d bytes, limit %d", h.Name, h.Size, maxEntryBytes)
		}
		b := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		out[h.Name] = b
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("%s is missing", n)
		}
	}
	return out, nil
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

// repoRoot walks up from the working directory to the directory with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
