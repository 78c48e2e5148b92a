// Reads a parsed JSON document for the configuration rules, and collects the problems they find.
//
// The rules never see a bare JSON value: they get a `Value`, a handle to one place of the document that records
// its parent and its member name or index when it is taken (member(), item(), ...). A problem is reported on the
// Value, and its JSON path is rendered from that chain then, and only then: the walk keeps no path of its own and
// allocates nothing per value (the places live in one flat table of ints).
//
// Problem lines: `<path>: <what is wrong>`, from the templates of messages.json. The path is JavaScript-like,
// `services[0].routes[1].headerToDynamicSubsetKey[0].header`; a member name that is not an identifier is bracketed
// and quoted, `defaultSubset["app.kubernetes.io/version"]`; the whole document is `configuration`. Values echoed
// in problems are JSON-quoted and cut at 64 characters. After MAX_REPORTED_PROBLEMS lines, one more says how many
// were left out.

import { decimal } from "../decimal";
import { utf8Satisfies } from "./syntax";
import { Ints, JsonDocument, JsonKind, JsonRef, NONE } from "../json/document";
import { message, Msg } from "../messages";

export const MAX_REPORTED_PROBLEMS: i32 = 100;
const MAX_ECHO: i32 = 64;

/** One place of the document: a JSON value with its parent and its member name or index. */
export type Value = i32;
/** No value: an absent member. */
export const ABSENT: Value = -1;

// How a place hangs from its parent, in the low two bits of its segment word (the rest is the number):
const ITEM: i32 = 0; // element <number> of a list
const MEMBER: i32 = 1; // member <number> of an object (its name is in the document)
const NAMED: i32 = 2; // the member named absentNames[<number>], which the object lacks

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

/** Problem lines of one kind (errors or warnings), at most MAX_REPORTED_PROBLEMS of them. */
class ProblemList {
  lines: string[] = [];
  leftOut: i32 = 0;

  get count(): i32 {
    return this.lines.length + this.leftOut;
  }

  get full(): bool {
    return this.lines.length >= MAX_REPORTED_PROBLEMS;
  }

  /** The lines, and a last one for those left out. */
  report(): string[] {
    const lines = this.lines;
    if (this.leftOut > 0) lines.push(message(Msg.MoreProblems, [decimal(this.leftOut)]));
    return lines;
  }
}

export class JsonReader {
  readonly errors: ProblemList = new ProblemList();
  readonly warnings: ProblemList = new ProblemList();
  // three ints per Value: its JSON value, its parent Value, its segment (kind | number << 2)
  private places: Ints = new Ints();
  // names of absent members that problems were reported on
  private absentNames: string[] = [];
  // per JSON value, the checks it already passed (bits chosen by the rules). The parser shares one value among
  // equal short strings, so each distinct header, key and label value is checked once.
  private passed: StaticArray<u8>;

  /** `base`: the input bytes, which string values with a rawOffset point into. */
  constructor(
    private doc: JsonDocument,
    private base: usize,
  ) {
    this.passed = new StaticArray<u8>(doc.size);
    this.place(doc.root, ABSENT, 0);
  }

  /** The whole document. */
  get root(): Value {
    return 0;
  }

  private place(json: JsonRef, parent: Value, segment: i32): Value {
    const value = this.places.length / 3;
    this.places.push3(json, parent, segment);
    return value;
  }

  @inline
  private json(value: Value): JsonRef {
    return this.places.get(value * 3);
  }

  // -- navigation --

  /** The member `name` of an object (a value checked by object() or members()), or ABSENT. */
  member(object: Value, name: string): Value {
    const i = this.memberIndex(object, name);
    return i >= 0 ? this.memberAt(object, i) : ABSENT;
  }

  /** Whether an object (a value checked by object() or members()) has the member `name`. */
  hasMember(object: Value, name: string): bool {
    return this.memberIndex(object, name) >= 0;
  }

  private memberIndex(object: Value, name: string): i32 {
    const doc = this.doc;
    const json = this.json(object);
    const n = doc.length(json);
    for (let i = 0; i < n; i++) if (doc.key(json, i) == name) return i;
    return -1;
  }

  /** member(), reporting a missing one as required. */
  required(object: Value, name: string): Value {
    const value = this.member(object, name);
    if (value == ABSENT) this.error(this.absent(object, name), Msg.IsRequired);
    return value;
  }

  /** The place of the member `name` that an object lacks, to report a problem on. */
  absent(object: Value, name: string): Value {
    this.absentNames.push(name);
    return this.place(NONE, object, ((this.absentNames.length - 1) << 2) | NAMED);
  }

  /** Member i of an object. */
  memberAt(object: Value, i: i32): Value {
    return this.place(this.doc.item(this.json(object), i), object, (i << 2) | MEMBER);
  }

  /** The name of member i of an object. */
  memberName(object: Value, i: i32): string {
    return this.doc.key(this.json(object), i);
  }

  /** Element i of a list. */
  item(list: Value, i: i32): Value {
    return this.place(this.doc.item(this.json(list), i), list, (i << 2) | ITEM);
  }

  // -- what a value is --

  /** A string's text ("" for other kinds). */
  text(value: Value): string {
    return this.doc.text(this.json(value));
  }

  /** true for JSON true, false for anything else. */
  isTrue(value: Value): bool {
    return this.doc.kind(this.json(value)) == JsonKind.True;
  }

  /** Runs a byte predicate on a string value, straight on the input bytes when it has them. */
  bytesSatisfy(value: Value, test: (ptr: usize, len: i32) => bool): bool {
    const json = this.json(value);
    const raw = this.doc.rawOffset(json);
    if (raw >= 0) return test(this.base + <usize>raw, this.doc.text(json).length);
    return utf8Satisfies(this.doc.text(json), test);
  }

  /** Whether the JSON value passed `check` before (at this place or at another that shares it). */
  hasPassed(value: Value, check: i32): bool {
    return (unchecked(this.passed[this.json(value)]) & check) != 0;
  }

  markPassed(value: Value, check: i32): void {
    unchecked((this.passed[this.json(value)] |= <u8>check));
  }

  // -- problems --

  /** Reports the problem `id` at `at`; its placeholders after {path} are filled from a, b, c. */
  error(at: Value, id: Msg, a: string = "", b: string = "", c: string = ""): void {
    this.report(this.errors, at, id, a, b, c);
  }

  /** A problem that does not reject the configuration. */
  warn(at: Value, id: Msg, a: string = ""): void {
    this.report(this.warnings, at, id, a, "", "");
  }

  private report(list: ProblemList, at: Value, id: Msg, a: string, b: string, c: string): void {
    // the line (and its path) is made only if it is shown
    if (list.full) list.leftOut++;
    else list.lines.push(message(id, [this.path(at), a, b, c]));
  }

  /** Errors reported so far (a rule compares counts to see whether its part was valid). */
  get errorCount(): i32 {
    return this.errors.count;
  }

  /** The JSON path of a place. */
  path(value: Value): string {
    const chain: Value[] = [];
    for (let v = value; v > 0; v = this.places.get(v * 3 + 1)) chain.push(v);
    let s = "";
    for (let i = chain.length - 1; i >= 0; i--) {
      const v = unchecked(chain[i]);
      const segment = this.places.get(v * 3 + 2);
      const number = segment >> 2;
      if ((segment & 3) == ITEM) {
        s += "[" + decimal(number) + "]";
        continue;
      }
      const parent = this.places.get(v * 3 + 1);
      const name = (segment & 3) == MEMBER ? this.memberName(parent, number) : unchecked(this.absentNames[number]);
      if (!isIdentifier(name)) s += "[" + quote(name) + "]";
      else s += s.length == 0 ? name : "." + name;
    }
    return s.length == 0 ? "configuration" : s;
  }

  // -- shapes: each reports what is wrong and says whether to go on --

  private typeError(value: Value, expected: Msg): void {
    this.error(value, expected, this.doc.typeName(this.json(value)));
  }

  /** The member count of an object, after reporting a repeated member name; -1 after reporting another type. */
  members(value: Value, expected: Msg = Msg.MustBeObject): i32 {
    const json = this.json(value);
    if (!this.doc.isObject(json)) {
      this.typeError(value, expected);
      return -1;
    }
    const repeated = this.doc.duplicateKey(json);
    if (repeated != null) this.error(value, Msg.DuplicateMember, quote(repeated));
    return this.doc.length(json);
  }

  /** Whether the value is an object, after reporting a repeated member name and each member not in `known`. */
  object(value: Value, known: StaticArray<string>): bool {
    const n = this.members(value);
    for (let i = 0; i < n; i++) {
      if (known.includes(this.memberName(value, i))) continue;
      this.error(this.memberAt(value, i), Msg.UnknownField, known.join(", "));
    }
    return n >= 0;
  }

  /** Whether the value has duplicate member names (members() reported them). */
  hasDuplicateMember(object: Value): bool {
    return this.doc.duplicateKey(this.json(object)) != null;
  }

  /** The length of a list; -1 after reporting another type. */
  list(value: Value, expected: Msg = Msg.MustBeList): i32 {
    const json = this.json(value);
    if (this.doc.isArray(json)) return this.doc.length(json);
    this.typeError(value, expected);
    return -1;
  }

  /** The text of a string; null after reporting another type. */
  string(value: Value): string | null {
    const json = this.json(value);
    if (this.doc.isString(json)) return this.doc.text(json);
    this.typeError(value, Msg.MustBeString);
    return null;
  }

  /** string(), also reporting an empty string (null then). */
  nonEmptyString(value: Value): string | null {
    const text = this.string(value);
    if (text == null || text.length > 0) return text;
    this.error(value, Msg.MustNotBeEmpty);
    return null;
  }

  /** Whether the value is a boolean, after reporting another type. */
  boolean(value: Value): bool {
    if (this.doc.isBool(this.json(value))) return true;
    this.typeError(value, Msg.MustBeBoolean);
    return false;
  }

  /**
   * Reports the problem `id` ({name}, {index}) if an earlier entry of a list had `name` (its index is in
   * `seen`); records it otherwise.
   */
  distinct(at: Value, seen: Map<string, i32>, name: string, index: i32, id: Msg): void {
    if (seen.has(name)) this.error(at, id, quote(name), decimal(seen.get(name)));
    else seen.set(name, index);
  }

  /** The index in `allowed` of the string the value is, or -1 after reporting. */
  oneOf(value: Value, allowed: StaticArray<string>): i32 {
    const text = this.string(value);
    if (text == null) return -1;
    const index = allowed.indexOf(text);
    if (index < 0) this.error(value, Msg.MustBeOneOf, allowed.join(", "), quote(text));
    return index;
  }
}
