// ref.js — face-api reference outputs for CamLens's parity tests.
//
//   node scripts/facetest/ref.js job.json out.json
//
// job.json: {"cases": [{"name", "rgb" (path of raw RGB bytes, row-major
// H×W×3), "height", "width", "classes": [k...], "layers": ["dense3/out", ...], "detect": bool}]}
//
// For every case, on TF.js's WebAssembly backend (face-api.node-wasm.js;
// the Grad-CAM gradients on TF.js's CPU backend, see below):
//   input        face-api's normalised network input for the crop: exactly
//                FaceFeatureExtractor.forwardInput's first lines,
//                normalize(toNetInput(t).toBatchTensor(112, true), meanRgb)/255,
//                as 1×112×112×3 (NHWC) values.
//   probs        faceapi.nets.faceExpressionNet.forward(t): face-api's own
//                softmax output for the crop tensor t.
//   logits       the logits of the same net, from a mirror of face-api's
//                denseBlock4/FaceFeatureExtractor/FaceProcessor code written
//                with the loaded params (probsMirror = its softmax; the Go test
//                checks it against probs, so the mirror is face-api's net).
//   cams[layer][class]  Grad-CAM at the output of dense block `layer` for the
//                raw logit of `class`, with gradients from tf.grad:
//                grads = ∂logit/∂A, weights[k] = mean over positions of
//                grads[·,k], raw = Σ_k weights[k]·A[·,k] (h·w, row-major),
//                map = ReLU then (c − min)/(1e-7 + max(c − min)).
//   detections   (when the case has "detect": true) the faces face-api's
//                SsdMobilenetv1 finds in the image, score ≥ 0.5: {x, y, w, h, score}.
// Everything is written as plain JSON numbers (float32 values).
'use strict';
const fs = require('fs');
const path = require('path');

const req = require('module').createRequire(path.join(__dirname, '..', 'node', 'package.json'));
const faceapi = req('@vladmandic/face-api/dist/face-api.node-wasm.js');
const tf = faceapi.tf;
const modelDir = path.join(path.dirname(req.resolve('@vladmandic/face-api/package.json')), 'model');

const MEAN_RGB = [122.782, 117.001, 104.298];
const BLOCKS = ['dense0', 'dense1', 'dense2', 'dense3'];

// face-api src/common/depthwiseSeparableConv.ts
function depthwiseSeparableConv(x, p, stride) {
  return tf.add(tf.separableConv2d(x, p.depthwise_filter, p.pointwise_filter, stride, 'same'), p.bias);
}

// face-api src/faceFeatureExtractor/denseBlock.ts denseBlock4 (isScaleDown = true)
function denseBlock4(x, p, isFirstLayer) {
  const out1 = tf.relu(isFirstLayer
    ? tf.add(tf.conv2d(x, p.conv0.filters, [2, 2], 'same'), p.conv0.bias)
    : depthwiseSeparableConv(x, p.conv0, [2, 2]));
  const out2 = depthwiseSeparableConv(out1, p.conv1, [1, 1]);
  const in3 = tf.relu(tf.add(out1, out2));
  const out3 = depthwiseSeparableConv(in3, p.conv2, [1, 1]);
  const in4 = tf.relu(tf.add(out1, tf.add(out2, out3)));
  const out4 = depthwiseSeparableConv(in4, p.conv3, [1, 1]);
  return tf.relu(tf.add(out1, tf.add(out2, tf.add(out3, out4))));
}

// Runs the dense blocks from index `from` (0..4) on x, then face-api's head:
// avgPool [7,7] stride [2,2] 'valid', as2D, fullyConnectedLayer (matMul + bias).
function fromBlock(x, from, net) {
  const fe = net.faceFeatureExtractor.params;
  let out = x;
  for (let i = from; i < BLOCKS.length; i++) out = denseBlock4(out, fe[BLOCKS[i]], i === 0);
  out = tf.avgPool(out, [7, 7], [2, 2], 'valid');
  const flat = out.as2D(out.shape[0], -1);
  return tf.add(tf.matMul(flat, net.params.fc.weights), net.params.fc.bias);
}

function blocksUpTo(x, last, net) {
  const fe = net.faceFeatureExtractor.params;
  let out = x;
  for (let i = 0; i <= last; i++) out = denseBlock4(out, fe[BLOCKS[i]], i === 0);
  return out;
}

function blockIndex(layer) {
  const li = BLOCKS.indexOf(layer.replace(/\/out$/, ''));
  if (li < 0 || !layer.endsWith('/out')) throw new Error(`unknown layer ${layer}`);
  return li;
}

// gradCAM explains class cls at the output A (1×h×w×C) of block li.
function gradCAM(A, li, cls, net) {
  return tf.tidy(() => {
    const f = (a) => fromBlock(a, li + 1, net).slice([0, cls], [1, 1]).sum();
    const g = tf.grad(f)(A);
    const [, h, w, c] = A.shape;
    const weights = g.reshape([h * w, c]).mean(0); // C
    const raw = tf.matMul(A.reshape([h * w, c]), weights.reshape([c, 1])).reshape([h * w]);
    const r = tf.relu(raw);
    const shifted = tf.sub(r, r.min());
    const map = tf.div(shifted, tf.add(shifted.max(), 1e-7));
    return {
      h, w,
      weights: Array.from(weights.dataSync()),
      raw: Array.from(raw.dataSync()),
      map: Array.from(map.dataSync()),
      logit: f(A).dataSync()[0],
    };
  });
}

async function main() {
  const [jobPath, outPath] = process.argv.slice(2);
  if (!jobPath || !outPath) throw new Error('usage: node ref.js job.json out.json');
  const job = JSON.parse(fs.readFileSync(jobPath, 'utf8'));
  await tf.setBackend('wasm');
  await tf.ready();
  const net = faceapi.nets.faceExpressionNet;
  await net.loadFromDisk(modelDir);
  const out = { faceapi: faceapi.version, tfjs: tf.version_core, backend: tf.getBackend(), cases: [] };
  const inputs = [];
  for (const c of job.cases) {
    const bytes = fs.readFileSync(c.rgb);
    if (bytes.length !== c.height * c.width * 3) throw new Error(`${c.name}: ${bytes.length} bytes for ${c.height}×${c.width}×3`);
    const t = tf.tensor3d(new Int32Array(Uint8Array.from(bytes)), [c.height, c.width, 3], 'int32');
    const netInput = await faceapi.toNetInput(t);
    const normalized = tf.tidy(() => faceapi.normalize(tf.cast(netInput.toBatchTensor(112, true), 'float32'), MEAN_RGB).div(255));
    const probsT = await net.forward(t);
    const logitsT = tf.tidy(() => fromBlock(normalized, 0, net));
    const r = {
      name: c.name,
      input: Array.from(normalized.dataSync()),
      probs: Array.from(probsT.dataSync()),
      logits: Array.from(logitsT.dataSync()),
      probsMirror: Array.from(tf.tidy(() => tf.softmax(logitsT)).dataSync()),
      cams: {},
    };
    if (c.detect) {
      if (!faceapi.nets.ssdMobilenetv1.isLoaded) await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
      const dets = await faceapi.detectAllFaces(t, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 }));
      r.detections = dets.map((d) => ({ x: d.box.x, y: d.box.y, w: d.box.width, h: d.box.height, score: d.score }));
    }
    tf.dispose([t, probsT, logitsT]);
    out.cases.push(r);
    inputs.push(normalized);
  }
  // tfjs-backend-wasm 4.22.0 has no DepthwiseConv2dNativeBackpropInput
  // kernel, so the gradients are taken on TF.js's CPU backend (pure JS; the
  // engine moves the weights and the input over).
  await tf.setBackend('cpu');
  out.gradBackend = tf.getBackend();
  job.cases.forEach((c, i) => {
    const r = out.cases[i];
    for (const layer of c.layers || []) {
      const li = blockIndex(layer);
      const A = tf.tidy(() => blocksUpTo(inputs[i], li, net));
      r.cams[layer] = {};
      for (const k of c.classes || []) r.cams[layer][k] = gradCAM(A, li, k, net);
      A.dispose();
    }
  });
  tf.dispose(inputs);
  fs.writeFileSync(outPath, JSON.stringify(out));
}

main().catch((e) => { console.error(e && e.stack ? e.stack : e); process.exit(1); });
