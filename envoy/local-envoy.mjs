// Starts the local example for real: the echo backends and an Envoy binary with envoy/envoy.yaml, every listener
// and the admin interface moved to free loopback ports (nothing else changes). Used by the real-Envoy test suite
// and by the demo when an Envoy binary is present.
//
//   startLocalExample(envoyBin) -> { ports: {listener: port}, request(listener, headers), close() }

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { startBackends } from "./backends.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WASM = path.join(ROOT, "build/dynamic_subset.wasm");

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** GET / on a listener with the seed's `Host: helloworld:8000` and the given headers. */
function request(port, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port, path: "/", headers: { host: "helloworld:8000", ...headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () =>
          resolve({ status: res.statusCode, body: body.trimEnd(), decision: res.headers["x-dynamic-subset"] }),
        );
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
  });
}

async function waitReady(adminPort, envoy, log) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (envoy.exitCode !== null) throw new Error(`envoy exited with ${envoy.exitCode}:\n${log.join("").slice(-4000)}`);
    const ready = await new Promise((resolve) => {
      http
        .get({ host: "127.0.0.1", port: adminPort, path: "/ready" }, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        })
        .on("error", () => resolve(false));
    });
    if (ready) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`envoy not ready after 30 s:\n${log.join("").slice(-4000)}`);
}

export async function startLocalExample(envoyBin) {
  if (!existsSync(WASM)) throw new Error(`${WASM} is missing: run npm run build:wasm`);
  const bootstrap = parse(readFileSync(path.join(ROOT, "envoy/envoy.yaml"), "utf8"));
  const adminPort = (bootstrap.admin.address.socket_address.port_value = await freePort());
  const ports = {};
  for (const l of bootstrap.static_resources.listeners)
    l.address.socket_address.port_value = ports[l.name] = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "real-envoy-"));
  const config = path.join(dir, "envoy.yaml");
  writeFileSync(config, stringify(bootstrap));
  const backends = await startBackends();
  const log = [];
  // cwd = repository root: envoy.yaml names the module build/dynamic_subset.wasm
  const envoy = spawn(envoyBin, ["-c", config, "--use-dynamic-base-id", "--log-level", "warn"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  envoy.stdout.on("data", (d) => log.push(String(d)));
  envoy.stderr.on("data", (d) => log.push(String(d)));
  const close = async () => {
    if (envoy.exitCode === null) {
      const exited = new Promise((r) => envoy.once("exit", r));
      envoy.kill("SIGTERM");
      await exited;
    }
    await backends.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(adminPort, envoy, log);
  } catch (err) {
    await close();
    throw err;
  }
  return { ports, log, request: (listener, headers) => request(ports[listener], headers), close };
}
