// One HTTP stream through the filter, in Envoy's order (Context::decodeHeaders / encodeHeaders / log /
// onDestroy in Envoy's context.cc, ContextBase::on* in proxy-wasm-cpp-host context.cc).

import { asciiLower, byteStringToBytes, byteStringToText, toByteString } from "./bytes.mjs";
import { FilterHeadersStatus } from "./constants.mjs";
import { CallRecord } from "./vm.mjs";

const STOP_ALL = FilterHeadersStatus.StopAllIterationAndWatermark;
const GRPC_UNAVAILABLE = 14;
const GRPC_MAX_KNOWN = 16;

export class HeaderMap {
  constructor(entries) {
    this.entries = entries; // [lower-case name, value] byte strings, in order, duplicates kept
  }

  static from(pairs) {
    const entries = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      entries[i] = [headerName(pair[0]), toByteString(pair[1])];
    }
    return new HeaderMap(entries);
  }

  remove(name) {
    const e = this.entries;
    let w = 0;
    for (let r = 0; r < e.length; r++) if (e[r][0] !== name) e[w++] = e[r];
    e.length = w;
  }

  byteSize() {
    let n = 0;
    for (const [k, v] of this.entries) n += k.length + v.length;
    return n;
  }

  asText() {
    return this.entries.map(([k, v]) => [byteStringToText(k), byteStringToText(v)]);
  }

  asBytes() {
    return this.entries.map(([k, v]) => [byteStringToText(k), byteStringToBytes(v)]);
  }

  values(name) {
    const key = asciiLower(toByteString(name));
    return this.entries.filter(([k]) => k === key).map(([, v]) => v);
  }
}

/** Header name as the codec hands it to filters: lower-case bytes. Fast path: already lower-case ASCII. */
function headerName(name) {
  if (typeof name === "string") {
    let i = 0;
    for (; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c > 0x7f || (c >= 65 && c <= 90)) break;
    }
    if (i === name.length) return name;
  }
  return asciiLower(toByteString(name));
}

/** Envoy's StringUtil::replaceAllEmptySpace on local-reply details. */
function replaceWhitespace(s) {
  return s.replace(/[ \t\f\v\n\r]/g, "_");
}

export class HttpStream {
  constructor(host, vm, properties, root) {
    this.host = host;
    this.vm = vm;
    this.root = root; // the root context (plugin configuration) this stream belongs to
    this.id = vm.allocContextId();
    this.stream = this; // a stream is its own context
    this.record = new CallRecord(host.registry.size);
    this.properties = properties; // plain object until a property is read (see ProxyWasmHost.lookupProperty)
    this.req = null;
    this.resp = null;
    this.reqLive = false;
    this.respLive = false;
    this.logPhase = false;
    this.created = false;
    this.failureReplySent = false;
    this.streamFailed = false;
    this.completed = false;
    this.closed = false;
    this.continued = [];
    this.localResponse = null;
    this.localResponses = [];
    this.filterStateRaw = new Map();
    // Envoy's route cache was cleared (the route is matched again after this filter): by the foreign function
    // clear_route_cache, or by any change to the request headers (Context::addHeaderMapValue, replace, remove and
    // setHeaderMapPairs call clearRouteCache() for modules of ABI <= 0.2.1; Envoy 1.33+ stops that only for newer
    // ABIs). Seen in Envoy 1.36.2 and 1.40.0 (test/real-envoy/catalog.test.mjs).
    this.routeCacheCleared = false;
    this.requestStatus = undefined;
    this.responseStatus = undefined;
    vm.contexts.set(this.id, this);
  }

  /** decodeHeaders: lazily creates the context, then on_request_headers. Returns the FilterHeadersStatus. */
  requestHeaders(pairs, { endOfStream = true } = {}) {
    this.assertOpen();
    this.req = HeaderMap.from(pairs);
    this.onCreate();
    this.reqLive = true;
    const status = this.headersCallback("proxy_on_request_headers", this.req.entries.length, endOfStream);
    if (status === FilterHeadersStatus.Continue || status === FilterHeadersStatus.ContinueAndEndStream)
      this.reqLive = false;
    this.requestStatus = status;
    return status;
  }

  /** encodeHeaders: skipped (Continue) when the context was never created or the stream failed. */
  responseHeaders(pairs, { endOfStream = true } = {}) {
    this.assertOpen();
    this.resp = HeaderMap.from(pairs);
    if (!this.created || this.failureReplySent) {
      this.responseStatus = FilterHeadersStatus.Continue;
      return this.responseStatus;
    }
    this.respLive = true;
    const status = this.headersCallback("proxy_on_response_headers", this.resp.entries.length, endOfStream);
    if (status === FilterHeadersStatus.Continue || status === FilterHeadersStatus.ContinueAndEndStream)
      this.respLive = false;
    this.responseStatus = status;
    return status;
  }

  /** Envoy's HTTP end of stream: access log (on_log, maps read-only), then filter destruction (on_done, on_delete). */
  complete() {
    this.assertOpen();
    this.onCreate(); // Context::log creates the context when headers never arrived
    this.logPhase = true;
    this.voidCallback("proxy_on_log");
    this.logPhase = false;
    this.reqLive = false;
    this.respLive = false;
    this.voidCallback("proxy_on_done");
    this.voidCallback("proxy_on_delete");
    this.completed = true;
    this.vm.contexts.delete(this.id);
  }

  assertOpen() {
    if (this.completed) throw new Error(`stream ${this.id} already completed`);
  }

  onCreate() {
    if (this.created) return;
    this.created = true;
    const vm = this.vm;
    const fn = vm.exports.proxy_on_context_create;
    if (vm.failed || !fn) return;
    vm.enterContext(this);
    try {
      vm.callGuest("proxy_on_context_create", fn, this.id, this.root.id);
    } finally {
      vm.leaveContext();
    }
  }

  headersCallback(name, count, endOfStream) {
    const vm = this.vm;
    if (vm.failed) return this.checkFail();
    const fn = vm.exports[name];
    if (!fn) return FilterHeadersStatus.Continue;
    vm.enterContext(this);
    try {
      const result = vm.callGuest(name, fn, this.id, count, endOfStream ? 1 : 0) >>> 0;
      if (vm.failed) return this.checkFail();
      return this.convertHeadersStatus(result);
    } finally {
      vm.leaveContext();
    }
  }

  voidCallback(name) {
    const vm = this.vm;
    const fn = vm.exports[name];
    if (vm.failed || !fn) return;
    vm.enterContext(this);
    try {
      vm.callGuest(name, fn, this.id);
    } finally {
      vm.leaveContext();
    }
  }

  /** ContextBase::convertVmCallResultToFilterHeadersStatus. */
  convertHeadersStatus(result) {
    if (this.vm.stopNextIteration || result > STOP_ALL) return STOP_ALL;
    if (result === FilterHeadersStatus.StopIteration && !this.host.allowOnHeadersStopIteration) return STOP_ALL;
    return result;
  }

  /** CHECK_FAIL_HTTP: a failed VM closes the stream with a 503 (or lets it through when fail-open). */
  checkFail() {
    if (this.host.failOpen) return FilterHeadersStatus.Continue;
    if (!this.streamFailed) {
      this.streamFailed = true;
      if (!this.failureReplySent) {
        this.sendLocalReply(503, "", [], GRPC_UNAVAILABLE, "wasm_fail_stream");
        this.failureReplySent = true;
      }
      this.closed = true;
    }
    return STOP_ALL;
  }

  sendLocalReply(status, body, headers, grpcStatus, details) {
    const reply = {
      status,
      details: replaceWhitespace(byteStringToText(details)),
      body: byteStringToText(body),
      bodyBytes: byteStringToBytes(body),
      headers: headers.map(([k, v]) => [byteStringToText(asciiLower(k)), byteStringToText(v)]),
      grpcStatus: grpcStatus <= GRPC_MAX_KNOWN ? grpcStatus : null,
    };
    this.localResponses.push(reply);
    this.localResponse ??= reply;
  }

  // ---- inspection ---------------------------------------------------------------------------------------------

  get requestHeaderMap() {
    return this.req ? this.req.asText() : [];
  }
  get requestHeaderMapBytes() {
    return this.req ? this.req.asBytes() : [];
  }
  get responseHeaderMap() {
    return this.resp ? this.resp.asText() : [];
  }
  get responseHeaderMapBytes() {
    return this.resp ? this.resp.asBytes() : [];
  }

  /** First value of a request header after the filter (text), or undefined. */
  requestHeader(name) {
    const v = this.req?.values(name)[0];
    return v === undefined ? undefined : byteStringToText(v);
  }

  requestHeaderValues(name) {
    return (this.req?.values(name) ?? []).map(byteStringToText);
  }

  responseHeader(name) {
    const v = this.resp?.values(name)[0];
    return v === undefined ? undefined : byteStringToText(v);
  }

  /** Filter state written by proxy_set_property: "wasm.<path>" -> value (text). */
  get filterState() {
    return new Map([...this.filterStateRaw].map(([k, v]) => [byteStringToText(k), byteStringToText(v)]));
  }

  get filterStateBytes() {
    return new Map([...this.filterStateRaw].map(([k, v]) => [byteStringToText(k), byteStringToBytes(v)]));
  }

  get foreignCalls() {
    return this.record.foreignCalls;
  }

  get hostCalls() {
    return this.host.summariseCalls(this.record);
  }

  get allocations() {
    return { count: this.record.allocCount, bytes: this.record.allocBytes };
  }
}
