// The seed's walkthrough (steps 2-4) in metadata mode, end to end: the seed's ASM YAML rendered by the envoy
// target, the compiled filter in the emulator, then Envoy's header_to_metadata and subset load balancer (models).
// Each request asserts exactly the set of pods that may answer, or the 503 `no healthy upstream`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { MetadataModeEnvoy, WASM } from "../../envoy/emulated-envoy.mjs";
import {
  NO_HEALTHY_UPSTREAM,
  SEED_ENDPOINTS,
  WALKTHROUGH,
  stepFiles,
  welcome,
} from "../../examples/helloworld/walkthrough.mjs";

const envoyFor = (variant) => MetadataModeEnvoy.fromFiles(stepFiles(variant), SEED_ENDPOINTS);
const pairs = (headers) => Object.entries(headers);
const needsFilter = existsSync(WASM) ? {} : { skip: `skipped: ${WASM} not built (npm run build:wasm)` };

for (const { variant, title, requests } of WALKTHROUGH) {
  test(`metadata mode, ${title}`, needsFilter, async () => {
    const envoy = await envoyFor(variant);
    for (const { headers, reach, printed, note } of requests) {
      const got = envoy.request(pairs(headers));
      const label = `${variant} ${JSON.stringify(headers)}${note ? ` (${note})` : ""}`;
      if (reach === NO_HEALTHY_UPSTREAM) {
        assert.deepEqual({ status: got.status, body: got.body }, { status: 503, body: NO_HEALTHY_UPSTREAM }, label);
        continue;
      }
      assert.deepEqual(got.hosts, [...reach].sort(), label);
      // Where the configuration agrees with the seed's printout, the printed pod is one that may answer.
      if (!note)
        assert.ok(got.hosts.map(welcome).includes(printed), `${label}: the seed's answer "${printed}" is reachable`);
      assert.deepEqual(
        got.upstreamHeaders.filter(([k]) => k.startsWith("x-dynamic-subset-")),
        [],
        `${label}: internal headers reach the app`,
      );
    }
  });
}

test(
  "metadata mode: absent headers take the route's defaults (prod/v3); one header falls back to the other's default",
  needsFilter,
  async () => {
    const envoy = await envoyFor("step2");
    assert.deepEqual(envoy.request([]).hosts, ["192.168.0.104", "192.168.0.6"]);
    assert.equal(envoy.request([]).decision, "subset:stage=prod,version=v3");
    assert.deepEqual(envoy.request([["x-stage", "dev"]]).hosts, ["192.168.0.252"]);
    assert.deepEqual(
      envoy.request([["X-Version", "v2"]]).hosts,
      ["192.168.0.103"],
      "header names are case-insensitive",
    );
  },
);

test(
  "metadata mode: a client cannot choose the subset with internal headers, in any case, repeated or not",
  needsFilter,
  async () => {
    const envoy = await envoyFor("step2");
    const spoofed = [
      ["x-stage", "prod"],
      ["x-version", "v2"],
      ["X-Dynamic-Subset-Stage", "dev"],
      ["x-dynamic-subset-version", "v1"],
      ["x-dynamic-subset-version", "v1"],
    ];
    assert.deepEqual(envoy.request(spoofed).hosts, ["192.168.0.103"]);
    // A spoofed header for a key the route does not map cannot add a key either.
    const ip = await envoyFor("step4-ip");
    assert.deepEqual(ip.request([["x-dynamic-subset-%25ip%25", "192.168.0.5"]]), {
      status: 503,
      body: NO_HEALTHY_UPSTREAM,
      decision: "none",
      upstreamHeaders: [],
    });
  },
);

test(
  "metadata mode, %ip%: an unknown or malformed IP matches no pod; the global NO_FALLBACK answers 503",
  needsFilter,
  async () => {
    const envoy = await envoyFor("step4-ip");
    for (const value of ["192.168.0.88", "not-an-ip", "192.168.0.6:8000", "::ffff:192.168.0.6"]) {
      const got = envoy.request([["x-ip", value]]);
      assert.equal(got.status, 503, value);
    }
    assert.equal(envoy.request([["x-ip", "not-an-ip"]]).decision, "subset:%ip%=~invalid~");
  },
);
