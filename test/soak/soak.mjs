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
//   node test/soak/soak.mjs --short    about 20 s of load, a minute in all (test/soak/soak.test.mjs runs it in npm test)
//   SOAK_SECONDS=N                     seconds of steady load per mode instead
//
//   runSoak({ envoy, short, log }) -> { figures, problems }

import { pathToFileURL } from "node:url";
import { availableEnvoys } from "../../scripts/envoy.mjs";
import { buildWorld, worldEchoPods } from "../real-envoy/differential-modes.mjs";
import { startPods } from "../real-envoy/istiod-pods.mjs";
import { ensureWrk } from "./load.mjs";
import { catalogSoakEnvoys, metadataSoakEnvoy } from "./modes.mjs";
import { reconfigureUnderLoad } from "./reconfigure.mjs";
import { backendFaults, KILLED } from "./faults.mjs";
import { steadyLoad } from "./steady.mjs";

/** Resident memory may grow at most this much after warm-up. */
export const RSS_TOLERANCE = 0.05;

export const PLANS = {
  full: { seconds: 120, minRequests: 1_000_000, chunkSeconds: 20, reconfigureSeconds: 60, fastSwaps: 1000 },
  short: { seconds: 4, minRequests: 0, chunkSeconds: 2, reconfigureSeconds: 4, fastSwaps: 40 },
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

/** Per load: answers that only configuration A (or B) gives, and answers both give. */
function answeredBy(cases, loads) {
  const same = (c) =>
    c.alts.length === 1 ||
    JSON.stringify({ ...c.alts[0], counters: 0 }) === JSON.stringify({ ...c.alts[1], counters: 0 });
  const out = { A: 0, B: 0, either: 0 };
  for (const load of loads)
    cases.forEach((c, i) => {
      const [a, b = 0] = load.matched[i];
      if (same(c)) out.either += a + b;
      else Object.assign(out, { A: out.A + a, B: out.B + b });
    });
  return out;
}

const loadTotals = (loads) => ({
  requests: sum(loads.map((l) => l.requests)),
  bad: sum(loads.map((l) => sum(l.bad))),
  samples: loads.flatMap((l) => l.samples),
  errors: loads.reduce((e, l) => {
    for (const [k, v] of Object.entries({ lost: l.lost, unsolicited: l.unsolicited, ...l.errors }))
      e[k] = (e[k] ?? 0) + v;
    return e;
  }, {}),
});

export function reconfigureProblems(r) {
  const problems = [];
  const loads = [r.slow.load, ...r.fast.loads];
  const t = loadTotals(loads);
  if (t.bad > 0)
    problems.push(`reconfiguration: ${t.bad} answers neither A's nor B's, e.g. ${t.samples.slice(0, 3).join(" | ")}`);
  for (const [k, v] of Object.entries(t.errors)) if (v > 0) problems.push(`reconfiguration: ${v} requests ${k}`);
  const by = answeredBy(r.cases, [r.slow.load]);
  if (by.A === 0 || by.B === 0)
    problems.push(`reconfiguration: the load saw only one configuration (${JSON.stringify(by)})`);
  const { before } = r.slow;
  const accepted = r.fast.after.stats.accepted - before.stats.accepted;
  const rejected = r.fast.after.stats.rejected - before.stats.rejected;
  if (accepted !== r.writes.good)
    problems.push(`reconfiguration: Envoy accepted ${accepted} updates, ${r.writes.good} were valid`);
  if (rejected !== r.writes.bad)
    problems.push(`reconfiguration: Envoy rejected ${rejected} updates, ${r.writes.bad} were malformed`);
  const delta = (name) => (r.fast.after.counters.get(name) ?? 0) - (before.counters.get(name) ?? 0);
  // The filter sees each distinct malformed configuration once (reconfigure.mjs).
  const distinct = r.writes.distinctBad.size;
  if (delta("dynamic_subset_config_rejected_total") !== distinct)
    problems.push(
      `reconfiguration: dynamic_subset_config_rejected_total counted ${delta("dynamic_subset_config_rejected_total")}, ${distinct} distinct malformed configurations`,
    );
  const filtered =
    t.requests - sum(loads.map((l) => sum(l.sent.map((n, i) => (r.cases[i].alts[0].status === 431 ? n : 0)))));
  if (delta("dynamic_subset_requests_total") !== filtered)
    problems.push(
      `reconfiguration: dynamic_subset_requests_total counted ${delta("dynamic_subset_requests_total")}, ${filtered} requests reached the filter`,
    );
  if (r.fast.rss.end > r.fast.rss.warm * (1 + RSS_TOLERANCE))
    problems.push(
      `reconfiguration: VmRSS grew from ${r.fast.rss.warm} to ${r.fast.rss.end} KiB over ${r.fast.swaps} swaps`,
    );
  for (const line of r.wasm.failedCalls.slice(0, 3)) problems.push(`reconfiguration: a Wasm call failed: ${line}`);
  if (!r.running) problems.push("reconfiguration: Envoy is no longer running");
  return problems;
}

function reconfigureFigures(r) {
  const slow = loadTotals([r.slow.load]);
  const fast = loadTotals(r.fast.loads);
  const { before } = r.slow;
  return {
    slow: {
      requests: slow.requests,
      seconds: Math.round(r.slow.load.seconds),
      answeredBy: answeredBy(r.cases, [r.slow.load]),
      accepted: r.slow.after.stats.accepted - before.stats.accepted,
      rejected: r.slow.after.stats.rejected - before.stats.rejected,
    },
    fast: {
      requests: fast.requests,
      swaps: r.fast.swaps,
      accepted: r.fast.after.stats.accepted - r.slow.after.stats.accepted,
      rejected: r.fast.after.stats.rejected - r.slow.after.stats.rejected,
      rssWarmKiB: r.fast.rss.warm,
      rssEndKiB: r.fast.rss.end,
    },
    distinctMalformed: r.writes.distinctBad.size,
    configRejectedTotal:
      (r.fast.after.counters.get("dynamic_subset_config_rejected_total") ?? 0) -
      (before.counters.get("dynamic_subset_config_rejected_total") ?? 0),
  };
}

/** A fault-table answer kind in words: the pod by name, or the 503 by cause. */
function answerLabel(kind) {
  const pod = /^200 127\.0\.30\.(\d)$/.exec(kind);
  if (pod) return `p${pod[1]}`;
  if (kind.startsWith("503 no healthy upstream")) return "503 no healthy upstream";
  if (kind.startsWith("503 upstream connect error")) return "503 connect failure";
  return kind;
}

/** "p1 62%, 503 connect failure 38%": what a request got in a phase, by share (a share under 1 %: the count). */
export function answersText(answers) {
  const total = sum([...answers.values()]);
  const byLabel = new Map();
  for (const [kind, n] of answers) byLabel.set(answerLabel(kind), (byLabel.get(answerLabel(kind)) ?? 0) + n);
  return [...byLabel]
    .sort((a, b) => b[1] - a[1])
    .map(([label, n]) => `${label} ${n * 100 < total ? `(${n} of ${total})` : `${Math.round((100 * n) / total)}%`}`)
    .join(", ");
}

export function faultProblems({ table, ejections }) {
  const problems = [];
  const row = (r, request, phase) =>
    table.find(
      (x) =>
        x.mode === r.mode &&
        x.policy === r.policy &&
        x.outlierDetection === r.outlierDetection &&
        x.request === request &&
        x.phase === phase,
    ).answers;
  const count = (answers, test) => sum([...answers].filter(([k]) => test(k)).map(([, n]) => n));
  const failures = (answers) => count(answers, (k) => !k.startsWith("200 "));
  for (const r of table.filter((x) => x.request === "a" && x.phase === "before")) {
    const name = `faults, ${r.mode} ${r.policy}${r.outlierDetection ? " with outlier detection" : ""}`;
    const ejected = ejections.get(
      `${r.mode} ${r.policy.toLowerCase().replace("_", "-")}${r.outlierDetection ? "-od" : ""}`,
    );
    if (r.outlierDetection ? ejected < 1 : ejected !== 0) problems.push(`${name}: ${ejected} outlier ejections`);
    const outage = failures(row(r, "a", "outage"));
    if (r.outlierDetection && outage > 10)
      problems.push(`${name}: ${outage} failed answers to "a" during the outage (p1 was there)`);
    if (!r.outlierDetection && r.mode === "metadata" && outage < 10)
      problems.push(`${name}: only ${outage} failed answers to "a" without outlier detection (was the pod killed?)`);
    const after = row(r, "a", "after");
    if (failures(after) > 0) problems.push(`${name}: "a" failed after the restart: ${answersText(after)}`);
    if (count(after, (k) => k === `200 ${KILLED}`) === 0)
      problems.push(`${name}: the restarted pod never answered "a"`);
    const alone = row(r, "a/v2", "outage");
    if (count(alone, (k) => k.startsWith("200 ") && k !== `200 ${KILLED}`) > 0)
      problems.push(`${name}: "a/v2" (the killed pod's own subset) reached another pod: ${answersText(alone)}`);
    if (r.policy === "NO_FALLBACK")
      for (const phase of ["before", "outage", "after"])
        if (count(row(r, "c", phase), (k) => k !== "503 no healthy upstream") > 0)
          problems.push(`${name}: "c" under NO_FALLBACK got ${answersText(row(r, "c", phase))}`);
  }
  return problems;
}

function printFaults(table) {
  console.log(`\n  Backend faults: ${KILLED} (p2) killed mid-load, then started again; answers by share`);
  console.log("| mode | fallbackPolicy | outlierDetection | request | during the outage | after the restart |");
  console.log("|---|---|---|---|---|---|");
  for (const r of table.filter((x) => x.phase === "outage")) {
    const after = table.find(
      (x) =>
        x.phase === "after" &&
        x.mode === r.mode &&
        x.policy === r.policy &&
        x.outlierDetection === r.outlierDetection &&
        x.request === r.request,
    );
    const cells = [r.mode, r.policy, r.outlierDetection ? "yes" : "no", r.request, answersText(r.answers)];
    console.log(`| ${[...cells, answersText(after.answers)].join(" | ")} |`);
  }
}

export async function runSoak({ envoy, short = false, seconds, log = console.log }) {
  const plan = { ...PLANS[short ? "short" : "full"], ...(seconds ? { seconds, minRequests: 0 } : {}) };
  const pods = await startPods(worldEchoPods(), { record: false });
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
    const r = await reconfigureUnderLoad({
      bin: envoy.bin,
      world,
      seconds: plan.reconfigureSeconds,
      fastSwaps: plan.fastSwaps,
      log,
    });
    figures.reconfiguration = reconfigureFigures(r);
    problems.push(...reconfigureProblems(r));
    const faults = await backendFaults({ bin: envoy.bin, log });
    figures.faults = faults.table;
    problems.push(...faultProblems(faults));
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
  const r = figures.reconfiguration;
  if (r) {
    console.log(
      `  reconfiguration, a swap every 500 ms: ${r.slow.requests} requests in ${r.slow.seconds} s, answered by A only ` +
        `${r.slow.answeredBy.A}, B only ${r.slow.answeredBy.B}, either ${r.slow.answeredBy.either}; ` +
        `updates applied ${r.slow.accepted}, rejected ${r.slow.rejected}`,
    );
    console.log(
      `  reconfiguration, ${r.fast.swaps} swaps back to back: ${r.fast.requests} requests; updates applied ` +
        `${r.fast.accepted}, rejected ${r.fast.rejected}; VmRSS ${r.fast.rssWarmKiB} KiB after ${Math.round(r.fast.swaps / 10)} swaps, ` +
        `${r.fast.rssEndKiB} KiB after ${r.fast.swaps}; dynamic_subset_config_rejected_total ${r.configRejectedTotal} (${r.distinctMalformed} distinct malformed configurations)`,
    );
  }
  if (figures.faults) printFaults(figures.faults);
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
