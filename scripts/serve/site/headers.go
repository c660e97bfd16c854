package site

import (
	"net/http"
	"path"
	"strings"
)

// CSP is the Content-Security-Policy of every CamLens page: nothing may be
// loaded from or sent to another origin. 'wasm-unsafe-eval' lets the pages
// compile WebAssembly (and nothing else: no eval). blob: images are the
// user's own files shown in the crop editor.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
	"img-src 'self' blob:; media-src 'self' blob:; connect-src 'self'; worker-src 'self'; " +
	"frame-src 'self'; font-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'self'"

// EmbedCSP is CSP for embed.html, which other pages may frame.
var EmbedCSP = strings.Replace(CSP, "frame-ancestors 'self'", "frame-ancestors *", 1)

// Headers returns the security headers for the file at urlPath (a path
// under the site root, e.g. "/embed.html").
func Headers(urlPath string) http.Header {
	h := http.Header{}
	csp := CSP
	if path.Base(urlPath) == "embed.html" {
		csp = EmbedCSP
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if path.Ext(urlPath) != ".html" && urlPath != "/" {
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
	}
	return h
}

// HeadersFile renders the headers in the _headers format that static asset
// hosts such as Cloudflare's read: one block per URL pattern.
func HeadersFile() string {
	var b strings.Builder
	block := func(pattern string, h http.Header) {
		b.WriteString(pattern + "\n")
		for _, k := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy",
			"Permissions-Policy", "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy"} {
			if v := h.Get(k); v != "" {
				b.WriteString("  " + k + ": " + v + "\n")
			}
		}
	}
	block("/*", Headers("/index.html"))
	// Later blocks add to earlier ones on those hosts; "! Header" detaches.
	b.WriteString("/embed.html\n  ! Content-Security-Policy\n  Content-Security-Policy: " + EmbedCSP + "\n")
	return b.String()
}

// contentTypes maps file extensions to MIME types, so that serving does not
// depend on the machine's mime.types.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".wasm":        "application/wasm",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".bmp":         "image/bmp",
	".md":          "text/markdown; charset=utf-8",
	".txt":         "text/plain; charset=utf-8",
	".webmanifest": "application/manifest+json",
	".safetensors": "application/octet-stream",
	".onnx":        "application/octet-stream",
	".npy":         "application/octet-stream",
}

// ContentType returns the MIME type for a file name, or
// application/octet-stream.
func ContentType(name string) string {
	if t, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}
