// run_ort.js DIR NAME... — runs DIR/NAME.onnx with onnxruntime-node on the
// input stored in DIR/NAME.json and writes the first output to
// DIR/NAME.ort.json as {"shape": [...], "data": [...]}.
// onnxruntime-node comes from scripts/node (installed by scripts/setup.d).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '..', 'node', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [dir, ...names] = process.argv.slice(2);
  if (!dir || names.length === 0) {
    throw new Error('usage: node run_ort.js DIR NAME...');
  }
  for (const name of names) {
    const ref = JSON.parse(fs.readFileSync(path.join(dir, name + '.json'), 'utf8'));
    const session = await ort.InferenceSession.create(path.join(dir, name + '.onnx'), {
      graphOptimizationLevel: 'disabled',
      intraOpNumThreads: 1,
    });
    const input = new ort.Tensor('float32', Float32Array.from(ref.input), ref.input_shape);
    const out = await session.run({ [session.inputNames[0]]: input });
    const y = out[session.outputNames[0]];
    fs.writeFileSync(path.join(dir, name + '.ort.json'),
      JSON.stringify({ shape: y.dims, data: Array.from(y.data) }));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
