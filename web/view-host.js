// ViewHost drives the ebiten view in an <iframe data-src="view.html"> (see
// wasm/view): it sends scenes (base images, maps, box, peak) and styles
// (opacity, colormap table, box/peak toggles) and receives hover read-outs
// and "drawn" acknowledgements (the page's body gets data-drawn = the
// latest scene on screen). Messages go to the view's origin only.
//
// The view starts when the page calls boot() (setting the iframe's src):
// the page boots it after its first explanation, so that ebiten's start-up
// (its shader compiler, WebGL) does not compete with the engine for the
// CPU while the user waits for the first map. Until the view has drawn,
// a <canvas> over the iframe shows the scenes instead, drawn here with
// Canvas 2D by the view's rules (the same layout, the map's colour
// entry floor(255·v) blended at the opacity, box and peak), and then gives
// way to the view. The preview reads no hover values.

const BACKGROUND = "#1b1f24"; // the view's
const GAP = 8; // scene.Gap

export class ViewHost {
  constructor(iframe) {
    this.iframe = iframe;
    this.seq = 0;
    this.drawnSeq = 0;
    this.waiters = [];
    this.onHover = null;
    this.onError = null;
    this.scene = null; // {seq, panels}: the latest, for the preview and the view's first frame
    this.styleMsg = null; // the latest style
    this.booted = false;
    this.readyResolved = false; // the view listens
    this.handedOver = false; // the view has drawn the latest scene: the preview is gone
    this.ready = new Promise((resolve) => { this.resolveReady = resolve; });
    // live resolves when the view has drawn and the preview is gone.
    this.live = new Promise((resolve) => { this.resolveLive = resolve; });
    this.preview = document.createElement("canvas");
    this.preview.className = "view-preview";
    this.preview.setAttribute("aria-hidden", "true");
    iframe.after(this.preview);
    this.resize = new ResizeObserver(() => { if (!this.handedOver) this.drawPreview(); });
    this.resize.observe(this.preview);
    this.listener = (ev) => {
      if (ev.origin !== location.origin || ev.source !== iframe.contentWindow) return;
      const m = ev.data;
      if (!m || typeof m !== "object") return;
      switch (m.type) {
        case "ready":
          this.takeOver();
          break;
        case "drawn":
          this.drawn(m.seq);
          if (!this.handedOver && this.scene && m.seq >= this.scene.seq) this.handOver();
          break;
        case "hover":
          if (this.onHover) this.onHover(m);
          break;
        case "error":
          if (this.onError) this.onError(m.message);
          break;
      }
    };
    window.addEventListener("message", this.listener);
  }

  // boot starts the view (once); it takes over from the preview when it
  // has drawn the latest scene.
  boot() {
    if (this.booted) return;
    this.booted = true;
    this.iframe.src = this.iframe.dataset.src || "view.html";
  }

  // takeOver: the view listens; it gets the latest style and scene.
  takeOver() {
    this.readyResolved = true;
    this.resolveReady();
    if (this.styleMsg) this.post(this.styleMsg);
    if (this.scene) this.postScene(this.scene);
    else this.handOver(); // nothing to draw: the view's empty frame replaces the preview's
  }

  handOver() {
    this.handedOver = true;
    this.preview.hidden = true;
    this.resize.disconnect();
    this.resolveLive();
  }

  drawn(seq) {
    this.drawnSeq = Math.max(this.drawnSeq, seq);
    document.body.dataset.drawn = String(this.drawnSeq);
    this.waiters = this.waiters.filter((w) => (this.drawnSeq >= w.seq ? (w.resolve(), false) : true));
  }

  post(msg, transfer = []) {
    this.iframe.contentWindow.postMessage(msg, location.origin, transfer);
  }

  postScene(sc) {
    const copy = copyPanels(sc.panels);
    const transfer = [];
    for (const p of copy) {
      transfer.push(p.base.data.buffer);
      if (p.map) transfer.push(p.map.data.buffer);
    }
    this.post({ type: "scene", seq: sc.seq, panels: copy }, transfer);
  }

  // show sends a scene: panels = [{base: {w, h, data}, map?: {w, h, data},
  // box?: [x0, y0, x1, y1], peak?: [x, y]}]. The data arrays are copied
  // (they stay usable here).
  // Resolves when the scene is on screen (the preview draws at once), or
  // after maxWait ms: a view that is not painting (a hidden tab, an iframe
  // off screen) must not hold the page up.
  async show(panels, maxWait = 3000) {
    const seq = ++this.seq;
    this.scene = { seq, panels: copyPanels(panels) };
    if (!this.handedOver) this.drawPreview();
    if (!this.readyResolved) return;
    const drawn = new Promise((resolve) => this.waiters.push({ seq, resolve }));
    this.postScene(this.scene);
    let timer = 0;
    const late = new Promise((resolve) => { timer = setTimeout(resolve, maxWait); });
    await Promise.race([drawn, late]);
    clearTimeout(timer);
  }

  // showPhoto shows an image file as photoPanel (opts: decoded, crop,
  // square) makes it, while the engine is still starting, and marks
  // camlens:photo-shown; nothing once superseded() (an explanation is
  // under way) or when the browser cannot decode it.
  async showPhoto(buf, opts, superseded) {
    if (superseded()) return;
    const panel = await photoPanel(buf, opts);
    if (!panel || superseded()) return;
    await this.show([panel]);
    performance.mark("camlens:photo-shown");
  }

  async style({ alpha, lut, box, peak }) {
    this.styleMsg = { type: "style", alpha, lut: lut.slice(), box: !!box, peak: !!peak };
    if (!this.handedOver) this.drawPreview();
    if (this.readyResolved) this.post(this.styleMsg);
  }

  async clear() {
    this.scene = null;
    if (!this.handedOver) this.drawPreview();
    if (this.readyResolved) this.post({ type: "clear" });
  }

  // drawPreview draws the latest scene with the latest style on the
  // preview canvas, as the view would.
  drawPreview() {
    const c = this.preview;
    const dpr = Math.min(Math.max(window.devicePixelRatio || 1, 1), 2);
    const w = Math.round(c.clientWidth * dpr), h = Math.round(c.clientHeight * dpr);
    if (w === 0 || h === 0) return;
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    const ctx = c.getContext("2d");
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, w, h);
    const sc = this.scene;
    if (sc) {
      const rects = layout(w, h, sc.panels.map((p) => p.base.w / p.base.h));
      sc.panels.forEach((p, i) => drawPanel(ctx, p, rects[i], this.styleMsg, dpr));
      this.drawn(sc.seq);
    }
  }
}

// layout is scene.Layout: side by side when the canvas is at least as
// wide as tall, stacked otherwise; each image centred in its cell at its
// aspect ratio, with whole-pixel corners.
export function layout(w, h, aspects) {
  const n = aspects.length;
  const horizontal = w >= h;
  return aspects.map((a, i) => {
    let cell;
    if (horizontal) {
      const cw = (w - GAP * (n - 1)) / n;
      cell = [i * (cw + GAP), 0, i * (cw + GAP) + cw, h];
    } else {
      const ch = (h - GAP * (n - 1)) / n;
      cell = [0, i * (ch + GAP), w, i * (ch + GAP) + ch];
    }
    if (!(a > 0) || !isFinite(a)) a = 1;
    let rw = cell[2] - cell[0], rh = cell[3] - cell[1];
    if (rw / rh > a) rw = rh * a; else rh = rw / a;
    const x0 = Math.round(cell[0] + (cell[2] - cell[0] - rw) / 2), y0 = Math.round(cell[1] + (cell[3] - cell[1] - rh) / 2);
    return [x0, y0, Math.round(x0 + rw), Math.round(y0 + rh)];
  });
}

// PHOTO_SIDE is the engine's BaseSide: the longest side of a base image.
const PHOTO_SIDE = 512;

// photoPanel returns the panel {base} the engine's prediction will show
// for an image file (an ArrayBuffer): the crop [x, y, w, h] (black where
// it leaves the image), or for a square crop model without one the
// largest centred square (the engine's default), or else the whole image;
// at most PHOTO_SIDE on a side. decoded, when not null, is the page's own
// decoding of the file (Explainer.predecode: a promise of {w, h, pixels}
// or of null); without pixels from it the browser decodes the file. Null
// when this browser cannot.
async function photoPanel(buf, { decoded = null, crop = null, square = false } = {}) {
  let bmp;
  try {
    const px = decoded && (await decoded);
    if (!px && typeof createImageBitmap !== "function") return null;
    const src = px ? canvasOf(px.w, px.h, px.pixels) : (bmp = await createImageBitmap(new Blob([buf])));
    const { width: iw, height: ih } = src;
    const s = Math.min(iw, ih);
    const [x, y, w, h] = Array.isArray(crop) && crop.length === 4 ? crop
      : square ? [Math.floor((iw - s) / 2), Math.floor((ih - s) / 2), s, s] : [0, 0, iw, ih];
    if (!(w > 0 && h > 0)) return null;
    const k = Math.min(1, PHOTO_SIDE / Math.max(w, h));
    const bw = Math.max(1, Math.round(w * k)), bh = Math.max(1, Math.round(h * k));
    const c = document.createElement("canvas");
    c.width = bw;
    c.height = bh;
    const ctx = c.getContext("2d", { willReadFrequently: true });
    ctx.fillStyle = "#000"; // as the engine pads a crop that leaves the image
    ctx.fillRect(0, 0, bw, bh);
    ctx.drawImage(src, x, y, w, h, 0, 0, bw, bh);
    return { base: { w: bw, h: bh, data: ctx.getImageData(0, 0, bw, bh).data } };
  } catch (e) {
    return null; // the engine decodes it again and says what is wrong with it
  } finally {
    if (bmp) bmp.close();
  }
}

function copyPanels(panels) {
  return panels.map((p) => {
    const out = { base: { w: p.base.w, h: p.base.h, data: p.base.data.slice() } };
    if (p.map) {
      out.map = { w: p.map.w, h: p.map.h, data: p.map.data.slice() };
      if (p.box) out.box = p.box.slice();
      if (p.peak) out.peak = p.peak.slice();
    }
    return out;
  });
}

function canvasOf(w, h, rgba) {
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  c.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, w * h * 4), w, h), 0, 0);
  return c;
}

function drawPanel(ctx, p, r, style, k) {
  const [x0, y0, x1, y1] = r;
  if (x1 - x0 < 1 || y1 - y0 < 1) return;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "medium";
  ctx.drawImage(canvasOf(p.base.w, p.base.h, p.base.data), x0, y0, x1 - x0, y1 - y0);
  if (!p.map || !style) return;
  const { w, h, data } = p.map;
  if (style.alpha > 0) {
    const rgba = new Uint8ClampedArray(w * h * 4);
    const lut = style.lut;
    for (let i = 0; i < w * h; i++) {
      const e = Math.min(Math.max(Math.floor(data[i] * 255), 0), 255) * 4;
      rgba[4 * i] = lut[e];
      rgba[4 * i + 1] = lut[e + 1];
      rgba[4 * i + 2] = lut[e + 2];
      rgba[4 * i + 3] = 255;
    }
    ctx.globalAlpha = style.alpha;
    ctx.drawImage(canvasOf(w, h, rgba), x0, y0, x1 - x0, y1 - y0);
    ctx.globalAlpha = 1;
  }
  const sx = (x1 - x0) / w, sy = (y1 - y0) / h;
  if (style.box && p.box) {
    const bx0 = x0 + p.box[0] * sx, by0 = y0 + p.box[1] * sy, bx1 = x0 + p.box[2] * sx, by1 = y0 + p.box[3] * sy;
    for (const [width, colour] of [[3 * k, "rgba(0,0,0,0.78)"], [1.5 * k, "#7fff4f"]]) {
      ctx.lineWidth = width;
      ctx.strokeStyle = colour;
      ctx.strokeRect(bx0 + k, by0 + k, bx1 - bx0 - 2 * k, by1 - by0 - 2 * k);
    }
  }
  if (style.peak && p.peak) {
    const px = x0 + (p.peak[0] + 0.5) * sx, py = y0 + (p.peak[1] + 0.5) * sy;
    for (const [width, colour] of [[3 * k, "rgba(0,0,0,0.78)"], [1.5 * k, "#fff"]]) {
      ctx.lineWidth = width;
      ctx.strokeStyle = colour;
      ctx.beginPath();
      ctx.arc(px, py, 6 * k, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }
}
