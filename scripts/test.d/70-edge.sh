#!/usr/bin/env bash
# The Cloudflare Worker end to end (scripts/edgetest, TestWorker): builds
# wasm/edge with syumai/workers, runs it under `wrangler dev --local` on
# 127.0.0.1, calls every route and bad request, compares the Worker's map
# with scripts/explain's, and prints the bundle size, latency and CPU time.
# Needs wrangler from scripts/node (scripts/setup.d/70-edge.sh); with
# CAMLENS_REQUIRE_DEPS=1 (scripts/test) a missing wrangler fails the test.
set -euo pipefail
cd "$(dirname "$0")/../.."
CAMLENS_EDGE=1 go test -count=1 -v -timeout 20m -run '^TestWorker$' ./scripts/edgetest
