// Compiles a validated PluginConfig (model.ts) once, in on_configure, into the immutable tables of runtime.ts
// that the hot path reads: every string a request needs is encoded to UTF-8 here, every lookup gets its
// ByteKeyIndex, and the sizes of the per-request scratch are taken.

import { IP_KEY, PIN_ROUTE_SEGMENT, SESSION_HEADER_SUFFIX, SUBSET_HEADER_SUFFIX } from "../../../src/config/constants";
import { utf8, utf8Into } from "../../abi/utf8";
import { base64Encode } from "../base64";
import { keyHeaderName } from "../headername";
import { MAX_LABEL_VALUE } from "../labels";
import {
  Catalog,
  FallbackPolicy,
  KeySource,
  Label,
  Mode,
  PluginConfig,
  RouteConfig,
  ServiceConfig,
  SubsetSelector,
} from "../model";
import { ByteKeyIndex } from "./byte-key-index";
import {
  INVALID_VALUE,
  KeyTable,
  MappingTable,
  RouteTable,
  SelectorTable,
  ServiceTable,
  SUBSET_DECISION_PREFIX,
  Tables,
  Target,
} from "./runtime";

/** Longest value a resolved key can carry into a header or decision string. */
const MAX_WRITTEN_VALUE: i32 = MAX_LABEL_VALUE > INVALID_VALUE.length ? MAX_LABEL_VALUE : INVALID_VALUE.length;

/** Byte-order comparison of two UTF-8 strings (docs/behaviour.md "Routing decision": key order is byte order). */
function compareBytes(a: ArrayBuffer, b: ArrayBuffer): i32 {
  const n = min(a.byteLength, b.byteLength);
  const c = memory.compare(changetype<usize>(a), changetype<usize>(b), <usize>n);
  return c != 0 ? c : a.byteLength - b.byteLength;
}

/** Builds UTF-8 byte strings at configuration time: one allocation per finished result. */
class ByteBuilder {
  private buffer: ArrayBuffer = new ArrayBuffer(128);
  private length: i32 = 0;

  reset(): ByteBuilder {
    this.length = 0;
    return this;
  }

  private reserve(extra: i32): usize {
    if (this.length + extra > this.buffer.byteLength) {
      const bigger = new ArrayBuffer(max(this.buffer.byteLength * 2, this.length + extra));
      memory.copy(changetype<usize>(bigger), changetype<usize>(this.buffer), <usize>this.length);
      this.buffer = bigger;
    }
    return changetype<usize>(this.buffer) + <usize>this.length;
  }

  byte(value: u8): ByteBuilder {
    store<u8>(this.reserve(1), value);
    this.length++;
    return this;
  }

  bytes(value: ArrayBuffer): ByteBuilder {
    memory.copy(this.reserve(value.byteLength), changetype<usize>(value), <usize>value.byteLength);
    this.length += value.byteLength;
    return this;
  }

  string(text: string): ByteBuilder {
    const size = String.UTF8.byteLength(text);
    this.length += <i32>utf8Into(text, this.reserve(size));
    return this;
  }

  finish(): ArrayBuffer {
    const out = new ArrayBuffer(this.length);
    memory.copy(changetype<usize>(out), changetype<usize>(this.buffer), <usize>this.length);
    return out;
  }
}

/** Deduplicated list of internal header names. */
class StripList {
  names: ArrayBuffer[] = [];
  private index: ByteKeyIndex = new ByteKeyIndex(16);

  add(bytes: ArrayBuffer): i32 {
    const i = this.index.add(bytes);
    if (i == this.names.length) this.names.push(bytes);
    return i;
  }
}

function effectivePolicy(own: FallbackPolicy, global: FallbackPolicy): FallbackPolicy {
  return own != FallbackPolicy.Unset ? own : global;
}

/** The label value for `key`, or null. */
function labelValue(labels: Label[], key: string): string | null {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i].key == key) return labels[i].value;
  }
  return null;
}

const MAX_INTERNED = 16;

class ServiceCompiler {
  keyNames: string[] = [];
  keys: KeyTable[] = [];
  /** keys[0 .. selectorKeyCount) are the keys some selector uses. */
  selectorKeyCount: i32 = 0;
  /** Catalog mode: some %ip% selector falls back with NO_FALLBACK, so its pins are strict. */
  strictPins: bool = false;
  private bytes: ByteBuilder = new ByteBuilder();
  private internedText: string[] = [];
  private internedBytes: ArrayBuffer[] = [];
  private headerIndex: Map<string, i32> = new Map<string, i32>();
  private headerBytes: ArrayBuffer[] = [];
  private subsetHeader: i32; // Tables.strip indexes
  private sessionHeader: i32;

  constructor(
    private config: ServiceConfig,
    private headerPrefix: string,
    private strip: StripList,
  ) {
    this.subsetHeader = strip.add(utf8(headerPrefix + SUBSET_HEADER_SUFFIX));
    const catalog = config.catalog; // its session header is internal (docs/behaviour.md "Security")
    this.sessionHeader = catalog != null ? strip.add(utf8(catalog.sessionHeader)) : -1;
  }

  keyIndex(name: string): i32 {
    for (let i = 0; i < this.keyNames.length; i++) {
      if (this.keyNames[i] == name) return i;
    }
    const header = keyHeaderName(this.headerPrefix, name);
    this.keyNames.push(name);
    this.keys.push(new KeyTable(utf8(name), this.strip.add(header), name == IP_KEY));
    return this.keyNames.length - 1;
  }

  /**
   * Registers every key the service names, so a client can spoof none of their headers.
   * Selector keys first: their indexes (< MAX_KEYS_PER_SERVICE) are the selector mask bits.
   */
  private collectKeys(): void {
    const selectors = this.config.selectors;
    for (let i = 0; i < selectors.length; i++) {
      for (let k = 0; k < selectors[i].keys.length; k++) this.keyIndex(selectors[i].keys[k]);
    }
    this.selectorKeyCount = this.keys.length;
    const routes = this.config.routes;
    for (let i = 0; i < routes.length; i++) {
      for (let m = 0; m < routes[i].mappings.length; m++) this.keyIndex(routes[i].mappings[m].key);
    }
    const defaultSubset = this.config.defaultSubset;
    if (defaultSubset) {
      for (let i = 0; i < defaultSubset.length; i++) this.keyIndex(defaultSubset[i].key);
    }
  }

  /**
   * A route's mappings, without those whose key no selector uses: such a key can never be part
   * of the chosen selector (docs/behaviour.md "Routing decision": K is reduced to the selector's keys), so its header
   * need not be read. Mappings that read the same header (two cookies, say) share its slot: one read per request.
   */
  route(config: RouteConfig): RouteTable {
    const headers: ArrayBuffer[] = [];
    const mappings: MappingTable[] = [];
    for (let i = 0; i < config.mappings.length; i++) {
      const mapping = config.mappings[i];
      const key = this.keyIndex(mapping.key);
      if (key >= this.selectorKeyCount) continue;
      const header = this.headerName(mapping.header);
      let slot = headers.indexOf(header);
      if (slot < 0) {
        slot = headers.length;
        headers.push(header);
      }
      const name = mapping.source == KeySource.Header ? header : this.interned(mapping.name);
      const defaultValue = mapping.defaultValue;
      const defaultBytes = defaultValue != null ? this.interned(defaultValue) : null;
      mappings.push(new MappingTable(slot, mapping.source, name, key, defaultBytes));
    }
    return new RouteTable(headers, mappings);
  }

  /** The one buffer of a header name the service's mappings read: a route's slots dedupe by identity. */
  private headerName(text: string): ArrayBuffer {
    const index = this.headerIndex;
    if (index.has(text)) return unchecked(this.headerBytes[index.get(text)]);
    const bytes = utf8(text);
    index.set(text, this.headerBytes.length);
    this.headerBytes.push(bytes);
    return bytes;
  }

  /**
   * One buffer per distinct source name or default value of the service (routes repeat them); a short linear
   * list, so compilation stays linear whatever the configuration.
   */
  private interned(text: string): ArrayBuffer {
    const texts = this.internedText;
    for (let i = 0; i < texts.length; i++) {
      if (texts[i] == text) return this.internedBytes[i];
    }
    const bytes = utf8(text);
    if (texts.length < MAX_INTERNED) {
      texts.push(text);
      this.internedBytes.push(bytes);
    }
    return bytes;
  }

  selector(config: SubsetSelector, catalog: Catalog | null): SelectorTable {
    const keys = new StaticArray<i32>(config.keys.length);
    let mask: u64 = 0;
    for (let i = 0; i < config.keys.length; i++) {
      const k = this.keyIndex(config.keys[i]);
      unchecked((keys[i] = k));
      mask |= (<u64>1) << k;
    }
    // Insertion sort by key bytes: a handful of keys.
    for (let i = 1; i < keys.length; i++) {
      const k = unchecked(keys[i]);
      const name = this.keys[k].name;
      let j = i - 1;
      while (j >= 0 && compareBytes(this.keys[unchecked(keys[j])].name, name) > 0) {
        unchecked((keys[j + 1] = keys[j]));
        j--;
      }
      unchecked((keys[j + 1] = k));
    }
    const policy = effectivePolicy(config.fallbackPolicy, this.config.fallbackPolicy);
    const targets: Target[] = [];
    const tuples = new ByteKeyIndex(catalog ? catalog.subsets.length + catalog.endpoints.length : 0);
    const strict = catalog != null && policy == FallbackPolicy.NoFallback && this.hasIpKey(keys);
    if (strict) this.strictPins = true;
    if (catalog) this.catalogTargets(keys, catalog, strict, tuples, targets);
    const parts = new StaticArray<ArrayBuffer>(keys.length);
    const strips = new StaticArray<i32>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = this.keys[unchecked(keys[i])];
      const before = i == 0 ? this.bytes.reset().string(SUBSET_DECISION_PREFIX) : this.bytes.reset().byte(0x2c); // ','
      unchecked((parts[i] = before.bytes(key.name).byte(0x3d).finish())); // '='
      unchecked((strips[i] = key.stripIndex));
    }
    return new SelectorTable(keys, mask, policy, tuples, targets, parts, strips);
  }

  private hasIpKey(keys: StaticArray<i32>): bool {
    for (let i = 0; i < keys.length; i++) {
      if (this.keys[unchecked(keys[i])].isIp) return true;
    }
    return false;
  }

  /**
   * The tuple -> target map of one selector: catalog subsets whose label keys are
   * exactly the selector's keys, or, for a selector with %ip%, catalog endpoints
   * with that IP that carry every other key. The first entry for a tuple wins.
   */
  private catalogTargets(
    keys: StaticArray<i32>,
    catalog: Catalog,
    strict: bool,
    tuples: ByteKeyIndex,
    targets: Target[],
  ): void {
    const values = new Array<string>(keys.length);
    if (this.hasIpKey(keys)) {
      const strictPin = strict ? this.strictPinValue(catalog) : null; // shared by the selector's targets
      for (let e = 0; e < catalog.endpoints.length; e++) {
        const endpoint = catalog.endpoints[e];
        if (!this.tupleOf(keys, endpoint.labels, endpoint.ip, values)) continue;
        if (tuples.add(this.tupleKey(values)) == targets.length) {
          const target = this.endpointTarget(endpoint.address, this.subsetDecision(keys, values));
          if (strictPin != null) {
            target.strictPin = strictPin;
            target.pinStrip = this.subsetHeader;
          }
          targets.push(target);
        }
      }
      return;
    }
    for (let s = 0; s < catalog.subsets.length; s++) {
      const subset = catalog.subsets[s];
      if (subset.labels.length != keys.length || !this.tupleOf(keys, subset.labels, null, values)) continue;
      if (tuples.add(this.tupleKey(values)) == targets.length) {
        targets.push(this.subsetTarget(catalog, subset.name, this.subsetDecision(keys, values)));
      }
    }
  }

  /** Fills `values` with the labels' values for `keys` (ip for %ip% if given); false if one is missing. */
  private tupleOf(keys: StaticArray<i32>, labels: Label[], ip: string | null, values: string[]): bool {
    for (let i = 0; i < keys.length; i++) {
      const k = unchecked(keys[i]);
      const name = this.keyNames[k];
      const value = this.keys[k].isIp && ip != null ? ip : labelValue(labels, name);
      if (value == null) return false;
      values[i] = value;
    }
    return true;
  }

  /** "subset:k=v,..." in the selector's key order (byte order). */
  private subsetDecision(keys: StaticArray<i32>, values: string[]): ArrayBuffer {
    const out = this.bytes.reset().string("subset:");
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) out.byte(0x2c); // ','
      out.bytes(this.keys[unchecked(keys[i])].name).byte(0x3d).string(values[i]); // k=v
    }
    return out.finish();
  }

  /** The lookup form of a value tuple: values joined by NUL (no label value or IP contains one). */
  private tupleKey(values: string[]): ArrayBuffer {
    const out = this.bytes.reset();
    for (let i = 0; i < values.length; i++) {
      if (i > 0) out.byte(0);
      out.string(values[i]);
    }
    return out.finish();
  }

  private subsetTarget(catalog: Catalog, subsetName: string, decision: ArrayBuffer): Target {
    const value = this.bytes.reset().string(subsetName).byte(0x2e).string(catalog.routeToken).finish();
    return new Target(this.subsetHeader, value, decision, false);
  }

  /** The subset header value of a strict pin, "%ip%.<routeToken>": it selects the generated pin routes. */
  private strictPinValue(catalog: Catalog): ArrayBuffer {
    return this.bytes.reset().string(PIN_ROUTE_SEGMENT).byte(0x2e).string(catalog.routeToken).finish();
  }

  private endpointTarget(address: string, decision: ArrayBuffer): Target {
    return new Target(this.sessionHeader, base64Encode(address), decision, true);
  }

  compile(mode: Mode): ServiceTable {
    this.collectKeys();
    const config = this.config;
    const catalog = mode == Mode.Catalog ? config.catalog : null;
    const selectors: SelectorTable[] = [];
    for (let i = 0; i < config.selectors.length; i++) selectors.push(this.selector(config.selectors[i], catalog));
    const routesByName = new ByteKeyIndex(config.routes.length);
    const routes: RouteTable[] = [];
    let unnamedRoute: RouteTable | null = null;
    for (let i = 0; i < config.routes.length; i++) {
      const route = config.routes[i];
      const name = route.name;
      if (name == null) {
        if (unnamedRoute == null) unnamedRoute = this.route(route);
      } else if (routesByName.add(utf8(name)) == routes.length) {
        routes.push(this.route(route));
      }
    }
    const defaultTarget = catalog ? this.defaultTarget(catalog) : null;
    let pins = defaultTarget != null && defaultTarget.isEndpoint;
    for (let i = 0; i < selectors.length; i++) pins = pins || this.hasIpKey(selectors[i].keys);
    const sessionHeader = catalog != null && pins ? this.strip.names[this.sessionHeader] : null;
    const table = new ServiceTable(
      this.keys,
      selectors,
      routesByName,
      routes,
      unnamedRoute,
      config.fallbackPolicy,
      defaultTarget,
      sessionHeader,
    );
    if (catalog != null) addSteering(table, catalog, this.strictPins);
    return table;
  }

  /**
   * The DEFAULT_SUBSET target: the catalog subset whose labels equal
   * defaultSubset, or, when defaultSubset names %ip%, the endpoint with that IP
   * carrying the other labels. null: the catalog has none (such a fallback is a 503).
   */
  defaultTarget(catalog: Catalog): Target | null {
    const wanted = this.config.defaultSubset;
    if (wanted == null) return null;
    const decision = utf8("fallback:DEFAULT_SUBSET");
    const ip = labelValue(wanted, IP_KEY);
    if (ip != null) {
      for (let e = 0; e < catalog.endpoints.length; e++) {
        const endpoint = catalog.endpoints[e];
        if (endpoint.ip == ip && carriesLabels(endpoint.labels, wanted, true)) {
          return this.endpointTarget(endpoint.address, decision);
        }
      }
      return null;
    }
    for (let s = 0; s < catalog.subsets.length; s++) {
      const subset = catalog.subsets[s];
      if (subset.labels.length == wanted.length && carriesLabels(subset.labels, wanted, false)) {
        return this.subsetTarget(catalog, subset.name, decision);
      }
    }
    return null;
  }
}

/**
 * What tells a request that a client steered onto a generated route (docs/behaviour.md "The route token"): the
 * catalog's subset names (their clusters) and, with strict pins, the pin routes' name segment.
 */
function addSteering(table: ServiceTable, catalog: Catalog, strictPins: bool): void {
  const subsets = catalog.subsets;
  table.subsetIndex = new ByteKeyIndex(subsets.length);
  for (let s = 0; s < subsets.length; s++) {
    const name = utf8(subsets[s].name);
    if (table.subsetIndex.add(name) == table.subsetNames.length) table.subsetNames.push(name);
  }
  if (strictPins) table.pinSegment = utf8(PIN_ROUTE_SEGMENT);
}

/** Every label of `wanted` (except %ip% when skipIp) is in `labels` with the same value. */
function carriesLabels(labels: Label[], wanted: Label[], skipIp: bool): bool {
  for (let i = 0; i < wanted.length; i++) {
    if (skipIp && wanted[i].key == IP_KEY) continue;
    const value = labelValue(labels, wanted[i].key);
    if (value == null || value != wanted[i].value) return false;
  }
  return true;
}

/** Adds a compiled service to the tables: its cluster or host, and the sizes it needs. */
function addService(tables: Tables, config: ServiceConfig, table: ServiceTable): void {
  const index = tables.services.length;
  tables.services.push(table);
  const cluster = config.cluster;
  const host = config.host;
  if (cluster != null && tables.clusters.add(utf8(cluster)) == tables.clusterService.length)
    tables.clusterService.push(index);
  if (host != null && tables.hosts.add(utf8(host)) == tables.hostService.length) tables.hostService.push(index);
  tables.maxServiceKeys = max(tables.maxServiceKeys, table.keys.length);
  tables.routeCount += config.routes.length;
  for (let r = 0; r < config.routes.length; r++) {
    const name = config.routes[r].name;
    if (name != null) tables.maxRouteNameBytes = max(tables.maxRouteNameBytes, String.UTF8.byteLength(name));
  }
  tables.selectorCount += table.selectors.length;
  for (let r = 0; r < table.routes.length; r++) {
    tables.maxRouteHeaders = max(tables.maxRouteHeaders, table.routes[r].headers.length);
  }
  const unnamed = table.unnamedRoute;
  if (unnamed) tables.maxRouteHeaders = max(tables.maxRouteHeaders, unnamed.headers.length);
  for (let s = 0; s < table.selectors.length; s++) {
    const selector = table.selectors[s];
    let decisionBytes = 0;
    for (let k = 0; k < selector.keys.length; k++)
      decisionBytes += unchecked(selector.decisionParts[k]).byteLength + MAX_WRITTEN_VALUE;
    tables.maxDecisionBytes = max(tables.maxDecisionBytes, decisionBytes);
    tables.maxTupleBytes = max(tables.maxTupleBytes, selector.keys.length * (MAX_LABEL_VALUE + 1));
  }
}

/** Compiles a validated configuration (one without services is a no-op that still strips). */
export function compileTables(config: PluginConfig): Tables {
  const tables = new Tables(config.mode, config.responseHeader, config.services.length);
  const strip = new StripList();
  strip.add(utf8(config.headerPrefix + SUBSET_HEADER_SUFFIX));
  strip.add(utf8(config.headerPrefix + SESSION_HEADER_SUFFIX));
  for (let i = 0; i < config.services.length; i++) {
    const service = config.services[i];
    addService(tables, service, new ServiceCompiler(service, config.headerPrefix, strip).compile(config.mode));
  }
  tables.strip = StaticArray.fromArray(strip.names);
  return tables;
}
