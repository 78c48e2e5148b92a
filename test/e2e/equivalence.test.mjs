// Mode equivalence (docs/behaviour.md "Two modes", docs/testing.md): for the same ASM configuration, endpoint set and request, metadata mode (the
// envoy target, the filter, Envoy's header_to_metadata and subset load balancer as models) and catalog mode (the
// istio target from the same pods, the filter, the Istio sidecar model) reach the same set of endpoints, or both
// answer 503. Configurations, endpoint labels and requests are random but seeded: a failure names its seed.
//
// EQUIVALENCE_SEED=<n> replays one configuration; EQUIVALENCE_CONFIGS=<n> runs more.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { stringify } from "yaml";
import { ProxyWasmHost } from "../../emulator/index.mjs";
import { parseAsm } from "../../dist/asm/index.js";
import { parsePods, parseService } from "../../dist/k8s/pods.js";
import { renderIstio } from "../../dist/render/istio.js";
import { MetadataModeEnvoy, WASM } from "../../envoy/emulated-envoy.mjs";
import { IstioSidecar, emulatedFilter } from "./mesh-istio.mjs";
import { random } from "./prng.mjs";

const FIRST_SEED = process.env.EQUIVALENCE_SEED ? Number(process.env.EQUIVALENCE_SEED) : 1;
const CONFIGS = process.env.EQUIVALENCE_SEED ? 1 : Number(process.env.EQUIVALENCE_CONFIGS ?? 100);
const REQUESTS = 16;
const HOST = "helloworld.default.svc.cluster.local";
const KEYS = ["stage", "version", "zone", "app.kubernetes.io/tier"];
const VALUES = ["a", "b", "c"];
const POLICIES = [undefined, "NO_FALLBACK", "ANY_ENDPOINT", "DEFAULT_SUBSET"];
const header = (key) => (key === "%ip%" ? "x-ip" : `x-${key.replace(/[^a-z0-9]/g, "-")}`);
/** Random worlds may map a key no selector uses, or have pods that form no subset: render them all the same. */
const ALLOWED = new Set(["unused-key", "no-subsets"]);
const SERVICE = stringify({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "helloworld", namespace: "default" },
  spec: { selector: { app: "helloworld" }, ports: [{ name: "http", port: 8000, targetPort: 8000 }] },
});

/** One random world: ASM DestinationRule + VirtualService, pods, and requests. */
function world(seed) {
  const r = random(seed);
  const keySets = new Map();
  for (let i = 0, n = 1 + r.int(3); i < n; i++) {
    const keys = r.subset(KEYS, r.chance(0.2) ? 0 : 1, 3);
    if (keys.length === 0 || r.chance(0.25)) keys.unshift("%ip%");
    keySets.set([...keys].sort().join(","), {
      keys,
      ...(r.chance(0.6) ? { fallbackPolicy: r.pick(POLICIES.slice(1)) } : {}),
    });
  }
  const subsetSelectors = [...keySets.values()];
  const fallbackPolicy = r.pick(POLICIES);
  const needsDefault =
    fallbackPolicy === "DEFAULT_SUBSET" || subsetSelectors.some((s) => s.fallbackPolicy === "DEFAULT_SUBSET");
  const defaultSubset =
    needsDefault || r.chance(0.3)
      ? Object.fromEntries(r.subset(KEYS, 1, 2).map((k) => [k, r.pick(VALUES)]))
      : undefined;
  const mappedKeys = [...new Set([...subsetSelectors.flatMap((s) => s.keys), ...r.subset(KEYS, 0, 1)])];
  const mappings = mappedKeys.map((key) => ({
    header: header(key),
    key,
    ...(key !== "%ip%" && r.chance(0.4) ? { defaultValue: r.pick(VALUES) } : {}),
  }));

  const pods = [];
  for (let i = 0, n = 2 + r.int(7); i < n; i++) {
    const labels = { app: "helloworld" };
    for (const k of KEYS) if (r.chance(0.8)) labels[k] = r.pick(VALUES);
    pods.push({ ip: `192.168.7.${10 + i}`, labels });
  }

  const requests = [];
  for (let i = 0; i < REQUESTS; i++) {
    const headers = [];
    for (const { header: h, key } of mappings) {
      if (!r.chance(0.6)) continue;
      const value =
        key === "%ip%"
          ? r.pick([...pods.map((p) => p.ip), "192.168.7.250", "not-an-ip", "::1"])
          : r.pick([...VALUES, "d", "not valid!", ""]);
      headers.push([r.chance(0.2) ? h.toUpperCase() : h, value]);
    }
    requests.push(headers);
  }

  const dr = {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "DestinationRule",
    metadata: { name: "helloworld", namespace: "default" },
    spec: {
      host: HOST,
      trafficPolicy: {
        loadBalancer: {
          dynamicSubset: {
            subsetSelectors,
            ...(defaultSubset ? { defaultSubset } : {}),
            ...(fallbackPolicy ? { fallbackPolicy } : {}),
          },
        },
      },
    },
  };
  const vs = {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: { name: "helloworld", namespace: "default" },
    spec: {
      hosts: [HOST],
      http: [
        {
          name: "default",
          headerToDynamicSubsetKey: mappings,
          route: [{ destination: { host: HOST, port: { number: 8000 } } }],
        },
      ],
    },
  };
  return {
    asm: [
      { file: "dr.yaml", text: stringify(dr) },
      { file: "vs.yaml", text: stringify(vs) },
    ],
    pods,
    requests,
  };
}

function endpointsYaml(pods) {
  return stringify([{ host: HOST, port: 8000, endpoints: pods.map((p) => ({ address: p.ip, labels: p.labels })) }]);
}

function podsJson(pods) {
  const items = pods.map((p, i) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `helloworld-${i}`, namespace: "default", labels: p.labels },
    spec: { containers: [{ name: "helloworld", ports: [{ name: "http", containerPort: 8000 }] }] },
    status: { phase: "Running", podIP: p.ip, conditions: [{ type: "Ready", status: "True" }] },
  }));
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

async function catalogMode(asm, pods) {
  const podsText = podsJson(pods);
  const out = renderIstio(
    parseAsm(asm),
    { pods: parsePods(podsText, "pods.json"), services: [parseService(SERVICE, "service.yaml")] },
    { routeToken: "0123456789abcdef0123456789abcdef", wasmUrl: "oci://registry.example.com/ds:1", allowed: ALLOWED },
  );
  const sidecar = new IstioSidecar(out.yaml, podsText, SERVICE);
  const host = await ProxyWasmHost.load(WASM, {
    pluginConfig: JSON.stringify(out.pluginConfig),
    rootId: "dynamic_subset",
  });
  assert.ok(host.start(), `catalog mode configuration rejected: ${host.logsAt("error").join("; ")}`);
  const runFilter = emulatedFilter(host);
  return (headers) => {
    const got = sidecar.request(headers, runFilter);
    return {
      reach: got.status === 200 ? got.pods.join(" ") : `${got.status} ${got.body}`,
      decision: got.filter?.decision,
    };
  };
}

async function metadataMode(asm, pods) {
  const envoy = await MetadataModeEnvoy.fromYaml(asm, endpointsYaml(pods), { allowed: ALLOWED });
  return (headers) => {
    const got = envoy.request(headers);
    return { reach: got.status === 200 ? got.hosts.join(" ") : `${got.status} ${got.body}`, decision: got.decision };
  };
}

const needsFilter = existsSync(WASM) ? {} : { skip: `skipped: ${WASM} not built (npm run build:wasm)` };

test(
  `metadata and catalog mode reach the same endpoints (${CONFIGS} random configurations x ${REQUESTS} requests)`,
  needsFilter,
  async () => {
    const outcomes = new Map();
    for (let seed = FIRST_SEED; seed < FIRST_SEED + CONFIGS; seed++) {
      const { asm, pods, requests } = world(seed);
      const metadata = await metadataMode(asm, pods);
      const catalog = await catalogMode(asm, pods);
      for (const headers of requests) {
        const m = metadata(headers);
        const c = catalog(headers);
        const why =
          `seed ${seed} (EQUIVALENCE_SEED=${seed} replays it), request ${JSON.stringify(headers)}\n` +
          `metadata decision ${m.decision}, catalog decision ${c.decision}\n${asm.map((a) => a.text).join("---\n")}`;
        assert.equal(c.reach, m.reach, why);
        const kind = m.reach.startsWith("503")
          ? "503"
          : m.reach.split(" ").length === pods.length
            ? "every endpoint"
            : "a subset";
        outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      }
    }
    // The random worlds must exercise every kind of answer, or the comparison proves little.
    for (const kind of ["503", "every endpoint", "a subset"])
      assert.ok((outcomes.get(kind) ?? 0) > 10, `too few "${kind}" answers: ${JSON.stringify([...outcomes])}`);
  },
);
