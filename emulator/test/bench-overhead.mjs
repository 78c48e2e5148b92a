// Emulator overhead per full stream with a no-op module (not a test): node emulator/test/bench-overhead.mjs
// newStream + requestHeaders(7 headers) + responseHeaders + complete; median of 7 runs after warm-up.
import { performance } from "node:perf_hooks";
import { ProxyWasmHost } from "../index.mjs";
import { compileFixture } from "./fixtures/build.mjs";

const N = Number(process.env.N ?? 200_000);
const RUNS = Number(process.env.RUNS ?? 7);
const REQUEST = [
  [":method", "GET"],
  [":path", "/hello"],
  [":authority", "helloworld"],
  [":scheme", "http"],
  ["user-agent", "curl/8.0"],
  ["x-stage", "dev"],
  ["x-version", "v1"],
];
const RESPONSE = [
  [":status", "200"],
  ["content-type", "text/plain"],
];
const PROPERTIES = { "xds.route_name": "default", "xds.cluster_name": "helloworld" };

const host = await ProxyWasmHost.load(await compileFixture("noop.ts"), { rootId: "noop" });
if (!host.start()) throw new Error(host.startError);

function runOnce(n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = host.newStream({ properties: PROPERTIES });
    s.requestHeaders(REQUEST);
    s.responseHeaders(RESPONSE);
    s.complete();
  }
  return ((performance.now() - t0) * 1e6) / n;
}

runOnce(N); // warm-up
const samples = Array.from({ length: RUNS }, () => runOnce(N)).sort((a, b) => a - b);
const median = samples[RUNS >> 1];
console.log(
  `emulator overhead, no-op module: ${median.toFixed(0)} ns per full stream (median of ${RUNS} x ${N}; ` +
    `min ${samples[0].toFixed(0)}, max ${samples[RUNS - 1].toFixed(0)}); memory pages ${host.memoryPages()}`,
);
