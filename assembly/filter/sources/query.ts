// The `query` key source: one parameter of the query of the request's `:path` (docs/configuration.md, "Key
// sources").
//
// The query is what follows the first '?' of the path, up to a '#' (Envoy answers 400 to a path with a fragment
// by default; the '#' rule covers configurations that let one through). It is read as the WHATWG URL standard
// reads application/x-www-form-urlencoded text: parameters are split at '&', empty ones skipped, a parameter is
// split at its first '=' (none: an empty value), and names and values are percent-decoded with '+' as a space. A
// parameter matches when its decoded name equals the configured name byte for byte.
//
// The first parameter of that name wins, as URLSearchParams.get, Go's Values.Get, Java's getParameter and
// Envoy's own query-parameter route matching read it.

import { indexOfByte, PercentDecoder, Span } from "./bytes";

const QUESTION_MARK: u8 = 0x3f;
const HASH: u8 = 0x23;
const AMPERSAND: u8 = 0x26;
const EQUALS: u8 = 0x3d;
const PERCENT: u8 = 0x25;
const PLUS: u8 = 0x2b;

/** The raw (still encoded) value of the first query parameter named `name` in a path, into `out`; false if none. */
export function findQueryParameter(
  path: usize,
  length: i32,
  name: usize,
  nameLength: i32,
  decoder: PercentDecoder,
  out: Span,
): bool {
  const queryEnd = indexOfByte(path, 0, length, HASH);
  for (let start = indexOfByte(path, 0, queryEnd, QUESTION_MARK) + 1; start < queryEnd; ) {
    const end = indexOfByte(path, start, queryEnd, AMPERSAND);
    const equals = indexOfByte(path, start, end, EQUALS);
    if (decodesTo(path, start, equals, name, nameLength, decoder)) {
      const valueStart = min(equals + 1, end);
      return out.set(path + <usize>valueStart, end - valueStart);
    }
    start = end + 1;
  }
  return false;
}

/** Whether [start, end) of `path`, decoded, is exactly the `nameLength` bytes at `name`. */
function decodesTo(path: usize, start: i32, end: i32, name: usize, nameLength: i32, decoder: PercentDecoder): bool {
  // Up to its first '%' or '+' a name decodes to itself: compared in place, the rest through the decoder.
  let at = start;
  let i = 0;
  for (; at < end && i < nameLength; at++, i++) {
    const c = load<u8>(path + <usize>at);
    if (c == PERCENT || c == PLUS) break;
    if (c != load<u8>(name + <usize>i)) return false;
  }
  decoder.reset(path, at, end, true);
  for (; i < nameLength; i++) {
    if (decoder.done || decoder.next() != <u32>load<u8>(name + <usize>i)) return false;
  }
  return decoder.done;
}
