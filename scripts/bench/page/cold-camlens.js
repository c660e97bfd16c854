// Cold start of the CamLens core alone (no page UI, no view): from
// navigation to the first Grad-CAM map of the sample, loading the runner,
// the SIMD kernel module, the model and the image. The result goes to
// window.coldResult ({first_heatmap_ms, kernels}) or window.coldError.
"use strict";
(async () => {
  const go = new Go();
  const get = (u) => fetch(u).then((r) => { if (!r.ok) throw new Error(u + ": HTTP " + r.status); return r.arrayBuffer(); });
  const [inst, kern, model, image, samples] = await Promise.all([
    WebAssembly.instantiateStreaming(fetch("/bench/runner.wasm"), go.importObject),
    get("/bench/kernels.wasm"), get("/models/face-expression.safetensors"), get("/samples/astronaut.png"),
    fetch("/samples/samples.json").then((r) => r.json()),
  ]);
  try {
    const k = await WebAssembly.instantiate(kern, { env: { mem: inst.instance.exports.mem } });
    globalThis.camlensKernels = k.instance.exports;
  } catch (e) { /* no SIMD: the runner uses the pure-Go kernels */ }
  const ready = new Promise((resolve) => addEventListener("camlensbench", resolve, { once: true }));
  go.run(inst.instance);
  await ready;
  const crop = samples.samples.find((s) => s.file === "astronaut.png").crop;
  const init = camlensBench.init(new Uint8Array(model), new Uint8Array(image), crop);
  if (init.error) throw new Error(init.error);
  const r = camlensBench.run("gradcam", init.kernels === "wasm-simd");
  if (r.error) throw new Error(r.error);
  window.coldResult = { first_heatmap_ms: performance.now(), kernels: init.kernels };
})().catch((e) => { window.coldError = String(e && e.stack || e); });
