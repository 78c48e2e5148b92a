// Nothing that renders may break routing silently (README "Exit codes, and what is refused"): every input that
// would make the filter reject its configuration, log a warning, or send every request to its fallback is refused
// with exit 1, one `error: <file>#<document> <path>: <problem>` line per problem, and nothing written, unless
// --allow names it. Each case of issue 13 is here, through the command as users run it.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { parseAsm } from "../../dist/asm/index.js";
import { pluginConfigProblems } from "../../dist/config/schema.js";
import { InputError } from "../../dist/input/errors.js";
import { parsePods, parseService } from "../../dist/k8s/pods.js";
import { renderIstio } from "../../dist/render/istio.js";
import {
  byKind,
  cli,
  DIGEST,
  errorLines,
  istioArgs,
  PINNED_URL,
  PODS,
  ROOT,
  SEED,
  seedPods,
  seedText,
  SERVICE,
  WASM_URL,
  withTemp,
} from "./helpers.mjs";

const HOST = "helloworld.default.svc.cluster.local";
const DR = path.join(SEED, "step2-dr.yaml");
const VS = path.join(SEED, "step2-vs.yaml");

/** Runs args with -o out.yaml in a temporary directory; the refusal must leave no out.yaml. */
function refused(args, dir) {
  const out = path.join(dir, "out.yaml");
  const r = cli([...args, "-o", out]);
  assert.equal(r.code, 1, `${args.join(" ")}\n${r.stderr}`);
  assert.equal(existsSync(out), false, "nothing written");
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, "no stack trace");
  return errorLines(r.stderr);
}

test("a mapping key that no selector uses (a typo such as stagee) is refused in both targets; --allow unused-key renders it", () => {
  withTemp((dir, write) => {
    const vs = write("vs.yaml", seedText("step2-vs.yaml").replace("key: stage", "key: stagee"));
    const line = `error: ${vs}#0 spec.http[0].headerToDynamicSubsetKey[1].key: "stagee" is used by no subset selector of ${HOST} (they use stage, version); the filter would ignore this mapping (to render it anyway: --allow unused-key)`;
    assert.deepEqual(refused(istioArgs(DR, vs), dir), [line]);
    const envoy = ["render", "--target", "envoy", "--output", "plugin-config", "-f", DR, "-f", vs];
    assert.deepEqual(refused(envoy, dir), [line]);
    const allowed = cli([...envoy, "--allow", "unused-key"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /^warning: .*"stagee" is used by no subset selector/m);
  });
});

test("a mapping without one valid key source is refused in both targets; a header prefix covering the cookie header too", () => {
  withTemp((dir, write) => {
    const vs = write(
      "vs.yaml",
      seedText("step2-vs-cookie.yaml")
        .replace("- cookie: version", "- query: v=1")
        .replace("- cookie: stage", "- baggage: stage\n      cookie: stage"),
    );
    const at = `error: ${vs}#0 spec.http[0].headerToDynamicSubsetKey`;
    const lines = [
      `${at}[0].query: "v=1" is not a valid query parameter name (visible ASCII except # % & + =)`,
      `${at}[1]: header, cookie, query and baggage are mutually exclusive; give exactly one (found cookie, baggage)`,
    ];
    assert.deepEqual(refused(istioArgs(DR, vs), dir), lines);
    const envoy = ["render", "--target", "envoy", "--output", "plugin-config", "-f", DR];
    assert.deepEqual(refused([...envoy, "-f", vs], dir), lines);
    const cookies = path.join(SEED, "step2-vs-cookie.yaml");
    assert.deepEqual(refused([...envoy, "-f", cookies, "--header-prefix", "co"], dir), [
      `error: ${cookies}#0 spec.http[0].headerToDynamicSubsetKey[0].cookie: reads the cookie header, which the header prefix co makes an internal header of the filter (it strips it from every request); choose another prefix`,
      `error: ${cookies}#0 spec.http[0].headerToDynamicSubsetKey[1].cookie: reads the cookie header, which the header prefix co makes an internal header of the filter (it strips it from every request); choose another prefix`,
    ]);
    const rendered = cli([...envoy, "-f", cookies, "--header-prefix", "x-ds-"]);
    assert.equal(rendered.code, 0, rendered.stderr);
    assert.equal(JSON.parse(rendered.stdout).services[0].routes[0].headerToDynamicSubsetKey[0].cookie, "version");
  });
});

test("a typo around dynamicSubset or headerToDynamicSubsetKey is refused, naming the misspelt field", () => {
  withTemp((dir, write) => {
    const cases = [
      [
        seedText("step2-dr.yaml").replace("loadBalancer:", "loadBalacer:"),
        [
          "spec.trafficPolicy.loadBalacer: unknown field of a TrafficPolicy (Istio's are: loadBalancer, connectionPool,",
          "spec.trafficPolicy.loadBalacer.dynamicSubset: dynamicSubset is read only at spec.trafficPolicy.loadBalancer.dynamicSubset",
        ],
      ],
      [
        seedText("step2-dr.yaml").replace("trafficPolicy:", "trafficPolicyy:"),
        ["spec.trafficPolicyy: unknown field of a DestinationRule's spec"],
      ],
      [
        seedText("step2-dr.yaml").replace("dynamicSubset:", "dynamicSubet:"),
        ["spec.trafficPolicy.loadBalancer.dynamicSubet: unknown field of a LoadBalancerSettings (Istio's are: simple,"],
      ],
      [
        seedText("step2-dr.yaml").replace(
          "  trafficPolicy:",
          "  subsets:\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy: {loadBalancer: {dynamicSubset: {subsetSelectors: [{keys: [stage]}]}}}\n  trafficPolicy:",
        ),
        ["spec.subsets[0].trafficPolicy.loadBalancer.dynamicSubset: dynamicSubset is read only at"],
      ],
    ];
    for (const [text, expected] of cases) {
      const dr = write("dr.yaml", text);
      const lines = refused(istioArgs(dr, VS), dir);
      for (const e of expected)
        assert.ok(
          lines.some((l) => l.startsWith(`error: ${dr}#0 ${e}`)),
          `${e}\n${lines.join("\n")}`,
        );
    }
    const vs = write(
      "vs.yaml",
      seedText("step2-vs.yaml").replace("headerToDynamicSubsetKey:", "headerToDynamicSubsetKeys:"),
    );
    assert.ok(
      refused(istioArgs(DR, vs), dir).some((l) =>
        l.startsWith(`error: ${vs}#0 spec.http[0].headerToDynamicSubsetKeys: unknown field of an HTTPRoute`),
      ),
    );
  });
});

/** The seed's pods with `edit` applied to every helloworld pod. */
function podsWith(edit) {
  const pods = seedPods();
  for (const p of pods.items) if (p.metadata.labels.app === "helloworld") edit(p);
  return pods;
}

test("a catalog without subsets is refused with the reason: no ready pod, pods in another namespace, an unresolvable targetPort", () => {
  withTemp((dir, write) => {
    const notReady = write(
      "not-ready.json",
      podsWith((p) => (p.status.conditions = [{ type: "Ready", status: "False" }])),
    );
    const elsewhere = write(
      "elsewhere.json",
      podsWith((p) => (p.metadata.namespace = "prod")),
    );
    const service = write(
      "service.yaml",
      seedText("../../istio/app.yaml").replace("targetPort: http", "targetPort: web"),
    );
    const args = (pods, service = SERVICE) => istioArgs(DR, VS, { pods, service });
    const prefix = `error: ${DR}#0 spec.host: ${HOST}: no subset exists: `;
    const [a] = refused(args(notReady), dir);
    assert.ok(
      a.startsWith(
        `${prefix}none of the 9 pods selected by app=helloworld in namespace default is ready and reachable (pod default/`,
      ),
      a,
    );
    assert.ok(a.endsWith("(to render it anyway: --allow no-subsets)"), a);
    const [b] = refused(args(elsewhere), dir);
    assert.ok(
      b.startsWith(
        `${prefix}the pods selected by app=helloworld are in namespace prod, not in the service's namespace default`,
      ),
      b,
    );
    const [c] = refused(args(PODS, service), dir);
    assert.ok(
      c.startsWith(`${prefix}none of the 9 pods`) && c.includes("skipped: no port named web to send traffic to"),
      c,
    );
    const unlabelled = write(
      "unlabelled.json",
      podsWith((p) => delete p.metadata.labels.stage),
    );
    const [d] = refused(args(unlabelled), dir);
    assert.ok(d.startsWith(`${prefix}no ready pod carries all keys of any subset selector`), d);
    const allowed = cli([...args(notReady), "--allow", "no-subsets"]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /^warning: .*no subset exists/m);
  });
});

test("envoy target: a dynamic-subset service without endpoints, or whose endpoints carry no selector's keys, is refused", () => {
  withTemp((dir, write) => {
    const none = write("none.yaml", `- host: ${HOST}\n  port: 8000\n  endpoints: []\n`);
    const unlabelled = write(
      "unlabelled.yaml",
      `- host: ${HOST}\n  port: 8000\n  endpoints:\n  - {address: 10.0.0.1, labels: {zone: a}}\n`,
    );
    const args = (eps) => ["render", "--target", "envoy", "-f", DR, "-f", VS, "--endpoints", eps];
    assert.deepEqual(refused(args(none), dir), [
      `error: endpoints: ${HOST}: no subset exists: the endpoints file lists no endpoint for it; every request would take the fallback (to render it anyway: --allow no-subsets)`,
    ]);
    assert.deepEqual(refused(args(unlabelled), dir), [
      `error: endpoints: ${HOST}: no subset exists: no endpoint carries all keys of any subset selector (stage+version); every request would take the fallback (to render it anyway: --allow no-subsets)`,
    ]);
  });
});

test("a WasmPlugin needs --wasm-url (no placeholder), and the URL and digests are checked (exit 2)", () => {
  const step2 = istioArgs(DR, VS, { wasmUrl: null });
  const missing = cli(step2);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^dynamic-subset: --wasm-url URL is required/);
  const cases = [
    ["ftp://registry.example.com/ds.wasm", "the scheme must be oci://, https://, http:// or file://"],
    ["registry.example.com/ds:1", "the scheme must be oci://"],
    ["oci://dynamic-subset:0.1.0", '"oci://dynamic-subset:0.1.0" is not an image reference'],
    ["oci://dynamic-subset/filter:0.1.0", '"dynamic-subset" is not a registry host'],
    ["oci://REGISTRY/dynamic-subset@sha256:<manifest digest>", '"REGISTRY" is not a registry host'],
    ["oci://registry.example.com/Dynamic-Subset:1", "is not an image reference"],
    [
      "oci://registry.example.com/ds@sha256:abc",
      'the digest must be sha256: and 64 lower-case hex digits, got "sha256:abc"',
    ],
    ["file://plugin.wasm", "a file:// URL names an absolute path inside the istio-proxy container"],
    ["https://", "is not a valid https URL"],
  ];
  for (const [url, message] of cases) {
    const r = cli([...step2, "--wasm-url", url]);
    assert.equal(r.code, 2, `${url}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith("dynamic-subset: --wasm-url: ") && r.stderr.includes(message), `${url}: ${r.stderr}`);
    assert.equal(r.stdout, "");
  }
  const mismatch = cli([...step2, "--wasm-url", PINNED_URL, "--wasm-sha256", "f".repeat(64)]);
  assert.equal(mismatch.code, 2);
  assert.match(mismatch.stderr, /^dynamic-subset: --wasm-sha256 differs from the digest in --wasm-url/);
  const pinned = cli([...step2, "--wasm-url", PINNED_URL, "--wasm-sha256", DIGEST]);
  assert.equal(pinned.code, 0, pinned.stderr);
  assert.doesNotMatch(pinned.stderr, /--wasm-url/, "a pinned image gives no warning");
  const tag = cli([...step2, "--wasm-url", WASM_URL]);
  assert.match(tag.stderr, /^warning: --wasm-url: the image is referenced by tag \(0\.1\.0\) only/m);
  const http = cli([...step2, "--wasm-url", "http://files.example.com/ds.wasm"]);
  assert.equal(http.code, 0, http.stderr);
  assert.match(http.stderr, /^warning: --wasm-url: an http:\/\/ module is fetched without TLS/m);
  // and the library has no default: a WasmPlugin without URL is a problem, never a placeholder
  const input = parseAsm([
    { file: "dr.yaml", text: seedText("step2-dr.yaml") },
    { file: "vs.yaml", text: seedText("step2-vs.yaml") },
  ]);
  const live = { pods: parsePods(seedText("pods.json"), "pods.json"), services: [] };
  assert.throws(
    () => renderIstio(input, live, {}),
    (e) => e instanceof InputError && /--wasm-url/.test(e.problems[0]),
  );
});

test("label keys that are not Kubernetes label keys are refused with their path, in every input", () => {
  withTemp((dir, write) => {
    const badKey = '"not a key"';
    const dr = write("dr.yaml", seedText("step2-dr.yaml").replace("- stage", `- ${badKey}`));
    assert.ok(
      refused(istioArgs(dr, VS), dir).includes(
        `error: ${dr}#0 spec.trafficPolicy.loadBalancer.dynamicSubset.subsetSelectors[0].keys[0]: "not a key" is not a valid label key (an optional DNS subdomain and '/', then 1-63 characters of [-A-Za-z0-9_.], starting and ending alphanumeric)`,
      ),
    );
    for (const key of ["-x", "a/b/c", "Example.com/x", "x".repeat(64)]) {
      const d = write("dr.yaml", seedText("step2-dr.yaml").replace("- stage", `- "${key}"`));
      assert.ok(
        refused(istioArgs(d, VS), dir).some((l) => l.includes(`"${key}" is not a valid label key`)),
        key,
      );
    }
    const vs = write("vs.yaml", seedText("step2-vs.yaml").replace("key: stage", "key: stage/"));
    assert.ok(
      refused(istioArgs(DR, vs), dir).some((l) =>
        l.includes('headerToDynamicSubsetKey[1].key: "stage/" is not a valid label key'),
      ),
    );
    const eps = write(
      "eps.yaml",
      `- host: ${HOST}\n  port: 8000\n  endpoints:\n  - {address: 10.0.0.1, labels: {"bad key": x, stage: a, version: b}}\n`,
    );
    assert.deepEqual(refused(["render", "--target", "envoy", "-f", DR, "-f", VS, "--endpoints", eps], dir), [
      `error: ${eps}#0 [0].endpoints[0].labels.bad key: "bad key" is not a valid label key (an optional DNS subdomain and '/', then 1-63 characters of [-A-Za-z0-9_.], starting and ending alphanumeric)`,
    ]);
    const pods = write(
      "pods.json",
      podsWith((p) => (p.metadata.labels["bad key"] = "x")),
    );
    const lines = refused(istioArgs(DR, VS, { pods, service: null }), dir);
    assert.equal(lines.length, 9, "one per helloworld pod");
    assert.match(
      lines[0],
      /^error: .*pods\.json#0 items\[0\]\.metadata\.labels\.bad key: "bad key" is not a valid label key/,
    );
  });
});

test("pods with an empty label value (legal in Kubernetes) render: the empty label counts as absent", () => {
  withTemp((dir, write) => {
    const pods = write(
      "pods.json",
      podsWith((p) => {
        if (p.status.podIP === "192.168.0.5") p.metadata.labels.stage = "";
        p.metadata.labels["canary"] = "";
      }),
    );
    const step4 = path.join(SEED, "step4-ip-dr-vs.yaml");
    for (const [files, selector] of [
      [[DR, VS], "stage/version"],
      [[step4], "%ip%"],
    ]) {
      const r = cli(istioArgs(...files, { pods }));
      assert.equal(r.code, 0, `${selector}: ${r.stderr}`);
      const config = byKind(r.stdout, "WasmPlugin")[0].spec.pluginConfig;
      assert.deepEqual(pluginConfigProblems(config), []);
      const catalog = config.services[0].catalog;
      const labelSets = [...catalog.subsets, ...(catalog.endpoints ?? [])].map((x) => x.labels);
      assert.ok(
        labelSets.every((l) => Object.values(l).every((v) => v !== "")),
        selector,
      );
      if (catalog.endpoints)
        assert.equal(catalog.endpoints.find((e) => e.address.startsWith("192.168.0.5:")).labels.stage, undefined);
      else assert.ok(!catalog.subsets.some((s) => s.labels.version === "v1"), "the only dev/v1 pod has an empty stage");
    }
  });
});

test("ENVOY_BIN pointing at nothing: one line naming it, no stack trace (scripts/envoy.mjs, used by npm test and the demo)", () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, "scripts/envoy.mjs")], {
    encoding: "utf8",
    env: { ...process.env, ENVOY_BIN: "/nonexistent/envoy" },
  });
  assert.equal(r.status, 0, "no Envoy is not a failure of the install script: the real-Envoy suites say they skip");
  assert.match(r.stdout + r.stderr, /ENVOY_BIN=\/nonexistent\/envoy does not exist/);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at |Error:/);
});
