// Cold start of the CamLens core alone (no page UI, no view): from
// navigation to the first Grad-CAM map of the sample, loading the runner,
// the SIMD kernel module, the model and the image. The result goes to
// window.coldResult ({first_heatmap_ms, kernels, marks}) or window.coldError;
// marks splits the critical path: runner fetched and compiled (streaming),
// Go runtime started, model + image loaded (parse, decode, preprocess),
// first Grad-CAM map.
"use strict";
(async () => {
  const go = new Go();
  const marks = {};
  const mark = (n) => { marks["core:" + n] = performance.now(); };
  mark("script-start");
  const get = (u) => fetch(u).then((r) => { if (!r.ok) throw new Error(u + ": HTTP " + r.status); return r.arrayBuffer(); });
  const [inst, kern, model, image, samples] = await Promise.all([
    WebAssembly.instantiateStreaming(fetch("/bench/runner.wasm"), go.importObject).then((i) => { mark("runner-compiled"); return i; }),
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
  mark("go-started");
  const crop = samples.samples.find((s) => s.file === "astronaut.png").crop;
  const init = camlensBench.init(new Uint8Array(model), new Uint8Array(image), crop);
  if (init.error) throw new Error(init.error);
  mark("model-and-image-loaded");
  const r = camlensBench.run("gradcam", init.kernels === "wasm-simd");
  if (r.error) throw new Error(r.error);
  mark("first-map");
  marks["core:first-map-explain-only"] = r.ms[0];
  for (const e of performance.getEntriesByType("resource")) marks["core:res:" + e.name.replace(/.*\//, "") + ":end"] = e.responseEnd;
  const nav = performance.getEntriesByType("navigation")[0];
  if (nav) { marks["core:nav:responseEnd"] = nav.responseEnd; marks["core:nav:fetchStart"] = nav.fetchStart; }
  window.coldResult = { first_heatmap_ms: performance.now(), kernels: init.kernels, marks };
})().catch((e) => { window.coldError = String(e && e.stack || e); });
