// EngineClient talks to the CamLens engine in a Web Worker (web/worker.js,
// which runs engine.wasm). Protocol, one request at a time per id:
//
//   page → worker  {id, op, ...args}              ops: hello, loadModel, setImage,
//                                                 predict, explain, export, colormap, cancel
//   worker → page  {type: "ready"}                 once, when the engine listens
//                  {id, type: "progress", done, total, stage}
//                  {id, type: "result", result}
//                  {id, type: "error", error, code}  code: "cancelled", "input", "state", "internal"
//                  {type: "fatal", message}        the engine could not start or stopped
//
// Binary data travels as ArrayBuffers in the transfer list (never as JSON
// arrays): model and image bytes to the worker, Float32Array maps and RGBA
// images back. "cancel" {of} asks the engine to stop the request with
// id target (Score-CAM and Ablation-CAM check it between batches of
// channels; the engine yields to the event loop while they run so that the
// cancel message gets through). restart() terminates the worker and starts
// a fresh one, for work that does not stop in time.

export class EngineError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "EngineError";
    this.code = code || "internal";
  }
}

export class EngineClient {
  constructor(url = new URL("worker.js", import.meta.url)) {
    this.url = url;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Set();
    this.start();
  }

  start() {
    this.worker = new Worker(this.url);
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.worker.onmessage = (ev) => this.onMessage(ev.data);
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      this.fail("the engine failed: " + (ev.message || "worker error"));
    };
  }

  // restart terminates the worker (stopping whatever it computes) and
  // starts a new one; every pending request fails with code "cancelled".
  // The new engine has no model and no image.
  restart() {
    this.worker.terminate();
    for (const [, p] of this.pending) p.reject(new EngineError("cancelled", "cancelled"));
    this.pending.clear();
    this.start();
    return this.ready;
  }

  fail(message) {
    this.rejectReady(new EngineError(message, "internal"));
    for (const [, p] of this.pending) p.reject(new EngineError(message, "internal"));
    this.pending.clear();
    for (const l of this.listeners) l({ type: "fatal", message });
  }

  onEvent(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "ready") {
      this.resolveReady();
      return;
    }
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
        this.pending.delete(msg.id);
        p.resolve(msg.result);
        break;
      case "error":
        this.pending.delete(msg.id);
        p.reject(new EngineError(msg.error, msg.code));
        break;
    }
  }

  // request sends {op, ...args} and resolves with the engine's result.
  // transfer lists ArrayBuffers to move (they become unusable here).
  // opts.onProgress(done, total, stage) receives progress; opts.signal
  // (an AbortSignal) sends a cancel.
  async request(op, args = {}, transfer = [], opts = {}) {
    await this.ready;
    const id = this.nextId++;
    const done = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress: opts.onProgress });
    });
    if (opts.signal) {
      if (opts.signal.aborted) {
        this.pending.delete(id);
        throw new EngineError("cancelled", "cancelled");
      }
      opts.signal.addEventListener("abort", () => this.cancel(id), { once: true });
    }
    this.worker.postMessage(Object.assign({ id, op }, args), transfer);
    return done;
  }

  cancel(id) {
    if (this.pending.has(id)) this.worker.postMessage({ id: this.nextId++, op: "cancel", of: id });
  }
}
