// Key sources in real Envoy (docs/configuration.md "Key sources"): the seed's step-2 requests sent as cookies,
// query parameters and W3C baggage members reach the right echo pods (envoy/backends.mjs) on every installed Envoy
// version, over HTTP/1.1 and HTTP/2 (h2c). The metadata-mode listeners are envoy/envoy.yaml's step2 listener with
// only the plugin configuration changed: the filter writes the same internal headers, header_to_metadata and the
// subset load balancer are untouched. A catalog-mode listener (subset routes on the subset header, as the Istio
// rendering makes them) shows the same for catalog mode. It also pins what Envoy hands the filter: the first of
// several HTTP/1.1 Cookie headers only, HTTP/2 cookie crumbs joined into one, and :path with its query.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { after, before, test } from "node:test";
import { parse } from "yaml";
import { startBackends } from "../../envoy/backends.mjs";
import { httpRequest, startEnvoy } from "../../envoy/local-envoy.mjs";
import { NO_HEALTHY_UPSTREAM, localIp, welcome } from "../../examples/helloworld/walkthrough.mjs";
import { forEachEnvoy } from "./envoys.mjs";

const ROUTE_TOKEN = "9f3c1a7e52d04b68";
const SUBSET_HEADER = "x-dynamic-subset-subset";

const template = parse(readFileSync(new URL("../../envoy/envoy.yaml", import.meta.url), "utf8"));
const STEP2 = template.static_resources.listeners.find((l) => l.name === "step2");
const STEP2_CLUSTER = template.static_resources.clusters.find((c) => c.name.startsWith("step2|"));

/** The seed's step-2 mapping (x-version default v3, x-stage default prod) read from `source` instead. */
const mappings = (source) => [
  { [source]: "version", key: "version", defaultValue: "v3" },
  { [source]: "stage", key: "stage", defaultValue: "prod" },
];

const hcmOf = (listener) => listener.filter_chains[0].filters[0].typed_config;

/** The step2 listener with its plugin configuration's mappings read from `source`; nothing else changed. */
function metadataListener(source) {
  const listener = structuredClone(STEP2);
  listener.name = source;
  const hcm = hcmOf(listener);
  hcm.stat_prefix = source;
  delete hcm.access_log;
  const wasm = hcm.http_filters[0].typed_config.config;
  const config = JSON.parse(wasm.configuration.value);
  config.services[0].routes[0].headerToDynamicSubsetKey = mappings(source);
  wasm.configuration.value = JSON.stringify(config);
  return listener;
}

function staticCluster(name, ips) {
  const lbEndpoints = ips.map((ip) => ({
    endpoint: { address: { socket_address: { address: localIp(ip), port_value: 8000 } } },
  }));
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: lbEndpoints }] },
  };
}

// Catalog mode with cookies: subset routes match the subset header the filter writes, ahead of the base route.
const CATALOG_SUBSETS = [
  { name: "dev-v1", labels: { stage: "dev", version: "v1" }, ips: ["192.168.0.5"] },
  { name: "prod-v3", labels: { stage: "prod", version: "v3" }, ips: ["192.168.0.104", "192.168.0.6"] },
];
const ALL_PODS = ["192.168.0.5", "192.168.0.1", "192.168.0.252", "192.168.0.103", "192.168.0.104", "192.168.0.6"];

function catalogListener() {
  const listener = structuredClone(STEP2);
  listener.name = "catalog";
  const hcm = hcmOf(listener);
  hcm.stat_prefix = "catalog";
  delete hcm.access_log;
  const routes = CATALOG_SUBSETS.map(({ name }) => ({
    name: `default.${name}`,
    match: { prefix: "/", headers: [{ name: SUBSET_HEADER, string_match: { exact: `${name}.${ROUTE_TOKEN}` } }] },
    route: { cluster: `catalog|${name}` },
  }));
  routes.push({ name: "default", match: { prefix: "/" }, route: { cluster: "catalog|all" } });
  hcm.route_config = { name: "catalog", virtual_hosts: [{ name: "helloworld", domains: ["*"], routes }] };
  const wasm = hcm.http_filters[0].typed_config.config;
  wasm.configuration.value = JSON.stringify({
    mode: "catalog",
    responseHeader: true,
    services: [
      {
        cluster: "catalog|all",
        dynamicSubset: { subsetSelectors: [{ keys: ["stage", "version"] }] },
        routes: [{ name: "default", headerToDynamicSubsetKey: mappings("cookie") }],
        catalog: { routeToken: ROUTE_TOKEN, subsets: CATALOG_SUBSETS.map(({ name, labels }) => ({ name, labels })) },
      },
    ],
  });
  hcm.http_filters = [hcm.http_filters[0], hcm.http_filters.at(-1)]; // wasm, router
  return listener;
}

function bootstrap() {
  const config = structuredClone(template);
  config.static_resources.listeners = [...["cookie", "query", "baggage"].map(metadataListener), catalogListener()];
  config.static_resources.clusters = [
    STEP2_CLUSTER,
    staticCluster("catalog|all", ALL_PODS),
    ...CATALOG_SUBSETS.map(({ name, ips }) => staticCluster(`catalog|${name}`, ips)),
  ];
  return config;
}

/** How a request carries stage/version (`values`, absent ones left out) in `source`: headers and path. */
function carry(source, values) {
  const pairs = Object.entries(values);
  if (source === "cookie")
    return { headers: { cookie: ["session=9f3c", ...pairs.map(([k, v]) => `${k}=${v}`)].join("; ") } };
  if (source === "query") return { headers: {}, path: `/hello?${new URLSearchParams([["name", "x"], ...pairs])}` };
  return {
    headers: { baggage: ["userId=alice", ...pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`)].join(",") },
  };
}

/** One HTTP/2 (h2c, prior knowledge) request; the answer in httpRequest's shape. */
function h2Request(port, headers, path = "/") {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on("error", reject);
    const req = client.request({ ":path": path, ":authority": "helloworld:8000", ...headers });
    let head = {};
    let body = "";
    req.setEncoding("utf8");
    req.on("response", (h) => (head = h));
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      client.close();
      resolve({ status: head[":status"], body: body.trimEnd(), decision: head["x-dynamic-subset"] });
    });
    req.on("error", reject);
    req.end();
  });
}

/** One HTTP/1.1 request written byte for byte (Node's client would fold repeated Cookie headers into one). */
function rawHttp1(port, lines) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () =>
      socket.write(
        `${["GET / HTTP/1.1", "Host: helloworld:8000", ...lines, "Connection: close"].join("\r\n")}\r\n\r\n`,
      ),
    );
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk) => (data += chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const end = data.indexOf("\r\n\r\n");
      const head = data.slice(0, end);
      let body = data.slice(end + 4);
      if (/^transfer-encoding: chunked/im.test(head)) body = dechunk(body);
      const decision = /^x-dynamic-subset: (.*)$/im.exec(head)?.[1];
      resolve({ status: Number(head.split(" ")[1]), body: body.trimEnd(), decision });
    });
  });
}

/** A chunked HTTP/1.1 body, joined. */
function dechunk(text) {
  let out = "";
  for (let at = 0; ; ) {
    const lineEnd = text.indexOf("\r\n", at);
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (!(size > 0)) return out;
    out += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

const answer = (ip) => welcome(ip).replace(ip, localIp(ip));
const PROD_V3 = ["192.168.0.104", "192.168.0.6"];

// The seed's step 2 (NO_FALLBACK): dev/v1 to its pod, prod/v1 to nothing, the defaults to prod/v3.
const REQUESTS = [
  { values: { stage: "dev", version: "v1" }, reach: ["192.168.0.5"], decision: "subset:stage=dev,version=v1" },
  { values: { stage: "prod", version: "v1" }, reach: NO_HEALTHY_UPSTREAM, decision: "subset:stage=prod,version=v1" },
  { values: { stage: "dev" }, reach: ["192.168.0.252"], decision: "subset:stage=dev,version=v3" },
  { values: {}, reach: PROD_V3, decision: "subset:stage=prod,version=v3" },
];

function assertReached(r, reach, label) {
  if (reach === NO_HEALTHY_UPSTREAM)
    assert.deepEqual({ status: r.status, body: r.body }, { status: 503, body: NO_HEALTHY_UPSTREAM }, label);
  else assert.ok(reach.map(answer).includes(r.body), `${label}: ${r.status} ${r.body}`);
}

forEachEnvoy("real Envoy: subset keys from cookies, query parameters and baggage", (envoy) => {
  let backends;
  let proxy;
  before(async () => {
    backends = await startBackends();
    proxy = await startEnvoy(envoy.bin, bootstrap());
  });
  after(async () => {
    await proxy?.close();
    await backends?.close();
  });

  const SOURCES = { cookie: "cookies", query: "query parameters", baggage: "baggage members" };
  for (const [source, what] of Object.entries(SOURCES)) {
    for (const protocol of ["HTTP/1.1", "HTTP/2"]) {
      test(`${what} route the seed's step-2 requests (${protocol})`, async () => {
        const port = proxy.ports[source];
        for (const { values, reach, decision } of REQUESTS) {
          const { headers, path } = carry(source, values);
          // repeated, so that a wrong pod among several would show up
          for (let i = 0; i < 3; i++) {
            const r =
              protocol === "HTTP/2" ? await h2Request(port, headers, path) : await httpRequest(port, headers, { path });
            const label = `${source} ${protocol} ${JSON.stringify(values)}`;
            assertReached(r, reach, label);
            if (r.status === 200) assert.equal(r.decision, decision, label);
          }
        }
      });
    }
  }

  test("HTTP/2: cookies sent as separate crumbs reach the filter joined into one Cookie header", async () => {
    const r = await h2Request(proxy.ports.cookie, { cookie: ["session=9f3c", "stage=dev", "version=v1"] });
    assertReached(r, ["192.168.0.5"], "h2 crumbs");
    assert.equal(r.decision, "subset:stage=dev,version=v1");
  });

  test("HTTP/1.1: only the first of several Cookie headers reaches the filter", async () => {
    const r = await rawHttp1(proxy.ports.cookie, ["Cookie: stage=dev", "Cookie: version=v1"]);
    assert.equal(r.decision, "subset:stage=dev,version=v3", "version in the second Cookie header is not seen");
    assertReached(r, ["192.168.0.252"], "two Cookie headers");
  });

  test("the query is read percent-decoded, first parameter of a name, from :path as the client sent it", async () => {
    const r = await httpRequest(proxy.ports.query, {}, { path: "/a/../hello?st%61ge=d%65v&version=v%31&stage=prod" });
    assert.equal(r.decision, "subset:stage=dev,version=v1");
    assertReached(r, ["192.168.0.5"], "encoded query");
  });

  test("baggage: the last member of a key wins, properties are ignored, a malformed header counts as absent", async () => {
    const port = proxy.ports.baggage;
    const last = await httpRequest(port, { baggage: "stage=prod;ttl=1, stage = dev ;lane, version=v%31" });
    assert.equal(last.decision, "subset:stage=dev,version=v1");
    assertReached(last, ["192.168.0.5"], "last member");
    const malformed = await httpRequest(port, { baggage: "stage=dev,version=v1,not a member" });
    assert.equal(malformed.decision, "subset:stage=prod,version=v3");
    assertReached(malformed, PROD_V3, "malformed baggage");
  });

  test("catalog mode: a cookie selects the subset route, and NO_FALLBACK answers 503 itself", async () => {
    const port = proxy.ports.catalog;
    for (const protocol of ["HTTP/1.1", "HTTP/2"]) {
      const send = (cookie) => (protocol === "HTTP/2" ? h2Request(port, { cookie }) : httpRequest(port, { cookie }));
      const dev = await send("stage=dev; version=v1");
      assert.equal(dev.decision, "subset:stage=dev,version=v1", protocol);
      assertReached(dev, ["192.168.0.5"], `catalog ${protocol} dev/v1`);
      for (let i = 0; i < 3; i++) assertReached(await send("x=1"), PROD_V3, `catalog ${protocol} defaults`);
      const missing = await send("stage=prod; version=v1");
      assertReached(missing, NO_HEALTHY_UPSTREAM, `catalog ${protocol} prod/v1`);
      assert.equal(missing.decision, "fallback:NO_FALLBACK", protocol);
    }
  });
});
