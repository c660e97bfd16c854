// ViewHost drives the ebiten view in an <iframe src="view.html"> (see
// wasm/view): it sends scenes (base images, maps, box, peak) and styles
// (opacity, colormap table, box/peak toggles) and receives hover read-outs
// and "drawn" acknowledgements (the page's body gets data-drawn = the
// latest scene on screen). Messages go to the view's origin only.

export class ViewHost {
  constructor(iframe) {
    this.iframe = iframe;
    this.seq = 0;
    this.drawnSeq = 0;
    this.waiters = [];
    this.onHover = null;
    this.onError = null;
    this.ready = new Promise((resolve) => { this.resolveReady = resolve; });
    this.listener = (ev) => {
      if (ev.origin !== location.origin || ev.source !== iframe.contentWindow) return;
      const m = ev.data;
      if (!m || typeof m !== "object") return;
      switch (m.type) {
        case "ready":
          this.resolveReady();
          break;
        case "drawn":
          this.drawnSeq = m.seq;
          document.body.dataset.drawn = String(m.seq);
          this.waiters = this.waiters.filter((w) => (m.seq >= w.seq ? (w.resolve(), false) : true));
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

  post(msg, transfer = []) {
    this.iframe.contentWindow.postMessage(msg, location.origin, transfer);
  }

  // show sends a scene: panels = [{base: {w, h, data}, map?: {w, h, data},
  // box?: [x0, y0, x1, y1], peak?: [x, y]}]. The data arrays are copied
  // (they stay usable here). Resolves when the view has drawn it, or after
  // maxWait ms: a view that is not painting (a hidden tab, an iframe off
  // screen) must not hold the page up.
  async show(panels, maxWait = 3000) {
    await this.ready;
    const seq = ++this.seq;
    const copy = panels.map((p) => {
      const out = { base: { w: p.base.w, h: p.base.h, data: p.base.data.slice() } };
      if (p.map) {
        out.map = { w: p.map.w, h: p.map.h, data: p.map.data.slice() };
        if (p.box) out.box = p.box.slice();
        if (p.peak) out.peak = p.peak.slice();
      }
      return out;
    });
    const transfer = [];
    for (const p of copy) {
      transfer.push(p.base.data.buffer);
      if (p.map) transfer.push(p.map.data.buffer);
    }
    const drawn = new Promise((resolve) => this.waiters.push({ seq, resolve }));
    this.post({ type: "scene", seq, panels: copy }, transfer);
    let timer = 0;
    const late = new Promise((resolve) => { timer = setTimeout(resolve, maxWait); });
    await Promise.race([drawn, late]);
    clearTimeout(timer);
  }

  async style({ alpha, lut, box, peak }) {
    await this.ready;
    this.post({ type: "style", alpha, lut: lut.slice(), box: !!box, peak: !!peak });
  }

  async clear() {
    await this.ready;
    this.post({ type: "clear" });
  }
}
