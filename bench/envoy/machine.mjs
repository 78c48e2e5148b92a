// The machine side of the Envoy benchmark: which cores to pin to, a process's CPU time and resident memory from
// /proc, and the load generators (installed from Debian's packages when missing).
//
//   cpuPlan()              -> { envoy: core | undefined, load: core | undefined, note }   where to pin what
//   pin(pid, core)         pins every thread of pid (threads created later inherit the mask)
//   cpuTimes(pid)          { run, wait }: seconds on a CPU and waiting for one, all threads, from /proc
//   rssBytes(pid)          VmRSS, from /proc/<pid>/status
//   ensureTools()          wrk and h2load on PATH (apt-get install wrk nghttp2-client when missing)
//   machineInfo()          { cpus, model, load } for the report

import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

const onPath = (command) => spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;

/**
 * Envoy on core 0; the load generator, the upstream and this process on core 1. Needs two cores and taskset;
 * otherwise nothing is pinned and the report says so.
 */
export function cpuPlan() {
  const cpus = availableParallelism();
  if (cpus < 2) return { note: `not pinned: ${cpus} core` };
  if (!onPath("taskset")) return { note: "not pinned: taskset (util-linux) is missing" };
  return { envoy: 0, load: 1, note: "Envoy under test on core 0; load generator, upstream and harness on core 1" };
}

export function pin(pid, core) {
  if (core === undefined) return;
  execFileSync("taskset", ["--all-tasks", "--pid", "--cpu-list", String(core), String(pid)], { stdio: "ignore" });
}

/**
 * Seconds the process has run on a CPU (user + system, all threads) and waited for one while runnable: the
 * kernel's exact per-thread times (/proc/<pid>/task/<tid>/schedstat, ns). The run time is what /proc/<pid>/stat
 * reports as utime + stime, there rounded to clock ticks (10 ms, too coarse for a 1-second run at 1,000 req/s);
 * without schedstat it is read from there and the wait is unknown.
 */
export function cpuTimes(pid) {
  try {
    let run = 0;
    let wait = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const [ran, waited] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ").map(Number);
      run += ran;
      wait += waited;
    }
    return { run: run / 1e9, wait: wait / 1e9 };
  } catch {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // after "(comm)": utime and stime are fields 14 and 15 of proc(5)
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { run: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS, wait: NaN };
  }
}

export function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS`);
  return Number(m[1]) * 1024;
}

const TOOLS = [
  { command: "wrk", pkg: "wrk" },
  { command: "h2load", pkg: "nghttp2-client" },
];

/** Installs the Debian packages of the missing load generators (we run as root on Debian); fails with the reason. */
export function ensureTools(log) {
  const missing = TOOLS.filter((t) => !onPath(t.command));
  if (missing.length === 0) return;
  const pkgs = missing.map((t) => t.pkg);
  if (!onPath("apt-get"))
    throw new Error(`${missing.map((t) => t.command).join(", ")} missing and no apt-get: install ${pkgs.join(" ")}`);
  log(`installing ${pkgs.join(" ")} (apt-get)`);
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", ...pkgs]]) {
    const r = spawnSync("apt-get", args, {
      encoding: "utf8",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (r.status !== 0)
      throw new Error(`apt-get ${args[0]} failed (${r.status}): ${(r.stderr || r.stdout).trim().split("\n").pop()}`);
  }
  const still = TOOLS.filter((t) => !onPath(t.command));
  if (still.length > 0) throw new Error(`still missing after apt-get: ${still.map((t) => t.command).join(", ")}`);
}

export function machineInfo() {
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  return {
    cpus: cpus().length,
    model,
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(" "),
  };
}
