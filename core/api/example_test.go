package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"testing/fstest"

	"github.com/camlens/camlens/core/api"
	"github.com/camlens/camlens/core/internal/gradcamref"
	"github.com/camlens/camlens/core/modelfile"
)

// Serve a models directory with one model and ask for a JSON explanation
// of an image. A host mounts the same handler: mux.Handle("/api/", h).
func ExampleNewHandler() {
	// A models directory: catalog.json and the model file it names.
	net, err := gradcamref.LoadNetwork("basic")
	if err != nil {
		panic(err)
	}
	var model bytes.Buffer
	if err := modelfile.Write(&model, net.Model(), modelfile.WriteOptions{Quantize: true}); err != nil {
		panic(err)
	}
	models := fstest.MapFS{
		"catalog.json":      {Data: []byte(`[{"id": "basic", "file": "basic.safetensors", "title": "Basic", "default": true}]`)},
		"basic.safetensors": {Data: model.Bytes()},
	}
	h, err := api.NewHandler(api.Config{Models: models})
	if err != nil {
		panic(err)
	}

	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = uint8(i % 251)
	}
	img.SetGray(40, 20, color.Gray{255})
	var body bytes.Buffer
	png.Encode(&body, img)

	req := httptest.NewRequest("POST", "/api/explain?format=json&method=gradcam&crop=0,0,48,48", &body)
	req.Header.Set("Content-Type", "image/png")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)

	var answer struct {
		Method string    `json:"method"`
		Label  string    `json:"label"`
		Size   [2]int    `json:"size"`
		Map    []float32 `json:"map"`
	}
	if err := json.NewDecoder(w.Body).Decode(&answer); err != nil {
		panic(err)
	}
	fmt.Println(w.Code, answer.Method, answer.Label, answer.Size, len(answer.Map))

	// Errors are JSON too.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/explain", nil))
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 200 gradcam class 5 [32 32] 1024
	// 405 {"status":405,"code":"method_not_allowed","error":"/api/explain does not take GET (allowed: POST)"}
}
