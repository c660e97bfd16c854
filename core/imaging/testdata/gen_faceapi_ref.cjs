// Regenerates faceapi_ref.json: face-api's own input pipeline
// (NetInput.toBatchTensor(size, isCenterInputs=true): padToSquare + 
// tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=false), then
// normalize(x, meanRgb).div(255)) on pattern_pixels.json, on the tfjs CPU
// backend. Run from this directory:
//   NODE_PATH=../../../scripts/node/node_modules node gen_faceapi_ref.cjs
const fs = require('fs');
const tf = require('@tensorflow/tfjs');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  const px = JSON.parse(fs.readFileSync('pattern_pixels.json', 'utf8'));
  const meanRgb = [122.782, 117.001, 104.298];
  const cases = [];
  for (const [name, img] of Object.entries(px)) {
    for (const size of [40, 9, Math.max(img.w, img.h)]) {
      const t = tf.tensor3d(img.rgb, [img.h, img.w, 3], 'int32');
      const input = new faceapi.NetInput([t]);
      const batch = input.toBatchTensor(size, true); // [1, size, size, 3]
      const norm = faceapi.normalize(batch, meanRgb).div(255);
      const nchw = norm.transpose([0, 3, 1, 2]);
      cases.push({ image: name + '.png', size, shape: nchw.shape, data: Array.from(await nchw.data(), (v) => Number(v.toPrecision(8))) });
    }
  }
  fs.writeFileSync('faceapi_ref.json', JSON.stringify({ faceapi: faceapi.version, tfjs: tf.version.tfjs, backend: tf.getBackend(), cases }));
}
main().catch((e) => { console.error(e); process.exit(1); });
