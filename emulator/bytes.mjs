// Byte strings: the emulator keeps every header name/value and property as a JS string with one char per byte
// (latin1), so values are byte-exact and moving them across the wasm boundary needs no UTF-8 transcoding.
// Conversions to/from user-facing strings (UTF-8) happen only at the API edge, with an ASCII fast path.

const utf8Decoder = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();
const SMALL = 48; // below this a JS loop beats the native Buffer call

/** JS string (UTF-8 text) or Uint8Array -> byte string. */
export function toByteString(value) {
  if (typeof value === "string") {
    // ASCII exactly when every char is one UTF-8 byte; a short JS loop beats the native count
    const ascii = value.length < SMALL ? isAscii(value) : Buffer.byteLength(value, "utf8") === value.length;
    return ascii ? value : Buffer.from(utf8Encoder.encode(value)).toString("latin1");
  }
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("latin1");
  throw new TypeError(`expected a string or Uint8Array, got ${typeof value}`);
}

function isAscii(s) {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Byte string -> JS string decoded as UTF-8 (invalid sequences become U+FFFD). */
export function byteStringToText(s) {
  return isAscii(s) ? s : utf8Decoder.decode(Buffer.from(s, "latin1"));
}

export function byteStringToBytes(s) {
  return new Uint8Array(Buffer.from(s, "latin1"));
}

/** Lower-cases A-Z only, like Envoy's LowerCaseString (absl::AsciiStrToLower). */
export function asciiLower(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  }
  return s;
}

/** Reads len bytes at ptr of u8 (a Uint8Array over memory; buf the Buffer over the same memory). */
export function readByteString(u8, buf, ptr, len) {
  if (len > SMALL) return buf.latin1Slice(ptr, ptr + len);
  let s = "";
  for (let i = ptr, end = ptr + len; i < end; i++) s += String.fromCharCode(u8[i]);
  return s;
}

/** Same as readByteString with ASCII upper case folded to lower case (header names). */
export function readLowerByteString(u8, buf, ptr, len) {
  if (len > SMALL) return asciiLower(buf.latin1Slice(ptr, ptr + len));
  let s = "";
  for (let i = ptr, end = ptr + len; i < end; i++) {
    const c = u8[i];
    s += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return s;
}

/** True when the bytes at ptr equal name (a lower-case byte string) after ASCII lower-casing. */
export function equalsLowerAt(u8, ptr, len, name) {
  if (name.length !== len) return false;
  for (let i = 0; i < len; i++) {
    let c = u8[ptr + i];
    if (c >= 65 && c <= 90) c += 32;
    if (c !== name.charCodeAt(i)) return false;
  }
  return true;
}

export function writeByteString(u8, buf, ptr, s) {
  const len = s.length;
  if (len > SMALL) {
    buf.latin1Write(s, ptr, len);
    return;
  }
  for (let i = 0; i < len; i++) u8[ptr + i] = s.charCodeAt(i);
}

/** Guest log text: UTF-8 bytes -> JS string. */
export function readText(u8, buf, ptr, len) {
  for (let i = ptr, end = ptr + len; i < end; i++) {
    if (u8[i] > 0x7f) return utf8Decoder.decode(u8.subarray(ptr, ptr + len));
  }
  return readByteString(u8, buf, ptr, len);
}

/** Serialises [name, value] byte-string pairs in the proxy-wasm pairs format (docs/abi.md "Wire formats"). */
export function marshalPairs(pairs) {
  let size = 4 + pairs.length * 8;
  for (const [k, v] of pairs) size += k.length + v.length + 2;
  const out = Buffer.alloc(size);
  out.writeUInt32LE(pairs.length, 0);
  let p = 4;
  for (const [k, v] of pairs) {
    out.writeUInt32LE(k.length, p);
    out.writeUInt32LE(v.length, p + 4);
    p += 8;
  }
  for (const [k, v] of pairs) {
    out.latin1Write(k, p);
    p += k.length + 1;
    out.latin1Write(v, p);
    p += v.length + 1;
  }
  return out.toString("latin1");
}

/** Parses the pairs format like PairsUtil::toPairs: malformed or truncated input gives an empty list. */
export function unmarshalPairs(s) {
  if (s.length < 4) return [];
  const b = Buffer.from(s, "latin1");
  const count = b.readUInt32LE(0);
  if (4 + count * 8 > b.length) return [];
  const sizes = [];
  for (let i = 0; i < count; i++) sizes.push([b.readUInt32LE(4 + i * 8), b.readUInt32LE(8 + i * 8)]);
  let p = 4 + count * 8;
  const pairs = [];
  for (const [kl, vl] of sizes) {
    if (p + kl + vl + 2 > b.length) return [];
    pairs.push([s.slice(p, p + kl), s.slice(p + kl + 1, p + kl + 1 + vl)]);
    p += kl + vl + 2;
  }
  return pairs;
}
