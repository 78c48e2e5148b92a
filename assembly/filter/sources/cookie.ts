// The `cookie` key source: one cookie of the request's Cookie header (docs/configuration.md, "Key sources").
//
// RFC 6265 §4.2.1: cookie-string = cookie-pair *( ";" SP cookie-pair ), cookie-pair = cookie-name "=" cookie-value,
// cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE ). Servers see worse than the grammar, so the
// reading is lenient, like Envoy's own cookie parser (Http::Utility::parseCookieValue): pairs are split at ';',
// whitespace around names and values is dropped, a piece without '=' is skipped, and one pair of double quotes
// around a value is removed. Values are not decoded: RFC 6265 gives cookie values no encoding, and a value that
// is not a label value can match nothing anyway.
//
// The first cookie of that name wins: user agents list the cookie with the longest path first (RFC 6265 §5.4,
// step 2), i.e. the most specific one, and Envoy's parser and Go's Request.Cookie read the first too.

import { sameBytes } from "../bytes";
import { indexOfByte, skipOws, Span, trimOwsEnd } from "./bytes";

const SEMICOLON: u8 = 0x3b;
const EQUALS: u8 = 0x3d;
const DQUOTE: u8 = 0x22;

/**
 * The value of the first cookie named `name` in a Cookie header, into `out`; false when there is none. `name` is a
 * token (the configuration accepts no other cookie name): it holds no '=' and no whitespace, so a pair is that
 * cookie when it starts with the name followed by optional whitespace and '='.
 */
export function findCookie(header: usize, length: i32, name: usize, nameLength: i32, out: Span): bool {
  for (let start = 0; start < length; ) {
    const end = indexOfByte(header, start, length, SEMICOLON);
    const nameStart = skipOws(header, start, end);
    const nameEnd = nameStart + nameLength;
    if (nameEnd <= end && sameBytes(header + <usize>nameStart, name, <usize>nameLength)) {
      const equals = skipOws(header, nameEnd, end);
      if (equals < end && load<u8>(header + <usize>equals) == EQUALS) {
        let valueStart = skipOws(header, equals + 1, end);
        let valueEnd = trimOwsEnd(header, valueStart, end);
        if (valueEnd - valueStart >= 2 && isQuote(header, valueStart) && isQuote(header, valueEnd - 1)) {
          valueStart++;
          valueEnd--;
        }
        return out.set(header + <usize>valueStart, valueEnd - valueStart);
      }
    }
    start = end + 1;
  }
  return false;
}

function isQuote(header: usize, at: i32): bool {
  return load<u8>(header + <usize>at) == DQUOTE;
}
