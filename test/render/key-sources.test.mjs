// Key sources in the renderer (docs/configuration.md "Key sources"): an ASM headerToDynamicSubsetKey entry names
// exactly one of header, cookie, query, baggage; the renderer reads it with file#document path errors, applies the
// same name rules as the plugin configuration's schema and the filter, refuses what the filter would refuse
// (a cookie or baggage mapping under a header prefix that covers the cookie or baggage header), and writes the
// mapping unchanged into the plugin configuration of both targets. The Istio target's generated routes do not
// change with the source: only the filter reads the value.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { ProxyWasmHost } from "../../emulator/index.mjs";
import { WASM } from "../../envoy/emulated-envoy.mjs";
import { parseAsm, readAsmFiles } from "../../dist/asm/index.js";
import { pluginConfigProblems } from "../../dist/config/schema.js";
import { InputError } from "../../dist/input/errors.js";
import { parsePods, parseService } from "../../dist/k8s/pods.js";
import { renderEnvoy } from "../../dist/render/envoy.js";
import { renderIstio } from "../../dist/render/istio.js";
import { pluginServices } from "../../dist/render/plugin-config.js";
import { IstioSidecar, emulatedFilter } from "../e2e/mesh-istio.mjs";

const SEED = "examples/helloworld";
const SOURCES = ["cookie", "query", "baggage"];
const byCluster = (dr) => ({ cluster: dr.host });
const noFilter = existsSync(WASM) ? false : `skipped: ${WASM} not built (npm run build:wasm)`;

const DR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: hw, namespace: default}
spec:
  host: helloworld.default.svc.cluster.local
  trafficPolicy: {loadBalancer: {dynamicSubset: {subsetSelectors: [{keys: [stage]}]}}}
`;
const vsWith = (mappings) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: hw, namespace: default}
spec:
  hosts: [helloworld.default.svc.cluster.local]
  http:
  - name: default
    headerToDynamicSubsetKey: ${JSON.stringify(mappings)}
    route: [{destination: {host: helloworld.default.svc.cluster.local, port: {number: 8000}}}]
`;
const inputWith = (mappings) =>
  parseAsm([
    { file: "dr.yaml", text: DR },
    { file: "vs.yaml", text: vsWith(mappings) },
  ]);

function problemsOf(run) {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof InputError, String(e?.stack ?? e));
    return e.problems;
  }
  assert.fail("expected an InputError");
}

test("examples/helloworld/step2-vs-{cookie,query,baggage}.yaml: the step-2 mappings, read from each source, as written", () => {
  const header = pluginServices(readAsmFiles([`${SEED}/step2-dr.yaml`, `${SEED}/step2-vs.yaml`]), byCluster);
  for (const source of SOURCES) {
    const input = readAsmFiles([`${SEED}/step2-dr.yaml`, `${SEED}/step2-vs-${source}.yaml`]);
    assert.deepEqual(input.warnings, []);
    const { services } = pluginServices(input, byCluster);
    assert.deepEqual(services[0].routes, [
      {
        name: "default",
        headerToDynamicSubsetKey: [
          { [source]: "version", key: "version", defaultValue: "v3" },
          { [source]: "stage", key: "stage", defaultValue: "prod" },
        ],
      },
    ]);
    // everything but the mappings is what the header version renders
    assert.deepEqual({ ...services[0], routes: undefined }, { ...header.services[0], routes: undefined });
  }
});

test("a mapping names exactly one source, with a name valid for that source; each problem names file#doc and path", () => {
  const at = "vs.yaml#0 spec.http[0].headerToDynamicSubsetKey";
  const cases = [
    [{ key: "stage" }, `${at}[0]: one of header, cookie, query, baggage is required`],
    [
      { header: "x-stage", cookie: "stage", key: "stage" },
      `${at}[0]: header, cookie, query and baggage are mutually exclusive; give exactly one (found header, cookie)`,
    ],
    [
      { query: "stage", baggage: "stage", key: "stage" },
      `${at}[0]: header, cookie, query and baggage are mutually exclusive; give exactly one (found query, baggage)`,
    ],
    [{ cookie: "stage;", key: "stage" }, `${at}[0].cookie: "stage;" is not a valid cookie name`],
    [{ cookie: "", key: "stage" }, `${at}[0].cookie: must be a cookie name`],
    [{ query: "stage=dev", key: "stage" }, `${at}[0].query: "stage=dev" is not a valid query parameter name`],
    [{ query: "st%61ge", key: "stage" }, `${at}[0].query: "st%61ge" is not a valid query parameter name`],
    [{ query: "a b", key: "stage" }, `${at}[0].query: "a b" is not a valid query parameter name`],
    [{ baggage: "stage,lane", key: "stage" }, `${at}[0].baggage: "stage,lane" is not a valid baggage key`],
    [{ baggage: ["stage"], key: "stage" }, `${at}[0].baggage: must be a baggage key`],
    [{ cookie: "stage", key: "bad key" }, `${at}[0].key: "bad key" is not a valid label key`],
    [{ query: "stage", key: "stage", defaultValue: "not valid" }, `${at}[0].defaultValue: "not valid" is not a valid`],
    [
      { cookie: "stage", key: "stage", cookies: "x" },
      `${at}[0].cookies: unknown field (expected one of: header, cookie, query, baggage, key, defaultValue)`,
    ],
  ];
  for (const [mapping, expected] of cases) {
    const problems = problemsOf(() => inputWith([mapping]));
    assert.ok(
      problems.some((p) => p.startsWith(expected)),
      `${JSON.stringify(mapping)}: expected "${expected}" in:\n${problems.join("\n")}`,
    );
  }
  // every problem of one input at once
  assert.equal(problemsOf(() => inputWith(cases.map(([m]) => m))).length, cases.length);
});

test("source names: the renderer accepts exactly the names the plugin configuration's schema accepts", () => {
  const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
  const names = [
    ...printable,
    ...printable.map((c) => `a${c}b`),
    "é",
    "stage\t",
    "x-dynamic-subset-stage",
    "app.kubernetes.io/tier",
  ];
  const schemaAccepts = (source, name) =>
    pluginConfigProblems({
      services: [
        {
          cluster: "c",
          dynamicSubset: { subsetSelectors: [{ keys: ["stage"] }] },
          routes: [{ headerToDynamicSubsetKey: [{ [source]: name, key: "stage" }] }],
        },
      ],
    }).length === 0;
  const rendererAccepts = (source, name) => {
    try {
      inputWith([{ [source]: name, key: "stage" }]);
      return true;
    } catch (e) {
      if (e instanceof InputError) return false;
      throw e;
    }
  };
  const accepted = {};
  for (const source of ["header", ...SOURCES]) {
    accepted[source] = 0;
    for (const name of names) {
      const schema = schemaAccepts(source, name);
      assert.equal(rendererAccepts(source, name), schema, `${source}: ${JSON.stringify(name)}`);
      if (schema) accepted[source]++;
    }
  }
  // not a vacuous agreement: each source accepts some names and refuses others, and query differs from tokens
  for (const [source, n] of Object.entries(accepted)) assert.ok(n > 50 && n < names.length, `${source}: ${n}`);
  assert.ok(accepted.query !== accepted.cookie);
});

/** The filter's verdict on a plugin configuration (the compiled module in the emulator): -> its error lines. */
async function filterErrors(plugin) {
  const host = await ProxyWasmHost.load(WASM, { pluginConfig: JSON.stringify(plugin), rootId: "dynamic_subset" });
  return host.start() ? [] : host.logsAt("error");
}

test(
  "a header prefix that covers the cookie or baggage header is refused as the filter refuses it; a query parameter, or a cookie's own name, is no header",
  { skip: noFilter },
  async () => {
    const render = (mappings, headerPrefix) =>
      renderEnvoy([{ input: inputWith(mappings) }], { output: "plugin-config", endpoints: [], headerPrefix })
        .documents[0].value;
    const at = "vs.yaml#0 spec.http[0].headerToDynamicSubsetKey[0]";
    const refused = [
      [{ cookie: "stage", key: "stage" }, "c", `${at}.cookie: reads the cookie header`],
      [{ cookie: "stage", key: "stage" }, "cookie", `${at}.cookie: reads the cookie header`],
      [{ baggage: "stage", key: "stage" }, "bag", `${at}.baggage: reads the baggage header`],
      [{ header: "x-stage", key: "stage" }, "x-", `${at}.header: x-stage is an internal header of the filter`],
    ];
    for (const [mapping, prefix, expected] of refused) {
      const problems = problemsOf(() => render([mapping], prefix));
      assert.ok(problems[0].startsWith(expected), `${prefix}: ${problems.join("\n")}`);
      // the filter refuses the configuration the renderer would have written
      const plugin = { ...render([mapping], "x-ds-"), headerPrefix: prefix };
      assert.match((await filterErrors(plugin)).join("\n"), /headerPrefix/, `${JSON.stringify(mapping)} ${prefix}`);
    }
    const accepted = [
      [{ query: "stage", key: "stage" }, "c"], // the query is read from :path; no prefix (a token) covers it
      [{ query: "x-dynamic-subset-stage", key: "stage" }, undefined],
      [{ cookie: "x-dynamic-subset-stage", key: "stage" }, undefined], // a cookie named like an internal header
      [{ baggage: "x-dynamic-subset-stage", key: "stage" }, undefined],
      [{ baggage: "stage", key: "stage" }, "c"],
      [{ cookie: "stage", key: "stage" }, "b"],
    ];
    for (const [mapping, prefix] of accepted) {
      const plugin = render([mapping], prefix);
      assert.deepEqual(plugin.services[0].routes[0].headerToDynamicSubsetKey, [mapping]);
      assert.deepEqual(await filterErrors(plugin), [], `${JSON.stringify(mapping)} ${prefix}`);
    }
  },
);

const PODS = `${SEED}/pods.json`;
const SERVICE = "istio/app.yaml";
const ROUTE_TOKEN = "0123456789abcdef0123456789abcdef";
const istio = (vsFile) =>
  renderIstio(
    readAsmFiles([`${SEED}/step2-dr.yaml`, vsFile]),
    {
      pods: parsePods(readFileSync(PODS, "utf8"), PODS),
      services: [parseService(readFileSync(SERVICE, "utf8"), SERVICE)],
    },
    { routeToken: ROUTE_TOKEN, wasmUrl: "oci://registry.example.com/dynamic-subset:0.1.0" },
  );
const documents = (yaml) =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS())
    .filter(Boolean);

test(
  "istio target: the same DestinationRule and VirtualService whatever the source; the WasmPlugin carries the mapping, and the sidecar routes by it",
  { skip: noFilter },
  async () => {
    const header = istio(`${SEED}/step2-vs.yaml`);
    const steered = (out) => documents(out.yaml).filter((d) => d.kind !== "WasmPlugin");
    for (const source of SOURCES) {
      const out = istio(`${SEED}/step2-vs-${source}.yaml`);
      // Istio never sees the mapping: the generated routes match only the subset header the filter writes
      assert.deepEqual(steered(out), steered(header), source);
      assert.deepEqual(out.pluginConfig.services[0].routes[0].headerToDynamicSubsetKey, [
        { [source]: "version", key: "version", defaultValue: "v3" },
        { [source]: "stage", key: "stage", defaultValue: "prod" },
      ]);
      const [wasmPlugin] = documents(out.yaml).filter((d) => d.kind === "WasmPlugin");
      assert.deepEqual(wasmPlugin.spec.pluginConfig, out.pluginConfig);
      // in the Istio sidecar model with the filter: dev/v1 asked for through the source lands on the dev/v1 pod
      const host = await ProxyWasmHost.load(WASM, {
        pluginConfig: JSON.stringify(out.pluginConfig),
        rootId: "dynamic_subset",
      });
      assert.ok(host.start(), host.logsAt("error").join("\n"));
      const sidecar = new IstioSidecar(out.yaml, readFileSync(PODS, "utf8"), readFileSync(SERVICE, "utf8"));
      const ask = {
        cookie: [[["cookie", "stage=dev; version=v1"]], "/"],
        query: [[], "/?stage=dev&version=v1"],
        baggage: [[["baggage", "stage=dev,version=v1"]], "/"],
      }[source];
      const got = sidecar.request(ask[0], emulatedFilter(host), { path: ask[1] });
      assert.deepEqual([got.status, got.pods], [200, ["192.168.0.5"]], source);
      const defaults = sidecar.request([["x-stage", "dev"]], emulatedFilter(host));
      assert.deepEqual([defaults.status, defaults.pods], [200, ["192.168.0.104", "192.168.0.6"]], source);
    }
  },
);
