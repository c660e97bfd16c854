package site_test

import (
	"fmt"
	"net/http/httptest"
	"testing/fstest"

	"github.com/camlens/camlens/scripts/serve/site"
)

func ExampleHandler() {
	dist := fstest.MapFS{
		"camlens.wasm":    {Data: []byte("\x00asm…")},
		"camlens.wasm.br": {Data: []byte("brotli bytes")},
	}
	h := site.Handler(dist, nil)
	req := httptest.NewRequest("GET", "/camlens.wasm", nil)
	req.Header.Set("Accept-Encoding", "gzip, br")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Content-Encoding"))
	// Output: 200 application/wasm br
}
