// What the Envoy benchmark loads, built when missing or older than its sources (a fresh clone builds everything):
// the filter, the no-op floor, the C reference, the probes (probes.c) and the renderer (dist/).
//
//   buildAll(log) -> { filter, noop, c, probe: { none, remove, check, gets, pairs, markNone, ... } } (absolute paths)

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PROBE_SOURCE = "bench/envoy/probes.c";
const PROBE_DIR = "build/bench/envoy";

/** Newest modification time under `rel` (a file or a folder), 0 if absent. */
function newest(rel) {
  const full = path.join(ROOT, rel);
  if (!existsSync(full)) return 0;
  const st = statSync(full);
  return st.isDirectory() ? Math.max(0, ...readdirSync(full).map((e) => newest(path.join(rel, e)))) : st.mtimeMs;
}

const stale = (output, sources) =>
  !existsSync(path.join(ROOT, output)) || sources.some((s) => newest(s) > newest(output));

function sh(log, command, args) {
  log(`building: ${[command, ...args].join(" ")}`);
  execFileSync(command, args, { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
}

// clang runs a wasm-opt found on PATH after linking; node_modules/.bin's rejects these modules (bench/c/build.sh)
const clangPath = () =>
  (process.env.PATH ?? "")
    .split(":")
    .filter((p) => !p.includes("node_modules/.bin"))
    .join(":");

const PROBES = {
  none: ["-DPROBE=PROBE_NONE"],
  remove: ["-DPROBE=PROBE_REMOVE"],
  check: ["-DPROBE=PROBE_CHECK"],
  gets: ["-DPROBE=PROBE_GETS"],
  pairs: ["-DPROBE=PROBE_PAIRS"],
  props: ["-DPROBE=PROBE_PROPS"],
  state: ["-DPROBE=PROBE_STATE"],
  metrics: ["-DPROBE=PROBE_METRICS"],
  markNone: ["-DPROBE=PROBE_NONE", "-DMARK"],
  markRemove: ["-DPROBE=PROBE_REMOVE", "-DMARK"],
  markCheck: ["-DPROBE=PROBE_CHECK", "-DMARK"],
};

function buildProbes(log) {
  mkdirSync(path.join(ROOT, PROBE_DIR), { recursive: true });
  const out = {};
  for (const [name, defines] of Object.entries(PROBES)) {
    const file = `${PROBE_DIR}/probe-${name}.wasm`;
    if (stale(file, [PROBE_SOURCE])) {
      log(`building: ${file}`);
      execFileSync(
        "clang",
        [
          "--target=wasm32",
          "-O3",
          "-nostdlib",
          "-std=c11",
          "-Wall",
          "-Wextra",
          "-Werror",
          ...defines,
          "-Wl,--no-entry",
          "-Wl,--strip-all",
          "-o",
          file,
          PROBE_SOURCE,
        ],
        { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, PATH: clangPath() } },
      );
    }
    out[name] = path.join(ROOT, file);
  }
  return out;
}

export function buildAll(log) {
  if (stale("dist/cli/main.js", ["src", "tsconfig.json"])) sh(log, "npm", ["run", "-s", "build:cli"]);
  if (stale("build/dynamic_subset.wasm", ["assembly", "asconfig.json"])) sh(log, "npm", ["run", "-s", "build:wasm"]);
  if (stale("build/noop.wasm", ["assembly/abi", "bench/noop", "asconfig.json"]))
    sh(log, "npm", ["run", "-s", "build:noop"]);
  // also installs clang and lld from Debian when missing, which the probes need too
  if (stale("build/bench/reference_c.wasm", ["bench/c"])) sh(log, "sh", ["bench/c/build.sh"]);
  return {
    filter: path.join(ROOT, "build/dynamic_subset.wasm"),
    noop: path.join(ROOT, "build/noop.wasm"),
    c: path.join(ROOT, "build/bench/reference_c.wasm"),
    probe: buildProbes(log),
  };
}
