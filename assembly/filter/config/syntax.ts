// What the strings of a configuration must look like: label keys and values, DNS names, header-name tokens,
// query parameter names, route tokens, endpoint addresses. Pure functions on strings, no problem reporting (the
// rules do that).

import { utf8 } from "../../abi/utf8";
import { ROUTE_TOKEN_MAX_LENGTH, ROUTE_TOKEN_MIN_LENGTH } from "../../../src/config/constants";
import { isIpLiteral, isLabelValue } from "../labels";
import { isTokenByte } from "../sources/bytes";

/** Runs a byte predicate (labels.ts, shared with the per-request checks) on the UTF-8 bytes of `s`. */
export function utf8Satisfies(s: string, test: (ptr: usize, len: i32) => bool): bool {
  const bytes = utf8(s);
  return test(changetype<usize>(bytes), bytes.byteLength);
}

/** An IPv4 or IPv6 literal, as `%ip%` values must be. */
export function isIp(s: string): bool {
  return utf8Satisfies(s, isIpLiteral);
}

function isLowerAlnum(c: i32): bool {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

/** RFC 1123 label as Kubernetes checks it: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters. */
export function isDns1123Label(s: string): bool {
  return isDnsLabelAt(s, 0, s.length);
}

function isDnsLabelAt(s: string, start: i32, end: i32): bool {
  const n = end - start;
  if (n < 1 || n > 63) return false;
  if (!isLowerAlnum(s.charCodeAt(start)) || !isLowerAlnum(s.charCodeAt(end - 1))) return false;
  for (let i = start + 1; i < end - 1; i++) {
    const c = s.charCodeAt(i);
    if (!isLowerAlnum(c) && c != 0x2d) return false;
  }
  return true;
}

/** RFC 1123 subdomain (lower-case DNS name): dot-separated labels, at most 253 characters. */
export function isDns1123Subdomain(s: string): bool {
  const n = s.length;
  if (n < 1 || n > 253) return false;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    if (i == n || s.charCodeAt(i) == 0x2e) {
      if (!isDnsLabelAt(s, start, i)) return false;
      start = i + 1;
    }
  }
  return true;
}

/** Kubernetes qualified name: optional DNS-1123 subdomain prefix and "/", then a name of 1-63 characters. */
export function isLabelKey(s: string): bool {
  const slash = s.indexOf("/"); // -1: no prefix, the name is all of s
  if (slash >= 0 && !isDns1123Subdomain(s.substring(0, slash))) return false;
  return utf8Satisfies(s.substring(slash + 1, s.length), isLabelValue);
}

/** RFC 9110 token: a header field name, an RFC 6265 cookie-name, a W3C baggage key. */
export function isHeaderToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenByte(s.charCodeAt(i))) return false;
  return true;
}

/**
 * A query parameter name as the configuration gives it (the decoded form the request's names are compared with):
 * visible ASCII except '#', '%', '&', '+' and '='. Those could only be matched in their encoded forms, and a
 * configured '+' or '%' would read as if it were one: rejected rather than silently never matching.
 */
export function isQueryParameterName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c == 0x23 || c == 0x25 || c == 0x26 || c == 0x2b || c == 0x3d) return false;
  }
  return true;
}

export function hasUpperCase(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/** ASCII-only lower-casing (header names are ASCII): String#toLowerCase pulls in Unicode tables. */
export function asciiLowerCase(s: string): string {
  // One allocation: appending char by char is quadratic garbage, which the minimal runtime only
  // reclaims after on_configure (a 58k-character header name made 3 GB).
  const out = changetype<string>(__new((<usize>s.length) << 1, idof<String>()));
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    store<u16>(changetype<usize>(out) + ((<usize>i) << 1), <u16>(c >= 0x41 && c <= 0x5a ? c + 0x20 : c));
  }
  return out;
}

/** catalog.routeToken: ROUTE_TOKEN_MIN_LENGTH to ROUTE_TOKEN_MAX_LENGTH lower-case hex digits. */
export function isRouteToken(s: string): bool {
  if (s.length < ROUTE_TOKEN_MIN_LENGTH || s.length > ROUTE_TOKEN_MAX_LENGTH) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** Decimal port 1-65535 without sign or leading zero; -1 otherwise. */
function parsePort(s: string): i32 {
  const n = s.length;
  if (n < 1 || n > 5 || s.charCodeAt(0) == 0x30) return -1;
  let port = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    port = port * 10 + (c - 0x30);
  }
  return port <= 65535 ? port : -1;
}

/** The IP of "ipv4:port" or "[ipv6]:port"; null if the address is not of that form. */
export function endpointIp(address: string): string | null {
  const bracketed = address.startsWith("[");
  const ipEnd = bracketed ? address.indexOf("]:") : address.lastIndexOf(":");
  if (ipEnd < 0) return null;
  const ip = address.substring(bracketed ? 1 : 0, ipEnd);
  const port = address.substring(ipEnd + (bracketed ? 2 : 1), address.length);
  // brackets are for IPv6 only, and IPv6 needs them
  if (ip.indexOf(":") >= 0 != bracketed) return null;
  if (!isIp(ip) || parsePort(port) < 0) return null;
  return ip;
}
