// The seed's steps 2-4 played through an Istio sidecar serving the committed istio/step*.yaml: route match on the
// client's headers, the compiled filter in the emulator with the rendered pluginConfig, route re-match after the
// filter changed the request headers, DestinationRule subset -> pods, persistent session for %ip% (model:
// ./mesh-istio.mjs, checked against real Envoy by test/real-envoy/catalog.test.mjs and differential.test.mjs).
// Each request asserts the set of pods that may answer, or the 503.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { IstioSidecar, emulatedFilter } from "./mesh-istio.mjs";

const WASM = "build/dynamic_subset.wasm";
const PODS = readFileSync("examples/helloworld/pods.json", "utf8");
const SERVICE = readFileSync("istio/app.yaml", "utf8");
const sidecar = (step) => new IstioSidecar(readFileSync(`istio/${step}.yaml`, "utf8"), PODS, SERVICE);
const ALL = ["192.168.0.1", "192.168.0.103", "192.168.0.104", "192.168.0.252", "192.168.0.5", "192.168.0.6"];
const PROD_V3 = ["192.168.0.104", "192.168.0.6"];
const NO_HEALTHY_UPSTREAM = { status: 503, body: "no healthy upstream" };
const b64 = (s) => Buffer.from(s).toString("base64");

// ---- the rendered routing table on its own (no filter needed) --------------------------------------------------

test("a client's own headers reach only the user's route: every generated route needs the secret route token", () => {
  for (const step of ["step2", "step3-default-subset", "step4-ip"]) {
    const mesh = sidecar(step);
    const token = mesh.pluginConfig.services[0].catalog.routeToken;
    const generated = mesh.routes().filter((r) => r.http.route[0].destination.subset);
    assert.ok(generated.length > 0);
    for (const r of generated)
      assert.equal(r.match.headers["x-dynamic-subset-subset"].exact, `${r.http.route[0].destination.subset}.${token}`);
    const guess = new Map([
      ["x-dynamic-subset-subset", [`${generated[0].http.route[0].destination.subset}.0123456789abcdef`]],
      ["x-stage", ["dev"]],
    ]);
    assert.equal(mesh.route(guess).name, "default", `${step}: a guessed token lands on the user's route`);
    for (const r of generated)
      assert.ok(mesh.hosts(r.http.route[0].destination.subset).length > 0, `${step}: ${r.name} has pods`);
  }
});

// ---- the model's Envoy behaviours, as real Envoy showed them (test/real-envoy/catalog.test.mjs) --------------------

/** A stand-in for the filter: passes the request on with `edit` applied to its headers. */
const passing = (edit, routeCacheCleared) => (_route, _cluster, pairs) => ({
  localResponse: null,
  headers: edit(pairs),
  routeCacheCleared,
});

test("the route is matched again when the filter changed the request headers, and only then", () => {
  const mesh = sidecar("step2");
  const subset = `ds-stage-dev--version-v1.${mesh.pluginConfig.services[0].catalog.routeToken}`;
  const client = [["x-dynamic-subset-subset", subset]];
  const strip = (pairs) => pairs.filter(([k]) => k !== "x-dynamic-subset-subset");
  const kept = mesh.request(client, passing(strip, false));
  assert.deepEqual([kept.route, kept.pods], ["default.ds-stage-dev--version-v1", ["192.168.0.5"]]);
  const rematched = mesh.request(client, passing(strip, true));
  assert.deepEqual([rematched.route, rematched.pods], ["default", ALL]);
});

test("a header sent twice matches by any value (Envoy >= 1.39) or by the values joined with a comma", () => {
  const rendered = readFileSync("istio/step2.yaml", "utf8");
  const subset = `ds-stage-dev--version-v1.${sidecar("step2").pluginConfig.services[0].catalog.routeToken}`;
  const twice = new Map([["x-dynamic-subset-subset", ["something-else", subset]]]);
  const individually = new IstioSidecar(rendered, PODS, SERVICE, { matchHeadersIndividually: true });
  const joined = new IstioSidecar(rendered, PODS, SERVICE, { matchHeadersIndividually: false });
  assert.equal(individually.route(twice).name, "default.ds-stage-dev--version-v1");
  assert.equal(joined.route(twice).name, "default");
});

test("every Service has its virtual host: another service on the port gets istiod's default route", () => {
  // istio/app.yaml also has the sleep Service, on port 80: not on this listener (port 8000), so no virtual host.
  const other =
    "kind: Service\nmetadata: {name: other, namespace: default}\nspec: {selector: {app: sleep}, ports: [{name: http, port: 8000}]}\n";
  const mesh = new IstioSidecar(readFileSync("istio/step2.yaml", "utf8"), PODS, `${SERVICE}\n---\n${other}`);
  const unchanged = passing((pairs) => pairs, true);
  const got = mesh.request([["host", "other.default:8000"]], unchanged);
  assert.deepEqual(
    [got.route, got.cluster, got.pods],
    ["default", "outbound|8000||other.default.svc.cluster.local", ["192.168.0.33"]],
  );
  const sleep = mesh.request([["host", "sleep:80"]], unchanged);
  assert.equal(sleep.status, 404, "sleep:80 has no virtual host on port 8000");
});

// ---- the seed's requests through the filter ----------------------------------------------------------------------

async function filterFor(pluginConfig) {
  const { ProxyWasmHost } = await import("../../emulator/index.mjs");
  const host = await ProxyWasmHost.load(WASM, { pluginConfig: JSON.stringify(pluginConfig), rootId: "dynamic_subset" });
  assert.ok(host.start(), "the rendered pluginConfig is accepted by the filter");
  return emulatedFilter(host);
}

async function play(step, requests) {
  const mesh = sidecar(step);
  const filter = await filterFor(mesh.pluginConfig);
  for (const [headers, expected, why] of requests) {
    const got = mesh.request(headers, filter);
    const label = `${step} ${JSON.stringify(headers)}${why ? ` (${why})` : ""}`;
    if (expected.status === 503) {
      assert.deepEqual({ status: got.status, body: got.body }, expected, label);
      continue;
    }
    assert.equal(got.status, 200, `${label}: ${JSON.stringify(got)}`);
    assert.deepEqual(got.pods, [...expected].sort(), label);
    const leaked = got.upstreamHeaders.filter(([k]) => k.startsWith("x-dynamic-subset-"));
    assert.deepEqual(leaked, [], `${label}: internal headers reach the app`);
  }
  return mesh;
}

const needsFilter = existsSync(WASM) ? {} : { skip: `skipped: ${WASM} not built (npm run build:wasm)` };

test("step 2: x-stage/x-version pick the subset; absent headers take the defaults prod/v3", needsFilter, async () => {
  const mesh = await play("step2", [
    [
      [
        ["x-stage", "dev"],
        ["x-version", "v1"],
      ],
      ["192.168.0.5"],
    ],
    [
      [
        ["x-stage", "dev"],
        ["x-version", "v2"],
      ],
      ["192.168.0.1"],
    ],
    [
      [
        ["X-Stage", "prod"],
        ["X-Version", "v2"],
      ],
      ["192.168.0.103"],
      "header names are case-insensitive",
    ],
    [[], PROD_V3, "defaults v3 and prod"],
    [[["x-stage", "dev"]], ["192.168.0.252"], "version defaults to v3"],
    [
      [
        ["x-stage", "prod"],
        ["x-version", "v2"],
        ["x-dynamic-subset-subset", "ds-stage-dev--version-v1.0123456789abcdef"],
      ],
      ["192.168.0.103"],
      "a spoofed subset header is replaced",
    ],
  ]);
  const got = mesh.request(
    [
      ["x-stage", "dev"],
      ["x-version", "v1"],
    ],
    await filterFor(mesh.pluginConfig),
  );
  assert.deepEqual(
    got.answers,
    ["Welcome to helloworld stage: dev, version: v1, ip: 192.168.0.5"],
    "the seed's printed answer",
  );
  assert.equal(got.route, "default.ds-stage-dev--version-v1");
});

test("step 3, NO_FALLBACK: prod/v1 does not exist -> 503 no healthy upstream", needsFilter, async () => {
  await play("step3-no-fallback", [
    [
      [
        ["x-stage", "prod"],
        ["x-version", "v1"],
      ],
      NO_HEALTHY_UPSTREAM,
    ],
    [
      [
        ["x-stage", "dev"],
        ["x-version", "v1"],
      ],
      ["192.168.0.5"],
    ],
    [
      [
        ["x-stage", "prod"],
        ["x-version", "v4"],
      ],
      NO_HEALTHY_UPSTREAM,
      "prod/v4 is Pending: not in the catalog",
    ],
  ]);
});

test(
  "step 3, ANY_ENDPOINT: a missing subset goes to any pod; x-stage: prod alone is prod/v3 (not prod/v2 as the seed prints)",
  needsFilter,
  async () => {
    await play("step3-any-endpoint", [
      // The seed shows this answering from prod/v2 (192.168.0.103). The VirtualService in force defaults x-version
      // to v3, so the request asks for prod/v3, which exists: only 192.168.0.104 or 192.168.0.6 may answer.
      [[["x-stage", "prod"]], PROD_V3, "configuration wins over the seed's printed example"],
      [
        [
          ["x-stage", "prod"],
          ["x-version", "v1"],
        ],
        ALL,
        "no prod/v1: any endpoint",
      ],
    ]);
  },
);

test("step 3, DEFAULT_SUBSET: prod/v1 lands on the default subset prod/v3 (both replicas)", needsFilter, async () => {
  await play("step3-default-subset", [
    [
      [
        ["x-stage", "prod"],
        ["x-version", "v1"],
      ],
      PROD_V3,
    ],
    [
      [
        ["x-stage", "dev"],
        ["x-version", "v2"],
      ],
      ["192.168.0.1"],
    ],
  ]);
});

test(
  "step 4, %ip%: x-ip pins one pod through the persistent session header; unknown IPs get 503",
  needsFilter,
  async () => {
    const mesh = await play("step4-ip", [
      [[["x-ip", "192.168.0.6"]], ["192.168.0.6"]],
      [[["x-ip", "192.168.0.6"]], ["192.168.0.6"], "again: the same pod"],
      [[["x-ip", "192.168.0.252"]], ["192.168.0.252"]],
      [
        [
          ["x-ip", "192.168.0.6"],
          ["x-dynamic-subset-host", b64("192.168.0.5:5678")],
        ],
        ["192.168.0.6"],
        "a spoofed session header is replaced",
      ],
      [[["x-ip", "192.168.0.88"]], NO_HEALTHY_UPSTREAM, "terminating pod: not in the catalog, global NO_FALLBACK"],
      [[["x-ip", "not-an-ip"]], NO_HEALTHY_UPSTREAM, "unmatchable value"],
      [[], NO_HEALTHY_UPSTREAM, "no key: no selector applies, global NO_FALLBACK"],
    ]);
    const got = mesh.request([["x-ip", "192.168.0.6"]], await filterFor(mesh.pluginConfig));
    assert.deepEqual(got.answers, ["Welcome to helloworld stage: prod, version: v3, ip: 192.168.0.6"]);
    assert.equal(mesh.sessionHeader, "x-dynamic-subset-host");
  },
);
