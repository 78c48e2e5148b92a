// The header_to_metadata model against the filter's behaviour read from its code (docs/envoy.md "header_to_metadata").

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { applyHeaderToMetadata, num, routeThroughEnvoy, simpleAtod, str, valueEquals } from "../../models/envoy.mjs";
import { clusterOf } from "./fixtures.mjs";

const DEFAULT_NAMESPACE = "envoy.filters.http.header_to_metadata";

/** One request rule: header -> envoy.lb key, the shape the renderer emits unless overridden. */
function rule(header, key, { type = "STRING", remove = true, missing, value, namespace = "envoy.lb" } = {}) {
  return {
    header,
    on_header_present: { metadata_namespace: namespace, key, type, ...(value ? { value } : {}) },
    ...(missing ? { on_header_missing: { metadata_namespace: namespace, key, value: missing, type } } : {}),
    remove,
  };
}

const apply = (rules, headers, existing) => applyHeaderToMetadata({ request_rules: rules }, headers, existing);

// [name, rules, request headers, expected dynamic metadata, expected headers left (default: all removed)]
const BEHAVIOURS = [
  [
    "a present header becomes envoy.lb metadata and is removed",
    [rule("x-v", "version")],
    [
      ["x-v", "v1"],
      ["other", "o"],
    ],
    { "envoy.lb": { version: str("v1") } },
    [["other", "o"]],
  ],
  [
    "a present but empty header adds nothing and does not trigger on_header_missing (still removed)",
    [rule("x-v", "version", { missing: "fallback" })],
    [["x-v", ""]],
    {},
    [],
  ],
  [
    "a missing header triggers on_header_missing",
    [rule("x-v", "version", { missing: "fallback" })],
    [],
    { "envoy.lb": { version: str("fallback") } },
    [],
  ],
  [
    "several occurrences are comma-joined, and all are removed",
    [rule("x-v", "version")],
    [
      ["x-v", "v1"],
      ["x-v", "v2"],
    ],
    { "envoy.lb": { version: str("v1,v2") } },
    [],
  ],
  [
    "remove: false leaves the header for upstream",
    [rule("x-v", "version", { remove: false })],
    [["x-v", "v1"]],
    { "envoy.lb": { version: str("v1") } },
    [["x-v", "v1"]],
  ],
  [
    "KeyValuePair.value, when set, replaces the header value",
    [rule("x-v", "version", { value: "fixed" })],
    [["x-v", "v1"]],
    { "envoy.lb": { version: str("fixed") } },
    [],
  ],
  [
    "an empty metadata_namespace means the filter's own namespace",
    [rule("x-v", "version", { namespace: "" })],
    [["x-v", "v1"]],
    { [DEFAULT_NAMESPACE]: { version: str("v1") } },
    [],
  ],
  [
    "8191 bytes are kept",
    [rule("x-v", "version")],
    [["x-v", "a".repeat(8191)]],
    { "envoy.lb": { version: str("a".repeat(8191)) } },
    [],
  ],
  [
    "8192 bytes are dropped, and the header is still removed",
    [rule("x-v", "version")],
    [["x-v", "a".repeat(8192)]],
    {},
    [],
  ],
  ["the 8 KiB limit counts bytes, not characters", [rule("x-v", "version")], [["x-v", "é".repeat(4096)]], {}, []],
  [
    "rules of one namespace accumulate; a later rule for the same key wins",
    [rule("x-a", "stage"), rule("x-b", "version"), rule("x-c", "version")],
    [
      ["x-a", "dev"],
      ["x-b", "v1"],
      ["x-c", "v2"],
    ],
    { "envoy.lb": { stage: str("dev"), version: str("v2") } },
    [],
  ],
  [
    "a header removed by an earlier rule is missing for a later one",
    [rule("x-v", "version"), rule("x-v", "copy", { missing: "gone" })],
    [["x-v", "v1"]],
    { "envoy.lb": { version: str("v1"), copy: str("gone") } },
    [],
  ],
  [
    "rule header names are lower-cased",
    [rule("X-V", "version")],
    [["x-v", "v1"]],
    { "envoy.lb": { version: str("v1") } },
    [],
  ],
  [
    "NUMBER: the trimmed value parsed as a double",
    [rule("x-n", "n", { type: "NUMBER" })],
    [["x-n", " 42 "]],
    { "envoy.lb": { n: num(42) } },
    [],
  ],
  [
    "NUMBER: a value that is not a number adds nothing",
    [rule("x-n", "n", { type: "NUMBER" })],
    [["x-n", "v1"]],
    {},
    [],
  ],
];

describe('header_to_metadata behaviours (docs/envoy.md "header_to_metadata")', () => {
  for (const [name, rules, headers, metadata, left] of BEHAVIOURS) {
    test(name, () => {
      const result = apply(rules, headers);
      assert.deepEqual(result.dynamicMetadata, metadata);
      assert.deepEqual(result.headers, left);
    });
  }

  test("metadata already set by earlier filters is merged per namespace, later keys replacing", () => {
    const existing = { "envoy.lb": { version: str("old"), zone: str("a") }, other: { k: str("x") } };
    const { dynamicMetadata } = apply([rule("x-v", "version")], [["x-v", "new"]], existing);
    assert.deepEqual(dynamicMetadata, { "envoy.lb": { version: str("new"), zone: str("a") }, other: { k: str("x") } });
  });

  test("binary header bytes are kept byte-exact and never throw", () => {
    const bytes = new Uint8Array([0x76, 0xff, 0x31]);
    const { dynamicMetadata } = apply([rule("x-v", "version")], [["x-v", bytes]]);
    const { version } = dynamicMetadata["envoy.lb"];
    assert.deepEqual(version.bytes, bytes);
    assert.equal(valueEquals(version, str("v\uFFFD1")), false, "a label spelling the lossy text does not match");
    assert.equal(valueEquals(version, { string: "ignored", bytes: new Uint8Array(bytes) }), true);
  });
});

describe("cookie rules", () => {
  const cookieRule = (cookie, missing) => ({
    cookie,
    on_header_present: { metadata_namespace: "envoy.lb", key: cookie },
    ...(missing ? { on_header_missing: { metadata_namespace: "envoy.lb", key: cookie, value: missing } } : {}),
  });
  const rows = [
    // [cookie name, cookie headers, expected value (undefined = none)]
    ["b", ['a=1; b="2"; c='], "2"],
    ["a", ["x=0", " a=1"], "1"],
    ["c", ['a=1; b="2"; c='], "missing", "an empty cookie value counts as missing"],
    ["c", ["c=; c=3"], "missing", "the first cookie of that name decides"],
    ["d", ["a=1"], "missing"],
  ];
  for (const [name, cookies, expected, note] of rows) {
    test(`${name} in ${JSON.stringify(cookies)} -> ${expected}${note ? ` (${note})` : ""}`, () => {
      const result = applyHeaderToMetadata(
        { request_rules: [cookieRule(name, "missing")] },
        cookies.map((c) => ["cookie", c]),
      );
      assert.deepEqual(result.dynamicMetadata["envoy.lb"][name], str(expected));
      assert.equal(result.headers.length, cookies.length, "cookie rules never remove the cookie header");
    });
  }
});

describe("NUMBER parsing is absl::SimpleAtod", () => {
  const rows = [
    ["1", 1],
    ["-2.5", -2.5],
    ["+3", 3],
    ["1e3", 1000],
    [".5", 0.5],
    ["5.", 5],
    ["\t7\n", 7],
    ["1e400", Infinity],
    ["-inf", -Infinity],
    ["Infinity", Infinity],
    ["", null],
    ["+-1", null],
    ["0x10", null],
    ["1e", null],
    ["1,5", null],
    ["v1", null],
    ["infin", null],
  ];
  for (const [text, expected] of rows) {
    test(`${JSON.stringify(text)} -> ${expected}`, () => assert.equal(simpleAtod(text), expected));
  }
  test("nan parses (and can then match nothing)", () => assert.ok(Number.isNaN(simpleAtod("NaN"))));
});

describe("configurations the model refuses", () => {
  const cases = [
    [
      { request_rules: [{ header: "x", cookie: "y", on_header_present: { key: "k" } }] },
      /Cannot specify both header and cookie/,
    ],
    [{ request_rules: [{ on_header_present: { key: "k" } }] }, /One of Cookie or Header/],
    [{ request_rules: [{ header: "x" }] }, /neither `on_header_present` nor `on_header_missing`/],
    [
      { request_rules: [{ cookie: "x", on_header_present: { key: "k" }, remove: true }] },
      /Cannot specify remove for cookie/,
    ],
    [
      { request_rules: [{ header: "x", on_header_missing: { key: "k" } }] },
      /on_header_missing rule with an empty value/,
    ],
    [{ request_rules: [{ header: "x", on_header_present: { key: "" } }] }, /key: value length must be at least 1/],
    [
      { request_rules: [{ header: "x", on_header_present: { key: "k", type: "PROTOBUF_VALUE" } }] },
      /PROTOBUF_VALUE is not modelled/,
    ],
    [{ request_rules: [{ header: "x", on_header_present: { key: "k", encode: "BASE64" } }] }, /BASE64 is not modelled/],
    [
      { request_rules: [{ header: "x", on_header_present: { key: "k", regex_value_rewrite: {} } }] },
      /regex_value_rewrite: not modelled/,
    ],
    [{ request_rules: [{ header: "x", on_header_present: { key: "k", type: "DATE" } }] }, /invalid enum value/],
    [{ request_rules: [{ header: "x", on_header_present: { key: "k" }, remov: true }] }, /unknown field "remov"/],
    [{ response_rules: [{ header: "x", on_header_present: { key: "k" } }] }, /response_rules: not modelled/],
    [{ "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua" }, /@type/],
  ];
  for (const [config, error] of cases) {
    test(`${JSON.stringify(config)} -> ${error}`, () => assert.throws(() => applyHeaderToMetadata(config, []), error));
  }
});

describe("type mismatch between header_to_metadata and endpoint metadata", () => {
  // An endpoint labelled version "1" (string) and one labelled 1 (number, what YAML `version: 1` gives).
  const cluster = clusterOf(
    [
      ["s", { version: "1" }],
      ["n", { version: 1 }],
    ],
    { subset_selectors: [{ keys: ["version"] }] },
  );
  const rows = [
    ["STRING", ["10.0.0.1:80"]],
    ["NUMBER", ["10.0.0.2:80"]],
  ];
  for (const [type, hosts] of rows) {
    test(`a ${type} rule reaches only the endpoint whose label has that type`, () => {
      const result = routeThroughEnvoy(
        { cluster, headerToMetadata: { request_rules: [rule("x-version", "version", { type })] } },
        [["x-version", "1"]],
      );
      assert.deepEqual(result.hosts, hosts);
    });
  }
  test("a STRING rule against a number-only endpoint set is a 503", () => {
    const numbersOnly = clusterOf([["n", { version: 1 }]], { subset_selectors: [{ keys: ["version"] }] });
    const result = routeThroughEnvoy(
      { cluster: numbersOnly, headerToMetadata: { request_rules: [rule("x-version", "version")] } },
      [["x-version", "1"]],
    );
    assert.equal(result.noHost, true);
  });
});
