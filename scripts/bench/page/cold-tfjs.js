// Cold start of TF.js (wasm backend) with face-api's face-expression
// weights: from navigation to the first Grad-CAM map of the sample at the
// last block. The result goes to window.coldResult or window.coldError.
"use strict";
(async () => {
  tf.wasm.setWasmPaths("/tfjs/");
  const img = new Image();
  img.src = "/samples/astronaut.png";
  const [, weights, samples] = await Promise.all([
    tf.setBackend("wasm").then((ok) => { if (!ok) throw new Error("TF.js wasm backend did not start"); return tf.ready(); }),
    FaceNet.fetchWeights("/tfjs/model/"),
    fetch("/samples/samples.json").then((r) => r.json()),
    img.decode(),
  ]);
  const net = FaceNet.fromWeights(weights);
  const crop = samples.samples.find((s) => s.file === "astronaut.png").crop;
  tf.tidy(() => net.gradCAM(tf.browser.fromPixels(img), crop, 3));
  window.coldResult = { first_heatmap_ms: performance.now(), backend: tf.getBackend() };
})().catch((e) => { window.coldError = String(e && e.stack || e); });
