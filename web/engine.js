// EngineClient talks to the CamLens engine in a Web Worker (web/worker.js,
// which runs camlens.wasm as the engine). Protocol, one request at a time
// per id:
//
//   page → worker  {op: "start", module?, share?} first: the compiled camlens.wasm
//                                                 or none (the worker fetches it; with
//                                                 share it posts it back: web/load.js)
//                  {id, op, ...args}              ops: hello, loadModel, setImage,
//                                                 predict, explain, metrics, export, colormap, cancel
//                  {op: "ping"}                   the watchdog's question, answered at once
//                  {op: "crash", kind}            test hook: "panic", "hang", "throw"
//   worker → page  {type: "module", module|error}  with share, before it starts
//                  {type: "boot", times}           when its start-up steps happened (ms since
//                                                 1970): script, response, compiled (when it
//                                                 fetched camlens.wasm), instantiated,
//                                                 prefaulted (when its memory was faulted in,
//                                                 if that finished before the compile did)
//                  {type: "ready"}                 once, when the engine listens
//                  {type: "pong"}                  the answer to a ping
//                  {id, type: "progress", done, total, stage}
//                  {id, type: "result", result}
//                  {id, type: "error", error, code}  code: "cancelled", "input", "state", "internal"
//                  {type: "fatal", message}        the engine could not start or stopped
//
// Binary data travels as ArrayBuffers in the transfer list (never as JSON
// arrays): model and image bytes to the worker, Float32Array maps and RGBA
// images back. "cancel" {of} asks the engine to stop the request with
// id target (Score-CAM, Ablation-CAM and metrics check it between batches;
// the engine yields to the event loop while they run so that the cancel
// message gets through).
//
// When the engine dies — the Go program exits (a panic no handler caught,
// out of memory), the worker throws (a WebAssembly trap), or it stops
// answering (the watchdog: requests pending and no message of any kind,
// not even a pong, for staleMs plus a second per MB sent) — every pending
// request fails with code "crashed", the worker is terminated and
// listeners get {type: "fatal", message}. restart() starts a fresh engine
// (with no model and no image); Explainer (camlens.js) does that and
// reloads what it had.

export class EngineError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "EngineError";
    this.code = code || "internal";
  }
}

// markOnce marks the first time the page reaches a step of its start-up
// (camlens:<name>; at startTime, ms on the page's timeline, when given),
// for the benchmark's cold-start timeline and DevTools.
export function markOnce(name, startTime) {
  if (performance.getEntriesByName("camlens:" + name).length) return;
  try {
    performance.mark("camlens:" + name, startTime === undefined ? undefined : { startTime: Math.max(0, startTime) });
  } catch (e) {
    // an old browser without mark options: no timeline, nothing lost
  }
}

// markBoot puts the first engine's start-up steps (the worker's boot
// times, ms since 1970) on the page's timeline.
function markBoot(times) {
  const names = { script: "engine-script", response: "engine-wasm-response", compiled: "engine-wasm-compiled", instantiated: "engine-go-start", prefaulted: "engine-memory-faulted-in" };
  for (const [k, name] of Object.entries(names)) {
    const t = times && times[k];
    if (typeof t === "number") markOnce(name, t - performance.timeOrigin);
  }
}

export class EngineClient {
  // opts.staleMs: how long pending requests may go without any message
  // from the engine before it counts as dead (default 60 s: far more
  // than the longest stretch the engine computes without yielding).
  constructor(url = new URL("worker.js", import.meta.url), opts = {}) {
    this.url = url;
    this.staleMs = opts.staleMs || 60000;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Set();
    this.watchdog = 0;
    this.start();
  }

  start() {
    // The first engine is the one web/load.js started early (when this
    // page has it); later ones get the module it compiled.
    const boot = globalThis.camlensBoot;
    let early = [];
    let w;
    if (boot && boot.worker && boot.url === new URL(this.url, location.href).href) {
      w = boot.worker;
      early = boot.early || [];
      boot.worker = null;
      boot.early = null;
    } else {
      w = new Worker(this.url);
      const shared = boot && boot.wasm;
      if (shared) {
        shared.then((module) => w.postMessage({ op: "start", module }), () => w.postMessage({ op: "start" }));
      } else {
        w.postMessage({ op: "start" });
      }
    }
    this.worker = w;
    this.alive = true;
    this.heard = performance.now();
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {}); // reported through the requests that wait on it
    w.onmessage = (ev) => {
      if (w === this.worker) this.onMessage(ev.data);
    };
    w.onerror = (ev) => {
      ev.preventDefault();
      if (w === this.worker) this.fail(ev.message || "an error in the worker");
    };
    for (const e of early) {
      if (e.type === "message") w.onmessage(e.ev);
      else w.onerror(e.ev);
    }
  }

  // restart terminates the worker (stopping whatever it computes) and
  // starts a new one; every pending request fails with code "cancelled".
  // The new engine has no model and no image.
  restart() {
    this.stopWatchdog();
    this.worker.terminate();
    this.rejectPending("cancelled", "cancelled");
    this.start();
    return this.ready;
  }

  // fail declares the engine dead: pending requests fail with code
  // "crashed", the worker is terminated (it may be stuck in a loop) and
  // listeners hear {type: "fatal", message}.
  fail(message) {
    if (!this.alive) return;
    this.alive = false;
    this.stopWatchdog();
    this.worker.terminate();
    this.rejectReady(new EngineError(message, "crashed"));
    this.rejectPending(message, "crashed");
    for (const l of this.listeners) l({ type: "fatal", message });
  }

  onEvent(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    this.heard = performance.now();
    if (msg.type === "ready") {
      this.resolveReady();
      return;
    }
    if (msg.type === "boot") {
      this.bootTimes = msg.times;
      markBoot(msg.times);
      return;
    }
    if (msg.type === "pong") return;
    if (msg.type === "fatal") {
      this.fail(msg.message);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    switch (msg.type) {
      case "progress":
        if (p.onProgress) p.onProgress(msg.done, msg.total, msg.stage);
        break;
      case "result":
        this.settle(msg.id);
        p.resolve(msg.result);
        break;
      case "error":
        this.settle(msg.id);
        p.reject(new EngineError(msg.error, msg.code));
        break;
    }
  }

  // rejectPending fails every pending request with EngineError(message,
  // code); the map is emptied first, so a handler may send new requests.
  rejectPending(message, code) {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new EngineError(message, code));
  }

  settle(id) {
    this.pending.delete(id);
    if (this.pending.size === 0) this.stopWatchdog();
  }

  // request sends {op, ...args} and resolves with the engine's result.
  // transfer lists ArrayBuffers to move (they become unusable here).
  // opts.onProgress(done, total, stage) receives progress; opts.signal
  // (an AbortSignal) sends a cancel.
  async request(op, args = {}, transfer = [], opts = {}) {
    // A restart while waiting replaces ready: wait for the engine that
    // will get the message.
    for (let r = null; r !== this.ready;) {
      r = this.ready;
      await r;
    }
    if (!this.alive) throw new EngineError("the engine is not running", "crashed");
    const id = this.nextId++;
    const bytes = transfer.reduce((n, b) => n + (b.byteLength || 0), 0);
    const done = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress: opts.onProgress, graceMs: bytes / 1000 });
    });
    if (opts.signal) {
      if (opts.signal.aborted) {
        this.pending.delete(id);
        throw new EngineError("cancelled", "cancelled");
      }
      opts.signal.addEventListener("abort", () => this.cancel(id), { once: true });
    }
    this.heard = performance.now();
    this.worker.postMessage(Object.assign({ id, op }, args), transfer);
    this.startWatchdog();
    return done;
  }

  cancel(id) {
    if (this.pending.has(id) && this.alive) this.worker.postMessage({ id: this.nextId++, op: "cancel", of: id });
  }

  // crash asks the engine to fail in one of the ways it can fail in a
  // browser (for tests of the recovery): "panic" (the Go program exits),
  // "throw" (the worker throws, as a WebAssembly trap does), "hang" (the
  // engine loops without yielding; only the watchdog notices) or "kill"
  // (the worker is terminated behind this client's back, as if the
  // browser had killed it; only the watchdog notices).
  crash(kind) {
    if (kind === "kill") this.worker.terminate();
    else this.worker.postMessage({ op: "crash", kind });
  }

  // The watchdog runs while requests are pending: it pings the engine
  // when it has been quiet for a second and declares it dead when it has
  // been quiet for staleMs (plus a second per MB of the requests' data).
  startWatchdog() {
    if (this.watchdog) return;
    const tick = Math.min(1000, Math.max(50, this.staleMs / 4));
    this.watchdog = setInterval(() => {
      if (!this.alive || this.pending.size === 0) {
        this.stopWatchdog();
        return;
      }
      const quiet = performance.now() - this.heard;
      let grace = 0;
      for (const p of this.pending.values()) grace = Math.max(grace, p.graceMs);
      const limit = this.staleMs + grace;
      if (quiet > limit) {
        this.fail(`it did not answer for ${Math.round(quiet / 1000)} s`);
      } else if (quiet >= tick) {
        this.worker.postMessage({ op: "ping" });
      }
    }, tick);
  }

  stopWatchdog() {
    clearInterval(this.watchdog);
    this.watchdog = 0;
  }
}
