package build

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/camlens/camlens/scripts/serve/site"
	"github.com/camlens/camlens/wasm/kernels"
)

// Compression selects which precompressed siblings Build writes.
type Compression int

const (
	// CompressBest writes .br (with the brotli command, when installed)
	// and .gz siblings.
	CompressBest Compression = iota
	// CompressGzip writes only .gz siblings (fast; for tests).
	CompressGzip
	// CompressNone writes no siblings.
	CompressNone
)

// Options configures Build. Zero values mean the defaults.
type Options struct {
	Root     string // repository root; default: found from the working directory (go.mod)
	Out      string // output directory; default Root/dist
	Models   string // models directory; default Root/models
	Samples  string // sample gallery directory; default Root/web/samples
	Compress Compression
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// File is one file of the built site.
type File struct {
	Path   string `json:"path"` // slash-separated, relative to the site root
	Size   int64  `json:"size"`
	Brotli int64  `json:"br,omitempty"` // size of the .br sibling, 0 if none
	Gzip   int64  `json:"gz,omitempty"` // size of the .gz sibling, 0 if none
}

// Transfer is the smallest of the file's encodings: what a browser that
// accepts br and gzip downloads.
func (f File) Transfer() int64 {
	n := f.Size
	if f.Brotli > 0 && f.Brotli < n {
		n = f.Brotli
	}
	if f.Gzip > 0 && f.Gzip < n {
		n = f.Gzip
	}
	return n
}

// Report describes a finished build.
type Report struct {
	Out      string         `json:"-"`
	Version  string         `json:"version"` // content hash of the site; also the service worker's cache name
	Files    []File         `json:"files"`
	Catalog  []CatalogEntry `json:"catalog"`
	Precache []string       `json:"precache"`  // what the service worker stores on install
	ColdLoad []string       `json:"cold_load"` // files a first visit downloads
	Kernels  bool           `json:"kernels"`   // kernels.wasm (SIMD) was built
}

// ColdLoadBytes sums the raw and the transfer sizes of r.ColdLoad.
func (r *Report) ColdLoadBytes() (raw, transfer int64) { return r.sum(r.ColdLoad) }

// PrecacheBytes sums the raw and the transfer sizes of what the service
// worker stores for offline use.
func (r *Report) PrecacheBytes() (raw, transfer int64) { return r.sum(r.Precache) }

func (r *Report) sum(paths []string) (raw, transfer int64) {
	byPath := map[string]File{}
	for _, f := range r.Files {
		byPath[f.Path] = f
	}
	for _, p := range paths {
		if p == "./" {
			p = "index.html"
		}
		f := byPath[p]
		raw += f.Size
		transfer += f.Transfer()
	}
	return raw, transfer
}

// marker is written into every output directory so that a later build may
// empty it; Build refuses to delete a non-empty directory without it.
const marker = ".camlens-dist"

// Build writes the site into opt.Out, replacing what an earlier build left
// there.
func Build(ctx context.Context, opt Options) (*Report, error) {
	var err error
	if opt.Root == "" {
		if opt.Root, err = FindRoot(); err != nil {
			return nil, err
		}
	}
	if opt.Out == "" {
		opt.Out = filepath.Join(opt.Root, "dist")
	}
	if opt.Models == "" {
		opt.Models = filepath.Join(opt.Root, "models")
	}
	if opt.Samples == "" {
		opt.Samples = filepath.Join(opt.Root, "web", "samples")
	}
	logf := func(format string, args ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, format+"\n", args...)
		}
	}
	if err := prepareOut(opt.Out); err != nil {
		return nil, err
	}
	b := &builder{root: opt.Root, out: opt.Out}

	// 1. Go's loader for wasm binaries.
	goroot, err := goEnv(ctx, opt.Root, "GOROOT")
	if err != nil {
		return nil, err
	}
	if err := b.copyFile(filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"), "wasm_exec.js"); err != nil {
		return nil, err
	}
	// 2. Pages and scripts.
	if err := b.copyFile(filepath.Join(opt.Root, "index.html"), "index.html"); err != nil {
		return nil, err
	}
	web := filepath.Join(opt.Root, "web")
	entries, err := os.ReadDir(web)
	if err != nil {
		return nil, fmt.Errorf("build: read web/: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		switch ext := path.Ext(name); {
		case name == "sw.js" || name == "worker.js" || name == "view-boot.js":
			// written below, with what the build knows filled in
		case ext == ".html":
			if err := b.copyFile(filepath.Join(web, name), name); err != nil {
				return nil, err
			}
		case ext == ".js" || ext == ".css" || ext == ".svg" || ext == ".webmanifest":
			if err := b.copyFile(filepath.Join(web, name), "web/"+name); err != nil {
				return nil, err
			}
		}
	}
	// 3. Samples.
	if err := b.copyTree(opt.Samples, "web/samples", func(rel string) bool {
		return !strings.HasSuffix(rel, ".md") && rel != "samples.json" // written by writeThumbs
	}); err != nil {
		return nil, err
	}
	if err := b.writeThumbs(opt.Samples); err != nil {
		return nil, err
	}
	// 4. Models, before the slow wasm builds so that a bad catalog fails fast.
	cat, err := b.copyModels(opt.Models)
	if err != nil {
		return nil, err
	}
	// 5. Cloudflare-style headers file (the edge deploy serves dist/ as assets).
	if err := b.writeFile("_headers", []byte(site.HeadersFile())); err != nil {
		return nil, err
	}
	// 6. The page's one wasm binary (wasm/camlens: engine and view), with
	// Ebitengine's built-in shaders written without text/template
	// (wasm/view/builtinshader, see ebiten.go).
	modfile, err := patchedEbiten(ctx, opt.Root)
	if err != nil {
		return nil, err
	}
	logf("build: go build ./wasm/camlens (js/wasm)")
	dst := filepath.Join(opt.Out, "camlens.wasm")
	if err := goBuildWasm(ctx, opt.Root, "./wasm/camlens", dst, modfile, true); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(dst)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	// The binary imports its memory (see ImportMemory), so that the
	// engine's worker can fault it in while the binary downloads; the
	// scripts that start it are told the memory's minimum size.
	// web/worker.js and web/view-boot.js pass it as importObject.camlens.mem.
	data, memPages, err := ImportMemory(data, MemoryImport{Module: "camlens", Name: "mem"})
	if err != nil {
		return nil, fmt.Errorf("build: camlens.wasm: %w", err)
	}
	if err := b.writeFile("camlens.wasm", data); err != nil {
		return nil, err
	}
	// 7. The SIMD kernel module (wasm/kernels), when wabt is installed; the
	// engine falls back to pure Go without it.
	kernelsPath := ""
	switch mod, err := kernels.Assemble(ctx); {
	case errors.Is(err, kernels.ErrNoWat2Wasm):
		logf("build: %v; the engine will use its pure-Go kernels", err)
	case err != nil:
		return nil, fmt.Errorf("build: %w", err)
	default:
		if err := b.writeFile("kernels.wasm", mod); err != nil {
			return nil, err
		}
		kernelsPath = "../kernels.wasm"
	}
	pages := strconv.FormatUint(uint64(memPages), 10)
	if err := b.fill(filepath.Join(web, "worker.js"), "web/worker.js", map[string]string{
		`"__CAMLENS_KERNELS__"`:      strconv.Quote(kernelsPath),
		`"__CAMLENS_MEMORY_PAGES__"`: pages,
	}); err != nil {
		return nil, err
	}
	if err := b.fill(filepath.Join(web, "view-boot.js"), "web/view-boot.js", map[string]string{
		`"__CAMLENS_MEMORY_PAGES__"`: pages,
	}); err != nil {
		return nil, err
	}
	// 8. Service worker: the version is a hash of everything else.
	version := b.version()
	precache := b.precacheList(cat)
	sw, err := os.ReadFile(filepath.Join(web, "sw.js"))
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	list, _ := json.Marshal(precache)
	sw = bytes.Replace(sw, []byte(`"__CAMLENS_VERSION__"`), []byte(`"`+version+`"`), 1)
	sw = bytes.Replace(sw, []byte(`["__CAMLENS_PRECACHE__"]`), list, 1)
	if err := b.writeFile("sw.js", sw); err != nil {
		return nil, err
	}
	rep := &Report{Out: opt.Out, Version: version, Catalog: cat, Precache: precache, ColdLoad: coldLoad(precache), Kernels: kernelsPath != ""}
	buildJSON, _ := json.MarshalIndent(struct {
		Version string `json:"version"`
	}{version}, "", "  ")
	if err := b.writeFile("build.json", buildJSON); err != nil {
		return nil, err
	}
	// 9. Precompression.
	brotli := ""
	if opt.Compress == CompressBest {
		brotli, _ = exec.LookPath("brotli")
		if brotli == "" {
			logf("build: brotli command not found; writing gzip only")
		}
	}
	for _, p := range b.files {
		f := File{Path: p, Size: b.sizes[p]}
		if opt.Compress != CompressNone && compressible(p) && f.Size >= 1024 {
			src := filepath.Join(opt.Out, filepath.FromSlash(p))
			if brotli != "" {
				if f.Brotli, err = compressBrotli(ctx, brotli, src, f.Size); err != nil {
					return nil, err
				}
			}
			if f.Gzip, err = compressGzip(src, f.Size); err != nil {
				return nil, err
			}
		}
		rep.Files = append(rep.Files, f)
	}
	sort.Slice(rep.Files, func(i, j int) bool { return rep.Files[i].Path < rep.Files[j].Path })
	raw, tr := rep.ColdLoadBytes()
	logf("build: %d files in %s, version %s; cold load %d files, %d bytes raw, %d bytes transferred",
		len(rep.Files), opt.Out, version, len(rep.ColdLoad), raw, tr)
	return rep, nil
}

// FindRoot walks up from the working directory to the directory holding
// CamLens's go.mod.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/camlens/camlens\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("build: no CamLens go.mod above the working directory (pass the repository root)")
		}
		dir = parent
	}
}

func prepareOut(out string) error {
	entries, err := os.ReadDir(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("build: output %s: %w", out, err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(out, marker)); err != nil {
			return fmt.Errorf("build: output %s is not empty and was not written by a build (no %s); refusing to delete it", out, marker)
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(out, e.Name())); err != nil {
				return fmt.Errorf("build: clean %s: %w", out, err)
			}
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	return os.WriteFile(filepath.Join(out, marker), nil, 0o644)
}

// goBuildWasm builds pkg for js/wasm into out, stripped of its symbols
// (strip) or with them, with the go.mod file modfile instead of the
// repository's ("" for the repository's).
func goBuildWasm(ctx context.Context, root, pkg, out, modfile string, strip bool) error {
	args := []string{"build", "-trimpath"}
	if strip {
		args = append(args, "-ldflags=-s -w")
	}
	if modfile != "" {
		args = append(args, "-modfile", modfile)
	}
	cmd := exec.CommandContext(ctx, goCmd(), append(args, "-o", out, pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build: go build %s for js/wasm: %w\n%s", pkg, err, msg)
	}
	return nil
}

func goEnv(ctx context.Context, root, name string) (string, error) {
	cmd := exec.CommandContext(ctx, goCmd(), "env", name)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build: go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func goCmd() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// builder records the files it writes.
type builder struct {
	root, out string
	files     []string
	sizes     map[string]int64
	sums      map[string]string
}

func (b *builder) writeFile(rel string, data []byte) error {
	dst := filepath.Join(b.out, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	b.record(rel, data)
	return nil
}

func (b *builder) record(rel string, data []byte) {
	if b.sizes == nil {
		b.sizes, b.sums = map[string]int64{}, map[string]string{}
	}
	if _, ok := b.sizes[rel]; !ok {
		b.files = append(b.files, rel)
	}
	sum := sha256.Sum256(data)
	b.sizes[rel] = int64(len(data))
	b.sums[rel] = hex.EncodeToString(sum[:])
}

// fill copies the script src to rel with each placeholder (a quoted
// string in the source) replaced by its value; a placeholder missing from
// src is an error.
func (b *builder) fill(src, rel string, values map[string]string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !bytes.Contains(data, []byte(k)) {
			return fmt.Errorf("build: %s lacks the %s placeholder", filepath.Base(src), k)
		}
		data = bytes.ReplaceAll(data, []byte(k), []byte(values[k]))
	}
	return b.writeFile(rel, data)
}

func (b *builder) copyFile(src, rel string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	return b.writeFile(rel, data)
}

// copyTree copies the regular, non-hidden files under src whose relative
// path keep accepts; a missing src copies nothing.
func (b *builder) copyTree(src, rel string, keep func(string) bool) error {
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("build: %w", err)
		}
		name := d.Name()
		if p != src && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		r, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("build: %w", err)
		}
		r = filepath.ToSlash(r)
		if !keep(r) {
			return nil
		}
		return b.copyFile(p, rel+"/"+r)
	})
}

// copyModels copies the catalog's models, their cards and the directory's
// LICENSE* files, and writes the catalog with sizes and hashes filled in.
// A missing catalog gives an empty one.
func (b *builder) copyModels(dir string) ([]CatalogEntry, error) {
	cat := []CatalogEntry{}
	objs := []map[string]any{}
	data, err := os.ReadFile(filepath.Join(dir, "catalog.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("build: %w", err)
	default:
		if cat, objs, err = ParseCatalog(data); err != nil {
			return nil, fmt.Errorf("build: %s: %w", filepath.Join(dir, "catalog.json"), err)
		}
	}
	for i := range cat {
		e := &cat[i]
		rel := "models/" + e.File
		if err := b.copyFile(filepath.Join(dir, filepath.FromSlash(e.File)), rel); err != nil {
			return nil, fmt.Errorf("build: model %q: %w", e.ID, err)
		}
		if e.Size != 0 && e.Size != b.sizes[rel] {
			return nil, fmt.Errorf("build: model %q: catalog says %d bytes, %s has %d", e.ID, e.Size, e.File, b.sizes[rel])
		}
		if e.SHA256 != "" && !strings.EqualFold(e.SHA256, b.sums[rel]) {
			return nil, fmt.Errorf("build: model %q: sha256 of %s is %s, catalog says %s", e.ID, e.File, b.sums[rel], e.SHA256)
		}
		e.Size, e.SHA256 = b.sizes[rel], b.sums[rel]
		objs[i]["size"], objs[i]["sha256"] = e.Size, e.SHA256
		if e.Card != "" {
			if err := b.copyFile(filepath.Join(dir, filepath.FromSlash(e.Card)), "models/"+e.Card); err != nil {
				return nil, fmt.Errorf("build: model %q card: %w", e.ID, err)
			}
		}
	}
	// The models' licence texts travel with them.
	licences, _ := filepath.Glob(filepath.Join(dir, "LICENSE*"))
	for _, l := range licences {
		if err := b.copyFile(l, "models/"+filepath.Base(l)); err != nil {
			return nil, err
		}
	}
	out, err := json.MarshalIndent(objs, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("build: catalog: %w", err)
	}
	return cat, b.writeFile("models/catalog.json", out)
}

// version hashes every file written so far (paths and contents).
func (b *builder) version() string {
	paths := append([]string(nil), b.files...)
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s %s\n", p, b.sums[p])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// precacheList is what the service worker stores on install: every page,
// script, style, binary and sample, and the default model (other models are
// cached when first used).
func (b *builder) precacheList(cat []CatalogEntry) []string {
	skipModel := map[string]bool{}
	def := -1
	for i, e := range cat {
		if e.Default && def < 0 {
			def = i
		}
	}
	if def < 0 && len(cat) > 0 {
		def = 0
	}
	for i, e := range cat {
		if i != def {
			skipModel["models/"+e.File] = true
		}
	}
	list := []string{"./"}
	for _, p := range b.files {
		if p == "_headers" || skipModel[p] {
			continue
		}
		list = append(list, p)
	}
	sort.Strings(list[1:])
	return list
}

// coldLoad lists what a first visit of index.html downloads before the
// first explanation: the precache list without the embed's files and the
// duplicate "./" (index.html), plus sw.js. The service worker then stores
// the whole precache list (PrecacheBytes); its requests for files the page
// already fetched are answered from the HTTP cache or with 304s.
func coldLoad(precache []string) []string {
	var out []string
	for _, p := range precache {
		if p == "./" || p == "build.json" || strings.HasPrefix(path.Base(p), "embed") {
			continue
		}
		out = append(out, p)
	}
	return append(out, "sw.js")
}

func compressible(p string) bool {
	switch path.Ext(p) {
	case ".html", ".js", ".css", ".json", ".wasm", ".md", ".svg", ".safetensors", ".onnx", ".npy", ".txt", ".webmanifest":
		return true
	}
	return false
}

// compressBrotli writes src.br with the brotli command at the highest
// quality and keeps it only when it saves at least 5%.
func compressBrotli(ctx context.Context, brotli, src string, size int64) (int64, error) {
	dst := src + ".br"
	cmd := exec.CommandContext(ctx, brotli, "-q", "11", "-f", "-o", dst, src)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build: brotli %s: %w\n%s", src, err, msg)
	}
	return keepIfSmaller(dst, size)
}

// compressGzip writes src.gz at the best compression and keeps it only
// when it saves at least 5%.
func compressGzip(src string, size int64) (int64, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return 0, fmt.Errorf("build: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		return 0, fmt.Errorf("build: gzip %s: %w", src, err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("build: gzip %s: %w", src, err)
	}
	dst := src + ".gz"
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		return 0, fmt.Errorf("build: %w", err)
	}
	return keepIfSmaller(dst, size)
}

func keepIfSmaller(dst string, size int64) (int64, error) {
	st, err := os.Stat(dst)
	if err != nil {
		return 0, fmt.Errorf("build: %w", err)
	}
	if st.Size()*100 > size*95 {
		return 0, os.Remove(dst)
	}
	return st.Size(), nil
}
