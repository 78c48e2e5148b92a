import {
  CatalogSubset,
  FallbackPolicy,
  HeaderMapping,
  KeySource,
  Label,
  Mode,
  PluginConfig,
  RouteConfig,
  ServiceConfig,
  SubsetSelector,
} from "../filter/model";
import { compileTables } from "../filter/tables/compile";
import { ByteKeyIndex } from "../filter/tables/byte-key-index";
import { IstioClusterName, Tables } from "../filter/tables/runtime";
import { withoutSegment } from "../filter/arrival";
import { utf8 } from "../abi/utf8";
import { PREFIX, seedConfig, seedService, text } from "./routing.fixtures";

function stripNames(tables: Tables): string[] {
  const names: string[] = [];
  for (let i = 0; i < tables.strip.length; i++) names.push(text(tables.strip[i]));
  return names;
}

function serviceFor(tables: Tables, clusterName: string): i32 {
  const bytes = utf8(clusterName);
  return tables.findService(changetype<usize>(bytes), bytes.byteLength);
}

function service(cluster: string | null, host: string | null, keys: string[]): ServiceConfig {
  return new ServiceConfig(
    cluster,
    host,
    [new SubsetSelector(keys, FallbackPolicy.Unset)],
    null,
    FallbackPolicy.NoFallback,
    [],
    null,
  );
}

describe("ByteKeyIndex", () => {
  it("finds every key it was given, by raw bytes, first insertion winning", () => {
    const index = new ByteKeyIndex(2);
    for (let i = 0; i < 1000; i++) expect(index.add(utf8("key-" + i.toString()))).toBe(i);
    expect(index.add(utf8("key-17"))).toBe(17);
    expect(index.size).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(index.findBuffer(utf8("key-" + i.toString()))).toBe(i);
    expect(index.findBuffer(utf8("key-1000"))).toBe(-1);
    expect(index.findBuffer(utf8(""))).toBe(-1);
    const prefix = utf8("key-123");
    expect(index.find(changetype<usize>(prefix), 6)).toBe(12);
  });
});

describe("compileTables: internal headers", () => {
  it("strips the seed's per-key headers, the subset header and the session header", () => {
    const names = stripNames(compileTables(seedConfig(Mode.Metadata)));
    expect(names).toStrictEqual([
      "x-dynamic-subset-subset",
      "x-dynamic-subset-host",
      "x-dynamic-subset-stage",
      "x-dynamic-subset-version",
      "x-dynamic-subset-%25ip%25",
    ]);
  });

  it("with the empty configuration strips the subset and session headers of the default prefix", () => {
    expect(stripNames(compileTables(new PluginConfig(Mode.Metadata, PREFIX, false, [])))).toStrictEqual([
      "x-dynamic-subset-subset",
      "x-dynamic-subset-host",
    ]);
  });

  it("covers every service, every mapped and default-subset key, a custom prefix and session header, once each", () => {
    const first = service("a", null, ["stage"]);
    first.routes = [new RouteConfig(null, [new HeaderMapping(KeySource.Header, "x-zone", "zone", null)])];
    first.defaultSubset = [new Label("stage", "prod"), new Label("tier", "gold")];
    const second = seedService(Mode.Catalog);
    second.catalog!.sessionHeader = "x-pin";
    const tables = compileTables(
      new PluginConfig(Mode.Catalog, "x-ds-", false, [first, second, service("c", null, ["stage"])]),
    );
    expect(stripNames(tables)).toStrictEqual([
      "x-ds-subset",
      "x-ds-host",
      "x-ds-stage",
      "x-ds-zone",
      "x-ds-tier",
      "x-pin",
      "x-ds-version",
      "x-ds-%25ip%25",
    ]);
  });

  it("reads each mapped header once per request, and none whose key no selector uses", () => {
    const svc = service("a", null, ["stage", "version"]);
    svc.routes = [
      new RouteConfig(null, [
        new HeaderMapping(KeySource.Header, "x-stage", "stage", null),
        new HeaderMapping(KeySource.Header, "x-zone", "zone", "eu"),
        new HeaderMapping(KeySource.Header, "x-version", "version", null),
        new HeaderMapping(KeySource.Header, "x-stage", "stage", "prod"),
      ]),
    ];
    const table = compileTables(new PluginConfig(Mode.Metadata, PREFIX, false, [svc])).services[0];
    const route = table.unnamedRoute!;
    expect(route.headers.length).toBe(2);
    expect(text(route.headers[0])).toBe("x-stage");
    expect(text(route.headers[1])).toBe("x-version");
    expect(route.mappings.length).toBe(3);
    expect(route.mappings[0].headerSlot).toBe(0);
    expect(route.mappings[1].headerSlot).toBe(1);
    expect(route.mappings[2].headerSlot).toBe(0);
    expect(text(route.mappings[2].defaultValue!)).toBe("prod");
    // Its header is still internal: a client cannot send it.
    expect(text(table.keys[2].name)).toBe("zone");
  });

  it("reads the same header once however many distinct strings the service names before it", () => {
    const svc = service("a", null, ["stage"]);
    const mappings: HeaderMapping[] = [];
    // more distinct header names and defaults than compile.ts interns
    for (let i = 0; i < 20; i++)
      mappings.push(new HeaderMapping(KeySource.Header, "x-h" + i.toString(), "stage", "d" + i.toString()));
    mappings.push(new HeaderMapping(KeySource.Cookie, "a", "stage", null));
    mappings.push(new HeaderMapping(KeySource.Cookie, "b", "stage", null));
    mappings.push(new HeaderMapping(KeySource.Header, "x-h0", "stage", null));
    svc.routes = [new RouteConfig(null, mappings)];
    const route = compileTables(new PluginConfig(Mode.Metadata, PREFIX, false, [svc])).services[0].unnamedRoute!;
    expect(route.headers.length).toBe(21);
    expect(route.mappings[20].headerSlot).toBe(20);
    expect(route.mappings[21].headerSlot).toBe(20);
    expect(route.mappings[22].headerSlot).toBe(0);
    expect(text(route.headers[20])).toBe("cookie");
    expect(text(route.mappings[21].name)).toBe("b");
    expect(route.mappings[21].source).toBe(KeySource.Cookie);
  });
});

describe("compileTables: services", () => {
  it("finds a service by exact cluster name or by Istio outbound|<port>||<host>", () => {
    const tables = compileTables(
      new PluginConfig(Mode.Metadata, PREFIX, false, [
        service("helloworld", null, ["stage"]),
        service(null, "helloworld.default.svc.cluster.local", ["stage"]),
      ]),
    );
    expect(serviceFor(tables, "helloworld")).toBe(0);
    expect(serviceFor(tables, "outbound|8000||helloworld.default.svc.cluster.local")).toBe(1);
    expect(serviceFor(tables, "outbound|80||helloworld.default.svc.cluster.local")).toBe(1);
    expect(serviceFor(tables, "outbound|8000|v1|helloworld.default.svc.cluster.local")).toBe(-1);
    expect(serviceFor(tables, "inbound|8000||helloworld.default.svc.cluster.local")).toBe(-1);
    expect(serviceFor(tables, "outbound||helloworld.default.svc.cluster.local")).toBe(-1);
    expect(serviceFor(tables, "outbound|8000||")).toBe(-1);
    expect(serviceFor(tables, "Helloworld")).toBe(-1);
    expect(serviceFor(tables, "")).toBe(-1);
  });

  it("gives the first matching entry in configuration order across both forms", () => {
    const name = "outbound|80||h.ns.svc.cluster.local";
    const hostFirst = compileTables(
      new PluginConfig(Mode.Metadata, PREFIX, false, [
        service(null, "h.ns.svc.cluster.local", ["a"]),
        service(name, null, ["b"]),
      ]),
    );
    expect(serviceFor(hostFirst, name)).toBe(0);
    const clusterFirst = compileTables(
      new PluginConfig(Mode.Metadata, PREFIX, false, [
        service("other", null, ["a"]),
        service(name, null, ["b"]),
        service(null, "h.ns.svc.cluster.local", ["c"]),
        service(name, null, ["d"]),
      ]),
    );
    expect(serviceFor(clusterFirst, name)).toBe(1);
  });

  it("parses the Istio cluster form strictly", () => {
    const parts = new IstioClusterName();
    const parse = (name: string, parts: IstioClusterName): bool => {
      const bytes = utf8(name);
      return parts.parse(changetype<usize>(bytes), bytes.byteLength);
    };
    expect(parse("outbound|9080||reviews", parts)).toBe(true);
    expect(parts.hostStart).toBe(15);
    expect(parts.subsetLen).toBe(0);
    expect(parse("outbound|9080|ds-v1|reviews", parts)).toBe(true);
    expect([parts.subsetStart, parts.subsetLen, parts.hostStart]).toStrictEqual([14, 5, 20]);
    expect(parse("outbound|9080||", parts)).toBe(false);
    expect(parse("outbound|9080|v1|", parts)).toBe(false);
    expect(parse("outbound|9080|v1", parts)).toBe(false);
    expect(parse("outbound|http||reviews", parts)).toBe(false);
    expect(parse("outbound|9080", parts)).toBe(false);
  });

  it("indexes named routes, keeps the first unnamed route, and reads the route name only when needed", () => {
    const svc = seedService(Mode.Metadata);
    svc.routes.push(new RouteConfig(null, [new HeaderMapping(KeySource.Header, "x-any", "stage", null)]));
    const table = compileTables(new PluginConfig(Mode.Metadata, PREFIX, false, [svc])).services[0];
    expect(table.needsRouteName).toBe(true);
    const pin = utf8("pin");
    expect(table.routesByName.find(changetype<usize>(pin), 3)).toBe(1);
    expect(text(table.routes[1].headers[0])).toBe("x-ip");
    expect(text(table.unnamedRoute!.headers[0])).toBe("x-any");

    const unnamedOnly = service("a", null, ["stage"]);
    unnamedOnly.routes = [new RouteConfig(null, [new HeaderMapping(KeySource.Header, "x-stage", "stage", null)])];
    expect(
      compileTables(new PluginConfig(Mode.Metadata, PREFIX, false, [unnamedOnly])).services[0].needsRouteName,
    ).toBe(false);
  });
});

describe("compileTables: selectors and catalog", () => {
  it("sorts selector keys in byte order and applies the global policy when a selector has none", () => {
    const svc = service("a", null, ["version", "Zone", "%ip%", "stage"]);
    svc.fallbackPolicy = FallbackPolicy.AnyEndpoint;
    svc.selectors.push(new SubsetSelector(["stage"], FallbackPolicy.NoFallback));
    const tables = compileTables(new PluginConfig(Mode.Metadata, PREFIX, false, [svc]));
    const table = tables.services[0];
    const selector = table.selectors[0];
    const names: string[] = [];
    for (let i = 0; i < selector.keys.length; i++) names.push(text(table.keys[selector.keys[i]].name));
    expect(names).toStrictEqual(["%ip%", "Zone", "stage", "version"]);
    expect(selector.mask).toBe(0b1111);
    expect(selector.policy).toBe(FallbackPolicy.AnyEndpoint);
    expect(table.selectors[1].policy).toBe(FallbackPolicy.NoFallback);
    expect(text(tables.strip[table.keys[1].stripIndex])).toBe("x-dynamic-subset-%5aone");
  });

  it("maps each catalog subset to its selector by exact key set, and %ip% selectors to endpoints", () => {
    const svc = seedService(Mode.Catalog);
    svc.selectors.push(new SubsetSelector(["stage"], FallbackPolicy.Unset));
    svc.selectors.push(new SubsetSelector(["%ip%", "stage"], FallbackPolicy.Unset));
    svc.catalog!.subsets.push(new CatalogSubset("dev", [new Label("stage", "dev")]));
    const tables = compileTables(new PluginConfig(Mode.Catalog, PREFIX, false, [svc]));
    const table = tables.services[0];
    expect(table.selectors[0].targets.length).toBe(5);
    expect(text(table.selectors[0].targets[0].value)).toBe("dev-v1.9f3c1a7e52d04b68");
    expect(text(table.selectors[0].targets[0].decision)).toBe("subset:stage=dev,version=v1");
    expect(table.selectors[0].targets[0].isEndpoint).toBe(false);
    const ip = table.selectors[1];
    expect(ip.targets.length).toBe(6);
    expect(text(tables.strip[ip.targets[5].stripIndex])).toBe("x-dynamic-subset-host");
    expect(text(tables.strip[table.selectors[0].targets[0].stripIndex])).toBe("x-dynamic-subset-subset");
    expect(text(ip.targets[5].value)).toBe("MTkyLjE2OC4wLjY6ODAwMA=="); // base64("192.168.0.6:8000")
    expect(text(ip.targets[5].decision)).toBe("subset:%ip%=192.168.0.6");
    expect(ip.targets[5].isEndpoint).toBe(true);
    expect(table.selectors[2].targets.length).toBe(1);
    expect(text(table.selectors[2].targets[0].decision)).toBe("subset:stage=dev");
    expect(text(table.selectors[3].targets[5].decision)).toBe("subset:%ip%=192.168.0.6,stage=prod");
  });

  it("resolves the default subset in the catalog, or an endpoint when it names %ip%, or none", () => {
    const seed = compileTables(seedConfig(Mode.Catalog)).services[0].defaultTarget!;
    expect(text(seed.value)).toBe("prod-v3.9f3c1a7e52d04b68");
    expect(text(seed.decision)).toBe("fallback:DEFAULT_SUBSET");

    const pinned = seedService(Mode.Catalog);
    pinned.defaultSubset = [new Label("%ip%", "192.168.0.104"), new Label("stage", "prod")];
    const endpoint = compileTables(new PluginConfig(Mode.Catalog, PREFIX, false, [pinned])).services[0].defaultTarget!;
    expect(endpoint.isEndpoint).toBe(true);
    expect(text(endpoint.value)).toBe("MTkyLjE2OC4wLjEwNDo4MDAw"); // base64("192.168.0.104:8000")

    const missing = seedService(Mode.Catalog);
    missing.defaultSubset = [new Label("stage", "prod"), new Label("version", "v9")];
    expect(
      compileTables(new PluginConfig(Mode.Catalog, PREFIX, false, [missing])).services[0].defaultTarget,
    ).toBeNull();
    // Metadata mode has no catalog: Envoy's subset load balancer owns the default subset.
    expect(compileTables(seedConfig(Mode.Metadata)).services[0].defaultTarget).toBeNull();
  });

  it("sizes per-request scratch for the largest route and selector", () => {
    const tables = compileTables(seedConfig(Mode.Catalog));
    expect(tables.maxRouteHeaders).toBe(2);
    expect(tables.maxServiceKeys).toBe(3);
    expect(tables.routeCount).toBe(2);
    expect(tables.selectorCount).toBe(2);
    // "subset:" + "stage=" + "version=" + two values of at most 63 bytes and a comma.
    expect(tables.maxDecisionBytes).toBeGreaterThanOrEqual(7 + 6 + 8 + 63 * 2 + 1);
  });
});

function shortened(name: string, segment: string): string | null {
  const bytes = utf8(name);
  const out = new ArrayBuffer(64);
  const len = withoutSegment(changetype<usize>(bytes), bytes.byteLength, utf8(segment), out);
  return len < 0 ? null : String.UTF8.decodeUnsafe(changetype<usize>(out), <usize>len);
}

describe("route names of generated routes", () => {
  it("removes the first whole segment .<subset>, at the end or before a match name", () => {
    expect(shortened("default.ds-a", "ds-a")).toBe("default");
    expect(shortened("r.ds-a.m", "ds-a")).toBe("r.m");
    expect(shortened(".ds-a", "ds-a")).toBe("");
    expect(shortened("a.b.%ip%", "%ip%")).toBe("a.b");
    expect(shortened("default.ds-ab", "ds-a")).toBeNull();
    expect(shortened("default.xds-a", "ds-a")).toBeNull();
    expect(shortened("ds-a", "ds-a")).toBeNull();
    expect(shortened("", "ds-a")).toBeNull();
  });

  it("reports the length of a name too long for the scratch without writing past it", () => {
    const bytes = utf8("a-very-long-route-name.ds-a");
    const out = new ArrayBuffer(4);
    expect(withoutSegment(changetype<usize>(bytes), bytes.byteLength, utf8("ds-a"), out)).toBe(22);
  });

  it("indexes catalog subset names and the pin segment for strict %ip% selectors only", () => {
    const strict = compileTables(seedConfig(Mode.Catalog)).services[0];
    expect(strict.subsetNames.length).toBe(5);
    expect(text(strict.pinSegment!)).toBe("%ip%");
    expect(strict.needsRouteName).toBe(true);
    const loose = seedService(Mode.Catalog);
    loose.selectors[1].fallbackPolicy = FallbackPolicy.AnyEndpoint;
    expect(compileTables(new PluginConfig(Mode.Catalog, PREFIX, false, [loose])).services[0].pinSegment).toBeNull();
    expect(compileTables(seedConfig(Mode.Metadata)).services[0].subsetNames.length).toBe(0);
  });
});
