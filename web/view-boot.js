// Starts the ebiten view (view.wasm) inside view.html. ebiten appends its
// own canvas to <body> and sizes it to the document: that is why the view
// lives in an iframe of its own. Errors are reported to the parent page.
"use strict";
(function () {
  function report(message) {
    console.error("camlens view: " + message);
    try {
      parent.postMessage({ type: "error", message: String(message) }, location.origin);
    } catch (e) { /* no parent */ }
  }
  async function start() {
    if (!("WebAssembly" in self)) throw new Error("this browser has no WebAssembly");
    const go = new Go();
    const resp = fetch("view.wasm");
    let inst;
    if (WebAssembly.instantiateStreaming) {
      inst = await WebAssembly.instantiateStreaming(resp, go.importObject);
    } else {
      const buf = await (await resp).arrayBuffer();
      inst = await WebAssembly.instantiate(buf, go.importObject);
    }
    await go.run(inst.instance);
    report("the view stopped");
  }
  start().catch(function (e) { report(e && e.message ? e.message : e); });
})();
