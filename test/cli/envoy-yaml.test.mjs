// Real Envoy reads plain YAML scalars by YAML 1.1 rules: `yes`/`on` become booleans and `010` the integer 8 (so a
// route named yes is refused, and a label stage: on would be the boolean true in envoy.lb metadata, never equal to
// the header value "on"). The renderer quotes such strings (src/render/yaml.ts): Envoy accepts what it renders, and
// refuses the same file with the quotes taken away.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { forEachEnvoy } from "../real-envoy/envoys.mjs";
import { cli, envoyArgs, ROOT, SEED, seedText, withTemp } from "./helpers.mjs";

forEachEnvoy("Envoy reads the rendered YAML as written: ambiguous strings quoted", (envoy) => {
  test("rendered: accepted; the same file without the quotes: refused", () => {
    withTemp((dir, write) => {
      const vs = write("vs.yaml", seedText("step2-vs.yaml").replace("name: default", 'name: "yes"'));
      const eps = write(
        "eps.yaml",
        "- host: helloworld.default.svc.cluster.local\n  port: 8000\n  endpoints:\n  - {address: 127.0.0.5, labels: {stage: 'on', version: '010'}}\n",
      );
      const args = envoyArgs([path.join(SEED, "step2-dr.yaml"), vs], eps);
      const rendered = cli([
        ...args,
        "--wasm",
        path.join(ROOT, "build/dynamic_subset.wasm"),
        "-o",
        path.join(dir, "envoy.yaml"),
      ]);
      assert.equal(rendered.code, 0, rendered.stderr);
      const validate = (file) => spawnSync(envoy.bin, ["--mode", "validate", "-c", file], { encoding: "utf8" });
      const ok = validate(path.join(dir, "envoy.yaml"));
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      const text = cli(args).stdout;
      const unquoted = write("unquoted.yaml", text.replace('name: "yes"', "name: yes"));
      const refused = validate(unquoted);
      assert.notEqual(refused.status, 0);
      // protobuf spaces its messages at random, on purpose: match words, not spacing
      assert.match(refused.stdout + refused.stderr, /routes\[0\]\.name:\s+string/);
    });
  });
});
