import {
  addHeader,
  ByteView,
  callForeignFunction,
  defineCounter,
  defineMetric,
  EMPTY_BYTES,
  getBufferBytes,
  getHeader,
  getHeaderView,
  getProperty,
  getPropertyView,
  incrementMetric,
  INVALID_METRIC_ID,
  lastResult,
  log,
  logLevel,
  malloc,
  releaseScratch,
  removeHeader,
  replaceHeader,
  replaceHeaderRaw,
  sendLocalResponse,
  setProperty,
  setPropertyRaw,
} from "../abi/hostcalls";
import { BufferType, LogLevel, MapType, MetricType, WasmResult } from "../abi/enums";
import { propertyPath } from "../abi/pairs";
import { b, hex, host, raw } from "./abi.testhost";

// The stub host hands data back through the guest's malloc, as Envoy does.
export { malloc };

const REQUEST = MapType.HttpRequestHeaders;

describe("getHeader", () => {
  beforeEach(() => host.reset());

  it("returns the value's bytes and asks the host for the right map and name", () => {
    host.setHeader(REQUEST, "x-version", b("v1"));
    expect(hex(getHeader(REQUEST, b("x-version")))).toBe(hex(b("v1")));
    expect(host.lastInt(0)).toBe(<i64>REQUEST);
    expect(hex(host.lastBytes(0))).toBe(hex(b("x-version")));
    expect(lastResult()).toBe(WasmResult.Ok);
  });

  it("answers an absent header with null (NotFound is no error)", () => {
    expect(getHeader(REQUEST, b("x-absent"))).toBeNull();
    expect(lastResult()).toBe(WasmResult.NotFound);
  });

  it("answers an empty header with an empty, non-null value", () => {
    host.setHeader(REQUEST, "x-empty", new ArrayBuffer(0));
    const value = getHeader(REQUEST, b("x-empty"));
    expect(value).not.toBeNull();
    expect(value!.byteLength).toBe(0);
  });

  it("keeps binary values and invalid UTF-8 byte for byte", () => {
    host.setHeader(REQUEST, "x-bin", raw([0x00, 0xff, 0xc3, 0x28, 0x0a]));
    expect(hex(getHeader(REQUEST, b("x-bin")))).toBe("00ffc3280a");
  });

  it("answers any other status with null and reports it, without trapping", () => {
    host.setHeader(REQUEST, "x-version", b("v1"));
    host.failNext(WasmResult.BadArgument); // Envoy: map not available in this callback
    expect(getHeader(REQUEST, b("x-version"))).toBeNull();
    expect(lastResult()).toBe(WasmResult.BadArgument);
  });

  it("refuses a returned (ptr,size) that is not the block malloc handed out", () => {
    host.setHeader(REQUEST, "x-version", b("v1"));
    host.strayReturnNext();
    expect(getHeader(REQUEST, b("x-version"))).toBeNull();
    expect(lastResult()).toBe(WasmResult.InvalidMemoryAccess);
    expect(hex(getHeader(REQUEST, b("x-version")))).toBe(hex(b("v1")));
  });

  it("does not grow memory over many reads of large values (host blocks are reclaimed)", () => {
    host.setHeader(REQUEST, "x-large", new ArrayBuffer(8192));
    const name = b("x-large");
    for (let i = 0; i < 2000; i++) getHeader(REQUEST, name);
    const pages = memory.size();
    for (let i = 0; i < 20000; i++) getHeader(REQUEST, name); // 160 MiB of returned data
    expect(memory.size()).toBe(pages);
  });
});

/** The bytes a view shows, as hex. */
function viewHex(view: ByteView): string {
  const copy = new ArrayBuffer(view.length);
  memory.copy(changetype<usize>(copy), view.ptr, <usize>view.length);
  return hex(copy);
}

describe("getHeaderView / getPropertyView (answers in the callback scratch)", () => {
  beforeEach(() => {
    host.reset();
    releaseScratch();
  });

  it("shows the value's bytes in place, and answers an absent value with false", () => {
    host.setHeader(REQUEST, "x-version", b("v1"));
    const view = new ByteView();
    expect(getHeaderView(REQUEST, b("x-version"), view)).toBe(true);
    expect(viewHex(view)).toBe(hex(b("v1")));
    expect(hex(host.lastBytes(0))).toBe(hex(b("x-version")));
    expect(getHeaderView(REQUEST, b("x-absent"), view)).toBe(false);
    expect(lastResult()).toBe(WasmResult.NotFound);
    const path = propertyPath(["xds", "route_name"]);
    host.setProperty(path, b("default"));
    expect(getPropertyView(path, view)).toBe(true);
    expect(viewHex(view)).toBe(hex(b("default")));
  });

  it("keeps every view of a callback intact, and reuses the scratch once it is released", () => {
    host.setHeader(REQUEST, "x-stage", b("dev"));
    host.setHeader(REQUEST, "x-version", b("v1"));
    const stage = new ByteView();
    const version = new ByteView();
    getHeaderView(REQUEST, b("x-stage"), stage);
    getHeaderView(REQUEST, b("x-version"), version);
    expect(viewHex(stage)).toBe(hex(b("dev")));
    expect(viewHex(version)).toBe(hex(b("v1")));
    releaseScratch();
    const again = new ByteView();
    getHeaderView(REQUEST, b("x-version"), again);
    expect(again.ptr).toBe(stage.ptr);
    expect(viewHex(again)).toBe(hex(b("v1")));
  });

  it("gives a value too large for the scratch a block of its own, and memory stays flat", () => {
    const large = new ArrayBuffer(40000);
    for (let i = 0; i < large.byteLength; i++) store<u8>(changetype<usize>(large) + i, <u8>(i * 7));
    host.setHeader(REQUEST, "x-large", large);
    const name = b("x-large");
    const view = new ByteView();
    expect(getHeaderView(REQUEST, name, view)).toBe(true);
    expect(view.length).toBe(40000);
    expect(memory.compare(view.ptr, changetype<usize>(large), 40000)).toBe(0);
    for (let i = 0; i < 200; i++) {
      releaseScratch();
      getHeaderView(REQUEST, name, view);
    }
    const pages = memory.size();
    for (let i = 0; i < 2000; i++) {
      releaseScratch();
      getHeaderView(REQUEST, name, view); // 80 MB of answers: each block is garbage once the next one comes
    }
    expect(memory.size()).toBe(pages);
  });

  it("answers an empty value with an empty view, other statuses with false, a stray (ptr,size) as invalid", () => {
    host.setHeader(REQUEST, "x-empty", new ArrayBuffer(0));
    host.setHeader(REQUEST, "x-version", b("v1"));
    const view = new ByteView();
    expect(getHeaderView(REQUEST, b("x-empty"), view)).toBe(true);
    expect(view.length).toBe(0);
    host.failNext(WasmResult.BadArgument);
    expect(getHeaderView(REQUEST, b("x-version"), view)).toBe(false);
    expect(lastResult()).toBe(WasmResult.BadArgument);
    host.strayReturnNext();
    expect(getHeaderView(REQUEST, b("x-version"), view)).toBe(false);
    expect(lastResult()).toBe(WasmResult.InvalidMemoryAccess);
    expect(getHeaderView(REQUEST, b("x-version"), view)).toBe(true);
    expect(viewHex(view)).toBe(hex(b("v1")));
  });
});

describe("malloc (called by the host)", () => {
  it("refuses an impossible size with 0 instead of trapping", () => {
    expect(malloc((<usize>1) << 30)).toBe(0);
  });

  it("returns distinct writable blocks", () => {
    const first = malloc(16);
    const second = malloc(16);
    expect(first).not.toBe(0);
    expect(second).not.toBe(first);
  });
});

describe("getProperty / setProperty", () => {
  beforeEach(() => host.reset());

  it("reads a property by its NUL-separated path", () => {
    const path = propertyPath(["xds", "route_name"]);
    host.setProperty(path, b("default"));
    expect(hex(getProperty(path))).toBe(hex(b("default")));
    expect(hex(host.lastBytes(0))).toBe(hex(b("xds")) + "00" + hex(b("route_name")));
  });

  it("answers an unknown property with null", () => {
    expect(getProperty(propertyPath(["xds", "nothing"]))).toBeNull();
    expect(lastResult()).toBe(WasmResult.NotFound);
  });

  it("writes path and value as given and returns the host's status", () => {
    expect(setProperty(b("dynamic_subset"), b("subset:stage=dev"))).toBe(WasmResult.Ok);
    expect(hex(host.lastBytes(0))).toBe(hex(b("dynamic_subset")));
    expect(hex(host.lastBytes(1))).toBe(hex(b("subset:stage=dev")));
    host.failNext(WasmResult.NotFound); // Envoy outside a stream
    expect(setProperty(b("dynamic_subset"), b("x"))).toBe(WasmResult.NotFound);
  });

  it("setPropertyRaw writes a slice of the caller's own memory", () => {
    const buffer = b("..subset:version=v1..");
    expect(setPropertyRaw(b("dynamic_subset"), changetype<usize>(buffer) + 2, 17)).toBe(WasmResult.Ok);
    expect(hex(host.lastBytes(1))).toBe(hex(b("subset:version=v1")));
  });
});

describe("getBufferBytes", () => {
  beforeEach(() => host.reset());

  it("passes buffer type, start and size, and answers an unavailable buffer with null", () => {
    expect(getBufferBytes(BufferType.PluginConfiguration, 0, 512)).toBeNull();
    expect(host.lastInt(0)).toBe(<i64>BufferType.PluginConfiguration);
    expect(host.lastInt(1)).toBe(0);
    expect(host.lastInt(2)).toBe(512);
    expect(lastResult()).toBe(WasmResult.NotFound);
  });
});

describe("header mutations", () => {
  beforeEach(() => host.reset());

  it("addHeader passes map, name and value", () => {
    expect(addHeader(MapType.HttpResponseHeaders, b("x-dynamic-subset"), b("none"))).toBe(WasmResult.Ok);
    expect(host.lastInt(0)).toBe(<i64>MapType.HttpResponseHeaders);
    expect(hex(host.lastBytes(0))).toBe(hex(b("x-dynamic-subset")));
    expect(hex(host.lastBytes(1))).toBe(hex(b("none")));
  });

  it("replaceHeader then removeHeader change what getHeader sees", () => {
    expect(replaceHeader(REQUEST, b("x-dynamic-subset-version"), b("v1"))).toBe(WasmResult.Ok);
    expect(hex(getHeader(REQUEST, b("x-dynamic-subset-version")))).toBe(hex(b("v1")));
    expect(removeHeader(REQUEST, b("x-dynamic-subset-version"))).toBe(WasmResult.Ok);
    expect(getHeader(REQUEST, b("x-dynamic-subset-version"))).toBeNull();
  });

  it("replaceHeaderRaw writes exactly the bytes it is pointed at (part of a larger buffer)", () => {
    const buffer = b("stage=dev; version=v1");
    const result = replaceHeaderRaw(REQUEST, b("x-dynamic-subset-stage"), changetype<usize>(buffer) + 6, 3);
    expect(result).toBe(WasmResult.Ok);
    expect(hex(getHeader(REQUEST, b("x-dynamic-subset-stage")))).toBe(hex(b("dev")));
  });

  it("returns the host's failure status", () => {
    host.failNext(WasmResult.BadArgument);
    expect(removeHeader(REQUEST, b("x"))).toBe(WasmResult.BadArgument);
  });
});

describe("sendLocalResponse", () => {
  beforeEach(() => host.reset());

  it("passes status, details, body, serialized headers and grpc status -1 by default", () => {
    const headers = raw([0, 0, 0, 0]);
    expect(sendLocalResponse(503, b("dynamic_subset_no_fallback"), b("no healthy upstream"), headers)).toBe(
      WasmResult.Ok,
    );
    expect(host.lastInt(0)).toBe(503);
    expect(host.lastInt(1)).toBe(-1);
    expect(hex(host.lastBytes(0))).toBe(hex(b("dynamic_subset_no_fallback")));
    expect(hex(host.lastBytes(1))).toBe(hex(b("no healthy upstream")));
    expect(hex(host.lastBytes(2))).toBe("00000000");
  });

  it("sends no header bytes when no headers are given", () => {
    sendLocalResponse(403, b("denied"), EMPTY_BYTES);
    expect(host.lastBytes(2).byteLength).toBe(0);
  });
});

describe("callForeignFunction", () => {
  beforeEach(() => host.reset());

  it("reports an unknown function (older Envoy) as NotFound, an ordinary result", () => {
    expect(callForeignFunction(b("clear_route_cache"), EMPTY_BYTES)).toBe(WasmResult.NotFound);
    expect(hex(host.lastBytes(0))).toBe(hex(b("clear_route_cache")));
  });

  it("returns Ok and releases any returned bytes", () => {
    host.setForeignReturn(b("ok"));
    expect(callForeignFunction(b("clear_route_cache"), EMPTY_BYTES)).toBe(WasmResult.Ok);
  });

  it("reports Unimplemented as such", () => {
    host.failNext(WasmResult.Unimplemented);
    expect(callForeignFunction(b("clear_route_cache"), EMPTY_BYTES)).toBe(WasmResult.Unimplemented);
  });
});

describe("metrics", () => {
  beforeEach(() => host.reset());

  it("defines counters with the ids the host gives (Envoy: 4, 8, ...)", () => {
    expect(defineCounter("dynamic_subset.requests")).toBe(4);
    expect(host.lastInt(0)).toBe(<i64>MetricType.Counter);
    expect(hex(host.lastBytes(0))).toBe(hex(b("dynamic_subset.requests")));
    expect(defineMetric(MetricType.Gauge, "g")).toBe(9);
  });

  it("gives INVALID_METRIC_ID when the host refuses, and incrementing it makes no host call", () => {
    host.failNext(WasmResult.BadArgument);
    const id = defineCounter("bad");
    expect(id).toBe(INVALID_METRIC_ID);
    const calls = host.calls();
    expect(incrementMetric(id)).toBe(WasmResult.NotFound);
    expect(host.calls()).toBe(calls);
  });

  it("increments by 1 by default and passes a 64-bit delta", () => {
    const id = defineCounter("c");
    expect(incrementMetric(id)).toBe(WasmResult.Ok);
    expect(host.lastInt(0)).toBe(<i64>id);
    expect(host.lastInt(1)).toBe(1);
    incrementMetric(id, 0x1_0000_0001);
    expect(host.lastInt(1)).toBe(0x1_0000_0001);
  });
});

describe("logging", () => {
  beforeEach(() => host.reset());

  it("logs UTF-8 text at the given level", () => {
    log(LogLevel.Error, "dynamic_subset: café");
    expect(host.logCount()).toBe(1);
    expect(host.logLevel(0)).toBe(LogLevel.Error);
    expect(host.logMessage(0)).toBe("dynamic_subset: café");
  });

  it("reads the host's log level, and falls back to Trace when the host cannot say", () => {
    host.setLogLevel(LogLevel.Warn);
    expect(logLevel()).toBe(LogLevel.Warn);
    host.failNext(WasmResult.Unimplemented);
    expect(logLevel()).toBe(LogLevel.Trace);
  });
});
