import { MAX_VALUE_BYTES } from "../../src/config/constants";
import { Decider, Outcome } from "../filter/decision";
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
import { RouteTable, ServiceTable } from "../filter/tables/runtime";
import { utf8 } from "../abi/utf8";
import { PREFIX, seedConfig, seedService } from "./routing.fixtures";

/** A request: route name + headers (name, value); the result in readable form. */
class Result {
  outcome: Outcome = Outcome.Subset;
  decision: string = "";
  writes: string[] = []; // "name: value"
  clearRouteCache: bool = false;
  localReply: bool = false;
  onGeneratedRoute: bool = false;
}

class Harness {
  decider: Decider;
  service: ServiceTable;

  constructor(config: PluginConfig) {
    const tables = compileTables(config);
    this.decider = new Decider(tables);
    this.service = tables.services[0];
  }

  route(name: string | null): RouteTable | null {
    if (name == null) return this.service.unnamedRoute;
    const bytes = utf8(name);
    const i = this.service.routesByName.find(changetype<usize>(bytes), bytes.byteLength);
    return i >= 0 ? this.service.routes[i] : this.service.unnamedRoute;
  }

  /** headers: alternating name, value. */
  run(routeName: string | null, headers: string[]): Result {
    const values: ArrayBuffer[] = [];
    for (let i = 1; i < headers.length; i += 2) values.push(utf8(headers[i]));
    return this.runBytes(routeName, headers, values);
  }

  /**
   * A request that arrived on `cluster` and the route `routeName` (xds properties), resolved as plugin.ts does
   * (arrival.ts); null: the filter passes it through.
   */
  arrive(cluster: string, routeName: string, headers: string[]): Result | null {
    const arrival = this.decider.arrival;
    const clusterBytes = utf8(cluster);
    if (!arrival.fromCluster(changetype<usize>(clusterBytes), clusterBytes.byteLength)) return null;
    const routeBytes = utf8(routeName);
    if (arrival.needsRouteName && !arrival.fromRouteName(changetype<usize>(routeBytes), routeBytes.byteLength))
      return null;
    expect(arrival.service).toBe(this.service);
    const values: ArrayBuffer[] = [];
    for (let i = 1; i < headers.length; i += 2) values.push(utf8(headers[i]));
    return this.decideOn(arrival.route, headers, values, arrival.onGeneratedRoute);
  }

  runBytes(routeName: string | null, headers: string[], values: ArrayBuffer[]): Result {
    return this.decideOn(this.route(routeName), headers, values, false);
  }

  private decideOn(route: RouteTable | null, headers: string[], values: ArrayBuffer[], steered: bool): Result {
    this.decider.clearHeaders();
    if (route) {
      for (let slot = 0; slot < route.headers.length; slot++) {
        const name = String.UTF8.decode(route.headers[slot]);
        // First value only, as Envoy returns it.
        for (let i = 0; i < headers.length; i += 2) {
          if (headers[i] == name) {
            const value = values[i >> 1];
            this.decider.setHeader(slot, changetype<usize>(value), value.byteLength);
            break;
          }
        }
      }
    }
    this.decider.decide(this.service, route, steered);
    const d = this.decider;
    const result = new Result();
    result.onGeneratedRoute = steered;
    result.outcome = d.outcome;
    result.decision = String.UTF8.decodeUnsafe(d.decisionPtr, <usize>d.decisionLen);
    for (let i = 0; i < d.writeCount; i++) {
      const name = String.UTF8.decode(d.tables.strip[d.writeStrip[i]]);
      result.writes.push(name + ": " + String.UTF8.decodeUnsafe(d.writePtr[i], <usize>d.writeLength[i]));
      expect(d.isWritten(d.writeStrip[i])).toBe(true);
    }
    // Exactly the written headers are marked, so the caller removes every other internal header.
    let marked = 0;
    for (let i = 0; i < d.tables.strip.length; i++) if (d.isWritten(i)) marked++;
    expect(marked).toBe(d.writeCount);
    result.clearRouteCache = d.clearRouteCache;
    result.localReply = d.localReply;
    return result;
  }
}

function oneSelectorService(selectors: SubsetSelector[], mappings: HeaderMapping[]): ServiceConfig {
  return new ServiceConfig(
    "svc",
    null,
    selectors,
    null,
    FallbackPolicy.NoFallback,
    [new RouteConfig(null, mappings)],
    null,
  );
}

function metadata(service: ServiceConfig): Harness {
  return new Harness(new PluginConfig(Mode.Metadata, PREFIX, false, [service]));
}

const catalogSeed = new Harness(seedConfig(Mode.Catalog));
const metadataSeed = new Harness(seedConfig(Mode.Metadata));

describe("decide: the seed in catalog mode", () => {
  it("routes x-stage: dev, x-version: v1 to subset dev-v1 and asks for a new route", () => {
    const r = catalogSeed.run("default", ["x-stage", "dev", "x-version", "v1"]);
    expect(r.outcome).toBe(Outcome.Subset);
    expect(r.decision).toBe("subset:stage=dev,version=v1");
    expect(r.writes).toStrictEqual(["x-dynamic-subset-subset: dev-v1.9f3c1a7e52d04b68"]);
    expect(r.clearRouteCache).toBe(true);
    expect(r.localReply).toBe(false);
  });

  it("fills absent and empty headers from defaultValue (prod, v3)", () => {
    expect(catalogSeed.run("default", []).decision).toBe("subset:stage=prod,version=v3");
    const r = catalogSeed.run("default", ["x-stage", "", "x-version", "v2"]);
    expect(r.writes).toStrictEqual(["x-dynamic-subset-subset: prod-v2.9f3c1a7e52d04b68"]);
  });

  it("falls back to the default subset prod-v3 for prod/v1 (the selector's DEFAULT_SUBSET)", () => {
    const r = catalogSeed.run("default", ["x-stage", "prod", "x-version", "v1"]);
    expect(r.outcome).toBe(Outcome.FallbackDefault);
    expect(r.decision).toBe("fallback:DEFAULT_SUBSET");
    expect(r.writes).toStrictEqual(["x-dynamic-subset-subset: prod-v3.9f3c1a7e52d04b68"]);
    expect(r.clearRouteCache).toBe(true);
  });

  it("pins x-ip: 192.168.0.6 with the session header and, under NO_FALLBACK, selects the strict pin route", () => {
    const r = catalogSeed.run("pin", ["x-ip", "192.168.0.6"]);
    expect(r.outcome).toBe(Outcome.Subset);
    expect(r.decision).toBe("subset:%ip%=192.168.0.6");
    expect(r.writes).toStrictEqual([
      "x-dynamic-subset-host: MTkyLjE2OC4wLjY6ODAwMA==",
      "x-dynamic-subset-subset: %ip%.9f3c1a7e52d04b68",
    ]);
    expect(r.clearRouteCache).toBe(true);
  });

  it("pins with the session header alone and keeps the route when the %ip% selector does not fall back with 503", () => {
    for (let i = 0; i < 2; i++) {
      const svc = seedService(Mode.Catalog);
      svc.selectors[1].fallbackPolicy = i == 0 ? FallbackPolicy.AnyEndpoint : FallbackPolicy.DefaultSubset;
      const r = harness(svc).run("pin", ["x-ip", "192.168.0.6"]);
      expect(r.writes).toStrictEqual(["x-dynamic-subset-host: MTkyLjE2OC4wLjY6ODAwMA=="]);
      expect(r.clearRouteCache).toBe(false);
    }
  });

  it("answers 503 for an unknown IP under the global NO_FALLBACK", () => {
    const r = catalogSeed.run("pin", ["x-ip", "10.0.0.1"]);
    expect(r.outcome).toBe(Outcome.NoFallback);
    expect(r.decision).toBe("fallback:NO_FALLBACK");
    expect(r.localReply).toBe(true);
    expect(r.writes.length).toBe(0);
    expect(r.clearRouteCache).toBe(false);
  });

  it("counts an invalid value as unmatchable, over the fallback it leads to", () => {
    const ip = catalogSeed.run("pin", ["x-ip", "192.168.0.6:8000"]);
    expect(ip.outcome).toBe(Outcome.Unmatchable);
    expect(ip.decision).toBe("fallback:NO_FALLBACK");
    expect(ip.localReply).toBe(true);
    const label = catalogSeed.run("default", ["x-stage", "dev!", "x-version", "v1"]);
    expect(label.outcome).toBe(Outcome.Unmatchable);
    expect(label.decision).toBe("fallback:DEFAULT_SUBSET");
    expect(label.writes).toStrictEqual(["x-dynamic-subset-subset: prod-v3.9f3c1a7e52d04b68"]);
  });

  it("applies the global policy when no selector applies (pin route without x-ip)", () => {
    const r = catalogSeed.run("pin", []);
    expect(r.outcome).toBe(Outcome.NoSelector);
    expect(r.decision).toBe("fallback:NO_FALLBACK");
    expect(r.localReply).toBe(true);
  });

  it("gives a request on a route no entry names no mapping", () => {
    const r = catalogSeed.run("other", ["x-stage", "dev", "x-version", "v1"]);
    expect(r.outcome).toBe(Outcome.NoSelector);
    expect(r.localReply).toBe(true);
  });
});

describe("decide: the seed in metadata mode", () => {
  it("writes one header per chosen key, in byte order", () => {
    const r = metadataSeed.run("default", ["x-stage", "dev", "x-version", "v1"]);
    expect(r.outcome).toBe(Outcome.Subset);
    expect(r.decision).toBe("subset:stage=dev,version=v1");
    expect(r.writes).toStrictEqual(["x-dynamic-subset-stage: dev", "x-dynamic-subset-version: v1"]);
    expect(r.clearRouteCache).toBe(false);
    expect(r.localReply).toBe(false);
  });

  it("writes the key tuple even when no such subset exists (Envoy's subset LB falls back)", () => {
    const r = metadataSeed.run("default", ["x-stage", "prod", "x-version", "v1"]);
    expect(r.outcome).toBe(Outcome.Subset);
    expect(r.writes).toStrictEqual(["x-dynamic-subset-stage: prod", "x-dynamic-subset-version: v1"]);
  });

  it("writes ~invalid~ instead of an unmatchable value, never the value itself", () => {
    const r = metadataSeed.run("default", ["x-stage", "dev,prod", "x-version", "v1"]);
    expect(r.outcome).toBe(Outcome.Unmatchable);
    expect(r.decision).toBe("subset:stage=~invalid~,version=v1");
    expect(r.writes).toStrictEqual(["x-dynamic-subset-stage: ~invalid~", "x-dynamic-subset-version: v1"]);
  });

  it("writes the %ip% header on the pin route", () => {
    const r = metadataSeed.run("pin", ["x-ip", "192.168.0.6"]);
    expect(r.decision).toBe("subset:%ip%=192.168.0.6");
    expect(r.writes).toStrictEqual(["x-dynamic-subset-%25ip%25: 192.168.0.6"]);
  });

  it("writes nothing and decides none when no selector applies", () => {
    const r = metadataSeed.run("pin", []);
    expect(r.outcome).toBe(Outcome.NoSelector);
    expect(r.decision).toBe("none");
    expect(r.writes.length).toBe(0);
    expect(r.localReply).toBe(false);
  });
});

describe("decide: hostile values", () => {
  it("treats a value over 8 KiB as unmatchable (not unset: the default does not apply)", () => {
    const r = metadataSeed.run("default", ["x-stage", "a".repeat(8193), "x-version", "v1"]);
    expect(r.outcome).toBe(Outcome.Unmatchable);
    expect(r.decision).toBe("subset:stage=~invalid~,version=v1");
    const huge = metadataSeed.run("pin", ["x-ip", "1".repeat(65536)]);
    expect(huge.outcome).toBe(Outcome.Unmatchable);
    expect(huge.writes).toStrictEqual(["x-dynamic-subset-%25ip%25: ~invalid~"]);
  });

  it("treats binary and invalid UTF-8 values as unmatchable", () => {
    const binary = new ArrayBuffer(4);
    store<u32>(changetype<usize>(binary), 0xfffe0061);
    const r = metadataSeed.runBytes("default", ["x-stage", "", "x-version", ""], [binary, utf8("v1")]);
    expect(r.outcome).toBe(Outcome.Unmatchable);
    expect(r.writes).toStrictEqual(["x-dynamic-subset-stage: ~invalid~", "x-dynamic-subset-version: v1"]);
  });
});

describe("decide: key resolution", () => {
  it("lets a later mapping of a key override an earlier one, but not clear it", () => {
    const h = metadata(
      oneSelectorService(
        [new SubsetSelector(["stage"], FallbackPolicy.Unset)],
        [
          new HeaderMapping(KeySource.Header, "x-a", "stage", "dev"),
          new HeaderMapping(KeySource.Header, "x-b", "stage", null),
        ],
      ),
    );
    expect(h.run(null, []).decision).toBe("subset:stage=dev");
    expect(h.run(null, ["x-a", "qa"]).decision).toBe("subset:stage=qa");
    expect(h.run(null, ["x-a", "qa", "x-b", "prod"]).decision).toBe("subset:stage=prod");
    expect(h.run(null, ["x-b", "prod"]).decision).toBe("subset:stage=prod");
  });

  it("lets a later default override an earlier header value", () => {
    const h = metadata(
      oneSelectorService(
        [new SubsetSelector(["stage"], FallbackPolicy.Unset)],
        [
          new HeaderMapping(KeySource.Header, "x-a", "stage", null),
          new HeaderMapping(KeySource.Header, "x-b", "stage", "qa"),
        ],
      ),
    );
    expect(h.run(null, ["x-a", "dev"]).decision).toBe("subset:stage=qa");
  });

  it("lets a later valid value replace an earlier unmatchable one", () => {
    const h = metadata(
      oneSelectorService(
        [new SubsetSelector(["stage"], FallbackPolicy.Unset)],
        [
          new HeaderMapping(KeySource.Header, "x-a", "stage", null),
          new HeaderMapping(KeySource.Header, "x-b", "stage", null),
        ],
      ),
    );
    const r = h.run(null, ["x-a", "bad value", "x-b", "dev"]);
    expect(r.outcome).toBe(Outcome.Subset);
    expect(r.decision).toBe("subset:stage=dev");
  });

  it("reads one header for several mappings of it", () => {
    const h = metadata(
      oneSelectorService(
        [new SubsetSelector(["stage", "version"], FallbackPolicy.Unset)],
        [
          new HeaderMapping(KeySource.Header, "x-v", "stage", null),
          new HeaderMapping(KeySource.Header, "x-v", "version", null),
        ],
      ),
    );
    expect(h.run(null, ["x-v", "v1"]).decision).toBe("subset:stage=v1,version=v1");
  });
});

/** stage and version from one source each: a cookie, a query parameter, a baggage member (route without name). */
function sourcesService(stage: KeySource, stageName: string, version: KeySource, versionName: string): Harness {
  return metadata(
    oneSelectorService(
      [new SubsetSelector(["stage", "version"], FallbackPolicy.Unset)],
      [new HeaderMapping(stage, stageName, "stage", "prod"), new HeaderMapping(version, versionName, "version", "v3")],
    ),
  );
}

const twoCookies = sourcesService(KeySource.Cookie, "stage", KeySource.Cookie, "version");
const twoParameters = sourcesService(KeySource.Query, "stage", KeySource.Query, "version");
const twoMembers = sourcesService(KeySource.Baggage, "stage", KeySource.Baggage, "version");

describe("decide: key sources", () => {
  it("reads the cookie header once for two cookies, the path once for two parameters, baggage once", () => {
    expect(twoCookies.route(null)!.headers.length).toBe(1);
    expect(String.UTF8.decode(twoCookies.route(null)!.headers[0])).toBe("cookie");
    expect(String.UTF8.decode(twoParameters.route(null)!.headers[0])).toBe(":path");
    expect(String.UTF8.decode(twoMembers.route(null)!.headers[0])).toBe("baggage");
    expect(twoMembers.route(null)!.headers.length).toBe(1);
  });

  it("routes on cookies, query parameters and baggage members", () => {
    expect(twoCookies.run(null, ["cookie", "session=1; stage=dev; version=v1"]).decision).toBe(
      "subset:stage=dev,version=v1",
    );
    expect(twoParameters.run(null, [":path", "/hello?stage=dev&version=v1"]).decision).toBe(
      "subset:stage=dev,version=v1",
    );
    expect(twoMembers.run(null, ["baggage", "stage=dev,version=v1;p=1"]).decision).toBe("subset:stage=dev,version=v1");
  });

  it("writes the decoded value of a query parameter or a baggage member", () => {
    const q = twoParameters.run(null, [":path", "/?stage=d%65v&version=%76%31"]);
    expect(q.writes).toStrictEqual(["x-dynamic-subset-stage: dev", "x-dynamic-subset-version: v1"]);
    const b = twoMembers.run(null, ["baggage", "stage=d%65v, version=v%31"]);
    expect(b.writes).toStrictEqual(["x-dynamic-subset-stage: dev", "x-dynamic-subset-version: v1"]);
  });

  it("does not decode cookies: a value with an escape is unmatchable", () => {
    const r = twoCookies.run(null, ["cookie", "stage=d%65v; version=v1"]);
    expect(r.outcome).toBe(Outcome.Unmatchable);
    expect(r.decision).toBe("subset:stage=~invalid~,version=v1");
  });

  it("uses the defaults when the source header, the cookie or the parameter is missing or empty", () => {
    expect(twoCookies.run(null, []).decision).toBe("subset:stage=prod,version=v3");
    expect(twoCookies.run(null, ["cookie", "other=1; version="]).decision).toBe("subset:stage=prod,version=v3");
    expect(twoParameters.run(null, [":path", "/hello"]).decision).toBe("subset:stage=prod,version=v3");
    expect(twoParameters.run(null, [":path", "/?stage&version=v1"]).decision).toBe("subset:stage=prod,version=v1");
  });

  it("treats a malformed baggage header as absent for every key read from it", () => {
    const r = twoMembers.run(null, ["baggage", "stage=dev,version=v1,broken"]);
    expect(r.outcome).toBe(Outcome.Subset);
    expect(r.decision).toBe("subset:stage=prod,version=v3");
  });

  it("makes a decoded value that is no label value unmatchable: '+' is a space in a query", () => {
    const r = twoParameters.run(null, [":path", "/?stage=de+v&version=v1"]);
    expect(r.outcome).toBe(Outcome.Unmatchable);
    expect(r.writes).toStrictEqual(["x-dynamic-subset-stage: ~invalid~", "x-dynamic-subset-version: v1"]);
    expect(twoParameters.run(null, [":path", "/?stage=%&version=v1"]).decision).toBe(
      "subset:stage=~invalid~,version=v1",
    );
    expect(twoMembers.run(null, ["baggage", "stage=%00dev,version=v1"]).outcome).toBe(Outcome.Unmatchable);
  });

  it("makes a value unmatchable when it decodes to more than a label value holds, or is over 8 KiB raw", () => {
    const long = "%61".repeat(64); // 192 bytes that decode to 64
    expect(twoParameters.run(null, [":path", "/?stage=" + long]).decision).toBe("subset:stage=~invalid~,version=v3");
    const exact = "%61".repeat(63);
    expect(twoParameters.run(null, [":path", "/?stage=" + exact]).decision).toBe(
      "subset:stage=" + "a".repeat(63) + ",version=v3",
    );
    const huge = "a".repeat(MAX_VALUE_BYTES + 1);
    expect(twoParameters.run(null, [":path", "/?stage=" + huge]).outcome).toBe(Outcome.Unmatchable);
    expect(twoCookies.run(null, ["cookie", "stage=" + huge]).outcome).toBe(Outcome.Unmatchable);
  });

  it("keeps each key's decoded value apart, and a later source of a key overrides an earlier one", () => {
    const h = metadata(
      oneSelectorService(
        [new SubsetSelector(["stage", "version"], FallbackPolicy.Unset)],
        [
          new HeaderMapping(KeySource.Query, "s", "stage", null),
          new HeaderMapping(KeySource.Baggage, "v", "version", null),
          new HeaderMapping(KeySource.Baggage, "s", "stage", null),
          new HeaderMapping(KeySource.Header, "x-stage", "stage", null),
        ],
      ),
    );
    expect(h.route(null)!.headers.length).toBe(3);
    expect(h.run(null, [":path", "/?s=%61", "baggage", "v=%62"]).decision).toBe("subset:stage=a,version=b");
    expect(h.run(null, [":path", "/?s=a", "baggage", "v=b,s=%63"]).decision).toBe("subset:stage=c,version=b");
    expect(h.run(null, [":path", "/?s=a", "baggage", "v=b,s=c", "x-stage", "d"]).decision).toBe(
      "subset:stage=d,version=b",
    );
  });

  it("looks the decoded tuple up in catalog mode", () => {
    const service = seedService(Mode.Catalog);
    service.routes = [
      new RouteConfig("default", [
        new HeaderMapping(KeySource.Baggage, "stage", "stage", "prod"),
        new HeaderMapping(KeySource.Query, "version", "version", "v3"),
      ]),
    ];
    const h = new Harness(new PluginConfig(Mode.Catalog, PREFIX, false, [service]));
    const r = h.run("default", ["baggage", "stage=d%65v", ":path", "/?version=v%31"]);
    expect(r.decision).toBe("subset:stage=dev,version=v1");
    expect(r.writes).toStrictEqual(["x-dynamic-subset-subset: dev-v1.9f3c1a7e52d04b68"]);
  });
});

const ABC_MAPPINGS: HeaderMapping[] = [
  new HeaderMapping(KeySource.Header, "x-a", "a", null),
  new HeaderMapping(KeySource.Header, "x-b", "b", null),
  new HeaderMapping(KeySource.Header, "x-c", "c", null),
];

describe("decide: selector choice", () => {
  it("prefers the exact key set, else the most keys all present, ties to configuration order", () => {
    const h = metadata(
      oneSelectorService(
        [
          new SubsetSelector(["a"], FallbackPolicy.Unset),
          new SubsetSelector(["b", "c"], FallbackPolicy.Unset),
          new SubsetSelector(["a", "b"], FallbackPolicy.Unset),
          new SubsetSelector(["c"], FallbackPolicy.Unset),
        ],
        ABC_MAPPINGS,
      ),
    );
    expect(h.run(null, ["x-a", "1"]).decision).toBe("subset:a=1");
    expect(h.run(null, ["x-c", "3"]).decision).toBe("subset:c=3");
    expect(h.run(null, ["x-b", "2", "x-c", "3"]).decision).toBe("subset:b=2,c=3");
    // {a,b,c}: [b,c] and [a,b] both have two keys; [b,c] comes first. K is reduced to it.
    const r = h.run(null, ["x-a", "1", "x-b", "2", "x-c", "3"]);
    expect(r.decision).toBe("subset:b=2,c=3");
    expect(r.writes).toStrictEqual(["x-dynamic-subset-b: 2", "x-dynamic-subset-c: 3"]);
    // {a,c}: no two-key selector is covered; [a] and [c] tie, [a] comes first.
    expect(h.run(null, ["x-a", "1", "x-c", "3"]).decision).toBe("subset:a=1");
    // {b}: no selector's keys are all present.
    expect(h.run(null, ["x-b", "2"]).outcome).toBe(Outcome.NoSelector);
  });

  it("drops an unmatchable value of a key the chosen selector does not use", () => {
    const h = metadata(oneSelectorService([new SubsetSelector(["a"], FallbackPolicy.Unset)], ABC_MAPPINGS));
    const r = h.run(null, ["x-a", "1", "x-b", "not valid"]);
    expect(r.outcome).toBe(Outcome.Subset);
    expect(r.decision).toBe("subset:a=1");
  });
});

function catalogService(global: FallbackPolicy, own: FallbackPolicy): ServiceConfig {
  const svc = seedService(Mode.Catalog);
  svc.fallbackPolicy = global;
  svc.selectors[0].fallbackPolicy = own;
  return svc;
}

function harness(svc: ServiceConfig): Harness {
  return new Harness(new PluginConfig(Mode.Catalog, PREFIX, false, [svc]));
}

describe("decide: catalog fallbacks", () => {
  it("uses the selector's own policy, else the global one", () => {
    const any = harness(catalogService(FallbackPolicy.NoFallback, FallbackPolicy.AnyEndpoint));
    const r = any.run("default", ["x-stage", "prod", "x-version", "v1"]);
    expect(r.outcome).toBe(Outcome.FallbackAny);
    expect(r.decision).toBe("fallback:ANY_ENDPOINT");
    expect(r.writes.length).toBe(0);
    expect(r.clearRouteCache).toBe(false);
    expect(r.localReply).toBe(false);

    const global = harness(catalogService(FallbackPolicy.DefaultSubset, FallbackPolicy.Unset));
    expect(global.run("default", ["x-stage", "prod", "x-version", "v1"]).outcome).toBe(Outcome.FallbackDefault);

    const strict = harness(catalogService(FallbackPolicy.DefaultSubset, FallbackPolicy.NoFallback));
    const s = strict.run("default", ["x-stage", "prod", "x-version", "v1"]);
    expect(s.outcome).toBe(Outcome.NoFallback);
    expect(s.localReply).toBe(true);
  });

  it("answers 503 when the default subset is not in the catalog", () => {
    const svc = catalogService(FallbackPolicy.NoFallback, FallbackPolicy.DefaultSubset);
    svc.catalog!.subsets = [new CatalogSubset("dev-v1", [new Label("stage", "dev"), new Label("version", "v1")])];
    const r = harness(svc).run("default", ["x-stage", "prod"]);
    expect(r.outcome).toBe(Outcome.NoFallback);
    expect(r.decision).toBe("fallback:NO_FALLBACK");
    expect(r.localReply).toBe(true);
  });

  it("falls back to a default endpoint when defaultSubset names %ip%", () => {
    const svc = catalogService(FallbackPolicy.DefaultSubset, FallbackPolicy.Unset);
    svc.defaultSubset = [new Label("%ip%", "192.168.0.104")];
    const r = harness(svc).run("pin", ["x-ip", "10.1.1.1"]);
    expect(r.outcome).toBe(Outcome.FallbackDefault);
    expect(r.writes).toStrictEqual(["x-dynamic-subset-host: MTkyLjE2OC4wLjEwNDo4MDAw"]);
    expect(r.clearRouteCache).toBe(false);
  });

  it("counts no_selector whatever global fallback follows", () => {
    const svc = catalogService(FallbackPolicy.DefaultSubset, FallbackPolicy.Unset);
    const r = harness(svc).run("pin", []);
    expect(r.outcome).toBe(Outcome.NoSelector);
    expect(r.decision).toBe("fallback:DEFAULT_SUBSET");
    expect(r.writes).toStrictEqual(["x-dynamic-subset-subset: prod-v3.9f3c1a7e52d04b68"]);
  });
});

describe("decide: both modes agree", () => {
  it("writes in metadata mode exactly the tuple that catalog mode looks up", () => {
    const meta = metadataSeed;
    const cat = catalogSeed;
    const stages = ["dev", "prod", "qa", "", "bad value"];
    const versions = ["v1", "v2", "v3", "v4", ""];
    for (let s = 0; s < stages.length; s++) {
      for (let v = 0; v < versions.length; v++) {
        const headers = ["x-stage", stages[s], "x-version", versions[v]];
        const m = meta.run("default", headers);
        const c = cat.run("default", headers);
        // The same selector, and a found subset is named by the very tuple metadata mode writes.
        expect(meta.decider.selector).toBe(meta.service.selectors[0]);
        if (c.outcome == Outcome.Subset) expect(c.decision).toBe(m.decision);
        expect(m.outcome == Outcome.Unmatchable).toBe(c.outcome == Outcome.Unmatchable);
      }
    }
  });
});

const HOST = "helloworld.default.svc.cluster.local";

/** The seed's service as the istio target renders it: a `host` entry, routes "default" and "pin". */
function istioSeed(): Harness {
  const svc = seedService(Mode.Catalog);
  svc.cluster = null;
  svc.host = HOST;
  return harness(svc);
}

const steeredSeed = istioSeed();

describe('decide: a client steered onto a generated route (docs/behaviour.md "The route token")', () => {
  it("takes a generated subset cluster and route <route>.<subset> for <route>, and decides from the headers", () => {
    // The client sent the subset header of dev-v1 with the token; its own values say prod/v2.
    const r = steeredSeed.arrive("outbound|8000|dev-v1|" + HOST, "default.dev-v1", [
      "x-stage",
      "prod",
      "x-version",
      "v2",
    ])!;
    expect(r.onGeneratedRoute).toBe(true);
    expect(r.decision).toBe("subset:stage=prod,version=v2");
    expect(r.writes).toStrictEqual(["x-dynamic-subset-subset: prod-v2.9f3c1a7e52d04b68"]);
    expect(r.clearRouteCache).toBe(true);
  });

  it("matches the route again even when the decision writes no subset header", () => {
    const any = seedService(Mode.Catalog);
    any.host = HOST;
    any.cluster = null;
    any.selectors[0].fallbackPolicy = FallbackPolicy.AnyEndpoint;
    const r = harness(any).arrive("outbound|8000|dev-v1|" + HOST, "default.dev-v1", ["x-stage", "qa"])!;
    expect(r.outcome).toBe(Outcome.FallbackAny);
    expect(r.writes.length).toBe(0);
    expect(r.clearRouteCache).toBe(true);
  });

  it("answers NO_FALLBACK's 503 itself (no route change needed)", () => {
    const r = steeredSeed.arrive("outbound|8000|prod-v3|" + HOST, "pin.prod-v3", ["x-ip", "10.9.9.9"])!;
    expect(r.outcome).toBe(Outcome.NoFallback);
    expect(r.localReply).toBe(true);
    expect(r.clearRouteCache).toBe(false);
  });

  it("reads <route>.<subset>.<match name> as <route>.<match name>, and an unknown route as the unnamed entry", () => {
    const svc = seedService(Mode.Catalog);
    svc.cluster = null;
    svc.host = HOST;
    svc.routes.push(
      new RouteConfig("web.api", [
        new HeaderMapping(KeySource.Header, "x-api-stage", "stage", "dev"),
        new HeaderMapping(KeySource.Header, "x-api-version", "version", "v2"),
      ]),
    );
    svc.routes.push(new RouteConfig(null, [new HeaderMapping(KeySource.Header, "x-any-version", "version", null)]));
    const h = harness(svc);
    // web.api's mappings (default: v2 for the version), not default's (v3) nor the unnamed entry's.
    const named = h.arrive("outbound|80|dev-v1|" + HOST, "web.dev-v1.api", ["x-api-stage", "prod"])!;
    expect(named.decision).toBe("subset:stage=prod,version=v2");
    // http-3 is how the renderer names the generated routes of an unnamed user route: the unnamed entry applies.
    const unnamed = h.arrive("outbound|80|dev-v1|" + HOST, "http-3.dev-v1", ["x-any-version", "v1"])!;
    expect(unnamed.onGeneratedRoute).toBe(true);
    expect(unnamed.outcome).toBe(Outcome.NoSelector);
  });

  it("takes the pin route <route>.%ip% on the service's own cluster for <route>", () => {
    const r = steeredSeed.arrive("outbound|8000||" + HOST, "pin.%ip%", ["x-ip", "192.168.0.104"])!;
    expect(r.onGeneratedRoute).toBe(true);
    expect(r.decision).toBe("subset:%ip%=192.168.0.104");
    const plain = steeredSeed.arrive("outbound|8000||" + HOST, "pin", ["x-ip", "192.168.0.104"])!;
    expect(plain.onGeneratedRoute).toBe(false);
    expect(plain.writes.length).toBe(2);
  });

  it("passes through a subset the catalog does not have, and a catalog subset reached on a user's own route", () => {
    expect(steeredSeed.arrive("outbound|8000|v1|" + HOST, "default.v1", [])).toBeNull();
    expect(steeredSeed.arrive("outbound|8000|dev-v1|other.default.svc.cluster.local", "default.dev-v1", [])).toBeNull();
    expect(steeredSeed.arrive("outbound|8000|dev-v1|" + HOST, "mine", [])).toBeNull();
    expect(steeredSeed.arrive("outbound|8000|dev-v1|" + HOST, "default.dev-v10", [])).toBeNull();
  });

  it("does not steer in metadata mode (no catalog: no generated routes)", () => {
    const svc = seedService(Mode.Metadata);
    svc.cluster = null;
    svc.host = HOST;
    const h = new Harness(new PluginConfig(Mode.Metadata, PREFIX, false, [svc]));
    expect(h.arrive("outbound|8000|dev-v1|" + HOST, "default.dev-v1", [])).toBeNull();
    expect(h.arrive("outbound|8000||" + HOST, "pin.%ip%", ["x-ip", "192.168.0.6"])!.onGeneratedRoute).toBe(false);
  });
});
