#!/usr/bin/env node
// The benchmark in real Envoy: `npm run bench:envoy` (`-- --quick` for a short check). BENCHMARKS.md "In Envoy"
// explains the columns; docs/performance.md the bars.
//
// One Envoy per configuration (configs.mjs, route-cache.mjs), each `--concurrency 1` and pinned to core 0; the
// upstream (one Envoy answering with direct_response per pod), the load generators (load.mjs) and this process on
// core 1. Before anything is timed, every configuration must route the benchmark's request to the same pod, and the
// configurations that implement the seed's step 3 must route the seed's requests alike: otherwise it fails.
// Then, in rounds that visit the configurations in a rotating order, each gets a saturation run (wrk) and the
// main ones a fixed-rate run (h2load); Envoy's CPU time per request comes from /proc around each run. Then groups
// of configurations run side by side (TOGETHER). Last: the filter's memory over 10^6 requests, Envoy's memory with
// the 1,000-services x 10-routes configuration, and the time from a listener update carrying it (LDS, file
// replaced by rename) to the first request it serves; with --perf, Envoy's CPU by code region. With --verify it stops
// after the verification (and the route-cache facts) and prints what was verified: nothing is timed, so it needs
// neither the load generators nor pinning, and a test can run it (test/bench/commands.test.mjs).

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { installEnvoys } from "../../scripts/envoy.mjs";
import { startEnvoy } from "../../envoy/local-envoy.mjs";
import { largeConfig } from "../scenarios.mjs";
import { allConfigs } from "./all-configs.mjs";
import { REQUEST, TARGET, filterOnFloor, upstreamBootstrap } from "./configs.mjs";
import { fixedRate, saturate, saturateTogether } from "./load.mjs";
import { cpuPlan, cpuTimes, ensureTools, machineInfo, pin, rssBytes } from "./machine.mjs";
import { buildAll } from "./modules.mjs";
import { listenerUpdateMs } from "./lds.mjs";
import { cpuByRegion, perfAvailable } from "./perf.mjs";
import { report, verificationReport } from "./report.mjs";
import { routeCacheFacts } from "./route-cache.mjs";
import { verifyRouting } from "./verify.mjs";

const USAGE = `npm run bench:envoy [-- options]
  --quick             a short run (2 rounds, 10^5 soak): checks that everything works
  --verify            only start every configuration and check that they route alike (the check every run makes
                      before timing), print what was checked, stop; nothing is timed (about 15 s)
  --rounds N          interleaved rounds (default 4): more rounds, tighter medians on a noisy machine
  --soak-seconds S    longest soak (default 80): raise it where Envoy serves fewer than 10^4 req/s
  --raw FILE          also write every timed run's measurements to FILE (JSON)
  --perf              also sample each main configuration with perf: Envoy's CPU by code region (wasm JIT code,
                      envoy binary, kernel), about 40 s more`;
/** The command-line options; a wrong one prints the usage and exits 2. */
function readOptions() {
  try {
    return parseArgs({
      options: {
        quick: { type: "boolean", default: false },
        rounds: { type: "string" },
        "soak-seconds": { type: "string", default: "80" },
        raw: { type: "string" },
        perf: { type: "boolean", default: false },
        verify: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (err) {
    console.error(`${err.message}\n${USAGE}`);
    process.exit(2);
  }
}
const OPTIONS = readOptions();
const QUICK = OPTIONS.quick;
const PLAN = {
  ...(QUICK
    ? { rounds: 2, togetherRounds: 2, soakRequests: 1e5, ldsUpdates: 1 }
    : { rounds: 4, togetherRounds: 5, soakRequests: 1e6, ldsUpdates: 3 }),
  warmSeconds: 1,
  satSeconds: 1, // wrk takes whole seconds
  fixedSeconds: 1,
  rate: 1000,
  togetherSeconds: 3,
  soakMaxSeconds: Number(OPTIONS["soak-seconds"]),
};
if (OPTIONS.rounds !== undefined) PLAN.rounds = Number(OPTIONS.rounds);
const SOAK_CHUNK_SECONDS = 5;
/**
 * Groups measured side by side: their Envoys share core 0 at the same moments (one wrk each), so whatever else the
 * machine does hits all of them alike and their differences are far less noisy than in interleaved runs. Sharing
 * a core also inflates each one's CPU per request by the others' cache pollution, more for a bigger working set:
 * the first group's number to read is filter vs C (the same chain); the probe groups hold one kind of module. The
 * first of each group is its base.
 */
const TOGETHER = [
  ["floor", "noop", "filter", "c", "native"],
  ["rc-none-1", "rc-remove-1", "rc-check-1"],
  ["rc-none-1001", "rc-remove-1001", "rc-check-1001"],
  ["rc-none-1", "rc-gets-1", "rc-pairs-1"],
  ["rc-none-1", "rc-props-1", "rc-state-1", "rc-metrics-1"],
  ["catalog", "catalog-user-first"],
];
const PERF_SECONDS = 4;

const T0 = Date.now();
const log = (line) => console.error(`[bench:envoy ${Math.round((Date.now() - T0) / 1000)} s] ${line}`);

/**
 * startEnvoy picks free ports just before Envoy binds them; with many Envoys starting at once (and other work on
 * the machine) a port can be taken in between, so a bind failure is retried.
 */
async function startPinned(bin, bootstrap, core, attempts = 3) {
  try {
    const envoy = await startEnvoy(bin, bootstrap, { args: ["--concurrency", "1"] });
    pin(envoy.pid, core);
    return envoy;
  } catch (err) {
    if (attempts > 1 && /Address already in use/.test(err.message))
      return startPinned(bin, bootstrap, core, attempts - 1);
    throw err;
  }
}

/** Each configuration visited once per round, starting one further along each round. */
const rotated = (list, round) => list.map((_, i) => list[(i + round) % list.length]);

/** One timed run of `measure` against a running configuration, with Envoy's and the upstream's CPU seconds. */
function timed(run, upstream, measure) {
  const [envoy0, up0, t0] = [cpuTimes(run.envoy.pid), cpuTimes(upstream.pid), process.hrtime.bigint()];
  const result = measure();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const [envoy1, up1] = [cpuTimes(run.envoy.pid), cpuTimes(upstream.pid)];
  return {
    ...result,
    wall,
    cpu: envoy1.run - envoy0.run,
    cpuWait: envoy1.wait - envoy0.wait,
    upstreamCpu: up1.run - up0.run,
  };
}

/**
 * A wrong answer or a broken connection invalidates the comparison: stop. A timeout (no answer within wrk's
 * --timeout) is counted and reported instead: on a shared machine Envoy can wait seconds for a CPU (the report
 * shows how long it waited), and a timed-out request is simply not counted as served.
 */
function failOnErrors(run, kind, result) {
  const e = result.errors ?? { connect: 0, read: 0, write: 0, timeout: 0 };
  if (result.non2xx > 0 || e.connect + e.read + e.write > 0)
    throw new Error(
      `${run.label}: ${kind} run had ${result.non2xx} non-2xx answers and socket errors ` +
        `(connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout})`,
    );
  TIMEOUTS.count += e.timeout;
  if (e.timeout > 0) TIMEOUTS.runs.push(`${run.label} (${kind})`);
}
const TIMEOUTS = { count: 0, runs: [] };

async function main() {
  if (OPTIONS.help) return console.log(USAGE);
  for (const [name, value] of [
    ["rounds", PLAN.rounds],
    ["soak-seconds", PLAN.soakMaxSeconds],
  ])
    if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name}: a whole number above 0, got ${value}`);
  const started = Date.now();
  if (!OPTIONS.verify) ensureTools(log);
  const modules = buildAll(log);
  const { envoys, unavailable } = installEnvoys({ log });
  if (envoys.length === 0) throw new Error(`no real Envoy: ${unavailable}`);
  const envoy = envoys[0]; // the newest pinned version (or ENVOY_BIN)
  // pinning serves the timing only; unpinned, the Envoys start on every core
  const cores = OPTIONS.verify ? { note: "not pinned (--verify)" } : cpuPlan();
  pin(process.pid, cores.load);
  log(`${cores.note}; Envoy ${envoy.version}`);

  const upstream = await startPinned(envoy.bin, upstreamBootstrap(), cores.load);
  const runs = [];
  try {
    const { configs, floorRoutes, targetOnly, seed } = await allConfigs(upstream.ports, modules);
    log("route cache: which header changes make Envoy match the routes again");
    const facts = await routeCacheFacts(envoys, modules, seed, REQUEST);
    log(`starting ${configs.length} Envoys`);
    const starts = await Promise.allSettled(configs.map((c) => startPinned(envoy.bin, c.bootstrap, cores.envoy)));
    starts.forEach(
      (s, i) =>
        s.status === "fulfilled" && runs.push({ ...configs[i], envoy: s.value, sat: [], fixed: [], together: {} }),
    );
    const failed = starts.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    const target = (run) => ({ port: run.envoy.ports.bench, headers: REQUEST });

    log("verification: every configuration routes the request to the same pod");
    const verification = await verifyRouting(runs, TARGET);
    const elapsedS = () => (Date.now() - started) / 1000;
    if (OPTIONS.verify) return console.log(verificationReport({ facts, verification, envoy, elapsedS: elapsedS() }));

    log("warm-up");
    for (const run of runs) saturate(target(run), { seconds: PLAN.warmSeconds, core: cores.load });
    const filterRun = runs.find((r) => r.id === "filter");
    let rssWarm;
    const interleaved = runs.filter((r) => r.group !== "host-call");
    for (let round = 0; round < PLAN.rounds; round++) {
      log(`round ${round + 1}/${PLAN.rounds}: saturation`);
      for (const run of rotated(interleaved, round)) {
        const r = timed(run, upstream, () => saturate(target(run), { seconds: PLAN.satSeconds, core: cores.load }));
        failOnErrors(run, "saturation", r);
        run.sat.push(r);
      }
      log(`round ${round + 1}/${PLAN.rounds}: fixed rate ${PLAN.rate} req/s`);
      for (const run of rotated(
        runs.filter((r) => r.group === "main"),
        round,
      )) {
        const r = timed(run, upstream, () =>
          fixedRate(target(run), { seconds: PLAN.fixedSeconds, rate: PLAN.rate, core: cores.load }),
        );
        failOnErrors(run, "fixed-rate", r);
        run.fixed.push(r);
      }
      if (round === 0) rssWarm = rssBytes(filterRun.envoy.pid);
    }

    for (const [group, ids] of TOGETHER.entries())
      await sideBySide(
        group,
        ids.map((id) => runs.find((r) => r.id === id)),
        target,
        cores,
      );
    log(`soak: the filter until it has served ${PLAN.soakRequests.toLocaleString("en")} requests`);
    const soak = await runSoak(filterRun, target(filterRun), cores, rssWarm);
    const memory = await memoryRuns(envoy.bin, runs, modules, floorRoutes, targetOnly, cores);
    const regions = OPTIONS.perf ? await perfRegions(runs, target, cores) : undefined;
    log("listener update (LDS) with the 1,000 x 10 configuration");
    const lds = await listenerUpdateMs(envoy.bin, {
      small: seed.pluginConfig,
      large: largeConfig(),
      bootstrap: (plugin) => filterOnFloor(modules.filter, plugin, floorRoutes, targetOnly),
      updates: PLAN.ldsUpdates,
      core: cores.envoy,
      headers: REQUEST,
    });
    if (OPTIONS.raw) writeFileSync(OPTIONS.raw, JSON.stringify(rawMeasurements(runs, soak, memory, lds), null, 1));
    console.log(
      report({
        runs,
        facts,
        verification,
        soak,
        regions,
        timeouts: TIMEOUTS,
        together: TOGETHER,
        memory,
        lds,
        plan: PLAN,
        envoy,
        cores,
        machine: machineInfo(),
        quick: QUICK,
        elapsedS: elapsedS(),
      }),
    );
  } finally {
    for (const run of runs) await run.envoy.close();
    await upstream.close();
  }
}

/** Envoy's CPU per request by code region (perf.mjs), one saturation run per main configuration. */
async function perfRegions(runs, target, cores) {
  if (!perfAvailable()) throw new Error("--perf: perf is not installed or may not sample here (Debian: linux-perf)");
  const regions = {};
  for (const run of runs.filter((r) => r.group === "main")) {
    log(`perf: ${run.label}`);
    regions[run.id] = await cpuByRegion(run.envoy.pid, () =>
      saturate(target(run), { seconds: PERF_SECONDS, core: cores.load }),
    );
  }
  return regions;
}

/** Every timed run as measured (latencies as percentiles), for analysis beyond the printed medians. */
function rawMeasurements(runs, soak, memory, lds) {
  const percentiles = (us) => {
    const s = Float64Array.from(us).sort();
    return Object.fromEntries([0.5, 0.9, 0.99, 0.999].map((q) => [`p${q * 100}`, s[Math.floor(q * (s.length - 1))]]));
  };
  return {
    plan: PLAN,
    runs: runs.map((r) => ({
      id: r.id,
      label: r.label,
      saturation: r.sat,
      fixedRate: r.fixed.map(({ latenciesUs, ...rest }) => ({ ...rest, latencyUs: percentiles(latenciesUs) })),
      sideBySide: r.together,
    })),
    soak,
    memory,
    lds,
  };
}

/** PLAN.togetherRounds saturation runs of a group at once -> run.together[group]: one result per round. */
async function sideBySide(group, runs, target, cores) {
  log(`side by side: ${runs.map((r) => r.label).join(", ")}`);
  for (const run of runs) run.together[group] = [];
  for (let i = 0; i < PLAN.togetherRounds; i++) {
    const before = runs.map((r) => cpuTimes(r.envoy.pid).run);
    const results = await saturateTogether(runs.map(target), { seconds: PLAN.togetherSeconds, core: cores.load });
    runs.forEach((run, k) => {
      failOnErrors(run, "side-by-side", results[k]);
      run.together[group].push({ ...results[k], cpu: cpuTimes(run.envoy.pid).run - before[k] });
    });
  }
}

/** Requests the Envoy's listener has answered so far, from its own counter (warm-up and verification included). */
async function answered(run) {
  const filter = encodeURIComponent("^http\\.bench\\.downstream_rq_completed$");
  const { body } = await run.envoy.admin(`/stats?filter=${filter}`);
  const m = /: (\d+)/.exec(body);
  if (!m) throw new Error(`${run.label}: no http.bench.downstream_rq_completed in /stats`);
  return Number(m[1]);
}

/** Saturation runs on the filter until its Envoy has answered PLAN.soakRequests; RSS after warm-up and at the end. */
async function runSoak(run, target, cores, rssWarm) {
  const deadline = Date.now() + PLAN.soakMaxSeconds * 1000;
  while ((await answered(run)) < PLAN.soakRequests && Date.now() < deadline) {
    const r = saturate(target, { seconds: SOAK_CHUNK_SECONDS, core: cores.load });
    failOnErrors(run, "soak", r);
  }
  return { requests: await answered(run), rssWarm, rssEnd: rssBytes(run.envoy.pid) };
}

/** Resident memory: the floor, the no-op and the filter as measured, and the filter with 1,000 services x 10 routes. */
async function memoryRuns(bin, runs, modules, floorRoutes, targetOnly, cores) {
  const rss = Object.fromEntries(runs.map((r) => [r.id, rssBytes(r.envoy.pid)]));
  log("memory: the filter with 1,000 services x 10 routes");
  const t0 = Date.now();
  const large = await startPinned(
    bin,
    filterOnFloor(modules.filter, largeConfig(), floorRoutes, targetOnly),
    cores.envoy,
  );
  const readyMs = Date.now() - t0;
  try {
    const r = saturate({ port: large.ports.bench, headers: REQUEST }, { seconds: 1, core: cores.load });
    failOnErrors({ label: "filter with 1,000 x 10" }, "memory", r);
    return { rss, large: rssBytes(large.pid), largeReadyMs: readyMs };
  } finally {
    await large.close();
  }
}

main().catch((err) => {
  console.error(`bench:envoy failed: ${err.message}`);
  process.exitCode = 1;
});
