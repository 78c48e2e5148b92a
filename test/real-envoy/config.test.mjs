// Configuration handling in real Envoy, on every pinned version:
//   - a bootstrap with a malformed plugin configuration: Envoy refuses to start and its log carries the filter's
//     problem lines, exactly those of test/fixtures/bad-configs.json (one case per class of problem);
//   - a listener served from a watched file (LDS, path_config_source): Envoy rejects a bad update and keeps routing
//     with the previous configuration; a good update takes effect while requests keep flowing, none failing.
// (`envoy --mode validate` on every configuration of the repository: validate.test.mjs.)

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import { after, before, test } from "node:test";
import {
  freePort,
  httpRequest,
  localExampleBootstrap,
  runEnvoyToExit,
  startLocalExample,
} from "../../envoy/local-envoy.mjs";
import { forEachEnvoy, twoAtATime } from "./envoys.mjs";
import { configurationOf, wasmConfigOf, WatchedListenerFile } from "./watched-listener.mjs";

const BAD_CONFIGS = JSON.parse(readFileSync(new URL("../fixtures/bad-configs.json", import.meta.url), "utf8")).cases;

/** One case of each class of problem the filter reports (the expected lines come from the fixture). */
const SAMPLED = [
  "json: trailing comma in object", // malformed JSON: byte offset
  "json: invalid UTF-8 in a string", // bytes that are not UTF-8 (sent as google.protobuf.BytesValue)
  "repeated member name", // JSON that parses, but names a member twice
  "root is a list", // wrong JSON type
  "unknown service field", // unknown field
  "bad selector fallbackPolicy", // value outside an enum
  "header inside the filter's prefix", // header-name rules
  "defaultValue not a label value", // label grammar
  "defaultSubset %ip% not an IP", // the built-in %ip% key
  "duplicate cluster", // uniqueness
  "global DEFAULT_SUBSET without defaultSubset", // a field that another field requires
  "more than 64 distinct keys in one service", // size limits
  "two subsets with the same labels", // catalog mode
  "IPv6 endpoint without brackets", // catalog endpoints
  "several problems at once", // every problem reported, not only the first
];

const step2Listener = (b) => b.static_resources.listeners.find((l) => l.name === "step2");

/** The local example reduced to its step2 listener, with another plugin configuration. */
function bootstrapWith(configuration) {
  const b = localExampleBootstrap();
  b.static_resources.listeners = [step2Listener(b)];
  wasmConfigOf(b.static_resources.listeners[0]).configuration = configuration;
  return b;
}

/** Envoy's prefix of a module's log line, `wasm log <root id> <vm id>: `; the local example sets both to dynamic_subset. */
const ENVOY_PREFIX = "wasm log dynamic_subset dynamic_subset: ";

/** The filter's error lines in Envoy's log, `... wasm log dynamic_subset dynamic_subset: <problem>` -> problems. */
function filterErrorLines(log) {
  return log
    .split("\n")
    .filter((l) => l.includes("[error][wasm]") && l.includes(ENVOY_PREFIX))
    .map((l) => l.slice(l.indexOf(ENVOY_PREFIX) + ENVOY_PREFIX.length));
}

/** Every line the module logged carries Envoy's `prefix` once, and the filter's name is not repeated after it. */
function assertEnvoyPrefixOnce(log, prefix = ENVOY_PREFIX) {
  const lines = log.split("\n").filter((l) => l.includes(" wasm log "));
  assert.ok(lines.length > 0, "the filter logged nothing");
  for (const l of lines) {
    assert.ok(l.includes(`] ${prefix}`), `not Envoy's prefix ${JSON.stringify(prefix)}: ${l}`);
    assert.ok(!l.includes(`${prefix}dynamic_subset: `), `the filter's name repeated: ${l}`);
  }
}

forEachEnvoy("real Envoy refuses a bootstrap with a malformed plugin configuration", (envoy) => {
  const cases = SAMPLED.map((name) => {
    const c = BAD_CONFIGS.find((x) => x.name === name);
    if (!c) throw new Error(`test/fixtures/bad-configs.json has no case named ${JSON.stringify(name)}`);
    return c;
  });
  let runs;
  before(async () => {
    runs = await twoAtATime(cases.map((c) => () => runEnvoyToExit(envoy.bin, bootstrapWith(configurationOf(c)))));
  });

  cases.forEach((c, i) => {
    test(`${c.name}: Envoy exits, its log names each problem`, () => {
      const { code, ready, log } = runs[i];
      assert.equal(ready, false, "Envoy came up with a bad plugin configuration");
      assert.notEqual(code, 0);
      assert.deepEqual(filterErrorLines(log), c.errors, log.slice(-3000));
      assertEnvoyPrefixOnce(log);
      assert.match(log, /Unable to create Wasm plugin dynamic_subset/);
    });
  });

  test("Envoy's prefix names the root id and the VM id, not the plugin: Istio's PluginConfig logs `wasm log dynamic_subset: `", async () => {
    // istiod names the PluginConfig `<namespace>.<WasmPlugin name>`, sets root_id to pluginName and no vm_id
    const c = cases[0];
    const b = bootstrapWith(configurationOf(c));
    const plugin = wasmConfigOf(b.static_resources.listeners[0]);
    plugin.name = "default.dynamic-subset";
    delete plugin.vm_config.vm_id;
    const { ready, log } = await runEnvoyToExit(envoy.bin, b);
    assert.equal(ready, false);
    assertEnvoyPrefixOnce(log, "wasm log dynamic_subset: ");
    assert.ok(log.includes(`] wasm log dynamic_subset: ${c.errors[0]}\n`), log.slice(-3000));
    assert.match(log, /Unable to create Wasm plugin default\.dynamic-subset/);
  });
});

/** Requests sent back to back, from `parallel` loops, half on kept-alive connections: { stop() -> results }. */
function steadyLoad(port, headers, parallel = 4) {
  const agent = new http.Agent({ keepAlive: true });
  const results = [];
  let running = true;
  const loop = async (keepAlive) => {
    while (running) {
      const r = await httpRequest(port, headers, { agent: keepAlive ? agent : false }).catch((err) => ({
        status: `error ${err.code ?? err.message}`,
      }));
      results.push(r);
    }
  };
  const loops = Array.from({ length: parallel }, (_, i) => loop(i % 2 === 0));
  return {
    results,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return results;
    },
  };
}

const counter = async (example, name) => {
  const m = new RegExp(`^${name.replace(/\./g, "\\.")}: (\\d+)$`, "m").exec((await example.admin("/stats")).body);
  return m ? Number(m[1]) : undefined;
};

async function until(what, check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

forEachEnvoy("real Envoy: a listener from a watched file (LDS) takes good updates and rejects bad ones", (envoy) => {
  const DEV = { "x-stage": "dev" }; // x-version defaults to v3; the good update makes the default v2
  const dev = (version) => (body) => body.startsWith(`Welcome to helloworld stage: dev, version: ${version},`);
  let watched;
  let example;
  let port;
  let load;
  // A connection of its own, so that the answer comes from the configuration in force now: a kept-alive
  // connection stays with the filter chain it was accepted by until Envoy drains it.
  const fresh = () => httpRequest(port, DEV, { agent: false });

  before(async () => {
    const bootstrap = localExampleBootstrap();
    const listener = step2Listener(bootstrap);
    port = await freePort();
    listener.address.socket_address.port_value = port;
    bootstrap.static_resources.listeners = [];
    watched = new WatchedListenerFile(listener);
    bootstrap.dynamic_resources = watched.dynamicResources;
    example = await startLocalExample(envoy.bin, { bootstrap });
    load = steadyLoad(port, DEV);
  });
  after(async () => {
    await load?.stop();
    await example?.close();
    watched?.remove();
  });

  test("the listener from the file routes", async () => {
    const r = await fresh();
    assert.ok(dev("v3")(r.body), r.body);
    assert.equal(await counter(example, "listener_manager.lds.update_success"), 1);
  });

  test("a bad plugin configuration: update rejected, the filter's error logged, the previous one keeps routing", async () => {
    watched.replaceConfiguration((v) => v.replace('"defaultValue":"v3"', '"defaultValue":"Bad Value!"'));
    await until(
      "lds.update_rejected",
      async () => (await counter(example, "listener_manager.lds.update_rejected")) === 1,
    );
    assert.equal(await counter(example, "listener_manager.lds.update_success"), 1);
    // The filter's new root context ran on_configure in the running VM and counted the rejection.
    assert.equal(await counter(example, "wasmcustom.dynamic_subset_config_rejected_total"), 1);
    assert.deepEqual(filterErrorLines(example.log.join("")), [
      'services[0].routes[0].headerToDynamicSubsetKey[0].defaultValue: "Bad Value!" is not a valid label value (1-63 characters of [-A-Za-z0-9_.], alphanumeric at both ends)',
    ]);
    assertEnvoyPrefixOnce(example.log.join(""));
    const r = await fresh();
    assert.ok(dev("v3")(r.body), r.body);
    assert.equal(r.decision, "subset:stage=dev,version=v3");
  });

  test("a good update takes effect; no request fails while it does", async (t) => {
    watched.replaceConfiguration((v) => v.replace('"defaultValue":"v3"', '"defaultValue":"v2"'));
    await until(
      "lds.update_success",
      async () => (await counter(example, "listener_manager.lds.update_success")) === 2,
    );
    const r = await fresh();
    assert.ok(dev("v2")(r.body), r.body);
    assert.equal(r.decision, "subset:stage=dev,version=v2");
    await new Promise((resolve) => setTimeout(resolve, 200)); // keep the load on the new configuration a while
    const results = await load.stop();
    load = undefined;
    const onNew = results.filter((x) => dev("v2")(x.body)).length;
    t.diagnostic(
      `${results.length} requests under load across both updates, ${onNew} answered by the new configuration`,
    );
    const failed = results.filter((x) => x.status !== 200 || !(dev("v3")(x.body) || dev("v2")(x.body)));
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${results.length} requests failed`);
    assert.ok(results.length >= 50, `only ${results.length} requests under load`);
    assert.ok(onNew > 0, "the load never saw the new configuration");
  });
});
