// The subset load balancer model against Envoy's own examples (docs/envoy.md "Envoy's own examples"): the arch-overview page, the
// design doc, and the unit tests of test/extensions/load_balancing_policies/subset/subset_test.cc (as host sets:
// where a unit test checks a round-robin sequence, the model answers the set the sequence ranges over).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SubsetLoadBalancer, describe as plain, routerCriteria, str } from "../../models/envoy.mjs";
import { NO_HOST, clusterOf, reachability } from "./fixtures.mjs";

/** Runs one table: each row [criteria JSON, expected names or NO_HOST, note?]. */
function checkRows(reach, rows) {
  for (const [criteria, expected, note] of rows) {
    assert.deepEqual(reach(criteria), expected, `${JSON.stringify(criteria)}${note ? ` (${note})` : ""}`);
  }
}

describe('arch overview "Load Balancer Subsets" (docs/envoy.md "Envoy\'s own examples")', () => {
  const hosts = [
    ["host1", { v: "1.0", stage: "prod" }],
    ["host2", { v: "1.0", stage: "prod" }],
    ["host3", { v: "1.1", stage: "canary" }],
    ["host4", { v: "1.2-pre", stage: "dev" }],
  ];
  const versionStage = { keys: ["v", "stage"] };
  const stageOnly = { keys: ["stage"], fallback_policy: "NO_FALLBACK" };
  const config = (selectors) => ({
    fallback_policy: "DEFAULT_SUBSET",
    default_subset: { stage: "prod" },
    subset_selectors: selectors,
  });
  const orders = {
    "as documented ([v, stage] first)": reachability(hosts, config([versionStage, stageOnly])),
    "[stage] first": reachability(hosts, config([stageOnly, versionStage])),
  };
  // [criteria, as documented, [stage] first]
  const rows = [
    [{ stage: "canary" }, ["host3"], ["host3"]],
    [{ v: "1.2-pre", stage: "dev" }, ["host4"], ["host4"]],
    [{ v: "1.0" }, ["host1", "host2"], ["host1", "host2"]],
    [{ other: "x" }, ["host1", "host2"], ["host1", "host2"]],
    [null, ["host1", "host2"], ["host1", "host2"]],
    // The page says "empty cluster" (the [stage] selector's NO_FALLBACK). By the code, [stage] is a prefix of the
    // sorted [stage, v] listed before it, so its fallback is never recorded (docs/envoy.md "Selector order and
    // per-selector fallback") and the global DEFAULT_SUBSET applies. Listed first, [stage] keeps its NO_FALLBACK and the page's answer holds.
    [{ stage: "test" }, ["host1", "host2"], NO_HOST],
  ];
  for (const [index, [order, reach]] of Object.entries(orders).entries()) {
    test(order, () =>
      checkRows(
        reach,
        rows.map(([criteria, ...expected]) => [criteria, expected[index]]),
      ),
    );
  }

  test("weighted cluster metadata_match overrides the route's, key by key", () => {
    const mm = (fields) => fields && { filter_metadata: { "envoy.lb": fields } };
    const table = [
      [{ stage: "canary" }, { stage: "prod" }, { stage: "prod" }],
      [{ v: "1.0" }, { stage: "prod" }, { v: "1.0", stage: "prod" }],
      [{ v: "1.0", stage: "prod" }, { stage: "canary" }, { v: "1.0", stage: "canary" }],
      [
        { v: "1.0", stage: "prod" },
        { v: "1.1", stage: "canary" },
        { v: "1.1", stage: "canary" },
      ],
      [null, { v: "1.0" }, { v: "1.0" }],
      [{ v: "1.0" }, null, { v: "1.0" }],
    ];
    for (const [route, cluster, final] of table) {
      const criteria = routerCriteria(mm(route), {}, mm(cluster));
      assert.deepEqual(Object.fromEntries([...criteria].map(([k, v]) => [k, plain(v)])), final);
      assert.deepEqual([...criteria.keys()], Object.keys(final).sort(), "criteria are sorted by key");
    }
  });
});

describe("Router::metadataMatchCriteria", () => {
  const route = { filter_metadata: { "envoy.lb": { version: "v1", stage: "dev" } } };
  test("request envoy.lb dynamic metadata wins over route criteria on a shared key", () => {
    const criteria = routerCriteria(route, { "envoy.lb": { version: str("v2") } });
    assert.deepEqual(
      [...criteria],
      [
        ["stage", str("dev")],
        ["version", str("v2")],
      ],
    );
  });
  test("other namespaces are not criteria; nothing at all gives no criteria", () => {
    assert.equal(routerCriteria(null, { "envoy.filters.http.header_to_metadata": { version: str("v2") } }), null);
    assert.deepEqual(
      [...routerCriteria(route, {})],
      [
        ["stage", str("dev")],
        ["version", str("v1")],
      ],
    );
  });
  test("criteria must be tagged values, so a type slip cannot pass unnoticed", () => {
    assert.throws(() => routerCriteria(null, { "envoy.lb": { version: "v2" } }), /tagged metadata value/);
  });
});

describe('design doc e1..e7 (docs/envoy.md "Envoy\'s own examples")', () => {
  const hosts = [
    ["e1", { stage: "prod", version: "1.0", type: "std", xlarge: "true" }],
    ["e2", { stage: "prod", version: "1.0", type: "std" }],
    ["e3", { stage: "prod", version: "1.1", type: "std", xlarge: "true" }],
    ["e4", { stage: "prod", version: "1.1", type: "std" }],
    ["e5", { stage: "prod", version: "1.0", type: "bigmem" }],
    ["e6", { stage: "prod", version: "1.1", type: "bigmem" }],
    ["e7", { stage: "dev", version: "1.2-pre", type: "std" }],
  ];
  const config = {
    fallback_policy: "DEFAULT_SUBSET",
    default_subset: { stage: "prod", version: "1.0", type: "std" },
    subset_selectors: [
      { keys: ["stage", "type"] },
      { keys: ["stage", "version"] },
      { keys: ["version"] },
      { keys: ["xlarge", "version"] },
    ],
  };
  const reach = reachability(hosts, config);

  test("every subset the doc lists, and the default subset for anything else", () =>
    checkRows(reach, [
      [{ stage: "prod", type: "std" }, ["e1", "e2", "e3", "e4"]],
      [{ stage: "prod", type: "bigmem" }, ["e5", "e6"]],
      [{ stage: "dev", type: "std" }, ["e7"]],
      [{ stage: "prod", version: "1.0" }, ["e1", "e2", "e5"]],
      [{ stage: "prod", version: "1.1" }, ["e3", "e4", "e6"]],
      [{ stage: "dev", version: "1.2-pre" }, ["e7"]],
      [{ version: "1.0" }, ["e1", "e2", "e5"]],
      [{ version: "1.1" }, ["e3", "e4", "e6"]],
      [{ version: "1.2-pre" }, ["e7"]],
      // The doc lists "version=1.0, xlarge=true (e1, e3)"; e3 is version 1.1, so by the algorithm it is e1 alone.
      [{ version: "1.0", xlarge: "true" }, ["e1"], "doc error corrected"],
      [{ version: "1.1", xlarge: "true" }, ["e3"], "omitted by the doc"],
      [{ stage: "prod" }, ["e1", "e2"], "no [stage] selector: default subset"],
      [{ stage: "prod", version: "1.0", type: "std" }, ["e1", "e2"], "three keys match no selector"],
    ]));

  test('the doc\'s routes, including "if e7 / the bigmem hosts leave the cluster"', () => {
    const mm = (fields) => ({ filter_metadata: { "envoy.lb": fields } });
    const routes = [
      // [route metadata_match, weighted cluster metadata_match, hosts removed, expected]
      [{ version: "1.2-pre", stage: "dev" }, null, [], ["e7"]],
      [{ version: "1.2-pre", stage: "dev" }, null, ["e7"], ["e1", "e2"]],
      [{ type: "bigmem", stage: "prod" }, null, [], ["e5", "e6"]],
      [{ type: "bigmem", stage: "prod" }, null, ["e5", "e6"], ["e1", "e2"]],
      [{ stage: "prod" }, { version: "1.0" }, [], ["e1", "e2", "e5"]],
      [{ stage: "prod" }, { version: "1.1" }, [], ["e3", "e4", "e6"]],
    ];
    for (const [route, weighted, removed, expected] of routes) {
      const remaining = reachability(
        hosts.filter(([name]) => !removed.includes(name)),
        config,
      );
      const criteria = routerCriteria(mm(route), {}, weighted && mm(weighted));
      assert.deepEqual(remaining.reach(criteria), expected, `${JSON.stringify({ route, weighted, removed })}`);
    }
  });
});

// subset_test.cc fixtures. Hosts are [name, envoy.lb labels]; rows [criteria, expected].

// The SingleHostPerSubset tests share one host set: p80 unlabelled, two hosts per (version, stage).
const SINGLE_HOST_PER_SUBSET_HOSTS = [
  ["p80", null],
  ["p81", { version: "v1", stage: "dev" }],
  ["p82", { version: "v1", stage: "dev" }],
  ["p83", { version: "v1", stage: "prod" }],
  ["p84", { version: "v1", stage: "prod" }],
  ["p85", { version: "v2", stage: "dev" }],
  ["p86", { version: "v2", stage: "dev" }],
  ["p87", { version: "v2", stage: "prod" }],
  ["p88", { version: "v2", stage: "prod" }],
];

const UNIT_TESTS = [
  {
    name: "FallbackForCompoundSelector",
    hosts: [
      ["h0", { version: "1.0", hardware: "c32" }],
      ["h1", { version: "1.0", hardware: "c32", foo: "bar" }],
      ["h2", { version: "2.0", hardware: "c32", stage: "dev" }],
      ["h3", { version: "2.0" }],
    ],
    config: {
      fallback_policy: "ANY_ENDPOINT",
      default_subset: { foo: "bar" },
      subset_selectors: [
        { keys: ["version"] },
        { keys: ["version", "hardware", "stage"], fallback_policy: "NO_FALLBACK" },
        { keys: ["version", "hardware"], fallback_policy: "DEFAULT_SUBSET" },
        { keys: ["version", "stage"], fallback_policy: "KEYS_SUBSET", fallback_keys_subset: ["version"] },
      ],
    },
    rows: [
      [{ version: "1.0", hardware: "c32" }, ["h0", "h1"]],
      [{ version: "x", hardware: "c32" }, ["h1"], "DEFAULT_SUBSET foo=bar"],
      [{ version: "2.0", hardware: "zzz", stage: "dev" }, NO_HOST, "NO_FALLBACK"],
      [{ version: "2.0", hardware: "c32", stage: "x" }, NO_HOST, "NO_FALLBACK"],
      [{ version: "2.0", hardware: "c32", stage: "dev" }, ["h2"]],
      [{ version: "2.0" }, ["h2", "h3"]],
      [{ version: "2.0", stage: "dev" }, ["h2"]],
      [{ version: "2.0", stage: "canary" }, ["h2", "h3"], "KEYS_SUBSET -> version 2.0"],
    ],
  },
  {
    name: "KeysSubsetFallbackChained",
    hosts: [
      ["h0", { version: "1.0", hardware: "c32", stage: "dev" }],
      ["h1", { version: "2.0", hardware: "c64", stage: "dev" }],
      ["h2", { version: "1.0", hardware: "c32", stage: "test" }],
    ],
    config: {
      fallback_policy: "NO_FALLBACK",
      subset_selectors: [
        { keys: ["stage"], fallback_policy: "NO_FALLBACK" },
        { keys: ["stage", "version"], fallback_policy: "KEYS_SUBSET", fallback_keys_subset: ["stage"] },
        {
          keys: ["stage", "version", "hardware"],
          fallback_policy: "KEYS_SUBSET",
          fallback_keys_subset: ["version", "stage"],
        },
      ],
    },
    rows: [
      [{ version: "1.0", hardware: "c32", stage: "dev" }, ["h0"]],
      [{ version: "2.0", hardware: "arm", stage: "dev" }, ["h1"], "-> {stage dev, version 2.0}"],
      [{ version: "1.2", hardware: "arm", stage: "dev" }, ["h0", "h1"], "-> {stage, version} miss -> {stage dev}"],
    ],
  },
  {
    name: "KeysSubsetFallbackToNotExistingSelector",
    hosts: [["h0", { version: "1.0", stage: "dev" }]],
    config: {
      fallback_policy: "ANY_ENDPOINT",
      subset_selectors: [
        { keys: ["stage", "version"], fallback_policy: "KEYS_SUBSET", fallback_keys_subset: ["stage"] },
      ],
    },
    rows: [[{ version: "1.0", stage: "test" }, ["h0"], "no [stage] selector: global ANY_ENDPOINT"]],
  },
  {
    name: "SubsetSelectorDefaultAnyFallbackPerSelector",
    hosts: [
      ["h0", { version: "0.0" }],
      ["h1", { version: "1.0" }],
      ["h2", { app: "envoy" }],
      ["h3", { foo: "abc", bar: "default" }],
    ],
    config: {
      fallback_policy: "NO_FALLBACK",
      default_subset: { bar: "default" },
      subset_selectors: [
        { keys: ["version"], fallback_policy: "DEFAULT_SUBSET" },
        { keys: ["app"], fallback_policy: "ANY_ENDPOINT" },
        { keys: ["foo"] },
      ],
    },
    rows: [
      [{ app: "ngnix" }, ["h0", "h1", "h2", "h3"]],
      [{ app: "envoy" }, ["h2"]],
      [{ version: "x" }, ["h3"]],
      [{ foo: "abc" }, ["h3"]],
    ],
  },
  {
    name: "SubsetSelectorFallbackOverridesTopLevelOne",
    hosts: [
      ["h0", { version: "1.0" }],
      ["h1", { version: "1.0" }],
    ],
    config: {
      fallback_policy: "ANY_ENDPOINT",
      subset_selectors: [{ keys: ["version"], fallback_policy: "NO_FALLBACK" }],
    },
    rows: [
      [{ unknown: "unknown" }, ["h0", "h1"]],
      [{ version: "unknown" }, NO_HOST],
    ],
  },
  {
    name: "SubsetSelectorNoFallbackPerSelector",
    hosts: [
      ["h0", { version: "1.0" }],
      ["h1", { version: "1.0" }],
      ["h2", { version: "1.1" }],
      ["h3", { version: "1.1" }],
    ],
    config: {
      fallback_policy: "DEFAULT_SUBSET",
      subset_selectors: [{ keys: ["version"], fallback_policy: "NO_FALLBACK" }],
    },
    rows: [
      [{ version: "1.0" }, ["h0", "h1"]],
      [{ version: "1.1" }, ["h2", "h3"]],
      [{ version: "1.2" }, NO_HOST],
    ],
  },
  {
    name: "FallbackNotDefinedForIntermediateSelector",
    hosts: [
      ["h0", { version: "1.0", stage: "dev" }],
      ["h1", { version: "1.0", stage: "canary" }],
    ],
    config: {
      fallback_policy: "ANY_ENDPOINT",
      subset_selectors: [{ keys: ["stage"] }, { keys: ["stage", "version"], fallback_policy: "ANY_ENDPOINT" }],
    },
    rows: [
      [{ stage: "dev" }, ["h0"]],
      [{ stage: "test" }, ["h0", "h1"]],
    ],
  },
  {
    name: "SingleHostPerSubset AcceptMultipleSelectors",
    hosts: SINGLE_HOST_PER_SUBSET_HOSTS,
    config: {
      fallback_policy: "NO_FALLBACK",
      subset_selectors: [{ keys: ["version"] }, { keys: ["stage"], single_host_per_subset: true }],
    },
    rows: [
      [{ version: "v1" }, ["p81", "p82", "p83", "p84"]],
      [{ version: "v2" }, ["p85", "p86", "p87", "p88"]],
      [{ stage: "dev" }, ["p81"], "first host of the subset, always"],
      [{ stage: "prod" }, ["p83"]],
      [{ stage: "test" }, NO_HOST],
    ],
  },
  {
    name: "SingleHostPerSubset HybridMultipleSelectorsAndKeys",
    hosts: SINGLE_HOST_PER_SUBSET_HOSTS,
    config: {
      fallback_policy: "NO_FALLBACK",
      subset_selectors: [{ keys: ["version", "stage"], single_host_per_subset: true }, { keys: ["stage"] }],
    },
    rows: [
      [{ version: "v1", stage: "dev" }, ["p81"]],
      [{ version: "v1", stage: "prod" }, ["p83"]],
      [{ version: "v2", stage: "dev" }, ["p85"]],
      [{ version: "v2", stage: "prod" }, ["p87"]],
      [{ version: "v2", stage: "test" }, NO_HOST],
      [{ stage: "dev" }, ["p81", "p82", "p85", "p86"]],
      [{ stage: "prod" }, ["p83", "p84", "p87", "p88"]],
      [{ stage: "test" }, NO_HOST],
    ],
  },
  {
    name: "SingleHostPerSubset FallbackOnUnknownMetadata",
    hosts: [
      ["p80", null],
      ["p81", { key: "a" }],
      ["p82", { key: "b" }],
    ],
    config: { fallback_policy: "ANY_ENDPOINT", subset_selectors: [{ keys: ["key"], single_host_per_subset: true }] },
    rows: [
      [{ key: "a" }, ["p81"]],
      [{ key: "b" }, ["p82"]],
      [{ unknown: "unknown" }, ["p80", "p81", "p82"]],
      [{ key: "unknown" }, ["p80", "p81", "p82"]],
    ],
  },
  {
    name: "MetadataFallbackList",
    hosts: [
      ["v1", { version: "1.0" }],
      ["v2", { version: "2.0" }],
      ["v3", { version: "3.0" }],
    ],
    config: {
      fallback_policy: "NO_FALLBACK",
      metadata_fallback_policy: "FALLBACK_LIST",
      subset_selectors: [{ keys: ["version"] }],
    },
    rows: [
      [{ fallback_list: [{ version: "2.0" }, { version: "1.0" }] }, ["v2"]],
      [{ version: "3.0", fallback_list: null }, ["v3"], "a non-list fallback_list is ignored"],
      [
        { fallback_list: ["invalid string entry", { version: "1.0" }] },
        ["v1"],
        "a non-struct entry is an empty override",
      ],
      [{ version: "1.0" }, ["v1"]],
      [
        { version: "1.0", fallback_list: [{ hardware: "arm" }, { version: "5.0" }, { version: "3.0" }] },
        ["v3"],
        "the base alone is never tried",
      ],
    ],
  },
  {
    name: "MetadataFallbackList after the 2.0 host leaves",
    hosts: [
      ["v1", { version: "1.0" }],
      ["v3", { version: "3.0" }],
    ],
    config: {
      fallback_policy: "NO_FALLBACK",
      metadata_fallback_policy: "FALLBACK_LIST",
      subset_selectors: [{ keys: ["version"] }],
    },
    rows: [[{ fallback_list: [{ version: "2.0" }, { version: "1.0" }] }, ["v1"]]],
  },
  {
    name: "MetadataFallbackDisabled",
    hosts: [
      ["p80", { fallback_list: "lorem" }],
      ["p81", { fallback_list: "ipsum" }],
    ],
    config: {
      fallback_policy: "NO_FALLBACK",
      metadata_fallback_policy: "METADATA_NO_FALLBACK",
      subset_selectors: [{ keys: ["fallback_list"] }],
    },
    rows: [[{ fallback_list: "ipsum" }, ["p81"], "fallback_list is an ordinary key"]],
  },
  {
    name: "MetadataFallbackAndSubsetFallback",
    hosts: [
      ["c32prod", { hardware: "c32", stage: "production" }],
      ["c64canary", { hardware: "c64", stage: "canary" }],
      ["c64prod", { hardware: "c64", stage: "production" }],
    ],
    config: {
      fallback_policy: "ANY_ENDPOINT",
      metadata_fallback_policy: "FALLBACK_LIST",
      subset_selectors: [
        { keys: ["hardware"], fallback_policy: "NO_FALLBACK" },
        { keys: ["hardware", "stage"], fallback_policy: "KEYS_SUBSET", fallback_keys_subset: ["hardware"] },
      ],
    },
    rows: [
      [
        { stage: "canary", fallback_list: [{ hardware: "c32" }, { hardware: "c64" }] },
        ["c32prod"],
        "first entry succeeds via KEYS_SUBSET",
      ],
      [{ stage: "canary", fallback_list: [{ hardware: "c16" }, { hardware: "c64" }] }, ["c64canary"]],
      [
        { fallback_list: [{ unknown: "ipsum" }, { hardware: "c64" }] },
        ["c32prod", "c64canary", "c64prod"],
        "global ANY_ENDPOINT on the first entry",
      ],
    ],
  },
];

describe('subset_test.cc fixtures (docs/envoy.md "Envoy\'s own examples")', () => {
  for (const { name, hosts, config, rows } of UNIT_TESTS) {
    test(name, () => checkRows(reachability(hosts, config), rows));
  }

  test("DuplicateMetadataStat: hosts beyond the first of a single-host subset are counted", () => {
    const hosts = [
      ["a0", { key: "a" }],
      ["a1", { key: "a" }],
      ["a2", { key: "a" }],
      ["b0", { key: "b" }],
    ];
    const reach = reachability(hosts, {
      fallback_policy: "ANY_ENDPOINT",
      subset_selectors: [{ keys: ["key"], single_host_per_subset: true }],
    });
    assert.equal(reach.lb.stats.singleHostPerSubsetDuplicate, 2);
    assert.deepEqual(reach({ key: "a" }), ["a0"]);
  });
});

// Behaviour read from the code (docs/envoy.md "Subset load balancer") that no Envoy test spells out; each row says
// which rule it pins.
const CODE_READING = [
  {
    name: "exact key set: a subset or superset of a selector's keys falls back",
    hosts: [
      ["dev1", { stage: "dev", version: "v1" }],
      ["prod3", { stage: "prod", version: "v3" }],
    ],
    config: {
      fallback_policy: "NO_FALLBACK",
      subset_selectors: [{ keys: ["stage", "version"], fallback_policy: "ANY_ENDPOINT" }],
    },
    rows: [
      [{ stage: "dev", version: "v1" }, ["dev1"]],
      [{ stage: "dev", version: "v9" }, ["dev1", "prod3"], "exact keys, unknown value: the selector's ANY_ENDPOINT"],
      [{ stage: "dev" }, NO_HOST, "intermediate trie node: NOT_DEFINED, so the global NO_FALLBACK"],
      [{ stage: "dev", version: "v1", zone: "a" }, NO_HOST, "an extra key: global"],
      [null, NO_HOST, "no criteria: global"],
      [{}, NO_HOST, "empty criteria behave like none"],
    ],
  },
  {
    name: 'values are typed: the string "1" never equals the number 1',
    hosts: [
      ["s1", { version: "1" }],
      ["n1", { version: 1 }],
      ["t", { flag: true }],
    ],
    config: { fallback_policy: "NO_FALLBACK", subset_selectors: [{ keys: ["version"] }, { keys: ["flag"] }] },
    rows: [
      [{ version: "1" }, ["s1"]],
      [{ version: 1 }, ["n1"]],
      [{ version: "1.0" }, NO_HOST],
      [{ flag: true }, ["t"]],
      [{ flag: "true" }, NO_HOST],
    ],
  },
  {
    name: "hosts lacking a selector key are in no subset of that selector; without envoy.lb in none",
    hosts: [
      ["both", { stage: "dev", version: "v1" }],
      ["stageOnly", { stage: "dev" }],
      ["bare", null],
    ],
    config: { fallback_policy: "NO_FALLBACK", subset_selectors: [{ keys: ["stage"] }, { keys: ["stage", "version"] }] },
    rows: [
      [{ stage: "dev" }, ["both", "stageOnly"]],
      [{ stage: "dev", version: "v1" }, ["both"]],
    ],
  },
  {
    name: "DEFAULT_SUBSET: an empty default_subset is every host, hosts without metadata included",
    hosts: [
      ["a", { version: "v1" }],
      ["bare", null],
    ],
    config: { fallback_policy: "DEFAULT_SUBSET", subset_selectors: [{ keys: ["version"] }] },
    rows: [[{ version: "v9" }, ["a", "bare"]]],
  },
  {
    name: "panic_mode_any applies only after the global fallback subset comes back empty",
    hosts: [
      ["a", { version: "v1" }],
      ["b", { version: "v2" }],
    ],
    config: {
      fallback_policy: "DEFAULT_SUBSET",
      default_subset: { version: "gone" },
      panic_mode_any: true,
      subset_selectors: [{ keys: ["version"] }, { keys: ["stage"], fallback_policy: "DEFAULT_SUBSET" }],
    },
    rows: [
      [{ version: "v9" }, ["a", "b"], "global DEFAULT_SUBSET is empty: panic to any host"],
      [{ stage: "x" }, NO_HOST, "a per-selector DEFAULT_SUBSET does not panic"],
    ],
  },
  {
    name: "without panic_mode_any an empty default subset is a 503",
    hosts: [["a", { version: "v1" }]],
    config: {
      fallback_policy: "DEFAULT_SUBSET",
      default_subset: { version: "gone" },
      subset_selectors: [{ keys: ["version"] }],
    },
    rows: [[{ version: "v9" }, NO_HOST]],
  },
  {
    name: "list_as_any: a list value on a host matches each of its elements, also for default_subset",
    hosts: [
      ["multi", { version: ["v1", "v2"] }],
      ["one", { version: "v2" }],
    ],
    config: {
      fallback_policy: "DEFAULT_SUBSET",
      default_subset: { version: "v1" },
      list_as_any: true,
      subset_selectors: [{ keys: ["version"] }],
    },
    rows: [
      [{ version: "v1" }, ["multi"]],
      [{ version: "v2" }, ["multi", "one"]],
      [{ version: "v3" }, ["multi"]],
    ],
  },
  {
    name: "without list_as_any a list value matches only the identical list",
    hosts: [["multi", { version: ["v1", "v2"] }]],
    config: { fallback_policy: "NO_FALLBACK", subset_selectors: [{ keys: ["version"] }] },
    rows: [
      [{ version: "v1" }, NO_HOST],
      [{ version: ["v1", "v2"] }, ["multi"]],
    ],
  },
  {
    name: "priorities: with every host healthy only the subset's lowest priority is reached",
    hosts: [
      ["a0", { version: "v1" }, 0],
      ["b1", { version: "v1" }, 1],
      ["c1", { version: "v2" }, 1],
    ],
    config: { fallback_policy: "ANY_ENDPOINT", subset_selectors: [{ keys: ["version"] }] },
    rows: [
      [{ version: "v1" }, ["a0"]],
      [{ version: "v2" }, ["c1"]],
      [{ version: "v9" }, ["a0"]],
    ],
  },
  {
    name: "single_host_per_subset across priorities: the first host of the lowest priority",
    hosts: [
      ["a1", { k: "x" }, 1],
      ["b0", { k: "x" }, 0],
      ["c0", { k: "x" }, 0],
    ],
    config: { fallback_policy: "NO_FALLBACK", subset_selectors: [{ keys: ["k"], single_host_per_subset: true }] },
    rows: [[{ k: "x" }, ["b0"]]],
  },
  {
    name: "a selector listed twice: the first one's fallback and single-host setting win",
    hosts: [
      ["a", { k: "1" }],
      ["b", { k: "1" }],
    ],
    config: {
      fallback_policy: "NO_FALLBACK",
      subset_selectors: [
        { keys: ["k"], fallback_policy: "ANY_ENDPOINT" },
        { keys: ["k"], single_host_per_subset: true },
      ],
    },
    rows: [
      [{ k: "1" }, ["a", "b"]],
      [{ k: "2" }, ["a", "b"]],
    ],
  },
];

const REDUNDANT_KEYS = {
  hosts: [
    ["dev1", { stage: "dev", version: "v1" }],
    ["dev2", { stage: "dev", version: "v2" }],
  ],
  config: {
    fallback_policy: "NO_FALLBACK",
    allow_redundant_keys: true,
    subset_selectors: [
      { keys: ["stage"], fallback_policy: "ANY_ENDPOINT" },
      { keys: ["stage", "version"], fallback_policy: "KEYS_SUBSET", fallback_keys_subset: ["stage"] },
    ],
  },
  rows: [
    [{ stage: "dev", version: "v1", zone: "a" }, ["dev1"], "extra key dropped: the largest selector wins"],
    [
      { stage: "dev", version: "v9", zone: "a" },
      ["dev1", "dev2"],
      "reduced to [stage, version], miss, KEYS_SUBSET to [stage]",
    ],
    [{ stage: "dev", zone: "a" }, ["dev1", "dev2"]],
    // Sorted by key count, [stage, version] builds the trie first, so [stage]'s ANY_ENDPOINT is never recorded.
    [{ stage: "qa", zone: "a" }, NO_HOST, "prefix selector lost its fallback (docs/envoy.md: Selector order)"],
    [{ zone: "a" }, NO_HOST, "no selector fully present: criteria used as they are"],
  ],
};

describe('model behaviour from code reading (docs/envoy.md "Subset load balancer")', () => {
  for (const { name, hosts, config, rows } of CODE_READING) {
    test(name, () => checkRows(reachability(hosts, config), rows));
  }

  test("allow_redundant_keys (typed Subset policy): first fully-present selector by key count, no cascade", () => {
    checkRows(reachability(REDUNDANT_KEYS.hosts, REDUNDANT_KEYS.config, { typed: true }), REDUNDANT_KEYS.rows);
  });

  test("a cluster without subset selectors balances over every host", () => {
    const reach = reachability(
      [
        ["a", { v: "1" }],
        ["b", null],
      ],
      { fallback_policy: "NO_FALLBACK", subset_selectors: [] },
    );
    assert.deepEqual(reach({ v: "9" }), ["a", "b"]);
  });

  test("host addresses are ip:port, IPv6 in brackets", () => {
    const cluster = clusterOf([["a", { ip: "::1" }]], { subset_selectors: [{ keys: ["ip"] }] });
    cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = "::1";
    assert.deepEqual(new SubsetLoadBalancer(cluster).hostsFor(new Map([["ip", str("::1")]])), { hosts: ["[::1]:80"] });
  });
});

describe("configurations the model refuses, with Envoy's reason where Envoy refuses them too", () => {
  const hosts = [["a", { k: "1" }]];
  const cases = [
    [
      { subset_selectors: [{ keys: ["a", "b"], fallback_policy: "KEYS_SUBSET" }] },
      /fallback_keys_subset cannot be empty/,
    ],
    [
      { subset_selectors: [{ keys: ["a", "b"], fallback_policy: "KEYS_SUBSET", fallback_keys_subset: ["c"] }] },
      /must be a subset of selector keys/,
    ],
    [
      { subset_selectors: [{ keys: ["a", "b"], fallback_policy: "KEYS_SUBSET", fallback_keys_subset: ["b", "a"] }] },
      /cannot be equal to keys/,
    ],
    [
      { subset_selectors: [{ keys: ["a"], fallback_policy: "NO_FALLBACK", fallback_keys_subset: ["a"] }] },
      /only for KEYS_SUBSET/,
    ],
    [{ subset_selectors: [{ keys: ["a"] }], fallback_policy: "SOMETIMES" }, /invalid enum value/],
    [{ subset_selectors: [{ keys: ["a"] }], allow_redundant_keys: true }, /unknown field "allow_redundant_keys"/],
    [{ subset_selectors: [{ keys: ["a"] }], scale_locality_weight: true }, /not modelled/],
    [{ subset_selectors: [{ keyz: ["a"] }] }, /unknown field "keyz"/],
  ];
  for (const [config, error] of cases) {
    test(`${JSON.stringify(config)} -> ${error}`, () => {
      assert.throws(() => new SubsetLoadBalancer(clusterOf(hosts, config)), error);
    });
  }

  test("unhealthy endpoints are refused rather than guessed", () => {
    const cluster = clusterOf(hosts, { subset_selectors: [{ keys: ["k"] }] });
    cluster.load_assignment.endpoints[0].lb_endpoints[0].health_status = "UNHEALTHY";
    assert.throws(() => new SubsetLoadBalancer(cluster), /UNHEALTHY is not modelled/);
  });
});
