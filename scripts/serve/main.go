// Command serve builds the CamLens web app into dist/ and serves it on
// 127.0.0.1 with the right MIME types, precompressed files and a strict
// Content-Security-Policy.
//
//	go run ./scripts/serve [-addr 127.0.0.1:8080] [-out dist] [-build-only] [-no-build] [-fast] [-api]
//
// -build-only writes dist/ and exits (for the edge deploy and tests);
// -no-build serves an existing dist/; -fast writes gzip siblings only
// (brotli at quality 11 takes a while on the wasm binaries); -api also
// serves the explanation HTTP API of package core/api under /api/ (the
// edge's API, here natively, on the site's models). It prints the
// transfer size of a first visit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/camlens/camlens/core/api"
	"github.com/camlens/camlens/scripts/build"
	"github.com/camlens/camlens/scripts/serve/site"
)

func main() {
	log.SetFlags(0)
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (loopback by default)")
	out := flag.String("out", "", "site directory (default: <repo>/dist)")
	buildOnly := flag.Bool("build-only", false, "write the site and exit")
	noBuild := flag.Bool("no-build", false, "serve the existing site without building")
	fast := flag.Bool("fast", false, "gzip only (skip brotli)")
	withAPI := flag.Bool("api", false, "serve the explanation API (core/api) under /api/")
	flag.Parse()
	if flag.NArg() > 0 {
		log.Fatalf("serve: unexpected arguments %q", flag.Args())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *out, *buildOnly, *noBuild, *fast, *withAPI); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, addr, out string, buildOnly, noBuild, fast, withAPI bool) error {
	root, err := build.FindRoot()
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(root, "dist")
	}
	if !noBuild {
		opt := build.Options{Root: root, Out: out, Log: os.Stderr}
		if fast {
			opt.Compress = build.CompressGzip
		}
		rep, err := build.Build(ctx, opt)
		if err != nil {
			return err
		}
		printSizes(rep)
		if buildOnly {
			return nil
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		log.Printf("serve: warning: listening on %s, which is not a loopback address", tcp)
	}
	var apiHandler http.Handler
	if withAPI {
		h, err := api.NewHandler(api.Config{
			Models: os.DirFS(filepath.Join(out, "models")),
			Log:    func(line string) { log.Print("api: ", line) },
		})
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		apiHandler = h
	}
	srv := &http.Server{
		Handler:           site.Handler(os.DirFS(out), apiHandler),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Printf("CamLens at http://%s/\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: shutdown: %w", err)
		}
		return nil
	}
}

func printSizes(rep *build.Report) {
	byPath := map[string]build.File{}
	for _, f := range rep.Files {
		byPath[f.Path] = f
	}
	fmt.Fprintf(os.Stderr, "cold load (first visit of index.html):\n")
	for _, p := range rep.ColdLoad {
		f := byPath[p]
		fmt.Fprintf(os.Stderr, "  %-40s %10d raw %10d transferred\n", p, f.Size, f.Transfer())
	}
	raw, tr := rep.ColdLoadBytes()
	fmt.Fprintf(os.Stderr, "  %-40s %10d raw %10d transferred\n", "total", raw, tr)
	raw, tr = rep.PrecacheBytes()
	fmt.Fprintf(os.Stderr, "offline cache (the service worker's precache list): %d raw, %d transferred\n", raw, tr)
}
