// The istio target at scale: 10,000 ready pods (`kubectl get pods -o json` as a live cluster prints it, 19 MB)
// and a %ip% selector, so the catalog lists every pod. Prints wall time and peak memory (max RSS) of the command.
// Usage: npm run bench:render [-- PODS]    (after npm run build:cli)

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;
const N = Number(process.argv[2] ?? 10000);
const STAGES = ["dev", "test", "prod"];
const VERSIONS = ["v1", "v2", "v3", "v4", "v5"];
const ZONES = ["a", "b", "c", "d"];

function pod(i) {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `helloworld-${i}`,
      namespace: "default",
      uid: `uid-${i}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: "2026-01-01T00:00:00Z",
      labels: {
        app: "helloworld",
        stage: STAGES[i % 3],
        version: VERSIONS[i % 5],
        zone: ZONES[i % 4],
        "pod-template-hash": "6768bf56f8",
        "security.istio.io/tlsMode": "istio",
      },
      managedFields: [
        { manager: "kube-controller-manager", operation: "Update", fieldsType: "FieldsV1", fieldsV1: {} },
      ],
    },
    spec: {
      containers: [
        { name: "helloworld", image: "hashicorp/http-echo", ports: [{ name: "http", containerPort: 5678 }] },
        { name: "istio-proxy", image: "istio/proxyv2", ports: [{ name: "http-envoy-prom", containerPort: 15090 }] },
      ],
    },
    status: { phase: "Running", podIP: ip, conditions: [{ type: "Ready", status: "True" }] },
  };
}

const DR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: helloworld, namespace: default}
spec:
  host: helloworld
  trafficPolicy:
    loadBalancer:
      dynamicSubset:
        subsetSelectors: [{keys: [stage, version]}, {keys: [stage, version, zone]}, {keys: ['%ip%']}]
        fallbackPolicy: ANY_ENDPOINT
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: helloworld, namespace: default}
spec:
  hosts: [helloworld]
  http:
  - name: default
    headerToDynamicSubsetKey:
    - {header: x-stage, key: stage}
    - {header: x-version, key: version}
    - {header: x-zone, key: zone}
    - {header: x-ip, key: '%ip%'}
    route: [{destination: {host: helloworld, port: {number: 8000}}}]
`;

const dir = mkdtempSync(path.join(tmpdir(), "ds-bench-"));
try {
  const pods = path.join(dir, "pods.json");
  writeFileSync(
    pods,
    JSON.stringify({ apiVersion: "v1", kind: "List", items: Array.from({ length: N }, (_, i) => pod(i)) }, null, 2),
  );
  writeFileSync(path.join(dir, "asm.yaml"), DR);
  // run() in a child that reports its own peak RSS when it is done
  const child = `import { run } from ${JSON.stringify(path.join(ROOT, "dist/cli/run.js"))};
const t0 = performance.now();
const code = run(process.argv.slice(1));
process.stderr.write(\`bench: exit \${code} in \${((performance.now() - t0) / 1000).toFixed(2)} s, max RSS \${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\\n\`);`;
  const out = path.join(dir, "rendered.yaml");
  const args = [
    "render",
    "--target",
    "istio",
    "-f",
    path.join(dir, "asm.yaml"),
    "--pods",
    pods,
    "--service",
    path.join(ROOT, "istio/app.yaml"),
  ];
  const r = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      child,
      "--",
      ...args,
      "--wasm-url",
      "oci://registry.example.com/dynamic-subset:0.1.0",
      "--route-token",
      "0".repeat(32),
      "-o",
      out,
    ],
    { encoding: "utf8" },
  );
  const line = r.stderr.split("\n").find((l) => l.startsWith("bench: "));
  console.log(
    `${N} pods (${(statSync(pods).size / 2 ** 20).toFixed(1)} MiB of kubectl JSON) -> ${(statSync(out).size / 2 ** 20).toFixed(1)} MiB of YAML; ${line?.slice("bench: ".length) ?? r.stderr}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
