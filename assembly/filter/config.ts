// Plugin configuration (SPEC §3): JSON bytes -> validated PluginConfig, or every problem found.
//
// Never traps on any input (reference/abi.md §7.2): the JSON parser returns errors as values and the
// validator only reads what it has checked. Linear in the input size.
//
// Problem lines (the plugin logs each as `dynamic_subset: <line>`):
//   - malformed JSON, exactly one line:
//       configuration: invalid JSON at byte <0-based offset>: <reason>
//   - otherwise one line per problem, all of them collected:
//       <json path>: <what is wrong>
//     The path is JavaScript-like: `services[0].routes[1].headerToDynamicSubsetKey[0].header`; a member
//     name that is not an identifier is bracketed and quoted: `defaultSubset["app.kubernetes.io/version"]`.
//     The whole document is `configuration`. Values echoed in messages are JSON-quoted and cut at 64
//     characters. After MAX_REPORTED_PROBLEMS lines, one more says how many were left out.
//   - warnings use the same format and never reject the configuration.
//
// Decisions beyond SPEC §3/§4 (an operator would want these caught):
//   errors:   two selectors with the same key set (the later can never be chosen); a mapped header that
//             starts with headerPrefix (reserved for the filter's own headers) or equals a catalog
//             sessionHeader (removed from every request); sessionHeader equal to the subset header;
//             empty defaultSubset / catalog subset labels; two catalog subsets with the same labels;
//             two catalog endpoints with the same address; %ip% as a catalog label (pinning uses
//             catalog.endpoints); JSON null where a value is expected.
//   warnings: a mapping key that no selector of its service uses (it cannot affect the decision);
//             a catalog in metadata mode (validated, then ignored).
//   accepted: a route with an empty headerToDynamicSubsetKey list (that route gets no mapping);
//             `host` may start with "*." (Istio wildcard ServiceEntry hosts); lbPolicy (renderers only).

import { decimal } from "./decimal";
import { utf8 } from "../abi/utf8";
import { JsonDocument, JsonKind, JsonRef, NONE, parseJson, StringSet } from "./json";
import { isIpLiteral, isLabelValue } from "./labels";
import { message, Msg, WORD_COUNT } from "./messages.generated";
import {
  Catalog,
  CatalogEndpoint,
  CatalogSubset,
  ConfigResult,
  FallbackPolicy,
  HeaderMapping,
  IP_KEY,
  Label,
  MAX_KEYS_PER_SERVICE,
  Mode,
  PluginConfig,
  RouteConfig,
  ServiceConfig,
  SubsetSelector,
} from "./model";

export const DEFAULT_HEADER_PREFIX = "x-dynamic-subset-";
export const MAX_REPORTED_PROBLEMS: i32 = 100;
const MAX_ECHO: i32 = 64;

export function parseConfig(bytes: ArrayBuffer): ConfigResult {
  if (bytes.byteLength == 0) {
    return new ConfigResult(new PluginConfig(Mode.Metadata, DEFAULT_HEADER_PREFIX, false, []), [], []);
  }
  const parsed = parseJson(bytes);
  const doc = parsed.document;
  if (doc == null) {
    const line = message(Msg.Configuration) + message(Msg.InvalidJsonAt) + decimal(parsed.offset) + ": " + parsed.error;
    return new ConfigResult(null, [line], []);
  }
  const validator = new Validator(doc, changetype<usize>(bytes));
  const config = validator.root(doc.root);
  const errors = validator.report(validator.errors, validator.errorsLeftOut);
  const warnings = validator.report(validator.warnings, validator.warningsLeftOut);
  return new ConfigResult(errors.length == 0 ? config : null, errors, warnings);
}

// ---- predicates on configuration strings -------------------------------------------------------

function utf8Satisfies(s: string, test: (ptr: usize, len: i32) => bool): bool {
  const bytes = utf8(s);
  return test(changetype<usize>(bytes), bytes.byteLength);
}

/** A non-empty Kubernetes label value (SPEC §4 step 2). */
export function isConfigLabelValue(s: string): bool {
  return s.length > 0 && utf8Satisfies(s, isLabelValue);
}

/** An IPv4 or IPv6 literal, as `%ip%` values must be. */
export function isConfigIp(s: string): bool {
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
  return isConfigLabelValue(s.substring(slash + 1, s.length));
}

function isTokenChar(c: i32): bool {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return true;
  switch (c) {
    // RFC 9110 tchar punctuation: ! # $ % & ' * + - . ^ _ ` | ~
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

/** RFC 9110 token (a header field name). */
export function isHeaderToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

function hasUpperCase(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/** ASCII-only lower-casing (header names are ASCII): String#toLowerCase pulls in Unicode tables. */
function asciiLowerCase(s: string): string {
  // One allocation: appending char by char is quadratic garbage, which the minimal runtime only
  // reclaims after on_configure (a 58k-character header name made 3 GB).
  const out = changetype<string>(__new((<usize>s.length) << 1, idof<String>()));
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    store<u16>(changetype<usize>(out) + ((<usize>i) << 1), <u16>(c >= 0x41 && c <= 0x5a ? c + 0x20 : c));
  }
  return out;
}

/** catalog.routeToken: 16-64 lower-case hex digits. */
export function isRouteToken(s: string): bool {
  if (s.length < 16 || s.length > 64) return false;
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
  if (!isConfigIp(ip) || parsePort(port) < 0) return null;
  return ip;
}

// ---- message helpers ---------------------------------------------------------------------------

const HEX = "0123456789abcdef";

/** JSON-quoted, cut at MAX_ECHO characters: safe to put in a log line. */
export function quote(s: string): string {
  let out = '"';
  const n = s.length;
  for (let i = 0; i < n && i < MAX_ECHO; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c < 0x20 || c == 0x7f) out += "\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15);
    else out += String.fromCharCode(c);
  }
  out += '"';
  return n > MAX_ECHO ? out + "..." : out;
}

function isIdentifier(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x5f;
    if (!letter && !(i > 0 && c >= 0x30 && c <= 0x39)) return false;
  }
  return true;
}

// Member names and enum values are the catalog's words (Msg ids below WORD_COUNT). A set of them is
// a bit set by Msg, so a check is a loop over a few bits and a hint lists the set in catalog order.
type WordSet = u64;

const FALLBACK_POLICIES: WordSet = (1 << Msg.NoFallback) | (1 << Msg.AnyEndpoint) | (1 << Msg.DefaultSubsetPolicy);
const LB_POLICIES: WordSet = (1 << Msg.Random) | (1 << Msg.RoundRobin) | (1 << Msg.LeastRequest);
const MODES: WordSet = (1 << Msg.Metadata) | (1 << Msg.Catalog);

// known members per object, for the unknown-field check and its hint
const ROOT_FIELDS: WordSet =
  (1 << Msg.Mode) | (1 << Msg.HeaderPrefix) | (1 << Msg.ResponseHeader) | (1 << Msg.Services);
const SERVICE_FIELDS: WordSet =
  (1 << Msg.Cluster) | (1 << Msg.Host) | (1 << Msg.DynamicSubset) | (1 << Msg.Routes) | (1 << Msg.Catalog);
const DYNAMIC_SUBSET_FIELDS: WordSet =
  (1 << Msg.SubsetSelectors) | (1 << Msg.DefaultSubset) | (1 << Msg.FallbackPolicy) | (1 << Msg.LbPolicy);
const SELECTOR_FIELDS: WordSet = (1 << Msg.Keys) | (1 << Msg.FallbackPolicy);
const ROUTE_FIELDS: WordSet = (1 << Msg.Name) | (1 << Msg.HeaderToDynamicSubsetKey);
const MAPPING_FIELDS: WordSet = (1 << Msg.Header) | (1 << Msg.Key) | (1 << Msg.DefaultValue);
const CATALOG_FIELDS: WordSet =
  (1 << Msg.RouteToken) | (1 << Msg.Subsets) | (1 << Msg.Endpoints) | (1 << Msg.SessionHeader);
const SUBSET_FIELDS: WordSet = (1 << Msg.Name) | (1 << Msg.Labels);
const ENDPOINT_FIELDS: WordSet = (1 << Msg.Address) | (1 << Msg.Labels);

/** The policy of a word of FALLBACK_POLICIES. */
function policyOf(word: i32): FallbackPolicy {
  if (word == Msg.NoFallback) return FallbackPolicy.NoFallback;
  return word == Msg.AnyEndpoint ? FallbackPolicy.AnyEndpoint : FallbackPolicy.DefaultSubset;
}

/**
 * The strings of `items` in code-unit order, joined by newlines: a canonical text of a set, independent
 * of the order it was written in. A bottom-up merge sort (O(n log n) for hostile sizes) written out here
 * because Array#sort<string> linked ~1.5 KB of generic sort code for these two uses (measured).
 */
function sortedText(items: string[]): string {
  const n = items.length;
  let from = items.slice(0);
  let to = new Array<string>(n);
  for (let width = 1; width < n; width <<= 1) {
    for (let start = 0; start < n; start += width << 1) {
      const middle = min(start + width, n);
      const end = min(start + (width << 1), n);
      let i = start;
      let j = middle;
      for (let k = start; k < end; k++) {
        const takeLeft = j >= end || (i < middle && unchecked(from[i]) <= unchecked(from[j]));
        unchecked((to[k] = takeLeft ? unchecked(from[i++]) : unchecked(from[j++])));
      }
    }
    const swap = from;
    from = to;
    to = swap;
  }
  return from.join("\n");
}

/** Canonical text of a label set, independent of order: "k=v" lines sorted. */
function labelSetText(labels: Label[]): string {
  const parts = new Array<string>(labels.length);
  for (let i = 0; i < labels.length; i++) unchecked((parts[i] = labels[i].key + "=" + labels[i].value));
  return sortedText(parts);
}

/** What dynamicSubset yields for its service. */
class DynamicSubsetPart {
  selectors: SubsetSelector[] = [];
  defaultSubset: Label[] | null = null;
  fallbackPolicy: FallbackPolicy = FallbackPolicy.NoFallback;
  // every key of every valid selector
  selectorKeys: StringSet = new Map<string, i32>();
}

// bits of Validator.passed
const VALID_SUBSET_KEY: u8 = 1; // label key or %ip%
const VALID_LABEL_VALUE: u8 = 2;
const VALID_IP: u8 = 4;
const VALID_LOWER_HEADER: u8 = 8; // a mapped header name that is already lower-case

// ---- the validator -----------------------------------------------------------------------------

/**
 * Walks the JSON tree once. The current JSON path is a stack of segments (a member name, or an index
 * when the name is null), rendered only when a problem is reported: no allocation per node for paths.
 * Each check method expects the path to point at the value it is given.
 */
class Validator {
  errors: string[] = [];
  warnings: string[] = [];
  errorsLeftOut: i32 = 0;
  warningsLeftOut: i32 = 0;
  mode: Mode = Mode.Metadata;
  modeKnown: bool = true;
  headerPrefix: string = DEFAULT_HEADER_PREFIX;
  // services[] index of each cluster / host seen so far
  clusters: Map<string, i32> = new Map<string, i32>();
  hosts: Map<string, i32> = new Map<string, i32>();
  // label keys already found valid: a configuration repeats the same few keys many times
  knownLabelKeys: StringSet = new Map<string, i32>();
  // per string value of the document, the checks it already passed (VALID_* bits). The parser shares
  // one value among equal short strings, so each distinct header, key and label value is checked once.
  passed: StaticArray<u8>;
  pathNames: Array<string | null> = [];
  // the index of each null segment of pathNames, in order
  pathIndices: i32[] = [];
  // the words decoded once: member lookups compare against them ~10^5 times in a large configuration
  words: StaticArray<string> = new StaticArray<string>(WORD_COUNT);

  /** `base`: the input bytes, which string values with a rawOffset point into. */
  constructor(
    public doc: JsonDocument,
    public base: usize,
  ) {
    this.passed = new StaticArray<u8>(doc.size);
    for (let i = 0; i < WORD_COUNT; i++) unchecked((this.words[i] = message(<Msg>i)));
  }

  /** A member name or enum value (a Msg below WORD_COUNT). */
  word(id: Msg): string {
    return unchecked(this.words[id]);
  }

  /** The word of `set` that equals `text`, or -1. */
  find(text: string, set: WordSet): i32 {
    for (let bits = set; bits != 0; bits &= bits - 1) {
      const id = <Msg>ctz(bits);
      if (this.word(id) == text) return id;
    }
    return -1;
  }

  /** The words of `set` joined by ", ". */
  wordList(set: WordSet): string {
    let s = "";
    for (let bits = set; bits != 0; bits &= bits - 1) s += (s.length > 0 ? ", " : "") + this.word(<Msg>ctz(bits));
    return s;
  }

  hasPassed(value: JsonRef, check: u8): bool {
    return (unchecked(this.passed[value]) & check) != 0;
  }

  markPassed(value: JsonRef, check: u8): void {
    unchecked((this.passed[value] |= check));
  }

  // -- the path --

  enter(name: string): void {
    this.pathNames.push(name);
  }

  /** enter() the member name `field` (a word). */
  enterField(field: Msg): void {
    this.enter(this.word(field));
  }

  enterIndex(index: i32): void {
    this.pathNames.push(null);
    this.pathIndices.push(index);
  }

  leave(): void {
    if (this.pathNames.pop() == null) this.pathIndices.pop();
  }

  path(): string {
    let s = "";
    let indices = 0;
    for (let i = 0; i < this.pathNames.length; i++) {
      const name = unchecked(this.pathNames[i]);
      if (name == null) s += "[" + decimal(unchecked(this.pathIndices[indices++])) + "]";
      else if (!isIdentifier(name)) s += "[" + quote(name) + "]";
      else s += s.length == 0 ? name : "." + name;
    }
    return s.length == 0 ? message(Msg.Configuration) : s;
  }

  // -- reporting --

  error(message: string): void {
    if (this.errors.length < MAX_REPORTED_PROBLEMS) this.errors.push(this.path() + ": " + message);
    else this.errorsLeftOut++;
  }

  /** Reports `"<text>" is not <what>`. */
  isNot(text: string, what: Msg): void {
    this.error(quote(text) + message(Msg.IsNot) + message(what));
  }

  errorIn(name: string, message: string): void {
    this.enter(name);
    this.error(message);
    this.leave();
  }

  warn(message: string): void {
    if (this.warnings.length < MAX_REPORTED_PROBLEMS) this.warnings.push(this.path() + ": " + message);
    else this.warningsLeftOut++;
  }

  problems(): i32 {
    return this.errors.length + this.errorsLeftOut;
  }

  report(lines: string[], leftOut: i32): string[] {
    if (leftOut > 0) lines.push(message(Msg.Configuration) + ": " + decimal(leftOut) + message(Msg.MoreProblems));
    return lines;
  }

  typeError(expected: Msg, value: JsonRef): void {
    this.error(message(Msg.MustBe) + message(expected) + message(Msg.Got) + message(this.doc.typeName(value)));
  }

  // -- generic checks --

  /** Reports a non-object, a repeated member name and unknown members; true for an object. */
  object(value: JsonRef, known: WordSet): bool {
    const n = this.members(value, Msg.AnObject);
    for (let i = 0; i < n; i++) {
      const name = this.doc.key(value, i);
      if (this.find(name, known) < 0) this.errorIn(name, message(Msg.UnknownField) + this.wordList(known) + ")");
    }
    return n >= 0;
  }

  /** The member count of an object value, after reporting a repeated name; -1 after reporting another type. */
  members(value: JsonRef, expected: Msg): i32 {
    if (!this.doc.isObject(value)) {
      this.typeError(expected, value);
      return -1;
    }
    const repeated = this.doc.duplicateKey(value);
    if (repeated != null) this.error(message(Msg.DuplicateKey) + quote(repeated));
    return this.doc.length(value);
  }

  /** The member `name` of an object (first occurrence), or NONE. Objects checked by object() are small. */
  member(object: JsonRef, name: Msg): JsonRef {
    const doc = this.doc;
    const text = this.word(name);
    const n = doc.length(object);
    for (let i = 0; i < n; i++) if (doc.key(object, i) == text) return doc.item(object, i);
    return NONE;
  }

  /** The member `name` with the path entered into it (the caller leaves), or NONE. */
  enterMember(object: JsonRef, name: Msg): JsonRef {
    const value = this.member(object, name);
    if (value != NONE) this.enterField(name);
    return value;
  }

  /** enterMember, reporting a missing member. */
  enterRequired(object: JsonRef, name: Msg): JsonRef {
    const value = this.enterMember(object, name);
    if (value == NONE) this.errorIn(this.word(name), message(Msg.IsRequired));
    return value;
  }

  /** The text of a string value; null after reporting another type. */
  string(value: JsonRef): string | null {
    if (this.doc.isString(value)) return this.doc.text(value);
    this.typeError(Msg.AString, value);
    return null;
  }

  /** string(), also reporting an empty string (null then). */
  nonEmptyString(value: JsonRef): string | null {
    const text = this.string(value);
    if (text == null || text.length > 0) return text;
    this.error(message(Msg.MustNotBeEmpty));
    return null;
  }

  /** The length of a list value; -1 after reporting another type. */
  list(value: JsonRef, expected: Msg = Msg.AList): i32 {
    if (this.doc.isArray(value)) return this.doc.length(value);
    this.typeError(expected, value);
    return -1;
  }

  /** The word of `allowed` that the string value is, or -1 after reporting. */
  oneOf(value: JsonRef, allowed: WordSet): i32 {
    const text = this.string(value);
    if (text == null) return -1;
    const at = this.find(text, allowed);
    if (at < 0) this.error(message(Msg.MustBeOneOf) + this.wordList(allowed) + message(Msg.Got) + quote(text));
    return at;
  }

  /** Runs a byte predicate on a string value, straight on the input bytes when it has them. */
  bytesSatisfy(value: JsonRef, test: (ptr: usize, len: i32) => bool): bool {
    const raw = this.doc.rawOffset(value);
    const text = this.doc.text(value);
    if (raw >= 0) return test(this.base + <usize>raw, text.length);
    return utf8Satisfies(text, test);
  }

  // -- root --

  root(value: JsonRef): PluginConfig | null {
    if (!this.object(value, ROOT_FIELDS)) return null;
    const mode = this.enterMember(value, Msg.Mode);
    if (mode != NONE) {
      const index = this.oneOf(mode, MODES);
      this.leave();
      if (index == Msg.Catalog) this.mode = Mode.Catalog;
      this.modeKnown = index >= 0;
    }
    const prefix = this.enterMember(value, Msg.HeaderPrefix);
    if (prefix != NONE) {
      this.headerPrefixField(prefix);
      this.leave();
    }
    let responseHeader = false;
    const response = this.member(value, Msg.ResponseHeader);
    if (response != NONE) {
      if (this.doc.isBool(response)) responseHeader = this.doc.kind(response) == JsonKind.True;
      else {
        this.enterField(Msg.ResponseHeader);
        this.typeError(Msg.ABoolean, response);
        this.leave();
      }
    }
    const services: ServiceConfig[] = [];
    const list = this.enterMember(value, Msg.Services);
    if (list != NONE) {
      this.services(list, services);
      this.leave();
    }
    return new PluginConfig(this.mode, this.headerPrefix, responseHeader, services);
  }

  headerPrefixField(value: JsonRef): void {
    const s = this.nonEmptyString(value);
    if (s == null) return;
    if (!isHeaderToken(s) || hasUpperCase(s)) this.isNot(s, Msg.LowerCaseHeaderToken);
    else this.headerPrefix = s;
  }

  services(value: JsonRef, out: ServiceConfig[]): void {
    const n = this.list(value);
    if (n < 0) return;
    for (let i = 0; i < n; i++) {
      this.enterIndex(i);
      const service = this.service(this.doc.item(value, i), i);
      this.leave();
      if (service != null) out.push(service);
    }
    if (this.problems() == 0) this.checkSessionHeaders(out);
  }

  /** A mapped header equal to some catalog's session header would be removed before it is read. */
  checkSessionHeaders(services: ServiceConfig[]): void {
    const owners = new Map<string, i32>();
    for (let i = 0; i < services.length; i++) {
      const catalog = unchecked(services[i]).catalog;
      if (catalog != null && !owners.has(catalog.sessionHeader)) owners.set(catalog.sessionHeader, i);
    }
    if (owners.size == 0) return;
    for (let i = 0; i < services.length; i++) {
      const routes = unchecked(services[i]).routes;
      for (let r = 0; r < routes.length; r++) {
        const mappings = unchecked(routes[r]).mappings;
        for (let m = 0; m < mappings.length; m++) {
          const header = unchecked(mappings[m]).header;
          if (!owners.has(header)) continue;
          this.enterMapping(i, r, m);
          this.errorIn(
            this.word(Msg.Header),
            quote(header) +
              message(Msg.IsSessionHeaderOf) +
              decimal(owners.get(header)) +
              message(Msg.RemovedFromEveryRequest),
          );
          this.leaveMapping(i);
        }
      }
    }
  }

  /** Path to services[service].routes[route].headerToDynamicSubsetKey[mapping] from `services`, or
   *  (service -1) to routes[route]... from a service. */
  enterMapping(service: i32, route: i32, mapping: i32): void {
    if (service >= 0) this.enterIndex(service);
    this.enterField(Msg.Routes);
    this.enterIndex(route);
    this.enterField(Msg.HeaderToDynamicSubsetKey);
    this.enterIndex(mapping);
  }

  leaveMapping(service: i32): void {
    for (let i = service >= 0 ? 0 : 1; i < 5; i++) this.leave();
  }

  /** Reports `name` if an earlier entry of `list` (index in `seen`) had it; records it otherwise. */
  distinct(seen: Map<string, i32>, name: string, index: i32, what: Msg, list: Msg): void {
    if (seen.has(name)) {
      const first = this.word(list) + "[" + decimal(seen.get(name)) + "]";
      this.error(message(Msg.Duplicate) + message(what) + " " + quote(name) + message(Msg.AlsoIn) + first + ")");
    } else {
      seen.set(name, index);
    }
  }

  // -- services[i] --

  service(value: JsonRef, index: i32): ServiceConfig | null {
    const before = this.problems();
    if (!this.object(value, SERVICE_FIELDS)) return null;
    const clusterValue = this.member(value, Msg.Cluster);
    const hostValue = this.member(value, Msg.Host);
    if (clusterValue != NONE && hostValue != NONE) {
      this.error(message(Msg.ClusterAndHost));
    } else if (clusterValue == NONE && hostValue == NONE) {
      this.error(message(Msg.ClusterOrHost));
    }
    let cluster: string | null = null;
    if (clusterValue != NONE) {
      this.enterField(Msg.Cluster);
      cluster = this.nonEmptyString(clusterValue);
      if (cluster != null) this.distinct(this.clusters, cluster, index, Msg.Cluster, Msg.Services);
      this.leave();
    }
    let host: string | null = null;
    if (hostValue != NONE) {
      this.enterField(Msg.Host);
      host = this.host(hostValue);
      if (host != null) this.distinct(this.hosts, host, index, Msg.Host, Msg.Services);
      this.leave();
    }

    let part: DynamicSubsetPart | null = null;
    const dynamicSubset = this.enterRequired(value, Msg.DynamicSubset);
    if (dynamicSubset != NONE) {
      part = this.dynamicSubset(dynamicSubset);
      this.leave();
    }
    const routes: RouteConfig[] = [];
    const routesValue = this.enterMember(value, Msg.Routes);
    if (routesValue != NONE) {
      this.routes(routesValue, routes);
      this.leave();
    }
    if (part != null) this.checkKeys(part, routes);

    let catalog: Catalog | null = null;
    const catalogValue = this.enterMember(value, Msg.Catalog);
    if (catalogValue != NONE) {
      catalog = this.catalog(catalogValue);
      if (this.mode == Mode.Metadata) {
        if (this.modeKnown) this.warn(message(Msg.IgnoredInMetadataMode));
        catalog = null;
      }
      this.leave();
    } else if (this.mode == Mode.Catalog) {
      this.errorIn(this.word(Msg.Catalog), message(Msg.CatalogRequired));
    }
    if (part == null || this.problems() > before) return null;
    return new ServiceConfig(cluster, host, part.selectors, part.defaultSubset, part.fallbackPolicy, routes, catalog);
  }

  /** The host name, or null when it is not one. */
  host(value: JsonRef): string | null {
    const s = this.nonEmptyString(value);
    if (s == null) return null;
    const name = s.startsWith("*.") ? s.substring(2, s.length) : s;
    if (isDns1123Subdomain(name)) return s;
    this.isNot(s, Msg.LowerCaseDnsName);
    return null;
  }

  /** Key budget per service, and mappings whose key no selector uses. */
  checkKeys(part: DynamicSubsetPart, routes: RouteConfig[]): void {
    let extraKeys: StringSet | null = null;
    for (let r = 0; r < routes.length; r++) {
      const mappings = unchecked(routes[r]).mappings;
      for (let m = 0; m < mappings.length; m++) {
        const key = unchecked(mappings[m]).key;
        if (part.selectorKeys.has(key)) continue;
        if (extraKeys == null) extraKeys = new Map<string, i32>();
        extraKeys.set(key, 0);
        if (part.selectors.length == 0) continue;
        this.enterMapping(-1, r, m);
        this.enterField(Msg.Key);
        this.warn(quote(key) + message(Msg.UnusedKey));
        this.leave();
        this.leaveMapping(-1);
      }
    }
    const total = part.selectorKeys.size + (extraKeys == null ? 0 : extraKeys.size);
    if (total > MAX_KEYS_PER_SERVICE) {
      this.error(
        message(Msg.Uses) +
          decimal(total) +
          message(Msg.DistinctKeysAcross) +
          decimal(MAX_KEYS_PER_SERVICE) +
          message(Msg.AreSupported),
      );
    }
  }

  // -- dynamicSubset --

  dynamicSubset(value: JsonRef): DynamicSubsetPart | null {
    if (!this.object(value, DYNAMIC_SUBSET_FIELDS)) return null;
    const part = new DynamicSubsetPart();
    // DEFAULT_SUBSET was asked for: by the global policy (-1) or by these selectors
    const wantsDefault = new Array<i32>();
    const selectors = this.enterRequired(value, Msg.SubsetSelectors);
    if (selectors != NONE) {
      this.selectors(selectors, part, wantsDefault);
      this.leave();
    }
    const defaultSubset = this.enterMember(value, Msg.DefaultSubset);
    if (defaultSubset != NONE) {
      const labels = this.labelMap(defaultSubset, true);
      if (labels != null && labels.length == 0) this.error(message(Msg.MustNotBeEmpty));
      part.defaultSubset = labels;
      this.leave();
    }
    const policy = this.enterMember(value, Msg.FallbackPolicy);
    if (policy != NONE) {
      const index = this.oneOf(policy, FALLBACK_POLICIES);
      this.leave();
      if (index >= 0) part.fallbackPolicy = policyOf(index);
      if (part.fallbackPolicy == FallbackPolicy.DefaultSubset) wantsDefault.push(-1);
    }
    const lbPolicy = this.enterMember(value, Msg.LbPolicy);
    if (lbPolicy != NONE) {
      this.oneOf(lbPolicy, LB_POLICIES);
      this.leave();
    }
    if (defaultSubset == NONE) {
      for (let i = 0; i < wantsDefault.length; i++) {
        const selector = unchecked(wantsDefault[i]);
        if (selector >= 0) {
          this.enterField(Msg.SubsetSelectors);
          this.enterIndex(selector);
        }
        this.errorIn(this.word(Msg.FallbackPolicy), message(Msg.DefaultSubsetRequired));
        if (selector >= 0) {
          this.leave();
          this.leave();
        }
      }
    }
    return part;
  }

  selectors(value: JsonRef, part: DynamicSubsetPart, wantsDefault: i32[]): void {
    const n = this.list(value);
    if (n < 0) return;
    if (n == 0) {
      this.error(message(Msg.NonEmptyList));
      return;
    }
    const keySets = new Map<string, i32>();
    for (let i = 0; i < n; i++) {
      this.enterIndex(i);
      const selector = this.selector(this.doc.item(value, i), i, keySets, wantsDefault);
      this.leave();
      if (selector == null) continue;
      for (let k = 0; k < selector.keys.length; k++) part.selectorKeys.set(unchecked(selector.keys[k]), 0);
      part.selectors.push(selector);
    }
  }

  selector(value: JsonRef, index: i32, keySets: Map<string, i32>, wantsDefault: i32[]): SubsetSelector | null {
    if (!this.object(value, SELECTOR_FIELDS)) return null;
    let policy = FallbackPolicy.Unset;
    let valid = true;
    const policyValue = this.enterMember(value, Msg.FallbackPolicy);
    if (policyValue != NONE) {
      const at = this.oneOf(policyValue, FALLBACK_POLICIES);
      this.leave();
      valid = at >= 0;
      if (valid) policy = policyOf(at);
      if (policy == FallbackPolicy.DefaultSubset) wantsDefault.push(index);
    }
    const keysValue = this.enterRequired(value, Msg.Keys);
    if (keysValue == NONE) return null;
    const keys = this.selectorKeys(keysValue, index, keySets);
    this.leave();
    return keys == null || !valid ? null : new SubsetSelector(keys, policy);
  }

  selectorKeys(value: JsonRef, index: i32, keySets: Map<string, i32>): string[] | null {
    const n = this.list(value, Msg.DistinctStrings);
    if (n < 0) return null;
    if (n == 0) {
      this.error(message(Msg.MustBe) + message(Msg.DistinctStrings));
      return null;
    }
    if (n > MAX_KEYS_PER_SERVICE) {
      const atMost = message(Msg.KeysAtMost) + decimal(MAX_KEYS_PER_SERVICE) + message(Msg.AreSupported);
      this.error(message(Msg.Has) + decimal(n) + atMost);
      return null;
    }
    const keys: string[] = [];
    for (let i = 0; i < n; i++) {
      const item = this.doc.item(value, i);
      this.enterIndex(i);
      if (this.labelKey(item, true)) keys.push(this.doc.text(item));
      this.leave();
    }
    if (keys.length < n) return null;
    for (let i = 0; i < keys.length; i++) {
      if (keys.indexOf(unchecked(keys[i])) != i) {
        const twice = quote(unchecked(keys[i])) + message(Msg.AppearsTwice);
        this.error(message(Msg.MustBe) + message(Msg.DistinctStrings) + "; " + twice);
        return null;
      }
    }
    const text = sortedText(keys);
    if (keySets.has(text)) {
      this.error(message(Msg.SameKeySet) + decimal(keySets.get(text)) + message(Msg.NeverChosen));
      return null;
    }
    keySets.set(text, index);
    return keys;
  }

  /** A subset key given as a JSON string: a Kubernetes label key, or %ip% where `ipAllowed`. */
  labelKey(value: JsonRef, ipAllowed: bool): bool {
    const text = this.doc.text(value);
    if (this.hasPassed(value, VALID_SUBSET_KEY)) return ipAllowed || text != IP_KEY;
    if (this.nonEmptyString(value) == null || !this.labelKeyText(text, ipAllowed)) return false;
    this.markPassed(value, VALID_SUBSET_KEY);
    return true;
  }

  labelKeyText(key: string, ipAllowed: bool): bool {
    if (key == IP_KEY) {
      if (!ipAllowed) this.error(message(Msg.IpIsNotALabel));
      return ipAllowed;
    }
    if (key.length >= 2 && key.startsWith("%") && key.endsWith("%")) {
      this.error(message(Msg.UnknownBuiltInKey) + quote(key) + message(Msg.OnlyBuiltInKey));
      return false;
    }
    if (this.knownLabelKeys.has(key)) return true;
    if (isLabelKey(key)) {
      this.knownLabelKeys.set(key, 0);
      return true;
    }
    this.isNot(key, Msg.ValidLabelKey);
    return false;
  }

  /** A label value, or an IP literal when the key is %ip%. */
  labelValue(value: JsonRef, key: string): bool {
    const check = key == IP_KEY ? VALID_IP : VALID_LABEL_VALUE;
    if (this.hasPassed(value, check)) return true;
    if (!this.labelValueUnchecked(value, key)) return false;
    this.markPassed(value, check);
    return true;
  }

  labelValueUnchecked(value: JsonRef, key: string): bool {
    const text = this.nonEmptyString(value);
    if (text == null) return false;
    const ip = key == IP_KEY;
    if (this.bytesSatisfy(value, ip ? isIpLiteral : isLabelValue)) return true;
    this.isNot(text, ip ? Msg.IpAddress : Msg.ValidLabelValue);
    return false;
  }

  /** A map of label key -> label value; %ip% allowed as a key where `ipAllowed`. Null when invalid. */
  labelMap(value: JsonRef, ipAllowed: bool): Label[] | null {
    const n = this.members(value, Msg.LabelObject);
    if (n < 0) return null;
    const labels: Label[] = [];
    let valid = this.doc.duplicateKey(value) == null;
    for (let i = 0; i < n; i++) {
      const key = this.doc.key(value, i);
      const item = this.doc.item(value, i);
      this.enter(key);
      if (key.length == 0) {
        this.error(message(Msg.EmptyLabelKey));
        valid = false;
      } else if (!this.labelKeyText(key, ipAllowed) || !this.labelValue(item, key)) {
        valid = false;
      } else {
        labels.push(new Label(key, this.doc.text(item)));
      }
      this.leave();
    }
    return valid ? labels : null;
  }

  // -- routes --

  routes(value: JsonRef, out: RouteConfig[]): void {
    const n = this.list(value);
    if (n < 0) return;
    const names = new Map<string, i32>();
    let unnamed = -1;
    for (let i = 0; i < n; i++) {
      const item = this.doc.item(value, i);
      this.enterIndex(i);
      const route = this.route(item, i, names, unnamed);
      this.leave();
      if (route != null) out.push(route);
      if (unnamed < 0 && this.doc.isObject(item) && this.member(item, Msg.Name) == NONE) unnamed = i;
    }
  }

  route(value: JsonRef, index: i32, names: Map<string, i32>, unnamed: i32): RouteConfig | null {
    if (!this.object(value, ROUTE_FIELDS)) return null;
    let name: string | null = null;
    let valid = true;
    const nameValue = this.enterMember(value, Msg.Name);
    if (nameValue != NONE) {
      name = this.nonEmptyString(nameValue);
      valid = name != null;
      if (name != null) this.distinct(names, name, index, Msg.RouteName, Msg.Routes);
      this.leave();
    } else if (unnamed >= 0) {
      this.error(message(Msg.OnlyOneUnnamed) + decimal(unnamed) + message(Msg.HasNone));
    }
    const mappingsValue = this.enterRequired(value, Msg.HeaderToDynamicSubsetKey);
    if (mappingsValue == NONE) return null;
    const mappings = this.mappings(mappingsValue);
    this.leave();
    return mappings == null || !valid ? null : new RouteConfig(name, mappings);
  }

  mappings(value: JsonRef): HeaderMapping[] | null {
    const n = this.list(value);
    if (n < 0) return null;
    const out: HeaderMapping[] = [];
    for (let i = 0; i < n; i++) {
      this.enterIndex(i);
      const mapping = this.mapping(this.doc.item(value, i));
      this.leave();
      if (mapping != null) out.push(mapping);
    }
    return out.length == n ? out : null;
  }

  mapping(value: JsonRef): HeaderMapping | null {
    if (!this.object(value, MAPPING_FIELDS)) return null;
    let header: string | null = null;
    const headerValue = this.enterRequired(value, Msg.Header);
    if (headerValue != NONE) {
      header = this.mappedHeader(headerValue);
      this.leave();
    }
    let key: string | null = null;
    const keyValue = this.enterRequired(value, Msg.Key);
    if (keyValue != NONE) {
      if (this.labelKey(keyValue, true)) key = this.doc.text(keyValue);
      this.leave();
    }
    let defaultValue: string | null = null;
    let valid = true;
    const defaultValueValue = this.enterMember(value, Msg.DefaultValue);
    if (defaultValueValue != NONE) {
      // which rule applies depends on the key; with an invalid key, the label-value rule
      valid = this.labelValue(defaultValueValue, key != null ? key : "");
      this.leave();
      defaultValue = this.doc.text(defaultValueValue);
    }
    if (header == null || key == null || !valid) return null;
    return new HeaderMapping(header, key, defaultValue);
  }

  /** A request header to read: an ordinary header-name token outside the filter's prefix; lower-cased. */
  mappedHeader(value: JsonRef): string | null {
    // a header that passed before is a lower-case token outside the prefix: itself
    const s = this.doc.text(value);
    if (this.hasPassed(value, VALID_LOWER_HEADER)) return s;
    if (this.nonEmptyString(value) == null) return null;
    if (s.startsWith(":")) {
      this.error(quote(s) + message(Msg.IsPseudoHeader));
      return null;
    }
    const header = this.headerName(s);
    if (header == null) return null;
    if (header.startsWith(this.headerPrefix)) {
      this.error(quote(s) + message(Msg.StartsWithPrefix) + quote(this.headerPrefix) + message(Msg.ReservedPrefix));
      return null;
    }
    if (header == s) this.markPassed(value, VALID_LOWER_HEADER);
    return header;
  }

  headerName(s: string): string | null {
    if (!isHeaderToken(s)) {
      this.isNot(s, Msg.ValidHeaderName);
      return null;
    }
    return hasUpperCase(s) ? asciiLowerCase(s) : s;
  }

  // -- catalog --

  catalog(value: JsonRef): Catalog | null {
    if (!this.object(value, CATALOG_FIELDS)) return null;
    const before = this.problems();
    let routeToken: string | null = null;
    const tokenValue = this.enterRequired(value, Msg.RouteToken);
    if (tokenValue != NONE) {
      const token = this.string(tokenValue);
      if (token != null) {
        if (isRouteToken(token)) routeToken = token;
        else this.isNot(token, Msg.ARouteToken);
      }
      this.leave();
    }
    const subsets: CatalogSubset[] = [];
    const subsetsValue = this.enterRequired(value, Msg.Subsets);
    if (subsetsValue != NONE) {
      this.catalogSubsets(subsetsValue, subsets);
      this.leave();
    }
    const endpoints: CatalogEndpoint[] = [];
    const endpointsValue = this.enterMember(value, Msg.Endpoints);
    if (endpointsValue != NONE) {
      this.catalogEndpoints(endpointsValue, endpoints);
      this.leave();
    }
    let sessionHeader: string | null = this.headerPrefix + "host";
    const sessionValue = this.enterMember(value, Msg.SessionHeader);
    if (sessionValue != NONE) {
      sessionHeader = this.sessionHeader(sessionValue);
      this.leave();
    }
    if (this.problems() > before || routeToken == null || sessionHeader == null) return null;
    return new Catalog(routeToken, subsets, endpoints, sessionHeader);
  }

  sessionHeader(value: JsonRef): string | null {
    const s = this.nonEmptyString(value);
    if (s == null) return null;
    const header = this.headerName(s);
    if (header == null) return null;
    if (header == this.headerPrefix + "subset") {
      this.error(quote(s) + message(Msg.IsSubsetHeader));
      return null;
    }
    return header;
  }

  catalogSubsets(value: JsonRef, out: CatalogSubset[]): void {
    const n = this.list(value);
    if (n < 0) return;
    const names = new Map<string, i32>();
    const labelSets = new Map<string, i32>();
    for (let i = 0; i < n; i++) {
      this.enterIndex(i);
      const subset = this.catalogSubset(this.doc.item(value, i), i, names, labelSets);
      this.leave();
      if (subset != null) out.push(subset);
    }
  }

  catalogSubset(
    value: JsonRef,
    index: i32,
    names: Map<string, i32>,
    labelSets: Map<string, i32>,
  ): CatalogSubset | null {
    if (!this.object(value, SUBSET_FIELDS)) return null;
    let name: string | null = null;
    const nameValue = this.enterRequired(value, Msg.Name);
    if (nameValue != NONE) {
      const text = this.string(nameValue);
      if (text != null) {
        if (!isDns1123Label(text)) {
          this.isNot(text, Msg.ValidSubsetName);
        } else {
          name = text;
          this.distinct(names, text, index, Msg.SubsetName, Msg.Subsets);
        }
      }
      this.leave();
    }
    let labels: Label[] | null = null;
    const labelsValue = this.enterRequired(value, Msg.Labels);
    if (labelsValue != NONE) {
      labels = this.labelMap(labelsValue, false);
      if (labels != null) labels = this.distinctLabelSet(labels, index, labelSets);
      this.leave();
    }
    return name == null || labels == null ? null : new CatalogSubset(name, labels);
  }

  distinctLabelSet(labels: Label[], index: i32, labelSets: Map<string, i32>): Label[] | null {
    if (labels.length == 0) {
      this.error(message(Msg.MustNotBeEmpty));
      return null;
    }
    const text = labelSetText(labels);
    if (labelSets.has(text)) {
      this.error(message(Msg.SameLabels) + decimal(labelSets.get(text)) + "]");
      return null;
    }
    labelSets.set(text, index);
    return labels;
  }

  catalogEndpoints(value: JsonRef, out: CatalogEndpoint[]): void {
    const n = this.list(value);
    if (n < 0) return;
    const addresses = new Map<string, i32>();
    for (let i = 0; i < n; i++) {
      this.enterIndex(i);
      const endpoint = this.catalogEndpoint(this.doc.item(value, i), i, addresses);
      this.leave();
      if (endpoint != null) out.push(endpoint);
    }
  }

  catalogEndpoint(value: JsonRef, index: i32, addresses: Map<string, i32>): CatalogEndpoint | null {
    if (!this.object(value, ENDPOINT_FIELDS)) return null;
    let address: string | null = null;
    let ip: string | null = null;
    const addressValue = this.enterRequired(value, Msg.Address);
    if (addressValue != NONE) {
      address = this.string(addressValue);
      if (address != null) {
        ip = endpointIp(address);
        if (ip == null) {
          this.isNot(address, Msg.EndpointAddress);
        } else {
          this.distinct(addresses, address, index, Msg.Address, Msg.Endpoints);
        }
      }
      this.leave();
    }
    let labels: Label[] | null = null;
    const labelsValue = this.enterRequired(value, Msg.Labels);
    if (labelsValue != NONE) {
      labels = this.labelMap(labelsValue, false);
      this.leave();
    }
    if (address == null || ip == null || labels == null) return null;
    return new CatalogEndpoint(address, ip, labels);
  }
}
