// One command line for both targets (src/cli): node:util parseArgs, one exit-code convention stated in --help
// (0 rendered, 1 input refused, 2 usage error, 3 internal error), output written atomically, clear one-line
// messages for files that cannot be read or written.

import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { cli, istioArgs, PODS, SEED, seedText, WASM_URL, withTemp } from "./helpers.mjs";

const DR = path.join(SEED, "step2-dr.yaml");
const VS = path.join(SEED, "step2-vs.yaml");
const ENDPOINTS = path.join(SEED, "endpoints.yaml");
const envoyArgs = ["render", "--target", "envoy", "-f", DR, "-f", VS, "--endpoints", ENDPOINTS];

test("--help states the exit codes; -h, no arguments and render --help print it too", () => {
  const help = cli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /Exit codes:\n {2}0 {2}rendered\n {2}1 {2}input refused: every problem printed as "error: FILE#DOCUMENT PATH: PROBLEM", nothing written\n {2}2 {2}usage error .*\n {2}3 {2}internal error/,
  );
  for (const args of [["-h"], [], ["render", "--target", "istio", "--help"]])
    assert.equal(cli(args).stdout, help.stdout);
});

test("the same mistake exits the same way in both targets: 2 for the command line, 1 for the input", () => {
  const targets = {
    envoy: envoyArgs,
    istio: [...istioArgs(DR, VS)],
  };
  for (const [target, args] of Object.entries(targets)) {
    const usage = [
      [[...args, "--frobnicate"], `unknown option --frobnicate for target ${target}`],
      [[...args, "--output", "html"], `--output for target ${target}: `],
      [[...args, "--response-header=yes"].filter(() => target === "envoy"), "--response-header takes no value"],
      [[...args, "extra"], 'unexpected argument "extra"'],
      [[...args, "--allow", "everything"], '--allow: unknown refusal "everything" (known: unused-key, no-subsets)'],
      [
        [...args, target === "envoy" ? "--pods" : "--endpoints", "x"],
        `is an option of target ${target === "envoy" ? "istio" : "envoy"}`,
      ],
    ].filter(([a]) => a.length > 0);
    for (const [a, message] of usage) {
      const r = cli(a);
      assert.equal(r.code, 2, `${target}: ${a.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith("dynamic-subset: ") && r.stderr.includes(message), `${target}: ${r.stderr}`);
      assert.match(r.stderr, /\nRun `dynamic-subset --help` for usage\.\n$/);
      assert.equal(r.stdout, "");
    }
    withTemp((dir, write) => {
      const bad = write("dr.yaml", seedText("step2-dr.yaml").replace("- stage", "- stage\n          - stage"));
      const r = cli(args.map((x) => (x === DR ? bad : x)));
      assert.equal(r.code, 1, `${target}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /^error: .*dr\.yaml#0 spec\.trafficPolicy\.loadBalancer\.dynamicSubset\.subsetSelectors\[0\]\.keys: must be a non-empty list of distinct strings$/m,
      );
    });
  }
});

test("--out=FILE, -fFILE and -f - (stdin) are read as parseArgs reads them", () => {
  withTemp((dir) => {
    const out = path.join(dir, "out.json");
    const r = cli(["render", "--target=envoy", "--output=plugin-config", `-f${DR}`, "-f", "-", `--out=${out}`], {
      stdin: seedText("step2-vs.yaml"),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(out, "utf8")).services[0].routes[0].name, "default");
    const twice = cli(["render", "--target", "envoy", "--output", "plugin-config", "-f", "-", "-f", "-"], {
      stdin: "",
    });
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /stdin can be read only once/);
  });
});

test("-o replaces the file atomically; a refused render leaves it as it was; no temporary file stays behind", () => {
  withTemp((dir, write) => {
    const out = write("envoy.yaml", "old\n");
    chmodSync(out, 0o640);
    const ok = cli([...envoyArgs, "-o", out]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(readFileSync(out, "utf8"), /^# Rendered by: dynamic-subset render --target envoy/);
    writeFileSync(out, "old\n");
    const bad = write(
      "dr.yaml",
      "kind: DestinationRule\napiVersion: networking.istio.io/v1\nmetadata: {name: x}\nspec: {}\n",
    );
    const refused = cli(["render", "--target", "envoy", "-f", bad, "--endpoints", ENDPOINTS, "-o", out]);
    assert.equal(refused.code, 1);
    assert.equal(readFileSync(out, "utf8"), "old\n");
    assert.deepEqual(readdirSync(dir).sort(), ["dr.yaml", "envoy.yaml"]);
  });
});

test("output paths that cannot be written: a missing directory, a directory, a file as directory; one line, exit 1", () => {
  withTemp((dir, write) => {
    const file = write("file.txt", "x");
    mkdirSync(path.join(dir, "sub"));
    const cases = [
      [
        path.join(dir, "missing", "out.yaml"),
        `the directory ${path.join(dir, "missing")} does not exist (create it first)`,
      ],
      [path.join(dir, "sub"), `${path.join(dir, "sub")} is a directory`],
      [path.join(file, "out.yaml"), `${file} is not a directory`],
    ];
    for (const [out, why] of cases) {
      const r = cli([...envoyArgs, "-o", out]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, `dynamic-subset: cannot write ${out}: ${why}\n`);
    }
    const unreadable = cli(["render", "--target", "istio", "-f", DR, "-f", VS, "--pods", dir, "--wasm-url", WASM_URL]);
    assert.equal(unreadable.code, 1);
    assert.equal(unreadable.stderr, `dynamic-subset: cannot read ${dir}: EISDIR (is a directory)\n`);
  });
});

test("the envoy target's header names the command without -o; the istio target's without -o, --previous, --route-token", () => {
  withTemp((dir) => {
    const out = path.join(dir, "istio.yaml");
    const r = cli([...istioArgs(DR, VS), "--route-token", "0".repeat(32), "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      readFileSync(out, "utf8").includes(
        `# Re-render when pods change (fresh kubectl get pods -o json): dynamic-subset render --target istio -f ${DR} -f ${VS} --pods ${PODS} --service`,
      ),
    );
    const rerender = readFileSync(out, "utf8").split("\n")[1];
    assert.ok(!rerender.includes("--route-token") && !rerender.includes(`-o ${out}`), rerender);
  });
});
