// The CamLens engine's Web Worker: it runs engine.wasm (the Go core) so that
// the page never freezes. The Go program installs its own message handler
// and posts {type: "ready"} once it listens; the page sends nothing before.
"use strict";
importScripts("../wasm_exec.js");
(async function () {
  try {
    const go = new Go();
    const resp = fetch("../engine.wasm");
    let inst;
    if (WebAssembly.instantiateStreaming) {
      inst = await WebAssembly.instantiateStreaming(resp, go.importObject);
    } else {
      inst = await WebAssembly.instantiate(await (await resp).arrayBuffer(), go.importObject);
    }
    await go.run(inst.instance);
    self.postMessage({ type: "fatal", message: "the engine stopped" });
  } catch (e) {
    self.postMessage({ type: "fatal", message: "could not start the engine: " + (e && e.message ? e.message : e) });
  }
})();
