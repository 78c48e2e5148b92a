// The soak's short version (npm run soak is the full one; ./soak.mjs says what each phase does): real Envoy (the
// newest pinned) under wrk's mixed load in both modes, reconfigured under load, and a pod killed and started
// again. Every problem the soak finds fails the test of its phase, with the soak's own words.

import assert from "node:assert/strict";
import { before, test } from "node:test";
import { forNewestEnvoy } from "../real-envoy/envoys.mjs";
import { POLICIES, REQUESTS } from "./faults.mjs";
import { ensureWrk } from "./load.mjs";
import { PLANS, runSoak } from "./soak.mjs";

const wrk = ensureWrk();

forNewestEnvoy("soak, short version (npm run soak is the full one)", (envoy) => {
  if (wrk.unavailable) {
    if (process.env.CI === "true") test("wrk", () => assert.fail(`CI=true and no wrk: ${wrk.unavailable}`));
    else test("wrk", { skip: `skipped: ${wrk.unavailable}` }, () => {});
    return;
  }
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

  test("no other problem", () => {
    const known = ["metadata", "catalog", "reconfiguration", "faults"];
    assert.deepEqual(
      result.problems.filter((p) => !known.some((k) => p.startsWith(k))),
      [],
    );
  });
});
