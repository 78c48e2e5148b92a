// The filter's configuration path without the ABI, for the benchmark's parse-time split (asconfig target
// "parse"): the same parseConfig and compileTables that proxy_on_configure runs, timed one phase at a time.
import { parseConfig } from "../../assembly/filter/config/index";
import { compileTables } from "../../assembly/filter/tables/compile";
import { Tables } from "../../assembly/filter/tables/runtime";
import { PluginConfig } from "../../assembly/filter/model";
import "../../assembly/abi/abort"; // the abort handler asconfig routes to

let input = new ArrayBuffer(0);
let parsed: PluginConfig | null = null;
let compiled: Tables | null = null;

/** Where Node writes the configuration text of `length` bytes. */
export function inputBuffer(length: i32): usize {
  input = new ArrayBuffer(length);
  return changetype<usize>(input);
}

/** JSON parse + validation; the number of error lines (0: accepted). */
export function parse(): i32 {
  const result = parseConfig(input);
  parsed = result.config;
  return result.errors.length;
}

/** Compiles the last accepted configuration into the tables in force; their number of services. */
export function compile(): i32 {
  const config = parsed;
  if (config == null) return -1;
  const tables = compileTables(config);
  compiled = tables;
  return tables.services.length;
}

/**
 * What ends proxy_on_configure: the JSON tree and the parsed configuration become garbage, the tables in force
 * stay live (the tables they replaced are garbage too), and the module collects.
 */
export function collect(): void {
  parsed = null;
  __collect();
}
