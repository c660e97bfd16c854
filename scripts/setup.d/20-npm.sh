#!/usr/bin/env bash
# npm packages used as reference engines by the tests (TF.js, face-api,
# onnxruntime-node) and wrangler for the edge tests; pinned by
# scripts/node/package-lock.json. onnxruntime-node's postinstall download is
# skipped: its npm package already carries the CPU binaries.
set -euo pipefail
cd "$(dirname "$0")/../node"
if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.camlens-lock 2>/dev/null; then
  echo "npm: up to date"; exit 0
fi
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
cp package-lock.json node_modules/.camlens-lock
