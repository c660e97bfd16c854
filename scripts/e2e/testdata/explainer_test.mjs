// Unit test of web/camlens.js's Explainer recovery under Node, with a fake
// engine (run by TestExplainerRecovery): when the engine dies it is
// restarted and gets the same model bytes, image bytes and crop again; a
// request made meanwhile waits for the recovery; deaths in a row stop the
// recovery after maxRestarts; a successful explanation resets the count.
// Usage: node explainer_test.mjs <path of web/camlens.js>
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";

const { Explainer, EngineError, checkFileSize, formatBytes } = await import(pathToFileURL(process.argv[2]).href);

// FakeEngine answers requests like the engine would and records them; it
// "dies" when told to (die) or during the next n reloads (dieOnLoad).
class FakeEngine {
  constructor() {
    this.log = [];
    this.listeners = new Set();
    this.restarts = 0;
    this.dieOnLoad = 0;
  }
  onEvent(fn) { this.listeners.add(fn); }
  die(message) { for (const l of this.listeners) l({ type: "fatal", message }); }
  async restart() { this.restarts++; }
  async request(op, args = {}) {
    const entry = { op };
    if (args.data) entry.bytes = Array.from(new Uint8Array(args.data));
    if (op === "predict") entry.crop = args.crop;
    this.log.push(entry);
    await new Promise((r) => setTimeout(r, 1));
    switch (op) {
      case "hello":
        return { methods: [], colormaps: [], limits: { imageBytes: 100, modelBytes: 200, onnxBytes: 300 } };
      case "loadModel":
        if (this.dieOnLoad > 0) {
          this.dieOnLoad--;
          setTimeout(() => this.die("died while loading"), 0);
          throw new EngineError("died while loading", "crashed");
        }
        return { model: { name: "m", input: { crop: "" }, labels: ["a", "b"] } };
      case "setImage":
        return { width: 4, height: 3 };
      case "predict":
        return { predictions: [{ class: 0 }] };
      case "explain":
        return { map: new Float32Array(4) };
    }
    throw new Error("unexpected op " + op);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 20));
let passed = 0;
async function test(name, fn) {
  try {
    await fn();
    passed++;
    console.log("ok  ", name);
  } catch (e) {
    console.log("FAIL", name, "\n", e);
    process.exitCode = 1;
  }
}

async function loaded(opts) {
  const engine = new FakeEngine();
  const ex = new Explainer(engine, opts);
  const events = [];
  ex.onRecovery((ev) => events.push(ev));
  await ex.hello();
  await ex.loadModelBytes(new Uint8Array([1, 2, 3]).buffer, "m.safetensors");
  await ex.setImageBytes(new Uint8Array([9, 8, 7, 6]).buffer, "p.png");
  await ex.predict([1, 0, 2, 2]);
  engine.log.length = 0;
  return { engine, ex, events };
}

await test("a dead engine is restarted with the same model, image and crop", async () => {
  const { engine, ex, events } = await loaded();
  engine.die("panic: boom");
  await ex.recovery;
  assert.equal(engine.restarts, 1);
  assert.deepEqual(engine.log, [
    { op: "loadModel", bytes: [1, 2, 3] },
    { op: "setImage", bytes: [9, 8, 7, 6] },
    { op: "predict", crop: [1, 0, 2, 2] },
  ]);
  assert.deepEqual(events.map((e) => [e.phase, e.reason, e.attempt]), [["restarting", "panic: boom", 1], ["restarted", "panic: boom", 1]]);
  await ex.explain({ method: "gradcam" });
  assert.equal(ex.crashes, 0);
});

await test("a request during the recovery waits for it", async () => {
  const { engine, ex } = await loaded();
  engine.die("gone");
  const r = ex.explain({ method: "gradcam" });
  await r;
  assert.deepEqual(engine.log.map((e) => e.op), ["loadModel", "setImage", "predict", "explain"]);
});

await test("deaths during the reload count; after maxRestarts it gives up", async () => {
  const { engine, ex, events } = await loaded({ maxRestarts: 3 });
  engine.dieOnLoad = 10;
  engine.die("first");
  await ex.recovery;
  await tick();
  assert.equal(engine.restarts, 3);
  assert.deepEqual(events.map((e) => e.phase), ["restarting", "restarting", "restarting", "gave-up"]);
  assert.match(events[3].message, /^The engine stopped 4 times in a row \(last: died while loading\); CamLens stopped restarting it\. Reload the page to start again\.$/);
  await assert.rejects(ex.explain({ method: "gradcam" }), (e) => e.code === "crashed" && /stopped 4 times/.test(e.message));
  engine.die("again");
  await tick();
  assert.equal(engine.restarts, 3, "no restart after giving up");
});

await test("a successful explanation resets the count", async () => {
  const { engine, ex, events } = await loaded({ maxRestarts: 2 });
  for (let i = 0; i < 4; i++) {
    engine.die("crash " + i);
    await ex.recovery;
    await ex.explain({ method: "gradcam" });
  }
  assert.equal(engine.restarts, 4);
  assert.ok(events.every((e) => e.phase !== "gave-up"));
});

await test("a death before hello is not recovered (the start failed)", async () => {
  const engine = new FakeEngine();
  const ex = new Explainer(engine);
  engine.die("could not start the engine: no wasm");
  await tick();
  assert.equal(engine.restarts, 0);
  assert.equal(ex.recovery, null);
});

await test("file sizes are checked against the engine's limits", async () => {
  const limits = { imageBytes: 268435456, modelBytes: 268435456, onnxBytes: 536870912 };
  assert.throws(() => checkFileSize({ name: "photo.png", size: 812e6 }, "image", limits),
    { message: "photo.png is 812 MB; the limit for an image is 268 MB. CamLens did not read it." });
  assert.throws(() => checkFileSize({ name: "m.onnx", size: 600e6 }, "model", limits), /the limit for an ONNX model is 537 MB/);
  assert.throws(() => checkFileSize({ name: "m.SAFETENSORS", size: 300e6 }, "model", limits), /the limit for a CamLens model file is 268 MB/);
  assert.throws(() => checkFileSize({ name: "m.bin", size: 600e6 }, "model", limits), /the limit for a model file is 537 MB/);
  checkFileSize({ name: "ok.png", size: 268435456 }, "image", limits);
  checkFileSize({ name: "x", size: 1e12 }, "image", null);
  assert.deepEqual([0, 999, 1000, 329468, 1e6, 99.94e6, 812e6, 268435456].map(formatBytes),
    ["0 bytes", "999 bytes", "1.0 kB", "329.5 kB", "1.0 MB", "99.9 MB", "812 MB", "268 MB"]);
});

console.log(`${passed} passed`);
