#!/usr/bin/env node
// Whose memory grows under the metadata-mode soak's steady load (docs/reliability.md "Steady load"): the same
// Envoy configuration and traffic (./modes.mjs, ./traffic.mjs) with the filter, with the no-op module built from the
// same ABI layer (build/noop.wasm: `npm run build:noop`), and without a Wasm filter, loaded side by side (at the
// same time, so that they share the machine alike). After every chunk of load it samples each Envoy's
//   - VmRSS, and its file-backed part (Envoy's binary and libraries) from /proc/<pid>/smaps;
//   - tcmalloc (admin /memory): bytes allocated, the page heap's free bytes, the thread caches;
//   - the Wasm linear memories, resident and in all (the size memory.grow has reached): in /proc/<pid>/smaps each
//     is the writable mapping just in front of V8's guard region (a reservation of gigabytes, PROT_NONE);
//   - the downstream connections opened (the 431 answers close theirs).
// A measurement only: answers are not checked (the noop and no-Wasm Envoys do not route as the filter does);
// `npm run soak` checks them.
//
//   node test/soak/memory.mjs [--seconds 600] [--variants filter,noop,none] [--chunk 20]

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { availableEnvoys } from "../../scripts/envoy.mjs";
import { buildWorld, worldEchoPods } from "../real-envoy/differential-modes.mjs";
import { startPods } from "../real-envoy/istiod-pods.mjs";
import { ensureWrk, runLoad } from "./load.mjs";
import { metadataSoakEnvoy } from "./modes.mjs";
import { rssKiB } from "./steady.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The Wasm module of each variant, as metadataSoakEnvoy takes it. */
const VARIANTS = {
  filter: undefined,
  noop: path.join(ROOT, "build/noop.wasm"),
  none: false,
};
const KiB = (bytes) => Math.round(Number(bytes) / 1024);

/** Resident KiB of a process: file-backed, anonymous, and the Wasm linear memories (and how many). */
export function residentParts(pid) {
  const maps = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (head)
      maps.push({ start: BigInt(`0x${head[1]}`), end: BigInt(`0x${head[2]}`), perms: head[3], file: head[4], rss: 0 });
    else if (rss) maps.at(-1).rss = Number(rss[1]);
  }
  const guard = (m, at) => m && m.start === at && m.perms.startsWith("---") && m.end - m.start >= 2n ** 30n;
  const parts = { fileKiB: 0, anonKiB: 0, wasmKiB: 0, wasmSizeKiB: 0, wasmMemories: 0 };
  maps.forEach((m, i) => {
    if (m.file.startsWith("/")) parts.fileKiB += m.rss;
    else parts.anonKiB += m.rss;
    if (m.perms.startsWith("rw") && guard(maps[i + 1], m.end)) {
      parts.wasmKiB += m.rss;
      parts.wasmSizeKiB += Number((m.end - m.start) / 1024n);
      parts.wasmMemories++;
    }
  });
  return parts;
}

/** tcmalloc's view (admin /memory), KiB. */
async function tcmalloc(envoy) {
  const m = JSON.parse((await envoy.admin("/memory")).body);
  return {
    allocatedKiB: KiB(m.allocated),
    pageHeapFreeKiB: KiB(m.pageheap_free),
    threadCachesKiB: KiB(m.total_thread_cache),
  };
}

/** Wasm VMs Envoy has running (one per worker thread and the main thread, per vm_id). */
async function wasmVmsActive(envoy) {
  const { body } = await envoy.admin("/stats?filter=%5Ewasm%5C.envoy%5C.wasm%5C.runtime%5C.v8%5C.active%24");
  return Number(/: (\d+)$/m.exec(body)?.[1] ?? 0);
}

async function connectionsOpened(envoy) {
  const { body } = await envoy.admin("/stats?filter=%5Ehttp%5C..*%5C.downstream_cx_total%24");
  return [...body.matchAll(/^http\.(\S+)\.downstream_cx_total: (\d+)$/gm)]
    .filter(([, prefix]) => prefix !== "admin")
    .reduce((n, [, , v]) => n + Number(v), 0);
}

async function sample(variant, requests, started) {
  const { envoy } = variant.setup.envoys[0];
  return {
    seconds: Math.round((Date.now() - started) / 1000),
    requests,
    connections: await connectionsOpened(envoy),
    rssKiB: rssKiB(envoy.pid),
    ...residentParts(envoy.pid),
    wasmVmsActive: await wasmVmsActive(envoy),
    ...(await tcmalloc(envoy)),
  };
}

/** Loads every variant's listeners at once, chunk by chunk, and samples each Envoy after every chunk. */
export async function memoryProfile({ bin, world, variants, seconds, chunkSeconds, log = () => {} }) {
  const runs = [];
  for (const name of variants)
    runs.push({ name, setup: await metadataSoakEnvoy(bin, world, { wasm: VARIANTS[name] }), requests: 0, samples: [] });
  try {
    const started = Date.now();
    for (let chunk = 0; chunk < 2 || Date.now() - started < seconds * 1000; chunk++) {
      await Promise.all(
        runs.map(async (run) => {
          const targets = run.setup.envoys[0].targets;
          const results = await Promise.all(
            targets.map((t, i) =>
              runLoad({ port: t.port, cases: t.cases, seconds: chunkSeconds, seed: chunk * 1000 + i }),
            ),
          );
          run.requests += results.reduce((n, r) => n + r.requests, 0);
        }),
      );
      for (const run of runs) {
        run.samples.push(await sample(run, run.requests, started));
        log(`${run.name.padEnd(6)} ${JSON.stringify(run.samples.at(-1))}`);
      }
    }
  } finally {
    await Promise.all(runs.map((r) => r.setup.close()));
  }
  return runs.map(({ name, samples }) => ({ name, samples }));
}

const FIELDS = {
  rssKiB: "VmRSS",
  fileKiB: "of it file-backed",
  wasmKiB: "of it Wasm memories",
  wasmSizeKiB: "Wasm memories' size",
  allocatedKiB: "tcmalloc allocated",
  pageHeapFreeKiB: "tcmalloc page heap free",
  threadCachesKiB: "tcmalloc thread caches",
};

/** VmRSS growth per 10^6 requests between two samples, KiB. */
const rssPerMillion = (a, b) => Math.round(((b.rssKiB - a.rssKiB) * 1e6) / (b.requests - a.requests));

/** Each variant after the first chunk (warm-up) -> at the end, KiB; VmRSS growth over all and over the second half. */
function printGrowth(runs) {
  const names = Object.keys(FIELDS);
  console.log(
    `| variant | requests | seconds | connections opened | ${Object.values(FIELDS).join(" | ")} | VmRSS per 10^6 requests, all / second half |`,
  );
  console.log(`|---|---|---|---|${names.map(() => "---").join("|")}|---|`);
  for (const { name, samples } of runs) {
    const [first, mid, last] = [samples[0], samples[Math.floor((samples.length - 1) / 2)], samples.at(-1)];
    const cells = [
      name,
      last.requests - first.requests,
      last.seconds - first.seconds,
      last.connections - first.connections,
      ...names.map((f) => `${first[f]} → ${last[f]}`),
      `${rssPerMillion(first, last)} / ${rssPerMillion(mid, last)} KiB`,
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "600" },
      variants: { type: "string", default: "filter,noop,none" },
      chunk: { type: "string", default: "20" },
    },
  });
  const variants = values.variants.split(",");
  const unknown = variants.filter((v) => !(v in VARIANTS));
  const wrk = ensureWrk();
  const { envoys, unavailable } = availableEnvoys();
  const missing = variants.map((v) => VARIANTS[v]).find((wasm) => wasm && !existsSync(wasm));
  const why = unknown.length
    ? `unknown variant ${unknown.join(", ")} (filter, noop, none)`
    : missing
      ? `${path.relative(ROOT, missing)} is missing: npm run build:noop`
      : (wrk.unavailable ?? unavailable);
  if (why) {
    console.error(`memory: cannot run: ${why}`);
    process.exit(2);
  }
  const pods = await startPods(worldEchoPods(), { record: false });
  try {
    const runs = await memoryProfile({
      bin: envoys[0].bin,
      world: buildWorld(pods.port),
      variants,
      seconds: Number(values.seconds),
      chunkSeconds: Number(values.chunk),
      log: console.log,
    });
    console.log(
      `\nEnvoy ${envoys[0].version}, metadata mode, the soak's steady load; KiB after the first chunk → at the end`,
    );
    printGrowth(runs);
  } finally {
    await pods.close();
  }
}
