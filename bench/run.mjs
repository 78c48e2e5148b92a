#!/usr/bin/env node
// The benchmark (docs/performance.md): `npm run bench` (or `npm run bench -- --quick` for a short run); node --expose-gc.
//
// Builds the three modules when their sources are newer, then for each scenario of scenarios.mjs measures, side
// by side for the filter, the no-op floor and the C reference:
//   - ns per full stream in the emulator (context create, request headers, response headers, log, done, delete),
//     median of repeated batches after warm-up, the modules interleaved in every repetition (shared, noisy
//     machine: only ratios measured in the same run are compared);
//   - the same under the replay host (replay.mjs), which answers host calls from a tape: the module's own time
//     plus one wasm->JS crossing per host call, from which the guest-only time is estimated;
//   - host calls, guest allocations (count, bytes) per stream, and the decision (filter state);
//   - linear-memory pages after warm-up and after up to 10^6 streams (under the replay host, for speed);
//   - the slow tail of 10^5 streams timed one by one under the replay host: p99, and the median of the slowest
//     stream of each 1,000 (the filter collects garbage at the end of about one stream in a thousand).
// Then: configuration time for 1,000 services x 10 routes (parse + validation < 50 ms; bench/parse splits the
// phases) and module sizes (<= 64 KiB at -O3).
import { execSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { ProxyWasmHost } from "../emulator/index.mjs";
import { SCENARIOS, RESPONSE_HEADERS, largeConfig } from "./scenarios.mjs";
import { replayHost, crossingNs } from "./replay.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const QUICK = process.argv.includes("--quick");
const PLAN = QUICK
  ? {
      warm: 3000,
      batch: 3000,
      reps: 5,
      replayBatch: 10000,
      memStreams: 1e5,
      memBudgetMs: 2000,
      parseRuns: 3,
      timedStreams: 2e4,
    }
  : {
      warm: 20000,
      batch: 4000,
      reps: 31,
      replayBatch: 20000,
      memStreams: 1e6,
      memBudgetMs: 8000,
      parseRuns: 7,
      timedStreams: 1e5,
    };
// Many short interleaved batches: on a shared machine a noisy neighbour spoils a few batches, not a median.
const FILTER_STATE_KEY = "wasm.dynamic_subset"; // Envoy stores proxy_set_property paths as wasm.<path>
const SIZE_BAR = 64 * 1024;
const PARSE_BAR_MS = 50;
const RATIO_GOAL = 1.25;

export const MODULES = [
  {
    id: "filter",
    file: "build/dynamic_subset.wasm",
    sources: ["assembly", "asconfig.json"],
    build: "npm run -s build:wasm",
  },
  {
    id: "noop",
    file: "build/noop.wasm",
    sources: ["assembly/abi", "bench/noop", "asconfig.json"],
    build: "npm run -s build:noop",
  },
  { id: "C", file: "build/bench/reference_c.wasm", sources: ["bench/c"], build: "sh bench/c/build.sh" },
];
const CROSSING_WASM = "build/bench/crossing.wasm";
// the filter's configuration code alone (bench/parse), for the parse-time split; not compared like MODULES
const PARSE_MODULE = {
  id: "parse",
  file: "build/bench/parse.wasm",
  sources: ["assembly", "bench/parse", "asconfig.json"],
  build: "npm run -s build:parse",
};
const PARSE_WASM = PARSE_MODULE.file;

// ------------------------------------------------------------------ building

function newestMtime(path) {
  const full = join(ROOT, path);
  if (!existsSync(full)) return 0;
  const st = statSync(full);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(full)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

export function buildIfNeeded(module) {
  const out = join(ROOT, module.file);
  const stale = !existsSync(out) || module.sources.some((s) => newestMtime(s) > statSync(out).mtimeMs);
  if (module.id === "C" && !existsSync(join(ROOT, CROSSING_WASM))) return build(module);
  if (stale) build(module);
}

function build(module) {
  console.error(`building ${module.file}: ${module.build}`);
  execSync(module.build, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
}

// ------------------------------------------------------------------ measuring

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function stream(host, scenario) {
  const s = host.newStream({ properties: scenario.properties });
  s.requestHeaders(scenario.headers, { endOfStream: true });
  s.responseHeaders(RESPONSE_HEADERS, { endOfStream: true });
  s.complete();
  return s;
}

function streams(host, scenario, n) {
  for (let i = 0; i < n; i++) stream(host, scenario);
}

function timeNs(fn, n) {
  globalThis.gc?.(); // (node --expose-gc) so that a major JS GC of earlier garbage does not land in one module's batch
  const start = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - start) / n;
}

/** Median ns per stream of each runner, interleaved: every repetition runs each once, in rotating order. */
function interleaved(runners, batch, reps) {
  const samples = runners.map(() => []);
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < runners.length; k++) {
      const i = (r + k) % runners.length;
      samples[i].push(timeNs(runners[i], batch));
    }
  }
  return samples.map(median);
}

async function loadHost(module, config) {
  const host = await ProxyWasmHost.load(join(ROOT, module.file), {
    pluginConfig: JSON.stringify(config),
    logLevel: "info",
  });
  host.start();
  if (host.failed) throw new Error(`${module.file}: failed at start`);
  return host;
}

/**
 * Pages after warm-up and after up to PLAN.memStreams more streams (stopping at the time budget). Run under the
 * replay host: the module sees the same calls, answers and malloc sizes as in the emulator, several times faster.
 */
function memoryRun(replay) {
  const before = replay.pages();
  const deadline = Date.now() + PLAN.memBudgetMs;
  let done = 0;
  while (done < PLAN.memStreams && Date.now() < deadline) {
    const n = Math.min(20000, PLAN.memStreams - done);
    replay.run(n);
    done += n;
  }
  return { before, after: replay.pages(), streams: done };
}

/**
 * The slow tail under the replay host, in µs, from PLAN.timedStreams streams timed one by one: p99, and the
 * median over windows of 1,000 streams of each window's slowest stream. The filter collects garbage about once
 * per thousand streams, so that median is what a collecting stream costs; a rare outlier from the machine moves
 * one window, not the median.
 */
function slowTail(replay) {
  const ns = replay.timeEach(PLAN.timedStreams);
  const worst = [];
  for (let start = 0; start + 1000 <= ns.length; start += 1000)
    worst.push(Math.max(...ns.subarray(start, start + 1000)));
  const sorted = Float64Array.from(ns).sort();
  return { p99: sorted[Math.floor(sorted.length * 0.99)] / 1e3, worstPer1000: median(worst) / 1e3 };
}

async function measureScenario(scenario, crossing) {
  const hosts = [];
  for (const m of MODULES) hosts.push(await loadHost(m, scenario.config));
  const probes = hosts.map((h) => stream(h, scenario));
  const runners = hosts.map((h) => (n) => streams(h, scenario, n));
  for (const run of runners) run(PLAN.warm);
  const ns = interleaved(runners, PLAN.batch, PLAN.reps);

  const replays = [];
  for (const m of MODULES) replays.push(await replayHost(join(ROOT, m.file), scenario, RESPONSE_HEADERS));
  for (const r of replays) r.run(PLAN.replayBatch / 5);
  const replayNs = interleaved(
    replays.map((r) => (n) => r.run(n)),
    PLAN.replayBatch,
    PLAN.reps,
  );

  const memory = replays.map(memoryRun);
  const tails = replays.map(slowTail);
  const rows = MODULES.map((m, i) => ({
    module: m.id,
    ns: ns[i],
    replayNs: replayNs[i],
    guestNs: replayNs[i] - replays[i].calls * crossing,
    calls: probes[i].hostCalls.total,
    byName: probes[i].hostCalls.byName,
    allocCount: probes[i].allocations.count,
    allocBytes: probes[i].allocations.bytes,
    sequence: replays[i].sequence,
    decision: probes[i].filterState.get(FILTER_STATE_KEY),
    failed: hosts[i].failed,
    memory: memory[i],
    tail: tails[i],
  }));
  return { scenario, rows, warnings: checkParity(rows) };
}

/** The C reference must make the same host calls, in the same order, and reach the same decision as the filter. */
function checkParity(rows) {
  const filter = rows.find((r) => r.module === "filter");
  const c = rows.find((r) => r.module === "C");
  const warnings = [];
  const names = new Set([...Object.keys(filter.byName), ...Object.keys(c.byName)]);
  const diff = [...names]
    .filter((n) => (filter.byName[n] ?? 0) !== (c.byName[n] ?? 0))
    .map((n) => `${n} ${filter.byName[n] ?? 0} vs ${c.byName[n] ?? 0}`);
  if (filter.calls !== c.calls || diff.length)
    warnings.push(`host calls differ: filter ${filter.calls}, C ${c.calls} (${diff.join("; ")})`);
  else if (filter.sequence.join() !== c.sequence.join()) warnings.push("host calls differ in order");
  if (filter.decision !== c.decision) warnings.push(`decisions differ: filter ${filter.decision}, C ${c.decision}`);
  for (const r of rows) if (r.failed) warnings.push(`${r.module}: the VM failed`);
  for (const r of rows)
    if (r.memory.after !== r.memory.before)
      warnings.push(`${r.module}: memory grew ${r.memory.before} -> ${r.memory.after} pages after warm-up`);
  return warnings;
}

/**
 * Configuration time for the large configuration, in ms (medians of PLAN.parseRuns):
 * - cold: on_configure of a fresh VM (host.start() minus the same with an empty configuration), as at Envoy start;
 * - warm: on_configure again on a live VM, as on a configuration push;
 * - the split of a warm on_configure from parse.wasm (the same code without the ABI): JSON parse + validation
 *   (docs/performance.md "The bars"), table compilation, and the collection that ends on_configure.
 */
async function parseTime() {
  const config = largeConfig();
  const json = JSON.stringify(config);
  const filter = join(ROOT, MODULES[0].file);
  const startMs = async (pluginConfig) => {
    const host = await ProxyWasmHost.load(filter, { pluginConfig, logLevel: "info" });
    const start = process.hrtime.bigint();
    host.start();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (host.failed || !host.configured) throw new Error("the large configuration failed the VM");
    return { ms, host };
  };
  const cold = [];
  const base = [];
  let live = null;
  for (let i = 0; i < PLAN.parseRuns; i++) {
    const run = await startMs(json);
    cold.push(run.ms);
    live = run.host;
    base.push((await startMs("")).ms);
  }
  const warm = medianMs(() => {
    if (!live.configure(json)) throw new Error("the large configuration was rejected");
  });
  return {
    services: config.services.length,
    bytes: json.length,
    cold: median(cold) - median(base),
    warm,
    ...phases(json),
  };
}

/** Median ms of `timed` over PLAN.parseRuns runs after one untimed run; `before` and `after` run untimed around each. */
function medianMs(timed, { before = () => {}, after = () => {} } = {}) {
  const times = [];
  for (let i = -1; i < PLAN.parseRuns; i++) {
    before();
    const start = process.hrtime.bigint();
    timed();
    if (i >= 0) times.push(Number(process.hrtime.bigint() - start) / 1e6);
    after();
  }
  return median(times);
}

/** The phases of a warm on_configure, timed one by one in parse.wasm. */
function phases(json) {
  const module = new WebAssembly.Module(readFileSync(join(ROOT, PARSE_WASM)));
  const { exports: m } = new WebAssembly.Instance(module, { env: { proxy_log: () => 0 } });
  m._initialize();
  const bytes = Buffer.from(json);
  const at = m.inputBuffer(bytes.length); // may grow memory: read memory.buffer after it
  new Uint8Array(m.memory.buffer, at, bytes.length).set(bytes);
  const parse = () => {
    if (m.parse() !== 0) throw new Error("parse.wasm rejected the large configuration");
  };
  const compile = () => {
    if (m.compile() < 0) throw new Error("parse.wasm: nothing to compile");
  };
  return {
    parse: medianMs(parse, { after: m.collect }),
    compile: medianMs(compile, { before: parse, after: m.collect }),
    collect: medianMs(m.collect, { before: () => (parse(), compile()) }),
  };
}

function sizes() {
  return MODULES.map((m) => {
    const bytes = readFileSync(join(ROOT, m.file));
    return { module: m.id, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

// ------------------------------------------------------------------ printing

const f0 = (x) => x.toFixed(0);
const f2 = (x) => x.toFixed(2);

function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function report(results, parse, size, crossing, elapsedS) {
  const out = [];
  const rows = [];
  for (const { scenario, rows: rs, warnings } of results) {
    const noop = rs.find((r) => r.module === "noop");
    const c = rs.find((r) => r.module === "C");
    for (const r of rs)
      rows.push([
        r.module === "filter" ? `**${scenario.name}**` : "",
        r.module,
        f0(r.ns),
        f2(r.ns / noop.ns),
        f2(r.ns / c.ns),
        r.module === "noop" ? "" : f0(r.ns - noop.ns),
        f0(r.replayNs),
        f0(r.guestNs),
        String(r.calls),
        `${r.allocCount} / ${r.allocBytes} B`,
        `${r.memory.before} → ${r.memory.after} (${(r.memory.streams / 1e6).toFixed(2)} M)`,
        `${r.tail.p99.toFixed(1)} / ${r.tail.worstPer1000.toFixed(0)}`,
      ]);
    for (const w of warnings) rows.push(["", `**WARNING** ${w}`, ...Array(10).fill("")]);
  }
  out.push(
    table(
      [
        "scenario",
        "module",
        "ns/stream",
        "× noop",
        "× C",
        "added over noop, ns",
        "replay ns",
        "guest ≈ ns",
        "host calls",
        "allocs/stream",
        "pages warm → end (streams)",
        "replay µs: p99 / slowest per 1,000",
      ],
      rows,
    ),
  );
  out.push("");
  out.push(
    table(
      [
        "scenario",
        "filter ÷ C (emulator)",
        "added: filter ÷ C",
        "guest: filter ÷ C",
        `goal ≤ ${RATIO_GOAL}`,
        "decision",
      ],
      results.map(({ scenario, rows: rs }) => {
        const [filter, noop, c] = ["filter", "noop", "C"].map((id) => rs.find((r) => r.module === id));
        const ratio = filter.ns / c.ns;
        return [
          scenario.name,
          f2(ratio),
          f2((filter.ns - noop.ns) / (c.ns - noop.ns)),
          f2(filter.guestNs / c.guestNs),
          ratio <= RATIO_GOAL ? "met" : "missed",
          `\`${filter.decision}\``,
        ];
      }),
    ),
  );
  out.push("");
  out.push(
    table(
      ["module", "raw bytes", "gzip -9 bytes", "bar"],
      size.map((s) => [
        s.module,
        String(s.raw),
        String(s.gzip),
        s.module === "filter" ? `≤ ${SIZE_BAR} raw: ${s.raw <= SIZE_BAR ? "met" : "MISSED"}` : "",
      ]),
    ),
  );
  out.push("");
  const bar = (ms) => `bar < ${PARSE_BAR_MS} ms: ${ms < PARSE_BAR_MS ? "met" : "MISSED"}`;
  out.push(
    `configuration (${parse.services} services × 10 routes, ${(parse.bytes / 1024).toFixed(0)} KiB JSON, median of ` +
      `${PLAN.parseRuns}): parse + validation ${parse.parse.toFixed(1)} ms (${bar(parse.parse)}), table compilation ` +
      `${parse.compile.toFixed(1)} ms, collection ${parse.collect.toFixed(1)} ms (parse.wasm, warm); whole on_configure ` +
      `in the emulator ${parse.warm.toFixed(1)} ms on a live VM, ${parse.cold.toFixed(1)} ms on a fresh one`,
  );
  out.push(`replay host: one host-call crossing ≈ ${crossing.toFixed(1)} ns (crossing.wasm), subtracted in "guest ≈"`);
  out.push(
    `node ${process.version}, ${PLAN.reps} repetitions × ${PLAN.batch} streams (emulator), ` +
      `× ${PLAN.replayBatch} (replay)${QUICK ? ", --quick" : ""}; ${elapsedS.toFixed(0)} s`,
  );
  return out.join("\n");
}

// ------------------------------------------------------------------ main

async function main() {
  const started = Date.now();
  for (const m of [...MODULES, PARSE_MODULE]) buildIfNeeded(m);
  const crossing = crossingNs(join(ROOT, CROSSING_WASM));
  const results = [];
  for (const scenario of SCENARIOS) {
    console.error(`scenario: ${scenario.name}`);
    results.push(await measureScenario(scenario, crossing));
  }
  console.error("configuration parse time");
  const parse = await parseTime();
  console.log(report(results, parse, sizes(), crossing, (Date.now() - started) / 1000));
  if (results.some((r) => r.warnings.length)) process.exitCode = 1; // parity, failure or memory growth
}

// guest-instructions.mjs imports MODULES and buildIfNeeded
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
