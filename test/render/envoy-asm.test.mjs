// The ASM input parser (src/asm) and the services[] entries built from it (src/render/plugin-config.ts):
// the seed's YAML reads as ASM means it, label-like values are strings, and every input error names the
// document, the path and the problem.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAsm, readAsmFiles } from "../../dist/asm/index.js";
import { InputError } from "../../dist/input/errors.js";
import { envoyRouteNames, pluginServices } from "../../dist/render/plugin-config.js";
import { step2Service } from "../../examples/helloworld/plugin-config.mjs";

const SEED = new URL("../../examples/helloworld/", import.meta.url).pathname;
const byCluster = (dr) => ({ cluster: dr.host });

function problemsOf(text, file = "in.yaml") {
  try {
    parseAsm([{ file, text }]);
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    return e.problems;
  }
  assert.fail("expected an InputError");
}

const dr = (dynamicSubset, extra = "") => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: hw, namespace: default}
spec:
  host: helloworld
  trafficPolicy:
    loadBalancer:
      dynamicSubset: ${dynamicSubset}
${extra}`;

test("seed step 2: DestinationRule + VirtualService give the services[] entry of docs/configuration.md", () => {
  const input = readAsmFiles([SEED + "step2-dr.yaml", SEED + "step2-vs.yaml"]);
  assert.equal(input.destinationRules.length, 1);
  assert.equal(input.virtualServices.length, 1);
  assert.deepEqual(input.warnings, []);
  const { services } = pluginServices(input, byCluster);
  assert.deepEqual(services, [step2Service({ cluster: "helloworld.default.svc.cluster.local" })]);
});

test("seed step 3 DEFAULT_SUBSET and step 4 %ip%: policies, defaultSubset and the %ip% mapping are kept", () => {
  const step3 = pluginServices(readAsmFiles([SEED + "step3-default-subset-dr.yaml", SEED + "step2-vs.yaml"]), (d) => ({
    host: d.host,
  }));
  assert.deepEqual(step3.services[0].dynamicSubset, {
    subsetSelectors: [{ keys: ["stage", "version"], fallbackPolicy: "DEFAULT_SUBSET" }],
    defaultSubset: { stage: "prod", version: "v3" },
  });
  assert.equal(step3.services[0].host, "helloworld.default.svc.cluster.local");
  const step4 = pluginServices(readAsmFiles([SEED + "step4-ip-dr-vs.yaml"]), byCluster);
  assert.deepEqual(step4.services[0].routes, [
    { name: "default", headerToDynamicSubsetKey: [{ header: "x-ip", key: "%ip%" }] },
  ]);
});

test("YAML numbers and booleans in label positions are read back as the text written, with a warning", () => {
  const input = parseAsm([
    {
      file: "v.yaml",
      text: dr(
        "{subsetSelectors: [{keys: [version, 1]}], defaultSubset: {version: 1.0, 1: true}, fallbackPolicy: DEFAULT_SUBSET}",
      ),
    },
  ]);
  const ds = input.destinationRules[0].dynamicSubset;
  assert.deepEqual(ds.subsetSelectors[0].keys, ["version", "1"]);
  assert.deepEqual(ds.defaultSubset, { version: "1.0", 1: "true" });
  assert.ok(
    input.warnings.some((w) =>
      w.startsWith(
        'v.yaml#0 spec.trafficPolicy.loadBalancer.dynamicSubset.defaultSubset.version: YAML number 1.0 read as the string "1.0"',
      ),
    ),
    input.warnings.join("\n"),
  );
});

test("input errors name the file#document, the path and the problem; all problems are reported at once", () => {
  const problems = problemsOf(
    "kind: Service\n---\n" +
      dr("{subsetSelectors: [{keys: []}, {keys: ['%host%'], fallbackPolicy: SOMETIMES}], lbPolicy: MAGLEV, typo: 1}"),
    "dr.yaml",
  );
  assert.deepEqual(problems, [
    "dr.yaml#1 spec.trafficPolicy.loadBalancer.dynamicSubset.typo: unknown field (expected one of: subsetSelectors, defaultSubset, fallbackPolicy, lbPolicy)",
    "dr.yaml#1 spec.trafficPolicy.loadBalancer.dynamicSubset.subsetSelectors[0].keys: must be a non-empty list of distinct strings",
    "dr.yaml#1 spec.trafficPolicy.loadBalancer.dynamicSubset.subsetSelectors[1].keys[0]: unknown built-in attribute %host% (only %ip% is supported)",
    "dr.yaml#1 spec.trafficPolicy.loadBalancer.dynamicSubset.subsetSelectors[1].fallbackPolicy: must be one of NO_FALLBACK, ANY_ENDPOINT, DEFAULT_SUBSET",
    "dr.yaml#1 spec.trafficPolicy.loadBalancer.dynamicSubset.lbPolicy: must be one of RANDOM, ROUND_ROBIN, LEAST_REQUEST",
  ]);
});

test("each rule of docs/configuration.md and docs/behaviour.md on the input has its own message", () => {
  const cases = [
    [
      dr("{subsetSelectors: [{keys: [a, a]}]}"),
      "subsetSelectors[0].keys: must be a non-empty list of distinct strings",
    ],
    [
      dr("{subsetSelectors: [{keys: [a, b]}, {keys: [b, a]}]}"),
      "subsetSelectors[1].keys: same key set as subsetSelectors[0]",
    ],
    [
      dr("{subsetSelectors: [{keys: [a], fallbackPolicy: DEFAULT_SUBSET}]}"),
      "dynamicSubset.defaultSubset: is required when a fallbackPolicy is DEFAULT_SUBSET",
    ],
    [
      dr("{subsetSelectors: [{keys: [a]}], defaultSubset: {a: 'not valid'}}"),
      'defaultSubset.a: "not valid" is not a valid label value',
    ],
    [
      dr("{subsetSelectors: [{keys: ['%ip%']}], defaultSubset: {'%ip%': pod-1}}"),
      'defaultSubset.%ip%: must be an IPv4 or IPv6 literal for %ip%, got "pod-1"',
    ],
    [dr("{subsetSelectors: [{keys: [a]}], defaultSubset: {a: ''}}"), "defaultSubset.a: must be a label value"],
    [dr("{subsetSelectors: []}"), "dynamicSubset.subsetSelectors: must be a non-empty list of selectors"],
    [
      dr("{subsetSelectors: [{keys: [a]}]}").replace("v1\n", "v2\n"),
      "apiVersion: must be networking.istio.io/v1, v1beta1 or v1alpha3 for a DestinationRule",
    ],
    [dr("{subsetSelectors: [{keys: [a]}]}").replace("name: hw, ", ""), "metadata.name: must be a non-empty string"],
    [
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [h]\n  http:\n  - name: r\n    headerToDynamicSubsetKey:\n    - {header: ':authority', key: a}\n",
      'spec.http[0].headerToDynamicSubsetKey[0].header: ":authority" is not a header-name token',
    ],
    [
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  hosts: [h]\n  http:\n  - headerToDynamicSubsetKey:\n    - {header: x-ip, key: '%ip%', defaultValue: 'localhost', extra: 1}\n",
      "spec.http[0].headerToDynamicSubsetKey[0].extra: unknown field (expected one of: header, cookie, query, baggage, key, defaultValue)",
    ],
    [
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec: {hosts: []}\n",
      "spec.hosts: must be a non-empty list of host names",
    ],
    ["a: [1,\n", "in.yaml#0: YAML error:"],
  ];
  for (const [text, expected] of cases) {
    const problems = problemsOf(text);
    assert.ok(
      problems.some((p) => p.startsWith("in.yaml#0") && p.includes(expected)),
      `expected "${expected}" in:\n${problems.join("\n")}`,
    );
  }
});

test("kind List is expanded; other kinds are skipped with a warning", () => {
  const text = `kind: List\nitems:\n- ${dr("{subsetSelectors: [{keys: [a]}]}").replace(/\n/g, "\n  ")}\n- {kind: ConfigMap}\n`;
  const input = parseAsm([{ file: "l.yaml", text }]);
  assert.equal(input.destinationRules.length, 1);
  assert.equal(input.destinationRules[0].ref, "l.yaml#0.items[0]");
  assert.deepEqual(input.warnings, [
    "l.yaml#0.items[1]: kind ConfigMap ignored (only DestinationRule and VirtualService are read)",
  ]);
});

const vs = (http) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec:
  hosts: [helloworld]
  http: ${JSON.stringify(http)}
`;
const to = (host = "helloworld") => [{ destination: { host, port: { number: 8000 } } }];
const mapping = (header, key) => ({ header, key });

test("routes: Istio's route names (name, name.<match name>) become the routes[] entries of the destination's service", () => {
  const input = parseAsm([
    { file: "dr.yaml", text: dr("{subsetSelectors: [{keys: [version]}]}") },
    {
      file: "vs.yaml",
      text: vs([
        {
          name: "api",
          match: [{ name: "v1", uri: { prefix: "/v1" } }, { uri: { prefix: "/api" } }],
          headerToDynamicSubsetKey: [mapping("x-version", "version")],
          route: to(),
        },
        { name: "other", headerToDynamicSubsetKey: [mapping("x-v", "version")], route: to("elsewhere") },
      ]),
    },
  ]);
  assert.deepEqual(envoyRouteNames(input.virtualServices[0].http[0]), ["api.v1", "api"]);
  const { services, warnings } = pluginServices(input, byCluster);
  assert.deepEqual(
    services[0].routes.map((r) => r.name),
    ["api.v1", "api"],
  );
  assert.deepEqual(warnings, [
    "vs.yaml#0 spec.http[1].headerToDynamicSubsetKey: no destination of this route has a DestinationRule with dynamicSubset; ignored",
  ]);
});

test("routes: an unnamed route becomes the entry without name, and named routes without mappings keep 'no mapping'", () => {
  const input = parseAsm([
    { file: "dr.yaml", text: dr("{subsetSelectors: [{keys: [version]}]}") },
    {
      file: "vs.yaml",
      text: vs([
        { name: "plain", match: [{ uri: { exact: "/plain" } }], route: to() },
        { headerToDynamicSubsetKey: [mapping("x-version", "version")], route: to() },
      ]),
    },
  ]);
  const { services } = pluginServices(input, byCluster);
  assert.deepEqual(services[0].routes, [
    { headerToDynamicSubsetKey: [mapping("x-version", "version")] },
    { name: "plain", headerToDynamicSubsetKey: [] },
  ]);
});

test("routes: one Envoy route name with two different mappings, or two DestinationRules for one host, is an error", () => {
  const clash = parseAsm([
    { file: "dr.yaml", text: dr("{subsetSelectors: [{keys: [version]}]}") },
    {
      file: "vs.yaml",
      text: vs([
        { name: "r", headerToDynamicSubsetKey: [mapping("x-a", "version")], route: to() },
        { name: "r", headerToDynamicSubsetKey: [mapping("x-b", "version")], route: to() },
      ]),
    },
  ]);
  assert.throws(
    () => pluginServices(clash, byCluster),
    (e) =>
      e.problems[0] ===
      'vs.yaml#0 spec.http[1].name: Envoy route name "r" is also used by vs.yaml#0 spec.http[0] with different headerToDynamicSubsetKey',
  );
  const twice = parseAsm([
    { file: "a.yaml", text: dr("{subsetSelectors: [{keys: [version]}]}") },
    {
      file: "b.yaml",
      text: dr("{subsetSelectors: [{keys: [stage]}]}").replace(
        "host: helloworld",
        "host: helloworld.default.svc.cluster.local",
      ),
    },
  ]);
  assert.throws(
    () => pluginServices(twice, byCluster),
    (e) =>
      e.problems[0] ===
      "b.yaml#0 spec.host: a DestinationRule with dynamicSubset for helloworld.default.svc.cluster.local is already given in a.yaml#0",
  );
});

test("routes: a mapped header inside the filter's internal prefix is an error (the filter strips those headers)", () => {
  const input = parseAsm([
    { file: "dr.yaml", text: dr("{subsetSelectors: [{keys: [version]}]}") },
    {
      file: "vs.yaml",
      text: vs([
        {
          name: "r",
          headerToDynamicSubsetKey: [mapping("x-version", "version"), mapping("X-Dynamic-Subset-Version", "version")],
          route: to(),
        },
      ]),
    },
  ]);
  assert.throws(
    () => pluginServices(input, byCluster),
    (e) =>
      e.problems[0] ===
      "vs.yaml#0 spec.http[0].headerToDynamicSubsetKey[1].header: X-Dynamic-Subset-Version is an internal header of the filter (prefix x-dynamic-subset-), which it strips from every request",
  );
  assert.doesNotThrow(() => pluginServices(input, byCluster, "x-ds-"));
});
