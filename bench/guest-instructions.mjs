#!/usr/bin/env node
// Guest instructions per stream: `npm run bench:guest` (all scenarios, about 4 minutes), or
// `npm run bench:guest -- --scenario "seed: two keys" [--streams 10000] [--profile]`.
//
// The wall-clock benchmark (run.mjs) is at the mercy of a shared machine; this one counts machine instructions,
// which do not depend on load: each scenario runs in one `node` process under valgrind's callgrind, with V8 made
// deterministic (--predictable, fixed seeds) and wasm compiled by TurboFan only (--no-liftoff, the code a warm
// Envoy worker runs). In that process every module is loaded into the replay host (replay.mjs), warmed up, then
// run for `streams` streams per window, twice, modules in turn; callgrind dumps its counters between windows
// (--dump-before=uv_loadavg, triggered by os.loadavg()), so a window's count is that module's streams alone.
//
// The modules: the filter, the C reference, the no-op floor, and a *host floor* generated here from the
// filter's tape: a wasm module that makes exactly the filter's host calls, callback by callback, with a malloc
// that returns a constant, and does nothing else. Under the replay host everything a stream costs outside the
// module (the tape, the crossings, the copies into guest memory) is the same for the filter, the C reference
// and that floor, so module - floor is the module's own instructions (V8's helpers for memory.copy/fill
// included). The no-op's floor makes no calls.
//
// --profile adds where the filter's instructions go, per wasm function (callgrind --dump-instr=yes on the JIT
// code, symbolised with V8's --perf-basic-prof map and the names in build/dynamic_subset.wat).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { MODULES, buildIfNeeded } from "./run.mjs";
import { SCENARIOS, RESPONSE_HEADERS } from "./scenarios.mjs";
import { replayHost, RETURNS_BYTES, RETURNS_U32, STREAM_CALLBACKS } from "./replay.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SELF = fileURLToPath(import.meta.url);
const V8_FLAGS = ["--expose-gc", "--predictable", "--hash-seed=1", "--random-seed=1", "--no-liftoff"];
const WARM_STREAMS = 6000;
const WARM_ROUNDS = 3;
const REPS = 2; // windows per module; the smallest count is kept (a late recompilation or GC only adds)
const RATIO_GOAL = 1.25;

// ------------------------------------------------------------------ the host floor

/** Parameter types of the imports a stream may call ("i": i32, "l": i64); every one returns an i32. */
const IMPORT_PARAMS = {
  proxy_log: "iii",
  proxy_get_header_map_value: "iiiii",
  proxy_add_header_map_value: "iiiii",
  proxy_replace_header_map_value: "iiiii",
  proxy_remove_header_map_value: "iii",
  proxy_get_property: "iiii",
  proxy_set_property: "iiii",
  proxy_send_local_response: "iiiiiiii",
  proxy_increment_metric: "il",
  proxy_call_foreign_function: "iiiiii",
};
/** The floor's exports besides malloc and memory: parameter count, returns an i32, the value returned. */
const CALLBACK_SIGNATURES = {
  proxy_on_context_create: [2, false],
  proxy_on_vm_start: [2, true, 1],
  proxy_on_configure: [2, true, 1],
  proxy_on_request_headers: [3, true, 0],
  proxy_on_response_headers: [3, true, 0],
  proxy_on_log: [1, false],
  proxy_on_done: [1, true, 1],
  proxy_on_delete: [1, false],
};
const OUT_PARAMETERS = [8, 12]; // where the floor asks the host to write (ptr, size) or a u32
const MALLOC_RESULT = 1024; // every block at the same place: the floor reads nothing

const leb = (n) => {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
};
const name = (s) => [...leb(s.length), ...Buffer.from(s)];
const vec = (items) => [...leb(items.length), ...items.flat()];
const section = (id, bytes) => [id, ...leb(bytes.length), ...bytes];
const I32 = 0x7f;
const I64 = 0x7e;

/**
 * A module that makes, in each callback of STREAM_CALLBACKS, the host calls `callbacks[i]` names (in order, with
 * zero arguments except its out-parameters) and nothing else.
 */
export function hostFloorModule(callbacks) {
  const imports = [...new Set(callbacks.flat())];
  for (const imp of imports) if (!(imp in IMPORT_PARAMS)) throw new Error(`host floor: no signature for ${imp}`);
  const types = [];
  const typeOf = (params, returns) => {
    const key = `${params.join()}:${returns}`;
    let index = types.findIndex((t) => t.key === key);
    if (index < 0)
      index = types.push({ key, bytes: [0x60, ...vec(params.map((p) => [p])), ...(returns ? [1, I32] : [0])] }) - 1;
    return index;
  };
  const importTypes = imports.map((imp) =>
    typeOf(
      [...IMPORT_PARAMS[imp]].map((p) => (p === "l" ? I64 : I32)),
      true,
    ),
  );
  const exportsList = [["malloc", typeOf([I32], true), [0x41, ...leb(MALLOC_RESULT)]]];
  for (const [callback, [arity, returns, value]] of Object.entries(CALLBACK_SIGNATURES)) {
    const body = [];
    const index = STREAM_CALLBACKS.indexOf(callback);
    for (const imp of index >= 0 ? callbacks[index] : []) {
      const outs = [RETURNS_BYTES[imp] ?? [], RETURNS_U32[imp] ?? []].flat();
      [...IMPORT_PARAMS[imp]].forEach((p, i) => {
        const at = outs.indexOf(i);
        body.push(p === "l" ? 0x42 : 0x41, ...leb(at >= 0 ? OUT_PARAMETERS[at] : 0));
      });
      body.push(0x10, ...leb(imports.indexOf(imp)), 0x1a); // call, drop
    }
    if (returns) body.push(0x41, ...leb(value));
    exportsList.push([callback, typeOf(Array(arity).fill(I32), returns), body]);
  }
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types.map((t) => t.bytes))),
    ...section(2, vec(imports.map((imp, i) => [...name("env"), ...name(imp), 0x00, ...leb(importTypes[i])]))),
    ...section(3, vec(exportsList.map(([, type]) => leb(type)))),
    ...section(5, vec([[0x00, 1]])),
    ...section(
      7,
      vec([
        [...name("memory"), 0x02, 0],
        ...exportsList.map(([n], i) => [...name(n), 0x00, ...leb(imports.length + i)]),
      ]),
    ),
    ...section(10, vec(exportsList.map(([, , body]) => [...leb(body.length + 2), 0, ...body, 0x0b]))),
  ];
  return new Uint8Array(bytes);
}

// ------------------------------------------------------------------ the child: runs inside valgrind

/** Loads every module for one scenario, warms them up, then runs the windows; prints what it ran as JSON. */
async function child(scenarioName, streams) {
  const scenario = SCENARIOS.find((s) => s.name === scenarioName);
  const loaded = [];
  for (const m of MODULES)
    loaded.push({ id: m.id, replay: await replayHost(join(ROOT, m.file), scenario, RESPONSE_HEADERS) });
  const [filter, noop] = ["filter", "noop"].map((id) => loaded.find((m) => m.id === id));
  const floor = async (id, source) =>
    loaded.push({
      id,
      replay: await replayHost(hostFloorModule(source.replay.callbacks), scenario, RESPONSE_HEADERS, {
        tape: source.replay.tape,
      }),
    });
  await floor("floor", filter);
  await floor("noop floor", noop);
  // Warm-up: rounds shaped like the windows (a full collection, then a module's streams). The host's
  // JavaScript is shared by the modules; V8 settles its optimised code once it has seen them all and once a
  // collection has freed the objects of the recording phase (which deoptimises code that referred to them).
  for (let round = 0; round < WARM_ROUNDS; round++)
    for (const { replay } of loaded) {
      globalThis.gc();
      replay.run(WARM_STREAMS / WARM_ROUNDS);
    }
  const windows = [];
  for (let rep = 0; rep < REPS; rep++)
    for (const { id, replay } of loaded) {
      globalThis.gc(); // every window starts with the same empty young generation
      loadavg(); // callgrind dumps its counters here (--dump-before=uv_loadavg): the window starts
      replay.run(streams);
      loadavg(); // and ends
      windows.push(id);
    }
  const probe = (id) => loaded.find((m) => m.id === id).replay;
  console.log(
    JSON.stringify({
      pid: process.pid,
      windows,
      calls: Object.fromEntries(loaded.map(({ id, replay }) => [id, replay.calls])),
      sequences: Object.fromEntries(MODULES.map(({ id }) => [id, probe(id).sequence.join()])),
      decisions: Object.fromEntries(MODULES.map(({ id }) => [id, probe(id).filterState])),
    }),
  );
}

// ------------------------------------------------------------------ the parent

/** Runs one scenario under callgrind; instructions per stream per module (and the profile when asked). */
function measure(scenario, streams, profile) {
  const dir = mkdtempSync(join(tmpdir(), "guest-instructions-"));
  try {
    const out = join(dir, "callgrind.out");
    const valgrind = [
      "--tool=callgrind",
      "--dump-before=uv_loadavg",
      `--callgrind-out-file=${out}`,
      ...(profile ? ["--dump-instr=yes"] : []),
    ];
    const node = [
      ...V8_FLAGS,
      ...(profile ? ["--perf-basic-prof"] : []),
      SELF,
      "--child",
      scenario.name,
      String(streams),
    ];
    const run = spawnSync("valgrind", [...valgrind, process.execPath, ...node], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 1 << 26,
    });
    if (run.error?.code === "ENOENT") throw new Error("valgrind is not installed (Debian: apt-get install valgrind)");
    if (run.status !== 0) throw new Error(`${scenario.name}: the measured run failed\n${run.stderr.slice(-3000)}`);
    const result = JSON.parse(run.stdout.trim().split("\n").pop());
    // part 1 is start-up and warm-up, then each window is a part, followed by the part between windows
    const part = (k) => `${out}.${2 + 2 * k}`;
    const totals = result.windows.map((_, k) => {
      const text = readFileSync(part(k), "utf8");
      return Number(/^totals: (\d+)/m.exec(text)[1]) / streams;
    });
    const perModule = {};
    result.windows.forEach((id, k) => (perModule[id] ??= []).push(totals[k]));
    const profileText = profile
      ? profileWindow(part(result.windows.indexOf("filter")), `/tmp/perf-${result.pid}.map`, streams)
      : null;
    if (profile) rmSync(`/tmp/perf-${result.pid}.map`, { force: true });
    return { ...result, perModule, profile: profileText };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The filter's window by function: wasm functions by name, the rest (host, V8) by symbol. */
function profileWindow(partFile, perfMapFile, streams) {
  const ranges = readFileSync(perfMapFile, "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const [start, size, ...label] = line.split(" ");
      return { start: BigInt(`0x${start}`), end: BigInt(`0x${start}`) + BigInt(`0x${size}`), label: label.join(" ") };
    })
    .sort((a, b) => (a.start < b.start ? -1 : 1));
  const wat = readFileSync(join(ROOT, "build/dynamic_subset.wat"), "utf8");
  const wasmNames = [...wat.matchAll(/^ \((?:import "[^"]*" "[^"]*" \(func|func) (\$\S+)/gm)].map((m) => m[1]);
  const symbolise = (addr) => {
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (ranges[mid].end <= addr) lo = mid + 1;
      else if (ranges[mid].start > addr) hi = mid - 1;
      else {
        const wasm = /wasm-function\[(\d+)\]/.exec(ranges[mid].label);
        return wasm ? `wasm ${wasmNames[Number(wasm[1])] ?? wasm[1]}` : ranges[mid].label;
      }
    }
    return "JIT code without a map entry (wasm-to-JS wrappers)";
  };
  // callgrind format: "fn=(id) name" once, then "fn=(id)"; with --dump-instr=yes, cost lines are
  // "<address> <line> <Ir>", addresses absolute (0x..), relative (+n / -n) or repeated (*); the line after a
  // "calls=" line is the call's inclusive cost, not the function's own.
  const names = new Map();
  const label = (value) => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(value);
    if (m && m[2] !== undefined) names.set(m[1], m[2]);
    return m ? names.get(m[1]) : value;
  };
  const costs = new Map();
  let fn = "";
  let jit = false;
  let address = 0n;
  let inclusive = false;
  for (const line of readFileSync(partFile, "utf8").split("\n")) {
    if (line.startsWith("fn=")) fn = label(line.slice(3));
    else if (line.startsWith("ob=")) jit = label(line.slice(3)) === "???";
    else if (line.startsWith("cfn=") || line.startsWith("cob=")) label(line.slice(4));
    else if (line.startsWith("calls=")) inclusive = true;
    else if (/^[0-9+*-]/.test(line)) {
      const fields = line.split(" ");
      const at = fields[0];
      if (at[0] === "+") address += BigInt(at.slice(1));
      else if (at[0] === "-") address -= BigInt(at.slice(1));
      else if (at !== "*") address = BigInt(at);
      if (inclusive) inclusive = false;
      else {
        const key = jit || fn.startsWith("0x") ? symbolise(address) : fn;
        costs.set(key, (costs.get(key) ?? 0) + Number(fields[fields.length - 1]));
      }
    }
  }
  const rows = [...costs].sort((a, b) => b[1] - a[1]).filter(([, ir]) => ir / streams >= 1);
  const wasm = rows.filter(([k]) => k.startsWith("wasm ")).reduce((sum, [, ir]) => sum + ir, 0);
  return [
    `instructions per stream by function (filter window; wasm functions: ${(wasm / streams).toFixed(0)})`,
    ...rows.slice(0, 40).map(([k, ir]) => `${(ir / streams).toFixed(1).padStart(9)}  ${k}`),
  ].join("\n");
}

const f0 = (x) => x.toFixed(0);

function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function main() {
  const args = process.argv.slice(2);
  const option = (flag, fallback) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : fallback);
  const streams = Number(option("--streams", "10000"));
  const only = option("--scenario", null);
  const scenarios = only === null ? SCENARIOS : SCENARIOS.filter((s) => s.name === only);
  if (scenarios.length === 0) throw new Error(`no scenario named ${JSON.stringify(only)}`);
  for (const m of MODULES) buildIfNeeded(m);
  const started = Date.now();
  const rows = [];
  const warnings = [];
  for (const scenario of scenarios) {
    console.error(`scenario: ${scenario.name}`);
    const r = measure(scenario, streams, args.includes("--profile"));
    const [filter, c, noop, floor, noopFloor] = ["filter", "C", "noop", "floor", "noop floor"].map((id) =>
      Math.min(...r.perModule[id]),
    );
    if (r.sequences.filter !== r.sequences.C) warnings.push(`${scenario.name}: filter and C make different host calls`);
    if (r.decisions.filter !== r.decisions.C) warnings.push(`${scenario.name}: filter and C decide differently`);
    rows.push([
      scenario.name,
      String(r.calls.filter),
      f0(filter),
      f0(c),
      f0(floor),
      f0(filter - floor),
      f0(c - floor),
      f0(noop - noopFloor),
      ((filter - floor) / (c - floor)).toFixed(2),
      (filter - floor) / (c - floor) <= RATIO_GOAL ? "met" : "missed",
    ]);
    if (r.profile) console.log(`\n${scenario.name}\n${r.profile}\n`);
  }
  console.log(
    table(
      [
        "scenario",
        "host calls",
        "filter",
        "C",
        "host floor",
        "guest: filter",
        "guest: C",
        "guest: noop",
        "guest: filter ÷ C",
        `goal ≤ ${RATIO_GOAL}`,
      ],
      rows,
    ),
  );
  for (const w of warnings) console.log(`**WARNING** ${w}`);
  console.log(
    `\ninstructions per stream (callgrind Ir), ${streams} streams per window after ${WARM_STREAMS} warm-up, ` +
      `the smaller of ${REPS} windows; node ${process.version} ${V8_FLAGS.join(" ")}; ` +
      `${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  if (warnings.length) process.exitCode = 1;
}

if (process.argv[2] === "--child") await child(process.argv[3], Number(process.argv[4]));
else main();
