// The dynamic_subset root context (one per plugin configuration) and its HTTP streams.
//
// Configuration: on_configure parses and validates the whole configuration, compiles it into
// tables and swaps them in at once; a rejected configuration logs one error line per problem,
// counts itself and leaves the previous tables in force.
//
// Request headers (the budget of docs/performance.md, host calls in order):
//   get_property xds.cluster_name                      1
//   get_property xds.route_name                        0-1 (only if the service has a named route or strict
//                                                           pins, or the request is on a generated subset cluster)
//   get_header, one per distinct header read           = mapped headers read (cookie, :path and baggage count
//                                                        once each, however many cookies, parameters, members)
//   replace or remove, one per internal header         = internal headers written or removed
//   set_property "dynamic_subset"                      1
//   increment_metric requests + outcome                2
//   send_local_response (503) or clear_route_cache     0-1
// An unconfigured cluster costs the first and the internal-header calls only. Logging only
// at debug, only when Envoy's level (read at configure) asks for it, and only of the decision
// string, which never contains a raw request value (unmatchable values show as ~invalid~).
//
// Order: the internal headers are removed (or overwritten) after the mapped headers are read;
// that is the same as removing them first because configuration validation guarantees no
// mapped header is an internal one.
//
// clear_route_cache is called when the subset header was written (catalog mode): the route must
// be matched again. Writing only the session header (a %ip% pin that is not strict) keeps the base route, and
// Envoy's stateful session picks the host, so no call then. A request a client steered onto a generated route
// (arrival.ts) gets the call whatever the decision writes, so the route is matched again from the filter's
// headers. NotFound/Unimplemented mean an Envoy older than 1.33, which re-matches routes after a wasm header
// change by itself: logged once at debug, and the root stops calling it.

import { HttpContext, RootContext } from "../abi/context";
import { BufferType, FilterHeadersStatus, LogLevel, MapType, WasmResult } from "../abi/enums";
import {
  ByteView,
  callForeignFunction,
  EMPTY_BYTES,
  getBufferBytes,
  getHeaderView,
  getPropertyView,
  log,
  logLevel,
  removeHeader,
  replaceHeader,
  replaceHeaderRaw,
  sendLocalResponse,
  setPropertyRaw,
} from "../abi/hostcalls";
import { noteAllocation, OBJECT_COST } from "../abi/gc";
import { HeaderPair, serializePairs } from "../abi/pairs";
import { DECISION_HEADER, ROOT_ID } from "../../src/config/constants";
import { emptyPluginConfig, parseConfig } from "./config/index";
import { decimal } from "./decimal";
import { Decider, OUTCOME_NAMES } from "./decision";
import { Metrics } from "./metrics";
import { message, Msg } from "./messages";
import { Mode } from "./model";
import { compileTables } from "./tables/compile";
import { ServiceTable, Tables } from "./tables/runtime";
import { Arrival } from "./arrival";
import { utf8 } from "../abi/utf8";

export { ROOT_ID };

// Property paths: segments joined by NUL.
const CLUSTER_NAME_PATH = utf8("xds\0cluster_name");
const ROUTE_NAME_PATH = utf8("xds\0route_name");
const FILTER_STATE_PATH = utf8(ROOT_ID); // Envoy stores it as wasm.dynamic_subset
const CLEAR_ROUTE_CACHE = utf8("clear_route_cache");
const DECISION_HEADER_NAME = utf8(DECISION_HEADER);
const NO_HEALTHY_UPSTREAM = utf8("no healthy upstream");
const NO_FALLBACK_DETAILS = utf8("dynamic_subset_no_fallback");
/** Out-parameter of the property and header reads (holds nothing between two of them). */
const answer = new ByteView();

export class DynamicSubsetRoot extends RootContext {
  /** The compiled configuration in force (with its scratch); replaced whole by on_configure. */
  decider: Decider = new Decider(compileTables(emptyPluginConfig()));
  /** Envoy's log level asks for debug lines (read at configure, not per request). */
  debug: bool = false;
  private metrics: Metrics | null = null;
  private clearRouteCacheAvailable: bool = true;

  onConfigure(pluginConfigurationSize: u32): bool {
    this.debug = logLevel() <= LogLevel.Debug;
    const metrics = this.definedMetrics();
    const bytes = getBufferBytes(BufferType.PluginConfiguration, 0, pluginConfigurationSize);
    if (bytes == null && pluginConfigurationSize > 0) {
      log(LogLevel.Error, message(Msg.ConfigurationWithheld));
      metrics.countRejectedConfiguration();
      return false;
    }
    const result = parseConfig(bytes != null ? bytes : EMPTY_BYTES);
    for (let i = 0; i < result.warnings.length; i++) log(LogLevel.Warn, result.warnings[i]);
    const config = result.config;
    if (config == null || result.errors.length > 0) {
      for (let i = 0; i < result.errors.length; i++) log(LogLevel.Error, result.errors[i]);
      metrics.countRejectedConfiguration();
      return false;
    }
    const tables = compileTables(config);
    this.decider = new Decider(tables);
    log(LogLevel.Info, summary(tables));
    return true;
  }

  newHttpContext(contextId: u32): HttpContext {
    return new DynamicSubsetStream(contextId, this);
  }

  /** The counters, defined on first use. Inlined: every request asks; after the first, a load and a null check. */
  // @ts-ignore: decorator
  @inline definedMetrics(): Metrics {
    let metrics = this.metrics;
    if (metrics == null) {
      metrics = new Metrics();
      this.metrics = metrics;
    }
    return metrics;
  }

  clearRouteCache(): void {
    if (!this.clearRouteCacheAvailable) return;
    const result = callForeignFunction(CLEAR_ROUTE_CACHE, EMPTY_BYTES);
    if (result == WasmResult.NotFound || result == WasmResult.Unimplemented) {
      this.clearRouteCacheAvailable = false;
      if (this.debug) {
        log(LogLevel.Debug, message(Msg.NoClearRouteCache));
      }
    }
  }
}

function summary(tables: Tables): string {
  return message(Msg.Configured, [
    tables.mode == Mode.Catalog ? "catalog" : "metadata",
    decimal(tables.services.length),
    decimal(tables.routeCount),
    decimal(tables.selectorCount),
    decimal(tables.strip.length),
  ]);
}

export class DynamicSubsetStream extends HttpContext {
  /** responseHeader: the decision to add to the response. */
  private decision: ArrayBuffer | null = null;
  /** The filter answered 503 itself; that reply already carries the decision header. */
  private repliedLocally: bool = false;
  /** Catalog %ip%: the session header Envoy may add to the response, removed there. */
  private sessionHeader: ArrayBuffer | null = null;

  constructor(
    contextId: u32,
    readonly plugin: DynamicSubsetRoot,
  ) {
    super(contextId, plugin);
  }

  reset(): void {
    this.decision = null;
    this.repliedLocally = false;
    this.sessionHeader = null;
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const plugin = this.plugin;
    const decider = plugin.decider; // one snapshot for the whole request
    const tables = decider.tables;
    const arrival = decider.arrival;
    const service = findService(arrival);
    if (service == null) {
      stripInternalHeaders(tables, null);
      return FilterHeadersStatus.Continue;
    }
    const route = arrival.route;
    if (route != null) {
      decider.clearHeaders();
      const headers = route.headers;
      for (let slot = 0; slot < headers.length; slot++) {
        if (getHeaderView(MapType.HttpRequestHeaders, unchecked(headers[slot]), answer)) {
          decider.setHeader(slot, answer.ptr, answer.length);
        }
      }
    }
    decider.decide(service, route, arrival.onGeneratedRoute);
    stripInternalHeaders(tables, decider);
    if (decider.clearRouteCache) plugin.clearRouteCache();
    // A failed write loses only the access-log field; the decision stands, so the result is not looked at.
    setPropertyRaw(FILTER_STATE_PATH, decider.decisionPtr, decider.decisionLen);
    plugin.definedMetrics().countRequest(decider.outcome, arrival.onGeneratedRoute);
    if (plugin.debug) logDecision(decider);
    this.sessionHeader = service.responseSessionHeader;
    if (tables.responseHeader) this.decision = copyDecision(decider);
    if (decider.localReply) {
      this.sendNoHealthyUpstream();
      return FilterHeadersStatus.StopIteration;
    }
    return FilterHeadersStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const sessionHeader = this.sessionHeader;
    if (sessionHeader != null) removeHeader(MapType.HttpResponseHeaders, sessionHeader);
    const decision = this.decision;
    if (decision != null && !this.repliedLocally) {
      replaceHeader(MapType.HttpResponseHeaders, DECISION_HEADER_NAME, decision);
    }
    return FilterHeadersStatus.Continue;
  }

  private sendNoHealthyUpstream(): void {
    const decision = this.decision;
    const headers = decision != null ? serializePairs([new HeaderPair(DECISION_HEADER_NAME, decision)]) : EMPTY_BYTES;
    noteAllocation(<usize>headers.byteLength + 4 * OBJECT_COST); // the pair, its array, the block
    sendLocalResponse(503, NO_FALLBACK_DETAILS, NO_HEALTHY_UPSTREAM, headers);
    this.repliedLocally = true;
  }
}

/**
 * The configured service of the request's cluster, or null (pass through), with its route entry in `arrival`: the
 * entry named by xds.route_name, else the unnamed entry, else null (no mapping).
 */
function findService(arrival: Arrival): ServiceTable | null {
  if (!getPropertyView(CLUSTER_NAME_PATH, answer) || !arrival.fromCluster(answer.ptr, answer.length)) return null;
  if (arrival.needsRouteName) {
    // no route name reads as the empty one
    if (!getPropertyView(ROUTE_NAME_PATH, answer)) answer.length = 0;
    if (!arrival.fromRouteName(answer.ptr, answer.length)) return null;
  }
  return arrival.service;
}

/**
 * docs/behaviour.md, "Security": every internal header is removed, except the ones the decision writes, which are
 * replaced instead (replace = remove all copies, then add: one host call either way).
 */
function stripInternalHeaders(tables: Tables, decider: Decider | null): void {
  const strip = tables.strip;
  if (decider == null || decider.writeCount == 0) {
    // nothing written (no decision, or one without a subset, like "none"): no header to look up
    for (let i = 0; i < strip.length; i++) removeHeader(MapType.HttpRequestHeaders, unchecked(strip[i]));
    return;
  }
  for (let i = 0; i < decider.writeCount; i++) {
    const index = unchecked(decider.writeStrip[i]);
    if (index >= 0 && index < strip.length) {
      const value = unchecked(decider.writePtr[i]);
      replaceHeaderRaw(MapType.HttpRequestHeaders, unchecked(strip[index]), value, unchecked(decider.writeLength[i]));
    }
  }
  const count = strip.length; // not reloaded after every host call
  for (let i = 0; i < count; i++) {
    if (!decider.isWritten(i)) removeHeader(MapType.HttpRequestHeaders, unchecked(strip[i]));
  }
}

function copyDecision(decider: Decider): ArrayBuffer {
  const copy = new ArrayBuffer(decider.decisionLen);
  memory.copy(changetype<usize>(copy), decider.decisionPtr, <usize>decider.decisionLen);
  noteAllocation(<usize>decider.decisionLen + OBJECT_COST);
  return copy;
}

function logDecision(decider: Decider): void {
  const decision = String.UTF8.decodeUnsafe(decider.decisionPtr, <usize>decider.decisionLen);
  log(LogLevel.Debug, message(Msg.Decision, [decision, OUTCOME_NAMES[decider.outcome]]));
}
