// A client sidecar as istiod programs it (./istiod.mjs), run in real Envoy on loopback in front of echo pods
// (./istiod-pods.mjs), with the access log of ./istiod-access-log.mjs (route, cluster, host, flags, attempts and
// the filter's decision of every request).
//
//   startIstioSidecar(bin, { manifests, pods, services }, { wasm, fetchFailed, editBootstrap, logLevel, args }) -> {
//     request(headers, { path, method }) -> { status, body, headers, log }, accessLog(id): istiod-access-log.mjs
//     counters()                          the filter's counters
//     setPods(podsText)                   pushes new EDS (pods became unhealthy, went away) and waits for Envoy
//     admin(path), log, port (the outbound listener's), pid, exited, close()
//   }
//   localManifest(text, port), localPods(text, port): the seed's 192.168.0.x:5678 pods as 127.0.0.x:<port>.
//   renderSeedStep(variant, edit, options): the istio target's output for the seed's input of that step after
//   edit(ASM text), with the committed route token and renderer options (a variant of the seed a test needs).

import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startEnvoy } from "../../envoy/local-envoy.mjs";
import { ACCESS_LOG, FLUSH_ARGS, observedRequests } from "./istiod-access-log.mjs";
import { edsFileText, istiodSidecar, loadAssignments } from "./istiod.mjs";
import { parseAsm } from "../../dist/asm/index.js";
import { parsePods, parseService } from "../../dist/k8s/pods.js";
import { renderIstio } from "../../dist/render/istio.js";
import { stepFiles } from "../../examples/helloworld/walkthrough.mjs";

const LISTENER = "0.0.0.0_8000";
const SEED_POD_PORT = 5678;

/** The seed's pods answer on 192.168.0.x:5678; here they are 127.0.0.x:<port> (examples/helloworld localIp). */
export const localManifest = (text, port) =>
  text.replace(/192\.168\.0\.(\d+)(:5678\b)?/g, (_m, host, withPort) => `127.0.0.${host}${withPort ? `:${port}` : ""}`);
export const localPods = (text, port) =>
  localManifest(text, port).replace(
    new RegExp(`"containerPort": ${SEED_POD_PORT}\\b`, "g"),
    `"containerPort": ${port}`,
  );

/** See the top of this file. */
export function renderSeedStep(variant, edit = (text) => text, options = {}) {
  const committed = readFileSync(`istio/${variant}.yaml`, "utf8");
  const text = stepFiles(variant)
    .map((f) => readFileSync(f, "utf8"))
    .join("\n---\n");
  return renderIstio(
    parseAsm([{ file: `${variant}.yaml`, text: edit(text) }]),
    {
      pods: parsePods(readFileSync("examples/helloworld/pods.json", "utf8"), "pods.json"),
      services: [parseService(readFileSync("istio/app.yaml", "utf8"), "app.yaml")],
    },
    {
      routeToken: /routeToken: (\w+)/.exec(committed)[1],
      wasmUrl: "oci://registry.example.com/dynamic-subset:0.1.0",
      ...options,
    },
  ).yaml;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function writeEds(edsPath, assignments) {
  for (const [name, assignment] of assignments) {
    // Envoy watches the file for a rename onto it: write aside, then move.
    const file = edsPath(name);
    writeFileSync(`${file}.next`, edsFileText(assignment));
    renameSync(`${file}.next`, file);
  }
}

/** The hosts Envoy holds for each cluster, with their health flags (admin /clusters?format=json). */
async function clusterHosts(envoy) {
  const { body } = await envoy.admin("/clusters?format=json");
  const out = new Map();
  for (const c of JSON.parse(body).cluster_statuses ?? []) {
    out.set(
      c.name,
      (c.host_statuses ?? [])
        .map(
          (h) =>
            `${h.address.socket_address.address}:${h.address.socket_address.port_value}=${h.health_status.eds_health_status ?? "HEALTHY"}`,
        )
        .sort(),
    );
  }
  return out;
}

const expectedHosts = (assignment) =>
  assignment.endpoints
    .flatMap((l) => l.lb_endpoints)
    .map(
      (e) =>
        `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}=${e.health_status}`,
    )
    .sort();

/** Waits until Envoy holds exactly these endpoints in every cluster. */
async function waitForEds(envoy, assignments) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const hosts = await clusterHosts(envoy);
    const stale = [...assignments].filter(
      ([name, a]) => JSON.stringify(hosts.get(name)) !== JSON.stringify(expectedHosts(a)),
    );
    if (stale.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`EDS not applied after 10 s: ${stale[0][0]} has ${JSON.stringify(hosts.get(stale[0][0]))}`);
    await sleep(50);
  }
}

/**
 * wasm: the module file (default the built filter); fetchFailed: istio-agent could not fetch it (./istiod.mjs);
 * editBootstrap(bootstrap): a test's change to istiod's configuration before Envoy starts; logLevel, args: Envoy's. Requests carry Host helloworld:8000 unless they set one.
 */
export async function startIstioSidecar(
  bin,
  inputs,
  { wasm = "build/dynamic_subset.wasm", editBootstrap, logLevel = "warn", args = [], fetchFailed = false } = {},
) {
  const edsDir = mkdtempSync(path.join(tmpdir(), "istiod-eds-"));
  const sidecar = istiodSidecar(inputs, { wasm, edsDir, accessLog: ACCESS_LOG, fetchFailed });
  editBootstrap?.(sidecar.bootstrap);
  writeEds(sidecar.edsPath, sidecar.loadAssignments);
  let envoy;
  try {
    envoy = await startEnvoy(bin, sidecar.bootstrap, { logLevel, args: [...FLUSH_ARGS, ...args] });
    await waitForEds(envoy, sidecar.loadAssignments);
  } catch (err) {
    await envoy?.close();
    rmSync(edsDir, { recursive: true, force: true });
    throw err;
  }
  const observed = observedRequests(envoy, LISTENER, "helloworld:8000");
  return {
    bootstrap: sidecar.bootstrap,
    port: envoy.ports[LISTENER],
    pid: envoy.pid,
    exited: envoy.exited,
    log: envoy.log,
    admin: envoy.admin,
    request: observed.request,
    accessLog: observed.accessLog,
    counters: observed.counters,
    async setPods(podsText) {
      const assignments = loadAssignments(sidecar, podsText);
      writeEds(sidecar.edsPath, assignments);
      await waitForEds(envoy, assignments);
    },
    async close() {
      await envoy.close();
      rmSync(edsDir, { recursive: true, force: true });
    },
  };
}
