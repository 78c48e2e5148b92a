// Echo pods for the real-Envoy suites: one HTTP server per pod IP (127.0.0.x standing in for 192.168.0.x) on one
// port shared by all of them (a Deployment's containerPort), answering like the seed's hashicorp/http-echo:
//   Welcome to helloworld stage: <stage>, version: <version>, ip: <ip>
// Every request a pod receives is recorded with its headers, so a test sees which pod answered and what reached
// it (no internal header may). A pod can answer an error status a number of times, or stop listening (a pod that
// is gone: connection refused).
//
//   startPods([{ ip, labels }], { record }) -> { port, received: [{ ip, headers: [[name, value]] }],
//                                    fail(ip, status, times), stop(ip), start(ip), close() }
//   record: false keeps `received` empty (a soak sends millions of requests).
//   seedPods(podsText)          -> the pods of `kubectl get pods -o json` that have an IP, on their local address
//   podsWith(podsText, ip, change) -> that pod list with one pod not Ready ("unready") or gone ("removed")

import http from "node:http";
import { localIp } from "../../examples/helloworld/walkthrough.mjs";

// Envoy forwards up to 60 KiB of request headers by default; Node's own limit (16 KiB) would answer 431 first.
const MAX_HEADER_BYTES = 1024 * 1024;

/** What the seed's http-echo pod with these labels answers. */
const welcome = (labels, ip) => `Welcome to helloworld stage: ${labels.stage}, version: ${labels.version}, ip: ${ip}`;

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

const closeServer = (server) => new Promise((resolve) => server.close(() => resolve()));

/** The pods of a pod list that have an IP (any phase or readiness), on their loopback stand-in address. */
export function seedPods(podsText) {
  return JSON.parse(podsText)
    .items.filter((p) => p.status?.podIP && p.spec.containers.some((c) => c.ports?.length))
    .map((p) => ({ ip: localIp(p.status.podIP), labels: p.metadata.labels }));
}

/** The pod list with one pod changed (its Ready condition) or removed, as `kubectl get pods -o json` would show. */
export function podsWith(podsText, ip, change) {
  const list = JSON.parse(podsText);
  list.items = list.items.flatMap((pod) => {
    if (pod.status?.podIP !== ip) return [pod];
    if (change === "removed") return [];
    const copy = structuredClone(pod);
    copy.status.conditions = copy.status.conditions.map((c) => (c.type === "Ready" ? { ...c, status: "False" } : c));
    return [copy];
  });
  return JSON.stringify(list, null, 2);
}

/** Starts one echo server per pod, all on one free port (tried until every address has it free). */
export async function startPods(pods, { record = true } = {}) {
  const received = [];
  const failures = new Map(); // ip -> { status, times }
  const servers = new Map(); // ip -> server
  const handler = (pod) => (req, res) => {
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      headers.push([req.rawHeaders[i].toLowerCase(), req.rawHeaders[i + 1]]);
    if (record) received.push({ ip: pod.ip, headers });
    const failure = failures.get(pod.ip);
    if (failure && failure.times > 0) {
      failure.times--;
      res.writeHead(failure.status, { "content-type": "text/plain" });
      res.end(`pod ${pod.ip} failed on purpose\n`);
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end(`${welcome(pod.labels, pod.ip)}\n`);
  };
  const serve = async (pod, port) => {
    const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, handler(pod));
    await listen(server, port, pod.ip);
    servers.set(pod.ip, server);
  };
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    try {
      for (const pod of pods) await serve(pod, port);
      return {
        port,
        received,
        fail(ip, status, times = 1) {
          failures.set(ip, { status, times });
        },
        /** The pod is gone: its connections are cut and its address refuses new ones. */
        async stop(ip) {
          const server = servers.get(ip);
          servers.delete(ip);
          if (!server) return;
          const closed = closeServer(server);
          server.closeAllConnections();
          await closed;
        },
        /** The pod is back, on the same address and port. */
        start: (ip) =>
          serve(
            pods.find((p) => p.ip === ip),
            port,
          ),
        close: () => Promise.all([...servers.values()].map(closeServer)).then(() => undefined),
      };
    } catch (err) {
      if (err.code !== "EADDRINUSE") throw err;
      await Promise.all([...servers.values()].map(closeServer));
      servers.clear();
    }
  }
  throw new Error("no port free on every pod address after 20 tries");
}
