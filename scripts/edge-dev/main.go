// Command edge-dev builds CamLens's Cloudflare Worker and runs it locally:
//
//	go run ./scripts/edge-dev [-build-only] [-no-site] [-setup]
//
// It builds the static site into dist/ (`go run ./scripts/serve
// -build-only -fast`, plus dist/.assetsignore), the Worker into
// wasm/edge/build/ (syumai/workers' workers-assets-gen -mode=go and
// app.wasm from wasm/edge), prints the bundle size, and starts `wrangler
// dev --local` on 127.0.0.1:$PORT (default 8787) with wasm/edge/wrangler.toml:
// the site at /, the API at /api/ and /healthz. Ctrl-C stops it.
//
// wrangler comes from scripts/node (pinned there); when it is missing,
// edge-dev installs it, and when npm left the workerd or esbuild binary
// out, it runs their install scripts (-setup does only that).
//
// -build-only builds and exits (then `cd wasm/edge && npx wrangler deploy`
// deploys); -no-site reuses the existing dist/.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/camlens/camlens/scripts/edge-dev/edgedev"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("edge-dev: ")
	buildOnly := flag.Bool("build-only", false, "build the site and the worker, then exit")
	noSite := flag.Bool("no-site", false, "do not rebuild dist/ (use the existing one)")
	setup := flag.Bool("setup", false, "only make sure wrangler, workerd and esbuild are installed and run")
	flag.Parse()
	if flag.NArg() > 0 {
		log.Fatalf("unexpected arguments %q", flag.Args())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *buildOnly, *noSite, *setup); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, buildOnly, noSite, setup bool) error {
	root, err := edgedev.FindRoot()
	if err != nil {
		return err
	}
	port, err := edgedev.Port()
	if err != nil {
		return err
	}
	var wrangler string
	if !buildOnly {
		if wrangler, err = edgedev.EnsureWrangler(ctx, root, os.Stderr); err != nil {
			return err
		}
		if setup {
			fmt.Println("edge-dev: wrangler", edgedev.WranglerVersion, "with workerd and esbuild is ready:", wrangler)
			return nil
		}
	}
	if !noSite {
		log.Println("building the site into dist/")
		if err := edgedev.BuildSite(ctx, root, os.Stderr); err != nil {
			return err
		}
	} else if _, err := os.Stat(filepath.Join(root, "dist", "index.html")); err != nil {
		return fmt.Errorf("-no-site: there is no dist/index.html; run without -no-site first")
	} else if err := edgedev.WriteAssetsIgnore(filepath.Join(root, "dist")); err != nil {
		return err
	}
	log.Println("building the worker into wasm/edge/build/")
	b, err := edgedev.BuildWorker(ctx, root, filepath.Join(root, "wasm", "edge", "build"), os.Stderr)
	if err != nil {
		return err
	}
	for _, f := range b.Files {
		fmt.Printf("  %-16s %10d bytes %10d gzip\n", f.Name, f.Raw, f.Gzip)
	}
	raw, gz := b.Size()
	fmt.Printf("  %-16s %10d bytes %10d gzip (Worker size limit: 3 MiB gzip on Free, 10 MiB on Paid)\n", "worker", raw, gz)
	if buildOnly {
		return nil
	}
	d, err := edgedev.StartDev(ctx, edgedev.DevOptions{
		Wrangler: wrangler,
		Config:   filepath.Join(root, "wasm", "edge", "wrangler.toml"),
		Port:     port,
		Output:   os.Stderr,
	})
	if err != nil {
		return err
	}
	fmt.Printf("CamLens at the edge (local): %s/  API: %s/api/models  %s/healthz\n", d.URL, d.URL, d.URL)
	select {
	case <-ctx.Done():
		d.Stop()
		return nil
	case <-d.Done():
		return fmt.Errorf("wrangler dev exited:\n%s", d.Output())
	}
}
