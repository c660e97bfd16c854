//go:build js && wasm

// Command edge is CamLens's Cloudflare Worker: the explanation API of
// package api (POST /api/explain, GET /api/models, GET /healthz) served
// with github.com/syumai/workers, the shipped models embedded from package
// models. The static site (dist/) is served by Workers static assets
// (wrangler.toml's [assets]) without running Go.
//
// Build and run it locally with `go run ./scripts/edge-dev`; deploy with
// `wrangler deploy` from this directory (README.md).
//
// syumai/workers starts a new Go instance for every request, so all the
// work here is per request: NewHandler parses the small catalog, and a
// model is parsed only by the requests that need it.
package main

import (
	"fmt"
	"os"

	"github.com/syumai/workers"

	"github.com/camlens/camlens/core/api"
	"github.com/camlens/camlens/models"
)

func main() {
	h, err := api.NewHandler(api.Config{
		Models: models.FS,
		// One line per request on the Worker's log (console.log): route,
		// status, time and error message; never image data.
		Log: func(line string) { fmt.Fprintln(os.Stdout, "camlens:", line) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "camlens:", err)
		workers.Serve(api.Failed(err))
		return
	}
	workers.Serve(h)
}
