#!/usr/bin/python3
"""Train one of CamLens's own models on CPU and export it to ONNX.

    /usr/bin/python3 scripts/train/train.py --model fashion --data .cache/train/data --out .cache/train/out

Models (all BatchNorm, seeds fixed, deterministic on one machine):
  fashion  Fashion-MNIST, small VGG-style CNN with a global-average-pool + linear head
           (so CAM and Grad-CAM can be compared on it).
  digits   MNIST, MobileNetV2-style inverted residual blocks (depthwise conv, ReLU6,
           residual add).
  clutter  96x96 cluttered digits (scripts/train/gendata), a CNN whose last 12x12 layer
           localises the digit (used for the pointing game and box IoU).

Writes <out>/<model>.onnx and <out>/<model>.json (float test accuracy, data sha256,
hyper-parameters). Data comes from scripts/train/gendata (raw IDX files).
"""
import argparse
import hashlib
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LABELS = {
    "fashion": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                "Sneaker", "Bag", "Ankle boot"],
    "digits": [str(i) for i in range(10)],
    "clutter": [str(i) for i in range(10)],
}
NORM = {"fashion": (0.2860, 0.3530), "digits": (0.1307, 0.3081), "clutter": (0.1307, 0.3081)}
EPOCHS = {"fashion": 3, "digits": 6, "clutter": 3}
TRAIN_LIMIT = {"clutter": 15000}  # items of the training split used (CPU budget)
DATA = {"fashion": "fashion", "digits": "digits", "clutter": "clutter"}


def cbr(cin, cout, k=3, s=1, g=1, act=nn.ReLU):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return layers


class FashionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *cbr(1, 16), *cbr(16, 16), nn.MaxPool2d(2),
            *cbr(16, 32), *cbr(32, 32), nn.MaxPool2d(2),
            *cbr(32, 64), *cbr(64, 64))
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


class InvertedResidual(nn.Module):
    def __init__(self, c, expand):
        super().__init__()
        h = c * expand
        self.block = nn.Sequential(
            *cbr(c, h, k=1, act=nn.ReLU6),
            *cbr(h, h, k=3, g=h, act=nn.ReLU6),
            *cbr(h, c, k=1, act=None))

    def forward(self, x):
        return x + self.block(x)


class DigitsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *cbr(1, 16, s=2, act=nn.ReLU6),
            InvertedResidual(16, 2),
            *cbr(16, 32, s=2, act=nn.ReLU6),
            InvertedResidual(32, 2),
            *cbr(32, 64, k=1, act=nn.ReLU6))
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


class ClutterNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *cbr(1, 16, s=2), nn.MaxPool2d(2),
            *cbr(16, 32), nn.MaxPool2d(2),
            *cbr(32, 48), *cbr(48, 64))
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


NETS = {"fashion": FashionNet, "digits": DigitsNet, "clutter": ClutterNet}


def read_idx(path):
    raw = open(path, "rb").read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic == 0x803:
        n, r, c = (int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
        return np.frombuffer(raw, np.uint8, offset=16).reshape(n, r, c), hashlib.sha256(raw).hexdigest()
    if magic == 0x801:
        n = int.from_bytes(raw[4:8], "big")
        return np.frombuffer(raw, np.uint8, offset=8).reshape(n), hashlib.sha256(raw).hexdigest()
    raise ValueError(f"{path}: bad IDX magic {magic:#x}")


def load(data, name, split):
    x, hx = read_idx(os.path.join(data, f"{name}-{split}-images.idx"))
    y, hy = read_idx(os.path.join(data, f"{name}-{split}-labels.idx"))
    return x, y, {f"{name}-{split}-images.idx": hx, f"{name}-{split}-labels.idx": hy}


def to_tensor(x, model):
    m, s = NORM[model]
    return (torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1) - m) / s


def evaluate(net, x, y, model, bs=500):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            out = net(to_tensor(x[i:i + bs], model))
            correct += (out.argmax(1).numpy() == y[i:i + bs]).sum()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, choices=sorted(NETS))
    ap.add_argument("--data", default=".cache/train/data")
    ap.add_argument("--out", default=".cache/train/out")
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    xtr, ytr, h1 = load(a.data, DATA[a.model], "train")
    if a.model in TRAIN_LIMIT:
        xtr, ytr = xtr[:TRAIN_LIMIT[a.model]], ytr[:TRAIN_LIMIT[a.model]]
    xte, yte, h2 = load(a.data, DATA[a.model], "test")
    net = NETS[a.model]()
    epochs = a.epochs or EPOCHS[a.model]
    bs = 128
    steps = epochs * ((len(xtr) + bs - 1) // bs)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(0)
    t0 = time.time()
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=gen).numpy()
        tot = 0.0
        for i in range(0, len(xtr), bs):
            idx = perm[i:i + bs]
            xb = to_tensor(xtr[idx], a.model)
            if a.model == "fashion":  # random horizontal flip
                flip = torch.rand(len(idx), generator=gen) < 0.5
                xb[flip] = xb[flip].flip(3)
            loss = F.cross_entropy(net(xb), torch.from_numpy(ytr[idx].astype(np.int64)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        acc = evaluate(net, xte, yte, a.model)
        print(f"{a.model} epoch {ep + 1}/{epochs} loss {tot / len(xtr):.4f} test acc {acc:.4f} "
              f"({time.time() - t0:.0f}s)", flush=True)
    net.eval()
    acc = float(evaluate(net, xte, yte, a.model))
    side = xtr.shape[1]
    onnx_path = os.path.join(a.out, f"{a.model}.onnx")
    torch.onnx.export(net, torch.zeros(1, 1, side, side), onnx_path, opset_version=13,
                      input_names=["input"], output_names=["logits"], do_constant_folding=True)
    m, s = NORM[a.model]
    meta = {
        "model": a.model, "labels": LABELS[a.model], "input": [1, side, side],
        "mean": m, "std": s, "epochs": epochs, "batch_size": bs, "optimizer": "AdamW lr 3e-3 one-cycle",
        "test_accuracy_float": acc, "test_items": int(len(xte)), "train_items": int(len(xtr)),
        "data_sha256": {**h1, **h2}, "seconds": round(time.time() - t0),
        "onnx_sha256": hashlib.sha256(open(onnx_path, "rb").read()).hexdigest(),
        "torch": torch.__version__,
    }
    with open(os.path.join(a.out, f"{a.model}.json"), "w") as f:
        json.dump(meta, f, indent=2)
    # Provenance for scripts/convert -provenance-json (string values only).
    data_lic = {"fashion": ("MIT", "Fashion-MNIST (c) 2017 Zalando SE, MIT licence"),
                "digits": ("CC-BY-SA-3.0", "MNIST by Y. LeCun, C. Cortes, C. J. C. Burges, CC BY-SA 3.0"),
                "clutter": ("CC-BY-SA-3.0", "made from MNIST by Y. LeCun, C. Cortes, C. J. C. Burges, CC BY-SA 3.0")}
    lic, attribution = data_lic[a.model]
    prov = {
        "source": f"CamLens scripts/train/train.py --model {a.model} (PyTorch {torch.__version__}, CPU, seed 0)",
        "license": lic, "attribution": attribution,
        "notes": "data sha256: " + ", ".join(f"{k} {v}" for k, v in sorted(meta["data_sha256"].items())),
        "metrics": {"test_accuracy_float": f"{acc:.4f}", "test_items": str(len(xte)),
                    "train_items": str(len(xtr)), "epochs": str(epochs)},
    }
    with open(os.path.join(a.out, f"{a.model}.provenance.json"), "w") as f:
        json.dump(prov, f, indent=2)
    print(json.dumps({k: meta[k] for k in ("model", "test_accuracy_float", "seconds")}))


if __name__ == "__main__":
    main()
