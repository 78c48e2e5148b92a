// Runs real Envoy on loopback: any bootstrap (startEnvoy), or the local example (startLocalExample: the echo
// backends and envoy/envoy.yaml). The admin interface and every static listener are moved to free loopback ports,
// and the example's backends to one free port; nothing else changes. Used by the demo, the real-Envoy test suites
// and the benchmarks, so that several of them can run at once beside a user's envoy/run.sh.
//
//   startEnvoy(bin, bootstrap, options)  -> Envoy: { ports: {listener: port}, adminPort, dir, log,
//                                           request(listener, headers, options), admin(path), exited, close() }
//   startLocalExample(bin, options)      -> the same, with the echo backends running (closed with it);
//                                           options.bootstrap: another bootstrap for the same backends
//   runEnvoyToExit(bin, bootstrap, opts) -> { code, signal, log, ready }: `--mode validate`, or a refused start

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { DEFAULT_ENDPOINTS, startBackends } from "./backends.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WASM = path.join(ROOT, "build/dynamic_subset.wasm");
/** The backends' port in envoy/envoy.yaml (examples/helloworld/endpoints-local.yaml). */
const EXAMPLE_BACKEND_PORT = 8000;

// Ports handed out by this process: the kernel may give a just-closed port to the next bind, so two calls in a row
// could name the same port, and an Envoy with two listeners on it refuses to start ("duplicate address").
const handedOut = new Set();

function unusedPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A loopback port that nothing listens on now and that this process has not handed out before. */
export async function freePort() {
  for (;;) {
    const port = await unusedPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/**
 * One HTTP/1.1 request to 127.0.0.1:port. Defaults: GET /, the seed's `Host: helloworld:8000`, Node's keep-alive
 * agent (agent: false opens a connection of its own).
 * -> { status, headers, body (text, trailing newline dropped), decision (x-dynamic-subset response header) }
 */
export function httpRequest(
  port,
  headers = {},
  { method = "GET", path: urlPath = "/", timeoutMs = 5000, agent = undefined } = {},
) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method, path: urlPath, agent, headers: { host: "helloworld:8000", ...headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            body: body.trimEnd(),
            decision: res.headers["x-dynamic-subset"],
          }),
        );
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request to port ${port} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

function adminGet(adminPort, urlPath) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port: adminPort, path: urlPath }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode, body }));
      })
      .on("error", reject);
  });
}

async function waitReady(adminPort, envoy, log) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (envoy.exitCode !== null) throw new Error(`envoy exited with ${envoy.exitCode}:\n${log.join("").slice(-4000)}`);
    const ready = await adminGet(adminPort, "/ready").then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`envoy not ready after 30 s:\n${log.join("").slice(-4000)}`);
}

/**
 * Writes `bootstrap` (an object; not modified) into a new temporary folder after moving the admin interface and
 * every static listener to free loopback ports. -> { file, dir, ports: {listener: port}, adminPort }
 */
async function placeBootstrap(bootstrap) {
  const config = structuredClone(bootstrap);
  const adminPort = await freePort();
  config.admin = { ...config.admin, address: { socket_address: { address: "127.0.0.1", port_value: adminPort } } };
  const ports = {};
  for (const l of config.static_resources?.listeners ?? [])
    l.address.socket_address.port_value = ports[l.name] = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "envoy-"));
  const file = path.join(dir, "envoy.yaml");
  writeFileSync(file, stringify(config));
  return { file, dir, ports, adminPort };
}

/** Spawns Envoy on a placed bootstrap; its stdout and stderr collect in `log`. */
function spawnEnvoy(bin, file, { cwd, logLevel, args }) {
  const log = [];
  const envoy = spawn(bin, ["-c", file, "--use-dynamic-base-id", "--log-level", logLevel, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  envoy.stdout.on("data", (d) => log.push(String(d)));
  envoy.stderr.on("data", (d) => log.push(String(d)));
  const exited = new Promise((resolve) => envoy.once("exit", (code, signal) => resolve({ code, signal })));
  return { envoy, log, exited };
}

/**
 * Starts `bin` with `bootstrap` (placed as placeBootstrap says). `cwd` is where relative paths in the bootstrap
 * resolve (default: the repository root, so `build/dynamic_subset.wasm` is found). Resolves once Envoy answers
 * /ready.
 */
export async function startEnvoy(bin, bootstrap, { cwd = ROOT, logLevel = "warn", args = [] } = {}) {
  const { file, dir, ports, adminPort } = await placeBootstrap(bootstrap);
  const { envoy, log, exited } = spawnEnvoy(bin, file, { cwd, logLevel, args });
  const close = async () => {
    if (envoy.exitCode === null && envoy.signalCode === null) {
      envoy.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(adminPort, envoy, log);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    ports,
    adminPort,
    dir,
    log,
    pid: envoy.pid,
    exited,
    request: (listener, headers, options) => httpRequest(ports[listener], headers, options),
    admin: (urlPath) => adminGet(adminPort, urlPath),
    close,
  };
}

/**
 * Runs `bin` with `bootstrap` until it exits by itself: `--mode validate`, or a start that Envoy refuses (placed
 * and run as startEnvoy does; killed after timeoutMs). -> { code, signal, log (text), ready (it came up) }
 */
export async function runEnvoyToExit(
  bin,
  bootstrap,
  { cwd = ROOT, logLevel = "info", args = [], timeoutMs = 20_000 } = {},
) {
  const { file, dir, adminPort } = await placeBootstrap(bootstrap);
  const { envoy, log, exited } = spawnEnvoy(bin, file, { cwd, logLevel, args });
  const timer = setTimeout(() => envoy.kill("SIGKILL"), timeoutMs);
  // A start that should fail must not come up: poll /ready until Envoy exits.
  let ready = false;
  while (envoy.exitCode === null && envoy.signalCode === null && !ready) {
    ready = await adminGet(adminPort, "/ready").then(
      (r) => r.status === 200,
      () => false,
    );
    if (!ready) await Promise.race([exited, new Promise((r) => setTimeout(r, 50))]);
  }
  if (ready) envoy.kill("SIGTERM");
  const { code, signal } = await exited;
  clearTimeout(timer);
  rmSync(dir, { recursive: true, force: true });
  return { code, signal, log: log.join(""), ready };
}

/** envoy/envoy.yaml, parsed. */
export function localExampleBootstrap() {
  return parse(readFileSync(path.join(ROOT, "envoy/envoy.yaml"), "utf8"));
}

/** A copy of `bootstrap` whose static endpoints on port `from` are on port `to` instead. */
function withEndpointPort(bootstrap, from, to) {
  const config = structuredClone(bootstrap);
  for (const cluster of config.static_resources?.clusters ?? [])
    for (const locality of cluster.load_assignment?.endpoints ?? [])
      for (const { endpoint } of locality.lb_endpoints ?? [])
        if (endpoint.address.socket_address.port_value === from) endpoint.address.socket_address.port_value = to;
  return config;
}

/**
 * The local example: the echo backends (envoy/backends.mjs) on a free port and envoy/envoy.yaml (or
 * options.bootstrap, for the same backends) with the built filter.
 */
export async function startLocalExample(bin, { bootstrap = localExampleBootstrap(), ...options } = {}) {
  if (!existsSync(WASM)) throw new Error(`${WASM} is missing: run npm run build:wasm`);
  const backends = await startBackends(DEFAULT_ENDPOINTS, { port: 0 });
  let envoy;
  try {
    envoy = await startEnvoy(bin, withEndpointPort(bootstrap, EXAMPLE_BACKEND_PORT, backends.port), options);
  } catch (err) {
    await backends.close();
    throw err;
  }
  return {
    ...envoy,
    close: async () => {
      await envoy.close();
      await backends.close();
    },
  };
}
