// Plugin configuration handling of the compiled filter: a rejected configuration changes nothing (old tables
// stay in force, one error line per problem, a counter), a good one replaces the old one whole, and several
// plugin configurations in one VM keep separate state.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProxyWasmHost } from "../../emulator/index.mjs";
import {
  decisionOf,
  filterLogs,
  internalHeaders,
  PREFIX,
  ROUTE_TOKEN,
  send,
  seedConfig,
  startFilter,
  SUBSET_HEADER,
  wasmBytes,
} from "./fixtures.mjs";

const DEV_V1 = [
  ["x-stage", "dev"],
  ["x-version", "v1"],
];
const REJECTED = "dynamic_subset_config_rejected_total";

describe("configuration", () => {
  it("logs one info line summarising a good configuration", async () => {
    const host = await startFilter(seedConfig("catalog"));
    assert.deepEqual(host.logsAt("info"), [
      "configured: mode=catalog services=1 routes=2 selectors=2 internal_headers=5",
    ]);
    assert.deepEqual(host.logsAt("error"), []);
  });

  it("refuses to start on a bad configuration, one error line per problem", async () => {
    const config = seedConfig("metadata");
    config.services[0].dynamicSubset.subsetSelectors[0].keys = [];
    config.services[0].routes[0].headerToDynamicSubsetKey[0].header = "bad header";
    const host = await ProxyWasmHost.load(wasmBytes, { pluginConfig: JSON.stringify(config) });
    assert.equal(host.start(), false);
    const errors = filterLogs(host, "error");
    assert.equal(errors.length, 2, errors.join("\n"));
    assert.ok(errors.some((l) => l.includes("services[0].dynamicSubset.subsetSelectors[0].keys")));
    assert.ok(errors.some((l) => l.includes("services[0].routes[0].headerToDynamicSubsetKey[0].header")));
    assert.equal(host.counter(REJECTED), 1n);
    assert.equal(host.failed, false, "a rejected configuration is an answer, not a trap");
  });

  it("keeps the previous tables after a rejected reconfiguration, then takes a good one whole", async () => {
    const host = await startFilter(seedConfig("metadata"));
    assert.equal(decisionOf(send(host, { headers: DEV_V1 })), "subset:stage=dev,version=v1");

    for (const bad of [
      '{"mode": "catalog"',
      '{"mode": "bogus"}',
      JSON.stringify({ ...seedConfig("catalog"), extra: 1 }),
    ]) {
      assert.equal(host.configure(bad), false, bad);
      const s = send(host, { headers: DEV_V1 });
      assert.deepEqual(
        internalHeaders(s),
        [
          [`${PREFIX}stage`, "dev"],
          [`${PREFIX}version`, "v1"],
        ],
        "old tables in force",
      );
    }
    assert.equal(host.counter(REJECTED), 3n);
    assert.ok(filterLogs(host, "error").length >= 3, "each rejection logs its problems");
    assert.deepEqual(host.logsAt("error"), filterLogs(host, "error"), "every error line is the filter's own");
    assert.ok(
      host.logsAt("error").some((l) => /byte \d+/.test(l)),
      "malformed JSON names the byte offset",
    );

    assert.equal(host.configure(JSON.stringify(seedConfig("catalog"))), true);
    const s = send(host, { headers: DEV_V1 });
    assert.deepEqual(internalHeaders(s), [[SUBSET_HEADER, `dev-v1.${ROUTE_TOKEN}`]]);
    assert.equal(host.failed, false);
  });

  it("runs configure more than once (canary then worker) with the same result", async () => {
    const host = await startFilter(seedConfig("catalog"), { canary: true, workers: 2 });
    for (let i = 0; i < 2; i++)
      assert.equal(decisionOf(send(host, { headers: DEV_V1 })), "subset:stage=dev,version=v1");
  });

  it("logs warnings without rejecting (a catalog in metadata mode is ignored)", async () => {
    const config = seedConfig("metadata");
    config.services[0].catalog = seedConfig("catalog").services[0].catalog;
    const host = await startFilter(config);
    assert.ok(filterLogs(host, "warn").length > 0);
    assert.deepEqual(internalHeaders(send(host, { headers: DEV_V1 })), [
      [`${PREFIX}stage`, "dev"],
      [`${PREFIX}version`, "v1"],
    ]);
  });

  it("does not read a catalog in metadata mode: one catalog mode would reject only draws the warning", async () => {
    const config = seedConfig("metadata");
    config.services[0].catalog = { subsets: [{ name: "Not A Name" }], sessionHeader: 7 };
    const host = await startFilter(config);
    assert.deepEqual(host.logsAt("warn"), ["services[0].catalog: ignored in metadata mode"]);
    assert.equal(host.configure(JSON.stringify({ ...config, mode: "catalog" })), false, "catalog mode reads it");
    assert.deepEqual(internalHeaders(send(host, { headers: DEV_V1 })), [
      [`${PREFIX}stage`, "dev"],
      [`${PREFIX}version`, "v1"],
    ]);
  });

  it("takes a configuration of only whitespace as an empty one, which still strips internal headers", async () => {
    for (const blank of [" ", "\n", " \t\r\n "]) {
      const host = await startFilter(blank);
      assert.deepEqual(host.logsAt("info"), [
        "configured: mode=metadata services=0 routes=0 selectors=0 internal_headers=2",
      ]);
      const spoofed = [
        [SUBSET_HEADER, `dev-v1.${ROUTE_TOKEN}`],
        [`${PREFIX}host`, "MTkyLjE2OC4wLjY6ODAwMA=="],
        ...DEV_V1,
      ];
      const s = send(host, { headers: spoofed });
      assert.deepEqual(internalHeaders(s), []);
      assert.equal(decisionOf(s), undefined, "no service: no decision");
    }
  });

  it("rejects deeply nested JSON without trapping", async () => {
    const host = await startFilter(seedConfig("metadata"));
    assert.equal(host.configure("[".repeat(10000)), false);
    assert.equal(host.failed, false);
    assert.equal(decisionOf(send(host, { headers: DEV_V1 })), "subset:stage=dev,version=v1");
  });

  it("survives root shutdown (on_done, on_delete)", async () => {
    const host = await startFilter(seedConfig("metadata"));
    send(host, { headers: DEV_V1 }).complete();
    host.shutdown();
    assert.equal(host.failed, false);
  });
});

describe("several plugin configurations in one VM", () => {
  it("keeps each root context's tables, and a rejected configuration of one leaves the other alone", async () => {
    const host = await startFilter(seedConfig("metadata"), { workers: 2 });
    const second = host.addRoot(JSON.stringify(seedConfig("catalog", { headerPrefix: "x-other-" })));
    assert.ok(second, host.logsAt("error").join("\n"));
    const internal = (s) =>
      s.requestHeaderMap.filter(([n]) => n.startsWith("x-dynamic-subset-") || n.startsWith("x-other-"));
    for (let i = 0; i < 2; i++) {
      // both workers
      const a = send(host, { headers: [...DEV_V1, ["x-other-subset", "not this plugin's header"]] });
      const b = send(host, { root: second, headers: [...DEV_V1, [SUBSET_HEADER, "not this plugin's header"]] });
      assert.deepEqual(internal(a), [
        ["x-other-subset", "not this plugin's header"],
        [`${PREFIX}stage`, "dev"],
        [`${PREFIX}version`, "v1"],
      ]);
      assert.deepEqual(internal(b), [
        [SUBSET_HEADER, "not this plugin's header"],
        ["x-other-subset", `dev-v1.${ROUTE_TOKEN}`],
      ]);
    }

    assert.equal(second.configure('{"mode": 1}'), false);
    assert.deepEqual(internalHeaders(send(host, { root: second, headers: DEV_V1 }), "x-other-"), [
      ["x-other-subset", `dev-v1.${ROUTE_TOKEN}`],
    ]);
    assert.equal(host.configure(JSON.stringify(seedConfig("catalog"))), true);
    assert.deepEqual(internalHeaders(send(host, { headers: DEV_V1 })), [[SUBSET_HEADER, `dev-v1.${ROUTE_TOKEN}`]]);
    assert.deepEqual(internalHeaders(send(host, { root: second, headers: DEV_V1 }), "x-other-"), [
      ["x-other-subset", `dev-v1.${ROUTE_TOKEN}`],
    ]);
    assert.equal(host.failed, false);
  });
});
