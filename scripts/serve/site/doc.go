// Package site serves a built CamLens site (see scripts/build) over HTTP:
// only GET and HEAD of regular, non-hidden files; explicit MIME types
// (application/wasm for .wasm); precompressed .br/.gz siblings chosen by the
// request's Accept-Encoding; a strict Content-Security-Policy and related
// security headers on every response; revalidation through ETags.
//
// An optional http.Handler is mounted under /api/ (for the edge's explain
// endpoint); everything else is static.
package site
