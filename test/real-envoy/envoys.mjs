// Runs a real-Envoy suite once per installed Envoy version (scripts/envoy.mjs). Where Envoy is not available the
// suite is reported as one skipped test, by name, with the reason; under CI=true that is a failure instead, since
// CI must prove the filter in real Envoy.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { availableEnvoys } from "../../scripts/envoy.mjs";

const { envoys, unavailable } = availableEnvoys();

/** describe(`${name} (Envoy <version>)`, () => body(envoy)) for every version; envoy = { version, bin }. */
export function forEachEnvoy(name, body) {
  reportUnavailable(name);
  for (const envoy of envoys) describe(`${name} (Envoy ${envoy.version})`, () => body(envoy));
}

/** The same for the newest version only (what the demo and envoy/run.sh run). */
export function forNewestEnvoy(name, body) {
  reportUnavailable(name);
  if (envoys.length > 0) describe(`${name} (Envoy ${envoys[0].version})`, () => body(envoys[0]));
}

/** One describe for all versions at once, body(envoys): for a suite that runs every version side by side. */
export function forAllEnvoys(name, body) {
  reportUnavailable(name);
  if (envoys.length > 0) describe(`${name} (Envoy ${envoys.map((e) => e.version).join(", ")})`, () => body(envoys));
}

function reportUnavailable(name) {
  if (!unavailable) return;
  if (process.env.CI === "true") test(name, () => assert.fail(`CI=true and no real Envoy: ${unavailable}`));
  else test(name, { skip: `skipped: ${unavailable}` }, () => {});
}

/** Runs `jobs` (functions returning promises) two at a time, the machine's two cores: -> their results, in order. */
export async function twoAtATime(jobs) {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}
