package site

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func testFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":        {Data: []byte("<!doctype html>index")},
		"embed.html":        {Data: []byte("<!doctype html>embed")},
		"camlens.wasm":      {Data: []byte("\x00asm raw")},
		"camlens.wasm.br":   {Data: []byte("BR")},
		"camlens.wasm.gz":   {Data: []byte("GZ")},
		"web/app.js":        {Data: []byte("console.log(1)")},
		"web/app.js.gz":     {Data: []byte("GZJS")},
		"models/m.onnx":     {Data: []byte("onnx")},
		".camlens-dist":     {Data: nil},
		"web/.hidden":       {Data: []byte("secret")},
		"_headers":          {Data: []byte("/*\n")},
		"web/samples/a.png": {Data: []byte("\x89PNG")},
	}
}

func get(t *testing.T, h http.Handler, method, path, accept string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServe(t *testing.T) {
	h := Handler(testFS(), nil)
	tests := []struct {
		name, method, path, accept string
		status                     int
		body, ctype, encoding      string
	}{
		{"root is index", "GET", "/", "", 200, "<!doctype html>index", "text/html; charset=utf-8", ""},
		{"wasm brotli", "GET", "/camlens.wasm", "gzip, deflate, br", 200, "BR", "application/wasm", "br"},
		{"wasm gzip only", "GET", "/camlens.wasm", "gzip", 200, "GZ", "application/wasm", "gzip"},
		{"wasm gzip preferred by q", "GET", "/camlens.wasm", "br;q=0.5, gzip", 200, "GZ", "application/wasm", "gzip"},
		{"wasm br refused", "GET", "/camlens.wasm", "br;q=0, gzip", 200, "GZ", "application/wasm", "gzip"},
		{"wasm star", "GET", "/camlens.wasm", "*", 200, "BR", "application/wasm", "br"},
		{"wasm identity", "GET", "/camlens.wasm", "", 200, "\x00asm raw", "application/wasm", ""},
		{"js without br sibling", "GET", "/web/app.js", "br, gzip", 200, "GZJS", "text/javascript; charset=utf-8", "gzip"},
		{"onnx octet-stream", "GET", "/models/m.onnx", "", 200, "onnx", "application/octet-stream", ""},
		{"png", "GET", "/web/samples/a.png", "br", 200, "\x89PNG", "image/png", ""},
		{"head", "HEAD", "/index.html", "", 200, "", "text/html; charset=utf-8", ""},
		{"missing", "GET", "/nope.js", "", 404, "", "", ""},
		{"hidden file", "GET", "/web/.hidden", "", 404, "", "", ""},
		{"marker", "GET", "/.camlens-dist", "", 404, "", "", ""},
		{"headers file", "GET", "/_headers", "", 404, "", "", ""},
		{"sibling directly", "GET", "/camlens.wasm.br", "", 404, "", "", ""},
		{"directory", "GET", "/web/", "", 404, "", "", ""},
		{"directory no slash", "GET", "/web", "", 404, "", "", ""},
		{"unclean path", "GET", "/web/../index.html", "", 404, "", "", ""},
		{"double slash", "GET", "//index.html", "", 404, "", "", ""},
		{"post", "POST", "/index.html", "", 405, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, h, tc.method, tc.path, tc.accept)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", r.StatusCode, tc.status)
			}
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("CSP %q", csp)
			}
			if r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff header")
			}
			if tc.status != 200 {
				return
			}
			if got := body(t, r); got != tc.body {
				t.Errorf("body %q, want %q", got, tc.body)
			}
			if got := r.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := r.Header.Get("Content-Encoding"); got != tc.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.encoding)
			}
			if !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
				t.Error("no Vary: Accept-Encoding")
			}
		})
	}
}

func TestETagRevalidation(t *testing.T) {
	h := Handler(testFS(), nil)
	r := get(t, h, "GET", "/camlens.wasm", "br")
	tag := r.Header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	if g := get(t, h, "GET", "/camlens.wasm", "gzip").Header.Get("ETag"); g == tag {
		t.Error("the gzip and brotli encodings share an ETag")
	}
	req := httptest.NewRequest("GET", "/camlens.wasm", nil)
	req.Header.Set("Accept-Encoding", "br")
	req.Header.Set("If-None-Match", tag)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET: status %d, want 304", rec.Code)
	}
}

func TestCSP(t *testing.T) {
	for _, s := range []string{"default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self'", "frame-ancestors 'self'", "object-src 'none'"} {
		if !strings.Contains(CSP, s) {
			t.Errorf("CSP lacks %q", s)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval'", "http:", "https:", "*"} {
		if strings.Contains(strings.ReplaceAll(CSP, "'wasm-unsafe-eval'", ""), bad) {
			t.Errorf("CSP allows %q", bad)
		}
	}
	h := Handler(testFS(), nil)
	if got := get(t, h, "GET", "/embed.html", "").Header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors *") {
		t.Errorf("embed.html CSP %q: other pages must be able to frame it", got)
	}
	if got := get(t, h, "GET", "/index.html", "").Header.Get("Content-Security-Policy"); got != CSP {
		t.Errorf("index.html CSP %q", got)
	}
	hf := HeadersFile()
	if !strings.Contains(hf, "/*\n  Content-Security-Policy: "+CSP) || !strings.Contains(hf, "/embed.html\n  ! Content-Security-Policy") {
		t.Errorf("_headers:\n%s", hf)
	}
}

func TestAPIMount(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api "+r.Method+" "+r.URL.Path) })
	h := Handler(testFS(), api)
	for _, path := range []string{"/api", "/api/explain"} {
		r := get(t, h, "POST", path, "")
		if got := body(t, r); got != "api POST "+path {
			t.Errorf("%s: %q", path, got)
		}
	}
	if got := body(t, get(t, h, "GET", "/apiary.html", "")); strings.HasPrefix(got, "api") {
		t.Error("/apiary.html went to the API")
	}
	if r := get(t, Handler(testFS(), nil), "GET", "/api/explain", ""); r.StatusCode != 404 {
		t.Errorf("no API: status %d", r.StatusCode)
	}
}

func TestAcceptedEncodings(t *testing.T) {
	tests := map[string]string{
		"":                     "",
		"gzip, deflate, br":    "br,gzip",
		"gzip":                 "gzip",
		"br;q=0.2, gzip;q=0.8": "gzip,br",
		"identity":             "",
		"*;q=0":                "",
		"*, gzip;q=0":          "br",
		"BR":                   "br",
		"gzip;q=abc":           "gzip",
	}
	for in, want := range tests {
		if got := strings.Join(acceptedEncodings(in), ","); got != want {
			t.Errorf("acceptedEncodings(%q) = %q, want %q", in, got, want)
		}
	}
}
