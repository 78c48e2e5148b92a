// `npm run demo` (which builds, then runs scripts/demo.mjs): the walkthrough through the newest pinned Envoy, its
// header naming that Envoy; where no Envoy can be had, through the emulator, its header saying why.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { WALKTHROUGH } from "../../examples/helloworld/walkthrough.mjs";
import { PINNED_ENVOYS } from "../../scripts/envoy.mjs";
import { forNewestEnvoy } from "./envoys.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const demo = (env = {}) =>
  execFileSync(process.execPath, ["scripts/demo.mjs"], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "ignore"],
  });

function assertWholeWalkthrough(out) {
  for (const { title } of WALKTHROUGH) assert.ok(out.includes(`## ${title}`), `missing: ${title}`);
  assert.doesNotMatch(out, /UNEXPECTED/);
}

forNewestEnvoy("npm run demo", (envoy) => {
  test("runs the walkthrough through the newest pinned Envoy, and says so in its header", () => {
    assert.equal(envoy.version, PINNED_ENVOYS[0].version);
    const out = demo();
    assert.equal(
      out.split("\n")[0],
      `dynamic-subset: the seed's walkthrough through real Envoy ${envoy.version} with envoy/envoy.yaml; 127.0.0.x stands in for the pods' 192.168.0.x`,
    );
    assertWholeWalkthrough(out);
  });
});

test("npm run demo without an Envoy: the emulator, and the header says why", () => {
  const out = demo({ ENVOY_BIN: "/nonexistent/envoy" });
  assert.match(
    out.split("\n")[0],
    /through the proxy-wasm emulator \+ Envoy models, because no real Envoy could be had \(ENVOY_BIN=\/nonexistent\/envoy does not exist;/,
  );
  assertWholeWalkthrough(out);
});
