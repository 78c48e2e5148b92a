// Proxy-wasm host emulator for Node: loads a compiled module the way Envoy (proxy-wasm-cpp-host + V8) does and
// drives it through Envoy's plugin and HTTP stream lifecycle. State-based API in the style of
// proxy-wasm-go-sdk's proxytest; see README.md in this folder for the behaviours and their sources.
//
//   const host = await ProxyWasmHost.load('build/dynamic_subset.wasm', { pluginConfig: '{...}', rootId: 'dynamic_subset' });
//   host.start();                                   // -> configured?
//   const s = host.newStream({ properties: { 'xds.route_name': 'default', 'xds.cluster_name': 'helloworld' } });
//   s.requestHeaders([['x-stage', 'dev']]);         // -> FilterHeadersStatus
//   s.responseHeaders([[':status', '200']]);
//   s.complete();                                   // on_log, on_done, on_delete

import { readFile } from "node:fs/promises";
import { toByteString } from "./bytes.mjs";
import { LOG_LEVEL_NAMES, LogLevel, WasmResult } from "./constants.mjs";
import { allowListIds, hostFunctionRegistry } from "./imports.mjs";
import { HttpStream } from "./stream.mjs";
import { WasmVm } from "./vm.mjs";
import { formatSignature, readModuleInterface } from "./wasm-binary.mjs";

export * from "./constants.mjs";
export { HttpStream } from "./stream.mjs";

/** Thrown by ProxyWasmHost.load with the message Envoy logs when it refuses the module. */
export class HostLoadError extends Error {
  constructor(message) {
    super(message);
    this.name = "HostLoadError";
  }
}

const ABI_MARKERS = {
  proxy_abi_version_0_1_0: "0_1_0",
  proxy_abi_version_0_2_0: "0_2_0",
  proxy_abi_version_0_2_1: "0_2_1",
};

/** Exports cpp-host looks up, with the signature it requires (WasmBase::getFunctions, ABI 0.2.x). */
const EXPORT_SIGNATURES = {
  _initialize: ":",
  _start: ":",
  main: "ii:i",
  malloc: "i:i",
  proxy_on_memory_allocate: "i:i",
  proxy_on_context_create: "ii:",
  proxy_on_vm_start: "ii:i",
  proxy_validate_configuration: "ii:i",
  proxy_on_configure: "ii:i",
  proxy_on_tick: "i:",
  proxy_on_new_connection: "i:i",
  proxy_on_downstream_data: "iii:i",
  proxy_on_upstream_data: "iii:i",
  proxy_on_downstream_connection_close: "ii:",
  proxy_on_upstream_connection_close: "ii:",
  proxy_on_request_headers: "iii:i",
  proxy_on_request_body: "iii:i",
  proxy_on_request_trailers: "ii:i",
  proxy_on_request_metadata: "ii:i",
  proxy_on_response_headers: "iii:i",
  proxy_on_response_body: "iii:i",
  proxy_on_response_trailers: "ii:i",
  proxy_on_response_metadata: "ii:i",
  proxy_on_done: "i:i",
  proxy_on_log: "i:",
  proxy_on_delete: "i:",
  proxy_on_http_call_response: "iiiii:",
  proxy_on_grpc_receive_initial_metadata: "iii:",
  proxy_on_grpc_receive_trailing_metadata: "iii:",
  proxy_on_grpc_receive: "iii:",
  proxy_on_grpc_close: "iii:",
  proxy_on_queue_ready: "ii:",
  proxy_on_foreign_function: "iii:",
};

/** Top-level property tokens Envoy resolves itself; any other first segment is looked up in filter state. */
const PROPERTY_TOKENS = new Set([
  "metadata",
  "request",
  "response",
  "connection",
  "upstream",
  "node",
  "source",
  "destination",
  "listener_direction",
  "listener_metadata",
  "cluster_name",
  "cluster_metadata",
  "route_name",
  "route_metadata",
  "plugin_name",
  "upstream_host_metadata",
  "plugin_root_id",
  "plugin_vm_id",
  "connection_id",
  "filter_state",
  "xds",
]);

const compiled = new WeakMap(); // bytes -> {module, interface}: tests load the same fixture many times

function signatureOf(sig) {
  const [p, r] = sig.split(":");
  return { params: [...p].map(() => "i32"), results: [...r].map(() => "i32") };
}

function sameType(a, b) {
  return a.params.join() === b.params.join() && a.results.join() === b.results.join();
}

/** Property path: 'a.b', ['a', 'b'] or 'a\0b' -> NUL-joined byte string. */
function propertyPath(key) {
  if (Array.isArray(key)) return key.map(toByteString).join("\0");
  return toByteString(key.includes("\0") ? key : key.replaceAll(".", "\0"));
}

/** Property value as Envoy serialises it (docs/abi.md "Properties"): strings raw, integers int64 LE, bools one byte. */
function propertyValue(v) {
  if (typeof v === "string" || v instanceof Uint8Array) return toByteString(v);
  const b = Buffer.alloc(8);
  if (typeof v === "bigint" || Number.isInteger(v)) b.writeBigInt64LE(BigInt(v));
  else if (typeof v === "number") b.writeDoubleLE(v);
  else if (typeof v === "boolean") return v ? "\x01" : "\x00";
  else throw new TypeError(`unsupported property value ${v}`);
  return b.toString("latin1");
}

function propertyMap(obj) {
  const m = new Map();
  for (const [k, v] of Object.entries(obj ?? {}))
    if (v !== undefined && v !== null) m.set(propertyPath(k), propertyValue(v));
  return m;
}

/** Envoy's clear_route_cache foreign function (Envoy >= 1.33, foreign.cc): the route is matched again. */
function clearRouteCache(_args, stream) {
  if (stream) stream.routeCacheCleared = true;
  return WasmResult.Ok;
}

function configBytes(value) {
  return value === undefined || value === null ? "" : toByteString(value);
}

/** One plugin configuration added with host.addRoot(): its root context in every worker VM. */
export class PluginRoot {
  constructor(host, contexts) {
    this.host = host;
    this.contexts = contexts;
  }

  get id() {
    return this.contexts[0].id;
  }

  /** on_configure with a new configuration on this root; true when every VM accepted it. */
  configure(pluginConfig) {
    const bytes = configBytes(pluginConfig);
    let ok = true;
    this.host.workers.forEach((vm, i) => {
      ok = vm.configure(bytes, this.contexts[i]) && ok;
    });
    return ok;
  }

  newStream(options = {}) {
    return this.host.newStream({ ...options, root: this });
  }
}

export class ProxyWasmHost {
  /**
   * Validates and compiles a module like Envoy's loader; throws HostLoadError with Envoy's message.
   * @param {string|URL|Uint8Array|ArrayBuffer} source  path or bytes
   * @param {object} [options]  see README.md
   */
  static async load(source, options = {}) {
    const bytes =
      typeof source === "string" || source instanceof URL
        ? new Uint8Array(await readFile(source))
        : source instanceof ArrayBuffer
          ? new Uint8Array(source)
          : source;
    return new ProxyWasmHost(ProxyWasmHost.compile(bytes), options);
  }

  /** Envoy's load + link checks, in its order. Returns {module, interface, abi, registry}. */
  static compile(bytes) {
    const cached = compiled.get(bytes);
    if (cached) return cached;
    let iface;
    try {
      iface = readModuleInterface(bytes);
    } catch {
      throw new HostLoadError("Failed to parse corrupted Wasm module");
    }
    const marker = iface.exports.find((e) => e.kind === "function" && ABI_MARKERS[e.name]);
    if (!marker) throw new HostLoadError("Missing or unknown Proxy-Wasm ABI version");
    const abi = ABI_MARKERS[marker.name];
    if (abi === "0_1_0") throw new HostLoadError("Proxy-Wasm ABI 0.1.0 is not emulated");
    let module;
    try {
      module = new WebAssembly.Module(bytes);
    } catch (e) {
      throw new HostLoadError(`Failed to load Wasm bytecode: ${e.message}`);
    }
    const registry = hostFunctionRegistry(abi);
    for (const imp of iface.imports) {
      const qualified = `${imp.module}.${imp.name}`;
      if (imp.kind === "global")
        throw new HostLoadError(`Failed to load Wasm module due to a missing import: ${qualified}`);
      if (imp.kind !== "function") continue;
      const f = registry.get(qualified);
      if (!f) throw new HostLoadError(`Failed to load Wasm module due to a missing import: ${qualified}`);
      if (!sameType(imp.type, f.type)) {
        throw new HostLoadError(
          `Failed to load Wasm module due to an import type mismatch: ${qualified}, want: ${formatSignature(
            imp.type,
          )}, but host exports: ${formatSignature(f.type)}`,
        );
      }
    }
    const exports = new Map(iface.exports.map((e) => [e.name, e]));
    const fn = (name) => exports.get(name)?.kind === "function";
    if (!fn("malloc") && !fn("proxy_on_memory_allocate"))
      throw new HostLoadError("Wasm module is missing malloc function.");
    for (const [name, sig] of Object.entries(EXPORT_SIGNATURES)) {
      if (!fn(name)) continue;
      const want = signatureOf(sig);
      const got = exports.get(name).type;
      if (!sameType(want, got)) {
        throw new HostLoadError(
          `Bad function signature for: ${name}, want: ${formatSignature(want)} but the module exports: ${formatSignature(got)}`,
        );
      }
    }
    if (exports.get("memory")?.kind !== "memory" && !iface.imports.some((i) => i.kind === "memory")) {
      throw new HostLoadError('Wasm module has no memory (export "memory")');
    }
    const result = { module, interface: iface, abi, registry };
    compiled.set(bytes, result);
    return result;
  }

  constructor({ module, interface: iface, abi, registry }, options = {}) {
    this.module = module;
    this.interface = iface;
    this.abi = abi;
    this.registry = registry;
    this.functionNames = [...registry.values()].map((f) => f.name);
    this.startAllowList = allowListIds(registry, "start");
    this.mallocAllowList = allowListIds(registry, "malloc");

    this.pluginConfig = configBytes(options.pluginConfig);
    this.vmConfig = configBytes(options.vmConfig);
    this.rootId = options.rootId ?? "";
    const level = options.logLevel ?? "info";
    if (!(level in LogLevel)) throw new TypeError(`unknown logLevel ${level}`);
    this.logLevel = LogLevel[level];
    this.canary = options.canary ?? false;
    this.workerCount = options.workers ?? 1;
    this.allowOnHeadersStopIteration = options.allowOnHeadersStopIteration ?? false;
    this.failOpen = options.failOpen ?? false;
    this.metricIdBase = options.metricIds ?? "cpp-host";
    if (!["cpp-host", "zero-based"].includes(this.metricIdBase))
      throw new TypeError(`unknown metricIds ${this.metricIdBase}`);
    this.nowNanos = options.now ?? (() => BigInt(Date.now()) * 1000000n);
    this.environment = Object.entries(options.environment ?? {}).map(([k, v]) => toByteString(`${k}=${v}`));
    this.properties = propertyMap({
      plugin_root_id: this.rootId,
      plugin_name: options.pluginName ?? this.rootId,
      plugin_vm_id: options.vmId ?? "",
      ...options.properties,
    });
    this.foreignFunctions = new Map(
      Object.entries({ clear_route_cache: clearRouteCache, ...options.foreignFunctions }).filter(
        ([, f]) => typeof f === "function",
      ),
    );

    this.logs = [];
    this.counters = new Map();
    this.gauges = new Map();
    this.histograms = new Map();
    this.sharedData = new Map();
    this.workers = [];
    this.started = false;
    this.configured = false;
    this.startError = null;
    this.nextWorker = 0;
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------------

  /**
   * Envoy's start: with `canary`, a base VM (_initialize only) and a canary VM (start + configure, then dropped)
   * come first; then one VM per worker: _initialize, root on_context_create, on_vm_start, on_configure.
   * Returns true when every VM configured.
   */
  start() {
    if (this.started) throw new Error("ProxyWasmHost.start() called twice");
    this.started = true;
    if (this.canary) {
      const base = new WasmVm(this, "base");
      if (!base.startVm()) return this.refuse(base, "Failed to initialize Wasm code");
      const canary = new WasmVm(this, "canary");
      if (!canary.startVm()) return this.refuse(canary, "Failed to initialize Wasm code");
      if (!canary.startRoot(this.pluginConfig)) return this.refuse(canary, "Failed to start base Wasm");
      if (!canary.configure(this.pluginConfig)) return this.refuse(canary, "Failed to configure base Wasm plugin");
      this.base = base; // the canary is killed without on_done/on_delete (WasmHandleBase::kill)
    }
    for (let i = 0; i < this.workerCount; i++) {
      const vm = new WasmVm(this, `worker${i}`);
      this.workers.push(vm);
      if (!vm.startVm()) return this.refuse(vm, "Failed to initialize Wasm code");
      if (!vm.startRoot(this.pluginConfig)) return this.refuse(vm, "Failed to start thread-local Wasm");
      if (!vm.configure(this.pluginConfig)) return this.refuse(vm, "Failed to configure thread-local Wasm plugin");
    }
    this.configured = true;
    return true;
  }

  refuse(vm, message) {
    this.startError = message;
    this.recordLog(LogLevel.error, message, vm, "host");
    return false;
  }

  /** A new plugin configuration on the live root context(s): on_configure again; true when every VM accepted it. */
  configure(pluginConfig) {
    if (!this.configured) throw new Error("configure() needs a started host");
    const bytes = configBytes(pluginConfig);
    let ok = true;
    for (const vm of this.workers) ok = vm.configure(bytes) && ok;
    return ok;
  }

  /**
   * A stream on the next worker (round robin) or on `worker`, for the host's plugin or for `root` (from addRoot).
   * Properties are per stream, over the host's.
   */
  newStream({ properties, worker, root } = {}) {
    if (!this.configured)
      throw new Error(`no stream: the plugin did not start (${this.startError ?? "start() not called"})`);
    const index = worker ?? this.nextWorker++ % this.workers.length;
    const vm = this.workers[index];
    return new HttpStream(this, vm, properties ?? null, root ? root.contexts[index] : vm.root);
  }

  /**
   * Another plugin configuration on the same VMs (Envoy: one more root context per VM, docs/configuration.md "Where it comes from"): root
   * on_context_create, on_vm_start, on_configure. Returns a PluginRoot, or null when a VM refused it.
   */
  addRoot(pluginConfig, { rootId } = {}) {
    if (!this.configured) throw new Error("addRoot() needs a started host");
    const bytes = configBytes(pluginConfig);
    const contexts = [];
    for (const vm of this.workers) {
      const primary = vm.root;
      const ok = vm.startRoot(bytes, rootId) && vm.configure(bytes);
      contexts.push(vm.root);
      vm.root = primary;
      if (!ok) return null;
    }
    return new PluginRoot(this, contexts);
  }

  /** proxy_on_tick on every root that set a tick period. */
  tick() {
    for (const vm of this.workers) vm.tick();
  }

  /** Plugin removal: root on_done, then on_delete (or later, when the root calls proxy_done). */
  shutdown() {
    for (const vm of this.workers) vm.shutdown();
  }

  // ---- inspection ---------------------------------------------------------------------------------------------

  get failed() {
    return this.workers.some((vm) => vm.failed);
  }

  get failure() {
    return this.workers.find((vm) => vm.failed)?.failure ?? null;
  }

  /** Host calls and allocations made outside any stream (start, configure, tick, shutdown). */
  get hostCalls() {
    let total = { total: 0, byName: {} };
    for (const vm of this.workers) total = this.mergeCalls(total, this.summariseCalls(vm.rootRecord));
    return total;
  }

  memoryPages(worker = 0) {
    return this.workers[worker].memoryPages();
  }

  logsAt(level) {
    return this.logs.filter((l) => l.level === level).map((l) => l.message);
  }

  counter(name) {
    return this.counters.get(name)?.value;
  }

  gauge(name) {
    return this.gauges.get(name)?.value;
  }

  histogram(name) {
    return this.histograms.get(name)?.values;
  }

  /** name -> {type, value} (histograms: {type, values}). */
  get metrics() {
    return new Map([...this.counters, ...this.gauges, ...this.histograms]);
  }

  // ---- used by the VM and streams ----------------------------------------------------------------------------

  recordLog(level, message, vm, from) {
    this.logs.push({ level: LOG_LEVEL_NAMES[level], message, vm: vm.label, from });
  }

  metric(type, name) {
    const store = type === "counter" ? this.counters : type === "gauge" ? this.gauges : this.histograms;
    let m = store.get(name);
    if (!m) {
      m = type === "histogram" ? { type, values: [] } : { type, value: 0n };
      store.set(name, m);
    }
    return m;
  }

  /** Property of `context` (a stream or a root context): stream's own, its root's plugin_root_id, the host's. */
  lookupProperty(path, context) {
    const stream = context?.stream ?? null;
    const root = stream !== null ? stream.root : context;
    if (stream !== null && stream.properties !== null) {
      if (!(stream.properties instanceof Map)) stream.properties = propertyMap(stream.properties); // on first use
      const own = stream.properties.get(path);
      if (own !== undefined) return own;
    }
    if (root?.rootId !== undefined && path === "plugin_root_id") return toByteString(root.rootId);
    const shared = this.properties.get(path);
    if (shared !== undefined) return shared;
    if (stream === null || path.includes("\0") || PROPERTY_TOKENS.has(path)) return undefined;
    return stream.filterStateRaw.get(`wasm.${path}`);
  }

  bytes(value) {
    return toByteString(value);
  }

  summariseCalls(record) {
    const byName = {};
    let total = 0;
    const counts = record.counts ?? [];
    for (let i = 0; i < counts.length; i++) {
      if (counts[i] === 0) continue;
      const name = this.functionNames[i];
      byName[name] = (byName[name] ?? 0) + counts[i];
      total += counts[i];
    }
    return { total, byName };
  }

  mergeCalls(a, b) {
    const byName = { ...a.byName };
    for (const [k, v] of Object.entries(b.byName)) byName[k] = (byName[k] ?? 0) + v;
    return { total: a.total + b.total, byName };
  }
}
