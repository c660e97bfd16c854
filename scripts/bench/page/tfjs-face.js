// TF.js side of the CamLens benchmark: face-api's face-expression network
// written with TF.js ops (a mirror of face-api's denseBlock4,
// FaceFeatureExtractor and FaceProcessor code, as scripts/facetest/ref.js,
// whose logits the Go parity tests check against face-api's own), its
// preprocessing (crop, pad to a centred square, bilinear resize to 112,
// minus the mean RGB, divided by 255) and Grad-CAM / Guided Grad-CAM with
// tf.grad. Loaded as a classic script after tf.min.js; defines FaceNet.
"use strict";

const FACE_MEAN_RGB = [122.782, 117.001, 104.298];
const FACE_BLOCKS = ["dense0", "dense1", "dense2", "dense3"];

class FaceNet {
  // load fetches the face-api weights manifest and its .bin through
  // tf.io.loadWeights (uint8 dequantisation as face-api does), creating
  // the tensors on the current backend.
  static async load(modelDir) {
    const manifest = await (await fetch(modelDir + "face_expression_model-weights_manifest.json")).json();
    const w = await tf.io.loadWeights(manifest, modelDir);
    return new FaceNet(w);
  }

  // fetchWeights downloads the manifest and the weights file (no tensors
  // yet: call fromWeights once the backend is ready).
  static async fetchWeights(modelDir) {
    const manifest = await (await fetch(modelDir + "face_expression_model-weights_manifest.json")).json();
    const r = await fetch(modelDir + manifest[0].paths[0]);
    if (!r.ok) throw new Error("face-api weights: HTTP " + r.status);
    return { manifest, data: await r.arrayBuffer() };
  }

  static fromWeights({ manifest, data }) {
    return new FaceNet(tf.io.decodeWeights(data, manifest[0].weights));
  }

  constructor(w) {
    this.w = w;
    // guided ReLU: the gradient passes where x > 0 and dy > 0
    this.guidedRelu = tf.customGrad((x, save) => {
      save([x]);
      return {
        value: tf.relu(x),
        gradFunc: (dy, [x]) => tf.mul(tf.mul(dy, tf.cast(tf.greater(x, 0), "float32")), tf.cast(tf.greater(dy, 0), "float32")),
      };
    });
  }

  p(name) {
    const t = this.w[name];
    if (!t) throw new Error("face-api weights: no " + name);
    return t;
  }

  sep(x, prefix, stride) {
    return tf.add(tf.separableConv2d(x, this.p(prefix + "/depthwise_filter"), this.p(prefix + "/pointwise_filter"), stride, "same"), this.p(prefix + "/bias"));
  }

  block(x, b, guided) {
    const relu = guided ? this.guidedRelu : tf.relu;
    const out1 = relu(b === "dense0"
      ? tf.add(tf.conv2d(x, this.p("dense0/conv0/filters"), [2, 2], "same"), this.p("dense0/conv0/bias"))
      : this.sep(x, b + "/conv0", [2, 2]));
    const out2 = this.sep(out1, b + "/conv1", [1, 1]);
    const in3 = relu(tf.add(out1, out2));
    const out3 = this.sep(in3, b + "/conv2", [1, 1]);
    const in4 = relu(tf.add(out1, tf.add(out2, out3)));
    const out4 = this.sep(in4, b + "/conv3", [1, 1]);
    return relu(tf.add(out1, tf.add(out2, tf.add(out3, out4))));
  }

  // upTo runs blocks 0..last on x (1×112×112×3).
  upTo(x, last, guided) {
    let out = x;
    for (let i = 0; i <= last; i++) out = this.block(out, FACE_BLOCKS[i], guided);
    return out;
  }

  // from runs blocks from..3 on x, then the head: avgPool 7×7 stride 2
  // 'valid', flatten, fully connected → 1×7 logits.
  from(x, from, guided) {
    let out = x;
    for (let i = from; i < FACE_BLOCKS.length; i++) out = this.block(out, FACE_BLOCKS[i], guided);
    out = tf.avgPool(out, [7, 7], [2, 2], "valid");
    return tf.add(tf.matMul(out.as2D(out.shape[0], -1), this.p("fc/weights")), this.p("fc/bias"));
  }

  // preprocess: pixels (H×W×3 int32, the decoded image), crop [x, y, w, h]
  // → 1×112×112×3 network input, as face-api's extractFaceTensors +
  // toBatchTensor(112, isCenterImage) + normalize.
  preprocess(pixels, crop) {
    return tf.tidy(() => {
      const [H, W] = pixels.shape;
      const x0 = Math.max(0, crop[0]), y0 = Math.max(0, crop[1]);
      const x1 = Math.min(W, crop[0] + crop[2]), y1 = Math.min(H, crop[1] + crop[3]);
      let t = tf.slice(pixels, [y0, x0, 0], [y1 - y0, x1 - x0, 3]);
      const h = y1 - y0, w = x1 - x0, side = Math.max(h, w);
      if (h !== w) {
        const d = side - Math.min(h, w), before = Math.floor(d / 2), after = d - before;
        t = h < w ? tf.pad(t, [[before, after], [0, 0], [0, 0]]) : tf.pad(t, [[0, 0], [before, after], [0, 0]]);
      }
      t = tf.image.resizeBilinear(tf.cast(t, "float32").expandDims(0), [112, 112], false, false);
      return tf.div(tf.sub(t, tf.tensor1d(FACE_MEAN_RGB)), 255);
    });
  }

  // cam turns activations A (1×h×w×C) and the gradient G there into the
  // Grad-CAM map: channel weights = mean of G over positions, ReLU of the
  // weighted sum, min-max, bilinear resize to 112×112 → 1×112×112×1.
  cam(A, G) {
    const [, h, w, c] = A.shape;
    const weights = G.reshape([h * w, c]).mean(0);
    const raw = tf.matMul(A.reshape([h * w, c]), weights.reshape([c, 1])).reshape([1, h, w, 1]);
    const r = tf.relu(raw);
    const shifted = tf.sub(r, r.min());
    const m = tf.div(shifted, tf.add(shifted.max(), 1e-7));
    return tf.image.resizeBilinear(m, [112, 112], false, true);
  }

  // gradCAM explains the top class at the output of block li (3: the 7×7
  // block, 2: the 14×14 block): image pixels in, 112×112 map out.
  gradCAM(pixels, crop, li) {
    return tf.tidy(() => this.gradCAMInput(this.preprocess(pixels, crop), li));
  }

  // gradCAMInput is gradCAM from the preprocessed input x.
  gradCAMInput(x, li) {
    return tf.tidy(() => {
      const A = this.upTo(x, li, false);
      const cls = this.from(A, li + 1, false).argMax(1).dataSync()[0];
      const G = tf.grad((a) => this.from(a, li + 1, false).slice([0, cls], [1, 1]).sum())(A);
      return this.cam(A, G).dataSync();
    });
  }

  // guidedGradCAM: Grad-CAM at the 7×7 block times the guided-backprop
  // gradient of the class at the input: 112×112×3 out.
  guidedGradCAM(pixels, crop) {
    return tf.tidy(() => {
      const x = this.preprocess(pixels, crop);
      const A = this.upTo(x, 3, false);
      const cls = this.from(A, 4, false).argMax(1).dataSync()[0];
      const G = tf.grad((a) => this.from(a, 4, false).slice([0, cls], [1, 1]).sum())(A);
      const map = this.cam(A, G);
      const gx = tf.grad((inp) => this.from(inp, 0, true).slice([0, cls], [1, 1]).sum())(x);
      return tf.mul(gx, map).dataSync();
    });
  }

  forward(x) {
    return tf.tidy(() => this.from(x, 0, false).dataSync());
  }
}
