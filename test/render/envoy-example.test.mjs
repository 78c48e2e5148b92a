// The local example (envoy/): envoy.yaml is exactly what the renderer makes of the seed today, it serves every
// step of the seed on its own listener (and step 2 once per key source: cookie, query, baggage), and the echo
// backends answer like the seed's pods.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { startBackends } from "../../envoy/backends.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const read = (f) => readFileSync(path.join(ROOT, f), "utf8");
const bootstrap = () => parse(read("envoy/envoy.yaml"));

test("envoy/envoy.yaml is up to date: envoy/render.sh renders it byte for byte", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "envoy-example-"));
  try {
    const out = path.join(dir, "envoy.yaml");
    execFileSync("bash", [path.join(ROOT, "envoy/render.sh"), out], { stdio: ["ignore", "ignore", "pipe"] });
    assert.equal(read("envoy/envoy.yaml"), readFileSync(out, "utf8"), "envoy/envoy.yaml is stale: run envoy/render.sh");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("one listener per step of the seed, each with the DestinationRule of that step, and one per key source", () => {
  const b = bootstrap();
  assert.deepEqual(b.admin.address.socket_address, { address: "127.0.0.1", port_value: 9901 });
  assert.deepEqual(
    b.static_resources.listeners.map((l) => [l.name, l.address.socket_address.port_value]),
    [
      ["step2", 10000],
      ["step3-no-fallback", 10001],
      ["step3-any-endpoint", 10002],
      ["step3-default-subset", 10003],
      ["step4-ip", 10004],
      ["step2-cookie", 10005],
      ["step2-query", 10006],
      ["step2-baggage", 10007],
    ],
  );
  const lb = Object.fromEntries(b.static_resources.clusters.map((c) => [c.name.split("|")[0], c.lb_subset_config]));
  assert.deepEqual(lb.step2, { fallback_policy: "NO_FALLBACK", subset_selectors: [{ keys: ["stage", "version"] }] });
  assert.deepEqual(lb["step3-no-fallback"].subset_selectors, [
    { keys: ["stage", "version"], fallback_policy: "NO_FALLBACK" },
  ]);
  assert.deepEqual(lb["step3-any-endpoint"].subset_selectors, [
    { keys: ["stage", "version"], fallback_policy: "ANY_ENDPOINT" },
  ]);
  assert.deepEqual(lb["step3-default-subset"], {
    fallback_policy: "NO_FALLBACK",
    default_subset: { stage: "prod", version: "v3" },
    subset_selectors: [{ keys: ["stage", "version"], fallback_policy: "DEFAULT_SUBSET" }],
  });
  assert.deepEqual(lb["step4-ip"].subset_selectors, [{ keys: ["%ip%"], single_host_per_subset: true }]);
  // the key-source listeners: step 2's DestinationRule, and its mappings read from a cookie, query or baggage
  const plugin = (name) => {
    const listener = b.static_resources.listeners.find((l) => l.name === name);
    const wasm = listener.filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config;
    return JSON.parse(wasm.configuration.value).services[0];
  };
  for (const source of ["cookie", "query", "baggage"]) {
    assert.deepEqual(lb[`step2-${source}`], lb.step2, source);
    assert.deepEqual(plugin(`step2-${source}`).routes, [
      {
        name: "default",
        headerToDynamicSubsetKey: [
          { [source]: "version", key: "version", defaultValue: "v3" },
          { [source]: "stage", key: "stage", defaultValue: "prod" },
        ],
      },
    ]);
  }
  const hosts = b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints.map(
    (e) => e.metadata.filter_metadata["envoy.lb"],
  );
  assert.deepEqual(
    hosts.map((h) => `${h.stage}/${h.version}@${h["%ip%"]}`),
    [
      "dev/v1@127.0.0.5",
      "dev/v2@127.0.0.1",
      "dev/v3@127.0.0.252",
      "prod/v2@127.0.0.103",
      "prod/v3@127.0.0.104",
      "prod/v3@127.0.0.6",
    ],
  );
});

test("envoy/stats-tags.yaml is the stats_config of the example", () => {
  assert.deepEqual(parse(read("envoy/stats-tags.yaml")), bootstrap().stats_config);
});

test("envoy/run.sh pins the Envoy image to a patch release", () => {
  assert.match(read("envoy/run.sh"), /IMAGE=\$\{ENVOY_IMAGE:-envoyproxy\/envoy:v1\.\d+\.\d+\}/);
});

function get(address, port) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: address, port, path: "/" }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode, body }));
      })
      .on("error", reject);
  });
}

test("the echo backends answer like the seed's http-echo pods, on their own loopback addresses", async () => {
  const backends = await startBackends();
  try {
    assert.equal(backends.addresses.length, 6);
    assert.deepEqual(await get("127.0.0.5", 8000), {
      status: 200,
      body: "Welcome to helloworld stage: dev, version: v1, ip: 127.0.0.5\n",
    });
    assert.deepEqual(await get("127.0.0.6", 8000), {
      status: 200,
      body: "Welcome to helloworld stage: prod, version: v3, ip: 127.0.0.6\n",
    });
  } finally {
    await backends.close();
  }
});
