// The tables a request reads: immutable once compile.ts has built them from a validated configuration. Every
// constant a request needs (header names, header values, decision strings) is UTF-8 already, and every lookup
// on request bytes goes through a ByteKeyIndex, so a request never encodes or decodes anything.

import { FallbackPolicy, KeySource, Mode } from "../model";
import { ByteKeyIndex } from "./byte-key-index";

/** Written in metadata mode instead of an unmatchable value: not a label value, so it matches nothing. */
export const INVALID_VALUE = "~invalid~";
/** A metadata-mode decision: "subset:<key>=<value>,<key>=<value>..." (docs/behaviour.md "Observability"). */
export const SUBSET_DECISION_PREFIX = "subset:";

/** One distinct subset key of a service. */
export class KeyTable {
  constructor(
    public name: ArrayBuffer, // UTF-8
    public stripIndex: i32, // Tables.strip[stripIndex]: its metadata-mode header name (docs/behaviour.md "What the filter writes")
    public isIp: bool,
  ) {}
}

export class MappingTable {
  constructor(
    public headerSlot: i32, // index into RouteTable.headers: the header the value is read from
    public source: KeySource,
    public name: ArrayBuffer, // UTF-8: the cookie name, query parameter name or baggage key (header: its name)
    public key: i32, // index into ServiceTable.keys
    public defaultValue: ArrayBuffer | null,
  ) {}
}

export class RouteTable {
  constructor(
    public headers: ArrayBuffer[], // the distinct headers its mappings read, each read once per request
    public mappings: MappingTable[], // configuration order
  ) {}
}

/** Where a catalog-mode request goes: one header to write, two for a strict pin. */
export class Target {
  constructor(
    public stripIndex: i32, // Tables.strip[stripIndex]: the subset header, or the session header for an endpoint
    public value: ArrayBuffer, // "<subset>.<routeToken>", or base64("<ip>:<port>")
    public decision: ArrayBuffer, // filter-state value (docs/behaviour.md "Observability")
    public isEndpoint: bool, // a pin: the session header picks the host after routing
    // A pin under NO_FALLBACK: also the subset header "%ip%.<routeToken>" (at Tables.strip[pinStrip]), which selects
    // the generated pin route (strict session, no retries): docs/behaviour.md "What the filter writes".
    public strictPin: ArrayBuffer | null = null,
    public pinStrip: i32 = -1,
  ) {}

  /** The route must be matched again: a subset, or a strict pin's pin route. */
  get changesRoute(): bool {
    return !this.isEndpoint || this.strictPin != null;
  }
}

export class SelectorTable {
  constructor(
    public keys: StaticArray<i32>, // indexes into ServiceTable.keys, in byte order of the key names
    public mask: u64,
    public policy: FallbackPolicy, // effective: the selector's own, else the service's global one
    public tuples: ByteKeyIndex, // catalog mode: value tuple (values in `keys` order, NUL-joined) -> targets[i]
    public targets: Target[],
    // Metadata mode, per key (in `keys` order): the decision's text before its value ("subset:<key>=", then
    // ",<key>=") and its header (Tables.strip index).
    public decisionParts: StaticArray<ArrayBuffer> = [],
    public keyStrips: StaticArray<i32> = [],
  ) {}
}

export class ServiceTable {
  constructor(
    public keys: KeyTable[],
    public selectors: SelectorTable[], // configuration order
    public routesByName: ByteKeyIndex,
    public routes: RouteTable[], // parallel to routesByName
    public unnamedRoute: RouteTable | null,
    public globalPolicy: FallbackPolicy,
    public defaultTarget: Target | null, // catalog mode; null: the catalog has no default subset
    // Catalog mode with %ip% pinning: Envoy's header-based stateful session puts the pod address
    // into this response header whenever it differs from the request's; the filter removes it.
    public responseSessionHeader: ArrayBuffer | null,
    // Catalog mode: the names of the catalog subsets (generated clusters "outbound|<port>|<name>|<host>"),
    // indexed like subsetNames.
    public subsetIndex: ByteKeyIndex = new ByteKeyIndex(0),
    public subsetNames: ArrayBuffer[] = [],
    // Catalog mode with strict pins: "%ip%", the segment of the generated pin routes' names "<route>.%ip%".
    public pinSegment: ArrayBuffer | null = null,
  ) {}

  /**
   * xds.route_name matters if some route has a name, or to tell a request a client steered onto a generated pin
   * route (its cluster is the service's own, only its name says so).
   */
  get needsRouteName(): bool {
    return this.routesByName.size > 0 || this.pinSegment != null;
  }
}

export class Tables {
  services: ServiceTable[] = [];
  clusters: ByteKeyIndex; // cluster name -> clusterService[i]
  clusterService: i32[] = [];
  hosts: ByteKeyIndex; // Istio host -> hostService[i]
  hostService: i32[] = [];
  /** Every internal header: removed (or replaced) on every request. */
  strip: StaticArray<ArrayBuffer> = [];
  // Sizes of the per-request scratch (decision.ts) and the configuration summary.
  maxRouteHeaders: i32 = 0;
  maxServiceKeys: i32 = 0;
  maxTupleBytes: i32 = 0;
  maxDecisionBytes: i32 = 16;
  maxRouteNameBytes: i32 = 0;
  routeCount: i32 = 0;
  selectorCount: i32 = 0;
  private clusterParts: IstioClusterName = new IstioClusterName();

  constructor(
    public mode: Mode,
    public responseHeader: bool,
    serviceCount: i32,
  ) {
    this.clusters = new ByteKeyIndex(serviceCount);
    this.hosts = new ByteKeyIndex(serviceCount);
  }

  /**
   * The service for an xds.cluster_name: the first entry in configuration order
   * whose `cluster` equals it or whose `host` matches its Istio form
   * "outbound|<port>||<host>" (empty subset). -1: not configured.
   */
  findService(ptr: usize, len: i32): i32 {
    let best = -1;
    const exact = this.clusters.find(ptr, len);
    if (exact >= 0) best = unchecked(this.clusterService[exact]);
    if (this.hosts.size == 0) return best;
    const parts = this.clusterParts;
    if (parts.parse(ptr, len) && parts.subsetLen == 0) {
      const service = this.serviceOfHost(ptr, len, parts);
      if (service >= 0 && (best < 0 || service < best)) best = service;
    }
    return best;
  }

  /** The `host` entry for the host of a parsed Istio cluster name, -1: none. */
  serviceOfHost(ptr: usize, len: i32, parts: IstioClusterName): i32 {
    const byHost = this.hosts.find(ptr + <usize>parts.hostStart, len - parts.hostStart);
    return byHost >= 0 ? unchecked(this.hostService[byHost]) : -1;
  }
}

const OUTBOUND = "outbound|";

/** Where the parts of an Istio outbound cluster name "outbound|<digits>|<subset>|<host>" are (pilot BuildSubsetKey). */
export class IstioClusterName {
  subsetStart: i32 = 0;
  subsetLen: i32 = 0;
  hostStart: i32 = 0;

  /** false: not that form (the host must be non-empty; the subset may be empty). */
  parse(ptr: usize, len: i32): bool {
    const prefixLen = OUTBOUND.length;
    if (len <= prefixLen + 3) return false;
    for (let i = 0; i < prefixLen; i++) {
      if (<u32>load<u8>(ptr + <usize>i) != <u32>OUTBOUND.charCodeAt(i)) return false;
    }
    let i = prefixLen;
    while (i < len && <u32>load<u8>(ptr + <usize>i) - 0x30 < 10) i++;
    if (i == prefixLen || i >= len || load<u8>(ptr + <usize>i) != 0x7c) return false;
    const subsetStart = i + 1;
    i = subsetStart;
    while (i < len && load<u8>(ptr + <usize>i) != 0x7c) i++;
    if (i + 1 >= len) return false; // no second '|', or nothing after it
    this.subsetStart = subsetStart;
    this.subsetLen = i - subsetStart;
    this.hostStart = i + 1;
    return true;
  }
}
