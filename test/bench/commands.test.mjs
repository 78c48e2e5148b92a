// The benchmark commands README and BENCHMARKS.md show, run as a user runs them, in their short forms: each must
// finish, cover every scenario, and find the filter and the C reference making the same host calls and the same
// decision (the benchmarks fail on a difference). Figures are not judged here, only recorded by the full runs,
// except the guest-instruction ratio, which load cannot move (BENCHMARKS.md "Guest instructions").
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { test } from "node:test";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SCENARIOS } from "../../bench/scenarios.mjs";

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
