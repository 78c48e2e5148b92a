// Steady mixed load on real Envoy, in one mode: every target (a listener in metadata mode, a sidecar in catalog
// mode) gets its own wrk connection(s) with its cases (./traffic.mjs), in chunks until the time and request count
// are reached. What it measures, for ./soak.mjs to assert and print:
//   - every answer against its case (check.lua): good, bad, lost (sent, never answered), by kind;
//   - the filter's counters before and after, per Envoy, against what the answered cases predict;
//   - each Envoy's VmRSS after the first chunk (warm-up) and after every later chunk;
//   - each Envoy's Wasm health: wasm.* stats (VMs created, active, vm_reload*) before and after, the log lines of
//     failed Wasm calls, and whether the process is still running.
//
//   steadyLoad({ envoys: [{ name, envoy, running(), targets: [{ name, port, cases }] }], seconds, minRequests,
//                chunkSeconds, threads, log }) -> Figures (see the bottom of this file)

import { readFileSync } from "node:fs";
import { wasmFailures } from "../real-envoy/metadata-envoy.mjs";
import { runLoad } from "./load.mjs";

/** Resident memory of a process, KiB (/proc/<pid>/status VmRSS). */
export function rssKiB(pid) {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]);
}

/** The filter's counters (wasmcustom.*), names without the prefix. */
export async function filterCounters(envoy) {
  const { body } = await envoy.admin("/stats?filter=%5Ewasmcustom%5C.");
  return new Map([...body.matchAll(/^wasmcustom\.(\S+): (\d+)$/gm)].map(([, name, value]) => [name, Number(value)]));
}

/** Envoy's own Wasm stats (VMs created and active, reloads): wasm.* without the filter's counters. */
export async function wasmStats(envoy) {
  const { body } = await envoy.admin("/stats?filter=%5Ewasm%5C.");
  return Object.fromEntries(
    [...body.matchAll(/^(wasm\.\S+): (\d+)$/gm)].map(([, name, value]) => [name, Number(value)]),
  );
}

/** What each answered case adds to the counters, summed. */
function expectedCounters(targets, totals) {
  const out = new Map();
  targets.forEach((t, ti) =>
    t.cases.forEach((c, ci) => {
      const answered = totals[ti].answered[ci];
      for (const [name, delta] of Object.entries(c.alts[0].counters))
        out.set(name, (out.get(name) ?? 0) + delta * answered);
    }),
  );
  return out;
}

function counterDeltas(before, after) {
  const out = new Map();
  for (const [name, value] of after)
    if (value - (before.get(name) ?? 0) !== 0) out.set(name, value - (before.get(name) ?? 0));
  return out;
}

const emptyTotals = (target) => ({
  answered: new Array(target.cases.length).fill(0),
  bad: new Array(target.cases.length).fill(0),
  samples: [],
});

function addChunk(totals, result, target, kinds, errors) {
  result.matched.forEach((alts, i) => (totals.answered[i] += alts.reduce((a, b) => a + b, 0) + result.bad[i]));
  result.bad.forEach((n, i) => (totals.bad[i] += n));
  totals.samples.push(...result.samples.map((s) => `${target.name}: case ${s}`));
  for (const [kind, n] of result.kinds) kinds.set(kind, (kinds.get(kind) ?? 0) + n);
  for (const k of ["lost", "unsolicited"]) errors[k] += result[k];
  for (const [k, v] of Object.entries(result.errors)) errors[k] += v;
}

export async function steadyLoad({ envoys, seconds, minRequests = 0, chunkSeconds, threads = 1, log = () => {} }) {
  const targets = envoys.flatMap((e) => e.targets);
  const totals = targets.map(emptyTotals);
  const kinds = new Map();
  const errors = { lost: 0, unsolicited: 0, connect: 0, read: 0, write: 0, timeout: 0 };
  const before = await Promise.all(
    envoys.map(async (e) => ({ counters: await filterCounters(e.envoy), wasm: await wasmStats(e.envoy) })),
  );
  const rss = envoys.map(() => []);
  let requests = 0;
  let elapsed = 0;
  const started = Date.now();
  for (let chunk = 0; chunk < 2 || elapsed < seconds || requests < minRequests; chunk++) {
    const results = await Promise.all(
      targets.map((t, i) =>
        runLoad({ port: t.port, cases: t.cases, seconds: chunkSeconds, threads, seed: chunk * 1000 + i }),
      ),
    );
    results.forEach((r, i) => {
      addChunk(totals[i], r, targets[i], kinds, errors);
      requests += r.requests;
    });
    envoys.forEach((e, i) => rss[i].push(rssKiB(e.envoy.pid)));
    elapsed = (Date.now() - started) / 1000;
    log(
      `  ${requests} requests in ${elapsed.toFixed(0)} s; VmRSS ${envoys.map((_, i) => rss[i].at(-1)).join(", ")} KiB`,
    );
  }
  const perEnvoy = await Promise.all(
    envoys.map(async (e, i) => {
      const own = e.targets.map((t) => targets.indexOf(t));
      return {
        name: e.name,
        counters: {
          expected: expectedCounters(
            e.targets,
            own.map((j) => totals[j]),
          ),
          actual: counterDeltas(before[i].counters, await filterCounters(e.envoy)),
        },
        wasm: {
          before: before[i].wasm,
          after: await wasmStats(e.envoy),
          failedCalls: (await wasmFailures(e.envoy)).failedCalls,
        },
        rss: { warm: rss[i][0], end: rss[i].at(-1), max: Math.max(...rss[i].slice(1)), samples: rss[i] },
        running: e.running(),
      };
    }),
  );
  const bad = totals.reduce((n, t) => n + t.bad.reduce((a, b) => a + b, 0), 0);
  return {
    requests,
    seconds: (Date.now() - started) / 1000,
    bad,
    samples: totals.flatMap((t) => t.samples),
    kinds,
    errors,
    envoys: perEnvoy,
  };
}
