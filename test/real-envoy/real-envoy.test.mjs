// The seed walkthrough against a real Envoy: envoy/envoy.yaml (one listener per step of the seed) with
// build/dynamic_subset.wasm, in front of the echo backends (envoy/backends.mjs, 127.0.0.x standing in for the
// pods' 192.168.0.x). Runs on every installed Envoy version (scripts/envoy.mjs; skipped by name where none is).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startLocalExample } from "../../envoy/local-envoy.mjs";
import { NO_HEALTHY_UPSTREAM, WALKTHROUGH, localIp, welcome } from "../../examples/helloworld/walkthrough.mjs";
import { forEachEnvoy } from "./envoys.mjs";

const local = (headers) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, localIp(v)]));
const answer = (ip) => welcome(ip).replace(ip, localIp(ip));

forEachEnvoy("real Envoy: the seed walkthrough on envoy/envoy.yaml", (envoy) => {
  let example;
  before(async () => {
    example = await startLocalExample(envoy.bin);
  });
  after(async () => {
    await example?.close();
  });

  for (const { variant, title, requests } of WALKTHROUGH) {
    test(title, async () => {
      for (const { headers, reach, note } of requests) {
        // Repeat so that a wrong pod among several would show up.
        for (let i = 0; i < 4; i++) {
          const r = await example.request(variant, local(headers));
          const label = `${variant} ${JSON.stringify(headers)}${note ? ` (${note})` : ""}`;
          if (reach === NO_HEALTHY_UPSTREAM)
            assert.deepEqual({ status: r.status, body: r.body }, { status: 503, body: NO_HEALTHY_UPSTREAM }, label);
          else assert.ok(reach.map(answer).includes(r.body), `${label}: ${r.status} ${r.body}`);
        }
      }
    });
  }

  test("step 2: the response names the decision (responseHeader: true)", async () => {
    const r = await example.request("step2", { "x-stage": "dev", "x-version": "v1" });
    assert.equal(r.decision, "subset:stage=dev,version=v1");
  });

  test("step 3 DEFAULT_SUBSET: both prod/v3 pods answer", async () => {
    const seen = new Set();
    for (let i = 0; i < 8; i++)
      seen.add((await example.request("step3-default-subset", { "x-stage": "prod", "x-version": "v1" })).body);
    assert.equal(seen.size, 2, [...seen].join(" | "));
  });

  test("a client cannot pick the subset by sending the internal headers itself", async () => {
    const r = await example.request("step2", { "x-dynamic-subset-stage": "dev", "x-dynamic-subset-version": "v1" });
    assert.ok(
      ["192.168.0.104", "192.168.0.6"].map(answer).includes(r.body),
      `spoofed headers were honoured: ${r.body}`,
    );
  });
});
