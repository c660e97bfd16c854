// Package worker is the CamLens engine behind the page: it holds a model,
// an image and a per-image cam.Session, and answers the requests of the
// worker protocol (see web/engine.js for the JavaScript side):
//
//	hello                                  → methods, colormaps, version, size limits, preview side
//	loadModel {data, name}                 → model info (CamLens .safetensors or .onnx), timings
//	setImage  {data | pixels, width, height, name, preview}
//	                                       → size, format, a preview for the crop editor
//	                                         (unless preview is false)
//	predict   {crop, topk}                 → top-k predictions, the base image the map covers, timings
//	explain   {method, class, layers, target, counterfactual, eigenSmooth}
//	                                       → the map (float32), box, peak, note (why a map is all zero),
//	                                         raw map, guided image, timings
//	metrics   {method, class, layers, target, counterfactual, eigenSmooth}
//	                                       → RISE deletion and insertion curves and AUCs of that map
//	                                         and of a random map (the baseline), with progress
//	export    {kind, colormap, alpha}      → PNG / .npy / .json bytes of the last explanation
//	colormap  {name}                       → a 256-entry RGBA table for the view's shader
//	cancel    {of}                         → stops request "of" (queued or running)
//
// Requests run one at a time, in order, on one goroutine; cancel acts at
// once. The package has no syscall/js: wasm/engine's main is the thin glue
// that turns messages into Requests and Messages into postMessage calls
// (with typed arrays moved, not copied), so everything here is tested
// natively.
//
// Cancellation under js/wasm: Go there runs on the page's single thread
// and sees a new message only when every goroutine is blocked. The slow
// methods (Score-CAM, Ablation-CAM) report progress between batches of
// channels, and metrics between batches of perturbed images; the progress callback calls Options.Yield (a short sleep in the
// browser) at most every Options.YieldEvery, which hands the event loop
// back to JavaScript; a pending "cancel" message then runs Cancel, which
// cancels the request's context, and cam stops at its next check.
package worker
