// The benchmark commands README and BENCHMARKS.md show, run as a user runs them, in their short forms: each must
// finish, cover every scenario, and find the filter and the C reference making the same host calls and the same
// decision (the benchmarks fail on a difference). Figures are not judged here, only recorded by the full runs,
// except the guest-instruction ratio, which load cannot move (BENCHMARKS.md "Guest instructions").
// `npm run bench:envoy -- --verify` starts every configuration of the Envoy benchmark in real Envoy and checks that
// they route alike, the check a full run makes before timing: no time is judged, so it runs here.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { test } from "node:test";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { allConfigs } from "../../bench/envoy/all-configs.mjs";
import { PODS, TARGET, podListener } from "../../bench/envoy/configs.mjs";
import { buildAll } from "../../bench/envoy/modules.mjs";
import { CATALOG_REQUESTS, SEED_REQUESTS } from "../../bench/envoy/verify.mjs";
import { SCENARIOS } from "../../bench/scenarios.mjs";
import { forAllEnvoys } from "../real-envoy/envoys.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function npmRun(args) {
  const result = spawnSync("npm", ["run", "-s", ...args], { cwd: ROOT, encoding: "utf8" });
  assert.equal(result.status, 0, `npm run ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The rows of the first markdown table whose header starts with `firstColumn`, as arrays of cells. */
function tableRows(output, firstColumn) {
  const lines = output.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`| ${firstColumn} |`));
  assert.ok(start >= 0, `no table starting with "${firstColumn}" in:\n${output}`);
  const rows = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith("|"); i++) {
    rows.push(
      lines[i]
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

test("npm run bench -- --quick: every scenario, the filter's calls and decisions equal the C reference's, size bar met", () => {
  const output = npmRun(["bench", "--", "--quick"]);
  assert.doesNotMatch(output, /WARNING/);
  const ratios = tableRows(output, "scenario | filter ÷ C (emulator)");
  assert.deepEqual(
    ratios.map((row) => row[0]),
    SCENARIOS.map((s) => s.name),
  );
  for (const row of ratios) assert.match(row.at(-1), /^`(none|subset:.+)`$/, `${row[0]}: no decision`);
  const modules = tableRows(output, "scenario | module");
  for (const scenario of SCENARIOS) {
    const rows = modules.slice(modules.findIndex((row) => row[0] === `**${scenario.name}**`)).slice(0, 3);
    const calls = Object.fromEntries(rows.map((row) => [row[1], Number(row[8])]));
    assert.ok(calls.filter > 0, `${scenario.name}: host calls ${JSON.stringify(calls)}`);
    assert.equal(calls.filter, calls.C, `${scenario.name}: host calls`);
    assert.equal(calls.noop, 0);
  }
  const [filter] = tableRows(output, "module | raw bytes");
  assert.equal(filter[0], "filter");
  assert.match(filter[3], /: met$/, `module size: ${filter.join(" | ")}`);
});

test("npm run bench:render: 10,000 pods rendered, exit 0", () => {
  const output = npmRun(["bench:render"]);
  assert.match(
    output,
    /^10000 pods \(.* MiB of kubectl JSON\) -> .* MiB of YAML; exit 0 in [\d.]+ s, max RSS \d+ MiB$/m,
  );
});

function hasValgrind() {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

test(
  "npm run bench:guest -- --scenario \"seed: two keys\": the filter's own instructions within 1.25× the C reference's",
  { skip: hasValgrind() ? false : "skipped: no valgrind on this machine (Debian package valgrind)" },
  () => {
    const output = npmRun(["bench:guest", "--", "--scenario", "seed: two keys", "--streams", "1000"]);
    assert.doesNotMatch(output, /WARNING/);
    const [row] = tableRows(output, "scenario | host calls");
    assert.equal(row[0], "seed: two keys");
    assert.equal(row[1], "12");
    const ratio = Number(row[8]);
    assert.ok(ratio > 0.5 && ratio <= 1.25, `guest instructions, filter ÷ C = ${row[8]}`);
  },
);

/** The table starting with `firstColumn` has exactly `expected`'s keys as rows, in order, and their cells after it. */
function assertTable(output, firstColumn, expected) {
  const rows = tableRows(output, firstColumn);
  assert.deepEqual(
    rows.map((row) => row[0]),
    [...expected.keys()],
    firstColumn,
  );
  for (const [name, ...cells] of rows) assert.deepEqual(cells, expected.get(name), name);
}

/** The pods of seed step 2 with these labels, as the verification prints them (sorted, joined). */
const podsLabelled = (stage, version) =>
  PODS.filter((p) => p.labels.stage === stage && p.labels.version === version)
    .map((p) => p.address)
    .sort()
    .join(", ");

// The pods of the subset the seed's step 3 chooses (examples/helloworld: x-stage defaults to prod, x-version to v3;
// a missing subset falls back to prod/v3; internal headers the client sends are replaced, docs/behaviour.md
// "Security").
const SEED_STEP3_PODS = {
  "dev/v1": podsLabelled("dev", "v1"),
  "prod/v1 (no such pods: default subset)": podsLabelled("prod", "v3"),
  "no headers (defaults prod/v3)": podsLabelled("prod", "v3"),
  "x-stage: dev (version default v3)": podsLabelled("dev", "v3"),
  "prod/v2 with spoofed internal headers for dev/v1": podsLabelled("prod", "v2"),
};

// BENCHMARKS.md "Route cache: what Envoy does, what it costs, how to avoid it": removing a request header from Wasm,
// even an absent one, makes Envoy match the routes again; reading one or writing filter state does not; the filter
// does on every request.
const ROUTE_CACHE_FACTS = {
  "set_property only": "kept (default)",
  "remove an absent header": "**matched again**",
  "read an absent header": "kept (default)",
  "remove a present header (client sent it)": "**matched again**",
  "the filter (seed, dev/v1)": "**matched again**",
};

forAllEnvoys("npm run bench:envoy -- --verify", (envoys) => {
  test("every configuration of the benchmark starts and reaches the target pod; the seed's requests and client subset headers route alike; the route-cache facts hold", async () => {
    const output = npmRun(["bench:envoy", "--", "--verify"]);
    assert.match(output, new RegExp(`^Envoy ${envoys[0].version.replaceAll(".", "\\.")}, --verify: `, "m"));

    // the configurations as the benchmark builds them (ports are not part of a label)
    const ports = Object.fromEntries(PODS.map((p) => [podListener(p.address), 1]));
    const modules = buildAll(() => {}); // nothing to build: the run has built them
    const { configs } = await allConfigs(ports, modules);
    assertTable(output, "configuration", new Map(configs.map((c) => [c.label, [TARGET]])));
    assertTable(output, "seed step 3 request", new Map(SEED_REQUESTS.map((q) => [q.what, [SEED_STEP3_PODS[q.what]]])));
    // the filter decides the subset from x-stage/x-version (dev/v1), whatever subset header the client sends
    assertTable(
      output,
      "request with a client subset header",
      new Map(CATALOG_REQUESTS.map((q) => [q.what, [TARGET]])),
    );
    assertTable(
      output,
      "what the module did in on_request_headers",
      new Map(Object.entries(ROUTE_CACHE_FACTS).map(([what, fact]) => [what, envoys.map(() => fact)])),
    );
  });
});
