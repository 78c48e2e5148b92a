// A strict JSON parser (RFC 8259) for the plugin configuration that never traps.
//
// AssemblyScript has no exceptions: an abort kills the VM for good (reference/abi.md §7.2), so every
// malformed input must come back as an error value, not as an abort. The parser is iterative with an
// explicit container stack bounded at MAX_DEPTH, so hostile nesting cannot overflow the wasm stack
// (WAMR's 32 KiB stack overflows a recursive parser near depth 100, reference/abi.md §7.5). It runs in
// one pass over the bytes: linear time.
//
// Accepted: exactly the RFC 8259 grammar over UTF-8 input. Rejected with the byte offset (0-based) of the
// offending byte: invalid UTF-8 (overlongs, surrogates, > U+10FFFF), control characters (incl. NUL) in
// strings, bad escapes, lone surrogates in \u escapes, bad numbers, trailing data, a byte order mark,
// nesting deeper than MAX_DEPTH. Duplicate object keys are not a syntax error (RFC 8259 only says names
// SHOULD be unique): the first value is kept and the name is recorded (duplicateKey), so the caller
// can report it with a JSON path.
//
// The result is a JsonDocument: values are i32 handles into flat integer tables, not objects. A
// configuration of 1,000 services has ~10^5 values; as GC objects they made parsing 3x slower
// (measured) under the incremental runtime. Strings are AS strings, and short ones are interned.

import { decimal } from "./decimal";
import { message, Msg } from "./messages.generated";

export const MAX_DEPTH: i32 = 32;

/**
 * A set of strings (`set(name, 0)`, `has`, `size`). The configuration code needs Map<string, i32> anyway;
 * using it as the set too keeps a second hash-table instantiation (Set of string, ~0.5 KB) out of the module.
 */
export type StringSet = Map<string, i32>;

/** A value in a JsonDocument. */
export type JsonRef = i32;
/** No value (an absent member). */
export const NONE: JsonRef = -1;

export const enum JsonKind {
  Null = 0,
  False = 1,
  True = 2,
  Number = 3,
  String = 4,
  Array = 5,
  Object = 6,
}

/** A growable vector of i32 in one buffer: no per-element GC objects. */
class Ints {
  buffer: ArrayBuffer = new ArrayBuffer(1024);
  length: i32 = 0;

  push(value: i32): void {
    const offset = (<usize>this.length) << 2;
    if (<i32>offset + 4 > this.buffer.byteLength) {
      const bigger = new ArrayBuffer(this.buffer.byteLength << 1);
      memory.copy(changetype<usize>(bigger), changetype<usize>(this.buffer), offset);
      this.buffer = bigger;
    }
    store<i32>(changetype<usize>(this.buffer) + offset, value);
    this.length++;
  }

  push3(a: i32, b: i32, c: i32): void {
    const offset = (<usize>this.length) << 2;
    if (<i32>offset + 12 > this.buffer.byteLength) {
      const bigger = new ArrayBuffer(this.buffer.byteLength << 1);
      memory.copy(changetype<usize>(bigger), changetype<usize>(this.buffer), offset);
      this.buffer = bigger;
    }
    const at = changetype<usize>(this.buffer) + offset;
    store<i32>(at, a);
    store<i32>(at, b, 4);
    store<i32>(at, c, 8);
    this.length += 3;
  }

  /** caller keeps 0 <= i < length */
  @inline
  get(i: i32): i32 {
    return load<i32>(changetype<usize>(this.buffer) + ((<usize>i) << 2));
  }

  /** caller keeps 0 <= i < length */
  @inline
  set(i: i32, value: i32): void {
    store<i32>(changetype<usize>(this.buffer) + ((<usize>i) << 2), value);
  }
}

// Node layout: three ints per value: kind, a, b. An object with a repeated member name keeps the
// name's index in `strings` (+ 1) in the bits of the kind word above DUPLICATE_SHIFT.
const KIND_MASK: i32 = 0xf;
const DUPLICATE_SHIFT: i32 = 4;
//   String, Number: a = index in `strings` (the decoded text / the literal as written),
//                   b = offset of the bytes in the input when the text is exactly those bytes, else -1
//   Array, Object:  a = start in `children`, b = number of children entries
//                   (an object has two per member: the name, a String, then the value)
//   Null, True, False: a = b = 0

/**
 * A parsed document. Accessors take the handles it gave out; an index i must be in [0, length(v)).
 * Objects keep the first occurrence of each member name.
 *
 * @inline on the small accessors here and in Ints/Parser is measured: under the incremental runtime
 * every call pays a shadow-stack prologue, and inlining them cut parse + validate of 1,000 services x
 * 10 routes from 51 to 39 ms (CPU time, Node 20). Elsewhere @inline gained nothing and is not used.
 */
export class JsonDocument {
  nodes: Ints = new Ints();
  children: Ints = new Ints();
  strings: string[] = [];
  root: JsonRef = NONE;
  // where nodes / children are once parsing is done (the buffers no longer grow): the accessors
  // below run ~10^6 times for a large configuration, so they read memory directly
  nodeBase: usize = 0;
  childBase: usize = 0;

  /** number of values (handles are 0 .. size - 1) */
  get size(): i32 {
    return this.nodes.length / 3;
  }

  finish(root: JsonRef): void {
    this.root = root;
    this.nodeBase = changetype<usize>(this.nodes.buffer);
    this.childBase = changetype<usize>(this.children.buffer);
  }

  /** field 0 (kind), 1 (a) or 2 (b) of node v */
  @inline
  field(v: JsonRef, field: i32): i32 {
    return load<i32>(this.nodeBase + ((<usize>v * 3 + <usize>field) << 2));
  }
  @inline
  kind(v: JsonRef): JsonKind {
    return <JsonKind>(load<i32>(this.nodeBase + <usize>v * 12) & KIND_MASK);
  }
  @inline
  isObject(v: JsonRef): bool {
    return this.kind(v) == JsonKind.Object;
  }
  @inline
  isArray(v: JsonRef): bool {
    return this.kind(v) == JsonKind.Array;
  }
  @inline
  isString(v: JsonRef): bool {
    return this.kind(v) == JsonKind.String;
  }
  isBool(v: JsonRef): bool {
    const kind = this.kind(v);
    return kind == JsonKind.True || kind == JsonKind.False;
  }
  /** string contents, or a number literal as written; "" for other kinds */
  @inline
  text(v: JsonRef): string {
    const kind = this.kind(v);
    if (kind != JsonKind.String && kind != JsonKind.Number) return "";
    return unchecked(this.strings[this.field(v, 1)]);
  }
  /** where a string's bytes are in the input when its text is exactly those bytes (ASCII, no escapes); -1 otherwise */
  @inline
  rawOffset(v: JsonRef): i32 {
    return this.kind(v) == JsonKind.String ? this.field(v, 2) : -1;
  }
  /** number of array elements / object members; 0 for scalars */
  @inline
  length(v: JsonRef): i32 {
    const kind = this.kind(v);
    if (kind == JsonKind.Object) return this.field(v, 2) >> 1;
    return kind == JsonKind.Array ? this.field(v, 2) : 0;
  }
  /** array element i, or the value of object member i */
  @inline
  item(v: JsonRef, i: i32): JsonRef {
    const index = this.field(v, 1) + (this.kind(v) == JsonKind.Object ? (i << 1) + 1 : i);
    return load<i32>(this.childBase + ((<usize>index) << 2));
  }
  /** name of object member i */
  @inline
  key(v: JsonRef, i: i32): string {
    return this.text(load<i32>(this.childBase + ((<usize>(this.field(v, 1) + (i << 1))) << 2)));
  }
  /** the first member name of object v that occurred more than once, or null */
  duplicateKey(v: JsonRef): string | null {
    const repeated = load<i32>(this.nodeBase + <usize>v * 12) >> DUPLICATE_SHIFT;
    return repeated == 0 ? null : unchecked(this.strings[repeated - 1]);
  }
  /** The name of the type of v ("null", "boolean", "number", "string", "list", "object"), for "must be X, got Y" */
  typeName(v: JsonRef): Msg {
    switch (this.kind(v)) {
      case JsonKind.Null:
        return Msg.TypeNull;
      case JsonKind.False:
      case JsonKind.True:
        return Msg.TypeBoolean;
      case JsonKind.Number:
        return Msg.TypeNumber;
      case JsonKind.String:
        return Msg.TypeString;
      case JsonKind.Array:
        return Msg.TypeList;
      default:
        return Msg.TypeObject;
    }
  }

  add(kind: JsonKind, a: i32, b: i32): JsonRef {
    const v = this.nodes.length / 3;
    this.nodes.push3(<i32>kind, a, b);
    return v;
  }

  addString(text: string, rawOffset: i32, kind: JsonKind): JsonRef {
    this.strings.push(text);
    return this.add(kind, this.strings.length - 1, rawOffset);
  }
}

/** The outcome of parseJson: a document, or an error message and the byte offset it refers to. */
export class JsonResult {
  constructor(
    public document: JsonDocument | null,
    public error: string, // "" for a document
    public offset: i32,
  ) {}
}

/** Parses `len` bytes at `ptr`. Never traps (apart from running out of memory). */
export function parseJsonBytes(ptr: usize, len: i32): JsonResult {
  const parser = new Parser(ptr, len);
  const root = parser.parse();
  if (root == NONE) return new JsonResult(null, parser.error, parser.errorOffset);
  parser.doc.finish(root);
  return new JsonResult(parser.doc, "", 0);
}

export function parseJson(buffer: ArrayBuffer): JsonResult {
  return parseJsonBytes(changetype<usize>(buffer), buffer.byteLength);
}

// Byte scanners: plain functions on primitives. As Parser methods they reloaded `this` from the GC
// shadow stack on every byte (incremental runtime), which made parsing several times slower.

function skipWhitespace(base: usize, pos: i32, len: i32): i32 {
  while (pos < len) {
    const c = load<u8>(base + <usize>pos);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    pos++;
  }
  return pos;
}

function skipDigits(base: usize, pos: i32, len: i32): i32 {
  while (pos < len) {
    const c = load<u8>(base + <usize>pos);
    if (c < 0x30 || c > 0x39) break;
    pos++;
  }
  return pos;
}

// FNV-1a hash of the bytes plainStringEnd last scanned: a second result, kept in a plain global
// (the parser is not reentrant; nothing else reads it)
let scannedHash: u32 = 0;

/** Index of the closing quote of a string of printable ASCII without escapes from `pos`; -1 otherwise. */
function plainStringEnd(base: usize, pos: i32, len: i32): i32 {
  let hash: u32 = 2166136261;
  while (pos < len) {
    const c = load<u8>(base + <usize>pos);
    if (c == 0x22) {
      scannedHash = hash;
      return pos;
    }
    if (c < 0x20 || c >= 0x80 || c == 0x5c) return -1;
    hash = (hash ^ c) * 16777619;
    pos++;
  }
  return -1;
}

// Objects up to this many members check for duplicate names by scanning; larger ones use a Set.
const SMALL_OBJECT: i32 = 8;

// Strings up to this many bytes (printable ASCII, no escapes) are interned: a configuration repeats
// the same member names and values thousands of times.
const INTERN_MAX: i32 = 48;
const INTERN_SLOTS: i32 = 1024; // direct-mapped cache, power of two

class Parser {
  pos: i32 = 0;
  error: string = ""; // the first failure's message
  errorOffset: i32 = 0;
  doc: JsonDocument = new JsonDocument();
  // open containers, innermost last
  stack: StaticArray<JsonRef> = new StaticArray<JsonRef>(MAX_DEPTH);
  depth: i32 = 0;
  // children of all open containers (object: name, value, name, value...), innermost last; a container
  // copies its own into doc.children when it closes
  pending: Ints = new Ints();
  // per open container: where its children start in `pending`
  pendingStarts: StaticArray<i32> = new StaticArray<i32>(MAX_DEPTH);
  isObjectAt: StaticArray<bool> = new StaticArray<bool>(MAX_DEPTH);
  // per open object: the member being read repeats an earlier name and is dropped
  discardNext: StaticArray<bool> = new StaticArray<bool>(MAX_DEPTH);
  // per open object that outgrew SMALL_OBJECT: its member names, for the duplicate check
  nameSets: StaticArray<StringSet | null> = new StaticArray<StringSet | null>(MAX_DEPTH);
  // UTF-16 scratch for strings that need decoding (escapes or non-ASCII); grows, reused
  scratch: ArrayBuffer = new ArrayBuffer(64);
  // intern cache: slot -> string value (NONE = empty slot)
  interned: StaticArray<JsonRef> = new StaticArray<JsonRef>(INTERN_SLOTS);
  internedOffsets: StaticArray<i32> = new StaticArray<i32>(INTERN_SLOTS);
  internedLengths: StaticArray<i32> = new StaticArray<i32>(INTERN_SLOTS);
  nullValue: JsonRef;
  trueValue: JsonRef;
  falseValue: JsonRef;

  constructor(
    public base: usize,
    public len: i32,
  ) {
    this.interned.fill(NONE);
    this.nullValue = this.doc.add(JsonKind.Null, 0, 0);
    this.trueValue = this.doc.add(JsonKind.True, 0, 0);
    this.falseValue = this.doc.add(JsonKind.False, 0, 0);
  }

  /** text of a string value while the document is being built (its accessors need finish()) */
  @inline
  textOf(v: JsonRef): string {
    return unchecked(this.doc.strings[this.doc.nodes.get(v * 3 + 1)]);
  }

  fail(offset: i32, message: string): JsonRef {
    if (this.error.length == 0) {
      this.error = message;
      this.errorOffset = offset;
    }
    return NONE;
  }

  /** Fails at pos, where `c` (peek()) is not what `expected` says. */
  unexpected(c: i32, expected: Msg): JsonRef {
    return this.fail(this.pos, message(c < 0 ? Msg.UnexpectedEnd : expected));
  }

  @inline
  peek(): i32 {
    return this.pos < this.len ? <i32>load<u8>(this.base + <usize>this.pos) : -1;
  }

  @inline
  skipWhitespace(): void {
    this.pos = skipWhitespace(this.base, this.pos, this.len);
  }

  parse(): JsonRef {
    while (true) {
      // a value starts here
      this.skipWhitespace();
      const c = this.peek();
      let value: JsonRef;
      if (c == 0x7b /* { */ || c == 0x5b /* [ */) {
        if (this.depth >= MAX_DEPTH) {
          return this.fail(this.pos, message(Msg.NestingDeeperThan) + decimal(MAX_DEPTH) + message(Msg.Levels));
        }
        const isObject = c == 0x7b;
        const container = this.doc.add(isObject ? JsonKind.Object : JsonKind.Array, this.doc.children.length, 0);
        this.pos++;
        this.skipWhitespace();
        if (this.peek() == (isObject ? 0x7d : 0x5d)) {
          this.pos++;
          value = container;
        } else {
          const level = this.depth++;
          unchecked((this.stack[level] = container));
          unchecked((this.isObjectAt[level] = isObject));
          unchecked((this.discardNext[level] = false));
          unchecked((this.nameSets[level] = null));
          unchecked((this.pendingStarts[level] = this.pending.length));
          if (isObject && !this.memberName()) return NONE;
          continue;
        }
      } else {
        value = this.scalar(c);
        if (value == NONE) return NONE;
      }
      // attach the finished value to its container; close containers that end here
      while (true) {
        if (this.depth == 0) {
          this.skipWhitespace();
          if (this.pos < this.len) return this.fail(this.pos, message(Msg.DataAfterValue));
          return value;
        }
        const level = this.depth - 1;
        const top = unchecked(this.stack[level]);
        if (unchecked(this.discardNext[level])) unchecked((this.discardNext[level] = false));
        else this.pending.push(value);
        this.skipWhitespace();
        const d = this.peek();
        const isObject = unchecked(this.isObjectAt[level]);
        if (d == 0x2c /* , */) {
          this.pos++;
          if (isObject && !this.memberName()) return NONE;
          break;
        }
        if (d == (isObject ? 0x7d : 0x5d)) {
          this.pos++;
          this.close(top, level);
          this.depth--;
          value = top;
          continue;
        }
        return this.unexpected(d, isObject ? Msg.ExpectedCommaOrBrace : Msg.ExpectedCommaOrBracket);
      }
    }
  }

  /** Reads `"name" :` for the innermost open object and records the name (or the duplicate). */
  memberName(): bool {
    this.skipWhitespace();
    const c = this.peek();
    if (c != 0x22) {
      this.unexpected(c, Msg.ExpectedMemberName);
      return false;
    }
    const nameValue = this.stringValue();
    if (nameValue == NONE) return false;
    this.skipWhitespace();
    const colon = this.peek();
    if (colon != 0x3a) {
      this.unexpected(colon, Msg.ExpectedColon);
      return false;
    }
    this.pos++;
    const level = this.depth - 1;
    const name = this.textOf(nameValue);
    if (this.isDuplicate(level, nameValue, name)) {
      // the repeated member's value is parsed (and checked) but not kept
      const kindWord = unchecked(this.stack[level]) * 3;
      const word = this.doc.nodes.get(kindWord);
      if (word >> DUPLICATE_SHIFT == 0) {
        this.doc.nodes.set(kindWord, word | ((this.doc.nodes.get(nameValue * 3 + 1) + 1) << DUPLICATE_SHIFT));
      }
      unchecked((this.discardNext[level] = true));
    } else {
      this.pending.push(nameValue);
      const names = unchecked(this.nameSets[level]);
      if (names != null) names.set(name, 0);
    }
    return true;
  }

  /** Moves the children of the container open at `level` from `pending` into the document. */
  close(container: JsonRef, level: i32): void {
    const start = unchecked(this.pendingStarts[level]);
    const count = this.pending.length - start;
    const children = this.doc.children;
    this.doc.nodes.set(container * 3 + 1, children.length);
    this.doc.nodes.set(container * 3 + 2, count);
    for (let i = 0; i < count; i++) children.push(this.pending.get(start + i));
    this.pending.length = start;
  }

  isDuplicate(level: i32, nameValue: JsonRef, name: string): bool {
    const start = unchecked(this.pendingStarts[level]);
    const end = this.pending.length;
    if (end - start < SMALL_OBJECT * 2) {
      for (let i = start; i < end; i += 2) {
        const other = this.pending.get(i);
        if (other == nameValue || this.textOf(other) == name) return true;
      }
      return false;
    }
    let names = unchecked(this.nameSets[level]);
    if (names == null) {
      names = new Map<string, i32>();
      for (let i = start; i < end; i += 2) names.set(this.textOf(this.pending.get(i)), 0);
      unchecked((this.nameSets[level] = names));
    }
    return names.has(name);
  }

  scalar(c: i32): JsonRef {
    if (c == 0x22) return this.stringValue();
    if (c == 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c == 0x74) return this.literal("true", this.trueValue);
    if (c == 0x66) return this.literal("false", this.falseValue);
    if (c == 0x6e) return this.literal("null", this.nullValue);
    return this.unexpected(c, Msg.ExpectedValue);
  }

  literal(word: string, value: JsonRef): JsonRef {
    const n = word.length;
    for (let i = 0; i < n; i++) {
      if (this.peek() != word.charCodeAt(i)) {
        return this.fail(this.pos, message(Msg.InvalidLiteral) + word + message(Msg.InvalidLiteralEnd));
      }
      this.pos++;
    }
    return value;
  }

  /** Skips one or more decimal digits; false after failing with `missing` if there are none. */
  digits(missing: Msg): bool {
    const start = this.pos;
    this.pos = skipDigits(this.base, start, this.len);
    if (this.pos > start) return true;
    this.fail(this.pos, message(missing));
    return false;
  }

  number(): JsonRef {
    const start = this.pos;
    if (this.peek() == 0x2d) this.pos++;
    const first = this.peek();
    if (first == 0x30) {
      this.pos++;
    } else if (!this.digits(Msg.ExpectedDigit)) {
      return NONE;
    }
    if (this.peek() == 0x2e /* . */) {
      this.pos++;
      if (!this.digits(Msg.ExpectedDigitAfterDot)) return NONE;
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      const sign = this.peek();
      if (sign == 0x2b || sign == 0x2d) this.pos++;
      if (!this.digits(Msg.ExpectedExponentDigit)) return NONE;
    }
    const text = String.UTF8.decodeUnsafe(this.base + <usize>start, <usize>(this.pos - start));
    return this.doc.addString(text, -1, JsonKind.Number);
  }

  /** Reads a string starting at the opening quote. */
  stringValue(): JsonRef {
    const quote = this.pos;
    const start = quote + 1;
    // fast path: printable ASCII without escapes decodes directly from the input, short ones interned
    const end = plainStringEnd(this.base, start, this.len);
    if (end >= 0) {
      this.pos = end + 1;
      return this.asciiString(start, end - start);
    }
    this.pos = start;
    const text = this.slowString(quote);
    if (text == null) return NONE;
    return this.doc.addString(text, -1, JsonKind.String);
  }

  asciiString(start: i32, length: i32): JsonRef {
    const at = this.base + <usize>start;
    if (length > INTERN_MAX)
      return this.doc.addString(String.UTF8.decodeUnsafe(at, <usize>length), start, JsonKind.String);
    const hash = scannedHash;
    const slot = <i32>((hash ^ (hash >> 15)) & (<u32>(INTERN_SLOTS - 1)));
    const cached = unchecked(this.interned[slot]);
    if (
      cached != NONE &&
      unchecked(this.internedLengths[slot]) == length &&
      memory.compare(this.base + <usize>unchecked(this.internedOffsets[slot]), at, <usize>length) == 0
    ) {
      return cached;
    }
    const value = this.doc.addString(String.UTF8.decodeUnsafe(at, <usize>length), start, JsonKind.String);
    unchecked((this.interned[slot] = value));
    unchecked((this.internedOffsets[slot] = start));
    unchecked((this.internedLengths[slot] = length));
    return value;
  }

  /** Strings with escapes, non-ASCII or errors: validates and decodes into UTF-16 scratch. */
  slowString(quote: i32): string | null {
    // every input byte yields at most one UTF-16 unit, so the bytes up to the closing quote bound it
    const capacity = (this.quotedLength() + 1) << 1;
    if (this.scratch.byteLength < capacity) this.scratch = new ArrayBuffer(capacity);
    const out = changetype<usize>(this.scratch);
    let units: usize = 0;
    while (true) {
      const at = this.pos;
      if (at >= this.len) {
        this.fail(quote, message(Msg.UnterminatedString));
        return null;
      }
      const c = <u32>load<u8>(this.base + <usize>at);
      if (c == 0x22) {
        this.pos++;
        return String.UTF16.decodeUnsafe(out, units << 1);
      }
      if (c < 0x20) {
        this.fail(at, message(Msg.ControlCharacter));
        return null;
      }
      let cp: i32;
      if (c == 0x5c) {
        cp = this.escape();
        if (cp < 0) return null;
      } else if (c < 0x80) {
        cp = <i32>c;
        this.pos++;
      } else {
        cp = this.utf8Sequence(c);
        if (cp < 0) {
          this.fail(at, message(Msg.InvalidUtf8));
          return null;
        }
      }
      if (cp > 0xffff) {
        const v = <u32>cp - 0x10000;
        store<u16>(out + (units << 1), <u16>(0xd800 + (v >> 10)));
        store<u16>(out + ((units + 1) << 1), <u16>(0xdc00 + (v & 0x3ff)));
        units += 2;
      } else {
        store<u16>(out + (units << 1), <u16>cp);
        units++;
      }
    }
  }

  /** Bytes from pos to the closing quote (or to the end of input), skipping escaped characters. */
  quotedLength(): i32 {
    let i = this.pos;
    while (i < this.len) {
      const c = load<u8>(this.base + <usize>i);
      if (c == 0x22) break;
      i += c == 0x5c ? 2 : 1;
    }
    return i - this.pos;
  }

  /** Decodes one multi-byte UTF-8 sequence (RFC 3629) whose lead byte is `lead`; -1 if invalid. */
  utf8Sequence(lead: u32): i32 {
    let need: i32;
    let cp: u32;
    let min: u32;
    let max: u32 = 0xbf; // allowed range of the first continuation byte
    if (lead >= 0xc2 && lead <= 0xdf) {
      need = 1;
      cp = lead & 0x1f;
      min = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      need = 2;
      cp = lead & 0x0f;
      min = lead == 0xe0 ? 0xa0 : 0x80; // no overlongs
      if (lead == 0xed) max = 0x9f; // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      need = 3;
      cp = lead & 0x07;
      min = lead == 0xf0 ? 0x90 : 0x80; // no overlongs
      if (lead == 0xf4) max = 0x8f; // <= U+10FFFF
    } else {
      return -1;
    }
    if (this.pos + need >= this.len) return -1;
    for (let k = 1; k <= need; k++) {
      const b = <u32>load<u8>(this.base + <usize>(this.pos + k));
      if (k == 1 ? b < min || b > max : b < 0x80 || b > 0xbf) return -1;
      cp = (cp << 6) | (b & 0x3f);
    }
    this.pos += need + 1;
    return <i32>cp;
  }

  /** Reads an escape at the backslash; returns the code point, or -1 after recording the error. */
  escape(): i32 {
    const at = this.pos;
    if (at + 1 >= this.len) {
      this.fail(at, message(Msg.UnexpectedEnd));
      return -1;
    }
    const c = load<u8>(this.base + <usize>(at + 1));
    this.pos = at + 2;
    switch (c) {
      case 0x22:
        return 0x22;
      case 0x5c:
        return 0x5c;
      case 0x2f:
        return 0x2f;
      case 0x62:
        return 0x08;
      case 0x66:
        return 0x0c;
      case 0x6e:
        return 0x0a;
      case 0x72:
        return 0x0d;
      case 0x74:
        return 0x09;
      case 0x75:
        break;
      default:
        this.fail(at, message(Msg.InvalidEscape));
        return -1;
    }
    const unit = this.hex4(at);
    if (unit < 0) return -1;
    if (unit >= 0xdc00 && unit <= 0xdfff) {
      this.fail(at, message(Msg.LoneSurrogate));
      return -1;
    }
    if (unit < 0xd800 || unit > 0xdbff) return unit;
    // a high surrogate must be followed by an escaped low surrogate
    const next = this.pos;
    if (
      next + 1 >= this.len ||
      load<u8>(this.base + <usize>next) != 0x5c ||
      load<u8>(this.base + <usize>(next + 1)) != 0x75
    ) {
      this.fail(at, message(Msg.LoneSurrogate));
      return -1;
    }
    this.pos = next + 2;
    const low = this.hex4(next);
    if (low < 0) return -1;
    if (low < 0xdc00 || low > 0xdfff) {
      this.fail(at, message(Msg.LoneSurrogate));
      return -1;
    }
    return 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
  }

  /** Reads the four hex digits of a \u escape that starts at `at`. */
  hex4(at: i32): i32 {
    if (this.pos + 4 > this.len) {
      this.fail(at, message(Msg.InvalidUnicodeEscape));
      return -1;
    }
    let unit = 0;
    for (let k = 0; k < 4; k++) {
      const h = <i32>load<u8>(this.base + <usize>(this.pos + k));
      let digit: i32;
      if (h >= 0x30 && h <= 0x39) digit = h - 0x30;
      else if (h >= 0x61 && h <= 0x66) digit = h - 0x61 + 10;
      else if (h >= 0x41 && h <= 0x46) digit = h - 0x41 + 10;
      else {
        this.fail(at, message(Msg.InvalidUnicodeEscape));
        return -1;
      }
      unit = (unit << 4) | digit;
    }
    this.pos += 4;
    return unit;
  }
}
