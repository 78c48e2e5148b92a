// Shared by the CLI tests: run the built command, temporary directories, the seed's inputs.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const SEED = path.join(ROOT, "examples/helloworld");
export const PODS = path.join(SEED, "pods.json");
export const SERVICE = path.join(ROOT, "istio/app.yaml");
export const WASM_URL = "oci://registry.example.com/dynamic-subset:0.1.0";
export const DIGEST = "0123456789abcdef".repeat(4);
export const PINNED_URL = `oci://registry.example.com/dynamic-subset@sha256:${DIGEST}`;

/** dynamic-subset as the tests run it: node dist/cli/main.js, in `cwd`, with `stdin` piped in. */
export function cli(args, { cwd = ROOT, stdin, env } = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), ...args], {
    cwd,
    input: stdin,
    encoding: "utf8",
    env: env ? { ...process.env, ...env } : process.env,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function withTemp(fn) {
  const dir = mkdtempSync(path.join(tmpdir(), "ds-cli-"));
  try {
    return fn(dir, (name, text) => {
      const file = path.join(dir, name);
      writeFileSync(file, typeof text === "string" ? text : JSON.stringify(text, null, 2));
      return file;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const docs = (text) => parseAllDocuments(text).map((d) => d.toJS());
export const byKind = (text, kind) => docs(text).filter((d) => d?.kind === kind);
export const seedText = (name) => readFileSync(path.join(SEED, name), "utf8");
export const seedPods = () => JSON.parse(readFileSync(PODS, "utf8"));

/** `render --target istio -f FILE...` with the seed's pods and Service and an image; options replace them (null:
 * leave the option out). */
export function istioArgs(...filesAndOptions) {
  const options = typeof filesAndOptions.at(-1) === "object" ? filesAndOptions.pop() : {};
  const { pods = PODS, service = SERVICE, wasmUrl = WASM_URL } = options;
  return [
    "render",
    "--target",
    "istio",
    ...filesAndOptions.flatMap((f) => ["-f", f]),
    "--pods",
    pods,
    ...(service ? ["--service", service] : []),
    ...(wasmUrl ? ["--wasm-url", wasmUrl] : []),
  ];
}

/** `render --target envoy -f FILE... --endpoints ENDPOINTS`. */
export const envoyArgs = (files, endpoints) => [
  "render",
  "--target",
  "envoy",
  ...files.flatMap((f) => ["-f", f]),
  "--endpoints",
  endpoints,
];

/** A resource as `kubectl get -o yaml` prints it after kubectl apply: server fields, status, last-applied. */
export function fromCluster(doc, i) {
  return {
    ...doc,
    metadata: {
      ...doc.metadata,
      annotations: {
        ...doc.metadata.annotations,
        "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify(doc),
      },
      uid: `0b7a6c1e-0000-4000-8000-00000000000${i}`,
      resourceVersion: `12345${i}`,
      generation: 3,
      creationTimestamp: "2026-11-30T08:00:00Z",
      managedFields: [{ manager: "kubectl-client-side-apply", operation: "Update", apiVersion: doc.apiVersion }],
    },
    status: { observedGeneration: 3 },
  };
}

/** stderr without the warnings every seed render prints (skipped pods, the tag-only URL, the mesh NOTE). */
export const errorLines = (stderr) => stderr.split("\n").filter((l) => l.startsWith("error: "));
