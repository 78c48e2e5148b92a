// What the key-source parsers (cookie.ts, query.ts, baggage.ts) share: the span a parser reports, the byte
// classes of RFC 9110, and percent-decoding. Everything reads only the bytes it is given and allocates nothing.

import { ByteSet, sameBytes } from "../bytes";

/** Where a parser found a value: `length` bytes at `ptr`, inside the header it was given. */
export class Span {
  ptr: usize = 0;
  length: i32 = 0;

  /** Records [ptr, ptr + length) and says it was found. */
  set(ptr: usize, length: i32): bool {
    this.ptr = ptr;
    this.length = length;
    return true;
  }
}

/** RFC 9110 §5.6.2 tchar: the bytes of a token (header names, cookie names, baggage keys). */
export function isTokenByte(c: u32): bool {
  return TOKEN_BYTES.has(c);
}

export const TOKEN_BYTES = new ByteSet(isTchar);

function isTchar(c: u32): bool {
  if (c - 0x30 < 10 || (c | 0x20) - 0x61 < 26) return true;
  switch (c) {
    // ! # $ % & ' * + - . ^ _ ` | ~
    case 0x21:
    case 0x23:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0x27:
    case 0x2a:
    case 0x2b:
    case 0x2d:
    case 0x2e:
    case 0x5e:
    case 0x5f:
    case 0x60:
    case 0x7c:
    case 0x7e:
      return true;
  }
  return false;
}

/** RFC 9110 §5.6.3 OWS: space or horizontal tab. */
export function isOws(c: u32): bool {
  return c == 0x20 || c == 0x09;
}

/** The first position in [from, end) that is not OWS, or end. */
export function skipOws(ptr: usize, from: i32, end: i32): i32 {
  while (from < end && isOws(load<u8>(ptr + <usize>from))) from++;
  return from;
}

/** The end of [start, end) without its trailing OWS. */
export function trimOwsEnd(ptr: usize, start: i32, end: i32): i32 {
  while (end > start && isOws(load<u8>(ptr + <usize>(end - 1)))) end--;
  return end;
}

/** Whether the bytes [start, end) at `ptr` are the `length` bytes at `bytes`. */
export function bytesEqual(ptr: usize, start: i32, end: i32, bytes: usize, length: i32): bool {
  return end - start == length && sameBytes(ptr + <usize>start, bytes, <usize>length);
}

const ONES: u64 = 0x0101010101010101;
const HIGH_BITS: u64 = 0x8080808080808080;

/** The first position of `byte` in [from, end), or end. */
export function indexOfByte(ptr: usize, from: i32, end: i32, byte: u8): i32 {
  // Eight bytes at a time (headers and paths are long): x = the word XOR the byte repeated has a zero byte
  // where the word has `byte`, and (x - ONES) & ~x & HIGH_BITS flags it; its lowest flag is the first match.
  const repeated = <u64>byte * ONES;
  for (; from + 8 <= end; from += 8) {
    const x = load<u64>(ptr + <usize>from) ^ repeated;
    const flags = (x - ONES) & ~x & HIGH_BITS;
    if (flags != 0) return from + <i32>(ctz(flags) >> 3);
  }
  while (from < end && load<u8>(ptr + <usize>from) != byte) from++;
  return from;
}

function hexValue(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const lower = c | 0x20;
  return lower - 0x61 < 6 ? <i32>(lower - 0x61 + 10) : -1;
}

/** The byte that the escape "%XX" at `at` stands for, or -1 when there is no valid escape there. */
function escapedByte(ptr: usize, at: i32, end: i32): i32 {
  if (at + 2 >= end || load<u8>(ptr + <usize>at) != 0x25) return -1;
  const high = hexValue(load<u8>(ptr + <usize>(at + 1)));
  const low = hexValue(load<u8>(ptr + <usize>(at + 2)));
  return high < 0 || low < 0 ? -1 : (high << 4) | low;
}

/**
 * Reads percent-encoded text one decoded byte at a time (RFC 3986 §2.1; with `plusIsSpace`, the form encoding of
 * the WHATWG URL standard, where '+' is a space). A '%' without two hex digits after it stands for itself, as
 * the WHATWG percent-decode does.
 */
export class PercentDecoder {
  private ptr: usize = 0;
  private at: i32 = 0;
  private end: i32 = 0;
  private plusIsSpace: bool = false;

  reset(ptr: usize, start: i32, end: i32, plusIsSpace: bool): PercentDecoder {
    this.ptr = ptr;
    this.at = start;
    this.end = end;
    this.plusIsSpace = plusIsSpace;
    return this;
  }

  get done(): bool {
    return this.at >= this.end;
  }

  /** The next decoded byte (call only when not done). Inlined: it runs for every byte decoded. */
  // @ts-ignore: decorator
  @inline next(): u32 {
    const escaped = escapedByte(this.ptr, this.at, this.end);
    if (escaped >= 0) {
      this.at += 3;
      return <u32>escaped;
    }
    const c = <u32>load<u8>(this.ptr + <usize>this.at);
    this.at++;
    return c == 0x2b && this.plusIsSpace ? 0x20 : c;
  }
}

/**
 * Decodes [ptr, ptr + length) into `out`, which has room for `capacity` bytes; the decoded length, or -1 when the
 * decoded text is longer than `capacity` (decoding stops there: the caller bounds the work and the memory).
 */
export function percentDecode(decoder: PercentDecoder, span: Span, plusIsSpace: bool, out: usize, capacity: i32): i32 {
  decoder.reset(span.ptr, 0, span.length, plusIsSpace);
  let n = 0;
  while (!decoder.done) {
    if (n == capacity) return -1;
    store<u8>(out + <usize>n, <u8>decoder.next());
    n++;
  }
  return n;
}
