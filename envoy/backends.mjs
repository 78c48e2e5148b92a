#!/usr/bin/env node
// Echo backends for the local example: one tiny HTTP server per endpoint of an endpoints file, on the endpoint's
// own loopback address, answering like the seed's hashicorp/http-echo pods:
//   Welcome to helloworld stage: dev, version: v1, ip: 127.0.0.5
// 127.0.0.x stands in for the pod IP 192.168.0.x (Linux routes all of 127.0.0.0/8 to loopback; on macOS add
// aliases first: `sudo ifconfig lo0 alias 127.0.0.5` and so on).
//
// GET /headers answers instead with every request header the backend received, in order and repeated ones
// repeated, as JSON: {"ip": "127.0.0.5", "headers": [[name, value], ...]} (values as latin1 text, byte for byte),
// so tests can see exactly what Envoy forwarded.
//
// Usage: node envoy/backends.mjs [ENDPOINTS.yaml]   (default examples/helloworld/endpoints-local.yaml)
// Library: startBackends(file, {port}) -> Promise<{ addresses: string[], port, close(): Promise<void> }>
//   port: one port for every backend instead of the endpoints file's (0: a free one), so that several copies
//   (tests, the demo) can run side by side.

import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse } from "yaml";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_ENDPOINTS = path.join(REPO, "examples/helloworld/endpoints-local.yaml");
export const HEADERS_PATH = "/headers";
// Envoy forwards request headers up to its own limit (max_request_headers_kb, at most 8 MiB); Node's default of
// 16 KiB would answer 431 for requests that Envoy lets through.
const MAX_HEADER_BYTES = 1024 * 1024;

/** The text a pod with these labels answers (the seed's http-echo -text). */
export function welcome(labels, ip) {
  return `Welcome to helloworld stage: ${labels.stage}, version: ${labels.version}, ip: ${ip}\n`;
}

function pairs(rawHeaders) {
  const out = [];
  for (let i = 0; i < rawHeaders.length; i += 2) out.push([rawHeaders[i], rawHeaders[i + 1]]);
  return out;
}

function echoServer(text, ip) {
  return http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    if (req.url === HEADERS_PATH) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ip, headers: pairs(req.rawHeaders) }));
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.end(text);
  });
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server.address().port));
  });
}

const closeAll = (servers) => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))).then(() => undefined);

/** Starts every endpoint; with `port` given, all on that one port (0: the first free one, then the same). */
async function startAll(services, port) {
  const servers = [];
  const addresses = [];
  let shared = port;
  try {
    for (const service of services) {
      for (const e of service.endpoints) {
        const server = echoServer(welcome(e.labels ?? {}, e.address), e.address);
        const bound = await listen(server, shared ?? e.port ?? service.port, e.address);
        if (shared === 0) shared = bound;
        servers.push(server);
        addresses.push(`${e.address}:${bound}`);
      }
    }
  } catch (err) {
    await closeAll(servers);
    throw err;
  }
  return { addresses, port: shared, close: () => closeAll(servers) };
}

export async function startBackends(file = DEFAULT_ENDPOINTS, { port } = {}) {
  const services = parse(readFileSync(file, "utf8"));
  // A free port on the first address may be taken on another one: try a few.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startAll(services, port);
    } catch (err) {
      if (port !== 0 || err.code !== "EADDRINUSE" || attempt === 5) throw err;
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const backends = await startBackends(process.argv[2] ?? DEFAULT_ENDPOINTS);
  console.log(`echo backends listening on ${backends.addresses.join(", ")}`);
  const stop = () => backends.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
