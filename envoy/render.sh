#!/usr/bin/env bash
# Renders envoy/envoy.yaml from the seed's ASM YAML (examples/helloworld/): one listener per step of the seed, then
# step 2 once more for each key source beyond headers (cookie, query parameter, W3C baggage member).
# Usage: envoy/render.sh [OUT]   (default envoy/envoy.yaml; needs `npm run build:cli`)
# test/render/envoy-example.test.mjs runs this script and fails if envoy/envoy.yaml differs from its output.
set -euo pipefail
cd "$(dirname "$0")/.."
S=examples/helloworld
node dist/cli/main.js render --target envoy --output bootstrap --response-header \
  --endpoints $S/endpoints-local.yaml \
  --variant step2 -f $S/step2-dr.yaml -f $S/step2-vs.yaml \
  --variant step3-no-fallback -f $S/step3-no-fallback-dr.yaml -f $S/step2-vs.yaml \
  --variant step3-any-endpoint -f $S/step3-any-endpoint-dr.yaml -f $S/step2-vs.yaml \
  --variant step3-default-subset -f $S/step3-default-subset-dr.yaml -f $S/step2-vs.yaml \
  --variant step4-ip -f $S/step4-ip-dr-vs.yaml \
  --variant step2-cookie -f $S/step2-dr.yaml -f $S/step2-vs-cookie.yaml \
  --variant step2-query -f $S/step2-dr.yaml -f $S/step2-vs-query.yaml \
  --variant step2-baggage -f $S/step2-dr.yaml -f $S/step2-vs-baggage.yaml \
  -o "${1:-envoy/envoy.yaml}"
