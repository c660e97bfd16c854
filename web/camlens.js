// Shared by the full page (app.js) and the embed (embed-app.js): the
// catalog and sample gallery, model downloads with progress and integrity
// check, and Explainer, which keeps the engine's state (model, image, crop,
// predictions) and turns requests into engine calls.

import { EngineClient, EngineError } from "./engine.js";

export { EngineError };

// siteURL resolves a path against the site root (this file lives in web/).
export function siteURL(path) {
  return new URL("../" + path, import.meta.url).href;
}

// sameOrigin accepts only URLs of this page's origin (the CSP would block
// the others anyway; this gives a clear message first).
export function sameOriginURL(url) {
  const u = new URL(url, location.href);
  if (u.origin !== location.origin) {
    throw new EngineError(`CamLens loads files from its own origin only (${location.origin}), not ${u.origin}`, "input");
  }
  return u.href;
}

export async function loadCatalog() {
  const resp = await fetch(siteURL("models/catalog.json"));
  if (!resp.ok) throw new Error(`models/catalog.json: HTTP ${resp.status}`);
  const cat = await resp.json();
  if (!Array.isArray(cat)) throw new Error("models/catalog.json is not a list");
  return cat;
}

export async function loadSamples() {
  const resp = await fetch(siteURL("web/samples/samples.json"));
  if (!resp.ok) return [];
  const j = await resp.json();
  return Array.isArray(j.samples) ? j.samples : [];
}

export function defaultEntry(catalog) {
  return catalog.find((e) => e.default) || catalog[0] || null;
}

// fetchBytes downloads url with progress (onProgress(received, total)),
// cancellable through signal; with sha256 (hex) it checks the bytes.
export async function fetchBytes(url, { signal, onProgress, size, sha256 } = {}) {
  const resp = await fetch(sameOriginURL(url), { signal });
  if (!resp.ok) throw new EngineError(`${url}: HTTP ${resp.status}`, "input");
  // Content-Length counts encoded bytes when the server compressed the
  // body; the catalog's size is the decoded size.
  const total = size || (resp.headers.get("Content-Encoding") ? 0 : Number(resp.headers.get("Content-Length")) || 0);
  let buf;
  if (resp.body && resp.body.getReader) {
    const reader = resp.body.getReader();
    const chunks = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.length;
      if (onProgress) onProgress(received, total);
    }
    const out = new Uint8Array(received);
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.length;
    }
    buf = out.buffer;
  } else {
    buf = await resp.arrayBuffer();
    if (onProgress) onProgress(buf.byteLength, buf.byteLength);
  }
  if (sha256 && crypto.subtle) {
    const got = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", buf)), (b) => b.toString(16).padStart(2, "0")).join("");
    if (got !== sha256.toLowerCase()) throw new EngineError(`${url}: checksum mismatch (the download is damaged)`, "input");
  }
  return buf;
}

// Explainer owns one engine and what it holds. All methods return promises
// and reject with EngineError (code "cancelled" when cancelled, "crashed"
// when the engine died while working on it).
//
// It keeps a copy of the model and image it gave the engine: when the
// engine dies (see EngineClient), it starts a new one, loads the model and
// the image again and re-runs the last prediction, and tells its listeners
// (onRecovery) {phase: "restarting" | "restarted" | "gave-up", reason,
// attempt, max}. After maxRestarts deaths in a row with no successful
// explanation in between it stops trying ("gave-up"): every later request
// fails with that message.
export class Explainer {
  constructor(engine = new EngineClient(), { maxRestarts = 3 } = {}) {
    this.engine = engine;
    this.model = null; // engine's model info
    this.modelId = ""; // catalog id or file name
    this.image = null; // {width, height, format, preview}
    this.crop = null; // [x, y, w, h] in image pixels, or null: whole image
    this.prediction = null; // {predictions, base, region, timings}
    this.lutCache = new Map();
    this.info = null;
    this.prefetched = new Map(); // catalog id → promise of the model's bytes
    this.decoding = new WeakMap(); // image ArrayBuffer → promise of decodePlainPNG's result
    this.modelSource = null; // {blob, name} of the loaded model
    this.imageSource = null; // {blob, name} of the loaded image
    this.topk = 5;
    this.maxRestarts = maxRestarts;
    this.crashes = 0; // engine deaths since the last successful explanation
    this.recovery = null; // promise while recovering
    this.gaveUp = null; // EngineError once recovery stopped trying
    this.recoveryListeners = new Set();
    this.engine.onEvent((ev) => {
      if (ev.type === "fatal" && this.info) this.recover(ev.message);
    });
  }

  onRecovery(fn) {
    this.recoveryListeners.add(fn);
    return () => this.recoveryListeners.delete(fn);
  }

  tell(ev) {
    for (const l of this.recoveryListeners) l(Object.assign({ max: this.maxRestarts }, ev));
  }

  // request waits for a recovery in progress, then asks the engine.
  async request(op, args, transfer, opts) {
    while (this.recovery) await this.recovery;
    if (this.gaveUp) throw this.gaveUp;
    return this.engine.request(op, args, transfer, opts);
  }

  // recover restarts the dead engine and reloads the model, the image and
  // the prediction; a death during the reload counts as one more.
  recover(reason) {
    if (this.recovery || this.gaveUp) return this.recovery;
    this.recovery = (async () => {
      for (;;) {
        this.crashes++;
        if (this.crashes > this.maxRestarts) {
          this.gaveUp = new EngineError(`The engine stopped ${this.crashes} times in a row (last: ${reason}); CamLens stopped restarting it. Reload the page to start again.`, "crashed");
          this.tell({ phase: "gave-up", reason, attempt: this.crashes, message: this.gaveUp.message });
          return;
        }
        this.tell({ phase: "restarting", reason, attempt: this.crashes });
        try {
          await this.reload();
          this.tell({ phase: "restarted", reason, attempt: this.crashes });
          return;
        } catch (e) {
          if (!e || e.code !== "crashed") {
            // The engine runs but refused what it accepted before: say so
            // and carry on with what could be reloaded.
            this.tell({ phase: "restarted", reason, attempt: this.crashes, error: e });
            return;
          }
          reason = e.message;
        }
      }
    })().finally(() => {
      this.recovery = null;
    });
    return this.recovery;
  }

  async reload() {
    await this.engine.restart();
    const hadPrediction = !!this.prediction;
    if (this.modelSource) {
      const buf = await this.modelSource.blob.arrayBuffer();
      const r = await this.engine.request("loadModel", { data: buf, name: this.modelSource.name }, [buf]);
      this.model = r.model;
    }
    if (this.imageSource) {
      const buf = await this.imageSource.blob.arrayBuffer();
      this.image = await this.engine.request("setImage", { data: buf, name: this.imageSource.name }, [buf]);
    }
    this.prediction = null;
    if (hadPrediction && this.model && this.image) {
      this.prediction = await this.engine.request("predict", { crop: this.crop || null, topk: this.topk });
    }
  }

  // prefetch starts downloading a catalog model while the engine boots;
  // loadCatalogModel then uses the download (once).
  prefetch(entry) {
    if (!this.prefetched.has(entry.id)) {
      const p = fetchBytes(siteURL("models/" + entry.file), { size: entry.size, sha256: entry.sha256 });
      p.catch(() => {}); // reported when used
      this.prefetched.set(entry.id, p);
    }
  }

  async hello() {
    if (!this.info) this.info = await this.request("hello");
    return this.info;
  }

  // interrupted: e is the error of a request the engine's death cut short
  // while recover brings it back and redoes the work: not a failure to
  // show the user.
  interrupted(e) {
    return !!(e && e.code === "crashed" && this.info && !this.gaveUp);
  }

  // imageName is the loaded image's name ("" before one).
  get imageName() {
    return this.imageSource ? this.imageSource.name : "";
  }

  // limits are the engine's size limits (the hello reply's), or null
  // before hello.
  get limits() {
    return this.info && this.info.limits ? this.info.limits : null;
  }

  // loadModelBytes hands a model file to the engine (the buffer is
  // transferred). name decides the format when the bytes do not
  // (".onnx" or a CamLens ".safetensors" file).
  async loadModelBytes(buf, name, id = name) {
    const blob = new Blob([buf]);
    const r = await this.request("loadModel", { data: buf, name }, [buf]);
    this.model = r.model;
    this.modelId = id;
    this.modelSource = { blob, name };
    this.prediction = null;
    return r.model;
  }

  // loadCatalogModel downloads a catalog entry and loads it.
  async loadCatalogModel(entry, { signal, onProgress } = {}) {
    let buf = null;
    const pre = this.prefetched.get(entry.id);
    if (pre) {
      this.prefetched.delete(entry.id);
      buf = await pre.catch(() => null);
    }
    if (!buf) {
      buf = await fetchBytes(siteURL("models/" + entry.file), {
        signal, onProgress, size: entry.size, sha256: entry.sha256,
      });
    }
    return this.loadModelBytes(buf, entry.file, entry.id);
  }

  // setImageBytes gives the engine an image file. A plain PNG (see
  // plainPNG) is decoded here by the browser, natively and off the main
  // thread, and goes to the engine as pixels: the same pixels Go's
  // decoder gives, much sooner than Go's decoder in freshly loaded
  // WebAssembly. Everything else (JPEG, GIF, WebP, other PNGs: their
  // decoders may differ, and Go's is the reference) goes as bytes.
  // The answer has a preview for the crop editor ({w, h, data}: the image
  // fitted into the engine's previewSide) unless preview is false; where
  // the browser decoded an image that fits, the preview is a copy of its
  // pixels (the same bytes as the engine's, which then makes none).
  async setImageBytes(buf, name = "image", { preview = true } = {}) {
    const blob = new Blob([buf]);
    const pending = this.decoding.get(buf);
    this.decoding.delete(buf);
    const dec = await (pending || decodePlainPNG(buf, this.limits));
    const side = this.info ? this.info.previewSide : 0;
    const own = preview && dec && dec.w <= side && dec.h <= side ? { w: dec.w, h: dec.h, data: new Uint8Array(dec.pixels) } : null;
    const r = dec
      ? await this.request("setImage", { pixels: dec.pixels.buffer, width: dec.w, height: dec.h, name, preview: preview && !own }, [dec.pixels.buffer])
      : await this.request("setImage", { data: buf, name, preview }, [buf]);
    if (own) r.preview = own;
    this.image = r;
    this.imageSource = { blob, name };
    this.prediction = null;
    return r;
  }

  // predecode starts decoding an image in the browser (when it is a plain
  // PNG) before the engine is ready, so that setImageBytes(buf) later
  // need not wait for it. It returns that decoding: a promise of
  // {w, h, pixels} (8-bit RGBA), or of null where the engine decodes.
  predecode(buf) {
    if (!this.decoding.has(buf)) this.decoding.set(buf, decodePlainPNG(buf, this.limits));
    return this.decoding.get(buf);
  }

  async setImageURL(url, opts = {}) {
    const buf = await fetchBytes(url, opts);
    return this.setImageBytes(buf, new URL(url, location.href).pathname.split("/").pop());
  }

  // defaultCrop is the whole image for models without a crop hint and the
  // largest centred square for "square" models.
  defaultCrop() {
    if (!this.image) return null;
    if (!this.model || this.model.input.crop !== "square") return null;
    const { width: w, height: h } = this.image;
    const s = Math.min(w, h);
    return [Math.floor((w - s) / 2), Math.floor((h - s) / 2), s, s];
  }

  async predict(crop = this.crop, topk = 5) {
    if (!this.model) throw new EngineError("no model loaded", "state");
    if (!this.image) throw new EngineError("no image loaded", "state");
    const r = await this.request("predict", { crop: crop || null, topk });
    this.crop = crop || null;
    this.topk = topk;
    this.prediction = r;
    return r;
  }

  // explain: opts {method, class (-1 top), layers [], target, counterfactual,
  // eigenSmooth}; progress and signal as for requests.
  async explain(opts, ro = {}) {
    return this.explainOp("explain", opts, ro);
  }

  // metrics checks the explanation opts describes (as for explain):
  // RISE's deletion and insertion curves and AUCs of its map and of a
  // random map, {method, class, label, steps, map: {deletion, insertion},
  // random: {deletion, insertion}}, each curve {fractions, scores, auc}.
  async metrics(opts, ro = {}) {
    return this.explainOp("metrics", opts, ro);
  }

  // explainOp sends op ("explain", "metrics") for the explanation opts
  // describes; its success ends a run of engine deaths (see recover).
  async explainOp(op, opts, { signal, onProgress } = {}) {
    if (!this.prediction) throw new EngineError("no prediction yet (load a model and an image)", "state");
    const r = await this.request(op, explainArgs(opts), [], { signal, onProgress });
    this.crashes = 0;
    return r;
  }

  async exportLast(kind, colormap, alpha) {
    return this.request("export", { kind, colormap, alpha });
  }

  async lut(name) {
    if (!this.lutCache.has(name)) {
      const r = await this.request("colormap", { colormap: name });
      this.lutCache.set(name, r.lut);
    }
    return this.lutCache.get(name);
  }

  // classIndex resolves a class given as an index or a label (-1: top).
  classIndex(c) {
    if (c === undefined || c === null || c === "" || c === "top") return -1;
    if (typeof c === "number") return c;
    if (/^-?\d+$/.test(String(c))) return Number(c);
    const i = this.model ? this.model.labels.indexOf(String(c)) : -1;
    if (i < 0) throw new EngineError(`unknown class ${JSON.stringify(c)}`, "input");
    return i;
  }
}

// isCancel: e is a cancelled request's error (the engine's, or an
// AbortSignal's).
export function isCancel(e) {
  return !!e && (e.code === "cancelled" || e.name === "AbortError");
}

function explainArgs(opts) {
  return {
    method: opts.method || "gradcam",
    class: Number.isInteger(opts.class) ? opts.class : -1,
    layers: opts.layers || [],
    target: opts.target || "logit",
    counterfactual: !!opts.counterfactual,
    eigenSmooth: !!opts.eigenSmooth,
  };
}

// formatBytes writes a size for people in decimal units, as the engine
// does (wasm/engine/worker's formatBytes).
export function formatBytes(n) {
  const mb = 1e6;
  if (n >= 100 * mb) return `${Math.round(n / mb)} MB`;
  if (n >= mb) return `${(n / mb).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} bytes`;
}

// checkFileSize throws an EngineError (code "input") when a file is over
// the engine's limit for its kind ("image" or "model"; a model's format
// from its name), before any of it is read. limits: the engine's
// (Explainer.limits); null skips the check.
export function checkFileSize(file, kind, limits) {
  if (!limits) return;
  let limit, what;
  if (kind === "image") {
    [limit, what] = [limits.imageBytes, "an image"];
  } else if (/\.onnx$/i.test(file.name)) {
    [limit, what] = [limits.onnxBytes, "an ONNX model"];
  } else if (/\.safetensors$/i.test(file.name)) {
    [limit, what] = [limits.modelBytes, "a CamLens model file"];
  } else {
    [limit, what] = [Math.max(limits.modelBytes, limits.onnxBytes), "a model file"];
  }
  if (file.size > limit) {
    throw new EngineError(`${file.name} is ${formatBytes(file.size)}; the limit for ${what} is ${formatBytes(limit)}. CamLens did not read it.`, "input");
  }
}

// panelsFor builds the view's scene for a result: the base image with the
// map over it, or for the guided methods the guided image alone.
export function panelFor(prediction, result) {
  if (result.guided) return { base: result.guided };
  return { base: prediction.base, map: { w: result.w, h: result.h, data: result.map }, box: result.box || undefined, peak: result.peak };
}

export function formatMs(ms) {
  if (ms === undefined || ms === null) return "–";
  return ms < 10 ? ms.toFixed(1) + " ms" : Math.round(ms) + " ms";
}

// BROWSER_DECODE_PIXELS caps the images the page decodes itself: the
// decoded pixels exist in the page, in transit and in the engine at once.
const BROWSER_DECODE_PIXELS = 16e6;

// PNG chunks that change no pixel values; a PNG with any other chunk
// before its image data (tRNS, gAMA, cHRM, iCCP, sRGB, cICP, eXIf, …) is
// left to Go's decoder.
const PLAIN_PNG_CHUNKS = new Set(["IHDR", "PLTE", "pHYs", "tEXt", "zTXt", "iTXt", "tIME", "bKGD", "hIST", "sPLT", "sBIT"]);

// plainPNG returns {w, h} when bytes are a PNG whose pixels every correct
// decoder agrees on and the browser cannot colour-manage: 8 bits per
// sample (or a palette), no alpha (colour types 0, 2, 3 without tRNS), no
// colour-space chunk, at most maxPixels pixels (0: no limit); else null.
export function plainPNG(bytes, maxPixels) {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 33 || sig.some((b, i) => bytes[i] !== b)) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (at) => String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  if (dv.getUint32(8) !== 13 || type(12) !== "IHDR") return null;
  const w = dv.getUint32(16), h = dv.getUint32(20), depth = bytes[24], colour = bytes[25];
  if (w === 0 || h === 0 || (maxPixels && w * h > maxPixels)) return null;
  if (!((colour === 0 || colour === 2) && depth === 8) && !(colour === 3 && depth <= 8)) return null;
  for (let at = 8; at + 8 <= bytes.length;) {
    const len = dv.getUint32(at), t = type(at + 4);
    if (t === "IDAT") return { w, h };
    if (!PLAIN_PNG_CHUNKS.has(t)) return null;
    at += 12 + len;
  }
  return null;
}

// decodePlainPNG decodes buf in the browser when it is a plain PNG within
// the limits ({w, h, pixels: 8-bit RGBA}); null when it is not (or the
// browser cannot), and the engine decodes the bytes.
async function decodePlainPNG(buf, limits) {
  const size = plainPNG(new Uint8Array(buf), Math.min(limits ? limits.imagePixels : Infinity, BROWSER_DECODE_PIXELS));
  const pixels = size ? await decodeInBrowser(new Blob([buf]), size) : null;
  return pixels ? { w: size.w, h: size.h, pixels } : null;
}

// decodeInBrowser decodes a plain PNG of the given size into 8-bit RGBA,
// without colour management; null when the browser cannot (the bytes then
// go to Go's decoder, which says what is wrong with them).
async function decodeInBrowser(blob, { w, h }) {
  if (typeof createImageBitmap !== "function" || typeof OffscreenCanvas !== "function") return null;
  let bmp;
  try {
    bmp = await createImageBitmap(blob, { premultiplyAlpha: "none", colorSpaceConversion: "none" });
    if (bmp.width !== w || bmp.height !== h) return null;
    const ctx = new OffscreenCanvas(w, h).getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bmp, 0, 0);
    const px = ctx.getImageData(0, 0, w, h).data;
    for (let i = 3; i < px.length; i += 4) if (px[i] !== 255) return null;
    return px;
  } catch (e) {
    return null;
  } finally {
    if (bmp) bmp.close();
  }
}
