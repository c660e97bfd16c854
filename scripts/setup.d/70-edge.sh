#!/usr/bin/env bash
# wrangler for the edge tests and `go run ./scripts/edge-dev`: checks that
# wrangler (scripts/node, pinned) and the workerd and esbuild binaries it runs
# are installed and start, running their install scripts when npm skipped
# them. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./scripts/edge-dev -setup
