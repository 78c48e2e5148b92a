// The seed's helloworld deployment through the composed models: what the filter writes (internal headers)
// -> header_to_metadata -> router criteria -> subset load balancer -> the endpoints a request can reach.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { routeThroughEnvoy } from "../../models/envoy.mjs";

const PORT = 8000;
// [stage, version, ip] of each helloworld pod (seed step 1; prod/v3 has two replicas).
const PODS = [
  ["dev", "v1", "192.168.0.5"],
  ["dev", "v2", "192.168.0.1"],
  ["dev", "v3", "192.168.0.252"],
  ["prod", "v2", "192.168.0.103"],
  ["prod", "v3", "192.168.0.104"],
  ["prod", "v3", "192.168.0.6"],
];
const ALL = PODS.map(([, , ip]) => `${ip}:${PORT}`);
const PROD_V3 = ["192.168.0.104:8000", "192.168.0.6:8000"];
const NO_HOST = "no healthy upstream";

// The internal header of each key (docs/behaviour.md "Metadata mode") and the header_to_metadata rule that turns it into envoy.lb metadata.
const KEY_HEADERS = {
  stage: "x-dynamic-subset-stage",
  version: "x-dynamic-subset-version",
  "%ip%": "x-dynamic-subset-%25ip%25",
};
const headerToMetadata = {
  "@type": "type.googleapis.com/envoy.extensions.filters.http.header_to_metadata.v3.Config",
  request_rules: Object.entries(KEY_HEADERS).map(([key, header]) => ({
    header,
    on_header_present: { metadata_namespace: "envoy.lb", key, type: "STRING" },
    remove: true,
  })),
};

/** The helloworld cluster with the seed's selectors; `policy` on the [stage, version] selector, as in step 3. */
function helloworld(policy) {
  return {
    name: "helloworld",
    type: "STATIC",
    lb_policy: "ROUND_ROBIN",
    lb_subset_config: {
      fallback_policy: "NO_FALLBACK",
      default_subset: { stage: "prod", version: "v3" },
      subset_selectors: [
        { keys: ["%ip%"], single_host_per_subset: true },
        { keys: ["stage", "version"], fallback_policy: policy },
      ],
    },
    load_assignment: {
      cluster_name: "helloworld",
      endpoints: [
        {
          lb_endpoints: PODS.map(([stage, version, ip]) => ({
            endpoint: { address: { socket_address: { address: ip, port_value: PORT } } },
            metadata: { filter_metadata: { "envoy.lb": { stage, version, "%ip%": ip } } },
          })),
        },
      ],
    },
  };
}

const POLICIES = ["NO_FALLBACK", "ANY_ENDPOINT", "DEFAULT_SUBSET"];
const CLUSTERS = Object.fromEntries(POLICIES.map((policy) => [policy, helloworld(policy)]));

// [what the filter wrote (key -> value), expected under NO_FALLBACK, ANY_ENDPOINT, DEFAULT_SUBSET, note]
const REQUESTS = [
  [{ stage: "dev", version: "v1" }, ["192.168.0.5:8000"], ["192.168.0.5:8000"], ["192.168.0.5:8000"], "step 2"],
  [{ stage: "prod", version: "v1" }, NO_HOST, ALL, PROD_V3, "step 3: no prod/v1 subset"],
  // Step 3 prints prod/v2 for `curl -H 'x-stage: prod'` under ANY_ENDPOINT, but the VirtualService in force defaults
  // x-version to v3, so the filter writes version=v3 and the answer is a prod/v3 pod (docs/testing.md "The seed walkthrough").
  [{ stage: "prod", version: "v3" }, PROD_V3, PROD_V3, PROD_V3, "step 3: x-stage: prod with version defaulted to v3"],
  [{ stage: "prod", version: "v2" }, ["192.168.0.103:8000"], ["192.168.0.103:8000"], ["192.168.0.103:8000"]],
  // Keys that are a strict part of the selector's end on an intermediate trie node: the global policy applies.
  [{ stage: "prod" }, NO_HOST, NO_HOST, NO_HOST, "stage alone: global NO_FALLBACK, not the selector's policy"],
  [{}, NO_HOST, NO_HOST, NO_HOST, "no keys: global NO_FALLBACK"],
  [
    { stage: "dev", version: "~invalid~" },
    NO_HOST,
    ALL,
    PROD_V3,
    "the unmatchable marker takes the selector's fallback",
  ],
  [{ "%ip%": "192.168.0.6" }, ["192.168.0.6:8000"], ["192.168.0.6:8000"], ["192.168.0.6:8000"], "step 4"],
  [{ "%ip%": "192.168.0.104" }, ["192.168.0.104:8000"], ["192.168.0.104:8000"], ["192.168.0.104:8000"]],
  [{ "%ip%": "10.9.9.9" }, NO_HOST, NO_HOST, NO_HOST, "unknown IP: the [%ip%] selector has no fallback of its own"],
];

function written(keys) {
  return Object.entries(keys).map(([key, value]) => [KEY_HEADERS[key], value]);
}

function answer(result) {
  return result.noHost ? NO_HOST : [...result.hosts].sort();
}

describe("seed helloworld through header_to_metadata and the subset load balancer", () => {
  POLICIES.forEach((policy, index) => {
    test(`[stage, version] fallbackPolicy ${policy}`, () => {
      for (const [keys, ...expectations] of REQUESTS) {
        const expected = expectations[index];
        const note = expectations[POLICIES.length] ?? "";
        const result = routeThroughEnvoy({ headerToMetadata, cluster: CLUSTERS[policy] }, [
          ...written(keys),
          ["x-request-id", "r1"],
        ]);
        assert.deepEqual(
          answer(result),
          Array.isArray(expected) ? [...expected].sort() : expected,
          `${JSON.stringify(keys)} ${note}`,
        );
        assert.deepEqual(result.headers, [["x-request-id", "r1"]], "internal headers never reach the upstream");
      }
    });
  });

  test("a 503 carries what the router sends: status, body and the UH flag", () => {
    const { noHost, status, body, flag } = routeThroughEnvoy(
      { headerToMetadata, cluster: CLUSTERS.NO_FALLBACK },
      written({ stage: "prod", version: "v1" }),
    );
    assert.deepEqual(
      { noHost, status, body, flag },
      { noHost: true, status: 503, body: "no healthy upstream", flag: "UH" },
    );
  });

  test("a route metadata_match is overridden by what the filter wrote", () => {
    const routeMetadataMatch = { filter_metadata: { "envoy.lb": { stage: "dev", version: "v2" } } };
    const envoy = { headerToMetadata, cluster: CLUSTERS.NO_FALLBACK, routeMetadataMatch };
    assert.deepEqual(answer(routeThroughEnvoy(envoy, [])), ["192.168.0.1:8000"]);
    assert.deepEqual(answer(routeThroughEnvoy(envoy, written({ version: "v3" }))), ["192.168.0.252:8000"]);
  });
});
