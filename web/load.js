// Starts the CamLens engine as soon as the page's <head> runs: a classic
// script, before the page's modules, its layout and the view's iframe. It
// creates the engine's Web Worker (web/worker.js), which downloads and
// compiles camlens.wasm (wasm/camlens: the engine and the view in one Go
// program, by far the largest file the page needs) off the page's main
// thread, posts the compiled WebAssembly.Module back and starts the
// engine. The view's iframe (web/view-boot.js, through parent) and any
// restarted engine reuse that module instead of fetching and compiling
// camlens.wasm again.
//
// globalThis.camlensBoot = {
//   worker,  // the engine's Worker, until web/engine.js's EngineClient adopts it
//   url,     // its script's URL
//   early,   // what the worker said before that: [{type: "message"|"error", ev}]
//   wasm,    // Promise<WebAssembly.Module>; rejects with the reason in words
// }
"use strict";
(function () {
  const boot = { worker: null, url: "", early: [], wasm: null };
  let resolveWasm, rejectWasm;
  boot.wasm = new Promise((resolve, reject) => { resolveWasm = resolve; rejectWasm = reject; });
  boot.wasm.catch(() => {}); // its users report the failure
  try {
    if (!("WebAssembly" in self)) throw new Error("this browser has no WebAssembly");
    const url = new URL("worker.js", document.currentScript.src);
    // #share: the worker starts compiling camlens.wasm as its first act.
    const w = new Worker(new URL("#share", url));
    w.addEventListener("message", (ev) => {
      const d = ev.data;
      if (d && d.type === "module") {
        if (d.module instanceof WebAssembly.Module) resolveWasm(d.module);
        else rejectWasm(new Error(d.error || "the engine could not compile camlens.wasm"));
        return;
      }
      if (boot.early) boot.early.push({ type: "message", ev });
    });
    w.addEventListener("error", (ev) => {
      rejectWasm(new Error(ev.message || "the engine's worker failed"));
      if (boot.early) boot.early.push({ type: "error", ev });
    });
    w.postMessage({ op: "start", share: true });
    boot.worker = w;
    boot.url = url.href;
  } catch (e) {
    rejectWasm(e);
  }
  globalThis.camlensBoot = boot;
})();
