// Target envoy (src/render/envoy.ts): what the rendered Envoy configuration must contain for metadata mode to
// route the seed's requests, checked on the structure (and against Envoy's protos, proto-validate.mjs).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { parseAsm, readAsmFiles } from "../../dist/asm/index.js";
import { parseEndpoints, readEndpointsFile } from "../../dist/endpoints/index.js";
import { envoyYaml, keyHeaderName, renderEnvoy } from "../../dist/render/envoy.js";
import { pluginConfigProblems } from "../../dist/config/schema.js";
import { prefixSafeSelectors } from "../../dist/render/plugin-config.js";
import { step2Service } from "../../examples/helloworld/plugin-config.mjs";
import { validateEnvoy } from "./proto-validate.mjs";

const SEED = new URL("../../examples/helloworld/", import.meta.url).pathname;
const endpoints = readEndpointsFile(SEED + "endpoints.yaml").services;

const seed = (...files) => readAsmFiles(files.map((f) => SEED + f));
const bootstrapOf = (input, opts = {}) =>
  renderEnvoy([{ input }], { output: "bootstrap", endpoints, ...opts }).documents[0].value;
const hcmOf = (b, i = 0) => b.static_resources.listeners[i].filter_chains[0].filters[0].typed_config;
const clusterOf = (b, i = 0) => b.static_resources.clusters[i];
const pluginOf = (b, i = 0) => JSON.parse(hcmOf(b, i).http_filters[0].typed_config.config.configuration.value);

const drText = (dynamicSubset) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: helloworld, namespace: default}
spec:
  host: helloworld
  trafficPolicy: {loadBalancer: {dynamicSubset: ${dynamicSubset}}}
`;
const vsText = readFileSync(SEED + "step2-vs.yaml", "utf8");
/** The seed's VirtualService maps x-version too: selectors without version need --allow unused-key. */
const UNUSED_VERSION = { allowed: new Set(["unused-key"]) };
const inputWith = (dynamicSubset) =>
  parseAsm([
    { file: "dr.yaml", text: drText(dynamicSubset) },
    { file: "vs.yaml", text: vsText },
  ]);

test("the filter chain is wasm -> header_to_metadata -> router, with the plugin configuration as a StringValue", () => {
  const b = bootstrapOf(seed("step2-dr.yaml", "step2-vs.yaml"));
  const filters = hcmOf(b).http_filters;
  assert.deepEqual(
    filters.map((f) => f.name),
    ["envoy.filters.http.wasm", "envoy.filters.http.header_to_metadata", "envoy.filters.http.router"],
  );
  const wasm = filters[0].typed_config;
  assert.equal(wasm["@type"], "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm");
  assert.equal(wasm.config.root_id, "dynamic_subset");
  assert.equal(wasm.config.vm_config.runtime, "envoy.wasm.runtime.v8");
  assert.deepEqual(wasm.config.vm_config.code, { local: { filename: "build/dynamic_subset.wasm" } });
  assert.equal(wasm.config.configuration["@type"], "type.googleapis.com/google.protobuf.StringValue");
  // fail closed by Envoy's default on every version: neither fail_open: true nor failure_policy is written
  assert.equal(wasm.config.fail_open, undefined);
  assert.equal(wasm.config.failure_policy, undefined);
  assert.deepEqual(pluginOf(b), {
    mode: "metadata",
    services: [step2Service({ cluster: "helloworld.default.svc.cluster.local" })],
  });
  assert.deepEqual(validateEnvoy(b), []);
});

test("header_to_metadata: one rule per selector key, header = prefix + %xx-encoded key, envoy.lb STRING, removed", () => {
  const b = bootstrapOf(
    inputWith("{subsetSelectors: [{keys: [stage, version]}, {keys: ['%ip%']}, {keys: [app.kubernetes.io/version]}]}"),
  );
  assert.deepEqual(hcmOf(b).http_filters[1].typed_config.request_rules, [
    {
      header: "x-dynamic-subset-%25ip%25",
      on_header_present: { metadata_namespace: "envoy.lb", key: "%ip%", type: "STRING" },
      remove: true,
    },
    {
      header: "x-dynamic-subset-app.kubernetes.io%2fversion",
      on_header_present: { metadata_namespace: "envoy.lb", key: "app.kubernetes.io/version", type: "STRING" },
      remove: true,
    },
    {
      header: "x-dynamic-subset-stage",
      on_header_present: { metadata_namespace: "envoy.lb", key: "stage", type: "STRING" },
      remove: true,
    },
    {
      header: "x-dynamic-subset-version",
      on_header_present: { metadata_namespace: "envoy.lb", key: "version", type: "STRING" },
      remove: true,
    },
  ]);
  assert.deepEqual(validateEnvoy(b), []);
});

test("keyHeaderName encodes every byte outside [a-z0-9._-] as lower-case %xx (docs/behaviour.md, What the filter writes)", () => {
  assert.equal(keyHeaderName("x-dynamic-subset-", "version"), "x-dynamic-subset-version");
  assert.equal(keyHeaderName("x-dynamic-subset-", "%ip%"), "x-dynamic-subset-%25ip%25");
  assert.equal(
    keyHeaderName("x-dynamic-subset-", "app.kubernetes.io/version"),
    "x-dynamic-subset-app.kubernetes.io%2fversion",
  );
  assert.equal(keyHeaderName("x-dynamic-subset-", "Version"), "x-dynamic-subset-%56ersion");
  assert.equal(keyHeaderName("p-", "é"), "p-%c3%a9");
});

test("lb_subset_config: prefix-safe selector order, per-selector and global fallback, default_subset, %ip% single host", () => {
  const b = bootstrapOf(
    inputWith(
      "{subsetSelectors: [{keys: [version, stage], fallbackPolicy: ANY_ENDPOINT}, {keys: [stage], fallbackPolicy: DEFAULT_SUBSET}, {keys: ['%ip%']}], defaultSubset: {stage: prod, version: v3}, fallbackPolicy: NO_FALLBACK}",
    ),
  );
  const lb = clusterOf(b).lb_subset_config;
  assert.deepEqual(lb, {
    fallback_policy: "NO_FALLBACK",
    default_subset: { stage: "prod", version: "v3" },
    subset_selectors: [
      { keys: ["stage"], fallback_policy: "DEFAULT_SUBSET" }, // a prefix of [stage, version]: first, or Envoy drops its fallback
      { keys: ["%ip%"], single_host_per_subset: true },
      { keys: ["version", "stage"], fallback_policy: "ANY_ENDPOINT" },
    ],
  });
  // the plugin configuration lists the selectors in the same order
  assert.deepEqual(
    pluginOf(b).services[0].dynamicSubset.subsetSelectors.map((s) => s.keys),
    [["stage"], ["%ip%"], ["version", "stage"]],
  );
  assert.deepEqual(validateEnvoy(b), []);
});

/** docs/behaviour.md "Routing decision" step 3: exact key set; else most keys all in K, ties to the earlier selector; else none. */
function chooseSelector(selectors, keys) {
  const exact = selectors.find((s) => s.keys.length === keys.size && s.keys.every((k) => keys.has(k)));
  if (exact) return exact;
  let best;
  for (const s of selectors)
    if (s.keys.every((k) => keys.has(k)) && (!best || s.keys.length > best.keys.length)) best = s;
  return best;
}

test("prefix-safe reordering never changes the selector the filter picks, and is prefix-safe (random configurations)", () => {
  let state = 7; // mulberry32: a fixed, reproducible sequence
  const random = (n) => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const universe = ["a", "b", "c", "d", "e"];
  const subsetOf = () => universe.filter(() => random(2) === 1);
  for (let round = 0; round < 2000; round++) {
    const sets = new Map();
    for (let i = 0; i < 1 + random(6); i++) {
      const keys = subsetOf();
      if (keys.length > 0) sets.set(keys.join(","), { keys: random(2) ? keys : [...keys].reverse() });
    }
    const selectors = [...sets.values()];
    const ordered = prefixSafeSelectors(selectors);
    for (let i = 0; i < ordered.length; i++) {
      for (let j = i + 1; j < ordered.length; j++) {
        const [early, late] = [[...ordered[i].keys].sort(), [...ordered[j].keys].sort()];
        const lateIsPrefix = late.length < early.length && late.every((k, x) => early[x] === k);
        assert.ok(!lateIsPrefix, `${late} is a prefix of ${early} but comes later`);
      }
    }
    for (let q = 0; q < 8; q++) {
      const k = new Set(subsetOf());
      assert.equal(
        chooseSelector(ordered, k),
        chooseSelector(selectors, k),
        `K=${[...k]} selectors=${JSON.stringify(selectors)}`,
      );
    }
  }
});

test("every label value is a string: endpoint `version: 1`, defaultSubset `version: 1`, %ip% = the endpoint IP", () => {
  const eps = parseEndpoints({
    file: "e.yaml",
    text: "- host: helloworld.default.svc.cluster.local\n  port: 8000\n  endpoints:\n  - {address: 10.0.0.1, labels: {stage: prod, version: 1}}\n  - {address: 'fd00::1', port: 8080, labels: {stage: prod, version: 2}}\n",
  });
  assert.ok(eps.warnings.some((w) => w.includes('YAML number 1 read as the string "1"')));
  const input = inputWith(
    "{subsetSelectors: [{keys: [stage, version]}, {keys: ['%ip%']}], defaultSubset: {version: 1}, fallbackPolicy: DEFAULT_SUBSET}",
  );
  const result = renderEnvoy([{ input }], { output: "bootstrap", endpoints: eps.services });
  const c = clusterOf(result.documents[0].value);
  const meta = c.load_assignment.endpoints[0].lb_endpoints.map((e) => e.metadata.filter_metadata["envoy.lb"]);
  assert.deepEqual(meta, [
    { stage: "prod", version: "1", "%ip%": "10.0.0.1" },
    { stage: "prod", version: "2", "%ip%": "fd00::1" },
  ]);
  assert.deepEqual(c.lb_subset_config.default_subset, { version: "1" });
  // and the YAML text keeps them strings when Envoy reads it back
  const text = envoyYaml(result.documents);
  assert.match(text, /\n\s+version: "1"\n/);
  const reread = parse(text).static_resources.clusters[0];
  assert.equal(reread.load_assignment.endpoints[0].lb_endpoints[0].metadata.filter_metadata["envoy.lb"].version, "1");
  assert.equal(reread.lb_subset_config.default_subset.version, "1");
  assert.equal(reread.load_assignment.endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value, 8080);
  assert.deepEqual(validateEnvoy(parse(text)), []);
});

test("dynamicSubset.lbPolicy becomes the cluster's lb_policy; without it Envoy's default stays", () => {
  for (const policy of ["RANDOM", "ROUND_ROBIN", "LEAST_REQUEST"]) {
    const b = bootstrapOf(inputWith(`{subsetSelectors: [{keys: [stage]}], lbPolicy: ${policy}}`), UNUSED_VERSION);
    assert.equal(clusterOf(b).lb_policy, policy);
    assert.deepEqual(validateEnvoy(b), []);
  }
  assert.equal(
    clusterOf(bootstrapOf(inputWith("{subsetSelectors: [{keys: [stage]}]}"), UNUSED_VERSION)).lb_policy,
    undefined,
  );
});

test("Envoy route names are the names the plugin configuration uses (the filter reads xds.route_name)", () => {
  const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: hw, namespace: default}
spec:
  hosts: [helloworld]
  http:
  - name: api
    match: [{name: v1, uri: {prefix: /v1}, headers: {x-debug: {exact: "1"}}}, {uri: {exact: /api}, method: {exact: GET}}]
    headerToDynamicSubsetKey: [{header: x-version, key: version}]
    route: [{destination: {host: helloworld}}]
  - name: rest
    route: [{destination: {host: helloworld}}]
`;
  const input = parseAsm([
    { file: "dr.yaml", text: drText("{subsetSelectors: [{keys: [version]}]}") },
    { file: "vs.yaml", text: vs },
  ]);
  const b = bootstrapOf(input);
  const routes = hcmOf(b).route_config.virtual_hosts[0].routes;
  assert.deepEqual(
    routes.map((r) => r.name),
    ["api.v1", "api", "rest"],
  );
  assert.deepEqual(routes[0].match, { prefix: "/v1", headers: [{ name: "x-debug", string_match: { exact: "1" } }] });
  assert.deepEqual(routes[1].match, { path: "/api", headers: [{ name: ":method", string_match: { exact: "GET" } }] });
  assert.deepEqual(
    pluginOf(b).services[0].routes.map((r) => r.name),
    ["api.v1", "api"],
  );
  assert.deepEqual(hcmOf(b).route_config.virtual_hosts[0].domains, [
    "helloworld.default.svc.cluster.local",
    "helloworld",
    "helloworld.default",
    "helloworld.default.svc",
  ]);
  assert.deepEqual(validateEnvoy(b), []);
});

test("several variants: one listener each on consecutive ports, cluster names carry the variant", () => {
  const variants = [
    { name: "step2", input: seed("step2-dr.yaml", "step2-vs.yaml") },
    { name: "step4-ip", input: seed("step4-ip-dr-vs.yaml") },
  ];
  const b = renderEnvoy(variants, { output: "bootstrap", endpoints, port: 20000 }).documents[0].value;
  assert.deepEqual(
    b.static_resources.listeners.map((l) => [l.name, l.address.socket_address.port_value]),
    [
      ["step2", 20000],
      ["step4-ip", 20001],
    ],
  );
  assert.deepEqual(
    b.static_resources.clusters.map((c) => c.name),
    ["step2|helloworld.default.svc.cluster.local", "step4-ip|helloworld.default.svc.cluster.local"],
  );
  assert.equal(pluginOf(b, 1).services[0].cluster, "step4-ip|helloworld.default.svc.cluster.local");
  assert.equal(
    hcmOf(b, 1).route_config.virtual_hosts[0].routes[0].route.cluster,
    "step4-ip|helloworld.default.svc.cluster.local",
  );
  assert.deepEqual(validateEnvoy(b), []);
});

test("--output parts: plugin configuration, http_filters, route_config and clusters, each valid on its own", () => {
  const { documents } = renderEnvoy([{ input: seed("step4-ip-dr-vs.yaml") }], { output: "parts", endpoints });
  assert.equal(documents.length, 4);
  const [plugin, filters, routeConfig, cluster] = documents.map((d) => d.value);
  assert.equal(plugin.services[0].routes[0].headerToDynamicSubsetKey[0].key, "%ip%");
  for (const f of filters)
    assert.deepEqual(validateEnvoy(f, "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter"), []);
  assert.deepEqual(validateEnvoy(routeConfig, "envoy.config.route.v3.RouteConfiguration"), []);
  assert.deepEqual(validateEnvoy(cluster, "envoy.config.cluster.v3.Cluster"), []);
  assert.deepEqual(cluster.lb_subset_config.subset_selectors, [{ keys: ["%ip%"], single_host_per_subset: true }]);
  const texts = parseAllDocuments(envoyYaml(documents));
  assert.equal(texts.length, 4);
  assert.match(texts[0].commentBefore, /plugin configuration/);
});

test("input problems the envoy target cannot render are errors naming where they are", () => {
  const vs = (route) =>
    `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: hw}\nspec:\n  hosts: [helloworld]\n  http:\n  - ${route}\n`;
  const cases = [
    [
      `{name: r, match: [{queryParams: {a: {exact: b}}}], route: [{destination: {host: helloworld}}]}`,
      "vs.yaml#0 spec.http[0].match[0].queryParams: not supported by the envoy target",
    ],
    [
      `{name: r, route: [{destination: {host: helloworld, subset: v1}}]}`,
      "vs.yaml#0 spec.http[0].route[0].destination.subset: static subsets are not rendered by the envoy target",
    ],
    [
      `{name: r, match: [{uri: {suffix: x}}], route: [{destination: {host: helloworld}}]}`,
      "vs.yaml#0 spec.http[0].match[0].uri: must be one of {exact: ...}, {prefix: ...}, {regex: ...}",
    ],
    [
      `{name: r, route: [{destination: {host: nowhere}}]}`,
      "endpoints: no endpoints for nowhere.default.svc.cluster.local",
    ],
  ];
  for (const [route, expected] of cases) {
    const input = parseAsm([
      { file: "dr.yaml", text: drText("{subsetSelectors: [{keys: [stage]}]}") },
      { file: "vs.yaml", text: vs(route) },
    ]);
    assert.throws(
      () => renderEnvoy([{ input }], { output: "bootstrap", endpoints }),
      (e) => e.problems?.some((p) => p.startsWith(expected)) || assert.fail(e.problems?.join("\n") ?? e),
    );
  }
  const ignored = parseAsm([
    { file: "vs.yaml", text: vs("{name: r, retries: {attempts: 3}, route: [{destination: {host: helloworld}}]}") },
  ]);
  assert.deepEqual(renderEnvoy([{ input: ignored }], { output: "bootstrap", endpoints }).warnings, [
    "vs.yaml#0 spec.http[0].retries: not rendered by the envoy target (ignored)",
  ]);
});

test("endpoints file errors name the file, the path and the problem", () => {
  const problems = (text) => {
    try {
      parseEndpoints({ file: "e.yaml", text });
    } catch (e) {
      return e.problems;
    }
    assert.fail("expected an error");
  };
  assert.deepEqual(problems("- host: h\n  endpoints:\n  - {address: pod-1, labels: {'%ip%': 1.2.3.4, v: 'a b'}}\n"), [
    'e.yaml#0 [0].endpoints[0].address: must be an IPv4 or IPv6 literal, got "pod-1"',
    "e.yaml#0 [0].endpoints[0].port: is required (or give a port for the whole service)",
    "e.yaml#0 [0].endpoints[0].labels.%ip%: %ip% is not a label: the renderer derives it from the address",
    'e.yaml#0 [0].endpoints[0].labels.v: "a b" is not a valid label value (at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric)',
  ]);
  assert.deepEqual(problems("- {host: h, port: 70000, endpoints: []}\n"), [
    "e.yaml#0 [0].port: must be a port number (1-65535)",
  ]);
});

test("the rendered plugin configuration is valid against schema/plugin-config.schema.json", () => {
  const inputs = [
    seed("step2-dr.yaml", "step2-vs.yaml"),
    seed("step3-default-subset-dr.yaml", "step2-vs.yaml"),
    seed("step4-ip-dr-vs.yaml"),
    inputWith(
      "{subsetSelectors: [{keys: [version, stage], fallbackPolicy: ANY_ENDPOINT}, {keys: [stage]}, {keys: ['%ip%']}], defaultSubset: {stage: prod}, lbPolicy: RANDOM}",
    ),
  ];
  for (const input of inputs)
    assert.deepEqual(pluginConfigProblems(pluginOf(bootstrapOf(input, { responseHeader: true }))), []);
});
