#!/usr/bin/env bash
# Debian packages the tests need: headless Chromium for the browser tests,
# wabt for the WebAssembly SIMD kernels, PyTorch/ONNX for generating reference
# models, the ONNX conformance suite, datasets and sample photos.
set -euo pipefail
pkgs=(chromium chromium-driver wabt python3-torch python3-torchvision python3-onnx
  libonnx-testdata dataset-fashion-mnist python3-skimage python-matplotlib-data brotli)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then echo "apt: all present"; exit 0; fi
echo "apt: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
