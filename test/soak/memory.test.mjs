// test/soak/memory.mjs measures whose memory grows under the soak's load (docs/reliability.md "Steady load"): its
// figures must be what they claim. A few seconds of its load, with the filter and without a Wasm filter.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { buildWorld, worldEchoPods } from "../real-envoy/differential-modes.mjs";
import { forNewestEnvoy } from "../real-envoy/envoys.mjs";
import { startPods } from "../real-envoy/istiod-pods.mjs";
import { ensureWrk } from "./load.mjs";
import { reportedWithoutWrk } from "./without-wrk.mjs";
import { memoryProfile } from "./memory.mjs";

const wrk = ensureWrk();

forNewestEnvoy("memory profile of the soak's load (test/soak/memory.mjs)", (envoy) => {
  if (reportedWithoutWrk(wrk)) return;
  let pods;
  let runs;
  before(async () => {
    pods = await startPods(worldEchoPods(), { record: false });
    const world = buildWorld(pods.port);
    runs = await memoryProfile({ bin: envoy.bin, world, variants: ["filter", "none"], seconds: 0, chunkSeconds: 1 });
  });
  after(() => pods?.close());
  const last = (name) => runs.find((r) => r.name === name).samples.at(-1);

  test("finds one Wasm linear memory per running Wasm VM, and none without the Wasm filter", (t) => {
    t.diagnostic(JSON.stringify(last("filter")));
    assert.ok(last("filter").wasmVmsActive > 0);
    assert.equal(last("filter").wasmMemories, last("filter").wasmVmsActive);
    assert.ok(last("filter").wasmKiB > 0 && last("filter").wasmKiB <= last("filter").wasmSizeKiB);
    const none = last("none");
    assert.deepEqual([none.wasmVmsActive, none.wasmMemories, none.wasmKiB, none.wasmSizeKiB], [0, 0, 0, 0]);
  });

  test("the resident parts add up to VmRSS, tcmalloc's figures are there, and the load was served", () => {
    for (const name of ["filter", "none"]) {
      const s = last(name);
      assert.ok(Math.abs(s.fileKiB + s.anonKiB - s.rssKiB) < s.rssKiB * 0.02, `${name}: ${JSON.stringify(s)}`);
      assert.ok(s.wasmKiB < s.anonKiB && s.allocatedKiB > 0 && s.threadCachesKiB > 0, JSON.stringify(s));
      assert.ok(s.requests > 100 && s.connections > 0, JSON.stringify(s));
    }
  });
});
