// embed.html: one explanation, configured by the URL hash
//   #model=<catalog id>&src=<same-origin image URL>&method=<name>
//    &class=<label|index>&alpha=<0..1>&colormap=<name>&crop=x,y,w,h&layer=<name>&cf=1
// and driven by postMessage from the embedding page (see the README, "Embedding CamLens"):
//   in:  {camlens: "setImage", data: ArrayBuffer | url: string, crop?: [x, y, w, h]}
//        {camlens: "setOptions", model?, method?, class?, alpha?, colormap?, layer?, counterfactual?, box?}
//        {camlens: "explain"}            re-send the current result
//   out: {camlens: "ready"}, {camlens: "predictions", predictions},
//        {camlens: "result", method, class, label, width, height, map: Float32Array,
//         box, peak, timings, predictions}, {camlens: "error", message}

import { Explainer, loadCatalog, loadSamples, defaultEntry, fetchBytes, panelFor, formatMs, siteURL } from "./camlens.js";
import { ViewHost } from "./view-host.js";
import { parseHash, parseCrop, parseOpacity, formatHash } from "./state.js";

const ex = new Explainer();
const view = new ViewHost(document.getElementById("view"));
const captionEl = document.getElementById("caption");
const openLink = document.getElementById("open");

const opts = { model: "", src: "", method: "gradcam", class: "", alpha: 0.5, colormap: "jet", layer: "", cf: false, box: true, crop: null };
let catalog = [];
let samples = [];
let parentOrigin = "*"; // becomes the embedding page's origin once it has written to us
let last = null;

function tell(kind, payload = {}, transfer = []) {
  if (parent === window) return;
  parent.postMessage(Object.assign({ camlens: kind }, payload), parentOrigin, transfer);
}

function caption(text, error) {
  captionEl.textContent = text;
  captionEl.className = error ? "error" : "";
}

function fail(e) {
  // A request the engine's death interrupted: the recovery below says so
  // and explains again.
  if (ex.interrupted(e)) return;
  const message = e instanceof Error ? e.message : String(e);
  caption(message, true);
  tell("error", { message });
  document.body.dataset.error = message;
}

async function ensureModel() {
  const entry = modelEntry(catalog);
  if (!entry) throw new Error(opts.model ? `unknown model "${opts.model}"` : "no model in the catalog");
  if (ex.modelId !== entry.id) {
    caption(`Loading ${entry.title}…`);
    await ex.loadCatalogModel(entry, { onProgress: (d, t) => t && caption(`Loading ${entry.title}… ${Math.round((100 * d) / t)}%`) });
  }
}

async function restyle() {
  const lut = await ex.lut(opts.colormap);
  await view.style({ alpha: opts.alpha, lut, box: opts.box, peak: opts.box });
}

let gen = 0;
async function render(predict) {
  const g = ++gen;
  await ensureModel();
  if (!ex.image) {
    caption("No image");
    return;
  }
  if (predict) {
    const square = ex.model.input.crop === "square";
    await ex.predict(square ? opts.crop || sampleCrop(samples, ex.modelId) || ex.defaultCrop() : null);
    tell("predictions", { predictions: ex.prediction.predictions });
  }
  const cls = ex.classIndex(opts.class);
  caption("Explaining…");
  const r = await ex.explain({ method: opts.method, class: cls, layers: opts.layer ? [opts.layer] : [], counterfactual: opts.cf });
  if (g !== gen) return;
  last = r;
  await restyle();
  await view.show([panelFor(ex.prediction, r)]);
  const top = ex.prediction.predictions[0];
  caption(`${r.label}${r.class === top.class ? ` ${(100 * top.prob).toFixed(0)}%` : ""} · ${ex.info.methods.find((m) => m.name === r.method).title} · ${formatMs(r.timings.total)}`);
  openLink.href = "index.html" + formatHash({ model: ex.modelId, method: r.method, class: r.label, opacity: opts.alpha, colormap: opts.colormap });
  sendResult();
  document.body.dataset.shown = String(view.seq);
}

// sampleCrop is the gallery's face crop when the image is one of the
// samples (smps) made for the model modelId.
function sampleCrop(smps, modelId) {
  if (!opts.src) return null;
  const href = new URL(opts.src, location.href).href;
  const s = smps.find((x) => siteURL("web/samples/" + x.file) === href && (!x.model || x.model === modelId));
  return s && Array.isArray(s.crop) ? s.crop : null;
}

function sendResult() {
  if (!last) return;
  const map = last.map.slice();
  tell("result", {
    method: last.method, class: last.class, label: last.label, width: last.w, height: last.h,
    map, box: last.box, peak: last.peak, timings: Object.assign({}, ex.prediction.timings, last.timings),
    predictions: ex.prediction.predictions,
  }, [map.buffer]);
}

function applyOptions(o) {
  if (o.model !== undefined) opts.model = String(o.model);
  if (o.method !== undefined) opts.method = String(o.method);
  if (o.class !== undefined) opts.class = o.class === null ? "" : o.class;
  if (o.alpha !== undefined) opts.alpha = parseOpacity(String(o.alpha), opts.alpha);
  if (o.colormap !== undefined) opts.colormap = String(o.colormap);
  if (o.layer !== undefined) opts.layer = String(o.layer);
  if (o.counterfactual !== undefined) opts.cf = !!o.counterfactual;
  if (o.box !== undefined) opts.box = !!o.box;
}

async function onMessage(ev) {
  if (ev.source !== parent || !ev.data || typeof ev.data !== "object" || typeof ev.data.camlens !== "string") return;
  parentOrigin = ev.origin === "null" ? "*" : ev.origin;
  const m = ev.data;
  try {
    switch (m.camlens) {
      case "setImage": {
        let buf;
        if (typeof m.url === "string") buf = await fetchBytes(m.url);
        else if (m.data instanceof ArrayBuffer) buf = m.data;
        else if (ArrayBuffer.isView(m.data)) buf = m.data.buffer.slice(m.data.byteOffset, m.data.byteOffset + m.data.byteLength);
        else throw new Error("setImage needs data (an ArrayBuffer) or url");
        opts.crop = parseCrop(Array.isArray(m.crop) ? m.crop.join(",") : m.crop);
        opts.src = typeof m.url === "string" ? m.url : "";
        await ensureModel();
        await ex.setImageBytes(buf, "image", { preview: false });
        await render(true);
        break;
      }
      case "setOptions": {
        const modelBefore = opts.model;
        const styleOnly = Object.keys(m).every((k) => ["camlens", "alpha", "colormap", "box"].includes(k));
        applyOptions(m);
        if (styleOnly) await restyle();
        else await render(opts.model !== modelBefore);
        break;
      }
      case "explain":
        sendResult();
        break;
      default:
        throw new Error(`unknown message "${m.camlens}"`);
    }
  } catch (e) {
    fail(e);
  }
}

async function start() {
  window.addEventListener("message", onMessage);
  const h = parseHash(location.hash);
  applyOptions({ model: h.model, method: h.method, class: h.class, alpha: h.alpha ?? h.opacity, colormap: h.colormap, layer: h.layer, counterfactual: h.cf === "1", box: h.box !== "0" });
  opts.crop = parseCrop(h.crop);
  opts.src = h.src || "";
  caption("Loading the engine…");
  // While the engine starts: the catalog, the model's file, and the image
  // (fetched, decoded by the browser when it can, and shown at once).
  const lists = Promise.all([loadCatalog(), loadSamples().catch(() => [])]);
  const image = opts.src ? fetchBytes(opts.src) : null;
  if (image) image.catch(() => {}); // reported below
  lists.then(([cat, smps]) => {
    const entry = modelEntry(cat);
    if (!entry) return;
    ex.prefetch(entry);
    // The image, cropped as render will crop it, until its map comes.
    const square = entry.crop === "square";
    const crop = square ? opts.crop || sampleCrop(smps, entry.id) : null;
    if (image) image.then((buf) => view.showPhoto(buf, { decoded: ex.predecode(buf), crop, square }, () => gen !== 0)).catch(() => {});
  }, () => {});
  await ex.hello();
  [catalog, samples] = await lists;
  await restyle();
  tell("ready");
  await ensureModel();
  if (opts.src) {
    await ex.setImageBytes(await image, opts.src.split("/").pop(), { preview: false });
    await render(true);
    performance.mark("camlens:first-explanation");
  } else {
    caption("Waiting for an image");
  }
}

// modelEntry is the catalog entry of the model the options name (the
// default one when they name none).
function modelEntry(cat) {
  return cat.find((e) => e.id === opts.model) || (opts.model ? null : defaultEntry(cat));
}

// The engine restarts itself when it dies (Explainer); say so, and
// explain again once it has the model and the image back.
ex.onRecovery((ev) => {
  if (ev.phase === "restarting") caption(`The engine stopped (${ev.reason}); restarting it…`);
  else if (ev.phase === "restarted" && ex.prediction) render(false).catch(fail);
  else if (ev.phase === "gave-up") fail(ev.message);
});

// The ebiten view starts once the first map is on screen (the preview
// draws it; see ViewHost), so that it does not slow the first map down.
start().catch(fail).finally(() => {
  document.body.dataset.ready = "1";
  view.boot();
});
