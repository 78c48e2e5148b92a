// One instance of the module, as one Envoy WasmBase (base, canary or a worker's thread-local VM): memory views,
// guest calls with Envoy's failure semantics, the context being served, metric ids, restricted callbacks.

import { buildImports, RestrictedCallback } from "./imports.mjs";
import { writeByteString } from "./bytes.mjs";
import { BufferType, LogLevel, MapType } from "./constants.mjs";

const METRIC_TYPE_NAMES = ["counter", "gauge", "histogram"];
const EMPTY_MAP = Object.freeze({ entries: Object.freeze([]) });

/** Counters for the host calls and guest allocations made while serving one stream (or the root). */
export class CallRecord {
  constructor(size) {
    this.size = size;
    this.counts = null; // allocated at the first host call: a no-op stream costs nothing
    this.allocCount = 0;
    this.allocBytes = 0;
    this.foreignCalls = [];
  }
}

export class WasmVm {
  /**
   * @param host    the ProxyWasmHost (options, logs, metrics, properties)
   * @param label   'base' | 'canary' | 'worker0' ...
   */
  constructor(host, label) {
    this.host = host;
    this.label = label;
    this.failed = false;
    this.failure = null;
    this.restricted = null; // Uint8Array allow-list by host-function id while restricted, else null
    this.stopNextIteration = false;
    this.afterCallActions = [];
    this.nextContextId = 1;
    this.contexts = new Map();
    this.current = null; // context being served
    this.effective = null; // proxy_set_effective_context override for the current call
    this.tempPluginConfig = null; // plugin configuration while Envoy's temp_plugin_ is set
    this.metricIds = new Map();
    this.nextMetricId = host.metricIdBase === "zero-based" ? [-4, -3, -2] : [0, 1, 2];
    this.tickPeriodMs = 0;
    this.rootRecord = new CallRecord(host.registry.size);
    this.record_ = this.rootRecord;
    this.roots = []; // root contexts, one per plugin configuration; `root` is the first (the host's plugin)
    this.root = null;
    this.pendingDone = new Set();
    this.instantiate();
  }

  instantiate() {
    const { host } = this;
    const imports = buildImports(this, host.registry);
    for (const imp of host.interface.imports) {
      if (imp.kind === "memory") (imports[imp.module] ??= {})[imp.name] = new WebAssembly.Memory(imp.limits);
      if (imp.kind === "table") (imports[imp.module] ??= {})[imp.name] = new WebAssembly.Table(imp.limits);
    }
    // A wasm start section runs inside instantiation, before Envoy has any context: restrict everything.
    this.restricted = new Uint8Array(host.registry.size);
    try {
      this.instance = new WebAssembly.Instance(host.module, imports);
    } catch (e) {
      this.fail(`Failed to create new Wasm instance: ${e.name}: ${e.message}`);
      return;
    } finally {
      this.restricted = null;
    }
    const ex = this.instance.exports;
    this.memory =
      ex.memory ??
      Object.values(imports)
        .flatMap((m) => Object.values(m))
        .find((v) => v instanceof WebAssembly.Memory);
    this.refreshViews();
    this.exports = ex;
    this.malloc = ex.malloc ?? ex.proxy_on_memory_allocate;
  }

  /** memory.grow detaches the old ArrayBuffer (length 0); a module may also simply have 0 pages. */
  refreshIfDetached() {
    if (this.memory.buffer.byteLength !== 0) this.refreshViews();
  }

  refreshViews() {
    const ab = this.memory.buffer;
    this.u8 = new Uint8Array(ab);
    this.dv = new DataView(ab);
    this.buf = Buffer.from(ab);
  }

  /** Called at every host-call entry: restriction check, call count, stale views after memory.grow. */
  enter(id) {
    if (this.restricted !== null && this.restricted[id] === 0) throw new RestrictedCallback();
    const r = this.record_;
    (r.counts ??= new Uint32Array(r.size))[id]++;
    if (this.u8.length === 0) this.refreshIfDetached();
  }

  fail(message) {
    if (this.failed) return;
    this.failed = true;
    this.failure = message;
    this.host.recordLog(LogLevel.error, message, this, "host");
  }

  // ---- guest calls -------------------------------------------------------------------------------------------

  /** Calls an export like cpp-host's wrapped module functions: a trap fails the VM and the call returns 0. */
  callGuest(name, fn, a, b, c) {
    let result = 0;
    try {
      result = fn(a, b, c);
    } catch (e) {
      this.fail(`Function: ${name} failed: Uncaught ${e?.name ?? "Error"}: ${e?.message ?? e}`);
      result = 0;
    }
    if (this.u8.length === 0) this.refreshIfDetached();
    return result;
  }

  /** Starts a top-level VM call on behalf of `context`: host calls are attributed to it. */
  enterContext(context) {
    this.current = context;
    this.effective = null;
    this.record_ = context.record ?? this.rootRecord;
  }

  /**
   * Ends the top-level call (DeferAfterCallActions): resets the stop-iteration flag and runs the deferred actions
   * (local replies, close_stream, proxy_done's on_delete) after the caller has converted the result.
   */
  leaveContext() {
    this.current = null;
    this.effective = null;
    this.record_ = this.rootRecord;
    this.stopNextIteration = false;
    const actions = this.afterCallActions;
    if (actions.length > 0) {
      this.afterCallActions = [];
      for (const f of actions) f();
    }
  }

  afterCall(action) {
    this.afterCallActions.push(action);
  }

  /** Runs _initialize (+ main) or _start with Envoy's restricted callbacks (WasmBase::startVm). */
  startVm() {
    if (this.failed) return false;
    const ex = this.exports;
    this.enterContext({ id: 0, stream: null, record: this.rootRecord });
    this.restricted = this.host.startAllowList;
    try {
      if (ex._initialize) {
        this.callGuest("_initialize", ex._initialize);
        if (ex.main && !this.failed) this.callGuest("main", ex.main, 0, 0);
      } else if (ex._start) {
        this.callGuest("_start", ex._start);
      }
    } finally {
      this.restricted = null;
      this.leaveContext();
    }
    return !this.failed;
  }

  /** Guest allocation for host-returned data (WasmBase::allocMemory): malloc runs restricted; 0 = failure. */
  alloc(size) {
    const saved = this.restricted;
    this.restricted = this.host.mallocAllowList;
    let ptr;
    try {
      ptr = this.callGuest("malloc", this.malloc, size) >>> 0;
    } finally {
      this.restricted = saved;
    }
    this.record_.allocCount++;
    this.record_.allocBytes += size;
    if (ptr === 0 || !this.inBounds(ptr, size)) return 0;
    return ptr;
  }

  // ---- memory ------------------------------------------------------------------------------------------------

  inBounds(ptr, size) {
    return ptr + size <= this.u8.length;
  }

  setWord(ptr, value) {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 4)) return false;
    this.dv.setUint32(ptr, value, true);
    return true;
  }

  setU64(ptr, value) {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 8)) return false;
    this.dv.setBigUint64(ptr, value, true);
    return true;
  }

  writeBytes(ptr, byteString) {
    writeByteString(this.u8, this.buf, ptr, byteString);
  }

  /** WasmBase::copyToPointerSize: empty -> (0, 0) without malloc; else malloc + copy. */
  copyToPointerSize(byteString, ptrPtr, sizePtr) {
    let pointer = 0;
    const size = byteString.length;
    if (size > 0) {
      pointer = this.alloc(size);
      if (pointer === 0) return false;
      writeByteString(this.u8, this.buf, pointer, byteString);
    }
    return this.setWord(ptrPtr, pointer) && this.setWord(sizePtr, size);
  }

  // ---- what the current context can see ----------------------------------------------------------------------

  context() {
    return this.effective ?? this.current;
  }

  contextStream() {
    return this.context()?.stream ?? null;
  }

  record() {
    return this.record_;
  }

  /** Context::getMap: the live map of this callback, else null (BadArgument). */
  mutableMap(type) {
    const s = this.contextStream();
    if (s === null || s.logPhase) return null;
    if (type === MapType.HttpRequestHeaders) return s.reqLive ? s.req : null;
    if (type === MapType.HttpResponseHeaders) return s.respLive ? s.resp : null;
    return null;
  }

  /** Context::getConstMap: as getMap, but in on_log the access-log copies (empty when absent). */
  constMap(type) {
    const s = this.contextStream();
    if (s === null) return null;
    if (s.logPhase) {
      if (type === MapType.HttpRequestHeaders) return s.req ?? EMPTY_MAP;
      if (type === MapType.HttpResponseHeaders) return s.resp ?? EMPTY_MAP;
      return null;
    }
    if (type === MapType.HttpRequestHeaders) return s.reqLive ? s.req : null;
    if (type === MapType.HttpResponseHeaders) return s.respLive ? s.resp : null;
    return null;
  }

  /** Context::getBuffer as a byte string, or null when unavailable (NotFound). */
  buffer(type) {
    switch (type) {
      case BufferType.VmConfiguration:
        return this.host.vmConfig;
      case BufferType.PluginConfiguration:
        return this.tempPluginConfig;
      case BufferType.HttpRequestBody:
      case BufferType.HttpResponseBody:
      case BufferType.DownstreamData:
      case BufferType.UpstreamData:
      case BufferType.GrpcReceiveBuffer:
      case BufferType.CallData:
        return "";
      default:
        return null;
    }
  }

  property(path) {
    return this.host.lookupProperty(path, this.context());
  }

  // ---- metrics: ids per VM (Wasm::nextCounterMetricId), values shared by name across VMs ---------------------

  defineMetric(type, name) {
    this.nextMetricId[type] += 4;
    const id = this.nextMetricId[type] >>> 0;
    this.metricIds.set(id, this.host.metric(METRIC_TYPE_NAMES[type], name));
    return id;
  }

  metricById(id) {
    return this.metricIds.get(id);
  }

  // ---- contexts ----------------------------------------------------------------------------------------------

  allocContextId() {
    return this.nextContextId++;
  }

  setEffectiveContext(id) {
    const c = this.contexts.get(id);
    if (c === undefined) return false;
    this.effective = c;
    return true;
  }

  /** proxy_done (WasmBase::done): Ok only when the caller's root waits after its on_done returned false. */
  done() {
    const context = this.context();
    const root = context?.stream ? context.stream.root : context;
    if (!this.pendingDone.delete(root)) return false;
    this.afterCall(() => this.callRoot("proxy_on_delete", root));
    return true;
  }

  /** Calls a root-context export (ContextBase::onStart/onConfigure/onTick/onDone/onDelete). */
  callRoot(exportName, root, arg, tempPluginConfig = null) {
    const fn = this.exports[exportName];
    if (this.failed || !fn) return undefined;
    this.enterContext(root);
    this.tempPluginConfig = tempPluginConfig;
    let result;
    try {
      result = this.callGuest(exportName, fn, root.id, arg);
    } finally {
      this.tempPluginConfig = null;
      this.leaveContext();
    }
    return result;
  }

  /**
   * Root context start (ContextBase::onStart): on_context_create(root, 0) then on_vm_start. The new root becomes
   * `this.root` (the one configure() and new streams use by default). `rootId` overrides plugin_root_id for it.
   */
  startRoot(pluginConfig, rootId = undefined) {
    const root = { id: this.allocContextId(), stream: null, record: this.rootRecord, root: true, rootId };
    this.contexts.set(root.id, root);
    this.roots.push(root);
    this.root = root;
    if (this.exports.proxy_on_context_create && !this.failed) {
      this.enterContext(root);
      this.tempPluginConfig = pluginConfig; // temp_plugin_ is set around the root's on_context_create
      try {
        this.callGuest("proxy_on_context_create", this.exports.proxy_on_context_create, root.id, 0);
      } finally {
        this.tempPluginConfig = null;
        this.leaveContext();
      }
    }
    const started = this.callRoot("proxy_on_vm_start", root, this.host.vmConfig.length);
    return !this.failed && (started === undefined || started !== 0);
  }

  /** ContextBase::onConfigure: the plugin configuration is readable only during this call. */
  configure(pluginConfig, root = this.root) {
    if (this.failed) return false;
    const result = this.callRoot("proxy_on_configure", root, pluginConfig.length, pluginConfig);
    return !this.failed && (result === undefined || result !== 0);
  }

  /** WasmBase::startShutdown: per root, on_done, then on_delete unless it asked to wait for proxy_done. */
  shutdown() {
    for (const root of this.roots) {
      if (this.failed) return;
      const done = this.callRoot("proxy_on_done", root);
      if (done === undefined || done !== 0) this.callRoot("proxy_on_delete", root);
      else this.pendingDone.add(root);
    }
  }

  tick() {
    if (this.tickPeriodMs === 0) return;
    for (const root of this.roots) this.callRoot("proxy_on_tick", root);
  }

  memoryPages() {
    return this.memory.buffer.byteLength / 65536;
  }
}
