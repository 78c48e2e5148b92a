// Property: whatever ASM documents, pods and endpoints a user gives, valid or broken, the renderer either refuses
// with named problems (InputError; every problem one line naming file#document and path, or the input as a
// whole) or writes output that
//   - passes the plugin configuration's JSON Schema, and the filter itself (the compiled module in the emulator)
//     accepts it without a warning (unless the user --allow'ed one);
//   - passes Envoy's protos (envoy target; test/render/proto-validate.mjs) or Istio's and Kubernetes' CRD schemas
//     (istio target; test/render/k8s-validate.mjs), and reads the same in YAML 1.1 and 1.2;
//   - routes every generated request as the routing decision says (docs/behaviour.md "Routing decision",
//     `expectedRoute` below): in the metadata-mode Envoy model (envoy/emulated-envoy.mjs) and in the Istio
//     sidecar model (test/e2e/mesh-istio.mjs), the filter running in both.
// Worlds are built by fast-check from one service `helloworld` (DestinationRule + VirtualService), its pods as
// kubectl prints them and an endpoints file, then broken in the ways users break them (typos, invalid label
// keys and values, pods that are not ready or elsewhere, unresolvable ports, headers the filter owns, mappings with
// no source, two sources or a name invalid for its source, ...). Each key's value comes from a header, a cookie, a
// query parameter or a baggage member (docs/configuration.md "Key sources"), and requests carry it there.
// The test command runs a fixed seed, so a run is reproducible (like the fuzz test's FUZZ_SEED); explore with
// PROPERTY_SEED=random PROPERTY_RUNS=<n>. A failure prints fast-check's seed and path; PROPERTY_SEED=<seed> replays it.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { isIP } from "node:net";
import { test } from "node:test";
import fc from "fast-check";
import { parse, parseAllDocuments, stringify } from "yaml";
import { ProxyWasmHost } from "../../emulator/index.mjs";
import { MetadataModeEnvoy, WASM } from "../../envoy/emulated-envoy.mjs";
import { parseAsm } from "../../dist/asm/index.js";
import { pluginConfigProblems } from "../../dist/config/schema.js";
import { parseEndpoints } from "../../dist/endpoints/index.js";
import { InputError } from "../../dist/input/errors.js";
import { parsePods, parseService } from "../../dist/k8s/pods.js";
import { envoyYaml, renderEnvoy } from "../../dist/render/envoy.js";
import { renderIstio } from "../../dist/render/istio.js";
import { IstioSidecar, emulatedFilter } from "../e2e/mesh-istio.mjs";
import { validateManifest } from "../render/k8s-validate.mjs";
import { validateEnvoy } from "../render/proto-validate.mjs";
import { fromCluster } from "./helpers.mjs";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const SEED = process.env.PROPERTY_SEED === "random" ? undefined : Number(process.env.PROPERTY_SEED ?? 20261206);
const HOST = "helloworld.default.svc.cluster.local";
const IP = "%ip%";
const KEYS = ["stage", "version", "app.kubernetes.io/tier", "Zone"]; // "Zone": Envoy's key header %xx-encodes "Z"
// "on" and "010" stay strings only if quoted for YAML 1.1 readers; "V1" and "a.b_c" give hashed subset names
const VALUES = ["a", "b", "on", "010", "V1", "a.b_c"];
const POLICIES = ["NO_FALLBACK", "ANY_ENDPOINT", "DEFAULT_SUBSET"];
const header = (key) => (key === IP ? "x-ip" : `x-${key.toLowerCase().replace(/[^a-z0-9]/g, "-")}`);
// Where a key's value comes from (docs/configuration.md "Key sources"), and the name it has there. Cookie names and
// baggage keys are tokens ("/" is none); a query parameter name may hold "/" (sent as %2F, compared decoded).
// `internalLike`: cookie and baggage names that look like the filter's internal headers, which they are not.
const SOURCES = ["header", "cookie", "query", "baggage"];
function sourceName(source, key, internalLike) {
  if (source === "header") return header(key);
  const name = key === IP ? "ip" : source === "query" ? key : key.replace("/", "_");
  return internalLike && source !== "query" ? `x-dynamic-subset-${name}` : name;
}

// ---- worlds -------------------------------------------------------------------------------------------------------

/** What a user may get wrong; each world has none, one or two of these. */
const BREAKAGES = [
  "invalid-selector-key", // "bad key"
  "unknown-built-in", // %host%
  "duplicate-key-set",
  "bad-fallback-policy",
  "default-subset-missing", // DEFAULT_SUBSET without defaultSubset
  "invalid-default-value",
  "typo-load-balancer", // loadBalacer:
  "typo-http-field", // headerToDynamicSubsetKeys:
  "unused-mapping-key", // stagee
  "internal-header", // x-dynamic-subset-stage
  "pseudo-header", // :authority
  "bad-source", // one of BAD_SOURCES
  "invalid-label-key-on-pod",
  "invalid-pod-ip",
  "no-ready-pod",
  "pods-elsewhere",
  "unresolvable-target-port",
  "not-kubernetes-host",
  "root-namespace",
  "gateway-without-resource",
  "invalid-endpoint-address",
  "empty-endpoint-label", // the endpoints file, unlike Kubernetes, has no empty label values
];

/** Mappings whose source is wrong (one breakage, so that broken sources do not crowd out the other breakages). */
const BAD_SOURCES = [
  { key: "stage" }, // no source
  { header: "x-stage", cookie: "stage", key: "stage" }, // two sources
  { cookie: "stage;", key: "stage" }, // not a cookie-name
  { query: "stage=dev", key: "stage" }, // '=' could only be matched encoded
  { baggage: "stage,lane", key: "stage" }, // not a baggage key
];

const selectorArb = fc.record({
  keys: fc.subarray([...KEYS, IP], { minLength: 1, maxLength: 3 }),
  fallbackPolicy: fc.option(fc.constantFrom(...POLICIES), { nil: undefined }),
});

const podArb = fc.record({
  ipv6: fc.constantFrom(false, false, false, true),
  labels: fc.record(Object.fromEntries(KEYS.map((k) => [k, fc.constantFrom(...VALUES, ...VALUES, "")])), {
    requiredKeys: [],
  }), // "": legal in Kubernetes
  ready: fc.constantFrom(true, true, true, false), // mostly ready
  phase: fc.constantFrom("Running", "Running", "Running", "Pending"),
  terminating: fc.constantFrom(false, false, false, true),
});

const worldArb = fc
  .record({
    selectors: fc.uniqueArray(selectorArb, { minLength: 1, maxLength: 3, selector: (s) => [...s.keys].sort().join() }),
    fallbackPolicy: fc.option(fc.constantFrom(...POLICIES), { nil: undefined }),
    defaultSubset: fc.option(
      fc.record(Object.fromEntries(KEYS.map((k) => [k, fc.constantFrom(...VALUES)])), { requiredKeys: ["stage"] }),
      { nil: undefined },
    ),
    defaults: fc.record(
      Object.fromEntries(KEYS.map((k) => [k, fc.option(fc.constantFrom(...VALUES), { nil: undefined })])),
    ),
    sources: fc.record(Object.fromEntries([...KEYS, IP].map((k) => [k, fc.constantFrom(...SOURCES)]))),
    internalLike: fc.boolean(),
    badSource: fc.constantFrom(...BAD_SOURCES),
    pods: fc.array(podArb, { minLength: 0, maxLength: 7 }),
    asList: fc.boolean(), // kubectl get ... -o yaml: a List, with server fields
    meshWide: fc.boolean(),
    routeName: fc.constantFrom("default", "default", undefined), // an unnamed route covers every route
    matchPrefix: fc.boolean(),
    gateway: fc.boolean(),
    allowed: fc.subarray(["unused-key", "no-subsets"]),
    breakages: fc.oneof(
      { arbitrary: fc.constant([]), weight: 2 },
      { arbitrary: fc.constantFrom(...BREAKAGES).map((b) => [b]), weight: 2 },
      { arbitrary: fc.subarray(BREAKAGES, { minLength: 2, maxLength: 2 }), weight: 1 },
    ),
    requests: fc.array(
      fc.record({
        like: fc.nat(), // the pod whose labels (and IP) the request asks for
        keys: fc.subarray([...KEYS, IP]),
        noise: fc.array(
          fc.tuple(
            fc.constantFrom(...KEYS, IP),
            fc.constantFrom(...VALUES, "c", "", "not valid!", "203.0.113.9", "::1"),
          ),
          { maxLength: 2 },
        ),
        upper: fc.boolean(),
      }),
      { minLength: 4, maxLength: 8 },
    ),
  })
  .map(buildWorld);

function buildWorld(w) {
  const broken = new Set(w.breakages);
  const selectors = w.selectors.map((s) => (s.fallbackPolicy ? s : { keys: s.keys }));
  if (broken.has("invalid-selector-key")) selectors[0] = { ...selectors[0], keys: ["bad key"] };
  if (broken.has("unknown-built-in")) selectors[0] = { ...selectors[0], keys: ["%host%"] };
  if (broken.has("duplicate-key-set")) selectors.push({ keys: [...selectors[0].keys].reverse() });
  if (broken.has("bad-fallback-policy")) selectors[0] = { ...selectors[0], fallbackPolicy: "SOMETIMES" };
  const needsDefault = [w.fallbackPolicy, ...selectors.map((s) => s.fallbackPolicy)].includes("DEFAULT_SUBSET");
  let defaultSubset = w.defaultSubset ?? (needsDefault ? { stage: "a" } : undefined);
  if (broken.has("default-subset-missing")) defaultSubset = undefined;
  if (broken.has("invalid-default-value")) defaultSubset = { stage: "not valid!" };
  const dynamicSubset = {
    subsetSelectors: selectors,
    ...(defaultSubset ? { defaultSubset } : {}),
    ...(w.fallbackPolicy ? { fallbackPolicy: w.fallbackPolicy } : {}),
  };
  if (broken.has("default-subset-missing") && !needsDefault) dynamicSubset.fallbackPolicy = "DEFAULT_SUBSET";

  const keys = [...new Set(selectors.flatMap((s) => s.keys))].filter((k) => k === IP || KEYS.includes(k));
  const nameOf = (key) => sourceName(w.sources[key], key, w.internalLike);
  const mappings = keys.map((key) => ({
    [w.sources[key]]: nameOf(key),
    key,
    ...(key !== IP && w.defaults[key] !== undefined ? { defaultValue: w.defaults[key] } : {}),
  }));
  const used = keys[0] ?? "stage";
  if (broken.has("unused-mapping-key")) mappings.push({ header: "x-stagee", key: "stagee" });
  if (broken.has("internal-header")) mappings.push({ header: "x-dynamic-subset-stage", key: used });
  if (broken.has("pseudo-header")) mappings.push({ header: ":authority", key: used });
  if (broken.has("bad-source")) mappings.push({ ...w.badSource, key: used });

  const namespace = broken.has("root-namespace") ? "istio-system" : "default";
  const host = broken.has("not-kubernetes-host") ? "api.example.com" : HOST;
  const dr = {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "DestinationRule",
    metadata: { name: "helloworld", namespace },
    spec: {
      host,
      trafficPolicy: { [broken.has("typo-load-balancer") ? "loadBalacer" : "loadBalancer"]: { dynamicSubset } },
    },
  };
  const route = {
    ...(w.routeName ? { name: w.routeName } : {}),
    ...(w.matchPrefix ? { match: [{ uri: { prefix: "/" } }] } : {}),
    [broken.has("typo-http-field") ? "headerToDynamicSubsetKeys" : "headerToDynamicSubsetKey"]: mappings,
    route: [{ destination: { host, port: { number: 8000 } } }],
  };
  const vs = {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: { name: "helloworld", namespace: "default" },
    spec: {
      hosts: [host],
      ...(w.gateway || broken.has("gateway-without-resource") ? { gateways: ["istio-system/edge", "mesh"] } : {}),
      http: [route],
    },
  };
  const gateway = {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "Gateway",
    metadata: { name: "edge", namespace: "istio-system" },
    spec: {
      selector: { istio: "ingressgateway" },
      servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }],
    },
  };
  const resources = [dr, vs, ...(w.gateway && !broken.has("gateway-without-resource") ? [gateway] : [])];
  const asm = w.asList
    ? [{ file: "asm.yaml", text: stringify({ apiVersion: "v1", kind: "List", items: resources.map(fromCluster) }) }]
    : resources.map((r, i) => ({ file: `${r.kind}-${i}.yaml`, text: stringify(r) }));

  const pods = w.pods.map((p, i) => {
    const labels = { app: "helloworld", ...p.labels };
    if (broken.has("invalid-label-key-on-pod") && i === 0) labels["bad key"] = "x";
    return {
      ip:
        broken.has("invalid-pod-ip") && i === 0
          ? "10.0.0.999"
          : p.ipv6
            ? `fd00::${(10 + i).toString(16)}`
            : `192.168.7.${10 + i}`,
      labels,
      ready: p.ready && !broken.has("no-ready-pod"),
      phase: p.phase,
      terminating: p.terminating,
      namespace: broken.has("pods-elsewhere") ? "prod" : "default",
    };
  });
  const targetPort = broken.has("unresolvable-target-port") ? "web" : "http";
  const requests = w.requests.map((r) => {
    const like = pods[r.like % Math.max(pods.length, 1)];
    const asked = r.keys.map((k) => [k, k === IP ? (like?.ip ?? "192.168.7.10") : (like?.labels[k] ?? "a")]);
    // noise where the source's rule does not pick it (baggage: the last member wins; the others: the first)
    const lastWins = ([k]) => w.sources[k] === "baggage";
    const values = [...r.noise.filter(lastWins), ...asked, ...r.noise.filter((n) => !lastWins(n))];
    return requestOf(
      values.map(([k, v]) => [w.sources[k], nameOf(k), v]),
      r.upper,
    );
  });
  return {
    asm,
    pods,
    targetPort,
    breakages: broken,
    badAddress: broken.has("invalid-endpoint-address"),
    emptyEndpointLabels: broken.has("empty-endpoint-label"),
    options: { meshWide: w.meshWide, allowed: new Set(w.allowed) },
    requests,
    describe: () =>
      JSON.stringify(
        { breakages: w.breakages, allowed: w.allowed, meshWide: w.meshWide, asm: asm.map((a) => a.text), pods },
        null,
        1,
      ),
  };
}

/**
 * A request carrying `values` ([source, name, value]) where each source puts them: headers as they are, cookies in
 * one cookie header, query parameters in :path and baggage members in one baggage header, encoded so that they
 * decode to the value (a cookie value as it is: RFC 6265 gives it no encoding). Several values for one name stay in
 * order: which one counts is the source's rule (expectedRoute). `upper`: header names in upper case (the cookie
 * and baggage header names too; cookie names, query names and baggage keys are case-sensitive and stay).
 * -> { headers: [name, value][], path }
 */
function requestOf(values, upper) {
  const named = (name) => (upper ? name.toUpperCase() : name);
  const of = (source) => values.filter(([s]) => s === source);
  const headers = of("header").map(([, name, v]) => [named(name), v]);
  const cookies = of("cookie").map(([, name, v]) => `${name}=${v}`);
  const members = of("baggage").map(([, name, v]) => `${name}=${encodeURIComponent(v)}`);
  const params = of("query").map(([, name, v]) => `${encodeURIComponent(name)}=${encodeURIComponent(v)}`);
  if (cookies.length > 0) headers.push([named("cookie"), cookies.join("; ")]);
  if (members.length > 0) headers.push([named("baggage"), members.join(",")]);
  return { headers, path: params.length > 0 ? `/?${params.join("&")}` : "/" };
}

function podsJson(pods) {
  const items = pods.map((p, i) => ({
    metadata: {
      name: `helloworld-${i}`,
      namespace: p.namespace,
      labels: p.labels,
      uid: `pod-uid-${i}`,
      ...(p.terminating ? { deletionTimestamp: "2026-11-30T08:00:00Z" } : {}),
    },
    spec: { containers: [{ name: "helloworld", ports: [{ name: "http", containerPort: 5678 }] }] },
    status: { phase: p.phase, podIP: p.ip, conditions: [{ type: "Ready", status: p.ready ? "True" : "False" }] },
  }));
  return JSON.stringify({ apiVersion: "v1", kind: "PodList", items }); // items without kind, as the API lists them
}

const serviceYaml = (targetPort) =>
  stringify({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "helloworld", namespace: "default" },
    spec: { selector: { app: "helloworld" }, ports: [{ name: "http", port: 8000, targetPort }] },
  });

/** The endpoints file of the envoy target: the ready pods, as a user would list them. */
function endpointsYaml(world) {
  const endpoints = world.pods
    .filter((p) => p.ready && p.phase === "Running" && !p.terminating)
    .map((p, i) => ({
      address: world.badAddress && i === 0 ? "pod-0" : p.ip,
      labels: world.emptyEndpointLabels
        ? p.labels
        : Object.fromEntries(Object.entries(p.labels).filter(([, v]) => v !== "")),
    }));
  return stringify([{ host: HOST, port: 5678, endpoints }]);
}

// ---- the routing decision, as docs/behaviour.md states it ----------------------------------------------------------

const LABEL_VALUE = /^(?=.{1,63}$)(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const INVALID = Symbol("unmatchable");

/** `name=value` pairs of a list split at `separator` (whitespace around each pair dropped). */
const pairsOf = (list, separator) =>
  (list ?? "")
    .split(separator)
    .map((p) => p.trim())
    .map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]);

/** The value a mapping reads from a request made by requestOf (the rules of docs/configuration.md "Key sources"). */
function sentValue(m, { headers, path }) {
  const first = (name) => headers.find(([h]) => h.toLowerCase() === name.toLowerCase())?.[1];
  if (m.header !== undefined) return first(m.header); // the first header of the name
  if (m.cookie !== undefined) return pairsOf(first("cookie"), ";").find(([n]) => n === m.cookie)?.[1]; // first
  if (m.query !== undefined) {
    const query = path.includes("?") ? path.slice(path.indexOf("?") + 1) : undefined;
    const decoded = pairsOf(query, "&").map((p) => p.map((x) => decodeURIComponent(x.replace(/\+/g, " "))));
    return decoded.find(([n]) => n === m.query)?.[1]; // the first parameter of the name
  }
  const member = pairsOf(first("baggage"), ",").findLast(([n]) => n === m.baggage); // the last member of the key
  return member && decodeURIComponent(member[1]);
}

/** The endpoints a request may reach (IPs, sorted), or 503. */
function expectedRoute(ds, mappings, endpoints, request) {
  const keys = new Map(); // step 1-2: resolve, later mappings override; invalid values stay, unmatchable
  for (const m of mappings) {
    const sent = sentValue(m, request);
    const value = sent !== undefined && sent !== "" ? sent : m.defaultValue;
    if (value === undefined) continue;
    const valid = m.key === IP ? isIP(value) !== 0 : LABEL_VALUE.test(value);
    keys.set(m.key, valid ? value : INVALID);
  }
  const present = [...keys.keys()];
  const selectors = [...ds.subsetSelectors].map((s, i) => ({ s, i }));
  const exact = selectors.find(({ s }) => s.keys.length === present.length && s.keys.every((k) => keys.has(k)));
  const covered = selectors
    .filter(({ s }) => s.keys.every((k) => keys.has(k)))
    .sort((a, b) => b.s.keys.length - a.s.keys.length || a.i - b.i);
  const chosen = (exact ?? covered[0])?.s; // step 3
  const fallback = (policy) => {
    if (policy === "ANY_ENDPOINT") return endpoints;
    if (policy === "DEFAULT_SUBSET")
      return endpoints.filter((e) => Object.entries(ds.defaultSubset ?? {}).every(([k, v]) => e.labels[k] === v));
    return [];
  };
  let reach;
  if (!chosen) reach = fallback(ds.fallbackPolicy ?? "NO_FALLBACK");
  else {
    const tuple = chosen.keys.map((k) => [k, keys.get(k)]);
    const hosts = tuple.some(([, v]) => v === INVALID)
      ? []
      : endpoints.filter((e) => tuple.every(([k, v]) => (k === IP ? e.ip === v : e.labels[k] === v)));
    reach = hosts.length > 0 ? hosts : fallback(chosen.fallbackPolicy ?? ds.fallbackPolicy ?? "NO_FALLBACK");
  }
  return reach.length === 0
    ? "503"
    : reach
        .map((e) => e.ip)
        .sort()
        .join(" ");
}

/** The pods Kubernetes lists as ready endpoints of the Service (labels with empty values never match). With
 * `service`, a pod whose container ports do not resolve the Service's targetPort is no endpoint. */
function readyEndpoints(world, { service }) {
  if (service && world.targetPort !== "http") return [];
  return world.pods
    .filter((p) => (!service || p.namespace === "default") && p.ready && p.phase === "Running" && !p.terminating)
    .map((p) => ({ ip: p.ip, labels: Object.fromEntries(Object.entries(p.labels).filter(([, v]) => v !== "")) }));
}

// ---- what must be refused ------------------------------------------------------------------------------------------

/** Breakages of the ASM documents that both targets refuse, whatever else the world holds. */
const REFUSED_BY_BOTH = [
  "invalid-selector-key",
  "unknown-built-in",
  "duplicate-key-set",
  "bad-fallback-policy",
  "default-subset-missing",
  "invalid-default-value",
  "typo-load-balancer",
  "typo-http-field",
  "internal-header",
  "pseudo-header",
  "bad-source",
  "not-kubernetes-host", // envoy: the endpoints file has no such host
];

/** Must this world be refused by `target`? (Breakages that depend on which pods exist are left to the checks.) */
function mustRefuse(world, target) {
  const b = world.breakages;
  const allowed = world.options.allowed;
  if (REFUSED_BY_BOTH.some((x) => b.has(x))) return true;
  if (b.has("unused-mapping-key") && !allowed.has("unused-key")) return true;
  if (b.has("no-ready-pod") && !allowed.has("no-subsets")) return true;
  if (target === "envoy") return false;
  if (b.has("gateway-without-resource")) return true;
  if (b.has("root-namespace") && !world.options.meshWide) return true;
  return (b.has("pods-elsewhere") || b.has("unresolvable-target-port")) && !allowed.has("no-subsets");
}

// ---- checks -------------------------------------------------------------------------------------------------------

const PROBLEM = /^(?:\S+#\d+(?:\.items\[\d+\])?(?: [^:]+)?: \S|endpoints: \S|[a-z%][^\n]*\S$)/;

/** Refused: an InputError naming each problem on one line; anything else is a bug. */
function assertRefusal(e, world) {
  if (!(e instanceof InputError)) throw new Error(`not an input refusal: ${e?.stack ?? e}\n${world.describe()}`);
  assert.ok(e.problems.length > 0);
  for (const p of e.problems) assert.match(p, PROBLEM, `${p}\n${world.describe()}`);
}

/** The filter accepts the configuration; warnings only where the user allowed an unused key. */
async function loadFilter(pluginConfig, world) {
  assert.deepEqual(pluginConfigProblems(pluginConfig), [], world.describe());
  const host = await ProxyWasmHost.load(WASM, { pluginConfig: JSON.stringify(pluginConfig), rootId: "dynamic_subset" });
  assert.ok(
    host.start(),
    `the filter rejects the rendered configuration: ${host.logsAt("error").join("; ")}\n${world.describe()}`,
  );
  const warnings = host.logsAt("warn");
  if (!world.options.allowed.has("unused-key")) assert.deepEqual(warnings, [], world.describe());
  else for (const w of warnings) assert.match(w, /is used by no subset selector/);
  return host;
}

function sameInYaml11(text) {
  for (const d of parseAllDocuments(text)) assert.deepEqual(parse(String(d), { version: "1.1" }), d.toJS());
}

/** How the checked requests were answered: none, every endpoint, or some (a subset or the default subset). */
const answers = { 503: 0, every: 0, some: 0 };

function checkRoutes(world, endpoints, dynamicSubset, mappings, route) {
  for (const request of world.requests) {
    const expected = expectedRoute(dynamicSubset, mappings, endpoints, request);
    answers[expected === "503" ? "503" : expected.split(" ").length === endpoints.length ? "every" : "some"]++;
    assert.equal(route(request), expected, `request ${JSON.stringify(request)}\n${world.describe()}`);
  }
}

async function checkIstio(world) {
  let out, input;
  try {
    input = parseAsm(world.asm);
    const live = {
      pods: parsePods(podsJson(world.pods), "pods.json"),
      services: [parseService(serviceYaml(world.targetPort), "service.yaml")],
    };
    out = renderIstio(input, live, {
      wasmUrl: "oci://registry.example.com/dynamic-subset:1",
      routeToken: "0123456789abcdef0123456789abcdef",
      ...world.options,
    });
  } catch (e) {
    assertRefusal(e, world);
    return "refused";
  }
  assert.ok(!mustRefuse(world, "istio"), `rendered what must be refused:\n${world.describe()}`);
  for (const d of out.objects) assert.deepEqual(validateManifest(d), [], `${d.kind}\n${world.describe()}`);
  sameInYaml11(out.yaml);
  const host = await loadFilter(out.pluginConfig, world);
  const sidecar = new IstioSidecar(out.yaml, podsJson(world.pods), serviceYaml(world.targetPort));
  const runFilter = emulatedFilter(host);
  const [dr] = input.destinationRules;
  const endpoints = readyEndpoints(world, { service: true });
  checkRoutes(
    world,
    endpoints,
    dr.dynamicSubset,
    input.virtualServices[0].http[0].headerToDynamicSubsetKey,
    ({ headers, path }) => {
      const got = sidecar.request(headers, runFilter, { path });
      return got.status === 200 ? got.pods.join(" ") : String(got.status);
    },
  );
  return "rendered";
}

async function checkEnvoy(world) {
  let input, endpoints, documents;
  try {
    input = parseAsm(world.asm);
    endpoints = parseEndpoints({ file: "endpoints.yaml", text: endpointsYaml(world) }).services;
    ({ documents } = renderEnvoy([{ input }], { output: "bootstrap", endpoints, allowed: world.options.allowed }));
  } catch (e) {
    assertRefusal(e, world);
    return "refused";
  }
  assert.ok(!mustRefuse(world, "envoy"), `rendered what must be refused:\n${world.describe()}`);
  const text = envoyYaml(documents);
  sameInYaml11(text);
  assert.deepEqual(validateEnvoy(parse(text)), [], world.describe());
  const [dr] = input.destinationRules;
  if (!dr?.dynamicSubset) return "rendered"; // nothing routes by subset: the plain cluster
  const envoy = await MetadataModeEnvoy.fromInput(input, endpoints, { allowed: world.options.allowed });
  await loadFilter(envoy.plugin, world);
  checkRoutes(
    world,
    readyEndpoints(world, { service: false }),
    dr.dynamicSubset,
    input.virtualServices[0].http[0].headerToDynamicSubsetKey,
    ({ headers, path }) => {
      const got = envoy.request([[":path", path], ...headers], path);
      return got.status === 200 ? got.hosts.join(" ") : String(got.status);
    },
  );
  return "rendered";
}

const needsFilter = existsSync(WASM) ? {} : { skip: `skipped: ${WASM} not built (npm run build:wasm)` };

test(
  `renderer property: refuse with named problems, or render what validates and routes as the decision says (${RUNS} worlds x 2 targets)`,
  needsFilter,
  async (t) => {
    const outcomes = { istio: { refused: 0, rendered: 0 }, envoy: { refused: 0, rendered: 0 } };
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        outcomes.istio[await checkIstio(world)]++;
        outcomes.envoy[await checkEnvoy(world)]++;
      }),
      { numRuns: RUNS, seed: SEED, includeErrorInReport: true },
    );
    // refusals, renders and every kind of answer must be common, or the property proves little
    t.diagnostic(`worlds ${JSON.stringify(outcomes)}, requests ${JSON.stringify(answers)}`);
    for (const [target, o] of Object.entries(outcomes))
      for (const [kind, n] of Object.entries(o))
        assert.ok(n >= RUNS / 10, `${target}: too few ${kind} (${JSON.stringify(outcomes)})`);
    for (const [kind, n] of Object.entries(answers))
      assert.ok(n >= RUNS / 4, `too few "${kind}" answers (${JSON.stringify(answers)})`);
  },
);
