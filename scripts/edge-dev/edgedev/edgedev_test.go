package edgedev

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeNode lays out scripts/node/node_modules with a stand-in wrangler
// printing version, a workerd package whose binary is missing and an
// esbuild package whose binary fails, each with an install.js that puts a
// working binary in place (what npm's skipped postinstall would have done).
func fakeNode(t *testing.T, version string) string {
	t.Helper()
	root := t.TempDir()
	nm := filepath.Join(root, NodeDir, "node_modules")
	files := map[string]string{
		".bin/wrangler":        "#!/bin/sh\necho " + version + "\n",
		"workerd/package.json": `{"name": "workerd", "main": "lib/main.js"}`,
		"workerd/lib/main.js":  `module.exports = {default: require("path").join(__dirname, "..", "bin", "workerd-real")};`,
		"workerd/install.js": `const fs = require("fs");
fs.mkdirSync("bin", {recursive: true});
fs.writeFileSync("bin/workerd-real", "#!/bin/sh\necho workerd\n", {mode: 0o755});`,
		"esbuild/package.json": `{"name": "esbuild"}`,
		"esbuild/bin/esbuild":  "#!/bin/sh\nexit 1\n",
		"esbuild/install.js":   `require("fs").writeFileSync("bin/esbuild", "#!/bin/sh\necho 0.27.3\n", {mode: 0o755});`,
	}
	for name, data := range files {
		p := filepath.Join(nm, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestEnsureWranglerInstallsBinaries(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CAMLENS_REQUIRE_DEPS") == "1" {
			t.Fatal("CAMLENS_REQUIRE_DEPS=1 and node is not installed")
		}
		t.Skip("node is not installed")
	}
	ctx := context.Background()
	root := fakeNode(t, WranglerVersion)
	var log strings.Builder
	w, err := EnsureWrangler(ctx, root, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if w != Wrangler(root) {
		t.Errorf("wrangler path %q", w)
	}
	for _, want := range []string{"the workerd binary is missing", "the esbuild binary is missing"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log %q lacks %q", log.String(), want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, NodeDir, "node_modules", "workerd", "bin", "workerd-real")); err != nil {
		t.Errorf("workerd's install.js did not run: %v", err)
	}
	// Second run: nothing to do.
	log.Reset()
	if _, err := EnsureWrangler(ctx, root, &log); err != nil || log.Len() != 0 {
		t.Errorf("second run: %v, log %q", err, log.String())
	}
	// A wrangler of another version is refused.
	if _, err := EnsureWrangler(ctx, fakeNode(t, "3.99.0"), nil); err == nil || !strings.Contains(err.Error(), "want "+WranglerVersion) {
		t.Errorf("wrong version: %v", err)
	}
}

func TestPort(t *testing.T) {
	for _, c := range []struct {
		env  string
		want int
		ok   bool
	}{{"", DefaultPort, true}, {"9000", 9000, true}, {"0", 0, false}, {"70000", 0, false}, {"http", 0, false}} {
		t.Setenv("PORT", c.env)
		p, err := Port()
		if (err == nil) != c.ok || p != c.want {
			t.Errorf("PORT=%q: %d, %v", c.env, p, err)
		}
	}
}

func TestFindRoot(t *testing.T) {
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "wasm", "edge", "wrangler.toml")); err != nil {
		t.Errorf("root %s: %v", root, err)
	}
}

func TestWriteAssetsIgnore(t *testing.T) {
	dir := t.TempDir()
	if err := WriteAssetsIgnore(dir); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ".assetsignore"))
	for _, l := range []string{"*.br", "*.gz"} {
		if !strings.Contains(string(data), "\n"+l+"\n") {
			t.Errorf(".assetsignore lacks %s: %q", l, data)
		}
	}
}

func TestParseUploadSize(t *testing.T) {
	for _, c := range []struct {
		name      string
		out       string
		raw, gzip float64
		err       bool
	}{
		{"wrangler 4", " ⛅️ wrangler 4.86.0\n✨ Read 91 files from the assets directory /x/dist\nTotal Upload: 9548.68 KiB / gzip: 2930.21 KiB\nNo bindings found.\n--dry-run: exiting now.\n", 9548.68, 2930.21, false},
		{"whole numbers", "Total Upload: 12 KiB / gzip: 3 KiB", 12, 3, false},
		{"no size line", "✘ [ERROR] Could not resolve \"./build/worker.mjs\"\n", 0, 0, true},
		{"in MiB", "Total Upload: 9.3 MiB / gzip: 2.9 MiB", 0, 0, true},
		{"not a number", "Total Upload: 1.2.3 KiB / gzip: 2 KiB", 0, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw, gz, err := ParseUploadSize(c.out)
			if (err != nil) != c.err || raw != c.raw || gz != c.gzip {
				t.Errorf("ParseUploadSize = %v, %v, %v; want %v, %v, error %v", raw, gz, err, c.raw, c.gzip, c.err)
			}
		})
	}
}
