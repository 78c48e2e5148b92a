// The command as users install it (README "Istio", Prerequisites): `npm pack`, the tarball installed into a
// temporary prefix with `npm install -g --prefix`, and `dynamic-subset` run through the installed bin, which is a
// symlink into the package (the way npm link, npm install -g and npx start it). The package ships exactly what
// that bin needs, and every `dynamic-subset` command in README.md runs, in README order, through the installed
// bin: the README shows nothing the tests do not run.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";

const ROOT = new URL("../../", import.meta.url).pathname;
const SEED = path.join(ROOT, "examples/helloworld");
const { version } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
/** The npm installed with this node. Not the first npm on PATH: inside npm scripts that is node_modules/.bin/npm,
 * npm 6, which a dependency of @as-pect/cli bundles and which knows no --pack-destination. */
const NPM = path.join(path.dirname(process.execPath), "npm");

function npm(args, cwd) {
  return execFileSync(NPM, [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
}

let dir, prefix, bin, packed;

before(() => {
  assert.ok(Number(npm(["--version"], ROOT).split(".")[0]) >= 7, `${NPM} is npm 7 or later`);
  dir = mkdtempSync(path.join(tmpdir(), "ds-installed-"));
  prefix = path.join(dir, "prefix");
  const [pack] = JSON.parse(npm(["pack", "--json", "--pack-destination", dir], ROOT));
  packed = pack.files.map((f) => f.path).sort();
  npm(["install", "-g", "--prefix", prefix, "--prefer-offline", path.join(dir, pack.filename)], dir);
  bin = path.join(prefix, "bin", "dynamic-subset");
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the installed command from a directory that is not the repository. */
function installed(args, cwd = dir) {
  const r = spawnSync(bin, args, { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The files dist/cli/main.js loads: its relative imports, transitively, and the files read via import.meta.url. */
function closure(root, entry) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    if (!file.endsWith(".js")) return;
    const text = readFileSync(path.join(root, file), "utf8");
    const refs = [
      ...[...text.matchAll(/\bfrom "(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]),
      ...[...text.matchAll(/new URL\("(\.{1,2}\/[^"]+)", import\.meta\.url\)/g)].map((m) => m[1]),
    ];
    for (const ref of refs) visit(path.normalize(path.join(path.dirname(file), ref)));
  };
  visit(entry);
  return seen;
}

test("the package ships exactly what the bin needs: its modules, the plugin schema, package.json, README, LICENSE", () => {
  const installedRoot = path.join(prefix, "lib", "node_modules", "dynamic-subset");
  // npm pack always adds LICENSE; the Apache License 2.0 asks that it travel with the code
  const needed = [...closure(installedRoot, "dist/cli/main.js"), "README.md", "LICENSE"].sort();
  assert.deepEqual(packed, needed);
  assert.ok(lstatSync(bin).isSymbolicLink(), "npm installs the bin as a symlink into the package");
});

test("installed: --help and --version print and exit 0", () => {
  const help = installed(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: dynamic-subset render --target envoy\|istio/);
  assert.match(help.stdout, /Exit codes:\n {2}0 {2}rendered\n {2}1 {2}input refused/);
  const v = installed(["--version"]);
  assert.deepEqual([v.code, v.stdout], [0, `dynamic-subset ${version}\n`]);
});

test("installed: a render writes the same output as node dist/cli/main.js", () => {
  const args = [
    "render",
    "--target",
    "envoy",
    "-f",
    `${SEED}/step3-default-subset-dr.yaml`,
    "-f",
    `${SEED}/step2-vs.yaml`,
    "--endpoints",
    `${SEED}/endpoints-local.yaml`,
  ];
  const r = installed([...args, "-o", "out.yaml"]);
  assert.equal(r.code, 0, r.stderr);
  const direct = spawnSync(process.execPath, [path.join(ROOT, "dist/cli/main.js"), ...args], { encoding: "utf8" });
  assert.equal(readFileSync(path.join(dir, "out.yaml"), "utf8"), direct.stdout);
  assert.match(direct.stdout, /^# Rendered by: dynamic-subset render --target envoy/);
});

test("installed: failing renders exit 1 (input) or 2 (usage) with one clear message and write nothing", () => {
  const missing = installed([
    "render",
    "--target",
    "envoy",
    "--output",
    "plugin-config",
    "-f",
    "nope.yaml",
    "-o",
    "x.yaml",
  ]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "dynamic-subset: cannot read nope.yaml: ENOENT (no such file or directory)\n");
  assert.equal(existsSync(path.join(dir, "x.yaml")), false);
  const refused = installed([
    "render",
    "--target",
    "istio",
    "-f",
    `${SEED}/step2-vs.yaml`,
    "--pods",
    `${SEED}/pods.json`,
  ]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^dynamic-subset: --wasm-url URL is required/);
  const bad = installed([
    "render",
    "--target",
    "istio",
    "--output",
    "plugin-config",
    "-f",
    `${SEED}/step2-vs.yaml`,
    "--pods",
    `${SEED}/pods.json`,
  ]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "");
  assert.equal(bad.stderr, "error: no DestinationRule with trafficPolicy.loadBalancer.dynamicSubset in the input\n");
});

/** The shell commands of README.md's ```sh blocks, backslash continuations joined, in order. */
function readmeCommands() {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((b) => b.replace(/\\\n\s*/g, "").split("\n")).filter((l) => l.trim() !== "");
}

test("README: the install lines are the ones this test runs, and every dynamic-subset command runs as shown", () => {
  const lines = readmeCommands();
  const tarball = `dynamic-subset-${version}.tgz`;
  assert.ok(
    lines.some((l) => l.includes(`npm install -g ./${tarball}`)),
    `README installs ./${tarball}`,
  );
  const commands = lines.filter((l) => /(^|; )dynamic-subset /.test(l)).map((l) => l.replace(/\s+#.*$/, ""));
  assert.ok(commands.length >= 6, commands.join("\n"));
  // the README's paths are relative to a checkout: give them one, and somewhere to write
  const work = path.join(dir, "readme");
  mkdirSync(work);
  for (const d of ["examples", "istio"]) symlinkSync(path.join(ROOT, d), path.join(work, d));
  const env = { ...process.env, PATH: `${path.join(prefix, "bin")}:${process.env.PATH}` };
  for (const command of commands) {
    const r = spawnSync("bash", ["-c", command], { cwd: work, encoding: "utf8", env });
    assert.equal(r.status, 0, `${command}\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /^error:|internal error|\n\s+at /m, command);
  }
});
