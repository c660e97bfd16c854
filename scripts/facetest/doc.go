// Package facetest checks CamLens's face-expression model against face-api
// itself. Its test (go test ./scripts/facetest) runs ref.js under Node with
// @vladmandic/face-api's node-wasm build (TF.js's WebAssembly backend, and
// TF.js's CPU backend for tf.grad) on the face crops of web/samples and
// compares, printing every number with t.Log:
//
//   - the preprocessing: imaging.ToTensor with the model's Preprocess vs
//     face-api's normalised input tensor (NetInput.toBatchTensor,
//     padToSquare, resizeBilinear, normalize), on square and non-square
//     crops with odd and even padding;
//   - the forward pass: logits and probabilities of the float32 model
//     converted by core/tfjs vs faceExpressionNet's, and the top-1 class of
//     the shipped int8 file models/face-expression.safetensors;
//   - Grad-CAM at the last two dense blocks vs a TF.js tf.grad Grad-CAM:
//     the channel weights, the signed low-resolution map and the map after
//     ReLU and min-max;
//   - the default crops of web/samples/samples.json vs face-api's face
//     detector.
//
// The test needs node and scripts/node/node_modules (scripts/setup.d); it
// skips without them unless CAMLENS_REQUIRE_DEPS=1. Set
// FACETEST_OVERLAY_DIR to a directory to get the Grad-CAM overlays as PNGs.
package facetest
