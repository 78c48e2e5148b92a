// Reconfiguration under load, metadata mode: the listener comes from a watched file (LDS, path_config_source) and
// is replaced while wrk runs, cycling A, malformed, B, malformed, A, ... Configurations A and B are the seed's
// step 2 rendered by the envoy target, B changed so that most requests go elsewhere: x-version defaults to v2
// instead of v3, and a missing subset falls back to ANY_ENDPOINT instead of NO_FALLBACK. Every request of the seed's
// step 2 (and the hostile ones) carries both expected answers; a response must match one of them in full (the
// decision header and the pod reached, or the designed 503), never a mixture. The malformed ones are cases of
// test/fixtures/bad-configs.json as the plugin configuration of A.
//
// Envoy (1.36.2 and 1.40.0) runs proxy_on_configure once per distinct plugin configuration: a malformed one written
// again is rejected again (listener_manager.lds.update_rejected counts it) without calling the filter, so
// dynamic_subset_config_rejected_total and the filter's error lines count distinct malformed configurations.
//
// Envoy runs with --drain-time-s 1 --drain-strategy immediate: after an accepted update, a connection accepted by
// the previous filter chain is answered with `connection: close` on its next response (immediate strategy) and
// closed after at most 1 s; the next request then comes on a connection of the new filter chain. Envoy's defaults
// (600 s, gradual) would keep a kept-alive connection on the old configuration for up to ten minutes.
//
//   reconfigureUnderLoad({ bin, world, seconds, swapMs, fastSwaps, log }) -> figures
//     phase 1: a swap every swapMs while wrk runs `seconds`;
//     phase 2: `fastSwaps` swaps as fast as Envoy applies them (each waits until Envoy counted it, accepted or
//     rejected), under load; VmRSS after the first tenth of them and at the end, old filter chains drained.

import { readFileSync } from "node:fs";
import { parseAsm } from "../../dist/asm/index.js";
import { renderEnvoy } from "../../dist/render/envoy.js";
import { freePort, startEnvoy } from "../../envoy/local-envoy.mjs";
import { stepFiles } from "../../examples/helloworld/walkthrough.mjs";
import { emulatedMetadata, envoyParts } from "../real-envoy/differential-modes.mjs";
import { wasmFailures } from "../real-envoy/metadata-envoy.mjs";
import { configurationOf, wasmConfigOf, WatchedListenerFile } from "../real-envoy/watched-listener.mjs";
import { runLoad } from "./load.mjs";
import { filterCounters, rssKiB } from "./steady.mjs";
import { casesOf } from "./traffic.mjs";

export const DRAIN_ARGS = ["--drain-time-s", "1", "--drain-strategy", "immediate"];
/** One case of several classes of problem (test/fixtures/bad-configs.json). */
const MALFORMED = [
  "json: trailing comma in object",
  "json: invalid UTF-8 in a string",
  "root is a list",
  "unknown service field",
  "bad selector fallbackPolicy",
  "defaultValue not a label value",
  "duplicate cluster",
  "several problems at once",
];
const LISTENER = "soak";

function configurations() {
  const [drFile, vsFile] = stepFiles("step2");
  const dr = readFileSync(drFile, "utf8");
  const vs = readFileSync(vsFile, "utf8");
  const input = (name, drText, vsText) =>
    parseAsm([
      { file: `${name}/step2-dr.yaml`, text: drText },
      { file: `${name}/step2-vs.yaml`, text: vsText },
    ]);
  return [
    { name: "A", input: input("A", dr, vs) },
    {
      name: "B",
      input: input(
        "B",
        `${dr}        fallbackPolicy: ANY_ENDPOINT\n`,
        vs.replace("defaultValue: v3", "defaultValue: v2"),
      ),
    },
  ];
}

const statValue = (text, name) =>
  Number(new RegExp(`^${name.replaceAll(".", "\\.")}: (\\d+)$`, "m").exec(text)?.[1] ?? 0);

async function envoyStats(envoy) {
  const { body } = await envoy.admin("/stats?filter=listener_manager");
  return {
    accepted: statValue(body, "listener_manager.lds.update_success"),
    rejected: statValue(body, "listener_manager.lds.update_rejected"),
    draining: statValue(body, "listener_manager.total_filter_chains_draining"),
  };
}

async function waitFor(what, check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The listener versions in swap order: A, malformed, B, malformed, ... */
function swapCycle(listeners, malformed) {
  const cycle = [];
  malformed.forEach((bad, i) => cycle.push(i % 2 === 0 ? listeners.B : listeners.A, bad));
  return cycle;
}

export async function reconfigureUnderLoad({ bin, world, seconds, swapMs = 500, fastSwaps, log = () => {} }) {
  const variants = configurations();
  const options = { endpoints: world.endpoints, responseHeader: true };
  const [bootstrap] = renderEnvoy(variants, { ...options, output: "bootstrap" }).documents.map((d) => d.value);
  const parts = envoyParts(variants, options);
  const emulators = await Promise.all(variants.map((v) => emulatedMetadata(parts.get(v.name))));
  const cases = casesOf("seed-step2", "metadata", world, emulators);

  const port = await freePort();
  const listeners = {};
  for (const l of bootstrap.static_resources.listeners) {
    l.name = LISTENER;
    l.address.socket_address.port_value = port;
    listeners[l.filter_chains[0].filters[0].typed_config.route_config.name] = l;
  }
  const badCases = JSON.parse(readFileSync(new URL("../fixtures/bad-configs.json", import.meta.url), "utf8")).cases;
  const malformed = MALFORMED.map((name) => {
    const listener = structuredClone(listeners.A);
    wasmConfigOf(listener).configuration = configurationOf(badCases.find((c) => c.name === name));
    return Object.assign(listener, { malformed: name });
  });
  const watched = new WatchedListenerFile(listeners.A);
  bootstrap.static_resources.listeners = [];
  bootstrap.dynamic_resources = watched.dynamicResources;
  const envoy = await startEnvoy(bin, bootstrap, { args: DRAIN_ARGS });
  let exited = false;
  envoy.exited.then(() => (exited = true));
  const cycle = swapCycle(listeners, malformed);
  const writes = { good: 0, bad: 0, distinctBad: new Set() };
  const write = (i) => {
    const { malformed: bad, ...listener } = cycle[i % cycle.length];
    watched.write(listener);
    writes[bad ? "bad" : "good"]++;
    if (bad) writes.distinctBad.add(bad);
  };
  try {
    await waitFor("the first listener", async () => (await envoyStats(envoy)).accepted === 1);
    const before = { counters: await filterCounters(envoy), stats: await envoyStats(envoy) };

    log(`reconfiguration: a swap every ${swapMs} ms under load for ${seconds} s`);
    const load = runLoad({ port, cases, seconds, threads: 2 });
    const started = Date.now();
    for (let i = 0; Date.now() - started < seconds * 1000; i++) {
      write(i);
      await sleep(swapMs);
    }
    const slow = await load;
    const slowWrites = { good: writes.good, bad: writes.bad };
    await waitFor("every swap counted", async () => {
      const s = await envoyStats(envoy);
      return s.accepted - before.stats.accepted + s.rejected - before.stats.rejected === writes.good + writes.bad;
    });
    const afterSlow = { counters: await filterCounters(envoy), stats: await envoyStats(envoy) };

    log(`reconfiguration: ${fastSwaps} swaps as fast as Envoy applies them, under load`);
    const rss = {};
    const fast = [];
    let swapped = 0;
    while (swapped < fastSwaps) {
      const chunk = runLoad({ port, cases, seconds: 5, threads: 2, seed: swapped + 7 });
      const chunkStart = Date.now();
      while (Date.now() - chunkStart < 5000 && swapped < fastSwaps) {
        const s = await envoyStats(envoy);
        write(swapped);
        await waitFor("the swap counted", async () => {
          const t = await envoyStats(envoy);
          return t.accepted + t.rejected > s.accepted + s.rejected;
        });
        swapped++;
        if (swapped === Math.round(fastSwaps / 10)) rss.warm = await drainedRss(envoy);
      }
      fast.push(await chunk);
    }
    rss.end = await drainedRss(envoy);
    const after = { counters: await filterCounters(envoy), stats: await envoyStats(envoy) };
    return {
      slow: { load: slow, writes: slowWrites, before, after: afterSlow },
      fast: { loads: fast, swaps: swapped, rss, after },
      writes,
      cases,
      wasm: await wasmFailures(envoy),
      running: !exited,
    };
  } finally {
    await envoy.close();
    watched.remove();
  }
}

/** VmRSS once no filter chain is draining any more (old configurations gone). */
async function drainedRss(envoy) {
  await waitFor("old filter chains drained", async () => (await envoyStats(envoy)).draining === 0, 15_000);
  return rssKiB(envoy.pid);
}
