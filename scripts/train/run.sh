#!/usr/bin/env bash
# Regenerates CamLens's own models end to end, on CPU:
#   data (Go: scripts/train/gendata) → PyTorch training (scripts/train/train.py)
#   → ONNX → CamLens int8 model file (scripts/convert) in models/.
# Usage: scripts/train/run.sh [fashion] [digits] [clutter]   (default: all three)
# Needs Debian python3-torch, python3-onnx and dataset-fashion-mnist (scripts/setup.d/10-apt.sh).
# Each model trains in about 5–30 minutes on 2 free cores; the test accuracies land in
# .cache/train/out/<model>.json and in the model file's provenance, and models/models_test.go
# re-measures the int8 files' accuracy.
set -euo pipefail
cd "$(dirname "$0")/../.."
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(fashion digits clutter)
data=.cache/train/data out=.cache/train/out
[ -f "$data/sources.json" ] || go run ./scripts/train/gendata -out "$data"
for m in "${models[@]}"; do
  /usr/bin/python3 scripts/train/train.py --model "$m" --data "$data" --out "$out"
  case $m in
    fashion) title="Fashion-MNIST (10 classes, GAP + linear head)"; mean=0.2860; std=0.3530; size=28
             labels="T-shirt/top Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag Ankle_boot"
             desc="A small BatchNorm CNN trained by CamLens on Fashion-MNIST. Its head is global average pooling then one linear layer, so CAM and Grad-CAM can be compared on it." ;;
    digits)  title="Handwritten digits (MNIST, MobileNet-style)"; mean=0.1307; std=0.3081; size=28
             labels="0 1 2 3 4 5 6 7 8 9"
             desc="A MobileNetV2-style network (inverted residual blocks: depthwise convolution, ReLU6, residual add) trained by CamLens on MNIST." ;;
    clutter) title="Cluttered digits (96×96 localisation)"; mean=0.1307; std=0.3081; size=96
             labels="0 1 2 3 4 5 6 7 8 9"
             desc="A CNN trained by CamLens on 96×96 canvases holding one MNIST digit at a random position and scale among clutter fragments. The held-out split keeps each digit's box, so maps can be scored by pointing game and box IoU." ;;
  esac
  printf '%s\n' $labels | tr '_' ' ' > "$out/$m.labels.txt"
  go run ./scripts/convert -in "$out/$m.onnx" -o "models/$m.safetensors" -name "$m" -title "$title" \
    -description "$desc" -labels "$out/$m.labels.txt" -channels L -size "$size" -fit stretch -resize area \
    -scale 0.00392156862745098 -mean "$mean" -std "$std" -provenance-json "$out/$m.provenance.json"
done
