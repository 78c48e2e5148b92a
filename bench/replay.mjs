// Guest-only timing: a host whose answers cost (almost) nothing, so that the time left is the module's own.
//
// One request is served once by a small in-memory host that records every host call's result (return code and
// returned bytes) on a tape; afterwards every request is answered from the tape, in order, with no header-map or
// text work at all: the host side of a call is a tape read plus, for calls that return data, the guest's malloc
// and one copy. The module must make the same calls every time (checked: the tape records which import was
// called). What remains per host call is V8's wasm->JS crossing, the same for every module.
import { readFileSync } from "node:fs";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Where each data-returning import writes (ptr, size): the indices of its two out-parameters. */
export const RETURNS_BYTES = {
  proxy_get_header_map_value: [3, 4],
  proxy_get_property: [2, 3],
  proxy_get_buffer_bytes: [3, 4],
  proxy_call_foreign_function: [4, 5],
  proxy_get_header_map_pairs: [1, 2],
};
/** Imports that return one u32 through an out-parameter: its index. */
export const RETURNS_U32 = { proxy_get_log_level: 0, proxy_define_metric: 3, proxy_get_header_map_size: 1 };

const NOT_FOUND = 1;
const ARGS = [0, 0, 0, 0, 0, 0]; // reused: the replay path must not allocate

/** The live semantics behind the recording: enough of a proxy-wasm host for one stream. */
function liveHost(io, state) {
  const str = (p, n) => dec.decode(io.bytes(p, n));
  const map = (m) => (m === 0 ? state.request : state.response);
  let nextMetric = 4;
  return {
    proxy_log: () => 0,
    proxy_get_log_level: () => ({ rc: 0, u32: 2 }),
    proxy_get_buffer_bytes: (type) => (type === 7 ? { rc: 0, data: enc.encode(state.config) } : { rc: NOT_FOUND }),
    proxy_get_header_map_value: (m, kp, kn) => {
      const v = map(m).get(str(kp, kn));
      return v === undefined ? { rc: NOT_FOUND } : { rc: 0, data: enc.encode(v) };
    },
    proxy_get_header_map_pairs: () => ({ rc: 0, data: new Uint8Array(0) }),
    proxy_get_header_map_size: () => ({ rc: 0, u32: 0 }),
    proxy_add_header_map_value: (m, kp, kn, vp, vn) => (map(m).set(str(kp, kn), str(vp, vn)), 0),
    proxy_replace_header_map_value: (m, kp, kn, vp, vn) => (map(m).set(str(kp, kn), str(vp, vn)), 0),
    proxy_remove_header_map_value: (m, kp, kn) => (map(m).delete(str(kp, kn)), 0),
    proxy_get_property: (p, n) => {
      const v = state.properties[str(p, n).replace(/\0/g, ".")];
      return v === undefined ? { rc: NOT_FOUND } : { rc: 0, data: enc.encode(v) };
    },
    proxy_set_property: (p, n, vp, vn) => ((state.filterState[str(p, n)] = str(vp, vn)), 0),
    proxy_send_local_response: () => 0,
    proxy_define_metric: () => {
      const id = nextMetric;
      nextMetric += 4;
      return { rc: 0, u32: id };
    },
    proxy_increment_metric: () => 0,
    proxy_record_metric: () => 0,
    proxy_call_foreign_function: () => ({ rc: 0, data: new Uint8Array(0) }),
  };
}

/** The callbacks of one stream, in order (the replay host's `callbacks` lists the host calls of each). */
export const STREAM_CALLBACKS = [
  "proxy_on_context_create",
  "proxy_on_request_headers",
  "proxy_on_response_headers",
  "proxy_on_log",
  "proxy_on_done",
  "proxy_on_delete",
];

/**
 * Loads a module (a path or its bytes), configures it through the live host, records one full stream for
 * `scenario`, and returns a `run(n)` that replays n streams from the tape. With `tape` (another module's
 * `tape`), nothing is recorded: the module is replayed against that tape (the guest-instruction floor, which
 * makes the same calls and nothing else, is run this way).
 */
export async function replayHost(wasm, scenario, responseHeaders, { tape: givenTape = null } = {}) {
  let exports;
  const io = {
    bytes: (p, n) => new Uint8Array(exports.memory.buffer, p, n),
  };
  const state = {
    config: JSON.stringify(scenario.config),
    properties: scenario.properties,
    request: new Map(),
    response: new Map(),
    filterState: {},
  };
  const live = liveHost(io, state);
  let recording = true;
  const tape = [];
  let cursor = 0;

  // Cached views of linear memory; a memory.grow detaches the old buffer (byteLength 0) and they are remade.
  // (No view per call: the replay path allocates nothing, so JavaScript's garbage collector stays out of it.)
  let buffer = null;
  let view = null;
  let bytes = null;
  const dataView = () => {
    if (buffer === null || buffer.byteLength === 0) {
      buffer = exports.memory.buffer;
      view = new DataView(buffer);
      bytes = new Uint8Array(buffer);
    }
    return view;
  };
  /** Applies one recorded answer {rc, data, u32} to the out-parameters in `args`; returns the status. */
  const give = (name, args, answer) => {
    if (answer.u32 >= 0) dataView().setUint32(args[RETURNS_U32[name]], answer.u32, true);
    if (answer.data !== null) {
      const [pp, sp] = RETURNS_BYTES[name];
      const n = answer.data.length;
      const ptr = n ? exports.malloc(n) : 0;
      const v = dataView();
      if (n) bytes.set(answer.data, ptr);
      v.setUint32(args[pp], ptr, true);
      v.setUint32(args[sp], n, true);
    }
    return answer.rc;
  };
  const env = {};
  const wasmPath = typeof wasm === "string" ? wasm : "(module bytes)";
  const module = new WebAssembly.Module(typeof wasm === "string" ? readFileSync(wasm) : wasm);
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function") continue;
    const name = imp.name;
    const impl = live[name];
    // fixed arity: a rest parameter would make every crossing allocate
    env[name] = (a, b, c, d, e, f, g, h) => {
      if (recording) {
        if (!impl) throw new Error(`replay host: ${name} is not supported`);
        const result = impl(a, b, c, d, e, f, g, h);
        const answer =
          typeof result === "number"
            ? { rc: result, data: null, u32: -1 }
            : { rc: result.rc, data: result.data ?? null, u32: result.u32 ?? -1 };
        tape.push({ name, answer, plain: answer.data === null && answer.u32 < 0 });
        return give(name, [a, b, c, d, e, f, g, h], answer);
      }
      const entry = tape[cursor++];
      if (entry === undefined || entry.name !== name)
        throw new Error(`replay host: call ${cursor} is ${name}, the tape says ${entry?.name}`);
      if (entry.plain) return entry.answer.rc;
      ARGS[0] = a;
      ARGS[1] = b;
      ARGS[2] = c;
      ARGS[3] = d;
      ARGS[4] = e;
      ARGS[5] = f;
      return give(name, ARGS, entry.answer);
    };
  }
  const instance = new WebAssembly.Instance(module, { env, wasi_snapshot_preview1: {} });
  exports = instance.exports;
  exports._initialize?.();
  exports.proxy_on_context_create(1, 0);
  exports.proxy_on_vm_start(1, 0);
  if (!exports.proxy_on_configure(1, state.config.length)) throw new Error(`${wasmPath}: configuration rejected`);

  let nextId = 2;
  /** One full stream; `mark` (when recording) is called after each callback. */
  const stream = (mark) => {
    const id = nextId++;
    exports.proxy_on_context_create(id, 1);
    mark?.();
    exports.proxy_on_request_headers(id, scenario.headers.length, 1);
    mark?.();
    exports.proxy_on_response_headers(id, responseHeaders.length, 0);
    mark?.();
    exports.proxy_on_log(id);
    mark?.();
    exports.proxy_on_done(id);
    mark?.();
    exports.proxy_on_delete(id);
    mark?.();
  };
  // Where the calls of each callback end on the tape.
  const ends = [];
  state.request = new Map(scenario.headers);
  state.response = new Map(responseHeaders);
  tape.length = 0;
  if (givenTape === null) stream(() => ends.push(tape.length));
  else tape.push(...givenTape);
  recording = false;
  const perStream = tape.length;
  const replayOne = () => {
    cursor = 0;
    stream();
    if (cursor !== perStream) throw new Error(`replay host: ${cursor} calls, the tape has ${perStream}`);
  };
  return {
    calls: perStream,
    /** The host calls of one stream, in order. */
    sequence: tape.map((entry) => entry.name),
    /** The recorded answers, for replaying another module against them. */
    tape: [...tape],
    /** The host calls of each of STREAM_CALLBACKS, in order (empty when replaying a given tape). */
    callbacks: ends.map((end, i) => tape.slice(i === 0 ? 0 : ends[i - 1], end).map((entry) => entry.name)),
    filterState: state.filterState.dynamic_subset,
    pages: () => exports.memory.buffer.byteLength / 65536,
    run(n) {
      for (let i = 0; i < n; i++) replayOne();
    },
    /** n streams, each timed on its own (ns): the slow ones show when the module collects garbage. */
    timeEach(n) {
      const ns = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const start = process.hrtime.bigint();
        replayOne();
        ns[i] = Number(process.hrtime.bigint() - start);
      }
      return ns;
    },
  };
}

/**
 * ns per host call of the replay path alone: crossing.wasm makes n host calls that the same kind of tape entry
 * answers. Subtracting calls x this from a replay time leaves the module's own time.
 */
export function crossingNs(crossingWasm, n = 2e6, reps = 5) {
  const tape = [{ name: "proxy_remove_header_map_value", answer: { rc: 0, data: null, u32: -1 }, plain: true }];
  let cursor = 0;
  const env = {
    proxy_remove_header_map_value: (a, b, c, d, e, f, g, h) => {
      const entry = tape[cursor++];
      cursor = 0;
      if (entry === undefined || entry.name !== "proxy_remove_header_map_value") throw new Error("crossing: tape");
      if (entry.plain) return entry.answer.rc;
      return -1;
    },
  };
  const { cross } = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(crossingWasm)), { env }).exports;
  cross(n / 4);
  const samples = [];
  for (let r = 0; r < reps; r++) {
    const start = process.hrtime.bigint();
    cross(n);
    samples.push(Number(process.hrtime.bigint() - start) / n);
  }
  return samples.sort((x, y) => x - y)[Math.floor(reps / 2)];
}
