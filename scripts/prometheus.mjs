#!/usr/bin/env node
// Prometheus for the observability test (test/real-envoy/prometheus.test.mjs): Debian's package `prometheus`,
// installed by scripts/debian-packages.sh when missing (no service started; the test runs its own server).
//
//   node scripts/prometheus.mjs    install it if missing (npm test does this), printing what it did
//   installPrometheus()            the same, from code: -> { bin, version } or { unavailable: why }
//   availablePrometheus()          what is there now, without installing
//
// Where it cannot be installed (not root, no apt-get, no network) the reason is kept in build/ and the test
// reports itself skipped with it (a failure under CI=true, whose .ci/run installs it).

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const UNAVAILABLE_FILE = path.join(ROOT, "build/prometheus-unavailable.txt");
const INSTALLER = path.join(ROOT, "scripts/debian-packages.sh");

/** The prometheus binary on PATH, or undefined. */
function findBinary() {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const bin = path.join(dir, "prometheus");
    if (dir && existsSync(bin)) return bin;
  }
  return undefined;
}

/** "2.42.0+ds" from `prometheus --version`. */
function versionOf(bin) {
  const out = execFileSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000 });
  return /prometheus, version (\S+)/.exec(out)?.[1] ?? "unknown";
}

export function availablePrometheus() {
  const bin = findBinary();
  if (bin) return { bin, version: versionOf(bin) };
  const why = existsSync(UNAVAILABLE_FILE)
    ? readFileSync(UNAVAILABLE_FILE, "utf8").trim()
    : "prometheus is not installed (node scripts/prometheus.mjs installs Debian's package)";
  return { unavailable: why };
}

export function installPrometheus({ log = (line) => console.log(line) } = {}) {
  rmSync(UNAVAILABLE_FILE, { force: true });
  const present = findBinary();
  if (present) {
    log(`prometheus ${versionOf(present)}: already installed (${present})`);
    return { bin: present, version: versionOf(present) };
  }
  const started = Date.now();
  const run = spawnSync("bash", [INSTALLER, "prometheus"], { encoding: "utf8", timeout: 600_000 });
  const bin = findBinary();
  if (bin) {
    log(`prometheus ${versionOf(bin)}: installed from Debian in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { bin, version: versionOf(bin) };
  }
  const lines = `${run.stderr ?? ""}\n${run.stdout ?? ""}`.split("\n").map((l) => l.trim());
  const why = `Debian's package prometheus could not be installed: ${
    run.error?.message ?? lines.filter((l) => l && !l.startsWith("debconf")).pop() ?? `exit ${run.status}`
  }`;
  mkdirSync(path.dirname(UNAVAILABLE_FILE), { recursive: true });
  writeFileSync(UNAVAILABLE_FILE, `${why}\n`);
  log(`prometheus: unavailable: ${why}`);
  return { unavailable: why };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { unavailable } = installPrometheus();
  // Not a failure: the test that needs it reports itself skipped with this reason (failed under CI=true).
  if (unavailable) console.log(`prometheus: the Prometheus test will be skipped: ${unavailable}`);
}
