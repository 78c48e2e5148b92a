// One small typed function per proxy-wasm host call; the raw ABI stays in imports.ts.
//
//   log(level: LogLevel, message: string): void
//   logLevel(): LogLevel                       host log level; may be 6 (spdlog "off"); Trace if the call fails
//   getBufferBytes(type: BufferType, start: u32, maxSize: u32): ArrayBuffer | null
//   getHeader(map: MapType, name: ArrayBuffer): ArrayBuffer | null      first value only (Envoy)
//   getHeaderView(map: MapType, name: ArrayBuffer, out: ByteView): bool  the same into the callback scratch
//   addHeader(map: MapType, name: ArrayBuffer, value: ArrayBuffer): WasmResult       appends
//   replaceHeader(map: MapType, name: ArrayBuffer, value: ArrayBuffer): WasmResult   adds or replaces
//   replaceHeaderRaw(map: MapType, name: ArrayBuffer, valuePtr: usize, valueSize: usize): WasmResult
//                                                   value not copied
//   removeHeader(map: MapType, name: ArrayBuffer): WasmResult                        Ok even if absent
//   getProperty(path: ArrayBuffer): ArrayBuffer | null                  path from pairs.ts propertyPath()
//   getPropertyView(path: ArrayBuffer, out: ByteView): bool             the same into the callback scratch
//   setProperty(path: ArrayBuffer, value: ArrayBuffer): WasmResult
//   setPropertyRaw(path: ArrayBuffer, valuePtr: usize, valueSize: usize): WasmResult   value not copied
//   sendLocalResponse(statusCode: u32, details: ArrayBuffer, body: ArrayBuffer,
//                     headers: ArrayBuffer = EMPTY_BYTES, grpcStatus: i32 = -1): WasmResult
//                                                   headers: serializePairs() output; the reply is sent
//                                                   after the current callback returns (Envoy defers it)
//   callForeignFunction(name: ArrayBuffer, args: ArrayBuffer): WasmResult   result bytes are dropped;
//                                                   NotFound/Unimplemented are ordinary answers
//   defineMetric(type: MetricType, name: string): u32   INVALID_METRIC_ID on failure (0 is a valid id)
//   defineCounter(name: string): u32
//   incrementMetric(id: u32, delta: i64 = 1): WasmResult  no host call for INVALID_METRIC_ID
//   lastResult(): WasmResult       why the most recent data-returning call (get*) gave null
//   malloc(size: usize): usize     the guest allocator the host calls; exported by exports.ts
//   releaseScratch(): void         ends the views' lifetime; exports.ts calls it as every callback begins
//
// Bytes, not strings: header values may be binary or invalid UTF-8, and hot-path callers encode
// constant names once (utf8() at configure time) and pass the same ArrayBuffer each time.
// Data-returning calls give a managed ArrayBuffer, EMPTY_BYTES for an empty value (the host writes
// ptr=0,size=0) and null when there is no value: NotFound is a normal answer, and every other status
// also yields null (see lastResult()). Nothing here traps on any status the host returns.
//
// Host-returned memory: the host calls our malloc, copies the data in, and hands ownership to us.
// malloc allocates a managed ArrayBuffer of exactly that size and parks it in `pendingBlock` (a
// global, hence a GC root). When the host call returns, `takeReturned` checks that the (ptr,size)
// the host wrote is that very block and adopts it: no copy, no heap.free, the GC reclaims it like
// any other buffer. A (ptr,size) that is not our block is refused (InvalidMemoryAccess), never read
// or freed. malloc makes no host call and never collects: with the minimal runtime, collection
// happens only at the end of an exported callback (gc.ts), when every block has been adopted or
// dropped; malloc counts its bytes for that policy. Measured in Node against heap.alloc + copy +
// heap.free: about 25 ns less per small value, 230 ns per 8 KiB one.
//
// The request path reads through the *View calls instead, which allocate nothing: malloc hands the host a piece
// of the callback scratch, one buffer allocated once and bump-allocated, and the answer is a ByteView (ptr,
// length) of it, valid until the current callback returns (exports.ts releases the scratch as the next callback
// begins). A managed block per answer costs an allocation and, later, its share of a collection: about half of
// a request's guest instructions before (BENCHMARKS.md, "Guest instructions"). An answer that does not fit the
// scratch gets a managed block as above; nothing refers to it, and nothing needs to: garbage is only collected
// at the end of a callback (gc.ts), when the view is dead anyway.

import {
  proxy_add_header_map_value,
  proxy_call_foreign_function,
  proxy_define_metric,
  proxy_get_buffer_bytes,
  proxy_get_header_map_value,
  proxy_get_log_level,
  proxy_get_property,
  proxy_increment_metric,
  proxy_log,
  proxy_remove_header_map_value,
  proxy_replace_header_map_value,
  proxy_send_local_response,
  proxy_set_property,
} from "./imports";
import { BufferType, LogLevel, MapType, MetricType, WasmResult } from "./enums";
import { noteAllocation } from "./gc";
import { utf8 } from "./utf8";

/** The empty value (shared; a zero-length buffer cannot be modified). */
export const EMPTY_BYTES = new ArrayBuffer(0);

/** defineMetric's failure value. Envoy keeps the metric type in the low 2 bits of an id; 3 is no type. */
export const INVALID_METRIC_ID: u32 = 0xffff_ffff;

/** Largest block malloc hands out; beyond this it returns 0 and the host call fails instead of trapping. */
const MAX_HOST_BLOCK: usize = 1 << 29;

/** Room for one callback's view answers (a request's properties and mapped headers, ordinarily far less). */
const SCRATCH_BYTES: usize = 16 << 10;

// Out-parameters the host writes: [u32 ptr or id or level][u32 size]. Host calls never nest.
const RETURN_SLOT: usize = memory.data(8);

const scratch = new ArrayBuffer(<i32>SCRATCH_BYTES);
let scratchUsed: usize = 0;
/** Set during a *View call: malloc serves it from the scratch. */
let toScratch = false;

// What malloc handed out during the current host call: (ptr, size), and the managed block if it was one.
let pendingPtr: usize = 0;
let pendingSize: usize = 0;
let pendingBlock: ArrayBuffer | null = null;
let lastStatus: WasmResult = WasmResult.Ok;

/** A host answer in guest memory: `length` bytes at `ptr`. */
export class ByteView {
  ptr: usize = 0;
  length: i32 = 0;
}

export function malloc(size: usize): usize {
  if (toScratch && size <= SCRATCH_BYTES - scratchUsed) {
    pendingPtr = changetype<usize>(scratch) + scratchUsed;
    pendingSize = size;
    scratchUsed += size;
    return pendingPtr;
  }
  if (size > MAX_HOST_BLOCK) return 0;
  const block = new ArrayBuffer(<i32>size);
  pendingBlock = block;
  pendingPtr = changetype<usize>(block);
  pendingSize = size;
  noteAllocation(size);
  return pendingPtr;
}

/** The views handed out so far are dead: their bytes may be reused. Call only as a callback begins. */
export function releaseScratch(): void {
  scratchUsed = 0;
}

export function lastResult(): WasmResult {
  return lastStatus;
}

/**
 * Whether a data-returning host call answered: status Ok and, unless the answer is empty, the (ptr, size) the host
 * wrote is the block malloc handed out for it. Records the status for lastResult().
 */
function answered(result: u32): bool {
  const ptr = pendingPtr;
  const size = pendingSize;
  pendingPtr = 0;
  pendingSize = 0;
  lastStatus = <WasmResult>result;
  if (result != WasmResult.Ok) return false;
  const returnedSize = <usize>load<u32>(RETURN_SLOT, 4);
  if (returnedSize == 0 || (ptr != 0 && <usize>load<u32>(RETURN_SLOT) == ptr && returnedSize == size)) return true;
  lastStatus = WasmResult.InvalidMemoryAccess;
  return false;
}

/** A data-returning host call's answer as the adopted buffer, or null. */
function takeReturned(result: u32): ArrayBuffer | null {
  const block = pendingBlock;
  pendingBlock = null;
  if (!answered(result)) return null;
  return load<u32>(RETURN_SLOT, 4) == 0 ? EMPTY_BYTES : block;
}

/** A *View call's answer into `out`; false when there is none. */
function takeView(result: u32, out: ByteView): bool {
  pendingBlock = null;
  toScratch = false;
  if (!answered(result)) return false;
  out.length = <i32>load<u32>(RETURN_SLOT, 4);
  out.ptr = out.length == 0 ? 0 : <usize>load<u32>(RETURN_SLOT);
  return true;
}

export function log(level: LogLevel, message: string): void {
  const bytes = utf8(message);
  proxy_log(level, changetype<usize>(bytes), bytes.byteLength);
  noteAllocation((<usize>bytes.byteLength) << 2); // the line, and the text it was built from
}

export function logLevel(): LogLevel {
  if (proxy_get_log_level(RETURN_SLOT) != WasmResult.Ok) return LogLevel.Trace;
  return <LogLevel>load<u32>(RETURN_SLOT);
}

export function getBufferBytes(type: BufferType, start: u32, maxSize: u32): ArrayBuffer | null {
  return takeReturned(proxy_get_buffer_bytes(type, start, maxSize, RETURN_SLOT, RETURN_SLOT + 4));
}

export function getHeader(map: MapType, name: ArrayBuffer): ArrayBuffer | null {
  return takeReturned(
    proxy_get_header_map_value(map, changetype<usize>(name), name.byteLength, RETURN_SLOT, RETURN_SLOT + 4),
  );
}

/** getHeader into the callback scratch: the value in `out`, valid until the callback returns; false if none. */
export function getHeaderView(map: MapType, name: ArrayBuffer, out: ByteView): bool {
  toScratch = true;
  return takeView(
    proxy_get_header_map_value(map, changetype<usize>(name), name.byteLength, RETURN_SLOT, RETURN_SLOT + 4),
    out,
  );
}

export function addHeader(map: MapType, name: ArrayBuffer, value: ArrayBuffer): WasmResult {
  return <WasmResult>(
    proxy_add_header_map_value(
      map,
      changetype<usize>(name),
      name.byteLength,
      changetype<usize>(value),
      value.byteLength,
    )
  );
}

export function replaceHeader(map: MapType, name: ArrayBuffer, value: ArrayBuffer): WasmResult {
  return replaceHeaderRaw(map, name, changetype<usize>(value), value.byteLength);
}

/** replaceHeader for a value the caller keeps in guest memory of its own (part of a buffer, say). */
export function replaceHeaderRaw(map: MapType, name: ArrayBuffer, valuePtr: usize, valueSize: usize): WasmResult {
  return <WasmResult>proxy_replace_header_map_value(map, changetype<usize>(name), name.byteLength, valuePtr, valueSize);
}

export function removeHeader(map: MapType, name: ArrayBuffer): WasmResult {
  return <WasmResult>proxy_remove_header_map_value(map, changetype<usize>(name), name.byteLength);
}

export function getProperty(path: ArrayBuffer): ArrayBuffer | null {
  return takeReturned(proxy_get_property(changetype<usize>(path), path.byteLength, RETURN_SLOT, RETURN_SLOT + 4));
}

/** getProperty into the callback scratch: the value in `out`, valid until the callback returns; false if none. */
export function getPropertyView(path: ArrayBuffer, out: ByteView): bool {
  toScratch = true;
  return takeView(proxy_get_property(changetype<usize>(path), path.byteLength, RETURN_SLOT, RETURN_SLOT + 4), out);
}

export function setProperty(path: ArrayBuffer, value: ArrayBuffer): WasmResult {
  return setPropertyRaw(path, changetype<usize>(value), value.byteLength);
}

/** setProperty for a value the caller keeps in guest memory of its own (no per-call ArrayBuffer). */
export function setPropertyRaw(path: ArrayBuffer, valuePtr: usize, valueSize: usize): WasmResult {
  return <WasmResult>proxy_set_property(changetype<usize>(path), path.byteLength, valuePtr, valueSize);
}

export function sendLocalResponse(
  statusCode: u32,
  details: ArrayBuffer,
  body: ArrayBuffer,
  headers: ArrayBuffer = EMPTY_BYTES,
  grpcStatus: i32 = -1,
): WasmResult {
  return <WasmResult>(
    proxy_send_local_response(
      statusCode,
      changetype<usize>(details),
      details.byteLength,
      changetype<usize>(body),
      body.byteLength,
      changetype<usize>(headers),
      headers.byteLength,
      grpcStatus,
    )
  );
}

export function callForeignFunction(name: ArrayBuffer, args: ArrayBuffer): WasmResult {
  const result = proxy_call_foreign_function(
    changetype<usize>(name),
    name.byteLength,
    changetype<usize>(args),
    args.byteLength,
    RETURN_SLOT,
    RETURN_SLOT + 4,
  );
  takeReturned(result); // releases any result block to the GC
  return <WasmResult>result;
}

export function defineMetric(type: MetricType, name: string): u32 {
  const bytes = utf8(name);
  if (proxy_define_metric(type, changetype<usize>(bytes), bytes.byteLength, RETURN_SLOT) != WasmResult.Ok) {
    return INVALID_METRIC_ID;
  }
  return load<u32>(RETURN_SLOT);
}

export function defineCounter(name: string): u32 {
  return defineMetric(MetricType.Counter, name);
}

export function incrementMetric(id: u32, delta: i64 = 1): WasmResult {
  if (id == INVALID_METRIC_ID) return WasmResult.NotFound;
  return <WasmResult>proxy_increment_metric(id, delta);
}
