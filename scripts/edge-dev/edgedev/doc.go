// Package edgedev builds CamLens's Cloudflare Worker (wasm/edge) and runs it
// locally with wrangler: the steps behind `go run ./scripts/edge-dev`,
// shared with the edge test in scripts/edgetest.
//
//   - BuildSite writes the static site into dist/ (`go run ./scripts/serve
//     -build-only`) and a dist/.assetsignore that keeps the precompressed
//     .br/.gz siblings out of the upload (Cloudflare compresses by itself).
//   - BuildWorker writes the Worker into a directory: worker.mjs,
//     runtime.mjs and wasm_exec.js from syumai/workers' workers-assets-gen
//     (-mode=go) and app.wasm built from wasm/edge for js/wasm.
//   - EnsureWrangler checks that wrangler and the workerd and esbuild
//     binaries it runs are installed in scripts/node, installing them when
//     they are not (npm 11 can leave the binaries of workerd and esbuild
//     missing when it skips install scripts; their install.js is then run
//     explicitly).
//   - StartDev starts `wrangler dev --local` on 127.0.0.1 and waits until
//     /healthz answers.
package edgedev
