package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/camlens/camlens/scripts/build"
	"github.com/camlens/camlens/scripts/internal/paths"
	"github.com/camlens/camlens/scripts/serve/site"
	"github.com/camlens/camlens/wasm/kernels"
)

// benchEnv is what the measurements need: the bench server (pages, the
// CamLens runner, TF.js), the app's site server, their byte meters.
type benchEnv struct {
	root        string
	tmp         string
	compression string

	bench      *server
	benchMeter *meter

	site         *server
	siteMeter    *meter
	siteErr      string
	siteColdLoad *coldLoadReport
}

func (b *benchEnv) close() {
	if b.bench != nil {
		b.bench.close()
	}
	if b.site != nil {
		b.site.close()
	}
	os.RemoveAll(b.tmp)
}

// coldLoadReport is scripts/build's own account of a first visit.
type coldLoadReport struct {
	Files    int   `json:"files"`
	Raw      int64 `json:"raw_bytes"`
	Transfer int64 `json:"transfer_bytes"`
}

func goBuildWasm(ctx context.Context, root, pkg, out string, names bool) error {
	ldflags := "-ldflags=-s -w"
	if names {
		ldflags = "-ldflags=-w" // keep the name section for the profiler
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", ldflags, "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("bench: go build %s (js/wasm): %w\n%s", pkg, err, msg)
	}
	return nil
}

func goEnv(ctx context.Context, name string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("bench: go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// prepare builds the CamLens runner and the kernel module, collects the
// TF.js files, starts the bench server and (unless -no-app) builds and
// serves the app.
func prepare(ctx context.Context, o options) (*benchEnv, error) {
	root, err := paths.Root()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	tmp, err := os.MkdirTemp("", "camlens-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	b := &benchEnv{root: root, tmp: tmp}
	ok := false
	defer func() {
		if !ok {
			b.close()
		}
	}()
	comp := compressor{}
	b.compression = "gzip"
	if !o.quick {
		if comp.brotli, _ = exec.LookPath("brotli"); comp.brotli != "" {
			b.compression = "brotli (q11) and gzip"
			if dir, err := os.UserCacheDir(); err == nil {
				comp.dir = filepath.Join(dir, "camlens-bench")
			}
		}
	}

	logf("building the CamLens runner (js/wasm) and the SIMD kernel module")
	runner := filepath.Join(tmp, "runner.wasm")
	if err := goBuildWasm(ctx, root, "./scripts/bench/runner", runner, o.profile != ""); err != nil {
		return nil, err
	}
	kw, err := kernels.Assemble(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	goroot, err := goEnv(ctx, "GOROOT")
	if err != nil {
		return nil, err
	}
	nm := filepath.Join(root, "scripts", "node", "node_modules")
	if _, err := os.Stat(filepath.Join(nm, "@tensorflow", "tfjs", "dist", "tf.min.js")); err != nil {
		return nil, fmt.Errorf("bench: TF.js is not installed in scripts/node/node_modules (scripts/setup.d/20-npm.sh installs it): %w", err)
	}
	logf("compressing the served files (%s)", b.compression)
	a := assets{}
	wasmDist := filepath.Join(nm, "@tensorflow", "tfjs-backend-wasm", "dist")
	faceModel := filepath.Join(nm, "@vladmandic", "face-api", "model")
	files := []struct{ url, file string }{
		{"/bench/runner.wasm", runner},
		{"/bench/wasm_exec.js", filepath.Join(goroot, "lib", "wasm", "wasm_exec.js")},
		{"/tfjs/tf.min.js", filepath.Join(nm, "@tensorflow", "tfjs", "dist", "tf.min.js")},
		{"/tfjs/tf-backend-wasm.min.js", filepath.Join(wasmDist, "tf-backend-wasm.min.js")},
		{"/tfjs/tfjs-backend-wasm.wasm", filepath.Join(wasmDist, "tfjs-backend-wasm.wasm")},
		{"/tfjs/tfjs-backend-wasm-simd.wasm", filepath.Join(wasmDist, "tfjs-backend-wasm-simd.wasm")},
		{"/tfjs/tfjs-backend-wasm-threaded-simd.wasm", filepath.Join(wasmDist, "tfjs-backend-wasm-threaded-simd.wasm")},
		{"/tfjs/model/face_expression_model-weights_manifest.json", filepath.Join(faceModel, "face_expression_model-weights_manifest.json")},
		{"/tfjs/model/face_expression_model.bin", filepath.Join(faceModel, "face_expression_model.bin")},
		{"/models/face-expression.safetensors", filepath.Join(root, "models", "face-expression.safetensors")},
		{"/samples/astronaut.png", filepath.Join(root, "web", "samples", "astronaut.png")},
		{"/samples/samples.json", filepath.Join(root, "web", "samples", "samples.json")},
	}
	for _, f := range files {
		if err := a.addFile(ctx, comp, f.url, f.file); err != nil {
			return nil, err
		}
	}
	if err := a.add(ctx, comp, "/bench/kernels.wasm", kw); err != nil {
		return nil, err
	}
	err = fs.WalkDir(pageFS, "page", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := pageFS.ReadFile(p)
		if err != nil {
			return err
		}
		return a.add(ctx, comp, "/bench/"+strings.TrimPrefix(p, "page/"), data)
	})
	if err != nil {
		return nil, fmt.Errorf("bench: pages: %w", err)
	}
	b.benchMeter = newMeter(a)
	if b.bench, err = serve(b.benchMeter); err != nil {
		return nil, err
	}

	if o.app {
		logf("building the app (scripts/build)")
		opt := build.Options{Root: root, Out: filepath.Join(tmp, "dist")}
		if o.quick {
			opt.Compress = build.CompressGzip
		}
		rep, err := build.Build(ctx, opt)
		if err != nil {
			b.siteErr = "the app did not build: " + err.Error()
			logf("%s", b.siteErr)
		} else {
			raw, tr := rep.ColdLoadBytes()
			b.siteColdLoad = &coldLoadReport{Files: len(rep.ColdLoad), Raw: raw, Transfer: tr}
			b.siteMeter = newMeter(site.Handler(os.DirFS(opt.Out), nil))
			if b.site, err = serve(b.siteMeter); err != nil {
				return nil, err
			}
		}
	}
	ok = true
	return b, nil
}
