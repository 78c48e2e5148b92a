// The published JSON Schema of the plugin configuration (schema/plugin-config.schema.json):
// it compiles, accepts the configurations of the seed walkthrough, and rejects exactly the malformed
// configurations of test/fixtures/bad-configs.json that are marked schema-expressible.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import Ajv from "ajv";

const root = new URL("../../", import.meta.url);
const schema = JSON.parse(readFileSync(new URL("schema/plugin-config.schema.json", root), "utf8"));
const table = JSON.parse(readFileSync(new URL("test/fixtures/bad-configs.json", root), "utf8"));
const validate = new Ajv({ allErrors: true }).compile(schema);

const helloworld = "helloworld.default.svc.cluster.local";
const stageVersionRoute = {
  name: "default",
  headerToDynamicSubsetKey: [
    { header: "x-version", key: "version", defaultValue: "v3" },
    { header: "x-stage", key: "stage", defaultValue: "prod" },
  ],
};

// The plugin configurations that the seed's steps 2-4 translate to (docs/configuration.md), and its full example.
const accepted = {
  "empty configuration": {},
  "seed step 2: stage/version with defaults": {
    services: [
      {
        host: helloworld,
        dynamicSubset: { subsetSelectors: [{ keys: ["stage", "version"] }] },
        routes: [stageVersionRoute],
      },
    ],
  },
  "seed step 3: NO_FALLBACK and ANY_ENDPOINT per selector": {
    services: [
      {
        host: helloworld,
        dynamicSubset: { subsetSelectors: [{ fallbackPolicy: "ANY_ENDPOINT", keys: ["stage", "version"] }] },
        routes: [stageVersionRoute],
      },
      {
        cluster: "helloworld-strict",
        dynamicSubset: { subsetSelectors: [{ fallbackPolicy: "NO_FALLBACK", keys: ["stage", "version"] }] },
      },
    ],
  },
  "seed step 3: DEFAULT_SUBSET": {
    services: [
      {
        host: helloworld,
        dynamicSubset: {
          defaultSubset: { stage: "prod", version: "v3" },
          subsetSelectors: [{ fallbackPolicy: "DEFAULT_SUBSET", keys: ["stage", "version"] }],
        },
        routes: [stageVersionRoute],
      },
    ],
  },
  "seed step 4: %ip%": {
    services: [
      {
        host: helloworld,
        dynamicSubset: { defaultSubset: { stage: "prod", version: "v3" }, subsetSelectors: [{ keys: ["%ip%"] }] },
        routes: [{ name: "default", headerToDynamicSubsetKey: [{ header: "x-ip", key: "%ip%" }] }],
      },
    ],
  },
  "docs/configuration.md example in catalog mode": {
    mode: "catalog",
    headerPrefix: "x-dynamic-subset-",
    responseHeader: false,
    services: [
      {
        cluster: "helloworld",
        dynamicSubset: {
          subsetSelectors: [{ keys: ["stage", "version"], fallbackPolicy: "DEFAULT_SUBSET" }, { keys: ["%ip%"] }],
          defaultSubset: { stage: "prod", version: "v3" },
          fallbackPolicy: "NO_FALLBACK",
          lbPolicy: "ROUND_ROBIN",
        },
        routes: [
          stageVersionRoute,
          { name: "pin", headerToDynamicSubsetKey: [{ header: "x-ip", key: "%ip%", defaultValue: "fd00::6" }] },
          { headerToDynamicSubsetKey: [] },
        ],
        catalog: {
          routeToken: "9f3c1a7e52d04b68",
          subsets: [
            { name: "dev-v1", labels: { stage: "dev", version: "v1", "app.kubernetes.io/name": "helloworld" } },
          ],
          endpoints: [
            { address: "192.168.0.6:8000", labels: { stage: "prod", version: "v3" } },
            { address: "[fd00::6]:8000", labels: {} },
          ],
          sessionHeader: "x-dynamic-subset-host",
        },
      },
    ],
  },
};

for (const [name, config] of Object.entries(accepted)) {
  test(`schema accepts: ${name}`, () => {
    assert.equal(validate(config), true, JSON.stringify(validate.errors));
  });
}

test("the bad-configuration table has at least 40 cases, each with expected problem lines", () => {
  assert.ok(table.cases.length >= 40, `${table.cases.length} cases`);
  for (const c of table.cases) {
    assert.equal(typeof c.name, "string");
    assert.ok((typeof c.config === "string") !== (typeof c.configBase64 === "string"), c.name);
    assert.ok(Array.isArray(c.errors) && c.errors.length > 0, c.name);
    assert.equal(typeof c.schema, "boolean", c.name);
  }
  assert.equal(new Set(table.cases.map((c) => c.name)).size, table.cases.length, "case names are distinct");
});

/** The configuration as JSON.parse sees it, or undefined when it is not JSON at all. */
function parsed(c) {
  if (c.configBase64 !== undefined) return undefined;
  try {
    return JSON.parse(c.config);
  } catch {
    return undefined;
  }
}

// cases about the bytes (syntax, UTF-8, depth) say nothing about the schema; JSON.parse is laxer there
const isSyntaxCase = (c) => c.errors[0].startsWith("configuration: invalid JSON");

for (const c of table.cases) {
  const config = parsed(c);
  if (isSyntaxCase(c)) {
    assert.equal(c.schema, false, `${c.name}: a syntax case cannot be schema-expressible`);
  } else if (c.schema) {
    test(`schema rejects: ${c.name}`, () => {
      assert.notEqual(config, undefined, "schema-expressible cases are JSON");
      assert.equal(validate(config), false, "the schema accepted it");
    });
  } else if (config !== undefined) {
    // keeps the flag honest: a case marked "filter only" really passes the schema
    test(`schema accepts (filter-only rule): ${c.name}`, () => {
      assert.equal(validate(config), true, JSON.stringify(validate.errors));
    });
  }
}

test("the renderers refuse to write a plugin configuration the schema rejects, naming where it fails", async () => {
  const { assertValidPluginConfig } = await import("../../dist/config/schema.js");
  const broken = { services: [{ cluster: "helloworld", dynamicSubset: { subsetSelectors: [{ keys: [] }] } }] };
  assert.throws(
    () => assertValidPluginConfig(broken),
    /internal error: .*\/services\/0\/dynamicSubset\/subsetSelectors\/0\/keys /,
  );
  assert.doesNotThrow(() => assertValidPluginConfig({ services: [] }));
});
