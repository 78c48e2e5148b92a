#!/usr/bin/env node
// The seed's walkthrough (ASM "dynamic subset routing", steps 2-4), replayed request by request.
// Against real Envoy (the newest pinned version, installed by scripts/envoy.mjs if missing; ENVOY_BIN overrides)
// running envoy/envoy.yaml in front of echo backends on 127.0.0.x. Where Envoy cannot be had: the compiled filter in the proxy-wasm emulator, with Envoy's
// header_to_metadata and subset load balancer played by the models in emulator/models, on the seed's own pod IPs.
// Run it with `npm run demo` (which builds first).

import { startLocalExample } from "../envoy/local-envoy.mjs";
import { installEnvoys } from "./envoy.mjs";
import { MetadataModeEnvoy } from "../envoy/emulated-envoy.mjs";
import {
  NO_HEALTHY_UPSTREAM,
  SEED_ENDPOINTS,
  WALKTHROUGH,
  curl,
  localIp,
  stepFiles,
  welcome,
} from "../examples/helloworld/walkthrough.mjs";

/** Emulated Envoy: a request's answer is one of the pods it can reach, taken in turn (round robin). */
async function emulatedProxy(whyNoEnvoy) {
  const proxies = new Map();
  const turns = new Map();
  return {
    where: `the proxy-wasm emulator + Envoy models, because no real Envoy could be had (${whyNoEnvoy}; ENVOY_BIN=/path/to/envoy uses one)`,
    ip: (ip) => ip,
    async request(variant, headers) {
      if (!proxies.has(variant))
        proxies.set(variant, await MetadataModeEnvoy.fromFiles(stepFiles(variant), SEED_ENDPOINTS));
      const got = proxies.get(variant).request(Object.entries(headers));
      if (got.status !== 200) return { body: got.body, decision: got.decision };
      const turn = turns.get(variant) ?? 0;
      turns.set(variant, turn + 1);
      return { body: welcome(got.hosts[turn % got.hosts.length]), decision: got.decision, reachable: got.hosts };
    },
    close: async () => {},
  };
}

async function realProxy(envoy) {
  const example = await startLocalExample(envoy.bin);
  return {
    where: `real Envoy ${envoy.version} with envoy/envoy.yaml; 127.0.0.x stands in for the pods' 192.168.0.x`,
    ip: localIp,
    request: async (variant, headers) =>
      example.request(variant, Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, localIp(v)]))),
    close: example.close,
  };
}

// The newest pinned Envoy (installed now if missing, progress on stderr); the emulator only where none can be had.
const installed = installEnvoys({ log: (line) => console.error(line) });
const [envoy] = installed.envoys;
const proxy = envoy ? await realProxy(envoy) : await emulatedProxy(installed.unavailable);
let mismatches = 0;
try {
  console.log(`dynamic-subset: the seed's walkthrough through ${proxy.where}\n`);
  for (const { variant, title, requests } of WALKTHROUGH) {
    console.log(`## ${title}`);
    for (const { headers, reach, printed, note } of requests) {
      const got = await proxy.request(variant, headers);
      const expected =
        reach === NO_HEALTHY_UPSTREAM
          ? [NO_HEALTHY_UPSTREAM]
          : reach.map((ip) => welcome(ip).replace(ip, proxy.ip(ip)));
      const ok = expected.includes(got.body);
      if (!ok) mismatches++;
      console.log(`$ ${curl(Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, proxy.ip(v)])))}`);
      console.log(got.body);
      console.log(
        `  decision: ${got.decision ?? "-"}${got.reachable && got.reachable.length > 1 ? `; any of ${got.reachable.join(", ")} may answer` : ""}`,
      );
      if (note) console.log(`  note: ${note} (the seed prints: ${printed})`);
      if (!ok) console.log(`  UNEXPECTED: the configuration allows only: ${expected.join(" | ")}`);
    }
    console.log("");
  }
} finally {
  await proxy.close();
}
if (mismatches > 0) {
  console.error(`${mismatches} answer(s) differ from what the configuration allows`);
  process.exitCode = 1;
}
