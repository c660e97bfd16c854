// The "Check this explanation" panel of the full page (index.html): it asks
// the engine for RISE's deletion and insertion curves of the map shown and
// of a random map (the engine's "metrics" request, core/metrics), draws the
// four curves as an inline SVG plot and states the AUCs in words. Results
// belong to one explanation (image, crop, model, method, class, layer,
// counterfactual); when the view changes they are marked out of date.

import { formatMs, isCancel } from "./camlens.js";

const SVG = "http://www.w3.org/2000/svg";

// The four curves: key in the engine's reply, label, CSS class.
const CURVES = [
  { set: "map", curve: "deletion", label: "Deletion, this map", cls: "del" },
  { set: "random", curve: "deletion", label: "Deletion, random map", cls: "del random" },
  { set: "map", curve: "insertion", label: "Insertion, this map", cls: "ins" },
  { set: "random", curve: "insertion", label: "Insertion, random map", cls: "ins random" },
];

export class CheckPanel {
  // el: the panel's elements by role; explainer: the page's Explainer.
  constructor(el, explainer) {
    this.el = el;
    this.ex = explainer;
    this.view = null; // {key, opts, title, label}: the explanation shown
    this.result = null; // {r, key, title, label}
    this.running = null; // AbortController
    el.toggle.addEventListener("click", () => this.setOpen(el.body.hidden));
    el.run.addEventListener("click", () => this.run());
    el.cancel.addEventListener("click", () => this.abort());
    if (typeof ResizeObserver !== "undefined") {
      let w = 0;
      new ResizeObserver(() => {
        const nw = el.figure.clientWidth;
        if (this.result && nw > 0 && nw !== w) this.draw();
        w = nw;
      }).observe(el.figure);
    }
  }

  setOpen(open) {
    this.el.body.hidden = !open;
    this.el.toggle.setAttribute("aria-expanded", String(open));
    if (open && this.result) this.draw();
  }

  // setView tells the panel which explanation the page shows now.
  setView(view) {
    this.view = view;
    this.markStale();
  }

  // viewChanging stops a check in progress: the page is about to show
  // another explanation (and the engine should not keep it waiting).
  viewChanging() {
    if (this.running) this.abort("Stopped: the explanation changed. Run the check again for the new one.");
  }

  abort(message = "Cancelled.") {
    if (!this.running) return;
    this.abortMessage = message;
    this.running.abort();
  }

  status(text, error = false) {
    this.el.status.textContent = text;
    this.el.status.classList.toggle("error-text", error);
  }

  markStale() {
    const stale = !!(this.result && (!this.view || this.view.key !== this.result.key));
    this.el.result.classList.toggle("stale", stale);
    this.el.stale.hidden = !stale;
    if (stale) this.el.stale.textContent = `Out of date: these numbers are for ${this.result.title}; the view now shows ${this.view ? this.view.title : "something else"}. Run the check again.`;
    document.body.dataset.checkStale = stale ? "1" : "0";
  }

  async run() {
    const view = this.view;
    if (!view) {
      this.status("Explain an image first; then check the explanation.", true);
      return;
    }
    if (this.running) this.abort();
    const ac = new AbortController();
    this.running = ac;
    this.abortMessage = "Cancelled.";
    const el = this.el;
    el.progress.hidden = false;
    el.progress.removeAttribute("value");
    el.cancel.hidden = false;
    el.run.disabled = true;
    document.body.dataset.checking = "1";
    this.status(`Checking ${view.title}…`);
    const t0 = performance.now();
    try {
      const r = await this.ex.metrics(view.opts, {
        signal: ac.signal,
        onProgress: (done, total, stage) => {
          if (total <= 0) return;
          el.progress.max = total;
          el.progress.value = done;
          const pct = Math.round((100 * done) / total);
          this.status(stage === "metrics" ? `Scoring perturbed images: ${done} of ${total} (${pct}%)…` : `Explaining first… ${pct}%`);
        },
      });
      this.result = { r, key: view.key, title: view.title, label: r.label };
      this.render();
      this.status(`Done in ${formatMs(performance.now() - t0)}: ${4 * (r.steps + 1)} perturbed images scored.`);
      document.body.dataset.checked = String(Number(document.body.dataset.checked || 0) + 1);
    } catch (e) {
      if (isCancel(e)) this.status(this.abortMessage);
      else if (this.ex.interrupted(e)) this.status("The engine stopped during the check; it is being restarted. Run the check again.", true);
      else this.status(`The check failed: ${e && e.message ? e.message : e}`, true);
    } finally {
      if (this.running === ac) this.running = null;
      el.progress.hidden = true;
      el.cancel.hidden = true;
      el.run.disabled = false;
      document.body.dataset.checking = "0";
    }
  }

  // render fills the AUC table and the verdict and draws the plot.
  render() {
    const { r } = this.result;
    const el = this.el;
    el.result.hidden = false;
    el.forText.textContent = `For ${this.result.title}: the probability of “${r.label}” as the pixels the map ranks highest are removed (deletion) or put back into a blurred copy (insertion), ${r.steps} steps each, against a random map.`;
    const cells = {
      "map-deletion": r.map.deletion.auc, "random-deletion": r.random.deletion.auc,
      "map-insertion": r.map.insertion.auc, "random-insertion": r.random.insertion.auc,
    };
    for (const [k, v] of Object.entries(cells)) el.table.querySelector(`[data-auc="${k}"]`).textContent = v.toFixed(3);
    const del = r.map.deletion.auc < r.random.deletion.auc;
    const ins = r.map.insertion.auc > r.random.insertion.auc;
    let verdict;
    if (del && ins) verdict = "This map beats the random map on both: it points at what the model uses.";
    else if (del) verdict = "This map beats the random map on deletion only, not on insertion.";
    else if (ins) verdict = "This map beats the random map on insertion only, not on deletion.";
    else verdict = "This map beats the random map on neither: for this image it is no more faithful than chance.";
    if (r.counterfactual) verdict += " It is a counterfactual map (what speaks against the class), so the reading is reversed: removing its pixels should raise the probability.";
    el.verdict.textContent = verdict;
    el.verdict.dataset.faithful = del && ins ? "1" : "0";
    this.draw();
    this.markStale();
  }

  // draw renders the plot at the figure's width (text stays legible on a
  // phone instead of shrinking with a viewBox).
  draw() {
    const { r, label } = this.result;
    const svg = this.el.plot;
    const W = Math.max(260, Math.floor(this.el.figure.clientWidth || 480));
    const H = Math.round(Math.min(320, Math.max(220, W * 0.6)));
    const m = { l: 46, r: 12, t: 12, b: 42 };
    const pw = W - m.l - m.r;
    const ph = H - m.t - m.b;
    const x = (f) => m.l + f * pw;
    const y = (p) => m.t + (1 - p) * ph;
    svg.textContent = "";
    svg.setAttribute("width", W);
    svg.setAttribute("height", H);
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const add = (parent, tag, attrs, text) => {
      const e = document.createElementNS(SVG, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      if (text !== undefined) e.textContent = text;
      parent.appendChild(e);
      return e;
    };
    const fmt = (v) => v.toFixed(3);
    add(svg, "title", { id: "check-plot-title" }, `Deletion and insertion curves for “${label}”`);
    add(svg, "desc", { id: "check-plot-desc" },
      `Deletion AUC ${fmt(r.map.deletion.auc)} for this map, ${fmt(r.random.deletion.auc)} for a random map; insertion AUC ${fmt(r.map.insertion.auc)} for this map, ${fmt(r.random.insertion.auc)} for a random map.`);
    const axes = add(svg, "g", { class: "axes" });
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      add(axes, "line", { class: "grid", x1: x(0), x2: x(1), y1: y(t), y2: y(t) });
      add(axes, "text", { x: m.l - 6, y: y(t) + 4, "text-anchor": "end" }, String(t));
      add(axes, "line", { class: "tick", x1: x(t), x2: x(t), y1: y(0), y2: y(0) + 4 });
      add(axes, "text", { x: x(t), y: y(0) + 16, "text-anchor": t === 0 ? "start" : t === 1 ? "end" : "middle" }, `${Math.round(t * 100)}%`);
    }
    add(axes, "line", { class: "axis", x1: x(0), x2: x(1), y1: y(0), y2: y(0) });
    add(axes, "line", { class: "axis", x1: x(0), x2: x(0), y1: y(0), y2: y(1) });
    add(axes, "text", { class: "label", x: m.l + pw / 2, y: H - 6, "text-anchor": "middle" }, "Pixels removed (deletion) or inserted (insertion)");
    add(axes, "text", { class: "label", transform: `translate(13 ${m.t + ph / 2}) rotate(-90)`, "text-anchor": "middle" }, `Probability of “${shorten(label, 24)}”`);
    const curves = add(svg, "g", { class: "curves" });
    for (const c of CURVES) {
      const k = r[c.set][c.curve];
      const d = k.fractions.map((f, i) => `${i ? "L" : "M"}${x(f).toFixed(1)} ${y(k.scores[i]).toFixed(1)}`).join(" ");
      add(curves, "path", { class: "curve " + c.cls, d, "data-curve": `${c.set}-${c.curve}` }, undefined)
        .appendChild(document.createElementNS(SVG, "title")).textContent = `${c.label}: AUC ${fmt(k.auc)}`;
    }
  }
}

function shorten(s, n) {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}
