// For the suites that need wrk: when ensureWrk() (./load.mjs) found none, one test says so by name — skipped with
// the reason, or failed under CI=true, where everything the tests need must be there.
import assert from "node:assert/strict";
import { test } from "node:test";

/** Registers the "wrk" test when wrk is unavailable; true if so (the caller then registers nothing else). */
export function reportedWithoutWrk(wrk) {
  if (!wrk.unavailable) return false;
  if (process.env.CI === "true") test("wrk", () => assert.fail(`CI=true and no wrk: ${wrk.unavailable}`));
  else test("wrk", { skip: `skipped: ${wrk.unavailable}` }, () => {});
  return true;
}
