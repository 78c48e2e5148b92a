// package.json "engines" is true to what the package installs: no runtime dependency of the command (what
// `npm install -g` brings) needs a newer Node than declared, and the declared floor is the Node the tests run on
// (CI runs Node 20). Test-only packages may declare a higher floor only if they are the Kubernetes/Istio schema
// models (they declare Node 22 and run on 20); any other would need a decision, so it fails here (README
// "Supported versions").

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const ROOT = new URL("../../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8"));
const lock = JSON.parse(readFileSync(new URL("package-lock.json", ROOT), "utf8"));

/** [major, minor, patch] of "X", "X.Y", "X.Y.Z" ("*"/"x" parts count as 0). */
const version = (v) => [...v.split(".").map((n) => (/^\d+$/.test(n) ? Number(n) : 0)), 0, 0].slice(0, 3);
const compare = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
const highest = (vs) => vs.reduce((m, v) => (compare(v, m) > 0 ? v : m));

/**
 * The lowest Node version from which a range admits every later version, or undefined when no alternative is
 * open-ended ("^12.17.0", "8", "6 >=6.2.0"). The ranges in the lock file are "*", or alternatives joined by
 * "||" of space-separated comparators ">=X" (open) or "X", "^X", "~X" (bounded); any other form fails the test.
 */
function openFloor(range) {
  const floors = range.split("||").map((alt) => {
    const comparators = alt.trim().replace(/>=\s+/g, ">=").split(/\s+/).filter(Boolean);
    if (comparators.length === 0 || comparators.includes("*")) return [0, 0, 0];
    for (const c of comparators)
      assert.match(c, /^(?:>=|\^|~)?v?\d+(?:\.(?:\d+|\*|x)){0,2}$/, `engines range not understood: "${range}"`);
    if (!comparators.every((c) => c.startsWith(">="))) return undefined;
    return highest(comparators.map((c) => version(c.slice(2).replace(/^v/, ""))));
  });
  const open = floors.filter((f) => f !== undefined);
  return open.length > 0 ? open.reduce((m, v) => (compare(v, m) < 0 ? v : m)) : undefined;
}

const declared = version(/^>=(\d+(?:\.\d+){0,2})$/.exec(pkg.engines.node)?.[1] ?? "x");

function floors(filter) {
  return Object.entries(lock.packages)
    .filter(([where, p]) => where !== "" && filter(p) && typeof p.engines?.node === "string")
    .map(([where, p]) => ({ where, range: p.engines.node, floor: openFloor(p.engines.node) }));
}

// Runtime packages with their floors, and test-only packages whose declared floor is above engines.node.
const runtime = () => floors((p) => !p.dev);
const SCHEMA_MODELS = /(^|\/)node_modules\/(kubernetes-models|@kubernetes-models\/[^/]+)$/;

test(`engines.node ${pkg.engines.node} admits every runtime dependency, and is the Node the tests run on`, () => {
  assert.match(pkg.engines.node, /^>=\d+(?:\.\d+){0,2}$/);
  const floorsOfRuntime = runtime();
  assert.ok(floorsOfRuntime.length > 0);
  for (const f of floorsOfRuntime) {
    assert.ok(f.floor !== undefined, `${f.where}: ${f.range} is bounded`);
    assert.ok(compare(f.floor, declared) <= 0, `${f.where} needs Node ${f.range}`);
  }
  assert.ok(compare(version(process.versions.node), declared) >= 0, `these tests run on Node ${process.version}`);
  assert.deepEqual(Object.keys(pkg.dependencies).sort(), ["ajv", "yaml"]);
});

test("test-only packages that declare a newer Node than engines.node are only the schema models", () => {
  const all = floors((p) => p.dev);
  // bounded ranges only in npm@6's own tree, which @as-pect's install helper bundles and never runs here
  const closed = all.filter((f) => f.floor === undefined && !f.where.includes("/npm/node_modules/"));
  assert.deepEqual(closed, [], "bounded engines ranges");
  const newer = all.filter((f) => f.floor !== undefined && compare(f.floor, declared) > 0);
  assert.deepEqual(
    newer.filter((f) => !SCHEMA_MODELS.test(f.where)),
    [],
    "test-only packages that need a newer Node than engines.node (a decision: raise engines or replace them)",
  );
});
