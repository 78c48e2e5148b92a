// The scenario table of the differential suite (./differential.test.mjs): ASM configurations, the pods they route
// to and the requests to send, each run through the emulator (with the Envoy models, or the Istio model) and
// through real Envoy in both modes. A scenario is one configuration (one listener in metadata mode, one sidecar in
// catalog mode; `id` names the listener and the service), its requests are [name, value] pairs (case and repeats kept), an optional path, and `modes` when a
// request only makes sense in one mode.
//
// Pods live on 127.0.<n>.x: the seed's pods (examples/helloworld/pods.json) for the seed scenarios, pods of their
// own for the others, and the pods of `other`, a Service no configuration knows (the unconfigured cluster).

import { stringify } from "yaml";
import { stepFiles } from "../../examples/helloworld/walkthrough.mjs";

export const NAMESPACE = "default";
export const fqdn = (service) => `${service}.${NAMESPACE}.svc.cluster.local`;
/** The route token the istio target renders with, so that a request can carry a valid generated-route value. */
export const ROUTE_TOKEN = "0123456789abcdef0123456789abcdef";
const subsetValue = (subset) => `${subset}.${ROUTE_TOKEN}`;

/** The Service that no configuration names: its requests pass the filter untouched (but stripped). */
export const OTHER = {
  service: "other",
  pods: [
    { ip: "127.0.9.1", labels: { stage: "a" } },
    { ip: "127.0.9.2", labels: { stage: "b" } },
  ],
};

const SPOOFED = [
  ["X-Dynamic-Subset-Stage", "b"],
  ["x-dynamic-subset-stage", "a"],
  ["x-dynamic-subset-subset", subsetValue("ds-stage-b")],
  ["X-DYNAMIC-SUBSET-HOST", Buffer.from("127.0.9.1:80").toString("base64")],
];

function destination(service) {
  return { host: fqdn(service), port: { number: 8000 } };
}

/** One route of a VirtualService (ASM form: headerToDynamicSubsetKey beside the route). */
function httpRoute(name, service, { mappings, prefix } = {}) {
  return {
    ...(name ? { name } : {}),
    ...(prefix ? { match: [{ uri: { prefix } }] } : {}),
    ...(mappings ? { headerToDynamicSubsetKey: mappings } : {}),
    route: [{ destination: destination(service) }],
  };
}

/** ASM DestinationRule + VirtualService of `service`, as the one input file of a scenario. */
function asm(service, dynamicSubset, http) {
  const dr = {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "DestinationRule",
    metadata: { name: service, namespace: NAMESPACE },
    spec: { host: fqdn(service), trafficPolicy: { loadBalancer: { dynamicSubset } } },
  };
  const vs = {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: { name: service, namespace: NAMESPACE },
    spec: { hosts: [fqdn(service)], http },
  };
  return [{ file: `${service}.yaml`, text: `${stringify(dr)}---\n${stringify(vs)}` }];
}

const mapping = (header, key, defaultValue) => ({ header, key, ...(defaultValue ? { defaultValue } : {}) });

/** The seed's configuration of one walkthrough step, on the seed's pods. */
function seed(variant, requests, responseHeader = true) {
  return {
    id: `seed-${variant}`,
    title: `the seed's ${variant}`,
    service: "helloworld",
    files: stepFiles(variant),
    responseHeader,
    requests,
  };
}

const SEED_REQUESTS = {
  step2: [
    {
      name: "dev/v1",
      headers: [
        ["x-stage", "dev"],
        ["x-version", "v1"],
      ],
    },
    {
      name: "prod/v1 is missing: global NO_FALLBACK",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v1"],
      ],
    },
    { name: "no header: both defaults", headers: [] },
    { name: "one header, the other's default, any case", headers: [["X-Stage", "dev"]] },
    {
      name: "spoofed per-key headers, any case, repeated",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v2"],
        ["X-Dynamic-Subset-Stage", "dev"],
        ["x-dynamic-subset-version", "v1"],
        ["x-dynamic-subset-version", "v1"],
      ],
    },
    {
      name: "spoofed subset header with the route token (a client that read the token)",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v2"],
        ["x-dynamic-subset-subset", subsetValue("ds-stage-dev--version-v1")],
      ],
    },
    {
      name: "spoofed subset header with the route token, sent twice with another value first",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v2"],
        ["x-dynamic-subset-subset", "ds-stage-dev--version-v2.0000000000000000"],
        ["X-Dynamic-Subset-Subset", subsetValue("ds-stage-dev--version-v1")],
      ],
    },
    {
      name: "spoofed subset header with a guessed token",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v1"],
        ["x-dynamic-subset-subset", "ds-stage-dev--version-v1.0123"],
      ],
    },
  ],
  "step3-no-fallback": [
    {
      name: "prod/v1: 503",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v1"],
      ],
    },
    {
      name: "prod/v1 with the route token of prod/v2 (a client that read the token): still 503",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v1"],
        ["x-dynamic-subset-subset", subsetValue("ds-stage-prod--version-v2")],
      ],
    },
    {
      name: "prod/v2",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v2"],
      ],
    },
  ],
  "step3-any-endpoint": [
    { name: "x-stage prod alone: prod/v3", headers: [["x-stage", "prod"]] },
    {
      name: "prod/v1 with the route token of dev/v1: any pod, not dev/v1",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v1"],
        ["x-dynamic-subset-subset", subsetValue("ds-stage-dev--version-v1")],
      ],
    },
    {
      name: "prod/v1: any pod",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v1"],
      ],
    },
  ],
  "step3-default-subset": [
    {
      name: "prod/v1: the default subset prod/v3",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v1"],
      ],
    },
    {
      name: "dev/v2",
      headers: [
        ["x-stage", "dev"],
        ["x-version", "v2"],
      ],
    },
  ],
  "step4-ip": [
    { name: "%ip% of prod/v3", headers: [["x-ip", "127.0.0.6"]] },
    { name: "%ip% of dev/v3", headers: [["x-ip", "127.0.0.252"]] },
    { name: "%ip% of the terminating pod: global NO_FALLBACK", headers: [["x-ip", "127.0.0.88"]] },
    { name: "%ip% of the unready pod", headers: [["x-ip", "127.0.0.77"]] },
    { name: "%ip% not an IP: unmatchable", headers: [["x-ip", "not-an-ip"]] },
    { name: "%ip% with a port: unmatchable", headers: [["x-ip", "127.0.0.6:8000"]] },
    { name: "no key: no selector", headers: [] },
    {
      name: "spoofed session header naming real pods, any case, repeated",
      headers: ({ port }) => [
        ["x-ip", "127.0.0.6"],
        ["X-Dynamic-Subset-Host", Buffer.from(`127.0.0.5:${port}`).toString("base64")],
        ["x-dynamic-subset-host", Buffer.from(`127.0.0.252:${port}`).toString("base64")],
      ],
    },
    { name: "spoofed per-key %ip% header", headers: [["x-dynamic-subset-%25ip%25", "127.0.0.5"]] },
    {
      name: "%ip% with the route token of prod/v3: the pinned pod",
      headers: [
        ["x-ip", "127.0.0.252"],
        ["x-dynamic-subset-subset", subsetValue("ds-stage-prod--version-v3")],
      ],
    },
  ],
};

const ABCD = [
  { ip: "1", labels: { stage: "a", version: "v1", zone: "z1" } },
  { ip: "2", labels: { stage: "a", version: "v2", zone: "z1" } },
  { ip: "3", labels: { stage: "b", version: "v1", zone: "z2" } },
  { ip: "4", labels: { stage: "b", version: "v1", zone: "z2" } },
];
const STAGE_VERSION_ZONE = [mapping("x-stage", "stage"), mapping("x-version", "version"), mapping("x-zone", "zone")];

export const SCENARIOS = [
  seed("step2", SEED_REQUESTS.step2),
  seed("step3-no-fallback", SEED_REQUESTS["step3-no-fallback"], false),
  seed("step3-any-endpoint", SEED_REQUESTS["step3-any-endpoint"]),
  seed("step3-default-subset", SEED_REQUESTS["step3-default-subset"]),
  seed("step4-ip", SEED_REQUESTS["step4-ip"]),
  {
    id: "policies",
    title: "per-selector fallback policies",
    service: "policies",
    pods: ABCD,
    responseHeader: true,
    asm: asm(
      "policies",
      {
        subsetSelectors: [
          { keys: ["stage", "version"], fallbackPolicy: "ANY_ENDPOINT" },
          { keys: ["stage"], fallbackPolicy: "DEFAULT_SUBSET" },
          { keys: ["zone"] },
        ],
        defaultSubset: { stage: "a", version: "v1" },
        fallbackPolicy: "NO_FALLBACK",
      },
      [httpRoute("default", "policies", { mappings: STAGE_VERSION_ZONE })],
    ),
    requests: [
      {
        name: "a/v2 exists",
        headers: [
          ["x-stage", "a"],
          ["x-version", "v2"],
        ],
      },
      {
        name: "b/v2 missing: the selector's ANY_ENDPOINT",
        headers: [
          ["x-stage", "b"],
          ["x-version", "v2"],
        ],
      },
      { name: "stage c missing: the selector's DEFAULT_SUBSET", headers: [["x-stage", "c"]] },
      { name: "stage b exists (two pods)", headers: [["x-stage", "b"]] },
      { name: "zone z9 missing: the global NO_FALLBACK", headers: [["x-zone", "z9"]] },
      { name: "zone z1 exists", headers: [["x-zone", "z1"]] },
      { name: "no key: no selector, the global NO_FALLBACK", headers: [] },
    ],
  },
  {
    id: "anyglobal",
    title: "global ANY_ENDPOINT",
    service: "anyglobal",
    pods: ABCD,
    responseHeader: true,
    asm: asm("anyglobal", { subsetSelectors: [{ keys: ["stage", "version"] }], fallbackPolicy: "ANY_ENDPOINT" }, [
      httpRoute("default", "anyglobal", { mappings: STAGE_VERSION_ZONE }),
    ]),
    requests: [
      {
        name: "b/v1 exists",
        headers: [
          ["x-stage", "b"],
          ["x-version", "v1"],
        ],
      },
      {
        name: "b/v2 missing: any pod",
        headers: [
          ["x-stage", "b"],
          ["x-version", "v2"],
        ],
      },
      { name: "stage only: no selector, any pod", headers: [["x-stage", "a"]] },
    ],
  },
  {
    id: "defaultglobal",
    title: "global DEFAULT_SUBSET",
    service: "defaultglobal",
    pods: ABCD,
    responseHeader: true,
    asm: asm(
      "defaultglobal",
      {
        subsetSelectors: [{ keys: ["stage"] }],
        defaultSubset: { stage: "b", zone: "z2" },
        fallbackPolicy: "DEFAULT_SUBSET",
      },
      [httpRoute("default", "defaultglobal", { mappings: [mapping("x-stage", "stage", "a")] })],
    ),
    requests: [
      { name: "stage a (the default value)", headers: [] },
      { name: "stage c missing: the default subset b/z2", headers: [["x-stage", "c"]] },
    ],
  },
  {
    id: "emptydefault",
    title: "DEFAULT_SUBSET with a default subset no pod has",
    service: "emptydefault",
    pods: ABCD,
    responseHeader: true,
    asm: asm(
      "emptydefault",
      { subsetSelectors: [{ keys: ["stage"] }], defaultSubset: { stage: "gone" }, fallbackPolicy: "DEFAULT_SUBSET" },
      [httpRoute("default", "emptydefault", { mappings: [mapping("x-stage", "stage")] })],
    ),
    requests: [
      { name: "stage a exists", headers: [["x-stage", "a"]] },
      { name: "stage c missing: the empty default subset", headers: [["x-stage", "c"]] },
    ],
  },
  {
    id: "selectors",
    title: "the selector with the most keys",
    service: "selectors",
    pods: [
      { ip: "1", labels: { stage: "a", version: "v1", zone: "z1", tier: "t1" } },
      { ip: "2", labels: { stage: "a", version: "v2", zone: "z1" } },
      { ip: "3", labels: { stage: "b", version: "v1", zone: "z2" } },
      { ip: "4", labels: { stage: "b", version: "v2", zone: "z2" } },
    ],
    responseHeader: true,
    asm: asm(
      "selectors",
      {
        subsetSelectors: [{ keys: ["stage"] }, { keys: ["stage", "version"] }, { keys: ["version", "zone"] }],
        fallbackPolicy: "ANY_ENDPOINT",
      },
      [httpRoute("default", "selectors", { mappings: [...STAGE_VERSION_ZONE, mapping("x-tier", "tier")] })],
    ),
    requests: [
      { name: "stage: [stage]", headers: [["x-stage", "a"]] },
      {
        name: "stage and version: [stage, version]",
        headers: [
          ["x-stage", "a"],
          ["x-version", "v2"],
        ],
      },
      {
        name: "three keys, two selectors of two keys: the earlier one",
        headers: [
          ["x-stage", "b"],
          ["x-version", "v1"],
          ["x-zone", "z1"],
        ],
      },
      {
        name: "version, zone and an unselected key: [version, zone]",
        headers: [
          ["x-version", "v2"],
          ["x-zone", "z2"],
          ["x-tier", "t1"],
        ],
      },
      { name: "only an unselected key: no selector", headers: [["x-tier", "t1"]] },
      { name: "zone alone: no selector", headers: [["x-zone", "z1"]] },
    ],
  },
  {
    id: "unmatchable",
    title: "unmatchable values",
    service: "unmatchable",
    pods: [
      { ip: "1", labels: { stage: "a" } },
      { ip: "2", labels: { stage: "b" } },
    ],
    responseHeader: true,
    asm: asm(
      "unmatchable",
      {
        subsetSelectors: [
          { keys: ["stage"], fallbackPolicy: "DEFAULT_SUBSET" },
          { keys: ["%ip%"], fallbackPolicy: "ANY_ENDPOINT" },
        ],
        defaultSubset: { stage: "a" },
        fallbackPolicy: "NO_FALLBACK",
      },
      [httpRoute("default", "unmatchable", { mappings: [mapping("x-stage", "stage"), mapping("x-ip", "%ip%")] })],
    ),
    requests: [
      { name: "a valid value", headers: [["x-stage", "b"]] },
      { name: "not a label value (space, !)", headers: [["x-stage", "not valid!"]] },
      { name: "not a label value (leading -)", headers: [["x-stage", "-b"]] },
      { name: "64 characters", headers: [["x-stage", "b".repeat(64)]] },
      { name: "more than 8 KiB", headers: [["x-stage", "b".repeat(9000)]] },
      { name: "empty: absent, no key", headers: [["x-stage", ""]] },
      { name: "%ip% not an address", headers: [["x-ip", "999.1.1.1"]] },
      { name: "%ip% of no pod", headers: [["x-ip", "127.0.99.9"]] },
    ],
  },
  {
    id: "routes",
    title: "routes: no mapping, and a route to an unconfigured cluster",
    service: "routes",
    pods: [
      { ip: "1", labels: { stage: "a" } },
      { ip: "2", labels: { stage: "b" } },
    ],
    responseHeader: false,
    asm: asm(
      "routes",
      { subsetSelectors: [{ keys: ["stage"] }], defaultSubset: { stage: "a" }, fallbackPolicy: "DEFAULT_SUBSET" },
      [
        httpRoute("other", "other", { prefix: "/other" }),
        httpRoute("mapped", "routes", { prefix: "/mapped", mappings: [mapping("x-stage", "stage")] }),
        httpRoute("plain", "routes"),
      ],
    ),
    requests: [
      { name: "mapped route, stage b", path: "/mapped", headers: [["x-stage", "b"]] },
      { name: "mapped route, stage c missing: DEFAULT_SUBSET", path: "/mapped", headers: [["x-stage", "c"]] },
      { name: "a route without mappings: no keys, no selector", path: "/plain", headers: [["x-stage", "b"]] },
      { name: "unconfigured cluster", path: "/other", headers: [["x-stage", "b"]] },
      { name: "unconfigured cluster, spoofed internal headers", path: "/other", headers: SPOOFED },
      {
        name: "mapped route, stage c, with the route token of stage b: DEFAULT_SUBSET",
        path: "/mapped",
        headers: [
          ["x-stage", "c"],
          ["x-dynamic-subset-subset", subsetValue("ds-stage-b")],
        ],
      },
      {
        name: "another service on the port (its own virtual host)",
        modes: ["catalog"],
        headers: [["host", "other:8000"], ...SPOOFED],
      },
    ],
  },
  {
    id: "unnamed",
    title: "a route without a name (generated routes http-0.<subset>), and the route token",
    service: "unnamed",
    pods: [
      { ip: "1", labels: { stage: "a" } },
      { ip: "2", labels: { stage: "b" } },
    ],
    responseHeader: true,
    asm: asm("unnamed", { subsetSelectors: [{ keys: ["stage"] }], fallbackPolicy: "NO_FALLBACK" }, [
      httpRoute(undefined, "unnamed", { mappings: [mapping("x-stage", "stage")] }),
    ]),
    requests: [
      { name: "stage a", headers: [["x-stage", "a"]] },
      { name: "stage c missing: 503", headers: [["x-stage", "c"]] },
      {
        name: "stage c with the route token of stage b: still 503",
        headers: [
          ["x-stage", "c"],
          ["x-dynamic-subset-subset", subsetValue("ds-stage-b")],
        ],
      },
      {
        name: "stage a with the route token of stage b: stage a",
        headers: [
          ["x-stage", "a"],
          ["x-dynamic-subset-subset", subsetValue("ds-stage-b")],
        ],
      },
    ],
  },
];

/** A scenario's pods with their 127.0.<n>.x addresses (n from the scenario's place in the table). */
export function scenarioPods(scenario) {
  const n = 10 + SCENARIOS.indexOf(scenario);
  return (scenario.pods ?? []).map((p) => ({
    ip: `127.0.${n}.${p.ip}`,
    labels: { app: scenario.service, ...p.labels },
  }));
}
