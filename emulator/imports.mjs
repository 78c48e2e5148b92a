// The functions Envoy registers for a proxy-wasm module (proxy-wasm-cpp-host WasmBase::registerCallbacks,
// src/exports.cc; Envoy source/extensions/common/wasm/context.cc), with their wasm signatures.
// Every import is wrapped to (1) trap with "restricted_callback" when called where Envoy restricts host calls
// (_initialize, malloc) and (2) count the call for the stream being served.

import { Errno, LogLevel, MapType, MetricType, WasmResult } from "./constants.mjs";
import {
  equalsLowerAt,
  marshalPairs,
  readByteString,
  readLowerByteString,
  readText,
  unmarshalPairs,
  asciiLower,
} from "./bytes.mjs";

const R = WasmResult;

/** Signature shorthand: params ':' results, i = i32, I = i64. */
const PROXY_FUNCTIONS = {
  proxy_log: "iii:i",
  proxy_get_status: "iii:i",
  proxy_set_property: "iiii:i",
  proxy_get_property: "iiii:i",
  proxy_send_local_response: "iiiiiiii:i",
  proxy_get_shared_data: "iiiii:i",
  proxy_set_shared_data: "iiiii:i",
  proxy_register_shared_queue: "iii:i",
  proxy_resolve_shared_queue: "iiiii:i",
  proxy_dequeue_shared_queue: "iii:i",
  proxy_enqueue_shared_queue: "iii:i",
  proxy_get_header_map_value: "iiiii:i",
  proxy_add_header_map_value: "iiiii:i",
  proxy_replace_header_map_value: "iiiii:i",
  proxy_remove_header_map_value: "iii:i",
  proxy_get_header_map_pairs: "iii:i",
  proxy_set_header_map_pairs: "iii:i",
  proxy_get_header_map_size: "ii:i",
  proxy_get_buffer_status: "iii:i",
  proxy_get_buffer_bytes: "iiiii:i",
  proxy_set_buffer_bytes: "iiiii:i",
  proxy_http_call: "iiiiiiiiii:i",
  proxy_grpc_call: "iiiiiiiiiiii:i",
  proxy_grpc_stream: "iiiiiiiii:i",
  proxy_grpc_close: "i:i",
  proxy_grpc_cancel: "i:i",
  proxy_grpc_send: "iiii:i",
  proxy_set_tick_period_milliseconds: "i:i",
  proxy_get_current_time_nanoseconds: "i:i",
  proxy_define_metric: "iiii:i",
  proxy_increment_metric: "iI:i",
  proxy_record_metric: "iI:i",
  proxy_get_metric: "ii:i",
  proxy_set_effective_context: "i:i",
  proxy_done: ":i",
  proxy_call_foreign_function: "iiiiii:i",
};

const ABI_SPECIFIC = {
  "0_1_0": {
    proxy_get_configuration: "ii:i",
    proxy_continue_request: ":i",
    proxy_continue_response: ":i",
    proxy_clear_route_cache: ":i",
  },
  "0_2_0": { proxy_continue_stream: "i:i", proxy_close_stream: "i:i" },
  "0_2_1": { proxy_continue_stream: "i:i", proxy_close_stream: "i:i", proxy_get_log_level: "i:i" },
};

const ENV_EXTRAS = { pthread_equal: "ii:i", emscripten_notify_memory_growth: "i:" };

/** FOR_ALL_WASI_FUNCTIONS: anything else under a WASI module is a missing import. */
const WASI_FUNCTIONS = {
  fd_write: "iiii:i",
  fd_read: "iiii:i",
  fd_seek: "iIii:i",
  fd_close: "i:i",
  fd_fdstat_get: "ii:i",
  environ_get: "ii:i",
  environ_sizes_get: "ii:i",
  args_get: "ii:i",
  args_sizes_get: "ii:i",
  clock_time_get: "iIi:i",
  random_get: "ii:i",
  proc_exit: "i:",
  path_open: "iiiiiIIii:i",
  fd_prestat_get: "ii:i",
  fd_prestat_dir_name: "iii:i",
};
const WASI_MODULES = ["wasi_snapshot_preview1", "wasi_unstable"];

/** WasmBase::startVm allow-list (host calls allowed during _initialize / main / _start). */
const START_ALLOWED = [
  "env.proxy_log",
  ...WASI_MODULES.flatMap((m) =>
    [
      "fd_write",
      "args_sizes_get",
      "args_get",
      "environ_sizes_get",
      "environ_get",
      "fd_prestat_get",
      "fd_prestat_dir_name",
      "clock_time_get",
      "random_get",
    ].map((n) => `${m}.${n}`),
  ),
];
/** WasmBase::allocMemory allow-list (host calls allowed inside malloc). */
const MALLOC_ALLOWED = [
  "env.proxy_log",
  ...WASI_MODULES.flatMap((m) => ["fd_write", "clock_time_get"].map((n) => `${m}.${n}`)),
];

const RANDOM_GET_MAX = 64 * 1024;
const MAX_HEADER_MAP_TYPE = 7;
const MAX_BUFFER_TYPE = 8;
const MAX_STREAM_TYPE = 3;

function parseSignature(sig) {
  const [params, results] = sig.split(":");
  const type = (c) => (c === "I" ? "i64" : "i32");
  return { params: [...params].map(type), results: [...results].map(type) };
}

/**
 * The registry of host functions for one ABI version: qualified name ("env.proxy_log") -> {id, module, name, type}.
 * Ids index the per-stream call counters.
 */
export function hostFunctionRegistry(abiVersion) {
  const registry = new Map();
  const add = (module, table) => {
    for (const [name, sig] of Object.entries(table)) {
      const qualified = `${module}.${name}`;
      registry.set(qualified, { id: registry.size, module, name, qualified, type: parseSignature(sig) });
    }
  };
  add("env", ENV_EXTRAS);
  for (const m of WASI_MODULES) add(m, WASI_FUNCTIONS);
  add("env", PROXY_FUNCTIONS);
  add("env", ABI_SPECIFIC[abiVersion]);
  return registry;
}

export function allowListIds(registry, which) {
  const names = which === "start" ? START_ALLOWED : MALLOC_ALLOWED;
  const ids = new Uint8Array(registry.size);
  for (const n of names) {
    const f = registry.get(n);
    if (f) ids[f.id] = 1;
  }
  return ids;
}

export class RestrictedCallback extends Error {
  constructor() {
    super("restricted_callback");
    this.name = "Error";
  }
}

/** Raised by WASI proc_exit: the module asked to stop, which fails the VM. */
export class ProcExit extends Error {
  constructor(code) {
    super(`proc_exit(${code})`);
    this.name = "Error";
  }
}

function wrap(vm, id, impl) {
  // Exact-arity wrappers: rest parameters would cost an array per host call.
  switch (impl.length) {
    case 0:
      return () => {
        vm.enter(id);
        return impl();
      };
    case 1:
      return (a) => {
        vm.enter(id);
        return impl(a);
      };
    case 2:
      return (a, b) => {
        vm.enter(id);
        return impl(a, b);
      };
    case 3:
      return (a, b, c) => {
        vm.enter(id);
        return impl(a, b, c);
      };
    case 4:
      return (a, b, c, d) => {
        vm.enter(id);
        return impl(a, b, c, d);
      };
    case 5:
      return (a, b, c, d, e) => {
        vm.enter(id);
        return impl(a, b, c, d, e);
      };
    case 6:
      return (a, b, c, d, e, f) => {
        vm.enter(id);
        return impl(a, b, c, d, e, f);
      };
    default:
      return (...args) => {
        vm.enter(id);
        return impl(...args);
      };
  }
}

/** Builds the import object for one VM instance. `vm` is a WasmVm (vm.mjs). */
export function buildImports(vm, registry) {
  const impls = { ...envImplementations(vm), ...wasiImplementations(vm) };
  const imports = {};
  for (const f of registry.values()) {
    const impl = impls[f.name];
    if (!impl) throw new Error(`emulator bug: no implementation for ${f.qualified}`);
    (imports[f.module] ??= {})[f.name] = wrap(vm, f.id, impl);
  }
  return imports;
}

/** Byte-string path -> segments, tolerating one trailing NUL (Envoy's parser does). */
function pathKey(raw) {
  return raw.length > 0 && raw.charCodeAt(raw.length - 1) === 0 ? raw.slice(0, -1) : raw;
}

function envImplementations(vm) {
  const host = vm.host;
  const u32 = (x) => x >>> 0;

  function headerGet(type, keyPtr, keySize, valuePtrPtr, valueSizePtr) {
    if (u32(type) > MAX_HEADER_MAP_TYPE) return R.BadArgument;
    keyPtr = u32(keyPtr);
    keySize = u32(keySize);
    if (!vm.inBounds(keyPtr, keySize)) return R.InvalidMemoryAccess;
    const map = vm.constMap(type);
    if (map === null) return R.BadArgument;
    const entries = map.entries;
    const u8 = vm.u8;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (equalsLowerAt(u8, keyPtr, keySize, e[0])) {
        return vm.copyToPointerSize(e[1], valuePtrPtr, valueSizePtr) ? R.Ok : R.InvalidMemoryAccess;
      }
    }
    return R.NotFound;
  }

  /** A request-header change clears Envoy's route cache (see HttpStream.routeCacheCleared). */
  function changed(type) {
    if (u32(type) === MapType.HttpRequestHeaders) vm.contextStream().routeCacheCleared = true;
  }

  function headerWrite(kind) {
    return (type, keyPtr, keySize, valuePtr, valueSize) => {
      if (u32(type) > MAX_HEADER_MAP_TYPE) return R.BadArgument;
      keyPtr = u32(keyPtr);
      keySize = u32(keySize);
      valuePtr = u32(valuePtr);
      valueSize = u32(valueSize);
      if (!vm.inBounds(keyPtr, keySize) || !vm.inBounds(valuePtr, valueSize)) return R.InvalidMemoryAccess;
      const map = vm.mutableMap(type);
      if (map === null) return R.BadArgument;
      const key = readLowerByteString(vm.u8, vm.buf, keyPtr, keySize);
      const value = readByteString(vm.u8, vm.buf, valuePtr, valueSize);
      if (kind === "replace") map.remove(key);
      map.entries.push([key, value]);
      changed(type);
      return R.Ok;
    };
  }

  return {
    pthread_equal: (a, b) => (a === b ? 1 : 0),
    emscripten_notify_memory_growth: () => {},

    proxy_log(level, ptr, size) {
      if (u32(level) > LogLevel.critical) return R.BadArgument;
      ptr = u32(ptr);
      size = u32(size);
      if (!vm.inBounds(ptr, size)) return R.InvalidMemoryAccess;
      if (level >= host.logLevel) host.recordLog(level, readText(vm.u8, vm.buf, ptr, size), vm, "guest");
      return R.Ok;
    },
    proxy_get_log_level(retPtr) {
      return vm.setWord(retPtr, host.logLevel) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_get_current_time_nanoseconds(retPtr) {
      return vm.setU64(retPtr, host.nowNanos()) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_set_tick_period_milliseconds(period) {
      vm.tickPeriodMs = u32(period);
      return R.Ok;
    },

    proxy_get_buffer_bytes(type, start, length, ptrPtr, sizePtr) {
      if (u32(type) > MAX_BUFFER_TYPE) return R.BadArgument;
      const buffer = vm.buffer(type);
      if (buffer === null) return R.NotFound;
      start = u32(start);
      length = u32(length);
      if (start + length > buffer.length) length = Math.max(0, buffer.length - start);
      // Length 0: Ok without touching the out-params (exports.cc get_buffer_bytes).
      if (length === 0) return R.Ok;
      return vm.copyToPointerSize(buffer.slice(start, start + length), ptrPtr, sizePtr) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_get_buffer_status(type, lengthPtr, flagsPtr) {
      if (u32(type) > MAX_BUFFER_TYPE) return R.BadArgument;
      const buffer = vm.buffer(type);
      if (buffer === null) return R.NotFound;
      return vm.setWord(lengthPtr, buffer.length) && vm.setWord(flagsPtr, 0) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_set_buffer_bytes(type) {
      if (u32(type) > MAX_BUFFER_TYPE) return R.BadArgument;
      // Bodies are not emulated; configuration buffers are immutable.
      return vm.buffer(type) === null ? R.NotFound : R.BadArgument;
    },

    proxy_get_header_map_value: headerGet,
    proxy_add_header_map_value: headerWrite("add"),
    proxy_replace_header_map_value: headerWrite("replace"),
    proxy_remove_header_map_value(type, keyPtr, keySize) {
      if (u32(type) > MAX_HEADER_MAP_TYPE) return R.BadArgument;
      keyPtr = u32(keyPtr);
      keySize = u32(keySize);
      if (!vm.inBounds(keyPtr, keySize)) return R.InvalidMemoryAccess;
      const map = vm.mutableMap(type);
      if (map === null) return R.BadArgument;
      map.remove(readLowerByteString(vm.u8, vm.buf, keyPtr, keySize));
      changed(type);
      return R.Ok;
    },
    proxy_get_header_map_pairs(type, ptrPtr, sizePtr) {
      if (u32(type) > MAX_HEADER_MAP_TYPE) return R.BadArgument;
      // An unavailable map reads as empty here (Context::getHeaderMapPairs), unlike the single-value get.
      const map = vm.constMap(type);
      const data = map === null || map.entries.length === 0 ? "" : marshalPairs(map.entries);
      return vm.copyToPointerSize(data, ptrPtr, sizePtr) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_set_header_map_pairs(type, ptr, size) {
      if (u32(type) > MAX_HEADER_MAP_TYPE) return R.BadArgument;
      ptr = u32(ptr);
      size = u32(size);
      if (!vm.inBounds(ptr, size)) return R.InvalidMemoryAccess;
      const map = vm.mutableMap(type);
      if (map === null) return R.BadArgument;
      const pairs = unmarshalPairs(readByteString(vm.u8, vm.buf, ptr, size));
      map.entries.length = 0;
      for (const [k, v] of pairs) map.entries.push([asciiLower(k), v]);
      changed(type);
      return R.Ok;
    },
    proxy_get_header_map_size(type, retPtr) {
      if (u32(type) > MAX_HEADER_MAP_TYPE) return R.BadArgument;
      const map = vm.mutableMap(type);
      if (map === null) return R.BadArgument;
      // HeaderMap::byteSize(): bytes of names and values, not the entry count.
      return vm.setWord(retPtr, map.byteSize()) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_continue_stream(type) {
      if (u32(type) > MAX_STREAM_TYPE) return R.BadArgument;
      const s = vm.contextStream();
      if (s === null || type > 1) return R.BadArgument;
      s.continued.push(type === 0 ? "request" : "response");
      return R.Ok;
    },
    proxy_close_stream(type) {
      if (u32(type) > MAX_STREAM_TYPE) return R.BadArgument;
      const s = vm.contextStream();
      if (s === null || type > 1) return R.BadArgument;
      vm.afterCall(() => {
        s.closed = true;
      });
      return R.Ok;
    },
    proxy_send_local_response(status, detailsPtr, detailsSize, bodyPtr, bodySize, headersPtr, headersSize, grpcStatus) {
      detailsPtr = u32(detailsPtr);
      detailsSize = u32(detailsSize);
      bodyPtr = u32(bodyPtr);
      bodySize = u32(bodySize);
      headersPtr = u32(headersPtr);
      headersSize = u32(headersSize);
      if (
        !vm.inBounds(detailsPtr, detailsSize) ||
        !vm.inBounds(bodyPtr, bodySize) ||
        !vm.inBounds(headersPtr, headersSize)
      ) {
        return R.InvalidMemoryAccess;
      }
      const details = readByteString(vm.u8, vm.buf, detailsPtr, detailsSize);
      const body = readByteString(vm.u8, vm.buf, bodyPtr, bodySize);
      const headers = unmarshalPairs(readByteString(vm.u8, vm.buf, headersPtr, headersSize));
      const s = vm.contextStream();
      if (s !== null) vm.afterCall(() => s.sendLocalReply(u32(status), body, headers, u32(grpcStatus), details));
      vm.stopNextIteration = true;
      return R.Ok;
    },

    proxy_get_property(pathPtr, pathSize, valuePtrPtr, valueSizePtr) {
      pathPtr = u32(pathPtr);
      pathSize = u32(pathSize);
      if (!vm.inBounds(pathPtr, pathSize)) return R.InvalidMemoryAccess;
      const value = vm.property(pathKey(readByteString(vm.u8, vm.buf, pathPtr, pathSize)));
      if (value === undefined) return R.NotFound;
      return vm.copyToPointerSize(value, valuePtrPtr, valueSizePtr) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_set_property(pathPtr, pathSize, valuePtr, valueSize) {
      pathPtr = u32(pathPtr);
      pathSize = u32(pathSize);
      valuePtr = u32(valuePtr);
      valueSize = u32(valueSize);
      if (!vm.inBounds(pathPtr, pathSize) || !vm.inBounds(valuePtr, valueSize)) return R.InvalidMemoryAccess;
      const s = vm.contextStream();
      if (s === null) return R.NotFound; // no stream info outside a stream
      const path = readByteString(vm.u8, vm.buf, pathPtr, pathSize);
      s.filterStateRaw.set(`wasm.${path}`, readByteString(vm.u8, vm.buf, valuePtr, valueSize));
      return R.Ok;
    },

    proxy_define_metric(type, namePtr, nameSize, idPtr) {
      namePtr = u32(namePtr);
      nameSize = u32(nameSize);
      if (!vm.inBounds(namePtr, nameSize)) return R.InvalidMemoryAccess;
      if (u32(type) > MetricType.Histogram) return R.BadArgument;
      const id = vm.defineMetric(type, readText(vm.u8, vm.buf, namePtr, nameSize));
      return vm.setWord(idPtr, id) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_increment_metric(id, delta) {
      const metric = vm.metricById(u32(id));
      if (metric === undefined) return (u32(id) & 3) > MetricType.Gauge ? R.BadArgument : R.NotFound;
      if (metric.type === "counter") {
        if (delta <= 0n) return R.BadArgument;
        metric.value = BigInt.asUintN(64, metric.value + delta);
        return R.Ok;
      }
      if (metric.type === "gauge") {
        metric.value += delta;
        return R.Ok;
      }
      return R.BadArgument;
    },
    proxy_record_metric(id, value) {
      const metric = vm.metricById(u32(id));
      if (metric === undefined) return R.NotFound;
      const v = BigInt.asUintN(64, value);
      if (metric.type === "counter") metric.value = BigInt.asUintN(64, metric.value + v);
      else if (metric.type === "gauge") metric.value = v;
      else metric.values.push(v);
      return R.Ok;
    },
    proxy_get_metric(id, retPtr) {
      const metric = vm.metricById(u32(id));
      if (metric === undefined) return R.NotFound;
      if (metric.type === "histogram") return R.BadArgument;
      return vm.setU64(retPtr, BigInt.asUintN(64, metric.value)) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_set_effective_context(id) {
      return vm.setEffectiveContext(u32(id)) ? R.Ok : R.BadArgument;
    },
    proxy_done() {
      return vm.done() ? R.Ok : R.NotFound;
    },
    proxy_get_status(codePtr, msgPtrPtr, msgSizePtr) {
      return vm.setWord(codePtr, 0) && vm.copyToPointerSize("", msgPtrPtr, msgSizePtr) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_call_foreign_function(namePtr, nameSize, argsPtr, argsSize, resultsPtr, resultsSizePtr) {
      namePtr = u32(namePtr);
      nameSize = u32(nameSize);
      argsPtr = u32(argsPtr);
      argsSize = u32(argsSize);
      if (!vm.inBounds(namePtr, nameSize) || !vm.inBounds(argsPtr, argsSize)) return R.InvalidMemoryAccess;
      const name = readByteString(vm.u8, vm.buf, namePtr, nameSize);
      const fn = host.foreignFunctions.get(name);
      if (fn === undefined) return R.NotFound;
      const args = vm.u8.slice(argsPtr, argsPtr + argsSize);
      vm.record().foreignCalls.push({ name, args });
      const out = fn(args, vm.contextStream());
      const status = typeof out === "number" ? out : (out?.status ?? R.Ok);
      const result = typeof out === "object" && out?.result != null ? host.bytes(out.result) : "";
      let address = 0;
      resultsPtr = u32(resultsPtr);
      resultsSizePtr = u32(resultsSizePtr);
      if (resultsPtr !== 0 && result.length > 0) {
        address = vm.alloc(result.length);
        if (address === 0) return R.InvalidMemoryAccess;
        vm.writeBytes(address, result);
      }
      if (resultsPtr !== 0 && !vm.setWord(resultsPtr, address)) return R.InvalidMemoryAccess;
      if (resultsSizePtr !== 0 && !vm.setWord(resultsSizePtr, result.length)) return R.InvalidMemoryAccess;
      return status;
    },

    proxy_get_shared_data(keyPtr, keySize, valuePtrPtr, valueSizePtr, casPtr) {
      keyPtr = u32(keyPtr);
      keySize = u32(keySize);
      if (!vm.inBounds(keyPtr, keySize)) return R.InvalidMemoryAccess;
      const entry = host.sharedData.get(readByteString(vm.u8, vm.buf, keyPtr, keySize));
      if (entry === undefined) return R.NotFound;
      return vm.copyToPointerSize(entry.value, valuePtrPtr, valueSizePtr) && vm.setWord(casPtr, entry.cas)
        ? R.Ok
        : R.InvalidMemoryAccess;
    },
    proxy_set_shared_data(keyPtr, keySize, valuePtr, valueSize, cas) {
      keyPtr = u32(keyPtr);
      keySize = u32(keySize);
      valuePtr = u32(valuePtr);
      valueSize = u32(valueSize);
      if (!vm.inBounds(keyPtr, keySize) || !vm.inBounds(valuePtr, valueSize)) return R.InvalidMemoryAccess;
      const key = readByteString(vm.u8, vm.buf, keyPtr, keySize);
      const entry = host.sharedData.get(key);
      if (u32(cas) !== 0 && entry !== undefined && entry.cas !== u32(cas)) return R.CasMismatch;
      host.sharedData.set(key, {
        value: readByteString(vm.u8, vm.buf, valuePtr, valueSize),
        cas: (entry?.cas ?? 0) + 1,
      });
      return R.Ok;
    },
    // Queues, HTTP and gRPC callouts are not emulated: the filter must not need them.
    proxy_register_shared_queue: () => R.Unimplemented,
    proxy_resolve_shared_queue: () => R.Unimplemented,
    proxy_dequeue_shared_queue: () => R.Unimplemented,
    proxy_enqueue_shared_queue: () => R.Unimplemented,
    proxy_http_call: () => R.Unimplemented,
    proxy_grpc_call: () => R.Unimplemented,
    proxy_grpc_stream: () => R.Unimplemented,
    proxy_grpc_close: () => R.Unimplemented,
    proxy_grpc_cancel: () => R.Unimplemented,
    proxy_grpc_send: () => R.Unimplemented,
    proxy_get_configuration: () => R.Unimplemented,
    proxy_continue_request: () => R.Unimplemented,
    proxy_continue_response: () => R.Unimplemented,
    proxy_clear_route_cache: () => R.Unimplemented,
  };
}

function wasiImplementations(vm) {
  const host = vm.host;
  const u32 = (x) => x >>> 0;
  return {
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      let level;
      if (fd === 1) level = LogLevel.info;
      else if (fd === 2) level = LogLevel.error;
      else return Errno.BADF;
      iovs = u32(iovs);
      let text = "";
      let written = 0;
      for (let i = 0; i < u32(iovsLen); i++) {
        if (!vm.inBounds(iovs + i * 8, 8)) return Errno.FAULT;
        const buf = vm.dv.getUint32(iovs + i * 8, true);
        const len = vm.dv.getUint32(iovs + i * 8 + 4, true);
        if (len === 0) continue;
        if (!vm.inBounds(buf, len)) return Errno.FAULT;
        text += readText(vm.u8, vm.buf, buf, len);
        written += len;
      }
      if (written > 0 && level >= host.logLevel)
        host.recordLog(level, text.endsWith("\n") ? text.slice(0, -1) : text, vm, "guest");
      return vm.setWord(nwrittenPtr, written) ? Errno.SUCCESS : Errno.FAULT;
    },
    fd_read: () => Errno.NOSYS,
    fd_seek: () => Errno.SUCCESS,
    fd_close: () => Errno.SUCCESS,
    fd_fdstat_get(fd, statPtr) {
      if (fd !== 1 && fd !== 2) return Errno.BADF;
      statPtr = u32(statPtr);
      if (vm.inBounds(statPtr, 24)) {
        vm.u8.fill(0, statPtr, statPtr + 24);
        vm.dv.setBigUint64(statPtr + 8, 64n, true); // fs_rights_base = FD_WRITE
      }
      return Errno.SUCCESS;
    },
    environ_sizes_get(countPtr, sizePtr) {
      const env = host.environment;
      let size = 0;
      for (const e of env) size += e.length + 1;
      return vm.setWord(countPtr, env.length) && vm.setWord(sizePtr, size) ? Errno.SUCCESS : Errno.FAULT;
    },
    environ_get(arrayPtr, bufPtr) {
      arrayPtr = u32(arrayPtr);
      bufPtr = u32(bufPtr);
      for (const e of host.environment) {
        if (!vm.setWord(arrayPtr, bufPtr) || !vm.inBounds(bufPtr, e.length + 1)) return Errno.FAULT;
        vm.writeBytes(bufPtr, `${e}\0`);
        bufPtr += e.length + 1;
        arrayPtr += 4;
      }
      return Errno.SUCCESS;
    },
    args_get: () => Errno.SUCCESS,
    args_sizes_get(argcPtr, sizePtr) {
      return vm.setWord(argcPtr, 0) && vm.setWord(sizePtr, 0) ? Errno.SUCCESS : Errno.FAULT;
    },
    clock_time_get(clockId, _precision, resultPtr) {
      let t;
      if (clockId === 0) t = host.nowNanos();
      else if (clockId === 1) t = process.hrtime.bigint();
      else return Errno.NOTSUP;
      return vm.setU64(resultPtr, t) ? Errno.SUCCESS : Errno.FAULT;
    },
    random_get(bufPtr, len) {
      len = u32(len);
      if (len > RANDOM_GET_MAX) return Errno.INVAL;
      if (len === 0) return Errno.SUCCESS;
      bufPtr = u32(bufPtr);
      if (!vm.inBounds(bufPtr, len)) return Errno.FAULT;
      crypto.getRandomValues(vm.u8.subarray(bufPtr, bufPtr + len));
      return Errno.SUCCESS;
    },
    proc_exit(code) {
      throw new ProcExit(code);
    },
    path_open: () => Errno.NOENT,
    fd_prestat_get: () => Errno.BADF,
    fd_prestat_dir_name: () => Errno.NOSYS,
  };
}
