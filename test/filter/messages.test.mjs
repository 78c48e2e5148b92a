// The filter's log lines (assembly/filter/messages.json): the committed catalog is current, every problem line
// the filter reports is one whole template of messages.json (so a user can find it there), and every template
// is pinned, exactly as a user sees it, by some test.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { OUTPUT, SOURCE, render, templates } from "../../scripts/messages.mjs";

const catalog = JSON.parse(readFileSync(SOURCE, "utf8"));
const table = JSON.parse(readFileSync(new URL("../fixtures/bad-configs.json", import.meta.url), "utf8"));
const fixtureLines = table.cases.flatMap((c) => c.errors);

/** The regular expression of a template: its placeholders stand for any text. */
function pattern(template) {
  const parts = template.split(/\{[a-zA-Z]+\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return parts.join(".+?");
}

/** The test sources that pin lines outside bad-configs.json (warnings, limits, log lines). */
function testSources() {
  const sources = [];
  for (const dir of ["../../assembly/__tests__/", "./"]) {
    const url = new URL(dir, import.meta.url);
    for (const name of readdirSync(url))
      if (/\.(ts|mjs)$/.test(name)) sources.push(readFileSync(new URL(name, url), "utf8"));
  }
  return sources.join("\n");
}

describe("message catalog", () => {
  it("messages.generated.ts is current with messages.json", () => {
    assert.ok(
      readFileSync(OUTPUT, "utf8") === render(catalog),
      "assembly/filter/messages.generated.ts is stale: run `npm run build:wasm` (scripts/messages.mjs) and commit it",
    );
  });

  it("rejects a template that is not printable ASCII, has a stray '{', or a problem without its path", () => {
    assert.throws(() => render({ log: { Bad: "caf\u00e9" } }), /Bad: not printable ASCII/);
    assert.throws(() => render({ log: { Bad: "a { b" } }), /Bad: "\{" outside a placeholder/);
    assert.throws(() => render({ configuration: { Bad: "must be a list" } }), /Bad: a configuration problem starts/);
    assert.throws(() => render({ json: { A: "x" }, log: { A: "y" } }), /an id is used twice/);
  });

  it("every problem line of a bad configuration is exactly one template", () => {
    const problems = [...Object.values(catalog.configuration), ...Object.values(catalog.json)].map(
      (t) => new RegExp(`^${pattern(t)}$`),
    );
    const reasons = Object.values(catalog.json).map((t) => new RegExp(`^${pattern(t)}$`));
    for (const line of fixtureLines) {
      const invalidJson = /^configuration: invalid JSON at byte \d+: (.*)$/.exec(line);
      const matches = invalidJson
        ? reasons.filter((r) => r.test(invalidJson[1]))
        : problems.filter((r) => r.test(line));
      assert.equal(matches.length, 1, `${line}: matches ${matches.join(" and ") || "no template"}`);
    }
  });

  it("every template is pinned by a test as the user sees it", () => {
    const sources = testSources();
    const unpinned = templates(catalog)
      .filter(([, text]) => {
        const whole = new RegExp(`^${pattern(text)}$`);
        const reason = new RegExp(`^configuration: invalid JSON at byte \\d+: ${pattern(text)}$`);
        return !fixtureLines.some((l) => whole.test(l) || reason.test(l)) && !new RegExp(pattern(text)).test(sources);
      })
      .map(([id]) => id);
    assert.deepEqual(unpinned, []);
  });
});
