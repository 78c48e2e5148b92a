// Every malformed configuration of test/fixtures/bad-configs.json against the compiled filter: Envoy's
// start refuses it, the filter logs exactly the listed problem lines (docs/configuration.md: one line per problem,
// naming the JSON path, or the byte offset for malformed JSON) and nothing else, and the VM never traps.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ProxyWasmHost } from "../../emulator/index.mjs";
import { filterLogs, WASM, wasmBytes } from "./fixtures.mjs";

const table = JSON.parse(readFileSync(new URL("../fixtures/bad-configs.json", import.meta.url), "utf8"));

/** The configuration bytes exactly as the case gives them ('configBase64': bytes that are not UTF-8). */
function configOf(c) {
  return c.configBase64 !== undefined ? new Uint8Array(Buffer.from(c.configBase64, "base64")) : c.config;
}

describe("bad configurations are rejected with their exact problem lines", () => {
  it("the table covers each kind of problem", () => {
    assert.ok(table.cases.length >= 95, `${table.cases.length} cases`);
    assert.equal(new Set(table.cases.map((c) => c.name)).size, table.cases.length, "case names are unique");
  });

  for (const c of table.cases) {
    it(c.name, { skip: wasmBytes ? false : `${WASM.pathname} is missing: run npm run build:wasm` }, async () => {
      const host = await ProxyWasmHost.load(wasmBytes, { pluginConfig: configOf(c), rootId: "dynamic_subset" });
      assert.equal(host.start(), false, "the configuration was accepted");
      assert.equal(host.failed, false, `the VM trapped: ${host.failure}`);
      assert.deepEqual(filterLogs(host, "error"), c.errors);
      // the one other error line is the host's own refusal
      assert.deepEqual(
        host.logs.filter((l) => l.level === "error" && l.from !== "guest").map((l) => l.message),
        [host.startError],
      );
    });
  }
});
