// The multi-hop example (examples/baggage-chain/): front -> helloworld, each routed by its own real Envoy with the
// filter in metadata mode, configurations rendered by the CLI from the example's ASM YAML. One `baggage: stage=dev`
// sent at the edge reaches the dev pod at both hops, because front forwards the baggage header as an OpenTelemetry
// SDK would; without baggage both hops take prod, the mappings' default. On every pinned Envoy version. And the
// command README.md and the example's README show, `node examples/baggage-chain/run.mjs`, runs as written.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { chainPods, startChain } from "../../examples/baggage-chain/chain.mjs";
import { forEachEnvoy, forNewestEnvoy } from "./envoys.mjs";
import { run, shBlock } from "./readme-commands.mjs";

/** The pods each hop reached: [front pod, helloworld pod]. */
const podsOf = ({ hops }) => hops.map((h) => h.pod);

forEachEnvoy("baggage chain: a lane set once at the edge steers both hops", (envoy) => {
  let chain;
  before(async () => {
    chain = await startChain(envoy.bin);
  });
  after(() => chain?.close());

  test("both Envoys run configurations the CLI rendered from examples/baggage-chain/*.yaml", () => {
    assert.deepEqual(
      chain.envoys.map((e) => [e.name, e.routesTo]),
      [
        ["edge Envoy", "front"],
        ["front's sidecar", "helloworld"],
      ],
    );
    for (const e of chain.envoys)
      assert.match(
        e.command,
        new RegExp(`^dynamic-subset render --target envoy .*-f examples/baggage-chain/${e.routesTo}\\.yaml `),
      );
  });

  test("baggage: stage=dev reaches front-dev, and front's forwarded copy reaches helloworld-dev (every time)", async () => {
    for (let i = 0; i < 10; i++) {
      const got = await chain.request({ baggage: "stage=dev" });
      assert.deepEqual(podsOf(got), ["front-dev", "helloworld-dev"]);
      assert.deepEqual(
        got.hops.map((h) => h.decision),
        ["subset:stage=dev", "subset:stage=dev"],
      );
      assert.equal(got.forwarded, "stage=dev");
    }
  });

  test("without baggage both hops take prod, the default of the mappings", async () => {
    for (let i = 0; i < 10; i++) {
      const got = await chain.request();
      assert.deepEqual(podsOf(got), ["front-prod", "helloworld-prod"]);
      assert.deepEqual(
        got.hops.map((h) => h.decision),
        ["subset:stage=prod", "subset:stage=prod"],
      );
      assert.equal(got.forwarded, null);
    }
  });

  test("other members and properties beside stage: dev at both hops, the header forwarded unchanged", async () => {
    const baggage = "userId=alice,stage=dev;ttl=60,tenant=acme";
    const got = await chain.request({ baggage });
    assert.deepEqual(podsOf(got), ["front-dev", "helloworld-dev"]);
    assert.equal(got.forwarded, baggage);
  });

  test("a lane without pods (stage=qa) falls back to prod at both hops, the DestinationRules' defaultSubset", async () => {
    const got = await chain.request({ baggage: "stage=qa" });
    assert.deepEqual(podsOf(got), ["front-prod", "helloworld-prod"]);
    assert.deepEqual(
      got.hops.map((h) => h.decision),
      ["subset:stage=qa", "subset:stage=qa"],
    );
  });

  test("a header is not a source here: x-stage: dev is neither read nor forwarded, so both hops take prod", async () => {
    const got = await chain.request({ "x-stage": "dev" });
    assert.deepEqual(podsOf(got), ["front-prod", "helloworld-prod"]);
  });
});

forNewestEnvoy("node examples/baggage-chain/run.mjs, as README.md and the example's README show it", () => {
  test("prints each hop's decision and pod for every request, all as asked, and exits 0", () => {
    const [fromReadme] = shBlock("README.md", "**Key sources.**").filter((c) => c.startsWith("node "));
    const [fromExample] = shBlock("examples/baggage-chain/README.md", "## Run it");
    const command = "node examples/baggage-chain/run.mjs";
    assert.equal(fromReadme.replace(/\s+#.*$/, ""), command);
    assert.equal(fromExample.replace(/\s+#.*$/, ""), command);
    const out = run(fromReadme);
    const reached = out.filter((l) => l.startsWith("hop ")).map((l) => /-> (\S+) \(/.exec(l)[1]);
    const dev = ["front-dev", "helloworld-dev"];
    const prod = ["front-prod", "helloworld-prod"];
    assert.deepEqual(reached, [...dev, ...prod, ...dev, ...prod], out.join("\n"));
    assert.ok(!out.some((l) => l.includes("UNEXPECTED")), out.join("\n"));
    const ips = chainPods().map((p) => p.ip);
    for (const l of out.filter((x) => x.startsWith("hop "))) assert.ok(ips.includes(/\((\S+)\)/.exec(l)[1]), l);
  });
});
