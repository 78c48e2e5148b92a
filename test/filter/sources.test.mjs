// Key sources through the compiled filter (docs/configuration.md "Key sources"): the seed's requests sent as
// cookies, query parameters and baggage members reach the same decision as the seed's headers in both modes,
// the filter and the JSON Schema accept the same configurations, and hostile cookies, paths and baggage neither
// trap the VM, nor get copied or logged, nor grow its memory.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import Ajv from "ajv";
import { decisionOf, internalHeaders, outcomeCounts, seedConfig, send, startFilter } from "./fixtures.mjs";

const schema = JSON.parse(readFileSync(new URL("../../schema/plugin-config.schema.json", import.meta.url), "utf8"));
const validate = new Ajv({ allErrors: true }).compile(schema);

/** The seed's step-2 mapping (stage defaults to prod, version to v3) read from another source. */
const MAPPINGS = {
  header: [
    { header: "x-version", key: "version", defaultValue: "v3" },
    { header: "x-stage", key: "stage", defaultValue: "prod" },
  ],
  cookie: [
    { cookie: "version", key: "version", defaultValue: "v3" },
    { cookie: "stage", key: "stage", defaultValue: "prod" },
  ],
  query: [
    { query: "version", key: "version", defaultValue: "v3" },
    { query: "stage", key: "stage", defaultValue: "prod" },
  ],
  baggage: [
    { baggage: "version", key: "version", defaultValue: "v3" },
    { baggage: "stage", key: "stage", defaultValue: "prod" },
  ],
};

/** A request giving `values` ({stage, version}, some absent) through `source`. */
function request(source, values) {
  const pairs = Object.entries(values);
  if (source === "header") return { headers: pairs.map(([k, v]) => [`x-${k}`, v]) };
  if (source === "cookie")
    return { headers: [["cookie", ["session=9f3c", ...pairs.map(([k, v]) => `${k}=${v}`)].join("; ")]] };
  if (source === "query") return { headers: [[":path", `/hello?${new URLSearchParams([["name", "x"], ...pairs])}`]] };
  return {
    headers: [["baggage", ["userId=alice", ...pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`)].join(",")]],
  };
}

function configFor(mode, source) {
  const config = seedConfig(mode);
  config.services[0].routes[0].headerToDynamicSubsetKey = MAPPINGS[source];
  return config;
}

// The seed's step 2 and 3 requests, plus an unmatchable value.
const REQUESTS = [
  { stage: "dev", version: "v1" },
  { stage: "prod", version: "v1" },
  { stage: "dev" },
  {},
  { stage: "dev v" },
];

describe("the seed's requests from every key source", () => {
  for (const mode of ["metadata", "catalog"]) {
    for (const source of ["cookie", "query", "baggage"]) {
      it(`${source}s decide as headers do (${mode} mode)`, async () => {
        const byHeader = await startFilter(configFor(mode, "header"));
        const bySource = await startFilter(configFor(mode, source));
        for (const values of REQUESTS) {
          const expected = send(byHeader, request("header", values));
          const actual = send(bySource, request(source, values));
          const label = `${source} ${JSON.stringify(values)}`;
          assert.equal(decisionOf(actual), decisionOf(expected), label);
          assert.deepEqual(internalHeaders(actual), internalHeaders(expected), label);
          assert.deepEqual(actual.foreignCalls, expected.foreignCalls, label);
          assert.equal(actual.localResponse?.status, expected.localResponse?.status, label);
        }
        assert.deepEqual(outcomeCounts(bySource), outcomeCounts(byHeader));
        assert.equal(decisionOf(send(bySource, request(source, REQUESTS[0]))), "subset:stage=dev,version=v1");
      });
    }
  }

  it("decodes what clients encode: %XX and '+' in a query, %XX in baggage", async () => {
    const query = await startFilter(configFor("metadata", "query"));
    const s = send(query, { headers: [[":path", "/?st%61ge=d%65v&version=v%31&stage=qa"]] });
    assert.equal(decisionOf(s), "subset:stage=dev,version=v1", "the first parameter of a name wins");
    const baggage = await startFilter(configFor("metadata", "baggage"));
    const b = send(baggage, { headers: [["baggage", "stage = qa ; ttl=1, stage=d%65v;lane, version=v%31"]] });
    assert.equal(decisionOf(b), "subset:stage=dev,version=v1", "the last member of a key wins");
  });

  it("sees only the first Cookie and baggage header, as Envoy hands it over", async () => {
    const cookie = await startFilter(configFor("metadata", "cookie"));
    const c = send(cookie, {
      headers: [
        ["cookie", "stage=dev"],
        ["cookie", "version=v1"],
      ],
    });
    assert.equal(decisionOf(c), "subset:stage=dev,version=v3");
    const baggage = await startFilter(configFor("metadata", "baggage"));
    const b = send(baggage, {
      headers: [
        ["baggage", "version=v1"],
        ["baggage", "stage=dev"],
      ],
    });
    assert.equal(decisionOf(b), "subset:stage=prod,version=v1");
  });

  it("treats a malformed baggage header as absent for every key, and strips internal headers all the same", async () => {
    const host = await startFilter(configFor("catalog", "baggage"));
    const s = send(host, {
      headers: [
        ["baggage", "stage=dev,version=v1,"],
        ["x-dynamic-subset-subset", "dev-v1.9f3c1a7e52d04b68"],
      ],
    });
    assert.equal(decisionOf(s), "subset:stage=prod,version=v3");
    assert.deepEqual(internalHeaders(s), [["x-dynamic-subset-subset", "prod-v3.9f3c1a7e52d04b68"]]);
  });
});

describe("configurations with key sources", () => {
  it("are accepted by the filter and the JSON Schema alike", async () => {
    for (const source of ["cookie", "query", "baggage"]) {
      for (const mode of ["metadata", "catalog"]) {
        const config = configFor(mode, source);
        assert.equal(validate(config), true, JSON.stringify(validate.errors));
        await startFilter(config);
      }
    }
    const mixed = seedConfig("metadata");
    mixed.services[0].routes[1].headerToDynamicSubsetKey = [
      { cookie: "pod", key: "%ip%", defaultValue: "192.168.0.6" },
      { query: "pod", key: "%ip%" },
    ];
    assert.equal(validate(mixed), true, JSON.stringify(validate.errors));
    const host = await startFilter(mixed);
    assert.equal(
      decisionOf(send(host, { route: "pin", headers: [["cookie", "pod=192.168.0.5"]] })),
      "subset:%ip%=192.168.0.5",
    );
    const both = {
      route: "pin",
      headers: [
        ["cookie", "pod=192.168.0.5"],
        [":path", "/?pod=192.168.0.1"],
      ],
    };
    assert.equal(decisionOf(send(host, both)), "subset:%ip%=192.168.0.1", "a later mapping overrides");
    assert.equal(decisionOf(send(host, { route: "pin" })), "subset:%ip%=192.168.0.6");
  });
});

describe("hostile cookies, paths and baggage", () => {
  const huge = "v".repeat(1 << 20);
  const HOSTILE = {
    cookie: [
      [["cookie", `stage=${huge}; version=v1`]],
      [["cookie", `${"a=1; ".repeat(50_000)}stage=dev; version=v1`]],
      [["cookie", ";".repeat(100_000)]],
      [["cookie", Buffer.from([0x73, 0x74, 0x61, 0x67, 0x65, 0x3d, 0x00, 0xff, 0x80, 0x3b, 0x22])]],
      [["cookie", 'stage="'], ...Array.from({ length: 500 }, () => ["cookie", "stage=dev"])],
    ],
    query: [
      [[":path", `/?stage=${"%41".repeat(300_000)}&version=v1`]],
      [[":path", `/?${"&".repeat(200_000)}stage=dev`]],
      [[":path", `/?${"%".repeat(200_000)}=1&stage=%&version=%%%`]],
      [
        [
          ":path",
          Buffer.concat([Buffer.from("/?stage="), Buffer.from([0x00, 0xff, 0xc3, 0x28]), Buffer.from("&version=v1")]),
        ],
      ],
      [[":path", `/${"?".repeat(100_000)}#stage=dev`]],
    ],
    baggage: [
      [["baggage", `stage=dev,${"k=v,".repeat(60)}version=v1`]],
      [["baggage", `stage=dev,${"k=v,".repeat(100_000)}version=v1`]],
      [["baggage", `stage=${huge}`]],
      [["baggage", `stage=${"%41".repeat(2000)},version=v1`]],
      [["baggage", Buffer.from([0x73, 0x3d, 0x00, 0x2c, 0xff])]],
      [["baggage", `stage=dev${";p".repeat(3000)}`]],
    ],
  };

  for (const mode of ["metadata", "catalog"]) {
    for (const [source, cases] of Object.entries(HOSTILE)) {
      it(`never trap, copy or log a hostile ${source} (${mode} mode)`, async () => {
        const host = await startFilter(configFor(mode, source), { logLevel: "trace" });
        for (const headers of cases) {
          const s = send(host, { headers });
          assert.equal(host.failed, false, host.failure);
          for (const [, value] of internalHeaders(s))
            assert.ok(value.length <= 64, "no request value is copied beyond a label value");
          assert.ok(decisionOf(s).length <= 64);
          s.responseHeaders([[":status", "200"]]);
          s.complete();
        }
        const logged = host.logs.map((l) => l.message).join("\n");
        assert.ok(!/vvvvvvvv|AAAAAAAA|\u00ff/.test(logged), "request values are never logged");
        assert.equal(decisionOf(send(host, request(source, REQUESTS[0]))), "subset:stage=dev,version=v1");
      });
    }
  }

  it("reads what the limits allow and no more: a value decoding past 63 bytes or over 8 KiB is unmatchable", async () => {
    const query = await startFilter(configFor("metadata", "query"));
    const long = send(query, { headers: [[":path", `/?stage=${"%41".repeat(64)}&version=v1`]] });
    assert.equal(decisionOf(long), "subset:stage=~invalid~,version=v1");
    const raw = send(query, { headers: [[":path", `/?stage=${"a".repeat(8193)}&version=v1`]] });
    assert.equal(decisionOf(raw), "subset:stage=~invalid~,version=v1");
    const baggage = await startFilter(configFor("metadata", "baggage"));
    const tooMany = `${"k=v,".repeat(63)}stage=dev,version=v1`; // 65 members
    assert.equal(decisionOf(send(baggage, { headers: [["baggage", tooMany]] })), "subset:stage=prod,version=v3");
  });

  it("keep linear memory flat across many hostile requests", async () => {
    const config = seedConfig("metadata", { responseHeader: true });
    config.services[0].routes[0].headerToDynamicSubsetKey = [
      { cookie: "stage", key: "stage" },
      { query: "stage", key: "stage" },
      { baggage: "version", key: "version" },
    ];
    const host = await startFilter(config);
    const hostile = [
      ["cookie", `stage=${"x".repeat(16 * 1024)}`],
      [":path", `/?stage=${"%41".repeat(4000)}`],
      ["baggage", `version=${"%42".repeat(2000)}`],
    ];
    const good = [
      [":path", "/?stage=dev"],
      ["baggage", "version=v1"],
    ];
    const run = (n) => {
      for (let i = 0; i < n; i++) {
        const s = send(host, { headers: i % 2 ? hostile : good });
        s.responseHeaders([[":status", "200"]]);
        s.complete();
      }
    };
    run(2000);
    const warm = host.memoryPages();
    run(20_000);
    assert.equal(host.memoryPages(), warm, `memory ${warm} -> ${host.memoryPages()} pages`);
    assert.equal(decisionOf(send(host, { headers: good })), "subset:stage=dev,version=v1");
    assert.equal(host.failed, false);
  });
});
