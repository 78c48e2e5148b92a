// The rendered Envoy configuration and the compiled filter agree: every plugin configuration in envoy/envoy.yaml
// is accepted by build/dynamic_subset.wasm (in the proxy-wasm host emulator), and for the seed's requests the
// internal headers the filter writes are exactly what the listener's header_to_metadata rules turn into the
// envoy.lb metadata the subset load balancer needs. Client copies of those headers never get through.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { parseAsm } from "../../dist/asm/index.js";
import { renderEnvoy } from "../../dist/render/envoy.js";
import { ProxyWasmHost } from "../../emulator/index.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const WASM = ROOT + "build/dynamic_subset.wasm";
const SKIP = existsSync(WASM) ? false : "skipped: build/dynamic_subset.wasm not built (npm run build:wasm)";

/** The parts of one listener the filter and header_to_metadata see. */
function listeners() {
  const b = parse(readFileSync(ROOT + "envoy/envoy.yaml", "utf8"));
  return Object.fromEntries(
    b.static_resources.listeners.map((l) => {
      const hcm = l.filter_chains[0].filters[0].typed_config;
      const route = hcm.route_config.virtual_hosts[0].routes[0];
      return [
        l.name,
        {
          plugin: hcm.http_filters[0].typed_config.config.configuration.value,
          rules: hcm.http_filters[1].typed_config.request_rules,
          route: route.name,
          cluster: route.route.cluster,
        },
      ];
    }),
  );
}

/** Envoy's header_to_metadata for these rules: present header -> envoy.lb[key] = value (non-empty), header removed. */
function headerToMetadata(rules, headers) {
  const metadata = {};
  for (const rule of rules) {
    const value = headers.find(([name]) => name === rule.header)?.[1];
    if (value) metadata[rule.on_header_present.key] = value;
  }
  return metadata;
}

async function run(listener, requestHeaders, path = "/") {
  const host = await ProxyWasmHost.load(WASM, { pluginConfig: listener.plugin, rootId: "dynamic_subset" });
  assert.equal(host.start(), true, "the filter accepts the rendered plugin configuration");
  const stream = host.newStream({
    properties: { "xds.route_name": listener.route, "xds.cluster_name": listener.cluster },
  });
  stream.requestHeaders([
    [":method", "GET"],
    [":path", path],
    [":authority", "helloworld:8000"],
    ...Object.entries(requestHeaders),
  ]);
  const written = stream.requestHeaderMap.filter(([name]) => name.startsWith("x-dynamic-subset-"));
  return { written, metadata: headerToMetadata(listener.rules, stream.requestHeaderMap) };
}

const SEED_REQUESTS = [
  ["step2", { "x-stage": "dev", "x-version": "v1" }, { stage: "dev", version: "v1" }],
  ["step3-no-fallback", { "x-stage": "prod", "x-version": "v1" }, { stage: "prod", version: "v1" }],
  ["step3-any-endpoint", { "x-stage": "prod" }, { stage: "prod", version: "v3" }],
  ["step3-default-subset", { "x-stage": "prod", "x-version": "v1" }, { stage: "prod", version: "v1" }],
  ["step4-ip", { "x-ip": "127.0.0.6" }, { "%ip%": "127.0.0.6" }],
  // step 2 with the keys read from the other sources (envoy/README.md "Key sources")
  ["step2-cookie", { cookie: "stage=dev; version=v1" }, { stage: "dev", version: "v1" }],
  ["step2-query", {}, { stage: "dev", version: "v1" }, "/?stage=dev&version=v1"],
  ["step2-baggage", { baggage: "stage=dev,version=v1" }, { stage: "dev", version: "v1" }],
  ["step2-cookie", { "x-stage": "dev", "x-version": "v1" }, { stage: "prod", version: "v3" }],
];

test(
  "the seed's requests become exactly the envoy.lb metadata of their subset, through the rendered rules",
  { skip: SKIP },
  async () => {
    const all = listeners();
    for (const [name, headers, expected, path] of SEED_REQUESTS) {
      const { written, metadata } = await run(all[name], headers, path);
      assert.deepEqual(metadata, expected, name);
      const ruleHeaders = new Set(all[name].rules.map((r) => r.header));
      for (const [header] of written)
        assert.ok(
          ruleHeaders.has(header),
          `${name}: the filter wrote ${header}, which no header_to_metadata rule reads`,
        );
    }
  },
);

test(
  "internal headers sent by a client are stripped before header_to_metadata reads them",
  { skip: SKIP },
  async () => {
    for (const [name, listener] of Object.entries(listeners())) {
      const spoofed = Object.fromEntries(listener.rules.map((r) => [r.header, "spoofed"]));
      const { metadata } = await run(listener, spoofed);
      assert.ok(!Object.values(metadata).includes("spoofed"), `${name}: ${JSON.stringify(metadata)}`);
    }
  },
);

test(
  "plugin configurations the renderer makes from other ASM shapes are accepted by the filter too",
  { skip: SKIP },
  async () => {
    const dr = (ds) =>
      `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: hw}\nspec: {host: helloworld, trafficPolicy: {loadBalancer: {dynamicSubset: ${ds}}}}\n`;
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: hw}
spec:
  hosts: [helloworld]
  http:
  - name: api
    match: [{name: v1, uri: {prefix: /v1}}, {uri: {prefix: /api}}]
    headerToDynamicSubsetKey: [{header: x-version, key: version, defaultValue: "1"}]
    route: [{destination: {host: helloworld}}]
  - name: plain
    route: [{destination: {host: helloworld}}]
  - headerToDynamicSubsetKey: [{header: x-ip, key: '%ip%'}, {header: X-Stage, key: app.kubernetes.io/stage}]
    route: [{destination: {host: helloworld}}]
`;
    const shapes = [
      "{subsetSelectors: [{keys: [version, app.kubernetes.io/stage], fallbackPolicy: ANY_ENDPOINT}, {keys: [version], fallbackPolicy: DEFAULT_SUBSET}, {keys: ['%ip%']}], defaultSubset: {version: 1}, lbPolicy: LEAST_REQUEST}",
      "{subsetSelectors: [{keys: ['%ip%', version]}], defaultSubset: {'%ip%': 'fd00::1'}, fallbackPolicy: DEFAULT_SUBSET}",
    ];
    for (const shape of shapes) {
      const input = parseAsm([
        { file: "dr.yaml", text: dr(shape) },
        { file: "vs.yaml", text: vs },
      ]);
      const [plugin] = renderEnvoy([{ input }], {
        output: "plugin-config",
        endpoints: [],
        headerPrefix: "x-ds-",
        responseHeader: true,
        allowed: new Set(["unused-key"]), // the second shape's selectors do not use app.kubernetes.io/stage
      }).documents;
      const host = await ProxyWasmHost.load(WASM, {
        pluginConfig: JSON.stringify(plugin.value),
        rootId: "dynamic_subset",
      });
      assert.equal(host.start(), true, `${shape}: ${JSON.stringify(host.logs?.filter((l) => l.level === "error"))}`);
    }
  },
);
