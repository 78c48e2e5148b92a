#!/usr/bin/env bash
# Runs the local example: the echo backends (envoy/backends.mjs) and Envoy with envoy/envoy.yaml.
#
#   envoy/run.sh                 Envoy from $ENVOY_BIN, else `envoy` on PATH, else Docker ($ENVOY_IMAGE)
#   ENVOY_BIN=/path/envoy envoy/run.sh
#   ENVOY_IMAGE=envoyproxy/envoy:v1.36.2 envoy/run.sh      another image (any Envoy >= 1.28 with the V8 runtime)
#
# Listeners (see envoy/README.md): 10000 step 2, 10001 step 3 NO_FALLBACK, 10002 step 3 ANY_ENDPOINT,
# 10003 step 3 DEFAULT_SUBSET, 10004 step 4 %ip%; admin on 127.0.0.1:9901. Ctrl-C stops everything.
#
# Docker needs host networking (Linux): Envoy must reach the backends on 127.0.0.x and you must reach Envoy on
# 127.0.0.1. The image is pinned to a patch release so that the example behaves the same everywhere; v1.34 is
# >= 1.33, so it is the Envoy whose Wasm host no longer clears the route cache on header changes and no longer
# serves the legacy un-prefixed properties: the configuration the filter must work with from now on.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
IMAGE=${ENVOY_IMAGE:-envoyproxy/envoy:v1.34.10}
WASM=build/dynamic_subset.wasm

[ -f "$WASM" ] || npm run build:wasm

node envoy/backends.mjs &
BACKENDS=$!
trap 'kill "$BACKENDS" 2>/dev/null || true' EXIT INT TERM

ENVOY=${ENVOY_BIN:-$(command -v envoy || true)}
if [ -n "$ENVOY" ]; then
  "$ENVOY" -c envoy/envoy.yaml --log-level "${ENVOY_LOG_LEVEL:-info}"
elif command -v docker >/dev/null; then
  # envoy.yaml names the module build/dynamic_subset.wasm, relative to the working directory: mount both files
  # at the same relative paths under /example.
  docker run --rm --network host \
    -v "$ROOT/envoy/envoy.yaml:/example/envoy/envoy.yaml:ro" \
    -v "$ROOT/$WASM:/example/$WASM:ro" \
    -w /example "$IMAGE" -c envoy/envoy.yaml --log-level "${ENVOY_LOG_LEVEL:-info}"
else
  echo "run.sh: no Envoy: set ENVOY_BIN, put envoy on PATH, or install Docker" >&2
  exit 1
fi
