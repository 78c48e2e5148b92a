// A client sidecar as istiod programs it (./istiod.mjs), run in real Envoy on loopback in front of echo pods
// (./istiod-pods.mjs), with an access log that records, per request, the route Envoy used, the upstream cluster and
// host, the filter's decision (%FILTER_STATE(wasm.dynamic_subset:PLAIN)%), the response flags and attempts.
//
//   startIstioSidecar(bin, { manifests, pods, services }, { wasm, editBootstrap, logLevel, args }) -> {
//     request(headers, { path, method }) -> { status, body, headers, log }   headers: object or [name, value] pairs;
//                                           log = the access-log entry of this request
//     setPods(podsText)                   pushes new EDS (pods became unhealthy, went away) and waits for Envoy
//     counters(prefix)                    Map name -> value from /stats
//     admin(path), log, close()
//   }
//   localManifest(text, port), localPods(text, port): the seed's 192.168.0.x:5678 pods as 127.0.0.x:<port>.

import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { startEnvoy } from "../../envoy/local-envoy.mjs";
import { edsFileText, istiodSidecar, loadAssignments } from "./istiod.mjs";

const LISTENER = "0.0.0.0_8000";
const TEST_ID = "x-test-id";
const SEED_POD_PORT = 5678;

/** The seed's pods answer on 192.168.0.x:5678; here they are 127.0.0.x:<port> (examples/helloworld localIp). */
export const localManifest = (text, port) =>
  text.replace(/192\.168\.0\.(\d+)(:5678\b)?/g, (_m, host, withPort) => `127.0.0.${host}${withPort ? `:${port}` : ""}`);
export const localPods = (text, port) =>
  localManifest(text, port).replace(
    new RegExp(`"containerPort": ${SEED_POD_PORT}\\b`, "g"),
    `"containerPort": ${port}`,
  );

/** An access-log line per request, JSON, on stdout (read back from Envoy's output). */
const ACCESS_LOG = {
  name: "envoy.access_loggers.stdout",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
    log_format: {
      json_format: {
        test_id: `%REQ(${TEST_ID})%`,
        route: "%ROUTE_NAME%",
        cluster: "%UPSTREAM_CLUSTER%",
        host: "%UPSTREAM_HOST%",
        code: "%RESPONSE_CODE%",
        flags: "%RESPONSE_FLAGS%",
        details: "%RESPONSE_CODE_DETAILS%",
        decision: "%FILTER_STATE(wasm.dynamic_subset:PLAIN)%",
        attempts: "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
      },
    },
  },
};

/** One HTTP/1.1 request with headers given as pairs (repeats and any case kept). */
function rawRequest(port, pairs, { method = "GET", path: urlPath = "/", timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method, path: urlPath, agent: false, headers: pairs.flat() },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: body.trimEnd() }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request to port ${port} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The access-log entries Envoy printed so far, by test id. */
function accessLogEntries(log) {
  const entries = new Map();
  for (const line of log.join("").split("\n")) {
    if (!line.startsWith('{"')) continue;
    try {
      const entry = JSON.parse(line);
      if (entry.test_id) entries.set(entry.test_id, entry);
    } catch {
      // a line still being written
    }
  }
  return entries;
}

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
 * wasm: the module file (default the built filter); editBootstrap(bootstrap): a test's change to istiod's
 * configuration before Envoy starts; logLevel, args: Envoy's.
 */
export async function startIstioSidecar(
  bin,
  inputs,
  { wasm = "build/dynamic_subset.wasm", editBootstrap, logLevel = "warn", args = [] } = {},
) {
  const edsDir = mkdtempSync(path.join(tmpdir(), "istiod-eds-"));
  const sidecar = istiodSidecar(inputs, { wasm, edsDir, accessLog: ACCESS_LOG });
  editBootstrap?.(sidecar.bootstrap);
  writeEds(sidecar.edsPath, sidecar.loadAssignments);
  let envoy;
  try {
    // Access logs are buffered; flush them often so a test reads a request's line right after its response.
    envoy = await startEnvoy(bin, sidecar.bootstrap, {
      logLevel,
      args: ["--file-flush-interval-msec", "5", ...args],
    });
    await waitForEds(envoy, sidecar.loadAssignments);
  } catch (err) {
    await envoy?.close();
    rmSync(edsDir, { recursive: true, force: true });
    throw err;
  }
  let next = 0;
  return {
    bootstrap: sidecar.bootstrap,
    log: envoy.log,
    admin: envoy.admin,
    async request(headers = {}, options = {}) {
      const id = `${process.pid}-${++next}`;
      const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
      const hasHost = pairs.some(([k]) => k.toLowerCase() === "host");
      const all = [...(hasHost ? [] : [["host", "helloworld:8000"]]), ...pairs, [TEST_ID, id]];
      const response = await rawRequest(envoy.ports[LISTENER], all, options);
      const deadline = Date.now() + 5000;
      let log;
      while (!(log = accessLogEntries(envoy.log).get(id)) && Date.now() < deadline) await sleep(5);
      if (!log) throw new Error(`no access-log line for request ${id}`);
      return { ...response, log };
    },
    async setPods(podsText) {
      const assignments = loadAssignments(sidecar, podsText);
      writeEds(sidecar.edsPath, assignments);
      await waitForEds(envoy, assignments);
    },
    async counters(prefix) {
      const { body } = await envoy.admin(`/stats?filter=${encodeURIComponent(prefix)}`);
      return new Map(
        body
          .split("\n")
          .filter((l) => l.includes(": "))
          .map((l) => [l.slice(0, l.lastIndexOf(": ")), Number(l.slice(l.lastIndexOf(": ") + 2))]),
      );
    },
    async close() {
      await envoy.close();
      rmSync(edsDir, { recursive: true, force: true });
    },
  };
}
