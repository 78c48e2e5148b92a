// Byte-level predicates on request values (docs/behaviour.md, "Routing decision", step 2). Values come straight
// from the host: any bytes, any length. These functions only read `len` bytes at
// `ptr`, never allocate, and stop as soon as the answer is known.

import { ByteSet } from "./bytes";

/** Longest Kubernetes label value. */
export const MAX_LABEL_VALUE: i32 = 63;
/** Longest IPv6 literal ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"). */
export const MAX_IP_LITERAL: i32 = 45;

function isAlnum(c: u32): bool {
  return c - 0x30 < 10 || (c | 0x20) - 0x61 < 26;
}

function isLabelByte(c: u32): bool {
  return isAlnum(c) || c == 0x2d || c == 0x5f || c == 0x2e; // - _ .
}

const ALNUM_BYTES = new ByteSet(isAlnum);
const LABEL_BYTES = new ByteSet(isLabelByte);

function hexDigitValue(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const lower = c | 0x20;
  if (lower - 0x61 < 6) return <i32>(lower - 0x61 + 10);
  return -1;
}

/**
 * A Kubernetes label value that can name a subset: 1..63 bytes,
 * `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
 */
export function isLabelValue(ptr: usize, len: i32): bool {
  if (len < 1 || len > MAX_LABEL_VALUE) return false;
  if (!ALNUM_BYTES.has(load<u8>(ptr)) || !ALNUM_BYTES.has(load<u8>(ptr + <usize>(len - 1)))) return false;
  for (let i = 1; i < len - 1; i++) {
    if (!LABEL_BYTES.has(load<u8>(ptr + <usize>i))) return false;
  }
  return true;
}

/**
 * Dotted-quad IPv4 at [start, end): four decimal octets 0..255. A leading zero
 * ("010") is rejected: some parsers read it as octal, so it is ambiguous, and
 * Kubernetes never reports it (same rule as Go's net/netip).
 */
function isIpv4(ptr: usize, start: i32, end: i32): bool {
  let i = start;
  for (let octet = 1; octet < 4; octet++) {
    i = octetEnd(ptr, i, end);
    // unsigned: no octet (-1) and the end fail the same compare
    if (<u32>i >= <u32>end || load<u8>(ptr + <usize>i) != 0x2e) return false; // '.'
    i++;
  }
  return octetEnd(ptr, i, end) == end;
}

/**
 * Where the decimal octet (0..255, one to three digits) that starts at `i` ends, or -1 when none starts there.
 * A leading zero is a whole octet: in "010" the octet is "0", and the caller finds "1" where a '.' must be.
 */
function octetEnd(ptr: usize, i: i32, end: i32): i32 {
  const start = i;
  const last = min(end, start + 3);
  let value: u32 = 0;
  while (i < last) {
    const digit = <u32>load<u8>(ptr + <usize>i) - 0x30;
    if (digit > 9) break;
    value = value * 10 + digit;
    i++;
    if (value == 0) break;
  }
  return i == start || value > 255 ? -1 : i;
}

/**
 * IPv6 text form (RFC 4291 §2.2): eight groups of 1..4 hex digits, one `::`
 * standing for one or more zero groups, optionally ending in a dotted quad that
 * counts as two groups. No zone id (`%eth0`), no brackets, no port.
 */
function isIpv6(ptr: usize, len: i32): bool {
  let groups = 0;
  let compressed = false;
  let i = 0;
  if (len >= 2 && load<u8>(ptr) == 0x3a) {
    // A leading ':' is only valid as the start of "::".
    if (load<u8>(ptr + 1) != 0x3a) return false;
    compressed = true;
    i = 2;
    if (i == len) return true; // "::"
  }
  while (i < len) {
    const groupStart = i;
    while (i < len && i - groupStart < 5 && hexDigitValue(load<u8>(ptr + <usize>i)) >= 0) i++;
    const digits = i - groupStart;
    if (i < len && load<u8>(ptr + <usize>i) == 0x2e) {
      // Embedded IPv4: must be the last thing, in place of the last two groups.
      if (groups > 6 || !isIpv4(ptr, groupStart, len)) return false;
      groups += 2;
      break;
    }
    if (digits == 0 || digits > 4) return false;
    groups++;
    if (i == len) break;
    if (load<u8>(ptr + <usize>i) != 0x3a) return false;
    i++;
    if (i < len && load<u8>(ptr + <usize>i) == 0x3a) {
      if (compressed) return false; // a second "::"
      compressed = true;
      i++;
      if (i == len) break; // trailing "::"
    } else if (i == len) {
      return false; // trailing single ':'
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

/** An IPv4 or IPv6 literal as a `%ip%` value (docs/behaviour.md, "Routing decision", step 2). */
export function isIpLiteral(ptr: usize, len: i32): bool {
  if (len < 2 || len > MAX_IP_LITERAL) return false;
  // A dotted quad has no ':', and IPv6 text has at least two.
  return isIpv4(ptr, 0, len) || isIpv6(ptr, len);
}
