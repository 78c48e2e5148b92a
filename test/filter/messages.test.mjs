// The committed message catalog (assembly/filter/messages.generated.ts) must be what
// scripts/messages.mjs makes of assembly/filter/messages.json now.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { OUTPUT, SOURCE, render } from "../../scripts/messages.mjs";

describe("message catalog", () => {
  it("messages.generated.ts is current with messages.json", () => {
    const expected = render(JSON.parse(readFileSync(SOURCE, "utf8")));
    assert.ok(
      readFileSync(OUTPUT, "utf8") === expected,
      "assembly/filter/messages.generated.ts is stale: run `npm run build:wasm` (scripts/messages.mjs) and commit it",
    );
  });

  it("rejects text that is not printable ASCII", () => {
    assert.throws(() => render({ words: {}, texts: { Bad: "caf\u00e9" } }), /Bad: not printable ASCII/);
  });
});
