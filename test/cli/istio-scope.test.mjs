// Who loads the filter on Istio (README "Who loads the filter"): one WasmPlugin per client scope, each holding
// every service of the render; the root namespace only with --mesh-wide; gateways get a WasmPlugin on their pods;
// renders for different services never overwrite each other; layouts that cannot work are refused.

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { validateManifest } from "../render/k8s-validate.mjs";
import { byKind, cli, errorLines, istioArgs, SEED, seedText, withTemp } from "./helpers.mjs";

const DR = path.join(SEED, "step2-dr.yaml");
const VS = path.join(SEED, "step2-vs.yaml");
const GATEWAY = path.join(SEED, "step2-gateway.yaml");

function render(args) {
  const r = cli(args);
  assert.equal(r.code, 0, r.stderr);
  const plugins = byKind(r.stdout, "WasmPlugin");
  for (const p of plugins) assert.deepEqual(validateManifest(p), [], p.metadata.name);
  return { ...r, plugins, where: plugins.map((p) => `${p.metadata.namespace}/${p.metadata.name}`) };
}

const summary = (p) => ({
  namespace: p.metadata.namespace,
  selector: p.spec.selector?.matchLabels,
  match: p.spec.match,
  hosts: p.spec.pluginConfig.services.map((s) => s.host),
});

test("default: one WasmPlugin for the sidecars of the service's namespace, and a NOTE that clients elsewhere get no subsets", () => {
  const r = render(istioArgs(DR, VS));
  assert.deepEqual(r.plugins.map(summary), [
    {
      namespace: "default",
      selector: undefined,
      match: [{ mode: "CLIENT", ports: [{ number: 8000 }] }],
      hosts: ["helloworld.default.svc.cluster.local"],
    },
  ]);
  assert.match(r.plugins[0].metadata.name, /^dynamic-subset-helloworld-[0-9a-f]{8}$/);
  assert.match(
    r.stderr,
    /^warning: NOTE: .*step2-vs\.yaml#0: sidecars in namespaces other than default route with this VirtualService but do not load the filter/m,
  );
});

test("--client-namespace: one WasmPlugin per namespace, the same configuration in each; --selector narrows them", () => {
  const r = render([
    ...istioArgs(DR, VS),
    "--client-namespace",
    "default",
    "--client-namespace",
    "shop",
    "--selector",
    "app=sleep",
  ]);
  assert.deepEqual(
    r.plugins.map((p) => p.metadata.namespace),
    ["default", "shop"],
  );
  assert.deepEqual(r.plugins[0].spec, { ...r.plugins[1].spec });
  assert.deepEqual(r.plugins[0].spec.selector, { matchLabels: { app: "sleep" } });
  assert.equal(r.plugins[0].metadata.name, r.plugins[1].metadata.name);
});

test("--mesh-wide: one WasmPlugin in the root namespace; a client namespace that is the root namespace is refused without it", () => {
  const mesh = render([...istioArgs(DR, VS), "--mesh-wide"]);
  assert.deepEqual(mesh.plugins.map(summary), [
    {
      namespace: "istio-system",
      selector: undefined,
      match: [{ mode: "CLIENT", ports: [{ number: 8000 }] }],
      hosts: ["helloworld.default.svc.cluster.local"],
    },
  ]);
  assert.doesNotMatch(mesh.stderr, /NOTE: .*do not load the filter/);
  assert.deepEqual(
    render([...istioArgs(DR, VS), "--mesh-wide", "--root-namespace", "mesh-root"]).plugins.map(summary)[0].namespace,
    "mesh-root",
  );
  withTemp((dir, write) => {
    const dr = write("dr.yaml", seedText("step2-dr.yaml").replace("namespace: default", "namespace: istio-system"));
    const r = cli(istioArgs(dr, VS));
    assert.equal(r.code, 1);
    assert.deepEqual(errorLines(r.stderr), [
      "error: client namespace istio-system is the mesh's root namespace: a WasmPlugin there applies to every workload of the mesh; give --mesh-wide if that is meant, else --client-namespace for the clients' namespaces (--root-namespace if your mesh's root namespace is not istio-system)",
    ]);
    assert.equal(render([...istioArgs(dr, VS), "--mesh-wide"]).plugins[0].metadata.namespace, "istio-system");
    assert.deepEqual(render([...istioArgs(dr, VS), "--client-namespace", "default"]).where.length, 1);
  });
  const both = cli([...istioArgs(DR, VS), "--mesh-wide", "--client-namespace", "shop"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--mesh-wide and --client-namespace exclude each other/);
});

test("gateways: routes bound to an Istio Gateway put a WasmPlugin on its pods; without the Gateway resource they are refused", () => {
  const r = render(istioArgs(DR, GATEWAY));
  assert.deepEqual(r.plugins.map(summary), [
    {
      namespace: "default",
      selector: undefined,
      match: [{ mode: "CLIENT", ports: [{ number: 8000 }] }],
      hosts: ["helloworld.default.svc.cluster.local"],
    },
    {
      namespace: "istio-system",
      selector: { istio: "ingressgateway" },
      match: [{ mode: "CLIENT" }],
      hosts: ["helloworld.default.svc.cluster.local"],
    },
  ]);
  assert.match(r.plugins[1].metadata.name, /^dynamic-subset-helloworld-helloworld-gateway-[0-9a-f]{8}$/);
  assert.equal(byKind(r.stdout, "Gateway").length, 0, "the Gateway is read, not rewritten");
  withTemp((dir, write) => {
    const vsOnly = write("vs.yaml", seedText("step2-gateway.yaml").split("---\n")[1].replace("  - mesh\n", ""));
    const refused = cli(istioArgs(DR, vsOnly));
    assert.equal(refused.code, 1);
    assert.deepEqual(errorLines(refused.stderr), [
      `error: ${vsOnly}#0 spec.gateways: routes to helloworld.default.svc.cluster.local run on gateway istio-system/helloworld-gateway; give its Gateway resource with -f so that a WasmPlugin is placed on the gateway's pods`,
    ]);
    // bound to the gateway only: no sidecar WasmPlugin
    const gatewayOnly = write("gw.yaml", seedText("step2-gateway.yaml").replace("  - mesh\n", ""));
    assert.deepEqual(
      render(istioArgs(DR, gatewayOnly)).where.map((w) => w.split("/")[0]),
      ["istio-system"],
    );
  });
});

/** A second service, api.default, with its own DestinationRule and VirtualService on port 9000. */
const API = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: default}
spec:
  host: api
  trafficPolicy: {loadBalancer: {dynamicSubset: {subsetSelectors: [{keys: [version]}], fallbackPolicy: ANY_ENDPOINT}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: default}
spec:
  hosts: [api]
  http:
  - name: api
    headerToDynamicSubsetKey: [{header: x-api-version, key: version}]
    route: [{destination: {host: api, port: {number: 9000}}}]
`;

function apiPods() {
  const pods = JSON.parse(seedText("pods.json"));
  pods.items.push({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "api-1", namespace: "default", labels: { app: "api", version: "v1" } },
    spec: { containers: [{ name: "api", ports: [{ containerPort: 9000 }] }] },
    status: { phase: "Running", podIP: "192.168.1.10", conditions: [{ type: "Ready", status: "True" }] },
  });
  return pods;
}

test("several services: one render gives one WasmPlugin holding both; separate renders get different names", () => {
  withTemp((dir, write) => {
    const api = write("api.yaml", API);
    const pods = write("pods.json", apiPods());
    const args = (...files) => istioArgs(...files, { pods });
    const both = render(args(DR, VS, api));
    assert.deepEqual(both.plugins.map(summary), [
      {
        namespace: "default",
        selector: undefined,
        match: [{ mode: "CLIENT", ports: [{ number: 8000 }, { number: 9000 }] }],
        hosts: ["helloworld.default.svc.cluster.local", "api.default.svc.cluster.local"],
      },
    ]);
    const one = render(args(DR, VS)).plugins[0].metadata.name;
    const other = render(args(api)).plugins[0].metadata.name;
    assert.equal(
      new Set([one, other, both.plugins[0].metadata.name]).size,
      3,
      "no render overwrites another's WasmPlugin",
    );
    assert.match(other, /^dynamic-subset-api-[0-9a-f]{8}$/);
    // the previous output's WasmPlugin that this render replaces is named for deletion
    const previous = write("previous.yaml", render(args(DR, VS)).stdout);
    const next = render([...args(DR, VS, api), "--previous", previous]);
    assert.match(
      next.stderr,
      new RegExp(
        `NOTE: the previous output had WasmPlugin default/${one}, which this render replaces: delete it \\(kubectl -n default delete wasmplugin ${one}\\)`,
      ),
    );
  });
});

test("a DestinationRule that no VirtualService routes to is refused: the filter would have nothing to steer", () => {
  const r = cli(istioArgs(DR));
  assert.equal(r.code, 1);
  assert.deepEqual(errorLines(r.stderr), [
    "error: no VirtualService in the input routes to helloworld.default.svc.cluster.local: the filter would have no route to steer (give the VirtualService with headerToDynamicSubsetKey with -f)",
  ]);
});

test("a DestinationRule not exported to a client scope is refused: those clients would route to subsets they cannot see", () => {
  withTemp((dir, write) => {
    const dr = write("dr.yaml", seedText("step2-dr.yaml").replace("spec:\n", "spec:\n  exportTo: ['.']\n"));
    assert.equal(render(istioArgs(dr, VS)).plugins.length, 1, "exported to its own namespace, the only client scope");
    const r = cli([...istioArgs(dr, VS), "--client-namespace", "default", "--client-namespace", "shop"]);
    assert.equal(r.code, 1);
    assert.deepEqual(errorLines(r.stderr), [
      `error: ${dr}#0 spec.exportTo: every sidecar in namespace shop would route to the subsets of helloworld.default.svc.cluster.local, but the DestinationRule is not exported to namespace shop: those requests would fail (503)`,
    ]);
  });
});
