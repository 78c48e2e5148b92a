// envoy/run.sh as a user runs it, and the commands the READMEs show for it, run as written: the 30-second example
// and "Key sources" of README.md, envoy/README.md "The seed's requests" and "Key sources". run.sh uses the fixed
// ports of envoy/envoy.yaml (8000 on the backends' 127.0.0.x, 9901, one port per listener from 10000), so this
// suite is skipped by name when another program holds one of them (a failure under CI=true).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { after, before, test } from "node:test";
import { parse } from "yaml";
import { PINNED_ENVOYS, availableEnvoys } from "../../scripts/envoy.mjs";
import { PODS } from "../../examples/helloworld/walkthrough.mjs";
import { ROOT, run, shBlock } from "./readme-commands.mjs";

const read = (file) => readFileSync(path.join(ROOT, file), "utf8");
const LISTENERS = parse(read("envoy/envoy.yaml")).static_resources.listeners;
const PORTS = [
  ...PODS.map((p) => ({ host: p.ip.replace(/^192\.168\.0\./, "127.0.0."), port: 8000 })),
  ...[9901, ...LISTENERS.map((l) => l.address.socket_address.port_value)].map((port) => ({ host: "127.0.0.1", port })),
];

const welcome = (ip) => {
  const pod = PODS.find((p) => p.ip.replace(/^192\.168\.0\./, "127.0.0.") === ip);
  return `Welcome to helloworld stage: ${pod.stage}, version: ${pod.version}, ip: ${ip}`;
};
const PROD_V3 = ["127.0.0.104", "127.0.0.6"].map(welcome);
const prodV3 = (out) => assert.ok(out.length === 1 && PROD_V3.includes(out[0]), out.join("|"));
const ANY_POD = PODS.map((p) => welcome(p.ip.replace(/^192\.168\.0\./, "127.0.0.")));

const isFree = ({ host, port }) =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });

async function busyPorts() {
  const busy = [];
  for (const p of PORTS) if (!(await isFree(p))) busy.push(`${p.host}:${p.port}`);
  return busy;
}

/** GET on run.sh's admin port 9901 -> body. */
function adminGet(urlPath) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port: 9901, path: urlPath }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`${urlPath}: ${res.statusCode}`)),
        );
      })
      .on("error", reject);
  });
}

const ready = () =>
  adminGet("/ready").then(
    () => true,
    () => false,
  );

const { envoys, unavailable } = availableEnvoys();
const busy = await busyPorts();
const skip = unavailable
  ? `skipped: ${unavailable}`
  : busy.length > 0
    ? `skipped: ports in use by another program: ${busy.join(", ")}`
    : false;
const NAME = "envoy/run.sh and the README commands for it";

if (skip && process.env.CI === "true") test(NAME, () => assert.fail(`CI=true: ${skip}`));
else if (skip) test(NAME, { skip }, () => {});
else describeRunSh(envoys[0]);

/** Starts envoy/run.sh with `env` and waits until its Envoy is ready: -> { stderr(), stop() (SIGTERM, wait) }. */
async function startRunSh(env = {}) {
  // A process group of its own, so that kill() can make sure nothing of it is left even if its trap failed.
  const script = spawn("bash", ["envoy/run.sh"], {
    cwd: ROOT,
    detached: true,
    env: Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined)),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  script.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => script.once("exit", (code, signal) => resolve({ code, signal })));
  const kill = () => {
    try {
      process.kill(-script.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const deadline = Date.now() + 60_000;
  while (!(await ready())) {
    if (script.exitCode !== null || Date.now() > deadline) {
      kill();
      throw new Error(`run.sh did not come up:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    stderr: () => stderr,
    stop: async () => {
      process.kill(script.pid, "SIGTERM");
      return exited;
    },
    kill,
  };
}

/** Ports still held after run.sh stopped (waits up to 10 s for them to close). */
async function portsLeft() {
  const deadline = Date.now() + 10_000;
  let left = await busyPorts();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = await busyPorts();
  }
  return left;
}

function describeRunSh(newest) {
  let runSh;
  before(async () => {
    runSh = await startRunSh();
  });
  after(() => runSh?.kill());

  test(`${NAME}: run.sh names the Envoy it runs (${newest.version}: ENVOY_BIN, else the newest pinned)`, () => {
    if (!process.env.ENVOY_BIN) assert.equal(newest.version, PINNED_ENVOYS[0].version);
    assert.match(runSh.stderr(), new RegExp(`run.sh: Envoy ${newest.version.replace(/\./g, "\\.")}/`));
  });

  test(`${NAME}: each listener's configuration is logged once per VM (a base VM and one per thread)`, async () => {
    const { concurrency } = JSON.parse(await adminGet("/server_info")).command_line_options;
    // one per listener and VM: the base VM, the main thread, `concurrency` workers
    const expected = LISTENERS.length * (2 + concurrency);
    const count = () =>
      (runSh.stderr().match(/ wasm log dynamic_subset dynamic_subset: configured: mode=metadata/g) ?? []).length;
    const deadline = Date.now() + 5000; // worker VMs may log just after /ready
    while (count() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(count(), expected, `${LISTENERS.length} listeners, ${concurrency} worker threads`);
  });

  test(`${NAME}: its Docker fallback is an image of the newest pinned version`, () => {
    assert.match(
      read("envoy/run.sh"),
      new RegExp(`IMAGE=\\$\\{ENVOY_IMAGE:-envoyproxy/envoy:v${PINNED_ENVOYS[0].version}\\}`),
    );
  });

  test(`${NAME}: envoy/README.md "The seed's requests", each command as written`, () => {
    const commands = shBlock("envoy/README.md", "### The seed's requests");
    const expected = [
      (out) => assert.deepEqual(out, [welcome("127.0.0.5")]),
      (out) => assert.deepEqual(out, ["no healthy upstream"]),
      (out) => assert.ok(out.length === 1 && PROD_V3.includes(out[0]), out.join("|")),
      (out) => assert.ok(out.length === 1 && ANY_POD.includes(out[0]), out.join("|")),
      (out) => assert.ok(out.length === 2 && out.every((l) => PROD_V3.includes(l)), out.join("|")),
      (out) => assert.deepEqual(out, new Array(3).fill(welcome("127.0.0.6"))),
      (out) => assert.ok(out.length === 1 && PROD_V3.includes(out[0]), `spoofed headers were honoured: ${out}`),
      (out) => assert.deepEqual(out, ["x-dynamic-subset: subset:stage=dev,version=v1"]),
      (out) => {
        assert.ok(out.includes("# TYPE dynamic_subset_outcomes_total counter"), out.join("\n"));
        assert.ok(out.some((l) => /^dynamic_subset_outcomes_total\{dynamic_subset_outcome="subset"\} \d+$/.test(l)));
        assert.ok(out.some((l) => /^dynamic_subset_requests_total\{\} \d+$/.test(l)));
      },
    ];
    assert.equal(commands.length, expected.length, commands.join("\n"));
    commands.forEach((command, i) => expected[i](run(command)));
  });

  test(`${NAME}: envoy/README.md "Key sources" (cookie, query, baggage listeners), each command as written`, () => {
    const commands = shBlock("envoy/README.md", "### Key sources");
    const expected = [
      (out) => assert.deepEqual(out, [welcome("127.0.0.5")]), // cookies
      (out) => assert.deepEqual(out, [welcome("127.0.0.5")]), // query, percent-decoded
      (out) => assert.deepEqual(out, [welcome("127.0.0.5")]), // baggage among other members
      (out) => assert.deepEqual(out, [welcome("127.0.0.252")]), // version's default
      prodV3, // malformed baggage: absent
      prodV3, // headers are not read on the cookie listener
    ];
    assert.equal(commands.length, expected.length, commands.join("\n"));
    commands.forEach((command, i) => expected[i](run(command)));
  });

  test(`${NAME}: README.md's "Key sources" curl commands, as written`, () => {
    const commands = shBlock("README.md", "**Key sources.**").filter((c) => c.startsWith("curl"));
    assert.equal(commands.length, 3, commands.join("\n"));
    for (const command of commands) assert.deepEqual(run(command), [welcome("127.0.0.5")], command);
  });

  test(`${NAME}: README.md's 30-second example, each command as written`, () => {
    const commands = shBlock("README.md", "**30 seconds.**").filter((c) => !c.startsWith("envoy/run.sh"));
    const expected = [
      (out, command) => {
        assert.deepEqual(out, []);
        assert.ok(existsSync(/-o (\S+)/.exec(command)[1]), command);
      },
      (out) => assert.deepEqual(out, [welcome("127.0.0.5")]),
      (out) => assert.ok(out.length === 1 && PROD_V3.includes(out[0]), out.join("|")),
    ];
    assert.equal(commands.length, expected.length, commands.join("\n"));
    commands.forEach((command, i) => expected[i](run(command), command));
  });

  test(`${NAME}: a signal to run.sh stops Envoy and the backends`, async () => {
    await runSh.stop();
    assert.deepEqual(await portsLeft(), [], "ports still held after run.sh stopped");
  });

  for (const older of PINNED_ENVOYS.slice(1)) {
    const bin = availableEnvoys().envoys.find((e) => e.version === older.version)?.bin;
    for (const [how, env] of [
      [`ENVOY_VERSIONS=${older.version}`, { ENVOY_VERSIONS: older.version, ENVOY_BIN: undefined }],
      [`ENVOY_BIN=<the ${older.version} binary>`, { ENVOY_BIN: bin }],
    ])
      test(
        `${NAME}: ${how} envoy/run.sh runs Envoy ${older.version}`,
        { skip: !bin && `Envoy ${older.version} is not among this run's (ENVOY_BIN or ENVOY_VERSIONS)` },
        async () => {
          const other = await startRunSh(env);
          try {
            assert.match(other.stderr(), new RegExp(`run.sh: Envoy ${older.version.replace(/\./g, "\\.")}/`));
            const [first] = shBlock("envoy/README.md", "### The seed's requests");
            assert.deepEqual(run(first), [welcome("127.0.0.5")]);
          } finally {
            await other.stop();
            other.kill();
          }
          assert.deepEqual(await portsLeft(), []);
        },
      );
  }
}
