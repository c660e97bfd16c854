#!/usr/bin/python3
"""Regenerates the .npy fixtures for core/npy with NumPy (Debian python3).
Run from this directory: /usr/bin/python3 gen_npy.py

ok_*.npy must read back as the float32 values (bit patterns) in expected.json; bad_*.npy
must be rejected; save_*.npy are numpy.save's bytes that Write must
reproduce exactly."""
import io
import json
import numpy as np
from numpy.lib import format as fmt

rng = np.random.default_rng(3)
expected = {}


def ok(name, arr, version=None):
    with open(f"ok_{name}.npy", "wb") as f:
        if version is None:
            np.save(f, arr)
        else:
            fmt.write_array(f, arr, version=version)
    a = np.asarray(arr, dtype=np.float32)
    expected[name] = {"shape": list(a.shape), "bits": [int(v) for v in a.flatten().view(np.uint32)]}


ok("f4", rng.standard_normal((2, 3)).astype(np.float32))
ok("f4_be", rng.standard_normal((3, 2)).astype(">f4"))
ok("f8", rng.standard_normal((4,)) * 1e3)
ok("f8_be", rng.standard_normal((2, 2)).astype(">f8"))
ok("u1", rng.integers(0, 256, (2, 2, 3)).astype(np.uint8))
ok("scalar", np.float32(3.5))
ok("empty", np.zeros((0, 3), np.float32))
ok("special", np.array([np.inf, -np.inf, 0.0, -0.0, 1e-45], np.float32))
ok("v2", rng.standard_normal((2, 2)).astype(np.float32), version=(2, 0))
ok("v3", rng.standard_normal((1, 2, 1)).astype(np.float32), version=(3, 0))
ok("4d", rng.standard_normal((1, 3, 2, 2)).astype(np.float32))
json.dump(expected, open("expected.json", "w"))

np.save("bad_fortran.npy", np.asfortranarray(rng.standard_normal((2, 3)).astype(np.float32)))
np.save("bad_i4.npy", np.arange(6, dtype=np.int32))
np.save("bad_structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
np.save("bad_f8_overflow.npy", np.array([1e300]))
full = open("ok_f4.npy", "rb").read()
open("bad_truncated.npy", "wb").write(full[:-5])

for name, arr in [("2x3", np.arange(6, dtype=np.float32).reshape(2, 3) / 7),
                  ("5", np.linspace(-1, 1, 5, dtype=np.float32)),
                  ("scalar", np.float32(-2.25)),
                  ("0x3", np.zeros((0, 3), np.float32)),
                  ("1x3x4x5", np.zeros((1, 3, 4, 5), np.float32) + 0.5),
                  ("7x1", np.ones((7, 1), np.float32))]:
    np.save(f"save_{name}.npy", arr)
