// The istio target's strict %ip% pins and failStrategy (src/render/istio-strict.ts, docs/istio.md "Strict %ip% pins",
// "Fetch failure and failStrategy"). What these resources make Envoy do is shown in real Envoy by
// test/real-envoy/catalog-pins.test.mjs and catalog-fail-strategy.test.mjs; here: what is rendered, and that Istio's
// schemas accept it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { parseAsm } from "../../dist/asm/index.js";
import { parsePods, parseService } from "../../dist/k8s/pods.js";
import { renderIstio } from "../../dist/render/istio.js";
import { validateManifest } from "./k8s-validate.mjs";

const SEED = "examples/helloworld";
const PODS = `${SEED}/pods.json`;
const SERVICE = "istio/app.yaml";
const TOKEN = "0123456789abcdef0123456789abcdef";
const STEP4 = readFileSync(`${SEED}/step4-ip-dr-vs.yaml`, "utf8");
const HOST = "helloworld.default.svc.cluster.local";
const WASM_URL = "oci://registry.example.com/dynamic-subset:0.1.0";

const docs = (text) => parseAllDocuments(text).map((d) => d.toJS());
const byKind = (text, kind) => docs(text).filter((d) => d.kind === kind);
const render = (asmText, options = {}) =>
  renderIstio(
    parseAsm([{ file: "in.yaml", text: asmText }]),
    {
      pods: parsePods(readFileSync(PODS, "utf8"), PODS),
      services: [parseService(readFileSync(SERVICE, "utf8"), SERVICE)],
    },
    { routeToken: TOKEN, wasmUrl: WASM_URL, ...options },
  ).yaml;
const withIpPolicy = (policy) =>
  STEP4.replace(
    "        - keys:\n          - '%ip%'\n",
    `        - keys:\n          - '%ip%'\n          fallbackPolicy: ${policy}\n`,
  );
/** step 4 with the user's http route replaced by `route` (YAML lines at the http[] item's indentation). */
const withRoute = (route) => STEP4.slice(0, STEP4.indexOf("  http:\n") + "  http:\n".length) + route;

test("a %ip% selector under NO_FALLBACK: a pin route per user route, without retries, after its subset routes", () => {
  const yaml = render(STEP4);
  const [vs] = byKind(yaml, "VirtualService");
  assert.deepEqual(
    vs.spec.http.map((h) => h.name),
    ["default", "default.ds-stage-prod--version-v3", "default.%ip%", "default"],
  );
  const pin = vs.spec.http[2];
  assert.deepEqual(pin.match, [{ headers: { "x-dynamic-subset-subset": { exact: `%ip%.${TOKEN}` } } }]);
  assert.deepEqual(pin.route, [{ destination: { host: HOST, port: { number: 8000 } } }], "the base cluster");
  assert.deepEqual(pin.retries, { attempts: 0 });
  assert.deepEqual(pin.headers.request.remove, ["x-dynamic-subset-subset", "x-dynamic-subset-host"]);
  assert.deepEqual(validateManifest(vs), []);
});

test("the EnvoyFilter makes each pin route's header session strict, by virtual host and route name", () => {
  const yaml = render(STEP4, { selector: { app: "sleep" } });
  const [filter] = byKind(yaml, "EnvoyFilter");
  assert.deepEqual(validateManifest(filter), []);
  const [plugin] = byKind(yaml, "WasmPlugin");
  assert.deepEqual(
    filter.metadata,
    { name: `${plugin.metadata.name}-strict-pins`, namespace: plugin.metadata.namespace },
    "beside its WasmPlugin, named after it (renders for other services do not overwrite it)",
  );
  assert.deepEqual(filter.spec.workloadSelector, { labels: { app: "sleep" } }, "the WasmPlugin's workloads");
  assert.equal(filter.spec.configPatches.length, 1);
  const [patch] = filter.spec.configPatches;
  assert.deepEqual(patch.match, {
    context: "SIDECAR_OUTBOUND",
    routeConfiguration: { vhost: { name: `${HOST}:8000`, route: { name: "default.%ip%" } } },
  });
  assert.equal(patch.applyTo, "HTTP_ROUTE");
  assert.equal(patch.patch.operation, "MERGE");
  const perRoute = patch.patch.value.typed_per_filter_config["envoy.filters.http.stateful_session"];
  assert.equal(
    perRoute["@type"],
    "type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute",
  );
  assert.equal(perRoute.stateful_session.strict, true);
  assert.deepEqual(perRoute.stateful_session.session_state, {
    name: "envoy.http.stateful_session.header",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState",
      name: "x-dynamic-subset-host",
    },
  });
});

test("pins that may fall back (ANY_ENDPOINT, DEFAULT_SUBSET) and services without %ip% get neither", () => {
  for (const asm of [
    withIpPolicy("ANY_ENDPOINT"),
    withIpPolicy("DEFAULT_SUBSET"),
    readFileSync("istio/step2.yaml", "utf8"),
  ]) {
    const yaml = asm.includes("kind: WasmPlugin") ? asm : render(asm);
    assert.deepEqual(byKind(yaml, "EnvoyFilter"), []);
    assert.ok(!byKind(yaml, "VirtualService")[0].spec.http.some((h) => h.name?.endsWith(".%ip%")));
  }
});

test("named matches, unnamed routes, the user's retries and weights: pin routes as Istio will name them", () => {
  const route = [
    "  - name: web",
    "    headerToDynamicSubsetKey:",
    "    - {header: x-ip, key: '%ip%'}",
    "    match:",
    "    - {name: api, uri: {prefix: /api}}",
    "    - uri: {prefix: /v2}",
    "    retries: {attempts: 3, retryOn: 5xx}",
    "    timeout: 5s",
    "    route:",
    `    - {destination: {host: ${HOST}, port: {number: 8000}}, weight: 100}`,
    "  - headerToDynamicSubsetKey:",
    "    - {header: x-pod, key: '%ip%'}",
    "    route:",
    `    - {destination: {host: ${HOST}, port: {number: 8000}}}`,
    "",
  ].join("\n");
  const yaml = render(withRoute(route));
  const [vs] = byKind(yaml, "VirtualService");
  const pins = vs.spec.http.filter((h) => h.name?.endsWith(".%ip%"));
  assert.deepEqual(
    pins.map((p) => p.name),
    ["web.%ip%", "http-1.%ip%"],
  );
  assert.deepEqual(
    pins[0].match.map((m) => [m.name, m.uri]),
    [
      ["api", { prefix: "/api" }],
      [undefined, { prefix: "/v2" }],
    ],
  );
  assert.deepEqual([pins[0].retries, pins[0].timeout], [{ attempts: 0 }, "5s"]);
  assert.deepEqual(pins[0].route, [{ destination: { host: HOST, port: { number: 8000 } } }]);
  assert.deepEqual(validateManifest(vs), []);
  const [filter] = byKind(yaml, "EnvoyFilter");
  assert.deepEqual(
    filter.spec.configPatches.map((p) => p.match.routeConfiguration.vhost.route.name),
    ["web.%ip%.api", "web.%ip%", "http-1.%ip%"],
  );
});

function cli(args) {
  const r = spawnSync(process.execPath, ["dist/cli/main.js", "render", "--target", "istio", ...args], {
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("--fail-strategy: FAIL_CLOSE by default, FAIL_OPEN on request (and in the re-render command), nothing else", () => {
  const input = ["-f", `${SEED}/step4-ip-dr-vs.yaml`, "--pods", PODS, "--service", SERVICE, "--wasm-url", WASM_URL];
  const closed = cli(input);
  assert.equal(closed.code, 0, closed.stderr);
  assert.equal(byKind(closed.stdout, "WasmPlugin")[0].spec.failStrategy, "FAIL_CLOSE");
  assert.match(closed.stdout, /# FAIL_CLOSE on purpose \(the default; --fail-strategy FAIL_OPEN for the other\)/);
  const open = cli([...input, "--fail-strategy", "FAIL_OPEN"]);
  assert.equal(open.code, 0, open.stderr);
  const [plugin] = byKind(open.stdout, "WasmPlugin");
  assert.equal(plugin.spec.failStrategy, "FAIL_OPEN");
  assert.deepEqual(validateManifest(plugin), []);
  assert.match(open.stdout, /# FAIL_OPEN \(--fail-strategy FAIL_OPEN; FAIL_CLOSE is the default\)/);
  assert.match(open.stdout, /# Re-render when pods change .* --fail-strategy FAIL_OPEN --previous THIS_FILE/);
  for (const bad of ["FAIL_RELOAD", "fail_open", ""]) {
    const r = cli([...input, "--fail-strategy", bad]);
    assert.equal(r.code, 2, r.stderr); // a command-line mistake (dynamic-subset --help: exit codes)
    assert.match(r.stderr, /^dynamic-subset: --fail-strategy: FAIL_CLOSE or FAIL_OPEN \(got .*\)$/m);
    assert.equal(r.stdout, "", "nothing is written on bad input");
  }
});
