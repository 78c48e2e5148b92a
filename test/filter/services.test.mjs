// Which services[] entry a request gets (docs/configuration.md, "Services and cluster matching"), through the
// compiled filter: the first entry in the list whose `cluster` or `host` matches, and a configuration in which a
// later entry could never match (the same cluster, or the same host, twice) is refused whole.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decisionOf, internalHeaders, PREFIX, send, startFilter } from "./fixtures.mjs";

const HOST = "helloworld.default.svc.cluster.local";
const ISTIO_CLUSTER = `outbound|8000||${HOST}`;
const DEV_V1 = [
  ["x-stage", "dev"],
  ["x-version", "v1"],
];

/** An entry matching by `match` ({cluster} or {host}) that selects on `key` alone. */
function entry(match, key) {
  return {
    ...match,
    dynamicSubset: { subsetSelectors: [{ keys: [key] }] },
    routes: [{ headerToDynamicSubsetKey: [{ header: `x-${key}`, key }] }],
  };
}

const byCluster = entry({ cluster: ISTIO_CLUSTER }, "stage");
const byHost = entry({ host: HOST }, "version");

describe("services[]: the first matching entry wins", () => {
  it("a cluster entry before a host entry that match the same request: the cluster entry decides", async () => {
    const host = await startFilter({ services: [byCluster, byHost] });
    const s = send(host, { cluster: ISTIO_CLUSTER, headers: DEV_V1 });
    assert.equal(decisionOf(s), "subset:stage=dev");
    assert.deepEqual(internalHeaders(s), [[`${PREFIX}stage`, "dev"]]);
  });

  it("the same two entries the other way round: the host entry decides", async () => {
    const host = await startFilter({ services: [byHost, byCluster] });
    const s = send(host, { cluster: ISTIO_CLUSTER, headers: DEV_V1 });
    assert.equal(decisionOf(s), "subset:version=v1");
    assert.deepEqual(internalHeaders(s), [[`${PREFIX}version`, "v1"]]);
  });

  it("each entry still gets the requests only it matches", async () => {
    const host = await startFilter({ services: [byHost, entry({ cluster: "helloworld" }, "stage")] });
    assert.equal(decisionOf(send(host, { cluster: "helloworld", headers: DEV_V1 })), "subset:stage=dev");
    assert.equal(decisionOf(send(host, { cluster: "outbound|9090||" + HOST, headers: DEV_V1 })), "subset:version=v1");
  });
});

describe("services[]: an entry that could never match is refused", () => {
  for (const [what, first, second, line] of [
    [
      "cluster",
      entry({ cluster: "helloworld" }, "stage"),
      entry({ cluster: "helloworld" }, "version"),
      'services[1].cluster: duplicate cluster "helloworld" (also in services[0]); this entry could never match',
    ],
    [
      "host",
      byHost,
      entry({ host: HOST }, "stage"),
      `services[1].host: duplicate host "${HOST}" (also in services[0]); this entry could never match`,
    ],
  ]) {
    it(`the same ${what} twice: the configuration is rejected and the one in force stays`, async () => {
      const host = await startFilter({ services: [first] });
      const before = decisionOf(send(host, { cluster: first.cluster ?? ISTIO_CLUSTER, headers: DEV_V1 }));
      assert.match(before, /^subset:/);
      assert.equal(host.configure(JSON.stringify({ services: [first, second] })), false);
      assert.deepEqual(host.logsAt("error"), [line]);
      assert.equal(decisionOf(send(host, { cluster: first.cluster ?? ISTIO_CLUSTER, headers: DEV_V1 })), before);
      assert.equal(host.failed, false);
    });
  }
});
