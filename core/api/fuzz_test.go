package api_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/camlens/camlens/core/api"
)

// fuzzStatus maps each error code to the HTTP status it must come with.
var fuzzStatus = map[string]int{
	api.CodeNotFound: 404, api.CodeMethodNotAllowed: 405, api.CodeUnknownParameter: 400,
	api.CodeBadParameter: 400, api.CodeUnknownMethod: 400, api.CodeMethodDisabled: 400,
	api.CodeUnknownClass: 400, api.CodeUnknownLayer: 400, api.CodeBadCrop: 400,
	api.CodeUnsupportedType: 415, api.CodeUnsupportedImage: 415, api.CodeBadImage: 400,
	api.CodeEmptyBody: 400, api.CodeMissingImage: 400, api.CodeBadMultipart: 400,
	api.CodeBodyTooLarge: 413, api.CodeImageTooLarge: 413, api.CodeExplainFailed: 400,
	api.CodeModelUnavailable: 500, api.CodeUnknownModel: 400, // ?model= (404 only on /api/models/{id})
}

// FuzzExplainRequest sends POST /api/explain with an arbitrary query,
// Content-Type and body. The handler must never panic (a recovered panic
// answers code "internal"); every error is JSON whose status and code
// agree with the HTTP status; every success is a PNG that decodes or a
// JSON answer whose map has W×H values in [0, 1].
func FuzzExplainRequest(f *testing.F) {
	img := pngBytes(f, testImage(40, 30))
	mct, mbody := multipartBody(f, "image", img)
	seeds := []struct {
		query, ctype string
		body         []byte
	}{
		{"", "image/png", img},
		{"format=json&method=gradcam%2B%2B&class=1&topk=3", "image/png", img},
		{"format=json&method=layercam&layer=3&layer=5&target=softmax&counterfactual=true", "application/octet-stream", img},
		{"crop=5,5,20,20&colormap=viridis&alpha=0.25", "", img},
		{"model=all-layers&format=json&method=eigencam", "image/png", img},
		{"method=guided-gradcam&format=json&crop=0,0,1,1", "image/png", img},
		{"format=json", mct, mbody},
		{"model=broken", "image/png", img},
		{"method=scorecam", "image/png", img},
		{"crop=1000,1000,5,5", "image/png", img},
		{"class=cat&layer=", "image/png", img},
		{"alpha=NaN&topk=0", "image/png", img},
		{"%zz", "image/png", img},
		{"", "image/png", hugePNGHeader(30000, 30000)},
		{"", "image/png", img[:len(img)/2]},
		{"", "text/html", []byte("<html></html>")},
		{"", "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n%PDF-1.7\r\n--x--\r\n")},
		{"", "multipart/form-data", []byte("--x--")},
		{"", "image/png; charset=\"", img},
		{"", "image/png", nil},
	}
	for _, s := range seeds {
		f.Add(s.query, s.ctype, s.body)
	}
	h := newHandler(f, api.Config{MaxBodyBytes: 1 << 20, MaxPixels: 1 << 20})
	f.Fuzz(func(t *testing.T, query, ctype string, body []byte) {
		// The query goes into the URL as is, whatever bytes it holds (a
		// raw request line could not carry some of them).
		req := httptest.NewRequest(http.MethodPost, "/api/explain", bytes.NewReader(body))
		req.URL.RawQuery = query
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		ct := w.Header().Get("Content-Type")
		if w.Code == http.StatusOK {
			switch {
			case ct == "image/png":
				if _, err := png.DecodeConfig(bytes.NewReader(w.Body.Bytes())); err != nil {
					t.Fatalf("200 with a PNG that does not decode: %v", err)
				}
			case strings.HasPrefix(ct, "application/json"):
				var a struct {
					Size [2]int    `json:"size"`
					Map  []float32 `json:"map"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
					t.Fatalf("200 with bad JSON: %v", err)
				}
				if len(a.Map) != a.Size[0]*a.Size[1] || len(a.Map) == 0 {
					t.Fatalf("map of %d values for size %v", len(a.Map), a.Size)
				}
				for i, v := range a.Map {
					if !(v >= 0 && v <= 1) {
						t.Fatalf("map[%d] = %v", i, v)
					}
				}
			default:
				t.Fatalf("200 with Content-Type %q", ct)
			}
			return
		}
		var e api.Error
		if !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("status %d with Content-Type %q", w.Code, ct)
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
			t.Fatalf("status %d with a body that is not an error: %v", w.Code, err)
		}
		if e.Code == api.CodeInternal {
			t.Fatalf("query %q, type %q: the handler panicked: %s", query, ctype, e.Message)
		}
		want, ok := fuzzStatus[e.Code]
		if !ok || want != w.Code || e.Status != w.Code || e.Message == "" {
			t.Fatalf("status %d with error %+v", w.Code, e)
		}
	})
}
