// as-pect configuration. Specs that touch the ABI layer link against the stub proxy-wasm host below
// (module "env", Envoy's status codes and ownership rules, much simplified) and steer/inspect it
// through the "testhost" imports declared in assembly/__tests__/abi.testhost.ts.
// The full Envoy-like host emulator lives in emulator/; this stub only serves unit tests.

const OK = 0,
  NOT_FOUND = 1,
  INTERNAL_FAILURE = 10;
const latin1 = (bytes) => Buffer.from(bytes).toString("latin1");

function createStubHost() {
  let exports = null; // the test module's exports; its own memory is the one to read (not as-pect's)
  let host;
  const reset = () => {
    host = {
      logs: [],
      logLevel: 2,
      headers: new Map(),
      properties: new Map(),
      metrics: 0,
      calls: 0,
      lastCall: { ints: [], bytes: [] },
      failNext: -1,
      foreignReturn: null,
      strayReturnNext: false,
    };
  };
  reset();
  const u8 = () => new Uint8Array(exports.memory.buffer);
  const view = () => new DataView(exports.memory.buffer);
  const read = (ptr, size) => u8().slice(ptr, ptr + size);
  const readLowerKey = (ptr, size) => latin1(read(ptr, size)).toLowerCase();
  const headerMap = (type) => {
    if (!host.headers.has(type)) host.headers.set(type, new Map());
    return host.headers.get(type);
  };
  // Host-returned data: the guest's malloc provides the block, size 0 writes (0,0) without a call.
  const giveBack = (bytes, retPtr, retSize) => {
    if (host.strayReturnNext) {
      host.strayReturnNext = false;
      view().setUint32(retPtr, 8, true); // a pointer the guest never allocated
      view().setUint32(retSize, 1, true);
      return OK;
    }
    let ptr = 0;
    if (bytes.length > 0) {
      if (typeof exports.malloc !== "function") return INTERNAL_FAILURE;
      ptr = exports.malloc(bytes.length);
      if (ptr === 0) return INTERNAL_FAILURE;
      u8().set(bytes, ptr);
    }
    view().setUint32(retPtr, ptr, true);
    view().setUint32(retSize, bytes.length, true);
    return OK;
  };
  // Every proxy_* call but proxy_log: counted, recorded, and failed on request with a given status.
  const call = (ints, bytes, body) => {
    host.calls++;
    host.lastCall = { ints, bytes };
    if (host.failNext >= 0) {
      const status = host.failNext;
      host.failNext = -1;
      return status;
    }
    return body();
  };

  const env = {
    proxy_log(level, ptr, size) {
      host.logs.push({ level, message: read(ptr, size) });
      return OK;
    },
    proxy_get_log_level: (retPtr) =>
      call([], [], () => {
        view().setUint32(retPtr, host.logLevel, true);
        return OK;
      }),
    proxy_get_buffer_bytes: (type, start, max, retPtr, retSize) => call([type, start, max], [], () => NOT_FOUND),
    proxy_get_header_map_value: (type, kPtr, kSize, retPtr, retSize) =>
      call([type], [read(kPtr, kSize)], () => {
        const value = headerMap(type).get(readLowerKey(kPtr, kSize));
        return value === undefined ? NOT_FOUND : giveBack(value, retPtr, retSize);
      }),
    proxy_add_header_map_value: (type, kPtr, kSize, vPtr, vSize) =>
      call([type], [read(kPtr, kSize), read(vPtr, vSize)], () => OK),
    proxy_replace_header_map_value: (type, kPtr, kSize, vPtr, vSize) =>
      call([type], [read(kPtr, kSize), read(vPtr, vSize)], () => {
        headerMap(type).set(readLowerKey(kPtr, kSize), read(vPtr, vSize));
        return OK;
      }),
    proxy_remove_header_map_value: (type, kPtr, kSize) =>
      call([type], [read(kPtr, kSize)], () => {
        headerMap(type).delete(readLowerKey(kPtr, kSize));
        return OK;
      }),
    proxy_get_property: (pPtr, pSize, retPtr, retSize) =>
      call([], [read(pPtr, pSize)], () => {
        const value = host.properties.get(latin1(read(pPtr, pSize)));
        return value === undefined ? NOT_FOUND : giveBack(value, retPtr, retSize);
      }),
    proxy_set_property: (pPtr, pSize, vPtr, vSize) =>
      call([], [read(pPtr, pSize), read(vPtr, vSize)], () => {
        host.properties.set(latin1(read(pPtr, pSize)), read(vPtr, vSize));
        return OK;
      }),
    proxy_send_local_response: (status, dPtr, dSize, bPtr, bSize, hPtr, hSize, grpcStatus) =>
      call([status, grpcStatus], [read(dPtr, dSize), read(bPtr, bSize), read(hPtr, hSize)], () => OK),
    proxy_call_foreign_function: (nPtr, nSize, aPtr, aSize, retPtr, retSize) =>
      call([], [read(nPtr, nSize), read(aPtr, aSize)], () =>
        host.foreignReturn === null ? NOT_FOUND : giveBack(host.foreignReturn, retPtr, retSize),
      ),
    proxy_define_metric: (type, nPtr, nSize, retId) =>
      call([type], [read(nPtr, nSize)], () => {
        host.metrics++;
        view().setUint32(retId, 4 * host.metrics + type, true); // Envoy: first counter 4, first gauge 5
        return OK;
      }),
    proxy_increment_metric: (id, delta) => call([id, delta], [], () => OK),
  };

  // Steering and inspection for specs (declared in assembly/__tests__/abi.testhost.ts).
  const copyOut = (bytes, ptr, capacity) => {
    u8().set(bytes.subarray(0, capacity), ptr);
    return bytes.length;
  };
  const testhost = {
    reset,
    set_header(type, kPtr, kSize, vPtr, vSize) {
      headerMap(type).set(readLowerKey(kPtr, kSize), read(vPtr, vSize));
    },
    set_property(pPtr, pSize, vPtr, vSize) {
      host.properties.set(latin1(read(pPtr, pSize)), read(vPtr, vSize));
    },
    set_foreign_return(ptr, size) {
      host.foreignReturn = read(ptr, size);
    },
    set_log_level(level) {
      host.logLevel = level;
    },
    fail_next(status) {
      host.failNext = status;
    },
    stray_return_next() {
      host.strayReturnNext = true;
    },
    call_count: () => host.calls,
    last_int: (i) => BigInt(host.lastCall.ints[i] ?? -1),
    last_bytes: (i, ptr, capacity) => copyOut(host.lastCall.bytes[i] ?? new Uint8Array(0), ptr, capacity),
    log_count: () => host.logs.length,
    log_level: (i) => host.logs[i].level,
    log_message: (i, ptr, capacity) => copyOut(host.logs[i].message, ptr, capacity),
  };
  return {
    imports: { env, testhost },
    attach: (e) => {
      exports = e;
    },
  };
}

export default {
  entries: ["assembly/__tests__/**/*.spec.ts"],
  include: ["assembly/__tests__/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    const stub = createStubHost();
    const result = await instantiate(binary, createImports(stub.imports));
    stub.attach(result.exports);
    return result;
  },
  outputBinary: false,
};
