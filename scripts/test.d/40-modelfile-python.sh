#!/usr/bin/env bash
# Runs the standard-library Python reader printed in models/FORMAT.md on the
# golden model files of core/modelfile and checks its values against the Go
# reader's, bit for bit (tiny-dequantized.safetensors holds the Go reader's
# dequantised values of tiny.safetensors as float32).
set -euo pipefail
cd "$(dirname "$0")/../.."
py=$(command -v python3 || true)
if [ -z "$py" ]; then
  if [ "${CAMLENS_REQUIRE_DEPS:-0}" = 1 ]; then echo "python3 missing" >&2; exit 1; fi
  echo "SKIP: python3 not installed"; exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The first ```python block of FORMAT.md is the reader.
awk '/^```python$/{on=1; next} on && /^```$/{exit} on' models/FORMAT.md > "$tmp/camlens_reader.py"
[ -s "$tmp/camlens_reader.py" ] || { echo "no python block in models/FORMAT.md" >&2; exit 1; }
d=core/modelfile/testdata
"$py" "$tmp/camlens_reader.py" "$d/tiny.safetensors"
PYTHONPATH="$tmp" "$py" - "$d" <<'PY'
import struct, sys
from camlens_reader import read_camlens

d = sys.argv[1]
q = read_camlens(d + "/tiny.safetensors")
f = read_camlens(d + "/tiny-f32.safetensors")
g = read_camlens(d + "/tiny-dequantized.safetensors")
assert q[0] == f[0] == g[0], "meta differs"
assert q[1] == f[1] == g[1], "graph differs"
assert sorted(q[2]) == sorted(f[2]) == sorted(g[2]), "weight names differ"
bits = lambda v: struct.pack("<%df" % len(v), *v)
quantised = 0
for name in sorted(q[2]):
    (qs, qv), (fs, fv), (gs, gv) = q[2][name], f[2][name], g[2][name]
    assert qs == fs == gs, name
    assert bits(qv) == bits(gv), "%s: Python and Go dequantise differently" % name
    if bits(qv) != bits(fv):
        quantised += 1
        per = len(fv) // qs[0]
        for c in range(qs[0]):
            row = fv[c * per:(c + 1) * per]
            scale = max(abs(x) for x in row) / 127
            for i, x in enumerate(row):
                assert abs(qv[c * per + i] - x) <= scale / 2 * (1 + 1e-5) + 1e-30, (name, c, i)
assert quantised == 2, "expected conv1.weight and fc.weight to be int8, got %d" % quantised
print("1 passed, 0 failed")
PY
