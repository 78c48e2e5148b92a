#!/bin/sh
# Builds the C reference (bench/c/reference.c) to build/bench/reference_c.wasm with clang --target=wasm32,
# and the host-call calibration module (bench/c/crossing.c) to build/bench/crossing.wasm.
# Installs clang and lld from Debian when missing (the benchmark machine and CI are Debian, running as root).
set -eu
cd "$(dirname "$0")/../.."
if ! command -v clang >/dev/null 2>&1 || ! command -v wasm-ld >/dev/null 2>&1; then
  echo "bench/c/build.sh: installing clang and lld (apt-get)" >&2
  apt-get update >/dev/null && apt-get install -y clang lld >/dev/null
fi
mkdir -p build/bench
# clang runs any wasm-opt on PATH after linking, without the features enabled here; under `npm run` that is
# binaryen's from node_modules/.bin, which rejects bulk memory. The reference is measured as clang emits it.
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v 'node_modules/\.bin' | paste -sd: -)
clang --target=wasm32 -O3 -nostdlib -mbulk-memory -std=c11 -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,--strip-all -Wl,-z,stack-size=65536 \
  -o build/bench/reference_c.wasm bench/c/reference.c
clang --target=wasm32 -O3 -nostdlib -Wall -Werror -Wl,--no-entry -Wl,--strip-all \
  -o build/bench/crossing.wasm bench/c/crossing.c
