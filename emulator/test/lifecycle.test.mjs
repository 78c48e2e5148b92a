// The emulator against the ABI facts of docs/abi.md: plugin and stream lifecycle, header
// maps, properties, local replies, foreign functions, metrics, traps, shutdown, bookkeeping.
// Driven through fixtures/probe.ts, which logs every host answer.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProxyWasmHost } from "../index.mjs";
import { compileFixture } from "./fixtures/build.mjs";
import { answer, callbacks, said, startProbe } from "./fixtures/probe-host.mjs";

let probe;
before(async () => {
  probe = await compileFixture("probe.ts");
});

const HEADERS = [
  ["x-stage", "dev"],
  ["x-version", "v1"],
];

describe("plugin start and configuration buffers", () => {
  it("creates the root context (id 1) before on_vm_start and on_configure", async () => {
    const host = await startProbe(probe, {}, { vmConfig: "vm" });
    assert.deepEqual(callbacks(host), ["create 1 0", "vm_start 1 2", "configure 1 0"]);
  });

  it("serves the plugin configuration (type 7) only while configuring, the VM configuration (type 6) always", async () => {
    const config = { configure: "log 2 configured", request_headers: "buf 7; buf 6" };
    const vmConfig = "vm_start: log 2 from-vm-config";
    const host = await startProbe(probe, config, { vmConfig });
    const lines = said(host);
    // cpp-host sets temp_plugin_ around the root's on_context_create and on_configure only.
    assert.ok(lines.includes("create 1 0 plugin_config_status=0"));
    assert.ok(lines.includes("plugin_config in vm_start status=1"), "NotFound in on_vm_start");
    assert.ok(lines.includes("from-vm-config"), "VM configuration readable in on_vm_start");
    assert.ok(lines.includes("configured"), "plugin configuration read and run in on_configure");
    host.newStream().requestHeaders(HEADERS);
    assert.equal(answer(host, "buf 7"), "1", "NotFound inside a stream");
    assert.equal(answer(host, "buf 6"), `0 ptr=nz len=${vmConfig.length} val=vm_start:%20log%202%20from-vm-config`);
  });

  it("passes an empty configuration as size 0 and answers a zero-length read without touching the out-params", async () => {
    const host = await startProbe(probe);
    assert.ok(said(host).includes("configure 1 0"));
    assert.ok(said(host).includes("plugin_config status=0 untouched"));
  });

  it("does not start when on_vm_start returns false or on_configure traps", async () => {
    const refused = await ProxyWasmHost.load(probe, { vmConfig: "vm_start: return 0" });
    assert.equal(refused.start(), false);
    assert.equal(refused.startError, "Failed to start thread-local Wasm");
    assert.deepEqual(callbacks(refused), ["create 1 0", "vm_start 1 18"], "no on_configure after a failed start");
    const trapped = await ProxyWasmHost.load(probe, { pluginConfig: "configure: trap" });
    assert.equal(trapped.start(), false);
    assert.equal(trapped.startError, "Failed to configure thread-local Wasm plugin");
    assert.equal(trapped.failure, "Function: proxy_on_configure failed: Uncaught RuntimeError: unreachable");
  });

  it("returns on_configure's result and reconfigures the live root", async () => {
    const configs = ["configure: log 2 first", "configure: return 0", "configure: log 2 second"];
    const host = await startProbe(probe, {}, { pluginConfig: configs[0] });
    assert.equal(host.configure(configs[1]), false);
    assert.equal(host.configure(configs[2]), true);
    assert.deepEqual(
      callbacks(host).filter((c) => c.startsWith("configure")),
      configs.map((c) => `configure 1 ${c.length}`),
    );
    assert.ok(said(host).includes("second"));
  });
});

describe("several plugin configurations on one VM (addRoot)", () => {
  it("gives each its own root context, configuration, plugin_root_id and streams; shutdown reaches every root", async () => {
    const host = await startProbe(probe, { request_headers: "prop plugin_root_id" }, { rootId: "one" });
    const second = host.addRoot("request_headers: prop plugin_root_id", { rootId: "two" });
    assert.equal(second.id, 2);
    host.newStream().requestHeaders(HEADERS);
    assert.equal(answer(host, "prop plugin_root_id"), "0 ptr=nz len=3 val=one");
    second.newStream().requestHeaders(HEADERS);
    assert.equal(answer(host, "prop plugin_root_id"), "0 ptr=nz len=3 val=two");
    assert.deepEqual(
      callbacks(host).filter((c) => c.startsWith("create")),
      ["create 1 0", "create 2 0", "create 3 1", "create 4 2"],
    );
    assert.equal(second.configure("configure: return 0"), false);
    assert.equal(host.addRoot("configure: return 0"), null);
    host.shutdown();
    assert.deepEqual(callbacks(host).slice(-6), ["done 1", "delete 1", "done 2", "delete 2", "done 5", "delete 5"]);
  });
});

describe("HTTP stream", () => {
  it("runs the callbacks in Envoy's HTTP order, creating the context lazily, log before done/delete", async () => {
    const host = await startProbe(probe);
    const s = host.newStream();
    assert.deepEqual(callbacks(host).slice(3), [], "nothing reaches the module before request headers");
    assert.equal(s.requestHeaders(HEADERS, { endOfStream: false }), 0);
    assert.equal(s.responseHeaders([[":status", "200"]]), 0);
    s.complete();
    host.newStream().complete();
    assert.deepEqual(callbacks(host).slice(3), [
      "create 2 1",
      "request_headers 2 2 0",
      "response_headers 2 1 1",
      "log 2",
      "done 2",
      "delete 2",
      "create 3 1",
      "log 3",
      "done 3",
      "delete 3",
    ]);
  });

  it("skips on_response_headers for a stream whose context was never created", async () => {
    const host = await startProbe(probe);
    const s = host.newStream();
    assert.equal(s.responseHeaders([[":status", "200"]]), 0);
    assert.deepEqual(callbacks(host).slice(3), []);
  });

  it("serves a header map only inside its own callback; in on_log read-only copies", async () => {
    const host = await startProbe(probe, {
      configure: "get 0 x-stage; pairs 0",
      response_headers: "get 0 x-stage; get 2 :status",
      log: "get 0 x-stage; add 0 x-late 1; get 2 :status; remove 2 :status",
      done: "get 0 x-stage",
    });
    assert.equal(answer(host, "get 0 x-stage"), "2", "BadArgument in on_configure");
    assert.equal(answer(host, "pairs 0"), "0 ptr=0 len=0 ", "pairs of an unavailable map read as empty");
    const s = host.newStream();
    s.requestHeaders(HEADERS);
    s.responseHeaders([[":status", "200"]]);
    const inResponse = said(host)
      .filter((m) => m.startsWith("get "))
      .slice(-2);
    assert.deepEqual(inResponse, ["get 0 x-stage -> 2", "get 2 :status -> 0 ptr=nz len=3 val=200"]);
    s.complete();
    const lines = said(host);
    const logAt = lines.indexOf("log 2");
    assert.deepEqual(lines.slice(logAt + 1, logAt + 5), [
      "get 0 x-stage -> 0 ptr=nz len=3 val=dev",
      "add 0 x-late 1 -> 2",
      "get 2 :status -> 0 ptr=nz len=3 val=200",
      "remove 2 :status -> 2",
    ]);
    assert.equal(answer(host, "get 0 x-stage"), "2", "BadArgument in on_done");
    assert.equal(s.requestHeader("x-late"), undefined);
  });

  it("keeps the request map live while the request is paused", async () => {
    const host = await startProbe(
      probe,
      { request_headers: "return 1", response_headers: "get 0 x-stage" },
      { allowOnHeadersStopIteration: true },
    );
    const s = host.newStream();
    assert.equal(s.requestHeaders(HEADERS), 1);
    s.responseHeaders([[":status", "200"]]);
    assert.equal(answer(host, "get 0 x-stage"), "0 ptr=nz len=3 val=dev");
  });

  it("lower-cases names on get/add/replace/remove and returns only the first value", async () => {
    const host = await startProbe(probe, {
      request_headers: "get 0 X-DUP; add 0 X-New v; replace 0 X-Stage prod; remove 0 X-Version; add 0 x-dup c",
    });
    const s = host.newStream();
    s.requestHeaders([
      ["X-Stage", "dev"],
      ["x-dup", "a"],
      ["x-version", "v1"],
      ["X-Dup", "b"],
    ]);
    assert.equal(answer(host, "get 0 X-DUP"), "0 ptr=nz len=1 val=a");
    assert.deepEqual(s.requestHeaderMap, [
      ["x-dup", "a"],
      ["x-dup", "b"],
      ["x-new", "v"],
      ["x-stage", "prod"],
      ["x-dup", "c"],
    ]);
    assert.deepEqual(s.requestHeaderValues("x-dup"), ["a", "b", "c"]);
  });

  it("replace sets the header to exactly one value; add appends", async () => {
    const host = await startProbe(probe, { request_headers: "replace 0 x-dup z; add 0 x-dup y" });
    const s = host.newStream();
    s.requestHeaders([
      ["x-dup", "a"],
      ["x-other", "1"],
      ["x-dup", "b"],
    ]);
    assert.deepEqual(s.requestHeaderMap, [
      ["x-other", "1"],
      ["x-dup", "z"],
      ["x-dup", "y"],
    ]);
  });

  it("answers an empty value with (0, 0) and no guest allocation", async () => {
    const host = await startProbe(probe, { request_headers: "get 0 x-empty" });
    const empty = host.newStream();
    empty.requestHeaders([["x-empty", ""]]);
    assert.equal(answer(host, "get 0 x-empty"), "0 ptr=0 len=0 val=");
    assert.deepEqual(empty.allocations, { count: 0, bytes: 0 });
    const full = host.newStream();
    full.requestHeaders([["x-empty", "abc"]]);
    assert.deepEqual(full.allocations, { count: 1, bytes: 3 });
  });

  it("moves binary and 64 KiB values byte-exactly, through memory growth", async () => {
    const host = await startProbe(probe, {
      request_headers: "get 0 x-bin; get 0 x-big; add 0 x-out %00%FF%25; grow 2; get 0 x-stage",
    });
    const big = new Uint8Array(65536).map((_, i) => (i * 7) & 0xff);
    const pagesBefore = host.memoryPages();
    const s = host.newStream();
    s.requestHeaders([
      ["x-bin", new Uint8Array([0, 255, 10, 37])],
      ["x-big", big],
      ["x-stage", "dev"],
    ]);
    assert.equal(answer(host, "get 0 x-bin"), "0 ptr=nz len=4 val=%00%FF%0A%25");
    assert.equal(answer(host, "get 0 x-big"), `0 ptr=nz len=65536 val=sum=${big.reduce((a, b) => a + b, 0)}`);
    assert.equal(answer(host, "get 0 x-stage"), "0 ptr=nz len=3 val=dev", "views refreshed after memory.grow");
    assert.ok(host.memoryPages() >= pagesBefore + 2);
    assert.deepEqual(s.requestHeaderMapBytes.find(([k]) => k === "x-out")[1], new Uint8Array([0, 255, 37]));
  });

  it("serialises, replaces and sizes whole maps", async () => {
    const host = await startProbe(probe, { request_headers: "pairs 0; size 0; setpairs 0 A=1,b=~" });
    const s = host.newStream();
    s.requestHeaders(HEADERS);
    assert.equal(answer(host, "pairs 0"), "0 ptr=nz len=45 x-stage=dev,x-version=v1");
    assert.equal(answer(host, "size 0"), "0 size=21", "bytes of names and values, as Envoy answers");
    assert.deepEqual(s.requestHeaderMap, [
      ["a", "1"],
      ["b", ""],
    ]);
  });
});

describe("properties and filter state", () => {
  it("resolves NUL-separated paths per stream and per host, tolerating a trailing NUL", async () => {
    const host = await startProbe(
      probe,
      {
        request_headers:
          "prop xds/route_name; prop0 xds/cluster_name; prop source/address; prop source/port; " +
          "prop plugin_root_id; prop xds/virtual_host_name; prop xds",
      },
      { rootId: "dynamic_subset", properties: { "source.address": "10.0.0.1:5000", "source.port": 5000 } },
    );
    host
      .newStream({ properties: { "xds.route_name": "default", "xds.cluster_name": "helloworld" } })
      .requestHeaders(HEADERS);
    assert.equal(answer(host, "prop xds/route_name"), "0 ptr=nz len=7 val=default");
    assert.equal(answer(host, "prop0 xds/cluster_name"), "0 ptr=nz len=10 val=helloworld");
    assert.equal(answer(host, "prop source/address"), "0 ptr=nz len=13 val=10.0.0.1:5000");
    assert.equal(
      answer(host, "prop source/port"),
      "0 ptr=nz len=8 val=%88%13%00%00%00%00%00%00",
      "int64 little-endian",
    );
    assert.equal(answer(host, "prop plugin_root_id"), "0 ptr=nz len=14 val=dynamic_subset");
    assert.equal(answer(host, "prop xds/virtual_host_name"), "1", "NotFound when absent");
    assert.equal(answer(host, "prop xds"), "1");
  });

  it('records proxy_set_property as filter state "wasm.<path>", readable back; NotFound outside a stream', async () => {
    const host = await startProbe(probe, {
      configure: "setprop early x",
      request_headers: "setprop dynamic_subset subset:stage=dev; prop dynamic_subset",
    });
    assert.equal(answer(host, "setprop early x"), "1");
    const s = host.newStream();
    s.requestHeaders(HEADERS);
    assert.equal(answer(host, "setprop dynamic_subset subset:stage=dev"), "0");
    assert.deepEqual([...s.filterState], [["wasm.dynamic_subset", "subset:stage=dev"]]);
    assert.equal(answer(host, "prop dynamic_subset"), "0 ptr=nz len=16 val=subset:stage=dev");
    assert.deepEqual([...host.newStream().filterState], [], "filter state is per stream");
  });
});

describe("local replies", () => {
  it("defers the reply until the callback returns and overrides its status with 4", async () => {
    const host = await startProbe(
      probe,
      {
        request_headers:
          "reply 503 no%20healthy%20upstream no%20healthy%20upstream x-A=1 -1; get 0 x-stage; foreign replied; return 0",
      },
      { foreignFunctions: { replied: (args, stream) => (stream.localResponse === null ? 0 : 1) } },
    );
    const s = host.newStream();
    assert.equal(s.requestHeaders(HEADERS), 4);
    assert.equal(answer(host, "get 0 x-stage"), "0 ptr=nz len=3 val=dev", "headers still served after the call");
    assert.equal(answer(host, "foreign replied"), "0 ptr=0 len=0 val=", "no reply yet while the callback runs");
    assert.deepEqual(s.localResponse, {
      status: 503,
      details: "no_healthy_upstream",
      body: "no healthy upstream",
      bodyBytes: new TextEncoder().encode("no healthy upstream"),
      headers: [["x-a", "1"]],
      grpcStatus: null,
    });
  });

  it("passes a gRPC status in 0..16 and treats -1 as none", async () => {
    const host = await startProbe(probe, {
      request_headers: "if 0 x-grpc reply 200 d ~ ~ 14; if 0 x-none reply 200 d ~ ~ -1",
    });
    const a = host.newStream();
    a.requestHeaders([["x-grpc", "1"]]);
    const b = host.newStream();
    b.requestHeaders([["x-none", "1"]]);
    assert.equal(a.localResponse.grpcStatus, 14);
    assert.equal(b.localResponse.grpcStatus, null);
  });

  it("converts StopIteration to 4 unless allowOnHeadersStopIteration, and values above 4 to 4", async () => {
    const statuses = async (options) => {
      const host = await startProbe(
        probe,
        { request_headers: "if 0 x-one return 1; if 0 x-seven return 7; if 0 x-two return 2" },
        options,
      );
      return ["x-one", "x-seven", "x-two"].map((h) => host.newStream().requestHeaders([[h, "1"]]));
    };
    assert.deepEqual(await statuses({}), [4, 4, 2]);
    assert.deepEqual(await statuses({ allowOnHeadersStopIteration: true }), [1, 4, 2]);
  });
});

describe("foreign functions", () => {
  it("has clear_route_cache registered by default and records calls per stream", async () => {
    const host = await startProbe(probe, { request_headers: "foreign clear_route_cache" });
    const s = host.newStream();
    s.requestHeaders(HEADERS);
    assert.equal(answer(host, "foreign clear_route_cache"), "0 ptr=0 len=0 val=");
    assert.deepEqual(
      s.foreignCalls.map((c) => c.name),
      ["clear_route_cache"],
    );
  });

  it("answers NotFound when unregistered (Envoy < 1.33) and copies results into guest memory", async () => {
    const host = await startProbe(
      probe,
      { request_headers: "foreign clear_route_cache; foreign echo abc" },
      {
        foreignFunctions: { clear_route_cache: null, echo: (args) => ({ status: 0, result: args }) },
      },
    );
    const s = host.newStream();
    s.requestHeaders(HEADERS);
    assert.equal(answer(host, "foreign clear_route_cache"), "1 ptr=untouched");
    assert.equal(answer(host, "foreign echo abc"), "0 ptr=nz len=3 val=abc");
    assert.deepEqual(
      s.foreignCalls.map((c) => c.name),
      ["echo"],
    );
  });
});

describe("Envoy's route cache (routeCacheCleared: the route is matched again after the filter)", () => {
  const cleared = async (requestHeaders, options = {}) => {
    const host = await startProbe(probe, { request_headers: requestHeaders, response_headers: "add 2 x-r 1" }, options);
    const s = host.newStream();
    s.requestHeaders(HEADERS);
    s.responseHeaders([[":status", "200"]]);
    return s.routeCacheCleared;
  };

  it("is cleared by clear_route_cache and by every request-header change (ABI 0.2.1; Envoy 1.36.2, 1.40.0)", async () => {
    assert.equal(await cleared("foreign clear_route_cache"), true);
    assert.equal(await cleared("replace 0 x-a 1"), true);
    assert.equal(await cleared("add 0 x-a 1"), true);
    assert.equal(await cleared("remove 0 x-absent"), true, "a removal of an absent header counts too");
    assert.equal(await cleared("setpairs 0 a=1"), true);
  });

  it("is kept by reads, response-header changes and an unregistered clear_route_cache (Envoy < 1.33)", async () => {
    assert.equal(await cleared("get 0 x-stage; pairs 0"), false);
    assert.equal(await cleared("remove 1 x-a"), false, "map 1 is the request trailers: not a request-header change");
    assert.equal(await cleared("foreign clear_route_cache", { foreignFunctions: { clear_route_cache: null } }), false);
  });
});

describe("metrics", () => {
  it("numbers ids like the C++ host (new id per define, type in the low 2 bits) and shares values by name", async () => {
    const host = await startProbe(probe, {
      configure: "define 0 requests; define 1 inflight; define 2 latency; define 0 requests; define 3 bad",
      request_headers: "inc requests 1; inc inflight -2; record latency 7; getmetric requests; incid 12 1; incid 6 1",
    });
    const defines = said(host).filter((m) => m.startsWith("define "));
    assert.deepEqual(
      defines.slice(0, 4),
      [
        "define 0 requests -> 0 id=4",
        "define 1 inflight -> 0 id=5",
        "define 2 latency -> 0 id=6",
        "define 0 requests -> 0 id=8",
      ],
      "first counter is 4 (not 0); a repeated define gets a new id",
    );
    assert.equal(answer(host, "define 3 bad"), "2 id=3735928559", "type > 2: BadArgument");
    host.newStream().requestHeaders(HEADERS);
    assert.equal(host.counter("requests"), 1n);
    assert.equal(host.gauge("inflight"), -2n);
    assert.deepEqual(host.histogram("latency"), [7n]);
    assert.equal(answer(host, "getmetric requests"), "0 value=1");
    assert.equal(answer(host, "incid 12 1"), "1", "unknown counter id: NotFound");
    assert.equal(answer(host, "incid 6 1"), "2", "increment on a histogram: BadArgument");
  });

  it("rejects a counter delta <= 0 and carries i64 deltas as BigInt beyond 2^53", async () => {
    const host = await startProbe(probe, {
      configure: "define 0 c",
      request_headers: "inc c 0; inc c -1; inc c 9007199254740993",
    });
    host.newStream().requestHeaders(HEADERS);
    assert.equal(answer(host, "inc c 0"), "2");
    assert.equal(answer(host, "inc c -1"), "2");
    assert.equal(host.counter("c"), 9007199254740993n);
  });

  it('can number from 0 (metricIds: "zero-based") so a filter that treats id 0 as "undefined" fails its tests', async () => {
    const host = await startProbe(probe, { configure: "define 0 first; incid 0 1" }, { metricIds: "zero-based" });
    assert.equal(answer(host, "define 0 first"), "0 id=0");
    assert.equal(answer(host, "incid 0 1"), "0");
    assert.equal(host.counter("first"), 1n);
  });
});

describe('a trap fails the VM for good (docs/abi.md "What a trap does")', () => {
  it("closes that stream and every later one with status 4; nothing more reaches the module", async () => {
    const host = await startProbe(probe, { request_headers: "if 0 x-trap trap" });
    const ok = host.newStream();
    assert.equal(ok.requestHeaders(HEADERS), 0);
    ok.complete();
    const trapping = host.newStream();
    assert.equal(trapping.requestHeaders([["x-trap", "1"]]), 4);
    assert.equal(host.failed, true);
    assert.equal(host.failure, "Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable");
    assert.deepEqual(trapping.localResponse, {
      status: 503,
      details: "wasm_fail_stream",
      body: "",
      bodyBytes: new Uint8Array(0),
      headers: [],
      grpcStatus: 14,
    });
    assert.equal(trapping.closed, true);
    const seen = callbacks(host).length;
    assert.equal(trapping.responseHeaders([[":status", "200"]]), 0, "encodeHeaders skipped after the failure reply");
    trapping.complete();
    const later = host.newStream();
    assert.equal(later.requestHeaders(HEADERS), 4);
    assert.equal(later.closed, true);
    later.complete();
    host.shutdown();
    assert.equal(callbacks(host).length, seen, "no on_log/on_done/on_delete/root shutdown after the trap");
    assert.ok(host.logsAt("error").includes(host.failure));
  });

  it("lets streams through after a failure when fail-open", async () => {
    const host = await startProbe(probe, { request_headers: "trap" }, { failOpen: true });
    assert.equal(host.newStream().requestHeaders(HEADERS), 0);
    const later = host.newStream();
    assert.equal(later.requestHeaders(HEADERS), 0);
    assert.equal(later.localResponse, null);
  });
});

describe("shutdown", () => {
  it("calls root on_done then on_delete", async () => {
    const host = await startProbe(probe);
    host.shutdown();
    assert.deepEqual(callbacks(host).slice(-2), ["done 1", "delete 1"]);
  });

  it("waits for proxy_done when root on_done returns false", async () => {
    const host = await startProbe(probe, { configure: "tick 100", root_done: "return 0", tick: "done" });
    host.shutdown();
    assert.deepEqual(callbacks(host).slice(-1), ["done 1"]);
    host.tick();
    assert.equal(answer(host, "done"), "0");
    assert.deepEqual(callbacks(host).slice(-2), ["tick 1", "delete 1"]);
  });
});

describe("bookkeeping for the benchmark", () => {
  it("counts host calls by import and guest allocations per stream", async () => {
    const host = await startProbe(probe, {
      request_headers: "get 0 x-stage; get 0 x-version; add 0 x-a bc; get 0 x-none",
    });
    const s = host.newStream();
    s.requestHeaders(HEADERS);
    const calls = s.hostCalls;
    assert.equal(calls.byName.proxy_get_header_map_value, 3);
    assert.equal(calls.byName.proxy_add_header_map_value, 1);
    assert.equal(
      calls.total,
      Object.values(calls.byName).reduce((a, b) => a + b, 0),
    );
    assert.deepEqual(s.allocations, { count: 2, bytes: 5 });
    assert.equal(host.newStream().hostCalls.total, 0, "a fresh stream starts at zero");
    assert.ok(host.hostCalls.byName.proxy_get_buffer_bytes >= 1, "start-up calls are counted on the host");
  });

  it("captures logs with their level, filtered by the configured log level, and reports it to the module", async () => {
    const levels = "log 0 t; log 1 d; log 2 i; log 3 w; log 4 e; log 5 c; log 6 x; loglevel";
    const host = await startProbe(probe, { configure: levels }, { logLevel: "warn" });
    const mine = host.logs
      .filter((l) => l.from === "guest" && l.message.length === 1)
      .map((l) => `${l.level}:${l.message}`);
    assert.deepEqual(mine, ["warn:w", "error:e", "critical:c"]);
    const debug = await startProbe(probe, { configure: levels }, { logLevel: "trace" });
    assert.deepEqual(debug.logsAt("trace"), ["t"]);
    assert.equal(answer(debug, "log 6 x"), "2", "level > critical: BadArgument");
    assert.equal(answer(debug, "loglevel"), "0 level=0");
  });
});
