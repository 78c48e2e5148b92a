// The `baggage` key source: one member of the request's W3C `baggage` header (docs/configuration.md, "Key
// sources"), https://www.w3.org/TR/baggage/:
//
//   baggage-string = list-member 0*179( OWS "," OWS list-member )
//   list-member    = key OWS "=" OWS value *( OWS ";" OWS property )
//   property       = key OWS "=" OWS value / key OWS
//   key            = token
//   value          = *baggage-octet   (%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E, percent-encoded UTF-8)
//
// A header that does not follow the grammar is malformed, and a malformed header has no members at all: every key
// read from it is absent, as the OpenTelemetry SDKs (Go's baggage.Parse) drop such a header whole. So is a header
// beyond the limits every platform must carry (W3C Baggage, "Limits": 64 list-members, 8192 bytes): reading more
// would let one hop see what another drops, and it bounds the work on a hostile header. Properties are checked
// and ignored.
//
// When a key appears more than once the last member wins: that is what the OpenTelemetry SDKs keep ("last one
// wins" in Go, Java and JavaScript) and forward to the next hop, so every hop of a chain reads the same value.

import { ByteSet } from "../bytes";
import { bytesEqual, skipOws, Span, TOKEN_BYTES } from "./bytes";

/** The W3C Baggage limits (a header beyond them is not read). */
export const MAX_BAGGAGE_BYTES: i32 = 8192;
export const MAX_BAGGAGE_MEMBERS: i32 = 64;

const COMMA: u32 = 0x2c;
const SEMICOLON: u32 = 0x3b;
const EQUALS: u32 = 0x3d;

function isBaggageOctet(c: u32): bool {
  return c >= 0x21 && c <= 0x7e && c != 0x22 && c != 0x2c && c != 0x3b && c != 0x5c;
}
const BAGGAGE_OCTETS = new ByteSet(isBaggageOctet);

/**
 * One pass over a baggage header: its members, checked against the grammar and the limits, and the value of the
 * last member whose key is `key` (into `out`, still percent-encoded). False when the header is malformed, beyond
 * the limits, or has no such member.
 */
export function findBaggageMember(header: usize, length: i32, key: usize, keyLength: i32, out: Span): bool {
  if (length > MAX_BAGGAGE_BYTES) return false;
  let found = false;
  let members = 0;
  let at = 0;
  while (true) {
    at = skipOws(header, at, length);
    const keyStart = at;
    at = skipToken(header, at, length);
    const keyEnd = at;
    at = skipOws(header, at, length);
    if (keyEnd == keyStart || !isByte(header, at, length, EQUALS)) return false;
    const valueStart = skipOws(header, at + 1, length);
    const valueEnd = skipValue(header, valueStart, length);
    at = skipProperties(header, valueEnd, length);
    if (at < 0 || ++members > MAX_BAGGAGE_MEMBERS) return false;
    if (bytesEqual(header, keyStart, keyEnd, key, keyLength))
      found = out.set(header + <usize>valueStart, valueEnd - valueStart);
    if (at == length) return found;
    if (!isByte(header, at, length, COMMA)) return false;
    at++;
  }
}

/** After a member's value: `*( OWS ";" OWS property ) OWS`; the position after it, or -1 if malformed. */
function skipProperties(header: usize, at: i32, length: i32): i32 {
  at = skipOws(header, at, length);
  while (isByte(header, at, length, SEMICOLON)) {
    at = skipOws(header, at + 1, length);
    const keyStart = at;
    at = skipToken(header, at, length);
    if (at == keyStart) return -1;
    at = skipOws(header, at, length);
    if (isByte(header, at, length, EQUALS)) {
      at = skipOws(header, skipValue(header, skipOws(header, at + 1, length), length), length);
    }
  }
  return at;
}

function skipToken(header: usize, at: i32, length: i32): i32 {
  while (at < length && TOKEN_BYTES.has(load<u8>(header + <usize>at))) at++;
  return at;
}

function skipValue(header: usize, at: i32, length: i32): i32 {
  while (at < length && BAGGAGE_OCTETS.has(load<u8>(header + <usize>at))) at++;
  return at;
}

function isByte(header: usize, at: i32, length: i32, byte: u32): bool {
  return at < length && <u32>load<u8>(header + <usize>at) == byte;
}
