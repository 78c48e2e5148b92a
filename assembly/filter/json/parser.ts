// A strict JSON parser (RFC 8259) for the plugin configuration that never traps.
//
// Iterative, with an explicit container stack bounded at MAX_JSON_DEPTH, so hostile nesting cannot overflow the
// wasm stack (WAMR's 32 KiB stack overflows a recursive parser near depth 100: docs/abi.md, "Stack depth
// under WAMR"). One pass over the bytes: linear time. The tokens are read by scanner.ts; this file
// builds the document.
//
// Accepted: exactly the RFC 8259 grammar over UTF-8 input. Rejected with the byte offset (0-based) of the
// offending byte: invalid UTF-8 (overlongs, surrogates, > U+10FFFF), control characters (incl. NUL) in
// strings, bad escapes, lone surrogates in \u escapes, bad numbers, trailing data, a byte order mark,
// nesting deeper than MAX_JSON_DEPTH. Duplicate object keys are not a syntax error (RFC 8259 only says names
// SHOULD be unique): the first value is kept and the name is recorded (duplicateKey), so the caller
// can report it with a JSON path.

import { MAX_JSON_DEPTH } from "../../../src/config/constants";
import { decimal } from "../decimal";
import { message, Msg } from "../messages";
import { DUPLICATE_SHIFT, Ints, JsonDocument, JsonKind, JsonRef, NONE, StringSet } from "./document";
import { plainStringEnd, Scanner, scannedHash } from "./scanner";

/** The outcome of parseJson: a document, or an error reason and the byte offset it refers to. */
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

// Objects up to this many members check for duplicate names by scanning; larger ones use a Set.
const SMALL_OBJECT: i32 = 8;

// Strings up to this many bytes (printable ASCII, no escapes) are interned: a configuration repeats
// the same member names and values thousands of times.
const INTERN_MAX: i32 = 48;
const INTERN_SLOTS: i32 = 1024; // direct-mapped cache, power of two

class Parser extends Scanner {
  doc: JsonDocument = new JsonDocument();
  // open containers, innermost last
  stack: StaticArray<JsonRef> = new StaticArray<JsonRef>(MAX_JSON_DEPTH);
  depth: i32 = 0;
  // children of all open containers (object: name, value, name, value...), innermost last; a container
  // copies its own into doc.children when it closes
  pending: Ints = new Ints();
  // per open container: where its children start in `pending`
  pendingStarts: StaticArray<i32> = new StaticArray<i32>(MAX_JSON_DEPTH);
  isObjectAt: StaticArray<bool> = new StaticArray<bool>(MAX_JSON_DEPTH);
  // per open object: the member being read repeats an earlier name and is dropped
  discardNext: StaticArray<bool> = new StaticArray<bool>(MAX_JSON_DEPTH);
  // per open object that outgrew SMALL_OBJECT: its member names, for the duplicate check
  nameSets: StaticArray<StringSet | null> = new StaticArray<StringSet | null>(MAX_JSON_DEPTH);
  // intern cache: slot -> string value (NONE = empty slot)
  interned: StaticArray<JsonRef> = new StaticArray<JsonRef>(INTERN_SLOTS);
  internedOffsets: StaticArray<i32> = new StaticArray<i32>(INTERN_SLOTS);
  internedLengths: StaticArray<i32> = new StaticArray<i32>(INTERN_SLOTS);
  nullValue: JsonRef;
  trueValue: JsonRef;
  falseValue: JsonRef;

  constructor(base: usize, len: i32) {
    super(base, len);
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

  /** The root value, or NONE after failing. */
  parse(): JsonRef {
    while (true) {
      // a value starts here
      this.skipWhitespace();
      const c = this.peek();
      let value: JsonRef;
      if (c == 0x7b /* { */ || c == 0x5b /* [ */) {
        if (this.depth >= MAX_JSON_DEPTH) {
          this.fail(this.pos, message(Msg.NestingTooDeep, [decimal(MAX_JSON_DEPTH)]));
          return NONE;
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
          if (this.pos < this.len) {
            this.fail(this.pos, message(Msg.DataAfterValue));
            return NONE;
          }
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
        this.unexpected(d, isObject ? Msg.ExpectedCommaOrBrace : Msg.ExpectedCommaOrBracket);
        return NONE;
      }
    }
  }

  /** Reads `"name" :` for the innermost open object and records the name (or the duplicate). */
  memberName(): bool {
    this.skipWhitespace();
    const c = this.peek();
    if (c != 0x22) return this.unexpected(c, Msg.ExpectedMemberName);
    const nameValue = this.stringValue();
    if (nameValue == NONE) return false;
    this.skipWhitespace();
    const colon = this.peek();
    if (colon != 0x3a) return this.unexpected(colon, Msg.ExpectedColon);
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
    if (c == 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) return this.numberValue();
    if (c == 0x74) return this.literal("true") ? this.trueValue : NONE;
    if (c == 0x66) return this.literal("false") ? this.falseValue : NONE;
    if (c == 0x6e) return this.literal("null") ? this.nullValue : NONE;
    this.unexpected(c, Msg.ExpectedValue);
    return NONE;
  }

  /** A number value: its literal as written. */
  numberValue(): JsonRef {
    const start = this.pos;
    if (!this.number()) return NONE;
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
    const text = this.decodeString(quote);
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
}
