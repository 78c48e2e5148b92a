#!/usr/bin/env node
// The soak (npm run soak): real Envoy (the newest pinned) with the filter under mixed load from wrk on loopback.
//   1. metadata mode, then catalog mode: steady load (./steady.mjs) of every scenario's requests and hostile ones
//      (./traffic.mjs); every answer checked, the counters, VmRSS and Wasm health of every Envoy;
//   2. reconfiguration under load (./reconfigure.mjs): the listener replaced every half second from a watched
//      file, configurations A and B and malformed ones; then 1,000 swaps as fast as Envoy applies them;
//   3. backend faults (./faults.mjs): a pod killed mid-load and started again, in both modes and every fallback
//      policy, with and without the DestinationRule's outlier detection.
// Prints the figures and every problem; exits 1 on a problem.
//
//   node test/soak/soak.mjs            the full soak: >= 10^6 requests per mode (minutes)
//   node test/soak/soak.mjs --short    about 20 s of load in all (test/soak/soak.test.mjs runs it in npm test)
//   SOAK_SECONDS=N                     seconds of steady load per mode instead
//
//   runSoak({ envoy, short, log }) -> { figures, problems }

import { pathToFileURL } from "node:url";
import { availableEnvoys } from "../../scripts/envoy.mjs";
import { buildWorld } from "../real-envoy/differential-modes.mjs";
import { startPods } from "../real-envoy/istiod-pods.mjs";
import { ensureWrk } from "./load.mjs";
import { catalogSoakEnvoys, metadataSoakEnvoy } from "./modes.mjs";
import { steadyLoad } from "./steady.mjs";

/** Resident memory may grow at most this much after warm-up. */
export const RSS_TOLERANCE = 0.05;

export const PLANS = {
  full: { seconds: 120, minRequests: 1_000_000, chunkSeconds: 20 },
  short: { seconds: 4, minRequests: 0, chunkSeconds: 2 },
};

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** Responses by kind: answers of pods (one line, with how many pods), and each other status and body. */
function kindsSummary(kinds) {
  const pods = [...kinds].filter(([k]) => /^200 \d/.test(k));
  const others = [...kinds].filter(([k]) => !/^200 \d/.test(k)).sort((a, b) => b[1] - a[1]);
  return [[`200 from a pod of the expected set (${pods.length} pods)`, sum(pods.map(([, n]) => n))], ...others];
}

const mapText = (m) => JSON.stringify(Object.fromEntries([...m].sort()));

/** Every way a steady phase can fail, as lines. */
export function steadyProblems(mode, f, minRequests) {
  const problems = [];
  if (f.requests < minRequests) problems.push(`${mode}: ${f.requests} requests, fewer than ${minRequests}`);
  if (f.bad > 0)
    problems.push(`${mode}: ${f.bad} answers not the expected one, e.g. ${f.samples.slice(0, 3).join(" | ")}`);
  for (const [k, v] of Object.entries(f.errors)) if (v > 0) problems.push(`${mode}: ${v} requests ${k}`);
  for (const e of f.envoys) {
    if (!e.running) problems.push(`${e.name}: Envoy is no longer running`);
    if (mapText(e.counters.expected) !== mapText(e.counters.actual))
      problems.push(`${e.name}: counters ${mapText(e.counters.actual)}, expected ${mapText(e.counters.expected)}`);
    if (e.rss.max > e.rss.warm * (1 + RSS_TOLERANCE))
      problems.push(
        `${e.name}: VmRSS grew from ${e.rss.warm} KiB after warm-up to ${e.rss.max} KiB (${e.rss.samples.join(", ")})`,
      );
    for (const [stat, before] of Object.entries(e.wasm.before))
      if (e.wasm.after[stat] !== before)
        problems.push(`${e.name}: ${stat} went from ${before} to ${e.wasm.after[stat]}`);
    for (const line of e.wasm.failedCalls.slice(0, 3)) problems.push(`${e.name}: a Wasm call failed: ${line}`);
  }
  return problems;
}

function steadyFigures(mode, f) {
  const rss = f.envoys.map((e) => e.rss);
  return {
    mode,
    requests: f.requests,
    seconds: Math.round(f.seconds),
    rate: Math.round(f.requests / f.seconds),
    envoys: f.envoys.length,
    connections: sum(f.envoys.map((e) => e.connections ?? 0)),
    responses: kindsSummary(f.kinds),
    rssWarmKiB: sum(rss.map((r) => r.warm)),
    rssEndKiB: sum(rss.map((r) => r.end)),
    rssMaxGrowth: Math.max(...rss.map((r) => r.max / r.warm - 1)),
    counters: f.envoys.reduce((m, e) => {
      for (const [k, v] of e.counters.actual) m[k] = (m[k] ?? 0) + v;
      return m;
    }, {}),
  };
}

async function steadyPhase(mode, start, plan, log) {
  log(`${mode} mode: steady load`);
  const setup = await start();
  try {
    const f = await steadyLoad({ envoys: setup.envoys, ...plan, log });
    return { figures: steadyFigures(mode, f), problems: steadyProblems(mode, f, plan.minRequests) };
  } finally {
    await setup.close();
  }
}

export async function runSoak({ envoy, short = false, seconds, log = console.log }) {
  const plan = { ...PLANS[short ? "short" : "full"], ...(seconds ? { seconds, minRequests: 0 } : {}) };
  const pods = await startPods(buildWorld(0).echoPods, { record: false });
  const world = buildWorld(pods.port);
  const figures = { envoy: envoy.version, plan };
  const problems = [];
  try {
    for (const [mode, start] of [
      ["metadata", () => metadataSoakEnvoy(envoy.bin, world)],
      ["catalog", () => catalogSoakEnvoys(envoy.bin, world, envoy.version)],
    ]) {
      const phase = await steadyPhase(mode, start, plan, log);
      figures[mode] = phase.figures;
      problems.push(...phase.problems);
    }
  } finally {
    await pods.close();
  }
  return { figures, problems };
}

function printFigures(figures) {
  console.log(`\nSoak on Envoy ${figures.envoy}`);
  for (const mode of ["metadata", "catalog"]) {
    const f = figures[mode];
    if (!f) continue;
    console.log(
      `  ${mode}: ${f.requests} requests in ${f.seconds} s (${f.rate}/s) on ${f.envoys} Envoy(s); ` +
        `VmRSS ${f.rssWarmKiB} KiB after warm-up, ${f.rssEndKiB} KiB at the end (largest growth ${(f.rssMaxGrowth * 100).toFixed(1)} %)`,
    );
    for (const [kind, n] of f.responses) console.log(`    ${String(n).padStart(9)}  ${kind}`);
    console.log(`    counters: ${JSON.stringify(f.counters)}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const wrk = ensureWrk();
  const { envoys, unavailable } = availableEnvoys();
  if (wrk.unavailable || unavailable) {
    console.error(`soak: cannot run: ${wrk.unavailable ?? unavailable}`);
    process.exit(2);
  }
  const started = Date.now();
  const seconds = process.env.SOAK_SECONDS ? Number(process.env.SOAK_SECONDS) : undefined;
  const { figures, problems } = await runSoak({ envoy: envoys[0], short: process.argv.includes("--short"), seconds });
  printFigures(figures);
  console.log(`\n  wall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const p of problems) console.log(`PROBLEM ${p}`);
  console.log(problems.length === 0 ? "soak: passed" : `soak: ${problems.length} problems`);
  process.exit(problems.length === 0 ? 0 : 1);
}
