// Catalog mode in real Envoy: the order of the rendered VirtualService's routes (issue 17 §4, docs/istio.md
// "VirtualService route order"). Each user route comes first without the subset header, then its generated routes, then unchanged. A
// request without the subset header (every ordinary one) thus matches at the first route instead of after every
// generated route, and a request whose subset header selects no generated route (a wrong token, an unknown subset)
// still lands on the user's route, where the filter decides it.
//
// Which route Envoy matched before the filter ran is not in the access log (that names the route after the filter's
// re-match), and both copies of the user's route carry the same name. So these tests give every route of the
// istiod-shaped configuration its position as route metadata and put Envoy's header_mutation filter first in the
// chain, copying the position of the route matched so far into a request header; the access log shows that header
// and the position of the final route. An ordinary request's first position differs from its final one, so the
// header shows the first match, not the last.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { parseAllDocuments, stringify } from "yaml";
import { NO_HEALTHY_UPSTREAM } from "../../examples/helloworld/walkthrough.mjs";
import { forEachEnvoy } from "./envoys.mjs";
import { seedPods, startPods } from "./istiod-pods.mjs";
import { localManifest, localPods, startIstioSidecar } from "./istiod-sidecar.mjs";

const SEED_PODS = readFileSync("examples/helloworld/pods.json", "utf8");
const SERVICE = readFileSync("istio/app.yaml", "utf8");
const SUBSET_HEADER = "x-dynamic-subset-subset";
const POSITION = "test.route_position"; // route metadata namespace of this test
const FIRST_ROUTE_HEADER = "x-test-first-route";
const ipOf = (hostPort) => hostPort?.replace(/:\d+$/, "");
const VARIANTS = ["step2", "step3-no-fallback", "step3-default-subset"];
const PROD_V3 = ["127.0.0.104", "127.0.0.6"];
const WRONG_TOKEN = "0123456789abcdef0123456789abcdef";

/** The manifests without the user's route at the end of the VirtualService (to show what that copy is for). */
function withoutTrailingCopy(manifests) {
  return parseAllDocuments(manifests)
    .map((d) => d.toJS())
    .map((doc) =>
      doc?.kind === "VirtualService" ? { ...doc, spec: { ...doc.spec, http: doc.spec.http.slice(0, -1) } } : doc,
    )
    .map((doc) => stringify(doc))
    .join("---\n");
}

/** See the top of this file: route positions, header_mutation before the wasm filter, both in the access log. */
function observeFirstMatch(bootstrap) {
  const hcm = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  hcm.route_config.virtual_hosts
    .find((v) => v.domains.includes("helloworld"))
    .routes.forEach((route, position) => {
      route.metadata ??= { filter_metadata: {} };
      route.metadata.filter_metadata[POSITION] = { position: String(position) };
    });
  hcm.http_filters.unshift({
    name: "envoy.filters.http.header_mutation",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
      mutations: {
        request_mutations: [
          {
            append: {
              header: { key: FIRST_ROUTE_HEADER, value: `%METADATA(ROUTE:${POSITION}:position)%` },
              append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
            },
          },
        ],
      },
    },
  });
  hcm.access_log = hcm.access_log.map((log) => {
    const copy = structuredClone(log);
    Object.assign(copy.typed_config.log_format.json_format, {
      first_position: `%REQ(${FIRST_ROUTE_HEADER})%`,
      position: `%METADATA(ROUTE:${POSITION}:position)%`,
    });
    return copy;
  });
}

forEachEnvoy("real Envoy, catalog mode: the route order of the rendered VirtualService", (envoy) => {
  let pods;
  const sidecars = new Map();

  async function start(name, manifests) {
    const inputs = { manifests, pods: localPods(SEED_PODS, pods.port), services: SERVICE };
    const sidecar = await startIstioSidecar(envoy.bin, inputs, { editBootstrap: observeFirstMatch });
    const routes = parseAllDocuments(manifests)
      .map((d) => d.toJS())
      .find((d) => d?.kind === "VirtualService").spec.http;
    const token = /routeToken: (\w+)/.exec(manifests)[1];
    sidecars.set(name, { sidecar, routes, token });
  }

  before(async () => {
    pods = await startPods(seedPods(SEED_PODS));
    const manifests = (variant) => localManifest(readFileSync(`istio/${variant}.yaml`, "utf8"), pods.port);
    for (const variant of VARIANTS) await start(variant, manifests(variant));
    await start("no-trailing-copy", withoutTrailingCopy(manifests("step3-no-fallback")));
  });
  after(async () => {
    for (const { sidecar } of sidecars.values()) await sidecar.close();
    await pods?.close();
  });

  /** One request: status, body, the pod, and the first and final route as position and name. */
  async function send(name, headers) {
    const { sidecar, routes } = sidecars.get(name);
    const r = await sidecar.request(headers);
    const at = (position) => (position === undefined || position === null ? undefined : Number(position));
    const first = at(r.log.first_position);
    return {
      status: r.status,
      body: r.body,
      pod: r.status === 200 ? ipOf(r.log.host) : undefined,
      first: first === undefined ? undefined : { position: first, name: routes[first].name },
      final: r.log.route,
      decision: r.log.decision,
      lastPosition: routes.length - 1,
    };
  }

  test("an ordinary request matches the user's route at the top, before the generated routes", async () => {
    const subset = await send("step2", { "x-stage": "dev", "x-version": "v1" });
    assert.deepEqual(subset.first, { position: 0, name: "default" }, "Envoy's first match, before the filter");
    assert.equal(subset.final, "default.ds-stage-dev--version-v1", "the filter's subset, after Envoy matched again");
    assert.equal(subset.pod, "127.0.0.5");
    const defaults = await send("step3-default-subset", {});
    assert.deepEqual(defaults.first, { position: 0, name: "default" });
    assert.equal(defaults.final, "default.ds-stage-prod--version-v3");
    assert.ok(PROD_V3.includes(defaults.pod), defaults.pod);
  });

  test("a subset header with a wrong token or an unknown subset: the user's route at the end, decided", async () => {
    const { token } = sidecars.get("step3-no-fallback");
    for (const value of [`ds-stage-dev--version-v1.${WRONG_TOKEN}`, `ds-nope.${token}`]) {
      const prodV1 = { "x-stage": "prod", "x-version": "v1", [SUBSET_HEADER]: value };
      const refused = await send("step3-no-fallback", prodV1);
      assert.deepEqual(refused.first, { position: refused.lastPosition, name: "default" }, value);
      assert.deepEqual(
        [refused.status, refused.body, refused.decision],
        [503, NO_HEALTHY_UPSTREAM, "fallback:NO_FALLBACK"],
        `${value}: NO_FALLBACK holds`,
      );
      const fallback = await send("step3-default-subset", prodV1);
      assert.deepEqual(fallback.first, { position: fallback.lastPosition, name: "default" }, value);
      assert.equal(fallback.final, "default.ds-stage-prod--version-v3", `${value}: DEFAULT_SUBSET's subset`);
      assert.ok(PROD_V3.includes(fallback.pod), fallback.pod);
      const own = await send("step2", { "x-stage": "dev", "x-version": "v2", [SUBSET_HEADER]: value });
      assert.deepEqual([own.final, own.pod], ["default.ds-stage-dev--version-v2", "127.0.0.1"], value);
    }
  });

  test("a client that sends a generated route's own value first matches that route, and is decided", async () => {
    const { token } = sidecars.get("step3-no-fallback");
    const headers = { "x-stage": "prod", "x-version": "v1", [SUBSET_HEADER]: `ds-stage-dev--version-v1.${token}` };
    const seen = await send("step3-no-fallback", headers);
    assert.equal(seen.first.name, "default.ds-stage-dev--version-v1");
    assert.ok(seen.first.position > 0, "the first-matched route's position is what Envoy matched, not a constant");
    assert.deepEqual([seen.status, seen.decision], [503, "fallback:NO_FALLBACK"]);
  });

  test("without the unchanged copy at the end, such a request would match no route and reach any pod", async () => {
    const headers = {
      "x-stage": "prod",
      "x-version": "v1",
      [SUBSET_HEADER]: `ds-stage-dev--version-v1.${WRONG_TOKEN}`,
    };
    const pods = new Set();
    for (let i = 0; i < 12; i++) {
      const seen = await send("no-trailing-copy", headers);
      assert.equal(seen.first, undefined, "no route matched before the filter");
      assert.equal(seen.decision, null, "the filter, seeing no route, did not decide");
      assert.equal(seen.status, 200, "its header removed, Envoy matched the user's route: past NO_FALLBACK");
      pods.add(seen.pod);
    }
    assert.ok(pods.size > 1, `one pod answered: ${[...pods]}`);
  });
});
