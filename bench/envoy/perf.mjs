// Where Envoy's CPU time goes, by code region (`npm run bench:envoy -- --perf`): perf samples the Envoy process on
// a software clock (this VM has no hardware counters) during one saturation run. The envoy binary is stripped, so
// only regions can be told apart: the envoy binary itself (Envoy's C++, with V8's runtime and builtins linked in),
// the kernel, the C library, and V8's JIT code in anonymous memory (perf: "[JIT] tid N"), which is the wasm
// module's compiled code with V8's wasm<->host call wrappers: the guest's own time.
//
//   perfAvailable()                              perf on PATH and allowed to sample
//   cpuByRegion(pid, runLoad) -> { requests, us: { envoy, kernel, jit, other } }   µs of CPU per request

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const HZ = 4999;
const ATTACH_MS = 300;

export function perfAvailable() {
  return spawnSync("perf", ["record", "-q", "-e", "cpu-clock", "-o", "/dev/null", "--", "true"]).status === 0;
}

const region = (dso) =>
  dso === "envoy" ? "envoy" : dso === "[kernel.kallsyms]" ? "kernel" : dso.startsWith("[JIT]") ? "jit" : "other";

/** Samples `pid` while `runLoad()` (a synchronous saturation run returning { requests }) runs. */
export async function cpuByRegion(pid, runLoad) {
  const dir = mkdtempSync(path.join(tmpdir(), "bench-perf-"));
  const data = path.join(dir, "perf.data");
  try {
    const perf = spawn("perf", ["record", "-q", "-e", "cpu-clock", "-F", String(HZ), "-p", String(pid), "-o", data], {
      stdio: "ignore",
    });
    const exited = new Promise((resolve) => perf.once("exit", resolve));
    await new Promise((resolve) => setTimeout(resolve, ATTACH_MS));
    const { requests } = runLoad();
    perf.kill("SIGINT");
    await exited;
    const report = execFileSync("perf", ["report", "-i", data, "--sort", "dso", "--stdio", "-q", "--show-nr-samples"], {
      encoding: "utf8",
    });
    const us = { envoy: 0, kernel: 0, jit: 0, other: 0 };
    for (const m of report.matchAll(/^\s*[\d.]+%\s+(\d+)\s+(.+?)\s*$/gm))
      us[region(m[2])] += (Number(m[1]) * 1e6) / HZ / requests;
    return { requests, us };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
