// <camlens-view> — a CamLens explanation for documentation pages.
//
//   <script src="/web/embed.js"></script>
//   <camlens-view model="face-expression" src="/web/samples/astronaut.png"
//                 method="gradcam" class="happy" alpha="0.5"></camlens-view>
//
// Attributes: model, src (an image URL on the CamLens origin), method,
// class (label or index; empty: the top class), alpha (0..1), colormap,
// layer, crop ("x,y,w,h"), counterfactual (present: on), height (CSS, default 320px).
// Methods: setImage(bytes | url, crop?), setOptions({...}), and the
// properties predictions and result. Events: "camlens-ready",
// "camlens-predictions" (detail: predictions), "camlens-result" (detail:
// {method, class, label, width, height, map: Float32Array, box, peak,
// timings, predictions}), "camlens-error" (detail: {message}).
// The element wraps an <iframe> of embed.html from the origin this script
// was loaded from.
(function () {
  "use strict";
  if (!window.customElements || customElements.get("camlens-view")) return;
  const script = document.currentScript;
  const base = new URL("../", script ? script.src : location.href);
  const attrs = ["model", "src", "method", "class", "alpha", "colormap", "layer", "crop", "counterfactual"];

  class CamLensView extends HTMLElement {
    static get observedAttributes() { return attrs.concat(["height"]); }

    constructor() {
      super();
      this.frame = null;
      this.ready = false;
      this.queue = [];
      this.predictions = null;
      this.result = null;
      this.onMessage = this.onMessage.bind(this);
    }

    connectedCallback() {
      if (this.frame) return;
      if (getComputedStyle(this).display === "inline") this.style.display = "block";
      const f = document.createElement("iframe");
      f.title = this.getAttribute("title") || "CamLens explanation";
      f.style.width = "100%";
      f.style.height = this.getAttribute("height") || "320px";
      f.style.border = "0";
      f.style.borderRadius = "8px";
      f.style.display = "block";
      f.src = new URL("embed.html", base).href + this.hash();
      this.frame = f;
      window.addEventListener("message", this.onMessage);
      this.appendChild(f);
    }

    disconnectedCallback() {
      window.removeEventListener("message", this.onMessage);
      if (this.frame) this.frame.remove();
      this.frame = null;
      this.ready = false;
    }

    hash() {
      const p = new URLSearchParams();
      for (const a of attrs) {
        if (!this.hasAttribute(a)) continue;
        if (a === "counterfactual") p.set("cf", "1");
        else if (a === "src") p.set("src", new URL(this.getAttribute("src"), location.href).href);
        else p.set(a, this.getAttribute(a));
      }
      return "#" + p.toString();
    }

    attributeChangedCallback(name, oldValue, value) {
      if (!this.frame || oldValue === value) return;
      if (name === "height") {
        this.frame.style.height = value || "320px";
      } else if (name === "src" || name === "crop") {
        if (this.hasAttribute("src")) this.setImage(this.getAttribute("src"), this.getAttribute("crop") || undefined);
      } else {
        const o = {};
        o[name === "counterfactual" ? "counterfactual" : name] = name === "counterfactual" ? value !== null : value;
        this.setOptions(o);
      }
    }

    send(msg, transfer) {
      if (!this.ready) {
        this.queue.push([msg, transfer]);
        return;
      }
      this.frame.contentWindow.postMessage(msg, base.origin, transfer || []);
    }

    // setImage(bytes | url, crop) explains a new image: an ArrayBuffer or
    // typed array, or a URL on the CamLens origin.
    setImage(src, crop) {
      if (typeof src === "string") {
        this.send({ camlens: "setImage", url: new URL(src, location.href).href, crop });
      } else {
        const buf = src instanceof ArrayBuffer ? src.slice(0) : src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength);
        this.send({ camlens: "setImage", data: buf, crop }, [buf]);
      }
    }

    setOptions(o) {
      this.send(Object.assign({ camlens: "setOptions" }, o));
    }

    onMessage(ev) {
      if (!this.frame || ev.source !== this.frame.contentWindow || ev.origin !== base.origin) return;
      const m = ev.data;
      if (!m || typeof m.camlens !== "string") return;
      switch (m.camlens) {
        case "ready":
          this.ready = true;
          for (const [msg, transfer] of this.queue.splice(0)) this.send(msg, transfer);
          this.dispatchEvent(new CustomEvent("camlens-ready"));
          break;
        case "predictions":
          this.predictions = m.predictions;
          this.dispatchEvent(new CustomEvent("camlens-predictions", { detail: m.predictions }));
          break;
        case "result":
          this.result = m;
          this.dispatchEvent(new CustomEvent("camlens-result", { detail: m }));
          break;
        case "error":
          this.dispatchEvent(new CustomEvent("camlens-error", { detail: { message: m.message } }));
          break;
      }
    }
  }
  customElements.define("camlens-view", CamLensView);
})();
