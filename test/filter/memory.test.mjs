// docs/performance.md "The bars" (no per-request memory growth): the release build uses the minimal runtime, which
// only frees garbage when the filter collects (assembly/abi/gc.ts: at the end of on_configure, and at the
// end of a stream's on_delete once enough garbage piled up). These runs would grow memory by megabytes
// per thousand requests if a collection were missed, and would trap if one freed something in use.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { largeConfig } from "../../bench/scenarios.mjs";
import { decisionOf, PREFIX, seedConfig, send, startFilter, SUBSET_HEADER } from "./fixtures.mjs";

const DEV_V1 = [
  ["x-stage", "dev"],
  ["x-version", "v1"],
];

/** `n` full streams (request, response, log, done, delete); `request(i)` gives send()'s options. */
function run(host, n, request) {
  for (let i = 0; i < n; i++) {
    const s = send(host, request(i));
    s.responseHeaders([[":status", "200"]]);
    s.complete();
  }
}

describe("linear memory (minimal runtime, explicit collection)", () => {
  it("stays flat across 200,000 seed requests after warm-up", async () => {
    const host = await startFilter(seedConfig("metadata", { responseHeader: true }));
    const request = (i) => (i % 2 ? { headers: DEV_V1 } : { route: "pin", headers: [["x-ip", "192.168.0.6"]] });
    run(host, 20_000, request);
    const warm = host.memoryPages();
    run(host, 200_000, request);
    assert.equal(host.memoryPages(), warm, `memory ${warm} -> ${host.memoryPages()} pages`);
    assert.equal(decisionOf(send(host, { headers: DEV_V1 })), "subset:stage=dev,version=v1");
    assert.equal(host.failed, false);
  });

  it("stays flat with a 1,000-service configuration, and reconfiguring it does not ratchet memory up", async () => {
    const config = largeConfig();
    const host = await startFilter(config);
    const request = (i) => ({
      cluster: `outbound|8000||svc-${i % 1000}.default.svc.cluster.local`,
      route: `route-${i % 10}`,
      headers: DEV_V1,
    });
    run(host, 20_000, request);
    assert.equal(host.configure(JSON.stringify(config)), true);
    run(host, 20_000, request);
    const warm = host.memoryPages();
    for (let round = 0; round < 3; round++) {
      assert.equal(host.configure(JSON.stringify(config)), true);
      run(host, 20_000, request);
    }
    assert.equal(host.memoryPages(), warm, `memory ${warm} -> ${host.memoryPages()} pages`);
    const s = send(host, request(7));
    assert.equal(decisionOf(s), "subset:stage=dev,version=v1");
    assert.equal(host.failed, false);
  });

  it("stays bounded under hostile requests (64 KiB values, spoofed internal headers)", async () => {
    const host = await startFilter(seedConfig("catalog", { responseHeader: true }));
    const huge = "v".repeat(64 * 1024);
    const hostile = [
      ["x-stage", huge],
      ["x-version", huge],
      ["x-ip", huge],
      ...Array.from({ length: 20 }, () => [SUBSET_HEADER, "x"]),
    ];
    const request = (i) =>
      i % 3 === 0 ? { headers: DEV_V1 } : { route: i % 3 === 1 ? "default" : "pin", headers: hostile };
    run(host, 1_000, request);
    const warm = host.memoryPages();
    run(host, 6_000, request); // ~500 MB of header copies handed to the guest
    assert.equal(host.memoryPages(), warm, `memory ${warm} -> ${host.memoryPages()} pages`);
    assert.ok(warm < 64, `${warm} pages: garbage is collected at most every few MiB`);
    const s = send(host, { headers: [...DEV_V1, [`${PREFIX}subset`, "spoofed"]] });
    assert.equal(decisionOf(s), "subset:stage=dev,version=v1");
    assert.equal(host.failed, false);
  });
});
