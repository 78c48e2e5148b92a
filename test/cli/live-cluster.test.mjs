// Inputs as kubectl prints them from a live cluster, and output every tool reads the same way
// (docs/rendering.md "Inputs from a live cluster", "The output file"):
//   - lists (List, typed lists whose items have no kind), server-populated metadata, status and the
//     last-applied annotation are accepted, and the rendered resources carry none of them;
//   - strings a YAML 1.1 reader (kubectl's go-yaml, Envoy, PyYAML) would take for booleans, numbers or null are
//     quoted, in both targets;
//   - objects that approach Kubernetes' size limits are named in a warning with their size and the remedy.

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { parseAsm } from "../../dist/asm/index.js";
import { parseEndpoints } from "../../dist/endpoints/index.js";
import { parsePods } from "../../dist/k8s/pods.js";
import { envoyYaml, renderEnvoy } from "../../dist/render/envoy.js";
import { renderIstio } from "../../dist/render/istio.js";
import { validateEnvoy } from "../render/proto-validate.mjs";
import { validateManifest } from "../render/k8s-validate.mjs";
import {
  byKind,
  cli,
  docs,
  envoyArgs,
  fromCluster,
  istioArgs,
  SEED,
  seedPods,
  seedText,
  WASM_URL,
  withTemp,
} from "./helpers.mjs";

const SERVER_METADATA = ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink"];
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** The seed's DestinationRule and VirtualService, with an annotation of the user's. */
const seedDocs = () =>
  [...docs(seedText("step2-dr.yaml")), ...docs(seedText("step2-vs.yaml"))].map((d) => ({
    ...d,
    metadata: { ...d.metadata, annotations: { "team.example.com/owner": "payments" } },
  }));

test("kubectl's List and typed lists with server fields render, and the output carries none of the server's fields", () => {
  withTemp((dir, write) => {
    const [dr, vs] = seedDocs().map(fromCluster);
    const list = write("asm-list.yaml", {
      apiVersion: "v1",
      kind: "List",
      metadata: { resourceVersion: "" },
      items: [dr, vs],
    });
    const typed = (kind, d) => {
      const { kind: _k, apiVersion: _a, ...item } = d;
      return { apiVersion: d.apiVersion, kind: `${kind}List`, metadata: { resourceVersion: "99" }, items: [item] };
    };
    const drList = write("dr-list.json", typed("DestinationRule", dr));
    const vsList = write("vs-list.json", typed("VirtualService", vs));
    const pods = seedPods();
    const podList = write("pods.json", {
      apiVersion: "v1",
      kind: "PodList",
      items: pods.items.map(({ kind: _k, apiVersion: _a, ...p }) => p),
    });
    const service = write(
      "service.yaml",
      parseAllDocuments(seedText("../../istio/app.yaml"))
        .map((d) => d.toJS())
        .filter((d) => d.kind === "Service")
        .map((d, i) => JSON.stringify(fromCluster(d, i)))[0],
    );
    for (const files of [[list], [drList, vsList]]) {
      const args = [
        "render",
        "--target",
        "istio",
        ...files.flatMap((f) => ["-f", f]),
        "--pods",
        podList,
        "--service",
        service,
      ];
      const r = cli([...args, "--wasm-url", WASM_URL]);
      assert.equal(r.code, 0, r.stderr);
      const out = docs(r.stdout);
      assert.deepEqual(
        out.map((d) => d.kind),
        ["WasmPlugin", "DestinationRule", "VirtualService", "Service"],
      );
      for (const d of out) {
        assert.deepEqual(validateManifest(d), [], d.kind);
        assert.equal(d.status, undefined, `${d.kind}: status`);
        for (const field of SERVER_METADATA) assert.equal(d.metadata[field], undefined, `${d.kind}: metadata.${field}`);
        assert.equal(d.metadata.annotations?.[LAST_APPLIED], undefined, `${d.kind}: last-applied`);
        if (d.kind !== "WasmPlugin") {
          assert.doesNotMatch(
            JSON.stringify(d),
            /dynamicSubset|headerToDynamicSubsetKey/,
            `${d.kind}: ASM-only fields`,
          );
          if (d.kind !== "Service")
            assert.equal(d.metadata.annotations["team.example.com/owner"], "payments", "the user's annotations stay");
        }
      }
      assert.equal(out[0].spec.pluginConfig.services[0].catalog.subsets.length, 5);
    }
  });
});

const AMBIGUOUS = ["on", "yes", "N", "Off", "010", "1e3", "0x1F", "1_000", "12_30"];

/** Does a YAML 1.1 reader see the same strings as a YAML 1.2 reader? */
function sameInYaml11(text) {
  for (const d of parseAllDocuments(text)) {
    const v12 = d.toJS();
    const v11 = parse(String(d), { version: "1.1" });
    assert.deepEqual(v11, v12);
  }
}

test("strings a YAML 1.1 reader would not read as strings are quoted: label values, route names, keys (both targets)", () => {
  withTemp((dir, write) => {
    const pods = seedPods();
    const helloworld = pods.items.filter((p) => p.metadata.labels.app === "helloworld");
    helloworld.forEach((p, i) => (p.metadata.labels.stage = AMBIGUOUS[i % AMBIGUOUS.length]));
    const r = cli(
      istioArgs(path.join(SEED, "step2-dr.yaml"), path.join(SEED, "step2-vs.yaml"), { pods: write("pods.json", pods) }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\n\s+stage: "on"\n/);
    assert.match(r.stdout, /\n\s+stage: "010"\n/);
    sameInYaml11(r.stdout);
    const labels = byKind(r.stdout, "WasmPlugin")[0].spec.pluginConfig.services[0].catalog.subsets.map(
      (s) => s.labels.stage,
    );
    assert.ok(labels.includes("on") && labels.includes("010"), labels.join(","));

    const eps = write(
      "eps.yaml",
      `- host: helloworld.default.svc.cluster.local\n  port: 8000\n  endpoints:\n${AMBIGUOUS.map((v, i) => `  - {address: 10.0.0.${i + 1}, labels: {stage: "${v}", version: "y"}}`).join("\n")}\n`,
    );
    const vs = write("vs.yaml", seedText("step2-vs.yaml").replace("name: default", 'name: "yes"'));
    const e = cli(envoyArgs([path.join(SEED, "step2-dr.yaml"), vs], eps));
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /\n\s+- name: "yes"\n/);
    sameInYaml11(e.stdout);
    assert.deepEqual(validateEnvoy(parse(e.stdout)), []);
  });
});

/** n ready helloworld pods with the seed's labels, as kubectl prints them. */
function manyPods(n) {
  const items = Array.from({ length: n }, (_, i) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `helloworld-${i}`,
      namespace: "default",
      labels: {
        app: "helloworld",
        stage: ["dev", "prod"][i % 2],
        version: `v${i % 3}`,
        "pod-template-hash": "6768bf56f8",
      },
    },
    spec: { containers: [{ name: "helloworld", ports: [{ name: "http", containerPort: 5678 }] }] },
    status: {
      phase: "Running",
      podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      conditions: [{ type: "Ready", status: "True" }],
    },
  }));
  return parsePods(JSON.stringify({ kind: "List", items }), "pods.json");
}

test("objects near Kubernetes' limits are named with their size and the remedy: server-side apply, or a smaller render", () => {
  const input = parseAsm([{ file: "step4.yaml", text: seedText("step4-ip-dr-vs.yaml") }]);
  const render = (n) =>
    renderIstio(input, { pods: manyPods(n), services: [] }, { wasmUrl: WASM_URL, routeToken: "0".repeat(32) });
  assert.deepEqual(
    render(200).warnings.filter((w) => /KiB|MiB/.test(w)),
    [],
  );
  const big = render(2000).warnings.filter((w) => w.startsWith("WasmPlugin"));
  assert.equal(big.length, 1, big.join("\n"));
  assert.match(
    big[0],
    /^WasmPlugin default\/dynamic-subset-helloworld-[0-9a-f]{8} is \d+ KiB as JSON; client-side kubectl apply copies it into the annotation kubectl\.kubernetes\.io\/last-applied-configuration, and Kubernetes allows 256 KiB of annotations per object: apply with kubectl apply --server-side$/,
  );
  const huge = render(10000).warnings.filter((w) => w.startsWith("WasmPlugin"));
  assert.match(
    huge[0],
    /is 1\.\d\d MiB as JSON; etcd stores at most 1\.50 MiB per object by default \(--max-request-bytes\)/,
  );
});

test("the envoy target's YAML keeps every string a string for Envoy's loader too (parts, plugin configuration JSON)", () => {
  const input = parseAsm([
    { file: "dr.yaml", text: seedText("step2-dr.yaml") },
    { file: "vs.yaml", text: seedText("step2-vs.yaml").replace("name: default", 'name: "on"') },
  ]);
  const { services } = parseEndpoints({
    file: "e.yaml",
    text: "- host: helloworld.default.svc.cluster.local\n  port: 8000\n  endpoints: [{address: 10.0.0.1, labels: {stage: 'off', version: '1e3'}}]\n",
  });
  const text = envoyYaml(renderEnvoy([{ input }], { output: "parts", endpoints: services }).documents);
  sameInYaml11(text);
  assert.match(text, /name: "on"/);
});
