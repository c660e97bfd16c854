// Package api is CamLens's explanation HTTP API: one http.Handler used by
// the Cloudflare Worker (wasm/edge, through workers.Serve), by the native
// dev server (scripts/serve mounts it under /api/) and by tests
// (httptest).
//
// Routes:
//
//	GET  /healthz             {"status":"ok","models":N}
//	GET  /api/models          the model catalog and the explanation methods
//	GET  /api/models/{id}     one model: labels, target layers, preprocessing
//	POST /api/explain         an explanation of one image
//
// POST /api/explain takes the image as the request body (Content-Type
// image/png, image/jpeg, image/gif, image/bmp, image/webp or
// application/octet-stream) or as the "image" field of a
// multipart/form-data body, and these query parameters:
//
//	model           catalog id (default: the catalog's default model)
//	method          explanation method (default gradcam; see /api/models)
//	class           top (default), a class index, or a label
//	layer           target layer, repeatable (default: the model's)
//	target          logit (default) or softmax
//	counterfactual  true or false (default false)
//	crop            x,y,w,h in image pixels (default: the whole image)
//	format          png (default: the map over the image) or json
//	colormap        jet (default), turbo, viridis or inferno (png)
//	alpha           heatmap opacity 0..1 (default 0.5; png)
//	topk            number of top classes in the JSON (default 5)
//
// format=json answers with the predictions (logits, top-k), the class
// explained, the map (H×W floats in [0, 1] at the network's input size,
// row-major), its box and peak in map coordinates, the box in image
// pixels and timings. format=png answers with the overlay as a PNG whose
// longer side is at most Config.MaxOverlaySide.
//
// Every error is JSON, {"status": 400, "code": "bad_crop", "error":
// "..."}, with a status that says what went wrong: 400 (bad query or
// body, including an unknown ?model=), 404 (unknown route, or
// /api/models/{id} of an unknown model), 405 (wrong method), 413 (body or
// image too large), 415 (content type or image format), 500 (a model that
// does not load, or a panic, which is recovered). Limits are checked
// before work is done: the body size while reading, the image's pixel
// count from its header before decoding.
//
// Images are never logged or stored: the handler keeps nothing from a
// request once it has answered, and Config.Log receives one line per
// request with the route, status, duration and the error message.
//
// A Handler loads each model once, on first use, and shares it between
// requests (cam.Model is immutable). On Cloudflare Workers with
// syumai/workers a new Go instance starts per request, so there "once"
// means once per request; the catalog itself is small and parsed by
// NewHandler.
package api
