#!/usr/bin/python3
"""Regenerates resize_ref.json: PyTorch F.interpolate bilinear outputs (no
antialias) for ResizePlane's half-pixel and align-corners modes.
Run with Debian's python3-torch: /usr/bin/python3 gen_resize_ref.py"""
import json
import torch
import torch.nn.functional as F

g = torch.Generator().manual_seed(7)
cases = []
for (sh, sw, dh, dw) in [(7, 7, 50, 50), (5, 3, 11, 17), (13, 9, 4, 6), (6, 10, 9, 7), (1, 4, 3, 1), (14, 14, 33, 29)]:
    x = torch.randn(1, 1, sh, sw, generator=g)
    for corners in (False, True):
        y = F.interpolate(x, size=(dh, dw), mode="bilinear", align_corners=corners)
        cases.append({
            "sw": sw, "sh": sh, "dw": dw, "dh": dh,
            "mode": "align-corners" if corners else "half-pixel",
            "src": [float(v) for v in x.flatten()],
            "dst": [round(float(v), 7) for v in y.flatten()],
        })
json.dump({"torch": torch.__version__, "cases": cases}, open("resize_ref.json", "w"))
