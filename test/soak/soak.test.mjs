// The soak's short version (npm run soak is the full one; ./soak.mjs says what each phase does): real Envoy (the
// newest pinned) under wrk's mixed load in both modes, reconfigured under load, and a pod killed and started
// again. Every problem the soak finds fails the test of its phase, with the soak's own words.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, test } from "node:test";
import { buildWorld, worldEchoPods } from "../real-envoy/differential-modes.mjs";
import { forNewestEnvoy } from "../real-envoy/envoys.mjs";
import { compileFixture } from "../real-envoy/fixtures/compile.mjs";
import { startPods } from "../real-envoy/istiod-pods.mjs";
import { POLICIES, REQUESTS } from "./faults.mjs";
import { ensureWrk } from "./load.mjs";
import { reportedWithoutWrk } from "./without-wrk.mjs";
import { metadataSoakEnvoy } from "./modes.mjs";
import { PLANS, runSoak, steadyProblems } from "./soak.mjs";
import { steadyLoad } from "./steady.mjs";

const wrk = ensureWrk();

forNewestEnvoy("soak, short version (npm run soak is the full one)", (envoy) => {
  if (reportedWithoutWrk(wrk)) return;
  let result;
  const problemsOf = (prefix) => result.problems.filter((p) => p.startsWith(prefix));
  before(async () => {
    result = await runSoak({ envoy, short: true, log: () => {} });
  });

  for (const mode of ["metadata", "catalog"])
    test(`${mode} mode: every answer the expected one, counters equal to the answers, VmRSS flat, no Wasm failure`, (t) => {
      const f = result.figures[mode];
      t.diagnostic(`${f.requests} requests at ${f.rate}/s; VmRSS ${f.rssWarmKiB} -> ${f.rssEndKiB} KiB`);
      assert.ok(f.requests >= 1000, `only ${f.requests} requests`);
      assert.deepEqual(problemsOf(mode), []);
    });

  test("reconfiguration under load: every answer A's or B's, every malformed update rejected and counted", (t) => {
    const r = result.figures.reconfiguration;
    t.diagnostic(JSON.stringify(r));
    assert.ok(r.slow.accepted >= 2 && r.slow.rejected >= 2, JSON.stringify(r.slow));
    assert.equal(r.fast.swaps, PLANS.short.fastSwaps);
    assert.deepEqual(problemsOf("reconfiguration"), []);
  });

  test("a pod killed and started again: outlier detection ejects it, no fallback from its own subset", () => {
    assert.equal(result.figures.faults.length, 2 * POLICIES.length * 2 * REQUESTS.length * 3);
    assert.deepEqual(problemsOf("faults"), []);
  });

  test("control: a module that traps, under Envoy's default failure policy, fails the soak's checks", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dynamic-subset-soak-trap-"));
    const trap = path.join(dir, "trap.wasm");
    writeFileSync(trap, await compileFixture("trap.ts"));
    const pods = await startPods(worldEchoPods(), { record: false });
    const setup = await metadataSoakEnvoy(envoy.bin, buildWorld(pods.port), { wasm: trap });
    try {
      const f = await steadyLoad({ envoys: setup.envoys, seconds: 1, chunkSeconds: 1 });
      const problems = steadyProblems("metadata", f, 0);
      // A failed VM's requests get a 503 of Envoy's own with an empty body (details wasm_fail_stream).
      assert.ok(f.kinds.get("503 ") > 0, JSON.stringify([...f.kinds]));
      assert.ok(
        problems.some((p) => / answers not the expected one/.test(p)),
        problems.join("\n"),
      );
      assert.ok(problems.some((p) => /a Wasm call failed: .*proxy_on_request_headers failed/.test(p)));
    } finally {
      await setup.close();
      await pods.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("no other problem", () => {
    const known = ["metadata", "catalog", "reconfiguration", "faults"];
    assert.deepEqual(
      result.problems.filter((p) => !known.some((k) => p.startsWith(k))),
      [],
    );
  });
});
