// Two services in a chain, front -> helloworld, each routed by its own real Envoy with the dynamic-subset filter
// (metadata mode), the subset key read from the W3C baggage member `stage` (docs/configuration.md "Key sources"):
//
//   client --baggage: stage=dev--> edge Envoy --> front-dev | front-prod
//                                                   | front copies the incoming baggage header onto its call
//                                                   v
//                                       front's sidecar Envoy --> helloworld-dev | helloworld-prod
//
// The edge Envoy stands for whatever routes to front (an ingress gateway, or the client's sidecar); front's sidecar
// is the outbound proxy of the front pods (both front pods share it here; in a mesh each pod's sidecar has this same
// configuration). Both configurations are rendered by the CLI from the ASM YAML beside this file (front.yaml,
// helloworld.yaml) and the pods of endpoints.yaml, each pod on a free port of its own loopback address.
//
//   startChain(envoyBin) -> { request(headers) -> { hops, forwarded }, envoys, close() }
//     hops: [{ envoy, decision, pod, ip, stage }] for front's hop and helloworld's hop, in order
//     forwarded: the baggage header front sent on its call (null: none)
//     envoys: [{ name, routesTo, port, command }] (command: the render command line)

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { welcome } from "../../envoy/backends.mjs";
import { httpRequest, startEnvoy } from "../../envoy/local-envoy.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const CLI = path.join(ROOT, "dist/cli/main.js");
const relative = (file) => path.relative(ROOT, file);

/** The pods of endpoints.yaml: { service (short host name), name, ip, labels }. */
export function chainPods() {
  const services = parse(readFileSync(path.join(HERE, "endpoints.yaml"), "utf8"));
  return services.flatMap(({ host, endpoints }) =>
    endpoints.map((e) => ({
      service: host.split(".")[0],
      name: `${e.labels.app}-${e.labels.stage}`,
      ip: e.address,
      labels: e.labels,
    })),
  );
}

function listen(server, ip) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, ip, () => resolve(server.address().port));
  });
}

const closeServer = (server) => new Promise((resolve) => server.close(resolve));

/** A helloworld pod: answers like the seed's http-echo pods. */
function helloworldPod(pod) {
  return http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end(welcome(pod.labels, pod.ip));
  });
}

/**
 * A front pod: calls helloworld through its sidecar and answers, as JSON, who it is and what helloworld answered.
 * It copies the incoming `baggage` header onto its call and nothing else: that is what an OpenTelemetry SDK's
 * W3C Baggage propagator does (extract the baggage of the incoming request into the context, inject it into every
 * outgoing request made in that context), with no code of the application's own.
 */
function frontPod(pod, sidecarPort) {
  return http.createServer((req, res) => {
    const baggage = req.headers.baggage;
    const headers = { host: "helloworld", ...(baggage !== undefined ? { baggage } : {}) };
    httpRequest(sidecarPort, headers, { agent: false }).then(
      (next) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ pod: pod.name, ip: pod.ip, forwarded: baggage ?? null, next }));
      },
      (err) => {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`front could not call helloworld: ${err.message}`);
      },
    );
  });
}

/** Renders the Envoy bootstrap for one service with the CLI, from its ASM YAML and its pods' actual ports. */
function render(dir, service, pods) {
  const endpoints = path.join(dir, `${service}-endpoints.yaml`);
  const list = pods.map((p) => ({ address: p.ip, port: p.port, labels: p.labels }));
  writeFileSync(endpoints, stringify([{ host: `${service}.default.svc.cluster.local`, endpoints: list }]));
  const args = ["render", "--target", "envoy", "--output", "bootstrap", "--response-header"];
  args.push("-f", relative(path.join(HERE, `${service}.yaml`)), "--endpoints", endpoints);
  const text = execFileSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8" });
  return { bootstrap: parse(text), command: `dynamic-subset ${args.join(" ")}` };
}

/** The one listener of an Envoy started from a rendered bootstrap: its port. */
const listenerPort = (envoy) => Object.values(envoy.ports)[0];

async function startPods(pods, server) {
  const started = [];
  for (const pod of pods) {
    const s = server(pod);
    started.push(s);
    pod.port = await listen(s, pod.ip);
  }
  return started;
}

export async function startChain(envoyBin) {
  const pods = chainPods();
  const of = (service) => pods.filter((p) => p.service === service);
  const dir = mkdtempSync(path.join(tmpdir(), "baggage-chain-"));
  const servers = [];
  const envoys = [];
  const close = async () => {
    for (const e of envoys.reverse()) await e.close();
    await Promise.all(servers.map(closeServer));
    rmSync(dir, { recursive: true, force: true });
  };
  const described = [];
  try {
    servers.push(...(await startPods(of("helloworld"), helloworldPod)));
    const sidecarConfig = render(dir, "helloworld", of("helloworld"));
    const sidecar = await startEnvoy(envoyBin, sidecarConfig.bootstrap);
    envoys.push(sidecar);
    servers.push(...(await startPods(of("front"), (pod) => frontPod(pod, listenerPort(sidecar)))));
    const edgeConfig = render(dir, "front", of("front"));
    const edge = await startEnvoy(envoyBin, edgeConfig.bootstrap);
    envoys.push(edge);
    described.push(
      { name: "edge Envoy", routesTo: "front", port: listenerPort(edge), command: edgeConfig.command },
      { name: "front's sidecar", routesTo: "helloworld", port: listenerPort(sidecar), command: sidecarConfig.command },
    );
  } catch (err) {
    await close();
    throw err;
  }
  const podAt = (ip) => pods.find((p) => p.ip === ip);
  const hop = (envoy, decision, ip) => ({ envoy, decision, pod: podAt(ip)?.name, ip, stage: podAt(ip)?.labels.stage });

  /** One request to front through the edge Envoy (`headers`: e.g. { baggage: "stage=dev" }). */
  async function request(headers = {}) {
    const got = await httpRequest(described[0].port, { host: "front", ...headers }, { agent: false });
    if (got.status !== 200) throw new Error(`the edge Envoy answered ${got.status}: ${got.body}`);
    const front = JSON.parse(got.body);
    if (front.next.status !== 200) throw new Error(`front's sidecar answered ${front.next.status}: ${front.next.body}`);
    const helloworldIp = /ip: (\S+)$/.exec(front.next.body)?.[1];
    return {
      hops: [hop(described[0].name, got.decision, front.ip), hop(described[1].name, front.next.decision, helloworldIp)],
      forwarded: front.forwarded,
    };
  }
  return { request, envoys: described, close };
}
