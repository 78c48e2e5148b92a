// docs/behaviour.md, "Security", through the compiled filter: internal headers a client sends never survive
// (configured and unconfigured clusters, any case, duplicates), and hostile header values (64 KiB, binary,
// invalid UTF-8, many duplicates) neither trap the VM, nor reach a header or a log line, nor grow memory per
// request.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  decisionOf,
  internalHeaders,
  outcomeCounts,
  PREFIX,
  ROUTE_TOKEN,
  send,
  SESSION_HEADER,
  seedConfig,
  startFilter,
  SUBSET_HEADER,
} from "./fixtures.mjs";

/** Every internal header the seed configuration can produce, spelled as a client might, twice. */
const SPOOFED = [
  ["X-Dynamic-Subset-Stage", "dev"],
  ["x-dynamic-subset-stage", "dev"],
  ["x-dynamic-subset-VERSION", "v1"],
  ["x-dynamic-subset-%25ip%25", "192.168.0.5"],
  ["X-DYNAMIC-SUBSET-%25IP%25", "192.168.0.5"],
  ["x-dynamic-subset-subset", `dev-v1.${ROUTE_TOKEN}`],
  ["x-dynamic-subset-Subset", "dev-v1"],
  ["x-dynamic-subset-host", Buffer.from("192.168.0.5:8000").toString("base64")],
  ["X-Dynamic-Subset-Host", "x"],
];

for (const mode of ["metadata", "catalog"]) {
  describe(`spoofed internal headers, ${mode} mode`, () => {
    it("removes them on a configured cluster and writes only the filter's own values", async () => {
      const host = await startFilter(seedConfig(mode));
      const s = send(host, { headers: [...SPOOFED, ["x-stage", "prod"], ["x-version", "v2"]] });
      const expected =
        mode === "metadata"
          ? [
              [`${PREFIX}stage`, "prod"],
              [`${PREFIX}version`, "v2"],
            ]
          : [[SUBSET_HEADER, `prod-v2.${ROUTE_TOKEN}`]];
      assert.deepEqual(internalHeaders(s), expected);
      assert.equal(decisionOf(s), "subset:stage=prod,version=v2");
    });

    it("removes them when the filter writes nothing (no selector, or a 503)", async () => {
      const host = await startFilter(seedConfig(mode));
      const s = send(host, { route: "pin", headers: SPOOFED });
      assert.deepEqual(internalHeaders(s), []);
      const unknownRoute = send(host, { route: "elsewhere", headers: SPOOFED });
      assert.deepEqual(internalHeaders(unknownRoute), []);
    });

    it("removes them on clusters no service matches, without filter state or counters", async () => {
      const host = await startFilter(seedConfig(mode));
      for (const cluster of ["other", "outbound|8000||other.default.svc.cluster.local", null]) {
        const s = send(host, { cluster, headers: [...SPOOFED, ["x-other", "kept"]] });
        assert.deepEqual(internalHeaders(s), [], `cluster ${cluster}`);
        assert.deepEqual(s.requestHeaderMap, [["x-other", "kept"]]);
        assert.equal(decisionOf(s), undefined);
      }
      assert.equal(host.counter("dynamic_subset_requests_total") ?? 0n, 0n);
      assert.deepEqual(outcomeCounts(host), {});
    });
  });
}

describe("internal headers of the configuration", () => {
  it("strips a custom prefix and session header, and the default ones with an empty configuration", async () => {
    const config = seedConfig("catalog", { headerPrefix: "x-ds-" });
    config.services[0].catalog.sessionHeader = "x-pin-host";
    const host = await startFilter(config);
    const s = send(host, {
      route: "pin",
      headers: [
        ["x-ds-stage", "a"],
        ["x-ds-subset", "b"],
        ["x-pin-host", "c"],
        ["x-ds-host", "d"],
      ],
    });
    assert.deepEqual(s.requestHeaderMap, []);

    const empty = await startFilter("");
    const e = send(empty, {
      headers: [
        [SUBSET_HEADER, "a"],
        [SESSION_HEADER, "b"],
        ["x-stage", "dev"],
      ],
    });
    assert.deepEqual(e.requestHeaderMap, [["x-stage", "dev"]]);
    assert.equal(decisionOf(e), undefined);
  });
});

describe("hostile header values", () => {
  const huge = "v".repeat(64 * 1024);
  const binary = Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x80, 0x7f]);
  const invalidUtf8 = Buffer.from([0x64, 0x65, 0x76, 0xc3, 0x28, 0xa0, 0xa1]);

  for (const mode of ["metadata", "catalog"]) {
    it(`never traps, copies or logs them (${mode} mode)`, async () => {
      const host = await startFilter(seedConfig(mode), { logLevel: "trace" });
      const cases = [
        [
          ["x-stage", huge],
          ["x-version", "v1"],
        ],
        [
          ["x-stage", binary],
          ["x-version", invalidUtf8],
        ],
        Array.from({ length: 1000 }, (_, i) => ["x-stage", i === 0 ? "dev" : `v${i}`]).concat([["x-version", "v1"]]),
        Array.from({ length: 200 }, () => [`${PREFIX}stage`, huge]),
      ];
      for (const headers of cases) {
        const s = send(host, { headers });
        assert.equal(host.failed, false, host.failure);
        for (const [, value] of internalHeaders(s))
          assert.ok(value.length <= 64, "no request value is copied beyond a label value");
        s.responseHeaders([[":status", "200"]]);
        s.complete();
      }
      const pin = send(host, { route: "pin", headers: [["x-ip", huge]] });
      assert.equal(decisionOf(pin), mode === "metadata" ? "subset:%ip%=~invalid~" : "fallback:NO_FALLBACK");
      assert.equal(host.failed, false);
      const logged = host.logs.map((l) => l.message).join("\n");
      assert.ok(!logged.includes("vvvvvvvv"), "the huge value is never logged");
      assert.ok(!logged.includes("\u00ff"), "binary bytes are never logged");
      assert.ok(
        host.logsAt("debug").some((l) => l.startsWith("decision ")),
        "debug lines are written when the level asks",
      );
      assert.equal(host.logsAt("debug").at(-1), `decision ${decisionOf(pin)} (unmatchable)`);
    });
  }

  it("counts the first value of duplicates and rejects values over 8 KiB as unmatchable", async () => {
    const host = await startFilter(seedConfig("metadata"));
    const first = send(host, {
      headers: [
        ["x-stage", "dev"],
        ["x-stage", "prod"],
        ["x-version", "v1"],
      ],
    });
    assert.equal(decisionOf(first), "subset:stage=dev,version=v1");
    const big = send(host, {
      headers: [
        ["x-stage", "d".repeat(8193)],
        ["x-version", "v1"],
      ],
    });
    assert.equal(decisionOf(big), "subset:stage=~invalid~,version=v1");
    assert.deepEqual(outcomeCounts(host), { subset: 1, unmatchable: 1 });
  });

  it("keeps linear memory flat across many hostile requests", async () => {
    const host = await startFilter(seedConfig("catalog", { responseHeader: true }));
    const hostile = [
      ["x-stage", "v".repeat(16 * 1024)],
      ["x-version", "v1"],
      ...Array.from({ length: 20 }, () => [SUBSET_HEADER, "x"]),
    ];
    const run = (n) => {
      for (let i = 0; i < n; i++) {
        const s = send(host, {
          headers:
            i % 2
              ? hostile
              : [
                  ["x-stage", "dev"],
                  ["x-version", "v1"],
                ],
        });
        s.responseHeaders([[":status", "200"]]);
        s.complete();
      }
    };
    run(2000);
    const warm = host.memoryPages();
    run(20000);
    assert.equal(host.memoryPages(), warm);
    assert.equal(host.failed, false);
  });
});
