// Package build assembles the CamLens web app into a directory (dist/) that
// any static file server can serve: the js/wasm binary camlens.wasm (one
// program, wasm/camlens, started twice: as the engine in a Web Worker and
// as the ebiten view in an iframe; rewritten by ImportMemory to import its
// memory as camlens.mem), the SIMD kernel module, Go's
// wasm_exec.js, the pages and scripts from web/ and index.html, the shipped
// models listed in models/catalog.json, the sample gallery, a service worker
// with a precache list, a Cloudflare-style _headers file carrying the
// Content-Security-Policy, and precompressed .br/.gz siblings of every
// compressible file.
//
// Layout of the output (URLs are relative to the site root):
//
//	index.html  embed.html  view.html  embed-demo.html  sw.js  _headers
//	wasm_exec.js  camlens.wasm  kernels.wasm  build.json
//	web/*.js web/*.css web/icon.svg     the page scripts and styles
//	web/samples/...                     the sample gallery (samples.json + images;
//	                                    thumbs/: the gallery's small JPEGs, named
//	                                    in samples.json's "thumb")
//	models/catalog.json, models/<file>, models/cards/<card>, models/LICENSE*
//
// embed.html, view.html and embed-demo.html live in web/ in the source tree
// (the repository's top level is fixed) and are copied to the site root so
// that every page shares one base URL.
//
// Build is used by `go run ./scripts/serve` and by the browser tests in
// scripts/e2e.
package build
