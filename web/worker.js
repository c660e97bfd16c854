// The CamLens engine's Web Worker: it runs camlens.wasm (wasm/camlens) with
// the role "engine" (the Go core) so that the page never freezes. The
// page's first message is {op: "start", module?, share?}: the compiled
// WebAssembly.Module to run (a restart reuses the first one), or none, and
// then the worker fetches and compiles camlens.wasm itself; with share it
// posts {type: "module", module} (or {type: "module", error}) back before
// starting, for the page's view (web/load.js). When the build shipped the
// WebAssembly SIMD kernels (kernels.wasm, see wasm/kernels) and this
// browser runs them, they are instantiated on the Go instance's memory
// before the program starts, and the engine uses them for its heavy loops;
// otherwise it uses pure Go.
// The Go program installs its own message handler and posts
// {type: "ready"} once it listens; the page sends nothing else before.
// When the Go program exits (it never does unless it failed: a panic no
// handler caught, out of memory), {type: "fatal"} tells the page why, in
// the words of the last lines the Go runtime printed.
"use strict";
// When the start-up steps happened, in ms since 1970 (timeOrigin + now(),
// so that the page can place them on its own timeline); posted as
// {type: "boot", times} just before the Go program starts.
const now = () => performance.timeOrigin + performance.now();
const bootTimes = { script: now() };
// Started by web/load.js (the URL's #share): fetch and compile camlens.wasm
// at once, before anything else here runs; its start message will carry
// no module.
const early = self.location.hash === "#share" ? camlensModule() : null;
if (early) early.catch(() => {}); // reported by start
const KERNELS = "__CAMLENS_KERNELS__"; // written by scripts/build: a URL or ""
// camlens.wasm imports its linear memory (importObject.camlens.mem; see
// scripts/build's ImportMemory), so that it exists before the binary has
// arrived. While the binary downloads, this worker has nothing else to do:
// it writes to every page of the memory's first PREFAULT_MB, so that the
// operating system's first-touch cost of fresh memory (high in a sandboxed
// browser) is paid now instead of by the Go runtime's start, the model's
// weights and the first forward pass's activations, which are on the way
// to the first heatmap. The download keeps both cores of a small machine
// busy too, so the writes seldom finish before the binary is compiled:
// they go on afterwards, in smaller steps, whenever the Go program waits
// (for the page's next request, or yielding during long work), and
// rewrite what is there instead of zeros, as the Go program's data may be
// there by then (this thread runs one or the other, never both at once).
// On a cold start in a 2-core machine they made the first forward pass
// take 133 ms instead of 217 (medians of 8 fresh browsers each).
// bootTimes.prefaulted says when they finished, if they did before the
// program started.
const MEMORY_PAGES = "__CAMLENS_MEMORY_PAGES__"; // written by scripts/build: the import's minimum, in 64 KiB pages
const PREFAULT_MB = 48;
let prefaultStep = 1 << 20; // bytes per task: 1 MB while the binary downloads, 256 KB once the Go program runs
const memory = newMemory();
let prefaulting = !!early && memory.buffer.byteLength >= PREFAULT_MB << 20;
if (prefaulting) {
  early.then(() => { prefaultStep = 256 << 10; }, () => { prefaulting = false; });
  prefault(memory, PREFAULT_MB << 20);
}
const kernels = KERNELS ? fetch(KERNELS).then((r) => (r.ok ? r.arrayBuffer() : null)).catch(() => null) : null;
importScripts("../wasm_exec.js");

// camlensPost is how the Go program posts a message to the page: the
// message as JSON text, in which {"$blob": i} stands for arrays[i] (a
// Uint8Array or Float32Array, whose buffer is transferred) and
// {"$num": "NaN" | "Infinity" | "-Infinity"} for a number JSON cannot
// write (wasm/engine/worker's Encode). One string and a few arrays cross
// from WebAssembly instead of every value of the result one by one.
self.camlensPost = (text, arrays) => {
  const msg = JSON.parse(text, (key, v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    if (typeof v.$blob === "number") return arrays[v.$blob];
    if (typeof v.$num === "string") return Number(v.$num);
    return v;
  });
  self.postMessage(msg, arrays.map((a) => a.buffer));
};

// The last lines the Go program wrote (a panic's message is among them).
const lastLines = [];
const writeSync = globalThis.fs.writeSync.bind(globalThis.fs);
const decoder = new TextDecoder("utf-8");
let partial = "";
globalThis.fs.writeSync = (fd, buf) => {
  partial += decoder.decode(buf, { stream: true });
  const lines = partial.split("\n");
  partial = lines.pop();
  for (const l of lines) {
    lastLines.push(l);
    if (lastLines.length > 40) lastLines.shift();
  }
  return writeSync(fd, buf);
};

// why names the failure from the Go runtime's last words: "panic: …",
// "fatal error: …" or "runtime: out of memory".
function why(code) {
  const lines = lastLines.concat(partial ? [partial] : []);
  const first = lines.find((l) => /^(panic: |fatal error: |runtime: out of memory)/.test(l));
  if (first) return first.length > 300 ? first.slice(0, 300) + "…" : first;
  return code !== undefined ? `the Go program exited with code ${code}` : "the Go program exited";
}

// Test hook (camlens.debug.crashEngine("throw")): an exception nothing
// catches, as a WebAssembly trap in the engine would be.
self.addEventListener("message", (ev) => {
  const d = ev.data;
  if (d && d.op === "crash" && d.kind === "throw") {
    setTimeout(() => {
      throw new Error("camlens engine: uncaught exception requested by the page (camlens.debug.crashEngine)");
    });
  }
});

function camlensModule() {
  return fetch("../camlens.wasm").then((resp) => {
    bootTimes.response = now();
    return compileResponse(resp);
  }).then((module) => {
    bootTimes.compiled = now();
    return module;
  });
}

// newMemory is the engine's memory: PREFAULT_MB, or the binary's minimum
// where a browser short of memory refuses that much up front (the Go
// runtime grows it as it needs).
function newMemory() {
  try {
    return new WebAssembly.Memory({ initial: Math.max(MEMORY_PAGES, PREFAULT_MB * 16) });
  } catch (e) {
    return new WebAssembly.Memory({ initial: MEMORY_PAGES });
  }
}

// prefault writes to each 4 KiB page of the memory's first size bytes
// (the byte that is there), prefaultStep bytes per task so that the
// binary's download, whose chunks are tasks on this thread too, and then
// the Go program's requests are never held up for long; it stops when
// prefaulting is cleared.
function prefault(mem, size) {
  let bytes = new Uint8Array(mem.buffer, 0, Math.min(size, mem.buffer.byteLength));
  const next = new MessageChannel();
  let off = 0;
  next.port1.onmessage = () => {
    if (!prefaulting) {
      next.port1.close();
      return;
    }
    // The Go program grew the memory: the old buffer is detached.
    if (bytes.length === 0) bytes = new Uint8Array(mem.buffer, 0, Math.min(size, mem.buffer.byteLength));
    const end = Math.min(off + prefaultStep, bytes.length);
    for (; off < end; off += 4096) bytes[off] |= 0;
    if (off < bytes.length) next.port2.postMessage(0);
    else {
      bootTimes.prefaulted = now();
      next.port1.close();
    }
  };
  next.port2.postMessage(0);
}

async function compileResponse(resp) {
  if (!resp.ok) throw new Error(`camlens.wasm: HTTP ${resp.status}`);
  if (WebAssembly.compileStreaming) return WebAssembly.compileStreaming(resp);
  return WebAssembly.compile(await resp.arrayBuffer());
}

async function start(module, share) {
  try {
    if (!module) {
      try {
        module = await (early || camlensModule());
      } catch (e) {
        if (share) self.postMessage({ type: "module", error: "could not load camlens.wasm: " + (e && e.message ? e.message : e) });
        throw e;
      }
      if (share) self.postMessage({ type: "module", module });
    }
    const go = new Go();
    go.argv = ["camlens.wasm", "engine"];
    let exitCode;
    const exit = go.exit;
    go.exit = (code) => {
      exitCode = code;
      exit(code);
    };
    go.importObject.camlens = { mem: memory };
    const inst = await WebAssembly.instantiate(module, go.importObject);
    const kbytes = await kernels;
    if (kbytes) {
      try {
        const k = await WebAssembly.instantiate(kbytes, { env: { mem: inst.exports.mem } });
        self.camlensKernels = k.instance.exports;
      } catch (e) {
        console.warn("camlens: no SIMD kernels in this browser (" + e.message + "); using pure Go");
      }
    }
    bootTimes.instantiated = now();
    self.postMessage({ type: "boot", times: bootTimes });
    await go.run(inst);
    self.postMessage({ type: "fatal", message: why(exitCode) });
  } catch (e) {
    self.postMessage({ type: "fatal", message: "could not start the engine: " + (e && e.message ? e.message : e) });
  }
}

let started = false;
self.addEventListener("message", (ev) => {
  const d = ev.data;
  if (started || !d || d.op !== "start") return;
  started = true;
  start(d.module instanceof WebAssembly.Module ? d.module : null, !!d.share);
});
