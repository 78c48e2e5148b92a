// src/config/constants.ts is the one source of the constants the filter, the renderer/CLI and the JSON Schema
// share. The filter and the TypeScript side import it; the schema cannot, so this checks that it agrees. The
// file must also stay something the AssemblyScript compiler reads as the TypeScript compiler does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import Ajv from "ajv";
import * as constants from "../../dist/config/constants.js";

const root = new URL("../../", import.meta.url);
const schema = JSON.parse(readFileSync(new URL("schema/plugin-config.schema.json", root), "utf8"));
const { definitions } = schema;
const validate = new Ajv({ allErrors: true }).compile(schema);

test("constants.ts holds only `export const NAME = <string or integer literal>;` (the filter compiles it too)", () => {
  const source = readFileSync(new URL("src/config/constants.ts", root), "utf8");
  const code = source.split("\n").filter((line) => line.trim() !== "" && !/^\s*(\/\/|\/\*\*|\*)/.test(line));
  assert.equal(code.length, Object.keys(constants).length, "one line per constant");
  for (const line of code) assert.match(line, /^export const [A-Z][A-Z0-9_]* = ("[^"\\]*"|\d+);$/);
});

test("the schema's default header prefix, %ip% key, key limit, route token and depth are the constants", () => {
  assert.equal(schema.properties.headerPrefix.default, constants.DEFAULT_HEADER_PREFIX);
  assert.match(constants.DEFAULT_HEADER_PREFIX, new RegExp(schema.properties.headerPrefix.pattern));
  assert.deepEqual(definitions.subsetKey.anyOf[0], { const: constants.IP_KEY });
  assert.deepEqual(Object.keys(definitions.dynamicSubset.properties.defaultSubset.properties), [constants.IP_KEY]);
  assert.equal(definitions.headerMapping.if.properties.key.const, constants.IP_KEY);
  assert.equal(definitions.subsetSelector.properties.keys.maxItems, constants.MAX_KEYS_PER_SERVICE);
  assert.equal(
    definitions.catalog.properties.routeToken.pattern,
    `^[0-9a-f]{${constants.ROUTE_TOKEN_MIN_LENGTH},${constants.ROUTE_TOKEN_MAX_LENGTH}}$`,
  );
});

test("the schema's prose names the same values", () => {
  assert.match(schema.description, new RegExp(`the ${constants.ROOT_ID} proxy-wasm filter`));
  assert.ok(schema.description.includes(`at most ${constants.MAX_KEYS_PER_SERVICE} distinct keys per service`));
  assert.ok(schema.description.includes(`headerPrefix + '${constants.SUBSET_HEADER_SUFFIX}'`));
  assert.ok(schema.description.includes(`nesting depth <= ${constants.MAX_JSON_DEPTH}`));
  assert.ok(schema.properties.responseHeader.description.startsWith(`Add ${constants.DECISION_HEADER}: `));
  assert.ok(
    definitions.catalog.properties.sessionHeader.description.includes(
      `headerPrefix + '${constants.SESSION_HEADER_SUFFIX}'`,
    ),
  );
});

test("the schema enforces the key limit and the route-token bounds as the filter does", () => {
  const selector = (n) => ({
    services: [
      { cluster: "c", dynamicSubset: { subsetSelectors: [{ keys: Array.from({ length: n }, (_, i) => `k${i}`) }] } },
    ],
  });
  assert.equal(validate(selector(constants.MAX_KEYS_PER_SERVICE)), true);
  assert.equal(validate(selector(constants.MAX_KEYS_PER_SERVICE + 1)), false);
  const withToken = (routeToken) => ({
    mode: "catalog",
    services: [
      { cluster: "c", dynamicSubset: { subsetSelectors: [{ keys: ["k"] }] }, catalog: { routeToken, subsets: [] } },
    ],
  });
  for (const length of [constants.ROUTE_TOKEN_MIN_LENGTH, constants.ROUTE_TOKEN_MAX_LENGTH])
    assert.equal(validate(withToken("a".repeat(length))), true, `${length} digits`);
  for (const length of [constants.ROUTE_TOKEN_MIN_LENGTH - 1, constants.ROUTE_TOKEN_MAX_LENGTH + 1])
    assert.equal(validate(withToken("a".repeat(length))), false, `${length} digits`);
});

test("like the filter, the schema ignores a catalog in metadata mode and checks it in catalog mode", () => {
  const config = (mode) => ({
    mode,
    services: [{ cluster: "c", dynamicSubset: { subsetSelectors: [{ keys: ["k"] }] }, catalog: { subsets: 42 } }],
  });
  assert.equal(validate(config("metadata")), true, JSON.stringify(validate.errors));
  assert.equal(validate(config("catalog")), false);
});
