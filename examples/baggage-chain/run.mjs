#!/usr/bin/env node
// A lane through two services with W3C baggage (README.md "Key sources", examples/baggage-chain/README.md):
// starts the chain of ./chain.mjs on loopback with the newest pinned Envoy (installed by scripts/envoy.mjs when
// missing; ENVOY_BIN overrides), sends a few requests to front and prints the pod each hop reached. Exits 1 when a
// hop lands anywhere else than the stage the request asked for. Needs `npm run build` first.
//
//   node examples/baggage-chain/run.mjs

import { existsSync } from "node:fs";
import { installEnvoys } from "../../scripts/envoy.mjs";
import { startChain } from "./chain.mjs";

/** What the client sends at the edge, and the stage every hop must reach. */
const REQUESTS = [
  { baggage: "stage=dev", stage: "dev", why: "set once at the edge, forwarded by front" },
  { baggage: undefined, stage: "prod", why: "no baggage: the default, prod, at every hop" },
  { baggage: "userId=alice,stage=dev;ttl=60", stage: "dev", why: "other members and properties are fine" },
  { baggage: "stage=qa", stage: "prod", why: "no qa pods: DEFAULT_SUBSET falls back to prod" },
];

for (const file of ["build/dynamic_subset.wasm", "dist/cli/main.js"])
  if (!existsSync(new URL(`../../${file}`, import.meta.url))) {
    console.error(`run.mjs: ${file} is missing: run npm run build first`);
    process.exit(1);
  }
const installed = installEnvoys({ log: (line) => console.error(line) });
const [envoy] = installed.envoys;
if (!envoy) {
  console.error(`run.mjs: no Envoy (${installed.unavailable}); ENVOY_BIN=/path/to/envoy uses one`);
  process.exit(1);
}

const chain = await startChain(envoy.bin);
let unexpected = 0;
try {
  console.log(`dynamic-subset: a lane through two services with W3C baggage, real Envoy ${envoy.version}\n`);
  for (const e of chain.envoys)
    console.log(`${e.name} (routes to ${e.routesTo}) on 127.0.0.1:${e.port}, rendered by:\n  ${e.command}`);
  console.log("front copies the incoming baggage header onto its call to helloworld, as OpenTelemetry SDKs do.\n");
  const edge = chain.envoys[0].port;
  for (const { baggage, stage, why } of REQUESTS) {
    const headers = baggage === undefined ? {} : { baggage };
    const { hops, forwarded } = await chain.request(headers);
    const sent = baggage === undefined ? "" : ` -H 'baggage: ${baggage}'`;
    console.log(`$ curl -H 'Host: front'${sent} 127.0.0.1:${edge}/    # ${why}`);
    for (const [i, h] of hops.entries()) {
      const ok = h.stage === stage;
      if (!ok) unexpected++;
      const note = i > 0 ? `  (front forwarded ${forwarded === null ? "no baggage" : `baggage: ${forwarded}`})` : "";
      console.log(
        `  hop ${i + 1}: ${h.envoy.padEnd(15)} decision ${h.decision} -> ${h.pod} (${h.ip})${note}${ok ? "" : `  UNEXPECTED: not ${stage}`}`,
      );
    }
  }
} finally {
  await chain.close();
}
process.exitCode = unexpected > 0 ? 1 : 0;
