// The CamLens engine's Web Worker: it runs engine.wasm (the Go core) so that
// the page never freezes. When the build shipped the WebAssembly SIMD
// kernels (kernels.wasm, see wasm/kernels) and this browser runs them, they
// are instantiated on the Go instance's memory before the program starts,
// and the engine uses them for its heavy loops; otherwise it uses pure Go.
// The Go program installs its own message handler and posts
// {type: "ready"} once it listens; the page sends nothing before.
"use strict";
importScripts("../wasm_exec.js");
const KERNELS = "__CAMLENS_KERNELS__"; // written by scripts/build: a URL or ""
(async function () {
  try {
    const go = new Go();
    const resp = fetch("../engine.wasm");
    const kernels = KERNELS ? fetch(KERNELS).then((r) => (r.ok ? r.arrayBuffer() : null)).catch(() => null) : null;
    let inst;
    if (WebAssembly.instantiateStreaming) {
      inst = await WebAssembly.instantiateStreaming(resp, go.importObject);
    } else {
      inst = await WebAssembly.instantiate(await (await resp).arrayBuffer(), go.importObject);
    }
    const kbytes = await kernels;
    if (kbytes) {
      try {
        const k = await WebAssembly.instantiate(kbytes, { env: { mem: inst.instance.exports.mem } });
        self.camlensKernels = k.instance.exports;
      } catch (e) {
        console.warn("camlens: no SIMD kernels in this browser (" + e.message + "); using pure Go");
      }
    }
    await go.run(inst.instance);
    self.postMessage({ type: "fatal", message: "the engine stopped" });
  } catch (e) {
    self.postMessage({ type: "fatal", message: "could not start the engine: " + (e && e.message ? e.message : e) });
  }
})();
