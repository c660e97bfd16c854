#!/usr/bin/python3
"""Reference values for core/metrics tests (run with /usr/bin/python3: Debian's
scipy 1.10, numpy 1.24, torch 1.13).

    /usr/bin/python3 core/metrics/testdata/gen_ref.py > core/metrics/testdata/ref.json

- gkern: RISE's insertion kernel, verbatim from RISE (evaluation.py):
  gaussian_filter of an 11x11 delta with sigma 5.
- blur: RISE's blur of a 1x2x7x9 image: torch conv2d with that kernel per
  channel, padding 5.
- impute: pytorch-grad-cam's NoisyLinearImputer.setup_sparse_system
  (metrics/road.py, copied below) solved with scipy's spsolve, noise 0.
- spearman: scipy.stats.spearmanr on small vectors with ties.
"""
import json

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from scipy.sparse import lil_matrix, csc_matrix
from scipy.sparse.linalg import spsolve
from scipy.stats import spearmanr


def gkern(klen, nsig):
    inp = np.zeros((klen, klen))
    inp[klen // 2, klen // 2] = 1
    return gaussian_filter(inp, nsig)


neighbors_weights = [((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
                     ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6)]


def add_offset_to_indices(indices, offset, mask_shape):
    cord1 = indices % mask_shape[1]
    cord0 = indices // mask_shape[1]
    cord0 += offset[0]
    cord1 += offset[1]
    valid = ((cord0 < 0) | (cord1 < 0) | (cord0 >= mask_shape[0]) | (cord1 >= mask_shape[1]))
    return ~valid, indices + offset[0] * mask_shape[1] + offset[1]


def setup_sparse_system(mask, img, neighbors_weights):
    maskflt = mask.flatten()
    imgflat = img.reshape((img.shape[0], -1))
    indices = np.argwhere(maskflt == 0).flatten()
    coords_to_vidx = np.zeros(len(maskflt), dtype=int)
    coords_to_vidx[indices] = np.arange(len(indices))
    numEquations = len(indices)
    A = lil_matrix((numEquations, numEquations))
    b = np.zeros((numEquations, img.shape[0]))
    sum_neighbors = np.ones(numEquations)
    for n in neighbors_weights:
        offset, weight = n[0], n[1]
        valid, new_coords = add_offset_to_indices(indices, offset, mask.shape)
        valid_coords = new_coords[valid]
        valid_ids = np.argwhere(valid == 1).flatten()
        has_values_coords = valid_coords[maskflt[valid_coords] > 0.5]
        has_values_ids = valid_ids[maskflt[valid_coords] > 0.5]
        b[has_values_ids, :] -= weight * imgflat[:, has_values_coords].T
        has_no_values = valid_coords[maskflt[valid_coords] < 0.5]
        variable_ids = coords_to_vidx[has_no_values]
        has_no_values_ids = valid_ids[maskflt[valid_coords] < 0.5]
        A[has_no_values_ids, variable_ids] = weight
        sum_neighbors[np.argwhere(valid == 0).flatten()] = \
            sum_neighbors[np.argwhere(valid == 0).flatten()] - weight
    A[np.arange(numEquations), np.arange(numEquations)] = -sum_neighbors
    return A, b


def impute(img, mask):
    imgflt = img.reshape(img.shape[0], -1).copy()
    indices_linear = np.argwhere(mask.reshape(-1) == 0).flatten()
    A, b = setup_sparse_system(mask, img, neighbors_weights)
    res = spsolve(csc_matrix(A), b)
    imgflt[:, indices_linear] = res.T
    return imgflt.reshape(img.shape)


rng = np.random.default_rng(7)
out = {}
k = gkern(11, 5)
out["gkern"] = k.flatten().tolist()

x = rng.standard_normal((1, 2, 7, 9)).astype(np.float32)
kern = np.zeros((2, 2, 11, 11), np.float32)
for i in range(2):
    kern[i, i] = k
blur = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(kern), padding=5)
out["blur_input"] = x.flatten().tolist()
out["blur"] = blur.numpy().flatten().tolist()

img = rng.standard_normal((2, 10, 12))
mask = (rng.random((10, 12)) > 0.55).astype(np.float64)  # 1 = kept
mask[0, :] = 0  # a removed border row
mask[4:7, 3:8] = 0  # a removed block
out["impute_input"] = img.flatten().tolist()
out["impute_keep"] = mask.flatten().astype(int).tolist()
out["impute"] = impute(img, mask).flatten().tolist()

cases = [
    ([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]),
    ([3, 1, 2, 2, 5, 0], [0.5, 0.1, 0.2, 0.3, 0.9, 0.9]),
    ([1, 1, 2, 2, 3, 3, 4], [7, 6, 5, 4, 3, 2, 1]),
    ([0.1, 0.4, 0.35, 0.8], [1, 0, 3, 2]),
]
out["spearman"] = [{"a": a, "b": b, "rho": float(spearmanr(a, b).correlation)} for a, b in cases]
print(json.dumps(out))
