// Every Envoy configuration the repository ships (envoy/*.yaml) is real Envoy configuration: it passes Envoy's own
// v3 protos (proto-validate.mjs), and the validator itself rejects what Envoy would reject.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { validateEnvoy, validateEnvoyYaml } from "./proto-validate.mjs";

const ENVOY_DIR = new URL("../../envoy/", import.meta.url).pathname;
const BOOTSTRAP = "envoy.config.bootstrap.v3.Bootstrap";

/** A file validates as Bootstrap unless its first lines say `# envoy-type: <message>` (snippets). */
function envoyTypeOf(text) {
  return /^# envoy-type: (\S+)$/m.exec(text.split("\n").slice(0, 5).join("\n"))?.[1] ?? BOOTSTRAP;
}

const shipped = readdirSync(ENVOY_DIR).filter((f) => f.endsWith(".yaml"));

test("envoy/ ships Envoy configuration files", () => {
  assert.ok(shipped.includes("envoy.yaml"), `envoy/ has ${shipped.join(", ")}`);
});

for (const file of shipped) {
  test(`envoy/${file} is valid against Envoy's v3 protos`, () => {
    const text = readFileSync(ENVOY_DIR + file, "utf8");
    assert.deepEqual(validateEnvoyYaml(text, envoyTypeOf(text)), []);
  });
}

const example = () => parse(readFileSync(ENVOY_DIR + "envoy.yaml", "utf8"));
const hcm = (b) => b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;

/** Apply `mutate` to the shipped example and return the validator's problems. */
function problemsAfter(mutate) {
  const b = example();
  mutate(b);
  return validateEnvoy(b);
}

test("a misspelt field is rejected, naming its path and message type", () => {
  assert.deepEqual(
    problemsAfter((b) => {
      b.static_resources.clusters[0].conect_timeout = "1s";
    }),
    ["static_resources.clusters[0].conect_timeout: unknown field of envoy.config.cluster.v3.Cluster"],
  );
});

test("a field added after the shipped protos (wasm failure_policy, Envoy 1.33) is reported as unknown", () => {
  assert.deepEqual(
    problemsAfter((b) => {
      hcm(b).http_filters[0].typed_config.config.failure_policy = "FAIL_CLOSED";
    }),
    [
      "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config.failure_policy: unknown field of envoy.extensions.wasm.v3.PluginConfig",
    ],
  );
});

test("camelCase field names are accepted as Envoy accepts them; giving both spellings is not", () => {
  assert.deepEqual(
    problemsAfter((b) => {
      const c = b.static_resources.clusters[0];
      c.connectTimeout = c.connect_timeout;
      delete c.connect_timeout;
    }),
    [],
  );
  assert.deepEqual(
    problemsAfter((b) => {
      b.static_resources.clusters[0].connectTimeout = "2s";
    }),
    ["static_resources.clusters[0].connectTimeout: field connect_timeout given twice"],
  );
});

test("a bad enum value is rejected, listing the values", () => {
  assert.deepEqual(
    problemsAfter((b) => {
      b.static_resources.clusters[0].lb_subset_config.fallback_policy = "ANY";
    }),
    [
      'static_resources.clusters[0].lb_subset_config.fallback_policy: "ANY" is not a value of envoy.config.cluster.v3.Cluster.LbSubsetConfig.LbSubsetFallbackPolicy (one of NO_FALLBACK, ANY_ENDPOINT, DEFAULT_SUBSET)',
    ],
  );
});

test("an Any with an unknown @type, or without @type, is rejected", () => {
  assert.deepEqual(
    problemsAfter((b) => {
      hcm(b).http_filters[1].typed_config["@type"] =
        "type.googleapis.com/envoy.extensions.filters.http.header_to_metadata.v3.Konfig";
    }),
    [
      "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[1].typed_config.@type: unknown type type.googleapis.com/envoy.extensions.filters.http.header_to_metadata.v3.Konfig",
    ],
  );
  assert.deepEqual(
    problemsAfter((b) => {
      delete hcm(b).http_filters[2].typed_config["@type"];
    }),
    [
      "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[2].typed_config.@type: missing: a google.protobuf.Any needs @type",
    ],
  );
});

test("Any payloads are validated recursively (a typo inside the wasm filter's PluginConfig)", () => {
  assert.deepEqual(
    problemsAfter((b) => {
      hcm(b).http_filters[0].typed_config.config.vm_config.runtme = "envoy.wasm.runtime.v8";
    }),
    [
      "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config.vm_config.runtme: unknown field of envoy.extensions.wasm.v3.VmConfig",
    ],
  );
});

test("missing required fields (PGV min_len, message.required, min_items, required oneof) are rejected", () => {
  const rules = () => [
    "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[1].typed_config.request_rules[0]",
  ];
  assert.deepEqual(
    problemsAfter((b) => {
      delete hcm(b).http_filters[1].typed_config.request_rules[0].on_header_present.key;
    }),
    [`${rules()[0]}.on_header_present.key: is required (must be non-empty)`],
  );
  assert.deepEqual(
    problemsAfter((b) => {
      delete b.static_resources.clusters[0].name;
    }),
    ["static_resources.clusters[0].name: is required (must be non-empty)"],
  );
  assert.deepEqual(
    problemsAfter((b) => {
      delete hcm(b).route_config.virtual_hosts[0].routes[0].match;
    }),
    [
      "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match: is required",
    ],
  );
  assert.deepEqual(
    problemsAfter((b) => {
      hcm(b).route_config.virtual_hosts[0].domains = [];
    }),
    [
      "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].domains: needs at least 1 item(s), has 0",
    ],
  );
  assert.deepEqual(
    problemsAfter((b) => {
      delete b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
        .socket_address;
    }),
    [
      "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address: oneof address: one of socket_address, pipe, envoy_internal_address is required",
    ],
  );
});

test("wrong JSON kinds and PGV ranges are rejected", () => {
  assert.deepEqual(
    problemsAfter((b) => {
      b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value =
        "http";
      b.static_resources.clusters[0].connect_timeout = "0s";
      hcm(b).http_filters[0].typed_config.config.configuration.value = { mode: "metadata" };
      hcm(b).route_config.virtual_hosts[0].routes[0].match.path = "/both";
    }),
    [
      "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].match: oneof path_specifier: only one of prefix, path may be set",
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config.configuration.value: expected a string (string), got object {"mode":"metadata"}',
      "static_resources.clusters[0].connect_timeout: must be longer than 0s",
      'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: expected an integer (uint32), got string "http"',
    ],
  );
});

test("the hand-written filter chain in envoy/README.md is valid Envoy configuration", () => {
  const readme = readFileSync(ENVOY_DIR + "README.md", "utf8");
  const chains = [...readme.matchAll(/```yaml\n(- name: envoy\.filters\.http\.[\s\S]*?)```/g)].map((m) => parse(m[1]));
  assert.equal(chains.length, 1);
  assert.deepEqual(
    chains[0].map((f) => f.name),
    ["envoy.filters.http.wasm", "envoy.filters.http.header_to_metadata", "envoy.filters.http.router"],
  );
  for (const filter of chains[0])
    assert.deepEqual(
      validateEnvoy(filter, "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter"),
      [],
    );
});
