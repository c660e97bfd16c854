// Package edgetest checks CamLens's Cloudflare Worker (wasm/edge) end to
// end. Its tests (go test ./scripts/edgetest -v) build the Worker with
// scripts/edge-dev's steps, start it with `wrangler dev --local` on
// 127.0.0.1 in a temporary tree (the repository's wasm/edge/wrangler.toml
// and a stand-in dist/), and:
//
//   - call every route: /healthz, /api/models, /api/models/{id},
//     /api/explain (raw JPEG and PNG bodies, multipart, format=json and
//     png) and a static asset, which Workers static assets serve without Go;
//   - send bad requests (wrong method, huge body, huge image header, not an
//     image, wrong content type, unknown model, method, layer and class,
//     bad crop, unknown route) and check that the Worker's JSON errors are
//     the native handler's, byte for byte;
//   - compare the Worker's JSON map with the native CLI's (scripts/explain)
//     .npy for the same image, crop and method to 1e-5, and its whole JSON
//     answer with the native handler's;
//   - log the bundle size (raw and gzip), the cold and warm latency of
//     /api/explain and the CPU time per request (workerd's user+system
//     time over a series of requests; no assertion on time).
//
// TestWorker takes minutes (it compiles the Worker for js/wasm and starts
// workerd), so it runs only with CAMLENS_EDGE=1, as scripts/test.d/70-edge.sh
// sets, and never in -short mode. It needs node and wrangler in
// scripts/node (scripts/setup.d, or `go run ./scripts/edge-dev -setup`)
// and skips without them unless CAMLENS_REQUIRE_DEPS=1.
// TestEmbeddedModels runs the handler natively on the embedded models, and
// TestServeMount through the dev server's site handler (scripts/serve/site)
// as `go run ./scripts/serve` mounts it; they need nothing.
package edgetest
