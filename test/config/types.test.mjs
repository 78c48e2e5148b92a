// src/config/types.ts (what the renderers write) agrees with the JSON Schema (schema/plugin-config.schema.json),
// read through the TypeScript compiler: every object has the same members, a member is optional exactly where
// the schema does not require it, enums are the same sets of strings, lists and maps hold the same things.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = new URL("../../", import.meta.url);
const schema = JSON.parse(readFileSync(new URL("schema/plugin-config.schema.json", root), "utf8"));
const TYPES = fileURLToPath(new URL("src/config/types.ts", root));

// services[].catalog takes any value in metadata mode (the filter ignores it); types.ts describes the catalog
// mode shape, which the root's if/then checks.
const CATALOG_MODE = schema.then.properties.services.items.properties.catalog;

function resolve(node) {
  while (node.$ref) node = schema.definitions[node.$ref.replace("#/definitions/", "")];
  // a node without a type of its own takes its shape from the first branch of allOf; the other branches (and an
  // allOf beside a type) only narrow it: minProperties, requirements under if/then
  return node.allOf && !node.type ? resolve(node.allOf[0]) : node;
}

function isStringSchema(node) {
  if (node.type === "string") return true;
  if (node.anyOf) return node.anyOf.map(resolve).every((n) => typeof n.const === "string" || isStringSchema(n));
  return false;
}

/** The problems where `type` and the schema `node` disagree, at `path`. */
function compare(checker, type, node, path) {
  node = resolve(node);
  const problems = [];
  const say = (what) => problems.push(`${path}: ${what}`);
  const name = checker.typeToString(type);
  if (node.enum) {
    const literals = type.isUnion() ? type.types : [type];
    const values = literals.map((t) => (t.isStringLiteral() ? t.value : `<${checker.typeToString(t)}>`));
    if (values.sort().join() !== [...node.enum].sort().join()) say(`${values} where the schema has ${node.enum}`);
  } else if (isStringSchema(node)) {
    if (!(type.flags & ts.TypeFlags.String)) say(`${name} where the schema has a string`);
  } else if (node.type === "boolean") {
    if (!(type.flags & ts.TypeFlags.Boolean)) say(`${name} where the schema has a boolean`);
  } else if (node.type === "array") {
    if (!checker.isArrayType(type)) say(`${name} where the schema has a list`);
    else problems.push(...compare(checker, checker.getTypeArguments(type)[0], node.items, `${path}[]`));
  } else if (node.type === "object" && typeof node.additionalProperties === "object") {
    const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
    if (!index) say(`${name} where the schema has a map`);
    else problems.push(...compare(checker, index.type, node.additionalProperties, `${path}[key]`));
  } else if (node.type === "object") {
    const members = new Map(checker.getPropertiesOfType(type).map((p) => [p.name, p]));
    const required = new Set(node.required ?? []);
    const props = node.properties ?? {};
    for (const key of Object.keys(props)) if (!members.has(key)) say(`${key} is in the schema, not in ${name}`);
    for (const [key, member] of members) {
      if (!(key in props)) {
        say(`${key} is in ${name}, not in the schema`);
        continue;
      }
      const optional = (member.flags & ts.SymbolFlags.Optional) !== 0;
      if (optional === required.has(key)) say(`${key} is ${optional ? "optional" : "required"} in ${name} only`);
      const memberType = checker.getNonNullableType(checker.getTypeOfSymbol(member));
      const memberSchema = path.endsWith("services[]") && key === "catalog" ? CATALOG_MODE : props[key];
      problems.push(...compare(checker, memberType, memberSchema, `${path}.${key}`));
    }
  } else {
    say(`no rule for the schema ${JSON.stringify(node).slice(0, 80)}`);
  }
  return problems;
}

test("src/config/types.ts describes exactly what schema/plugin-config.schema.json allows", () => {
  const program = ts.createProgram([TYPES], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    types: [],
  });
  assert.deepEqual(
    ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")),
    [],
  );
  const checker = program.getTypeChecker();
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(TYPES)));
  const pluginConfig = exports.find((s) => s.name === "PluginConfig");
  assert.ok(pluginConfig, "types.ts exports PluginConfig");
  assert.deepEqual(compare(checker, checker.getDeclaredTypeOfSymbol(pluginConfig), schema, "PluginConfig"), []);
});
