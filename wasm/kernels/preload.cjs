// Node preload for the js/wasm tests of the SIMD kernels:
//
//   CAMLENS_KERNELS_WASM=/path/kernels.wasm NODE_OPTIONS="--require $PWD/wasm/kernels/preload.cjs" \
//     GOOS=js GOARCH=wasm go test -exec="$(go env GOROOT)/lib/wasm/go_js_wasm_exec" ./wasm/kernels
//
// It wraps WebAssembly.instantiate: once Go's wasm_exec_node.js has
// instantiated the Go program (an import object with "gojs"), it
// instantiates the kernel module with the Go instance's memory and stores
// its exports in globalThis.camlensKernels, before go.run starts the
// program. Without CAMLENS_KERNELS_WASM it does nothing.
"use strict";
const file = process.env.CAMLENS_KERNELS_WASM;
if (file) {
  const bytes = require("fs").readFileSync(file);
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = async function (source, imports, ...rest) {
    const res = await instantiate.call(WebAssembly, source, imports, ...rest);
    const inst = res instanceof WebAssembly.Instance ? res : res.instance;
    if (imports && imports.gojs && inst && inst.exports.mem) {
      const k = await instantiate.call(WebAssembly, bytes, { env: { mem: inst.exports.mem } });
      globalThis.camlensKernels = k.instance.exports;
    }
    return res;
  };
}
