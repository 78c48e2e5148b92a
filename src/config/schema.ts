// The published JSON Schema of the plugin configuration (schema/plugin-config.schema.json), compiled once.
// The renderers check every plugin configuration they write against it: output that the filter would reject
// is a renderer bug, reported as one instead of being written.
import { readFileSync } from "node:fs";
import AjvModule from "ajv";
import type { ValidateFunction } from "ajv";

const SCHEMA = new URL("../../schema/plugin-config.schema.json", import.meta.url);
let validate: ValidateFunction | undefined;

/** Schema violations as `<JSON pointer> <message>` lines; empty when valid. */
export function pluginConfigProblems(config: unknown): string[] {
  validate ??= new AjvModule.default({ allErrors: true }).compile(JSON.parse(readFileSync(SCHEMA, "utf8")));
  if (validate(config)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
}

export function assertValidPluginConfig(config: unknown): void {
  const problems = pluginConfigProblems(config);
  if (problems.length > 0) {
    throw new Error(
      `internal error: the rendered plugin configuration fails ${SCHEMA.pathname}: ${problems.join("; ")}`,
    );
  }
}
