// Steering and inspection of the stub proxy-wasm host in as-pect.config.js (module "testhost"),
// plus byte helpers for the abi*.spec.ts files.

@external("testhost", "reset") declare function testhost_reset(): void;
@external("testhost", "set_header")
declare function testhost_set_header(map: u32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): void;
@external("testhost", "set_property")
declare function testhost_set_property(pathPtr: usize, pathSize: usize, valuePtr: usize, valueSize: usize): void;
@external("testhost", "set_foreign_return") declare function testhost_set_foreign_return(ptr: usize, size: usize): void;
@external("testhost", "set_log_level") declare function testhost_set_log_level(level: u32): void;
@external("testhost", "fail_next") declare function testhost_fail_next(status: u32): void;
@external("testhost", "stray_return_next") declare function testhost_stray_return_next(): void;
@external("testhost", "call_count") declare function testhost_call_count(): i32;
@external("testhost", "last_int") declare function testhost_last_int(index: i32): i64;
@external("testhost", "last_bytes") declare function testhost_last_bytes(index: i32, ptr: usize, capacity: usize): i32;
@external("testhost", "log_count") declare function testhost_log_count(): i32;
@external("testhost", "log_level") declare function testhost_log_level(index: i32): u32;
@external("testhost", "log_message") declare function testhost_log_message(index: i32, ptr: usize, capacity: usize): i32;

const CAPACITY = 4096;

/** Bytes of an ASCII/UTF-8 string. */
export function b(text: string): ArrayBuffer {
  return String.UTF8.encode(text);
}

/** Bytes from a list of byte values. */
export function raw(values: u8[]): ArrayBuffer {
  const out = new ArrayBuffer(values.length);
  for (let i = 0; i < values.length; i++) store<u8>(changetype<usize>(out) + i, values[i]);
  return out;
}

/** Lower-case hex of the bytes, e.g. "0a00ff": readable in a failed expectation. */
export function hex(bytes: ArrayBuffer | null): string {
  if (bytes === null) return "null";
  const digits = "0123456789abcdef";
  let out = "";
  for (let i = 0; i < bytes.byteLength; i++) {
    const byte = load<u8>(changetype<usize>(bytes) + i);
    out += digits.charAt(byte >> 4) + digits.charAt(byte & 15);
  }
  return out;
}

export namespace host {
  export function reset(): void {
    testhost_reset();
  }
  export function setHeader(map: u32, name: string, value: ArrayBuffer): void {
    const key = b(name);
    testhost_set_header(map, changetype<usize>(key), key.byteLength, changetype<usize>(value), value.byteLength);
  }
  export function setProperty(path: ArrayBuffer, value: ArrayBuffer): void {
    testhost_set_property(changetype<usize>(path), path.byteLength, changetype<usize>(value), value.byteLength);
  }
  export function setForeignReturn(value: ArrayBuffer): void {
    testhost_set_foreign_return(changetype<usize>(value), value.byteLength);
  }
  export function setLogLevel(level: u32): void {
    testhost_set_log_level(level);
  }
  /** The next host call (other than proxy_log) returns `status` and does nothing. */
  export function failNext(status: u32): void {
    testhost_fail_next(status);
  }
  /** The next data-returning host call reports Ok with a (ptr,size) the guest never allocated. */
  export function strayReturnNext(): void {
    testhost_stray_return_next();
  }
  /** proxy_* calls so far, proxy_log excepted. */
  export function calls(): i32 {
    return testhost_call_count();
  }
  /** Integer argument `index` of the last proxy_* call (status code, map type, metric id, delta...). */
  export function lastInt(index: i32): i64 {
    return testhost_last_int(index);
  }
  /** Byte argument `index` of the last proxy_* call (name, value, path, body...). */
  export function lastBytes(index: i32): ArrayBuffer {
    const buffer = new ArrayBuffer(CAPACITY);
    return buffer.slice(0, testhost_last_bytes(index, changetype<usize>(buffer), CAPACITY));
  }
  export function logCount(): i32 {
    return testhost_log_count();
  }
  export function logLevel(index: i32): u32 {
    return testhost_log_level(index);
  }
  export function logMessage(index: i32): string {
    const buffer = new ArrayBuffer(CAPACITY);
    return String.UTF8.decode(buffer.slice(0, testhost_log_message(index, changetype<usize>(buffer), CAPACITY)));
  }
}
