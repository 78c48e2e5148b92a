#!/usr/bin/env node
// Echo backends for the local example: one tiny HTTP server per endpoint of an endpoints file, on the endpoint's
// own loopback address, answering like the seed's hashicorp/http-echo pods:
//   Welcome to helloworld stage: dev, version: v1, ip: 127.0.0.5
// 127.0.0.x stands in for the pod IP 192.168.0.x (Linux routes all of 127.0.0.0/8 to loopback; on macOS add
// aliases first: `sudo ifconfig lo0 alias 127.0.0.5` and so on).
//
// Usage: node envoy/backends.mjs [ENDPOINTS.yaml]   (default examples/helloworld/endpoints-local.yaml)
// Library: startBackends(file) -> Promise<{ addresses: string[], close(): Promise<void> }>

import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse } from "yaml";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_ENDPOINTS = path.join(REPO, "examples/helloworld/endpoints-local.yaml");

/** The text a pod with these labels answers (the seed's http-echo -text). */
export function welcome(labels, ip) {
  return `Welcome to helloworld stage: ${labels.stage}, version: ${labels.version}, ip: ${ip}\n`;
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
}

export async function startBackends(file = DEFAULT_ENDPOINTS) {
  const services = parse(readFileSync(file, "utf8"));
  const servers = [];
  const addresses = [];
  try {
    for (const service of services) {
      for (const e of service.endpoints) {
        const port = e.port ?? service.port;
        const text = welcome(e.labels ?? {}, e.address);
        const server = http.createServer((_req, res) => {
          res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
          res.end(text);
        });
        await listen(server, port, e.address);
        servers.push(server);
        addresses.push(`${e.address}:${port}`);
      }
    }
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    throw err;
  }
  return {
    addresses,
    close: () => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))).then(() => undefined),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const backends = await startBackends(process.argv[2] ?? DEFAULT_ENDPOINTS);
  console.log(`echo backends listening on ${backends.addresses.join(", ")}`);
  const stop = () => backends.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
