// The full CamLens page (index.html): DOM controls around the ebiten view.
// State lives in the URL hash (state.js); the engine runs in a worker
// (engine.js); the view in an iframe (view-host.js). window.camlens is the
// page's JS API (documented in the README, "Embedding CamLens").

import {
  Explainer, EngineError, loadCatalog, loadSamples, defaultEntry, fetchBytes, siteURL, panelFor, formatMs, checkFileSize, isCancel,
} from "./camlens.js";
import { CheckPanel } from "./check.js";
import { ViewHost } from "./view-host.js";
import { CropEditor } from "./crop.js";
import { parseHash, formatHash, parseCrop, parseOpacity } from "./state.js";
import { renderMarkdown } from "./md.js";
import { markOnce } from "./engine.js";

const $ = (id) => document.getElementById(id);
const ui = {
  model: $("model"), openModel: $("open-model"), modelFile: $("model-file"),
  gallery: $("gallery"), openImage: $("open-image"), imageFile: $("image-file"),
  webcam: $("webcam"), webcamPanel: $("webcam-panel"), webcamConsent: $("webcam-consent"),
  webcamAllow: $("webcam-allow"), webcamCancel: $("webcam-cancel"), webcamLive: $("webcam-live"),
  webcamVideo: $("webcam-video"), webcamCapture: $("webcam-capture"), webcamClose: $("webcam-close"),
  status: $("status"), progress: $("progress"), cancel: $("cancel"), error: $("error"), notice: $("notice"),
  captions: $("captions"), note: $("note"), viewWrap: $("view-wrap"), view: $("view"), readout: $("readout"),
  preds: $("preds"), timings: $("timings"),
  method: $("method"), layer: $("layer"), cf: $("counterfactual"), opacity: $("opacity"),
  opacityOut: $("opacity-out"), colormap: $("colormap"), showbox: $("showbox"), compare: $("compare"),
  compareMethodField: $("compare-method-field"), compareMethod: $("compare-method"),
  compareClassField: $("compare-class-field"), compareClass: $("compare-class"),
  card: $("card"), cardBody: $("card-body"), dropzone: $("dropzone"),
};

const ex = new Explainer();
const view = new ViewHost(ui.view);
const crop = new CropEditor({ container: $("crop-editor"), canvas: $("photo"), box: $("cropbox"), handle: $("crop-handle"), readout: $("crop-readout") });

let catalog = [];
let samples = [];
let methods = [];
let sample = ""; // file name of the sample shown, "" for the user's own image
let running = null; // AbortController of the explanation in progress
let generation = 0;
let lastResult = null;
let lastHash = "";
let busyCount = 0;
let predictSeq = 0; // counts forward passes shown (new image, crop or model)
let samplePrefetch = null; // {file, bytes: Promise<ArrayBuffer>}: the first sample, fetched while the engine starts

const check = new CheckPanel({
  toggle: $("check-toggle"), body: $("check-body"), run: $("check-run"), cancel: $("check-cancel"),
  progress: $("check-progress"), status: $("check-status"), result: $("check-result"), stale: $("check-stale"),
  forText: $("check-for"), figure: $("check-figure"), plot: $("check-plot"), table: $("check-auc"), verdict: $("check-verdict"),
}, ex);

// checkView describes the explanation shown, for the check panel: what to
// ask the engine for, and a key that changes with the image, crop, model,
// method, class, layer and counterfactual.
function checkView(r) {
  const layers = r.layers && r.layers.length ? r.layers : [];
  return {
    key: JSON.stringify([predictSeq, ex.modelId, r.method, r.class, layers, r.counterfactual]),
    opts: { method: r.method, class: r.class, layers, counterfactual: r.counterfactual && r.method !== "counterfactual" },
    // The layer is named when the user picked one (the default's name
    // is often a long generated one).
    title: `${caption(r)}${ui.layer.value && layers.length ? " · layer " + layers.join(", ") : ""}`,
  };
}

// ---------- status, errors, progress ----------

function setStatus(text) { ui.status.textContent = text; }

// A banner (the error, the notice) shows a message and mirrors it in
// document.body.dataset[key] for the tests.
function showBanner(el, key, msg) {
  el.textContent = msg;
  el.hidden = false;
  document.body.dataset[key] = msg;
}

function clearBanner(el, key) {
  el.hidden = true;
  el.textContent = "";
  delete document.body.dataset[key];
}

function showError(e) { showBanner(ui.error, "error", e instanceof Error ? e.message : String(e)); }
function clearError() { clearBanner(ui.error, "error"); }

// showNotice tells what the page did on its own (the engine restarted);
// it stays until the user's next action.
function showNotice(msg) { showBanner(ui.notice, "notice", msg); }
function clearNotice() { clearBanner(ui.notice, "notice"); }

function busy(on) {
  busyCount += on ? 1 : -1;
  document.body.dataset.busy = busyCount > 0 ? "1" : "0";
}

// progressTask shows a progress bar with a Cancel button while fn runs;
// fn receives (signal, onProgress).
async function progressTask(label, fn) {
  const ac = new AbortController();
  ui.progress.removeAttribute("aria-label");
  ui.progress.hidden = false;
  ui.progress.removeAttribute("value");
  ui.cancel.hidden = false;
  const onCancel = () => ac.abort();
  ui.cancel.addEventListener("click", onCancel);
  setStatus(label);
  try {
    return await fn(ac.signal, (done, total) => {
      if (total > 0) {
        ui.progress.max = total;
        ui.progress.value = done;
        setStatus(`${label} ${Math.round((100 * done) / total)}%`);
      }
    });
  } finally {
    ui.cancel.removeEventListener("click", onCancel);
    ui.progress.hidden = true;
    ui.cancel.hidden = true;
    if (startupActive) showStartupBar();
  }
}

// ---------- models ----------

function fillModels() {
  ui.model.textContent = "";
  for (const e of catalog) ui.model.add(new Option(e.title, e.id));
  if (ex.model && !catalog.some((e) => e.id === ex.modelId)) ui.model.add(new Option(`${ex.modelId} (opened file)`, ex.modelId));
  ui.model.value = ex.modelId;
}

async function loadModelEntry(entry) {
  busy(true);
  clearError();
  try {
    const t0 = performance.now();
    const info = await progressTask(`Downloading ${entry.title}…`, (signal, onProgress) => ex.loadCatalogModel(entry, { signal, onProgress }));
    modelLoaded(info, performance.now() - t0);
    markOnce("model-loaded");
    showCard(entry);
  } finally {
    busy(false);
  }
}

async function loadModelFile(buf, name) {
  busy(true);
  clearError();
  try {
    setStatus(`Importing ${name}…`);
    const t0 = performance.now();
    const info = await ex.loadModelBytes(buf, name);
    modelLoaded(info, performance.now() - t0);
    showCard(null);
  } finally {
    busy(false);
  }
}

function modelLoaded(info, ms) {
  fillModels();
  ui.layer.textContent = "";
  ui.layer.add(new Option(`Default (${info.defaultLayer})`, ""));
  for (const l of info.layers) ui.layer.add(new Option(`${l.name} ${l.shape.join("×")}`, l.name));
  ui.compareClass.textContent = "";
  info.labels.forEach((l, i) => ui.compareClass.add(new Option(l, String(i))));
  setStatus(`Model ${info.title || info.name} ready (${formatMs(ms)}).`);
  document.body.dataset.model = ex.modelId;
}

async function showCard(entry) {
  ui.cardBody.textContent = "";
  const m = ex.model;
  const facts = document.createElement("dl");
  const add = (k, v) => {
    if (!v) return;
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    facts.append(dt, dd);
  };
  add("Model", m.title || m.name);
  add("Input", `${m.input.width}×${m.input.height} ${m.input.channels}${m.input.crop === "square" ? ", square crop" : ""}`);
  add("Classes", m.labels.join(", "));
  add("Source", m.provenance.source);
  add("Licence", m.provenance.license);
  add("Attribution", m.provenance.attribution);
  ui.cardBody.appendChild(facts);
  if (entry && entry.card) {
    try {
      const resp = await fetch(siteURL("models/" + entry.card));
      if (resp.ok) ui.cardBody.appendChild(renderMarkdown(await resp.text(), resp.url));
    } catch (e) { /* the facts above remain */ }
  } else if (m.description) {
    const p = document.createElement("p");
    p.textContent = m.description;
    ui.cardBody.appendChild(p);
  }
}

// ---------- images ----------

function fillGallery() {
  ui.gallery.textContent = "";
  for (const s of samples) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "sample";
    b.dataset.sample = s.file;
    b.title = `${s.title} — ${s.credit} (${s.license})`;
    b.setAttribute("aria-label", `Sample: ${s.title}`);
    const img = document.createElement("img");
    img.dataset.src = siteURL("web/samples/" + (s.thumb || s.file));
    img.alt = "";
    b.appendChild(img);
    b.addEventListener("click", () => run(() => loadSample(s)));
    ui.gallery.appendChild(b);
  }
  if (thumbsShown) showThumbs();
}

// showThumbs gives the gallery's buttons their pictures (small JPEGs that
// scripts/build makes: samples.json's "thumb"), once the first map is on
// screen, or the start-up failed: fetching and decoding them earlier
// competed with the engine's download and start on a small machine (the
// first map came 120 ms later on 2 cores). Until then the buttons are
// blank squares; their labels and tooltips name the samples.
let thumbsShown = false;
function showThumbs() {
  thumbsShown = true;
  for (const img of ui.gallery.querySelectorAll("img[data-src]")) {
    img.src = img.dataset.src;
    delete img.dataset.src;
  }
}

function markSample() {
  for (const b of ui.gallery.querySelectorAll(".sample")) b.setAttribute("aria-pressed", String(b.dataset.sample === sample));
}

async function loadSample(s, cropOverride) {
  busy(true);
  clearError();
  try {
    if (s.model && s.model !== ex.modelId) {
      const entry = catalog.find((e) => e.id === s.model);
      if (entry) await loadModelEntry(entry);
    }
    setStatus(`Loading ${s.title}…`);
    const pre = samplePrefetch && samplePrefetch.file === s.file ? samplePrefetch.bytes : null;
    samplePrefetch = null;
    const buf = await (pre ? pre.catch(() => fetchBytes(siteURL("web/samples/" + s.file))) : fetchBytes(siteURL("web/samples/" + s.file)));
    sample = s.file;
    const info = await ex.setImageBytes(buf, s.file);
    markOnce("image-set");
    await imageLoaded(info, cropOverride || s.crop);
  } finally {
    busy(false);
  }
}

async function loadImageBytes(buf, name) {
  busy(true);
  clearError();
  try {
    setStatus(`Decoding ${name}…`);
    const info = await ex.setImageBytes(buf, name);
    sample = "";
    await imageLoaded(info, null);
  } finally {
    busy(false);
  }
}

async function imageLoaded(info, wanted) {
  markSample();
  crop.setImage(info.preview, info.width, info.height);
  applyCrop(wanted);
  await refresh(true);
}

function applyCrop(wanted) {
  const square = ex.model && ex.model.input.crop === "square";
  let c = wanted && square ? wanted : ex.defaultCrop();
  c = crop.setCrop(c, square);
  ex.crop = c;
}

// ---------- explanation ----------

function methodInfo(name) { return methods.find((m) => m.name === name) || { name, title: name }; }

function explainOptions() {
  return {
    method: ui.method.value,
    class: currentClass,
    layers: ui.layer.value ? [ui.layer.value] : [],
    counterfactual: ui.cf.checked && !ui.cf.disabled,
  };
}

let currentClass = -1; // -1: the top class

function updateMethodControls() {
  const m = methodInfo(ui.method.value);
  ui.cf.disabled = !m.counterfactual || m.name === "counterfactual";
  ui.layer.disabled = m.name === "guided-backprop";
  const c = ui.compare.value;
  ui.compareMethodField.hidden = c !== "method";
  ui.compareClassField.hidden = c !== "class";
  ui.viewWrap.classList.toggle("two", c !== "");
}

// refresh recomputes what changed: with predict, the forward pass for the
// current crop; then the explanation(s), then the view. A newer refresh
// cancels an older one.
async function refresh(predict = false) {
  if (!ex.model || !ex.image) return null;
  const gen = ++generation;
  if (running) running.abort();
  check.viewChanging();
  const ac = new AbortController();
  running = ac;
  busy(true);
  try {
    if (predict) {
      setStatus("Classifying…");
      markOnce("predict-start");
      await ex.predict(ex.crop);
      markOnce("predicted");
      predictSeq++;
      if (gen !== generation) return null;
      showPredictions();
    }
    const opts = explainOptions();
    const compare = ui.compare.value;
    const slow = methodInfo(opts.method).slow || (compare === "method" && methodInfo(ui.compareMethod.value).slow);
    const label = `Explaining with ${methodInfo(opts.method).title}…`;
    const step = async (o) => {
      if (!slow) {
        setStatus(label);
        return ex.explain(o, { signal: ac.signal });
      }
      return progressTask(label, (signal, onProgress) => {
        signal.addEventListener("abort", () => ac.abort(), { once: true });
        return ex.explain(o, { signal: ac.signal, onProgress });
      });
    };
    const r1 = await step(opts);
    markOnce("map-computed");
    const pred = ex.prediction;
    // The second explanation a comparison asks for, as changes to opts.
    const second = {
      method: { method: ui.compareMethod.value, counterfactual: opts.counterfactual && methodInfo(ui.compareMethod.value).counterfactual },
      class: { class: Number(ui.compareClass.value) },
      guided: { method: "guided-gradcam", counterfactual: false },
    }[compare];
    let shown = [r1];
    if (second) {
      const r2 = await step(Object.assign({}, opts, second));
      // Guided Grad-CAM is compared with the image, not with r1.
      shown = compare === "guided" ? [r2] : [r1, r2];
    }
    const panels = shown.map((r) => panelFor(pred, r));
    const captions = shown.map(caption);
    if (compare === "guided") {
      panels.unshift({ base: pred.base });
      captions.unshift("Image");
    }
    if (gen !== generation) return null;
    lastResult = r1;
    showCaptions(captions);
    showNotes(shown);
    showTimings(r1);
    check.setView(checkView(r1));
    markClass(r1.class);
    await view.show(panels);
    setStatus(`Explained in ${formatMs(r1.timings.total)}.`);
    writeHash();
    document.body.dataset.shown = String(view.seq);
    return r1;
  } catch (e) {
    if (gen === generation) {
      if (isCancel(e)) setStatus("Cancelled.");
      else throw e;
    }
    return null;
  } finally {
    if (running === ac) running = null;
    busy(false);
  }
}

function caption(r) {
  const m = methodInfo(r.method).title;
  const cf = r.counterfactual && r.method !== "counterfactual" ? " (counterfactual)" : "";
  return `${m}${cf} · ${r.label}`;
}

// showNotes shows why a map is all zero (the engine's note), beside the
// view, for each map shown that has one.
function showNotes(results) {
  const notes = results.filter((r) => r.note).map((r) => (results.length > 1 ? `${caption(r)}: ${r.note}` : r.note));
  ui.note.textContent = "";
  for (const n of notes) {
    const p = document.createElement("p");
    p.textContent = n.charAt(0).toUpperCase() + n.slice(1) + ".";
    ui.note.appendChild(p);
  }
  ui.note.hidden = notes.length === 0;
}

function showCaptions(list) {
  ui.captions.textContent = "";
  for (const c of list) {
    const s = document.createElement("span");
    s.textContent = c;
    ui.captions.appendChild(s);
  }
}

function showPredictions() {
  const preds = ex.prediction.predictions;
  ui.preds.textContent = "";
  for (const p of preds) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "pred";
    b.dataset.class = String(p.class);
    const pct = (100 * p.prob).toFixed(1);
    b.setAttribute("aria-label", `Explain ${p.label} (${pct}%)`);
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = p.label;
    const val = document.createElement("span");
    val.className = "prob";
    val.textContent = pct + "%";
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = pct + "%";
    bar.appendChild(fill);
    b.append(name, val, bar);
    b.addEventListener("click", () => {
      currentClass = p.class === preds[0].class ? -1 : p.class;
      run(() => refresh());
    });
    li.appendChild(b);
    ui.preds.appendChild(li);
  }
  document.body.dataset.top = preds.length ? preds[0].label : "";
}

function markClass(c) {
  for (const b of ui.preds.querySelectorAll(".pred")) b.setAttribute("aria-pressed", String(Number(b.dataset.class) === c));
}

function showTimings(r) {
  const t = ex.prediction.timings;
  const rows = [
    ["Decode", t.decode], ["Preprocess", t.preprocess], ["Forward", t.forward],
    ["Backward", r.timings.backward], ["Extra forwards", r.timings.extraForward],
    ["Method", r.timings.method], ["Explanation total", r.timings.total],
  ];
  ui.timings.textContent = "";
  const add = (k, v) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    ui.timings.append(dt, dd);
  };
  for (const [k, v] of rows) if (v !== undefined) add(k, formatMs(v));
  if (ex.info) add("Kernels", ex.info.kernels === "wasm-simd" ? "WebAssembly SIMD" : "pure Go");
}

async function restyle() {
  ui.opacityOut.textContent = Number(ui.opacity.value).toFixed(2);
  const lut = await ex.lut(ui.colormap.value);
  await view.style({ alpha: Number(ui.opacity.value), lut, box: ui.showbox.checked, peak: ui.showbox.checked });
  writeHash();
}

// ---------- URL hash ----------

function currentState() {
  const c = ex.crop;
  return {
    model: ex.modelId && catalog.some((e) => e.id === ex.modelId) ? ex.modelId : "",
    sample,
    crop: c ? c.join(",") : "",
    method: ui.method.value,
    class: currentClass >= 0 && ex.model ? ex.model.labels[currentClass] : "",
    layer: ui.layer.value,
    opacity: ui.opacity.value,
    colormap: ui.colormap.value,
    cf: ui.cf.checked ? "1" : "",
    box: ui.showbox.checked ? "" : "0",
    compare: ui.compare.value,
    with: ui.compare.value === "method" ? ui.compareMethod.value : ui.compare.value === "class" && ex.model ? ex.model.labels[Number(ui.compareClass.value)] : "",
  };
}

function writeHash() {
  const h = formatHash(currentState());
  if (h !== location.hash && !(h === "#" && location.hash === "")) {
    lastHash = h;
    history.replaceState(null, "", h === "#" ? location.pathname + location.search : h);
  }
}

function setSelect(sel, value) {
  if (value !== undefined && [...sel.options].some((o) => o.value === value)) sel.value = value;
}

// linkedModel is the catalog entry the parsed hash h names, or the
// default one.
function linkedModel(h, cat) {
  return cat.find((e) => e.id === h.model) || defaultEntry(cat);
}

// linkedSample is the sample h names; when it names none and no image is
// shown, the first sample made for the model (or for any model).
function linkedSample(h, list, modelId, hasImage) {
  return list.find((x) => x.file === h.sample) ||
    (!h.sample && !hasImage ? list.find((x) => !x.model || x.model === modelId) : null);
}

// applyHash loads what the hash names and sets the controls.
async function applyHash() {
  const s = parseHash(location.hash);
  lastHash = location.hash;
  setSelect(ui.method, s.method);
  setSelect(ui.colormap, s.colormap);
  ui.opacity.value = String(parseOpacity(s.opacity, Number(ui.opacity.value)));
  ui.cf.checked = s.cf === "1";
  ui.showbox.checked = s.box !== "0";
  setSelect(ui.compare, s.compare || "");
  if (s.compare === "method") setSelect(ui.compareMethod, s.with);
  if (s.model && !catalog.some((e) => e.id === s.model)) showError(`Unknown model "${s.model}" in the link; using the default.`);
  const want = linkedModel(s, catalog);
  if (want && want.id !== ex.modelId) await loadModelEntry(want);
  if (ex.model) {
    setSelect(ui.layer, s.layer || "");
    currentClass = -1;
    if (s.class) {
      try { currentClass = ex.classIndex(s.class); } catch (e) { showError(e); }
    }
    if (s.compare === "class" && s.with) {
      try { ui.compareClass.value = String(ex.classIndex(s.with)); } catch (e) { showError(e); }
    }
  }
  updateMethodControls();
  await restyle();
  const smp = linkedSample(s, samples, ex.modelId, !!ex.image);
  const c = parseCrop(s.crop);
  if (smp && (smp.file !== sample || !ex.image)) {
    await loadSample(smp, c);
  } else if (ex.image) {
    applyCrop(c || ex.crop);
    await refresh(true);
  }
}

// ---------- input: files, drop, paste, webcam ----------

function isModelName(name) { return /\.(onnx|safetensors)$/i.test(name); }

// openFile opens a picked, dropped or pasted file as a model or an image:
// as asked ("model", "image"), or by its name. Its size is checked
// against the engine's limits before it is read.
async function openFile(file, as = isModelName(file.name) ? "model" : "image") {
  clearError();
  checkFileSize(file, as, ex.limits);
  const buf = await file.arrayBuffer();
  if (as === "model") {
    await loadModelFile(buf, file.name);
    if (ex.image) {
      applyCrop(null);
      await refresh(true);
    }
  } else {
    await loadImageBytes(buf, file.name);
  }
}

let stream = null;

function stopWebcam() {
  if (stream) for (const t of stream.getTracks()) t.stop();
  stream = null;
  ui.webcamVideo.srcObject = null;
  ui.webcamPanel.hidden = true;
}

async function startWebcam() {
  ui.webcamConsent.hidden = true;
  ui.webcamLive.hidden = false;
  stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  ui.webcamVideo.srcObject = stream;
  await ui.webcamVideo.play();
  ui.webcamCapture.focus();
}

async function captureWebcam() {
  const v = ui.webcamVideo;
  const c = document.createElement("canvas");
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  c.getContext("2d").drawImage(v, 0, 0);
  stopWebcam();
  const blob = await new Promise((resolve) => c.toBlob(resolve, "image/png"));
  await loadImageBytes(await blob.arrayBuffer(), "webcam.png");
}

// run executes an action triggered by the user and reports its error;
// the page's own actions (auto) keep the notice.
function run(fn, auto = false) {
  if (!auto) clearNotice();
  return Promise.resolve().then(fn).catch((e) => {
    if (isCancel(e)) setStatus("Cancelled.");
    else if (ex.interrupted(e)) setStatus("Restarting the engine…");
    else {
      showError(e);
      setStatus(ex.model && ex.image && lastResult ? "Ready; the previous model and image are still loaded." : "Ready.");
    }
  });
}

async function exportFile(kind) {
  if (!lastResult) throw new EngineError("nothing to export yet", "state");
  const r = await ex.exportLast(kind, ui.colormap.value, Number(ui.opacity.value));
  const url = URL.createObjectURL(new Blob([r.data], { type: r.mime }));
  const a = document.createElement("a");
  a.href = url;
  a.download = r.filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function wire() {
  ui.model.addEventListener("change", () => run(async () => {
    const entry = catalog.find((e) => e.id === ui.model.value);
    if (!entry) return;
    await loadModelEntry(entry);
    currentClass = -1;
    const smp = samples.find((x) => x.file === sample);
    if (smp && smp.model && smp.model !== ex.modelId) sample = "";
    markSample();
    if (ex.image) {
      applyCrop(smp && smp.model === ex.modelId ? smp.crop : null);
      await refresh(true);
    } else {
      writeHash();
    }
  }));
  ui.openModel.addEventListener("click", () => ui.modelFile.click());
  ui.modelFile.addEventListener("change", () => {
    const f = ui.modelFile.files[0];
    ui.modelFile.value = "";
    if (f) run(() => openFile(f, "model"));
  });
  ui.openImage.addEventListener("click", () => ui.imageFile.click());
  ui.imageFile.addEventListener("change", () => {
    const f = ui.imageFile.files[0];
    ui.imageFile.value = "";
    if (f) run(() => openFile(f, "image"));
  });
  crop.onChange = (c) => run(async () => {
    ex.crop = c;
    await refresh(true);
  });
  for (const el of [ui.method, ui.layer, ui.cf, ui.compare, ui.compareMethod, ui.compareClass]) {
    el.addEventListener("change", () => {
      updateMethodControls();
      run(() => refresh());
    });
  }
  ui.opacity.addEventListener("input", () => run(restyle));
  ui.colormap.addEventListener("change", () => run(restyle));
  ui.showbox.addEventListener("change", () => run(restyle));
  for (const b of document.querySelectorAll("[data-export]")) b.addEventListener("click", () => run(() => exportFile(b.dataset.export)));
  view.onHover = (m) => {
    ui.readout.textContent = m.panel < 0 ? "Point at the image to read the map." : `Map value ${m.value.toFixed(3)} at (${m.x}, ${m.y})`;
  };
  view.onError = (msg) => showError("View: " + msg);

  // Drag and drop anywhere on the page.
  let depth = 0;
  window.addEventListener("dragenter", (ev) => {
    if (!ev.dataTransfer || ![...ev.dataTransfer.types].includes("Files")) return;
    ev.preventDefault();
    depth++;
    ui.dropzone.hidden = false;
  });
  window.addEventListener("dragover", (ev) => ev.preventDefault());
  window.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) ui.dropzone.hidden = true;
  });
  window.addEventListener("drop", (ev) => {
    ev.preventDefault();
    depth = 0;
    ui.dropzone.hidden = true;
    const f = ev.dataTransfer && ev.dataTransfer.files[0];
    if (f) run(() => openFile(f));
  });
  document.addEventListener("paste", (ev) => {
    const f = [...(ev.clipboardData ? ev.clipboardData.files : [])].find((x) => x.type.startsWith("image/"));
    if (f) {
      ev.preventDefault();
      run(() => openFile(f));
    }
  });

  ui.webcam.addEventListener("click", () => {
    ui.webcamPanel.hidden = false;
    ui.webcamConsent.hidden = false;
    ui.webcamLive.hidden = true;
    ui.webcamAllow.focus();
  });
  ui.webcamCancel.addEventListener("click", stopWebcam);
  ui.webcamClose.addEventListener("click", stopWebcam);
  ui.webcamAllow.addEventListener("click", () => run(startWebcam).catch(stopWebcam));
  ui.webcamCapture.addEventListener("click", () => run(captureWebcam));

  window.addEventListener("hashchange", () => {
    if (location.hash !== lastHash) run(applyHash);
  });

  // Whatever fails without a handler is still shown in words.
  window.addEventListener("unhandledrejection", (ev) => {
    const e = ev.reason;
    if (isCancel(e) || ex.interrupted(e)) return;
    showError(e instanceof Error ? e : String(e));
  });
  window.addEventListener("error", (ev) => {
    // ResizeObserver's loop notice is the browser's, not a failure.
    if (ev.message && !/^ResizeObserver loop/.test(ev.message)) showError(ev.message);
  });

  // The engine restarts itself when it dies (Explainer.recover): say what
  // happened, then explain again with the model and image it reloaded.
  ex.onRecovery((ev) => {
    switch (ev.phase) {
      case "restarting":
        showNotice(`The engine stopped (${ev.reason}). Restarting it${ev.attempt > 1 ? ` (attempt ${ev.attempt} of ${ev.max})` : ""}…`);
        setStatus("Restarting the engine…");
        document.body.dataset.restarts = String(Number(document.body.dataset.restarts || 0) + 1);
        break;
      case "restarted": {
        const what = [ex.model && "model", ex.image && "image"].filter(Boolean).join(" and ");
        showNotice(`The engine stopped (${ev.reason}); CamLens restarted it${what ? ` and reloaded your ${what}` : ""}.`);
        if (ev.error) showError(ev.error);
        document.body.dataset.restarted = String(Number(document.body.dataset.restarted || 0) + 1);
        if (ex.prediction) run(() => refresh(), true);
        else setStatus("Ready.");
        break;
      }
      case "gave-up":
        showError(ev.message);
        setStatus("The engine is not running.");
        break;
    }
  });
}

// ---------- the JS API ----------

function publicResult(r) {
  return {
    method: r.method, class: r.class, label: r.label, layers: r.layers, target: r.target,
    counterfactual: r.counterfactual, width: r.w, height: r.h, map: r.map.slice(),
    box: r.box, peak: r.peak, timings: Object.assign({}, ex.prediction.timings, r.timings),
    predictions: ex.prediction.predictions.map((p) => Object.assign({}, p)),
  };
}

function installAPI(ready) {
  window.camlens = Object.freeze({
    ready,
    catalog: () => catalog.map((e) => Object.assign({}, e)),
    samples: () => samples.map((s) => Object.assign({}, s)),
    methods: () => methods.map((m) => Object.assign({}, m)),
    // info() is the engine's: methods, colormaps, Go version, kernels.
    info: () => Object.assign({}, ex.info),
    model: () => ex.model,
    // image() is the current image: {width, height, format, decoder}
    // (decoder "browser" for a plain PNG the page decoded, else "go").
    image: () => (ex.image ? { width: ex.image.width, height: ex.image.height, format: ex.image.format, decoder: ex.image.decoder } : null),
    // loadModel(id) loads a catalog model; loadModel(bytes, name) a file.
    async loadModel(src, name) {
      if (typeof src === "string") {
        const entry = catalog.find((e) => e.id === src);
        if (!entry) throw new EngineError(`unknown model ${JSON.stringify(src)}`, "input");
        await loadModelEntry(entry);
      } else {
        await loadModelFile(src instanceof ArrayBuffer ? src : src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength), name || "model.safetensors");
      }
      currentClass = -1;
      if (ex.image) {
        applyCrop(null);
        await refresh(true);
      }
      return ex.model;
    },
    // setImage(url or bytes, {crop}) loads an image and classifies it.
    async setImage(src, { crop: c } = {}) {
      let buf, name;
      if (typeof src === "string") {
        buf = await fetchBytes(src);
        name = new URL(src, location.href).pathname.split("/").pop();
        const smp = samples.find((x) => siteURL("web/samples/" + x.file) === new URL(src, location.href).href);
        sample = smp ? smp.file : "";
      } else {
        buf = src instanceof ArrayBuffer ? src : src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength);
        name = "image";
        sample = "";
      }
      const info = await ex.setImageBytes(buf, name);
      markSample();
      crop.setImage(info.preview, info.width, info.height);
      applyCrop(c || null);
      await refresh(true);
      return { width: info.width, height: info.height, format: info.format, predictions: ex.prediction.predictions };
    },
    // explain({method, class, layer, counterfactual}) sets the controls,
    // explains and returns {predictions, map: Float32Array, width, height,
    // class, label, box, peak, timings}.
    async explain(o = {}) {
      if (o.method !== undefined) {
        if (!methods.some((m) => m.name === o.method)) throw new EngineError(`unknown method ${JSON.stringify(o.method)}`, "input");
        ui.method.value = o.method;
      }
      if (o.class !== undefined) currentClass = ex.classIndex(o.class);
      if (o.layer !== undefined) setSelect(ui.layer, o.layer);
      if (o.counterfactual !== undefined) ui.cf.checked = !!o.counterfactual;
      updateMethodControls();
      const r = await refresh();
      if (!r) throw new EngineError("cancelled", "cancelled");
      return publicResult(r);
    },
    cancel() { if (running) running.abort(); },
    // debug: hooks for the browser tests. crashEngine(kind) makes the
    // engine fail as it can in a browser ("panic", "throw", "hang",
    // "kill"; see EngineClient.crash); watchdogMs(ms) sets how long the
    // engine may stay silent before it counts as dead.
    debug: Object.freeze({
      crashEngine: (kind) => ex.engine.crash(kind),
      watchdogMs: (ms) => { ex.engine.staleMs = ms; },
    }),
    // last() is the latest explanation shown.
    last: () => (lastResult ? publicResult(lastResult) : null),
  });
}

// ---------- start ----------

// The steps from opening the page to its first map, as the page marks
// them (camlens:<step>): the start-up's progress bar moves one step at
// each. engine-go-start comes once the engine's binary is downloaded and
// compiled.
const STARTUP_STEPS = ["engine-go-start", "engine-ready", "model-loaded", "image-set", "predicted", "map-computed"];

// startupProgress shows the progress bar until the function it returns is
// called (after the first map, or a failure); a slow step's own progress
// (progressTask: a model's download, a slow method) borrows the bar
// meanwhile and gives it back.
function startupProgress() {
  startupActive = true;
  showStartupBar();
  const obs = typeof PerformanceObserver === "function" ? new PerformanceObserver(() => {
    if (!startupActive) return;
    const done = startupValue();
    if (ui.progress.getAttribute("aria-label") === STARTUP_LABEL) ui.progress.value = done; // not while a progressTask has the bar
    if (ui.status.textContent === LOADING_ENGINE && done >= 1) setStatus("Starting the engine…");
  }) : null;
  if (obs) obs.observe({ type: "mark" });
  return () => {
    if (obs) obs.disconnect();
    startupActive = false;
    if (ui.progress.getAttribute("aria-label") === STARTUP_LABEL) {
      ui.progress.hidden = true;
      ui.progress.removeAttribute("aria-label");
    }
  };
}

// startupValue is the number of start-up steps done (a sliver before the
// first).
function startupValue() {
  return Math.max(0.3, STARTUP_STEPS.filter((n) => performance.getEntriesByName("camlens:" + n).length > 0).length);
}

function showStartupBar() {
  ui.progress.max = STARTUP_STEPS.length + 1;
  ui.progress.value = startupValue();
  ui.progress.setAttribute("aria-label", STARTUP_LABEL);
  ui.progress.hidden = false;
}

const STARTUP_LABEL = "Start-up progress";
let startupActive = false; // between startupProgress() and its stop
const LOADING_ENGINE = "Loading the engine…"; // downloading it on a first visit, reading the offline copy on later ones

async function start() {
  wire();
  setStatus(LOADING_ENGINE);
  // The catalog, the gallery and the first model download while the
  // engine starts.
  const catalogP = loadCatalog().catch((e) => { showError(e); return []; });
  const samplesP = loadSamples().catch(() => []);
  samplesP.then((list) => {
    samples = list;
    fillGallery();
  });
  catalogP.then((cat) => {
    const want = linkedModel(parseHash(location.hash), cat);
    if (want) ex.prefetch(want);
  });
  // The first sample too (the one applyHash will load).
  Promise.all([catalogP, samplesP]).then(([cat, list]) => {
    const h = parseHash(location.hash);
    const smp = linkedSample(h, list, (linkedModel(h, cat) || {}).id, false);
    if (!smp) return;
    // Fetched and (a plain PNG) decoded while the engine starts.
    // The crop applyCrop will use for the model loadSample will load (a
    // square-crop model's, the link's first): the photo is on screen a
    // second or more before its first map.
    const entry = cat.find((e) => e.id === smp.model) || linkedModel(h, cat);
    const square = !!entry && entry.crop === "square";
    const crop = square ? parseCrop(h.crop) || smp.crop : null;
    samplePrefetch = {
      file: smp.file,
      bytes: fetchBytes(siteURL("web/samples/" + smp.file)).then((buf) => {
        view.showPhoto(buf, { decoded: ex.predecode(buf), crop, square }, () => generation !== 0);
        return buf;
      }),
    };
    samplePrefetch.bytes.catch(() => {});
  });
  const info = await ex.hello();
  performance.mark("camlens:engine-ready");
  methods = info.methods;
  for (const m of methods) {
    ui.method.add(new Option(m.title + (m.slow ? " (slow)" : ""), m.name));
    ui.compareMethod.add(new Option(m.title, m.name));
  }
  ui.compareMethod.value = methods.some((m) => m.name === "hirescam") ? "hirescam" : methods[1].name;
  for (const c of info.colormaps) ui.colormap.add(new Option(c, c));
  [catalog, samples] = await Promise.all([catalogP, samplesP]);
  fillModels();
  view.ready.then(() => performance.mark("camlens:view-ready"));
  view.live.then(() => performance.mark("camlens:view-live"));
  await applyHash();
  performance.mark("camlens:first-explanation");
  if (!ex.model) setStatus("Open a model file to begin.");
  else if (!ex.image) setStatus("Pick a sample, open an image or use the webcam.");
}

// The offline cache (sw.js) downloads the whole site once more on its
// first install: it starts after the first explanation, not during it.
function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(siteURL("sw.js")).catch((e) => console.warn("camlens: no offline cache:", e.message));
}

const stopStartupProgress = startupProgress();
const ready = start().finally(stopStartupProgress).then(() => { document.body.dataset.ready = "1"; }, (e) => {
  if (isCancel(e)) {
    setStatus("Cancelled. Choose a model to begin.");
    fillModels();
  } else {
    showError(e);
    setStatus("Something went wrong; see the message above.");
  }
  document.body.dataset.ready = "1";
});
// The ebiten view starts once the first map is on screen (the preview
// draws it; see ViewHost), so that it does not slow the first map down.
ready.then(showThumbs);
ready.then(() => view.boot());
ready.then(registerServiceWorker);
installAPI(ready);
