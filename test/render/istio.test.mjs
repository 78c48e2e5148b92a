// Target istio (src/render/istio.ts, src/k8s/*): what a user applying the output gets.
//   - the committed istio/step*.yaml are what the CLI renders today from the seed fixtures and the pods fixture
//     (UPDATE_ISTIO=1 node --test test/render/istio.test.mjs rewrites them);
//   - only ready, non-terminating pods count; subsets = the label tuples that exist (+ defaultSubset);
//   - the output is upstream Istio: schema-valid, no ASM-only fields, every referenced subset exists, RFC 1123 names;
//   - generated routes keep the user's match conditions and sit ahead of the user's routes;
//   - the route token survives re-rendering (--previous), so a pod change is a small, insert-only diff.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { parseAsm } from "../../dist/asm/index.js";
import { renderIstio } from "../../dist/render/istio.js";
import { parsePods, parseService, servingEndpoints } from "../../dist/k8s/pods.js";
import { subsetName } from "../../dist/k8s/catalog.js";
import { pluginConfigProblems } from "../../dist/config/schema.js";
import { validateManifest } from "./k8s-validate.mjs";

const SEED = "examples/helloworld";
const PODS = "examples/helloworld/pods.json";
const SERVICE = "istio/app.yaml";
export const STEPS = {
  "istio/step2.yaml": [`${SEED}/step2-dr.yaml`, `${SEED}/step2-vs.yaml`],
  "istio/step3-no-fallback.yaml": [`${SEED}/step3-no-fallback-dr.yaml`, `${SEED}/step2-vs.yaml`],
  "istio/step3-any-endpoint.yaml": [`${SEED}/step3-any-endpoint-dr.yaml`, `${SEED}/step2-vs.yaml`],
  "istio/step3-default-subset.yaml": [`${SEED}/step3-default-subset-dr.yaml`, `${SEED}/step2-vs.yaml`],
  "istio/step4-ip.yaml": [`${SEED}/step4-ip-dr-vs.yaml`],
};
const READY = {
  "192.168.0.5": "dev/v1",
  "192.168.0.1": "dev/v2",
  "192.168.0.252": "dev/v3",
  "192.168.0.103": "prod/v2",
  "192.168.0.104": "prod/v3",
  "192.168.0.6": "prod/v3",
};
const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** The image the committed examples name (a registry of the example.com domain: replace it with yours). */
const WASM_URL = "oci://registry.example.com/dynamic-subset:0.1.0";

function cli(args) {
  const r = spawnSync(process.execPath, ["dist/cli/main.js", "render", "--target", "istio", ...args], {
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const docs = (text) => parseAllDocuments(text).map((d) => d.toJS());
const byKind = (text, kind) => docs(text).filter((d) => d.kind === kind);
const render = (asmText, opts = {}, live = {}) =>
  renderIstio(
    parseAsm([{ file: "in.yaml", text: asmText }]),
    {
      pods: parsePods(readFileSync(PODS, "utf8"), PODS),
      services: [parseService(readFileSync(SERVICE, "utf8"), SERVICE)],
      ...live,
    },
    { routeToken: "0123456789abcdef0123456789abcdef", wasmUrl: WASM_URL, ...opts },
  );
const seedText = (...files) => files.map((f) => readFileSync(f, "utf8")).join("\n---\n");

test("the committed istio/step*.yaml are what the CLI renders from the seed (route token kept via --previous)", () => {
  for (const [out, inputs] of Object.entries(STEPS)) {
    const args = [...inputs.flatMap((f) => ["-f", f]), "--pods", PODS, "--service", SERVICE, "--wasm-url", WASM_URL];
    if (process.env.UPDATE_ISTIO && existsSync(out)) args.push("--previous", out);
    const r = cli(process.env.UPDATE_ISTIO ? args : [...args, "--previous", out]);
    assert.equal(r.code, 0, r.stderr);
    if (process.env.UPDATE_ISTIO) writeFileSync(out, r.stdout);
    assert.equal(
      r.stdout,
      readFileSync(out, "utf8"),
      `${out} is stale: UPDATE_ISTIO=1 node --test test/render/istio.test.mjs`,
    );
  }
});

test("every rendered document is valid upstream Istio/Kubernetes, with no ASM-only field and no dangling subset", () => {
  for (const out of Object.keys(STEPS)) {
    const text = readFileSync(out, "utf8");
    for (const d of docs(text)) {
      assert.deepEqual(validateManifest(d), [], `${out} ${d.kind}`);
      if (d.kind !== "WasmPlugin")
        assert.doesNotMatch(
          JSON.stringify(d),
          /dynamicSubset|headerToDynamicSubsetKey|lbPolicy/,
          `${out} ${d.kind}: ASM-only fields`,
        );
    }
    const [dr] = byKind(text, "DestinationRule");
    const [vs] = byKind(text, "VirtualService");
    const subsets = dr.spec.subsets.map((s) => s.name);
    for (const name of subsets) assert.match(name, RFC1123_LABEL);
    for (const route of vs.spec.http)
      for (const { destination } of route.route)
        if (destination.subset) assert.ok(subsets.includes(destination.subset), `${out}: ${destination.subset}`);
  }
});

test("pods: only ready, running, non-terminating pods of the Service count; port = the Service's targetPort", () => {
  const pods = parsePods(readFileSync(PODS, "utf8"), PODS);
  assert.equal(pods.length, 10);
  const { endpoints, warnings } = servingEndpoints(pods, parseService(readFileSync(SERVICE, "utf8"), SERVICE), {
    name: "helloworld",
    namespace: "default",
    destinationPort: 8000,
  });
  assert.deepEqual(Object.fromEntries(endpoints.map((e) => [e.ip, `${e.labels.stage}/${e.labels.version}`])), READY);
  assert.ok(
    endpoints.every((e) => e.port === 5678),
    "targetPort http -> containerPort 5678",
  );
  assert.deepEqual(
    warnings.map((w) => w.replace(/^pod default\/(\S+) skipped: (.*)$/, "$1: $2")),
    [
      "helloworld-dev-v4-5c9d7b8f64-k2w7r: condition Ready is not True",
      "helloworld-prod-v1-59d8c6f7b5-t4j8n: terminating (metadata.deletionTimestamp is set)",
      "helloworld-prod-v4-7d5f8b9c47-q6z3c: status.phase is Pending",
    ],
  );
  // without the Service: app=<name>, the application container's only port (the sidecar's 15090 is not it)
  const bare = servingEndpoints(pods, undefined, { name: "helloworld", namespace: "default", destinationPort: 8000 });
  assert.deepEqual(
    bare.endpoints.map((e) => `${e.ip}:${e.port}`).sort(),
    Object.keys(READY)
      .map((ip) => `${ip}:5678`)
      .sort(),
  );
  assert.match(bare.warnings[0], /no --service given: pods selected by app=helloworld/);
  // another namespace has no endpoints
  assert.equal(servingEndpoints(pods, undefined, { name: "helloworld", namespace: "prod" }).endpoints.length, 0);
});

test("catalog: one subset per existing tuple, the default subset, every pod for %ip% (seed steps 2-4)", () => {
  const step2 = byKind(readFileSync("istio/step2.yaml", "utf8"), "WasmPlugin")[0].spec.pluginConfig;
  assert.equal(step2.mode, "catalog");
  const [svc] = step2.services;
  assert.equal(svc.host, "helloworld.default.svc.cluster.local");
  assert.deepEqual(
    svc.catalog.subsets.map((s) => [s.name, `${s.labels.stage}/${s.labels.version}`]),
    [
      ["ds-stage-dev--version-v1", "dev/v1"],
      ["ds-stage-dev--version-v2", "dev/v2"],
      ["ds-stage-dev--version-v3", "dev/v3"],
      ["ds-stage-prod--version-v2", "prod/v2"],
      ["ds-stage-prod--version-v3", "prod/v3"],
    ],
    "no prod/v1 (terminating), dev/v4 (not ready), prod/v4 (pending)",
  );
  assert.match(svc.catalog.routeToken, /^[0-9a-f]{32}$/);
  assert.equal(svc.catalog.endpoints, undefined, "no %ip% selector, no endpoints");
  const step4 = byKind(readFileSync("istio/step4-ip.yaml", "utf8"), "WasmPlugin")[0].spec.pluginConfig.services[0]
    .catalog;
  assert.deepEqual(
    step4.subsets.map((s) => s.name),
    ["ds-stage-prod--version-v3"],
    "the defaultSubset tuple, which pods carry",
  );
  assert.deepEqual(
    step4.endpoints.map((e) => e.address),
    [
      "192.168.0.1:5678",
      "192.168.0.5:5678",
      "192.168.0.6:5678",
      "192.168.0.103:5678",
      "192.168.0.104:5678",
      "192.168.0.252:5678",
    ],
  );
  assert.deepEqual(step4.endpoints[2].labels, {
    app: "helloworld",
    "pod-template-hash": "6768bf56f8",
    "security.istio.io/tlsMode": "istio",
    "service.istio.io/canonical-name": "helloworld",
    "service.istio.io/canonical-revision": "v3",
    stage: "prod",
    version: "v3",
  });
  assert.equal(step4.sessionHeader, "x-dynamic-subset-host");
  // a defaultSubset no pod carries gives no subset (the filter then answers 503, docs/behaviour.md "Routing decision")
  const asm = seedText(`${SEED}/step3-default-subset-dr.yaml`, `${SEED}/step2-vs.yaml`).replace(
    "version: v3\n        subsetSelectors",
    "version: v9\n        subsetSelectors",
  );
  assert.ok(!render(asm).pluginConfig.services[0].catalog.subsets.some((s) => s.labels.version === "v9"));
});

test("the rendered pluginConfig passes the plugin configuration's JSON Schema", () => {
  for (const out of Object.keys(STEPS)) {
    const pc = byKind(readFileSync(out, "utf8"), "WasmPlugin")[0].spec.pluginConfig;
    assert.deepEqual(pluginConfigProblems(pc), [], out);
  }
});

test("WasmPlugin: catalog mode, FAIL_CLOSE, last phase, outbound on the service port; url, sha256 and selector options", () => {
  const [w] = byKind(readFileSync("istio/step2.yaml", "utf8"), "WasmPlugin");
  assert.deepEqual(
    {
      url: w.spec.url,
      pluginName: w.spec.pluginName,
      phase: w.spec.phase,
      failStrategy: w.spec.failStrategy,
      match: w.spec.match,
      selector: w.spec.selector,
    },
    {
      url: "oci://registry.example.com/dynamic-subset:0.1.0",
      pluginName: "dynamic_subset",
      phase: "UNSPECIFIED_PHASE",
      failStrategy: "FAIL_CLOSE",
      match: [{ mode: "CLIENT", ports: [{ number: 8000 }] }],
      selector: undefined,
    },
  );
  assert.match(readFileSync("istio/step2.yaml", "utf8"), /# FAIL_CLOSE on purpose/);
  const sha = "a".repeat(64);
  const out = render(seedText(...STEPS["istio/step2.yaml"]), {
    wasmUrl: "oci://reg.example/ds@sha256:" + sha,
    wasmSha256: sha,
    selector: { app: "sleep" },
  });
  const [w2] = byKind(out.yaml, "WasmPlugin");
  assert.equal(w2.spec.url, "oci://reg.example/ds@sha256:" + sha);
  assert.equal(w2.spec.sha256, sha);
  assert.deepEqual(w2.spec.selector, { matchLabels: { app: "sleep" } });
  assert.deepEqual(validateManifest(w2), []);
});

test("DestinationRule: the user's traffic policy is kept, dynamicSubset removed, lbPolicy becomes loadBalancer.simple", () => {
  const asm = seedText(`${SEED}/step2-dr.yaml`, `${SEED}/step2-vs.yaml`).replace(
    "  trafficPolicy:\n    loadBalancer:\n      dynamicSubset:\n",
    "  trafficPolicy:\n    connectionPool:\n      http:\n        http2MaxRequests: 100\n    loadBalancer:\n      dynamicSubset:\n        lbPolicy: LEAST_REQUEST\n",
  );
  const [dr] = byKind(render(asm).yaml, "DestinationRule");
  assert.deepEqual(dr.spec.trafficPolicy, {
    connectionPool: { http: { http2MaxRequests: 100 } },
    loadBalancer: { simple: "LEAST_REQUEST" },
  });
  assert.equal(dr.spec.subsets.length, 5);
  assert.deepEqual(validateManifest(dr), []);
});

test("VirtualService: per user route, the route without the subset header, its subset routes (the user's match conditions plus the exact subset header), the route unchanged", () => {
  const vsText =
    readFileSync(`${SEED}/step2-vs.yaml`, "utf8").replace(
      "    name: default\n",
      "    name: default\n    match:\n    - uri: {prefix: /api}\n      headers: {x-tenant: {exact: a}}\n    - uri: {prefix: /v2}\n    timeout: 3s\n",
    ) + "\n  - name: rest\n    route:\n    - destination: {host: helloworld, port: {number: 8000}}\n";
  const out = render(seedText(`${SEED}/step2-dr.yaml`) + "\n---\n" + vsText);
  const [vs] = byKind(out.yaml, "VirtualService");
  const names = vs.spec.http.map((r) => r.name);
  const subsets = names.filter((n) => n.startsWith("default.")).map((n) => n.slice("default.".length));
  assert.equal(subsets.length, 5);
  assert.deepEqual(
    names,
    ["default", ...subsets.map((s) => `default.${s}`), "default", "rest", ...subsets.map((s) => `rest.${s}`), "rest"],
    "each user route's group in the user's order: the route, its subset routes, the route again",
  );
  const [lead, trailing] = vs.spec.http.filter((r) => r.name === "default");
  const without = { withoutHeaders: { "x-dynamic-subset-subset": {} } };
  assert.deepEqual(
    lead.match,
    [
      { uri: { prefix: "/api" }, headers: { "x-tenant": { exact: "a" } }, ...without },
      { uri: { prefix: "/v2" }, ...without },
    ],
    "first: every match of the user's also asks for no subset header",
  );
  assert.deepEqual(
    trailing.match,
    [{ uri: { prefix: "/api" }, headers: { "x-tenant": { exact: "a" } } }, { uri: { prefix: "/v2" } }],
    "last: the user's matches unchanged",
  );
  assert.deepEqual({ ...lead, match: trailing.match }, trailing, "the two copies differ only in that condition");
  assert.deepEqual(vs.spec.http.filter((r) => r.name === "rest")[0].match, [without], "a route without match gets one");
  assert.equal(vs.spec.http.filter((r) => r.name === "rest")[1].match, undefined);
  const gen = vs.spec.http.find((r) => r.name === "default.ds-stage-dev--version-v1");
  assert.deepEqual(gen.match, [
    {
      uri: { prefix: "/api" },
      headers: {
        "x-tenant": { exact: "a" },
        "x-dynamic-subset-subset": { exact: "ds-stage-dev--version-v1.0123456789abcdef0123456789abcdef" },
      },
    },
    {
      uri: { prefix: "/v2" },
      headers: { "x-dynamic-subset-subset": { exact: "ds-stage-dev--version-v1.0123456789abcdef0123456789abcdef" } },
    },
  ]);
  assert.equal(gen.timeout, "3s", "the user's route settings carry over");
  assert.deepEqual(gen.route, [
    {
      destination: {
        host: "helloworld.default.svc.cluster.local",
        port: { number: 8000 },
        subset: "ds-stage-dev--version-v1",
      },
    },
  ]);
  assert.deepEqual(
    gen.headers,
    { request: { remove: ["x-dynamic-subset-subset"] } },
    "the token never reaches the app",
  );
  const restGen = vs.spec.http.find((r) => r.name === "rest.ds-stage-prod--version-v3");
  assert.deepEqual(restGen.match, [
    { headers: { "x-dynamic-subset-subset": { exact: "ds-stage-prod--version-v3.0123456789abcdef0123456789abcdef" } } },
  ]);
  assert.ok(
    vs.spec.http.findIndex((r) => r.name === "default.ds-stage-prod--version-v3") <
      vs.spec.http.findIndex((r) => r.name === "rest.ds-stage-dev--version-v1"),
    "generated routes keep the user routes' order",
  );
  assert.ok(vs.spec.http.every((r) => !("headerToDynamicSubsetKey" in r)));
  assert.deepEqual(validateManifest(vs), []);
});

test("VirtualService: the user's own withoutHeaders are kept, in both copies of the route", () => {
  const vsText = readFileSync(`${SEED}/step2-vs.yaml`, "utf8").replace(
    "    name: default\n",
    "    name: default\n    match:\n    - withoutHeaders: {x-debug: {}}\n",
  );
  const [vs] = byKind(render(seedText(`${SEED}/step2-dr.yaml`) + "\n---\n" + vsText).yaml, "VirtualService");
  const [lead, trailing] = vs.spec.http.filter((r) => r.name === "default");
  assert.deepEqual(lead.match, [{ withoutHeaders: { "x-debug": {}, "x-dynamic-subset-subset": {} } }]);
  assert.deepEqual(trailing.match, [{ withoutHeaders: { "x-debug": {} } }]);
  const generated = vs.spec.http.find((r) => r.name === "default.ds-stage-dev--version-v1");
  assert.deepEqual(generated.match[0].withoutHeaders, { "x-debug": {} });
  assert.deepEqual(validateManifest(vs), []);
});

test("%ip%: the Service gets the persistent-session label and a note names the istiod flag; other steps remove it", () => {
  const step4 = readFileSync("istio/step4-ip.yaml", "utf8");
  const [svc] = byKind(step4, "Service");
  assert.equal(svc.metadata.labels["istio.io/persistent-session-header"], "x-dynamic-subset-host");
  assert.match(step4, /PILOT_ENABLE_PERSISTENT_SESSION_FILTER=true/);
  const [svc2] = byKind(readFileSync("istio/step2.yaml", "utf8"), "Service");
  assert.equal(svc2.metadata.labels["istio.io/persistent-session-header"], undefined);
  // without --service: no Service document, a kubectl label command instead
  const out = render(seedText(...STEPS["istio/step4-ip.yaml"]), {}, { services: [] });
  assert.equal(byKind(out.yaml, "Service").length, 0);
  assert.ok(
    out.notes.some(
      (n) =>
        n ===
        "label the Service: kubectl -n default label service helloworld istio.io/persistent-session-header=x-dynamic-subset-host --overwrite",
    ),
    out.notes.join("\n"),
  );
  assert.ok(out.notes.some((n) => n.includes("PILOT_ENABLE_PERSISTENT_SESSION_FILTER=true")));
});

test("route token: random and >= 16 hex digits; kept by --previous; a pod change is an insert-only diff", () => {
  const asm = [...STEPS["istio/step2.yaml"].flatMap((f) => ["-f", f]), "--wasm-url", WASM_URL];
  const tmp = mkdtempSync(join(tmpdir(), "istio-"));
  try {
    const a = cli([...asm, "--pods", PODS]);
    const b = cli([...asm, "--pods", PODS]);
    const token = (t) => byKind(t, "WasmPlugin")[0].spec.pluginConfig.services[0].catalog.routeToken;
    assert.match(token(a.stdout), /^[0-9a-f]{32}$/);
    assert.notEqual(token(a.stdout), token(b.stdout), "fresh renders get fresh tokens");
    const prev = join(tmp, "prev.yaml");
    writeFileSync(prev, a.stdout);
    // a new prod/v1 pod becomes ready
    const pods = JSON.parse(readFileSync(PODS, "utf8"));
    const p = pods.items.find((x) => x.metadata.name.startsWith("helloworld-prod-v1"));
    delete p.metadata.deletionTimestamp;
    const newPods = join(tmp, "pods.json");
    writeFileSync(newPods, JSON.stringify(pods));
    const c = cli([...asm, "--pods", newPods, "--previous", prev]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(token(c.stdout), token(a.stdout));
    const oldLines = a.stdout.replace(/^# Re-render.*\n/m, "").split("\n");
    const newLines = c.stdout.replace(/^# Re-render.*\n/m, "").split("\n");
    let i = 0;
    for (const line of newLines) if (line === oldLines[i]) i++;
    assert.equal(i, oldLines.length, "the old output is a subsequence of the new one: only insertions");
    assert.match(c.stdout, /ds-stage-prod--version-v1/);
    // and re-rendering with unchanged pods changes nothing
    assert.equal(cli([...asm, "--pods", PODS, "--previous", prev]).stdout, a.stdout);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("subset names: readable when plain, hashed when they would be lossy or long, always RFC 1123, deterministic", () => {
  assert.equal(subsetName({ version: "v1", stage: "dev" }), "ds-stage-dev--version-v1");
  const odd = subsetName({ "app.kubernetes.io/version": "1.0_RC" });
  assert.match(odd, /^ds-app-kubernetes-io-version-1-0-rc-[0-9a-f]{8}$/);
  assert.notEqual(
    subsetName({ track: "a-b" }),
    subsetName({ "track-a": "b" }),
    "'-' in keys or values cannot make two tuples one name",
  );
  assert.notEqual(subsetName({ v: "A" }), subsetName({ v: "a" }));
  const long = subsetName({
    "example.com/very-long-label-key-for-testing": "a-very-long-label-value-that-goes-on-and-on",
  });
  assert.ok(long.length <= 63 && long.startsWith("ds-example-com-very-long-label-key"), long);
  for (const n of [odd, long, subsetName({ v: "A" }), subsetName({ v: "-x-" })]) assert.match(n, RFC1123_LABEL);
  assert.equal(subsetName({ "app.kubernetes.io/version": "1.0_RC" }), odd);
});

test("bad input fails with a message naming the problem: input refused exit 1, command-line mistakes exit 2", () => {
  const step2 = [...STEPS["istio/step2.yaml"].flatMap((f) => ["-f", f]), "--wasm-url", WASM_URL];
  const cases = [
    [[...step2], /--pods FILE .* is required/, 2],
    [[...step2, "--pods", "examples/helloworld/step2-dr.yaml"], /not a Pod/, 1],
    [[...step2, "--pods", PODS, "--route-token", "XYZ"], /route token must be 16-64 lower-case hex digits/, 2],
    [[...step2, "--pods", PODS, "--wasm-sha256", "abc"], /--wasm-sha256: 64 lower-case hex digits/, 2],
    [[...step2, "--pods", PODS, "--selector", "app"], /--selector: expected key=value/, 2],
    [[...step2, "--pods", PODS, "--colour", "red"], /unknown option --colour/, 2],
    [
      ["-f", `${SEED}/step2-vs.yaml`, "--pods", PODS, "--wasm-url", WASM_URL],
      /no DestinationRule with trafficPolicy.loadBalancer.dynamicSubset/,
      1,
    ],
    [[...step2, "--pods", PODS, "--service", `${SEED}/step2-dr.yaml`], /no kind: Service document/, 1],
  ];
  for (const [args, expected, code] of cases) {
    const r = cli(args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.equal(r.stdout, "", "nothing written");
  }
  const notK8s = seedText(...STEPS["istio/step2.yaml"]).replaceAll(
    "helloworld.default.svc.cluster.local",
    "api.example.com",
  );
  assert.throws(() => render(notK8s), /host api.example.com: not a Kubernetes service name/);
});
