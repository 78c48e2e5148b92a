// Every Kubernetes and Istio manifest in the repository, and the istio target's output for the seed, is valid
// against the Istio CRD and Kubernetes API schemas, strictly (unknown fields rejected: k8s-validate.mjs). And the
// validator is not a rubber stamp: the ASM-only fields, misspelt fields and bad enum values are rejected.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { manifestFiles, validateManifest } from "./k8s-validate.mjs";

const docsOf = (file) =>
  parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS())
    .filter(Boolean);

test("every Kubernetes/Istio manifest in the repository passes its schema", () => {
  const files = manifestFiles(".");
  assert.ok(files.includes("istio/app.yaml"), `found: ${files.join(", ")}`);
  for (const file of files) {
    for (const [i, doc] of docsOf(file).entries()) {
      if (doc.apiVersion === undefined) continue;
      assert.deepEqual(validateManifest(doc), [], `${file}#${i} ${doc.kind}/${doc.metadata?.name}`);
    }
  }
});

const seedAsm = (name) => docsOf(`examples/helloworld/${name}`);

test("ASM-only fields are not upstream Istio: the seed's own DestinationRule and VirtualService are rejected", () => {
  const [dr] = seedAsm("step3-default-subset-dr.yaml");
  assert.deepEqual(validateManifest(dr), ["/spec/trafficPolicy/loadBalancer/dynamicSubset: unknown field"]);
  const [vs] = seedAsm("step2-vs.yaml");
  assert.deepEqual(validateManifest(vs), ["/spec/http/0/headerToDynamicSubsetKey: unknown field"]);
});

const wasmPlugin = () => ({
  apiVersion: "extensions.istio.io/v1alpha1",
  kind: "WasmPlugin",
  metadata: { name: "dynamic-subset", namespace: "default" },
  spec: {
    url: "oci://registry.example.com/dynamic-subset:0.1.0",
    pluginName: "dynamic_subset",
    phase: "UNSPECIFIED_PHASE",
    failStrategy: "FAIL_CLOSE",
    match: [{ mode: "CLIENT", ports: [{ number: 8000 }] }],
    pluginConfig: { mode: "catalog", anything: { goes: [1] } },
  },
});

test("negative cases: misspelt fields, bad enums, wrong types, missing required fields", () => {
  assert.deepEqual(validateManifest(wasmPlugin()), [], "the base case is valid (pluginConfig is free-form)");
  const cases = [
    ["misspelt spec field", (w) => ((w.spec.failStategy = "FAIL_OPEN"), w), /\/spec\/failStategy: unknown field/],
    ["misspelt nested field", (w) => ((w.spec.match[0].prots = []), w), /\/spec\/match\/0\/prots: unknown field/],
    ["misspelt metadata field", (w) => ((w.metadata.lables = { a: "b" }), w), /\/metadata\/lables: unknown field/],
    ["bad phase enum", (w) => ((w.spec.phase = "ROUTING"), w), /phase must be equal to one of the allowed values/],
    [
      "bad failStrategy enum",
      (w) => ((w.spec.failStrategy = "FAIL_CLOSED"), w),
      /failStrategy must be equal to one of the allowed values/,
    ],
    [
      "bad match mode",
      (w) => ((w.spec.match[0].mode = "OUTBOUND"), w),
      /mode must be equal to one of the allowed values/,
    ],
    ["port as a string", (w) => ((w.spec.match[0].ports[0].number = "8000"), w), /number must be integer/],
    ["sha256 not hex", (w) => ((w.spec.sha256 = "xyz"), w), /sha256 must match pattern/],
    ["url missing", (w) => (delete w.spec.url, w), /spec must have required property url/],
  ];
  for (const [what, mutate, expected] of cases) {
    const problems = validateManifest(mutate(wasmPlugin()));
    assert.ok(
      problems.some((p) => expected.test(p)),
      `${what}: ${JSON.stringify(problems)}`,
    );
  }
  const dr = {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "DestinationRule",
    metadata: { name: "x" },
    spec: { host: "h", trafficPolicy: { loadBalancer: { simple: "RANDOMLY" } } },
  };
  assert.ok(validateManifest(dr).some((p) => /simple must be equal to one of the allowed values/.test(p)));
  const vs = {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: { name: "x" },
    spec: {
      hosts: ["h"],
      http: [{ match: [{ headers: { a: { exactly: "b" } } }], route: [{ destination: { host: "h" } }] }],
    },
  };
  assert.deepEqual(validateManifest(vs), ["/spec/http/0/match/0/headers/a/exactly: unknown field"]);
  const dep = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "x" },
    spec: { selector: {}, template: { spec: { containers: [{ name: "a", imagee: "x" }] } } },
  };
  assert.deepEqual(validateManifest(dep), ["/spec/template/spec/containers/0/imagee: unknown field"]);
  const svc = { apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { ports: [{ port: "http" }] } };
  assert.ok(
    validateManifest(svc).some((p) => /port must be integer/.test(p)),
    JSON.stringify(validateManifest(svc)),
  );
  const subsetWithoutName = { ...dr, spec: { host: "h", subsets: [{ labels: { a: "b" } }] } };
  assert.ok(validateManifest(subsetWithoutName).some((p) => /subsets\/0 must have required property name/.test(p)));
  assert.deepEqual(validateManifest({ apiVersion: "v1", kind: "Pod" }), ["no schema for v1/Pod"]);
});
