#!/usr/bin/env bash
# The WebAssembly SIMD kernels (wasm/kernels) as js/wasm under Node, with
# the kernel module assembled by wabt's wat2wasm and preloaded into the Go
# instance's memory (wasm/kernels/preload.cjs): the SIMD results against
# the plain reference loops and the pure-Go kernels on every shape of the
# shipped face model.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wat2wasm >/dev/null; then
  if [ "${CAMLENS_REQUIRE_DEPS:-0}" = 1 ]; then echo "80-simd: wat2wasm missing (Debian package wabt)"; exit 1; fi
  echo "80-simd: skipped: wat2wasm missing (Debian package wabt)"; exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wat2wasm wasm/kernels/kernels.wat -o "$tmp/kernels.wasm"
CAMLENS_REQUIRE_DEPS=1 CAMLENS_KERNELS_WASM="$tmp/kernels.wasm" \
  NODE_OPTIONS="--require $PWD/wasm/kernels/preload.cjs" \
  GOOS=js GOARCH=wasm go test -count=1 -exec="$(go env GOROOT)/lib/wasm/go_js_wasm_exec" ./wasm/kernels
