// `envoy --mode validate` on every Envoy configuration of the repository and on the renderer's output, on every
// pinned version, beside the fast proto validation (test/render/proto-validate.mjs). Envoy's validate mode loads the
// Wasm module and runs the filter's on_configure, so it also checks each plugin configuration with the filter
// itself. Where the two validations disagree, Envoy is the judge: the disagreements known today are listed below
// and held to, so that a change on either side shows.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { localExampleBootstrap, runEnvoyToExit } from "../../envoy/local-envoy.mjs";
import { STEP_INPUTS } from "../../examples/helloworld/walkthrough.mjs";
import { validateEnvoy } from "../render/proto-validate.mjs";
import { forEachEnvoy, twoAtATime } from "./envoys.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SEED = path.join(ROOT, "examples/helloworld");
const WASM = path.join(ROOT, "build/dynamic_subset.wasm");
const HCM_TYPE =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

const readRepo = (file) => readFileSync(path.join(ROOT, file), "utf8");

/** A bootstrap with one listener around an HTTP filter chain, a route config and clusters. */
function bootstrapAround({ httpFilters, routeConfig, clusters }) {
  const hcm = { "@type": HCM_TYPE, stat_prefix: "validate", route_config: routeConfig, http_filters: httpFilters };
  const listener = {
    name: "validate",
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }] }],
  };
  return { static_resources: { listeners: [listener], clusters } };
}

/**
 * envoy/README.md "Writing the filter chain by hand": the YAML chain, around the route and cluster the README
 * describes (route `default`, cluster `helloworld` with the selector). The module path is the README's
 * /etc/envoy/dynamic_subset.wasm, which is build/dynamic_subset.wasm here.
 */
function readmeChain() {
  const block = /```yaml\n(- name: envoy\.filters\.http\.wasm\n[\s\S]*?)```/.exec(readRepo("envoy/README.md"));
  if (!block)
    throw new Error("envoy/README.md has no hand-written filter chain (```yaml - name: envoy.filters.http.wasm)");
  const httpFilters = parse(block[1]);
  httpFilters[0].typed_config.config.vm_config.code.local.filename = WASM;
  const endpoint = (address, stage, version) => ({
    endpoint: { address: { socket_address: { address, port_value: 8000 } } },
    metadata: { filter_metadata: { "envoy.lb": { stage, version } } },
  });
  return bootstrapAround({
    httpFilters,
    routeConfig: {
      name: "helloworld",
      virtual_hosts: [
        {
          name: "helloworld",
          domains: ["*"],
          routes: [{ name: "default", match: { prefix: "/" }, route: { cluster: "helloworld" } }],
        },
      ],
    },
    clusters: [
      {
        name: "helloworld",
        type: "STATIC",
        connect_timeout: "1s",
        lb_subset_config: { fallback_policy: "NO_FALLBACK", subset_selectors: [{ keys: ["stage", "version"] }] },
        load_assignment: {
          cluster_name: "helloworld",
          endpoints: [{ lb_endpoints: [endpoint("192.168.0.5", "dev", "v1"), endpoint("192.168.0.6", "prod", "v3")] }],
        },
      },
    ],
  });
}

/** dynamic-subset render --target envoy for one step of the seed, with the seed's own endpoints. */
function render(variant, output) {
  const files = STEP_INPUTS[variant].flatMap((f) => ["-f", path.join(SEED, f)]);
  const args = ["render", "--target", "envoy", "--output", output, "--endpoints", path.join(SEED, "endpoints.yaml")];
  return execFileSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), ...args, ...files], {
    encoding: "utf8",
  });
}

/** --output parts pasted into a configuration, as envoy/README.md tells users to. */
function assembleParts(text) {
  const parts = { httpFilters: undefined, routeConfig: undefined, clusters: [] };
  for (const doc of parseAllDocuments(text).map((d) => d.toJS())) {
    if (Array.isArray(doc)) parts.httpFilters = doc;
    else if (doc.virtual_hosts) parts.routeConfig = doc;
    else if (doc.load_assignment) parts.clusters.push(doc);
  }
  assert.ok(parts.httpFilters && parts.routeConfig && parts.clusters.length > 0, "parts: filters, route, cluster");
  return bootstrapAround(parts);
}

/** Every Envoy configuration of the repository and of the renderer: name -> bootstrap object. */
function repositoryConfigurations() {
  const configs = {
    "envoy/envoy.yaml": parse(readRepo("envoy/envoy.yaml")),
    "envoy/stats-tags.yaml (as a bootstrap's stats_config)": { stats_config: parse(readRepo("envoy/stats-tags.yaml")) },
    "envoy/README.md filter chain written by hand": readmeChain(),
  };
  for (const variant of Object.keys(STEP_INPUTS)) {
    configs[`render --output bootstrap: ${variant}`] = parse(render(variant, "bootstrap"));
    configs[`render --output parts: ${variant}`] = assembleParts(render(variant, "parts"));
  }
  return configs;
}

const hcmOf = (b) => b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
const wasmOf = (b) => hcmOf(b).http_filters[0].typed_config.config;

/**
 * Changes to envoy/envoy.yaml and the verdicts: `proto` of the fast validation (true: accepted), `envoy` of every
 * pinned Envoy (true: accepted; a pattern: rejected, the log saying why). Where they differ, Envoy is right and the
 * fast validation's limit is the reason given.
 */
const MUTATIONS = [
  {
    name: "a misspelt field",
    change: (b) => (b.static_resources.clusters[0].conect_timeout = "1s"),
    proto: false,
    envoy: /no\s+such\s+field:\s+'conect_timeout'/,
  },
  {
    name: "an enum value Envoy does not know",
    change: (b) => (b.static_resources.clusters[0].lb_policy = "RANDOMLY"),
    proto: false,
    envoy: /unknown enum value: 'RANDOMLY'/,
  },
  {
    name: "an empty cluster name",
    change: (b) => (b.static_resources.clusters[0].name = ""),
    proto: false,
    envoy: /ClusterValidationError.Name: value length must be at least 1/,
  },
  {
    name: "a negative timeout",
    change: (b) => (b.static_resources.clusters[0].connect_timeout = "-1s"),
    proto: false,
    envoy: /Invalid duration: Expected positive duration/,
  },
  {
    name: "wasm failure_policy (Envoy 1.33+)",
    change: (b) => (wasmOf(b).failure_policy = "FAIL_CLOSED"),
    proto: false,
    envoy: true,
    why: "the protos of @grpc/grpc-js-xds predate the field; every pinned Envoy has it",
  },
  {
    name: "a route to a cluster that does not exist",
    change: (b) => (hcmOf(b).route_config.virtual_hosts[0].routes[0].route.cluster = "nope"),
    proto: true,
    envoy: /unknown cluster 'nope'/,
    why: "references between resources are Envoy's C++ checks, not proto rules",
  },
  {
    name: "a Wasm module file that does not exist",
    change: (b) => (wasmOf(b).vm_config.code.local.filename = "/nonexistent/dynamic_subset.wasm"),
    proto: true,
    envoy: /Invalid path: \/nonexistent\/dynamic_subset\.wasm/,
    why: "files are not read by the proto validation",
  },
  {
    name: "a plugin configuration the filter rejects",
    change: (b) => (wasmOf(b).configuration.value = '{"services": [],}'),
    proto: true,
    envoy: / wasm log dynamic_subset dynamic_subset: configuration: invalid JSON at byte 16/,
    why: "the plugin configuration is an opaque string to the protos; validate mode runs the filter's on_configure",
  },
];

const validate = (bin, bootstrap) => runEnvoyToExit(bin, bootstrap, { args: ["--mode", "validate"] });

const configs = repositoryConfigurations();

for (const [name, bootstrap] of Object.entries(configs)) {
  test(`fast proto validation accepts ${name}`, () => {
    assert.deepEqual(validateEnvoy(bootstrap), []);
  });
}

for (const m of MUTATIONS) {
  test(`fast proto validation ${m.proto ? "accepts" : "rejects"} ${m.name}${m.why ? ` (${m.why})` : ""}`, () => {
    const b = localExampleBootstrap();
    m.change(b);
    assert.equal(validateEnvoy(b).length === 0, m.proto, validateEnvoy(b).join("\n"));
  });
}

forEachEnvoy("envoy --mode validate on every configuration of the repository", (envoy) => {
  let results;
  let mutated;
  before(async () => {
    results = await twoAtATime(Object.values(configs).map((b) => () => validate(envoy.bin, b)));
    mutated = await twoAtATime(
      MUTATIONS.map((m) => () => {
        const b = localExampleBootstrap();
        m.change(b);
        return validate(envoy.bin, b);
      }),
    );
  });

  Object.keys(configs).forEach((name, i) => {
    test(`accepts ${name}`, () => {
      const { code, log } = results[i];
      assert.equal(code, 0, log.slice(-3000));
      assert.match(log, /configuration '.*' OK/);
    });
  });

  MUTATIONS.forEach((m, i) => {
    test(`${m.envoy === true ? "accepts" : "rejects"} ${m.name}`, () => {
      const { code, log } = mutated[i];
      assert.equal(code === 0, m.envoy === true, log.slice(-2000));
      if (m.envoy !== true) assert.match(log, m.envoy);
    });
  });
});
