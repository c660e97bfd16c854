// Starts downloading and compiling camlens.wasm (wasm/camlens: the engine
// and the view in one Go program) as soon as the page's <head> runs. It is
// by far the largest file the page needs, and both its users share this
// one compiled WebAssembly.Module instead of fetching and compiling it
// twice: the engine's Web Worker (web/engine.js posts it to web/worker.js)
// and the view's iframe (web/view-boot.js takes it from its parent). A
// classic script, so that globalThis.camlensWasm exists before the iframe
// in <body> asks for it.
//
// globalThis.camlensWasm: Promise<WebAssembly.Module>; it rejects with the
// reason in words (no WebAssembly, HTTP error, a damaged download).
"use strict";
(function () {
  const url = new URL("../camlens.wasm", document.currentScript.src);
  async function compile() {
    if (!("WebAssembly" in self)) throw new Error("this browser has no WebAssembly");
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(`${url.pathname}: HTTP ${resp.status}`);
    if (WebAssembly.compileStreaming && (resp.headers.get("Content-Type") || "").startsWith("application/wasm")) {
      return WebAssembly.compileStreaming(resp);
    }
    return WebAssembly.compile(await resp.arrayBuffer());
  }
  const p = compile();
  p.catch(() => {}); // its users report the failure
  globalThis.camlensWasm = p;
})();
