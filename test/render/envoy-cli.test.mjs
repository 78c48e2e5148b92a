// The CLI (dist/cli/main.js, package.json "bin": dynamic-subset): usage, exit codes, errors on stderr that name
// the document, path and problem, and the envoy target's output forms.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = path.join(ROOT, "dist/cli/main.js");
const SEED = path.join(ROOT, "examples/helloworld");

function cli(...args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withTemp(fn) {
  const dir = mkdtempSync(path.join(tmpdir(), "ds-cli-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the built CLI is executable as `dynamic-subset` (shebang) and --help prints the usage", () => {
  assert.match(readFileSync(CLI, "utf8"), /^#!\/usr\/bin\/env node\n/);
  const r = cli("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: dynamic-subset render --target envoy\|istio -f FILE\.yaml/);
});

test("usage errors exit 2 with one clear line", () => {
  const cases = [
    [["render", "-f", "x.yaml"], "--target envoy|istio is required"],
    [["render", "--target", "nginx", "-f", "x.yaml"], 'unknown target "nginx" (expected envoy or istio)'],
    [["deploy"], 'unknown command "deploy" (expected: render)'],
    [
      ["render", "--target", "envoy", "-f", `${SEED}/step2-dr.yaml`],
      "--endpoints FILE is required for --output bootstrap",
    ],
    [
      ["render", "--target", "envoy", "--output", "json", "-f", "x"],
      "--output for target envoy: bootstrap, parts or plugin-config (got json)",
    ],
    [["render", "--target", "envoy", "--port", "http", "-f", "x"], "--port: not a port number: http"],
    [
      ["render", "--target", "envoy", "--bogus", "1", "-f", `${SEED}/step2-dr.yaml`],
      "unknown option --bogus for target envoy",
    ],
    [["render", "--target", "istio", "--endpoints", "e.yaml", "-f", "x"], "--endpoints is an option of target envoy"],
    [["render", "--target", "envoy", "-f"], "-f needs a value"],
    [
      ["render", "--target", "envoy", "--header-prefix", "X-Mine-", "-f", "x"],
      "--header-prefix: not a lower-case header-name token: X-Mine-",
    ],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.split("\n")[0], `dynamic-subset: ${message}`);
  }
});

test("bad input exits 1 and prints every problem as `error: <file>#<doc> <path>: <problem>`", () => {
  withTemp((dir) => {
    const bad = path.join(dir, "dr.yaml");
    writeFileSync(
      bad,
      "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: hw}\nspec:\n  host: hw\n  trafficPolicy: {loadBalancer: {dynamicSubset: {subsetSelectors: [{keys: [stage], fallbackPolicy: NONE}], fallbackPolicy: DEFAULT_SUBSET}}}\n",
    );
    const r = cli("render", "--target", "envoy", "--output", "plugin-config", "-f", bad);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.deepEqual(r.stderr.trim().split("\n"), [
      `error: ${bad}#0 spec.trafficPolicy.loadBalancer.dynamicSubset.subsetSelectors[0].fallbackPolicy: must be one of NO_FALLBACK, ANY_ENDPOINT, DEFAULT_SUBSET`,
      `error: ${bad}#0 spec.trafficPolicy.loadBalancer.dynamicSubset.defaultSubset: is required when a fallbackPolicy is DEFAULT_SUBSET`,
    ]);
    const missing = cli("render", "--target", "envoy", "--output", "plugin-config", "-f", path.join(dir, "nope.yaml"));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^dynamic-subset: cannot read .*nope\.yaml: ENOENT/);
  });
});

test("--output plugin-config prints the JSON the wasm filter is configured with; warnings go to stderr", () => {
  withTemp((dir) => {
    const dr = path.join(dir, "dr.yaml");
    writeFileSync(
      dr,
      readFileSync(`${SEED}/step3-default-subset-dr.yaml`, "utf8").replace("version: v3", "version: 3"),
    );
    const r = cli("render", "--target", "envoy", "--output", "plugin-config", "-f", dr, "-f", `${SEED}/step2-vs.yaml`);
    assert.equal(r.code, 0, r.stderr);
    const plugin = JSON.parse(r.stdout);
    assert.deepEqual(plugin.services[0].dynamicSubset.defaultSubset, { stage: "prod", version: "3" });
    assert.match(
      r.stderr,
      /^warning: .*dr\.yaml#0 spec\.trafficPolicy\.loadBalancer\.dynamicSubset\.defaultSubset\.version: YAML number 3 read as the string "3"/m,
    );
  });
});

test("-o writes the bootstrap to a file; --output parts writes one YAML document per part", () => {
  withTemp((dir) => {
    const out = path.join(dir, "envoy.yaml");
    const args = [
      "render",
      "--target",
      "envoy",
      "-f",
      `${SEED}/step4-ip-dr-vs.yaml`,
      "--endpoints",
      `${SEED}/endpoints.yaml`,
    ];
    const r = cli(...args, "-o", out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    const text = readFileSync(out, "utf8");
    assert.ok(text.startsWith(`# Rendered by: dynamic-subset ${args.join(" ")}\n`), text.slice(0, 200));
    const parts = cli(...args, "--output", "parts");
    assert.equal(parts.code, 0, parts.stderr);
    assert.equal(parseAllDocuments(parts.stdout).length, 4);
  });
});
