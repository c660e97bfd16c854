// Starts the ebiten view inside view.html: camlens.wasm (wasm/camlens)
// with the role "view". The compiled module comes from the parent page
// (web/load.js: the engine's worker compiled it) when it has one; otherwise this page fetches and compiles
// camlens.wasm itself. ebiten appends its own canvas to <body> and sizes it
// to the document: that is why the view lives in an iframe of its own.
// Errors are reported to the parent page.
"use strict";
(function () {
  function report(message) {
    console.error("camlens view: " + message);
    try {
      parent.postMessage({ type: "error", message: String(message) }, location.origin);
    } catch (e) { /* no parent */ }
  }
  async function fromParent() {
    try {
      if (parent !== self && parent.camlensBoot) return await parent.camlensBoot.wasm;
    } catch (e) { /* a parent of another origin, or its compile failed: try here */ }
    return null;
  }
  async function compile() {
    const resp = await fetch("camlens.wasm");
    if (!resp.ok) throw new Error(`camlens.wasm: HTTP ${resp.status}`);
    if (WebAssembly.compileStreaming) return WebAssembly.compileStreaming(resp);
    return WebAssembly.compile(await resp.arrayBuffer());
  }
  async function start() {
    if (!("WebAssembly" in self)) throw new Error("this browser has no WebAssembly");
    const module = (await fromParent()) || (await compile());
    const go = new Go();
    go.argv = ["camlens.wasm", "view"];
    // camlens.wasm imports its memory (see web/worker.js); the view's is a
    // fresh one of the binary's minimum size, written by scripts/build.
    go.importObject.camlens = { mem: new WebAssembly.Memory({ initial: "__CAMLENS_MEMORY_PAGES__" }) };
    const inst = await WebAssembly.instantiate(module, go.importObject);
    await go.run(inst);
    report("the view stopped");
  }
  start().catch(function (e) { report(e && e.message ? e.message : e); });
})();
