// The CamLens benchmark page (scripts/bench serves it and drives it with
// headless Chromium). It loads the CamLens runner (js/wasm, with the SIMD
// kernel module when it validates) and TF.js 4.22 (wasm and cpu backends)
// with the same face-expression weights, then runs the operations of every
// contender in rounds, alternating the contenders (their order rotates
// from round to round), and leaves the raw samples in window.benchResult.
//
// Query: ?runs=N&warmup=W&scorecam=S (S: rounds that also run Score-CAM).
"use strict";

const q = new URLSearchParams(location.search);
const RUNS = +q.get("runs") || 30;
const WARMUP = q.has("warmup") ? +q.get("warmup") : 3;
const SCORECAM = q.has("scorecam") ? +q.get("scorecam") : RUNS;

function progress(s) {
  window.benchProgress = s;
}

async function bytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return new Uint8Array(await r.arrayBuffer());
}

// startCamLens instantiates the runner and, beside it, the SIMD kernel
// module with the runner's memory (as web/worker.js does for the engine).
async function startCamLens() {
  const go = new Go();
  const [inst, kern] = await Promise.all([
    WebAssembly.instantiateStreaming(fetch("/bench/runner.wasm"), go.importObject),
    bytes("/bench/kernels.wasm"),
  ]);
  let kernelError = "";
  try {
    const k = await WebAssembly.instantiate(kern, { env: { mem: inst.instance.exports.mem } });
    globalThis.camlensKernels = k.instance.exports;
  } catch (e) {
    kernelError = String(e && e.message || e);
  }
  const ready = new Promise((resolve) => addEventListener("camlensbench", resolve, { once: true }));
  go.run(inst.instance);
  await ready;
  return kernelError;
}

// firstTouch is the time to write one byte per 4 KiB page of n fresh
// bytes: what the machine charges for memory used the first time. A cold
// start writes tens of MB for the first time (the downloaded wasm, the
// compiled code, the Go heap, the activations), so this prices it.
function firstTouch(n) {
  const t0 = performance.now();
  const u = new Uint8Array(n);
  for (let i = 0; i < n; i += 4096) u[i] = 1;
  return performance.now() - t0;
}

async function main() {
  const info = { userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency };
  info.firstTouch16MBms = firstTouch(16 << 20);
  const samples = await (await fetch("/samples/samples.json")).json();
  const sample = samples.samples.find((s) => s.file === "astronaut.png");
  const crop = sample.crop;
  info.sample = sample.file;
  info.crop = crop;

  progress("loading CamLens");
  info.kernelModuleError = await startCamLens();
  const [modelBytes, imageBytes] = await Promise.all([bytes("/models/face-expression.safetensors"), bytes("/samples/astronaut.png")]);
  const init = camlensBench.init(modelBytes, imageBytes, crop);
  if (init.error) throw new Error("CamLens runner: " + init.error);
  info.camlensKernels = init.kernels;
  info.camlensKernelsReason = init.reason;

  progress("loading TF.js");
  // TF.js starts from the decoded pixels (ImageData), as CamLens starts
  // from a decoded image.Image: no canvas read-back inside the timings.
  const el = new Image();
  el.src = "/samples/astronaut.png";
  await el.decode();
  const canvas = new OffscreenCanvas(el.naturalWidth, el.naturalHeight);
  const c2d = canvas.getContext("2d", { willReadFrequently: true });
  c2d.drawImage(el, 0, 0);
  const img = c2d.getImageData(0, 0, el.naturalWidth, el.naturalHeight);
  tf.wasm.setWasmPaths("/tfjs/");
  await tf.setBackend("cpu"); // not webgl: the weights start on the CPU
  const net = await FaceNet.load("/tfjs/model/");
  info.tfjs = tf.version.tfjs;

  // Each contender: how to switch to it, and its operations. An operation
  // returns its time in ms (one sample or several).
  const camOps = (simd, ops) => Object.fromEntries(ops.map((op) => [op, () => {
    const r = camlensBench.run(op, simd);
    if (r.error) throw new Error(r.error);
    return Array.from(r.ms);
  }]));
  // TF.js's decoded image is a pixel tensor (tf.browser.fromPixels, made
  // once per backend, as CamLens's is an image.Image decoded once): the
  // end-to-end operations start from it and include face-api's
  // preprocessing (crop, pad to square, resize, normalise).
  let pixels = null; // the decoded image as a tensor, per backend
  let xPre = null; // the preprocessed input, per backend
  const timed = (fn) => { const t0 = performance.now(); fn(); return performance.now() - t0; };
  const tfOps = {
    forward: () => timed(() => net.forward(xPre)),
    gradcam: () => timed(() => net.gradCAM(pixels, crop, 3)),
    gradcam_input: () => timed(() => net.gradCAMInput(xPre, 3)),
    gradcam_early: () => timed(() => net.gradCAM(pixels, crop, 2)),
    guided_gradcam: () => timed(() => net.guidedGradCAM(pixels, crop)),
    from_pixels: () => timed(() => tf.tidy(() => tf.browser.fromPixels(img).dataSync())),
  };
  const tfSwitch = async (backend) => {
    if (!(await tf.setBackend(backend))) throw new Error("TF.js backend " + backend + " did not start");
    await tf.ready();
    tf.dispose([pixels, xPre]);
    pixels = tf.browser.fromPixels(img);
    xPre = net.preprocess(pixels, crop);
    net.forward(xPre); // moves the weights to this backend
  };
  const contenders = [
    { name: "camlens", ops: camOps(true, ["forward", "gradcam", "gradcam_input", "gradcam_early", "class_switch", "method_switch", "guided_gradcam", "scorecam"]) },
    { name: "camlens-go", ops: camOps(false, ["forward", "gradcam", "gradcam_input", "gradcam_early", "class_switch", "method_switch", "guided_gradcam"]) },
    { name: "tfjs-wasm", setup: () => tfSwitch("wasm"), ops: tfOps },
    { name: "tfjs-cpu", setup: () => tfSwitch("cpu"), ops: tfOps },
  ];
  if (info.camlensKernels !== "wasm-simd") contenders.shift(); // no SIMD: only the pure-Go CamLens
  const result = { info, samples: {}, errors: {} };
  for (const c of contenders) {
    result.samples[c.name] = {};
    if (c.setup) await c.setup();
    if (c.name === "tfjs-wasm") info.tfjsWasmFeatures = { simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"), threads: await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"), threadsCount: tf.wasm.getThreadsCount ? tf.wasm.getThreadsCount() : null };
  }
  for (let round = 0; round < WARMUP + RUNS; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    for (const c of order) {
      if (c.setup) await c.setup();
      for (const [op, fn] of Object.entries(c.ops)) {
        const key = c.name + "/" + op;
        if (result.errors[key]) continue; // an operation that failed once (no kernel) is not retried
        if (op === "scorecam" && round >= WARMUP + SCORECAM) continue;
        progress(`round ${round + 1}/${WARMUP + RUNS} (${WARMUP} warm-up): ${key}`);
        let ms;
        try {
          ms = fn();
        } catch (e) {
          result.errors[key] = String(e && e.message || e);
          continue;
        }
        if (round < WARMUP) continue;
        (result.samples[c.name][op] ||= []).push(...[].concat(ms));
      }
      await new Promise((r) => setTimeout(r, 0)); // let the page breathe
    }
  }
  info.tfjsMemory = tf.memory();
  return result;
}

main().then((r) => { window.benchResult = r; }, (e) => { window.benchError = String(e && e.stack || e); });
