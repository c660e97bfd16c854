// Run by TestPlainPNG: web/camlens.js's plainPNG on the PNG variants the Go
// test wrote (argv[3]: a directory with cases.json and the files).
import { readFileSync } from "node:fs";
import { join } from "node:path";

const { plainPNG } = await import(process.argv[2]);
const dir = process.argv[3];
const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8"));
let failed = 0;
for (const c of cases) {
  const got = plainPNG(new Uint8Array(readFileSync(join(dir, c.file))), c.maxPixels);
  const want = c.plain ? { w: c.w, h: c.h } : null;
  const ok = JSON.stringify(got) === JSON.stringify(want);
  console.log(`${ok ? "ok  " : "FAIL"} ${c.file}: ${JSON.stringify(got)}${ok ? "" : ", want " + JSON.stringify(want)}`);
  if (!ok) failed++;
}
if (failed) {
  console.log(`${failed} of ${cases.length} cases failed`);
  process.exit(1);
}
