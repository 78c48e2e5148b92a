// A parsed JSON document: values are i32 handles into flat integer tables, not objects. A configuration of 1,000
// services has ~10^5 values; as GC objects they made parsing 3x slower (measured, incremental runtime). Strings
// are AS strings, and the parser shares one value among equal short strings (parser.ts).

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
export class Ints {
  buffer: ArrayBuffer = new ArrayBuffer(1024);
  length: i32 = 0;

  push(value: i32): void {
    const offset = (<usize>this.length) << 2;
    if (<i32>offset + 4 > this.buffer.byteLength) this.grow(offset);
    store<i32>(changetype<usize>(this.buffer) + offset, value);
    this.length++;
  }

  push3(a: i32, b: i32, c: i32): void {
    const offset = (<usize>this.length) << 2;
    if (<i32>offset + 12 > this.buffer.byteLength) this.grow(offset);
    const at = changetype<usize>(this.buffer) + offset;
    store<i32>(at, a);
    store<i32>(at, b, 4);
    store<i32>(at, c, 8);
    this.length += 3;
  }

  private grow(used: usize): void {
    const bigger = new ArrayBuffer(this.buffer.byteLength << 1);
    memory.copy(changetype<usize>(bigger), changetype<usize>(this.buffer), used);
    this.buffer = bigger;
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
export const DUPLICATE_SHIFT: i32 = 4;
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
  /** The JSON type of v as problem lines name it: null, boolean, number, string, list or object. */
  typeName(v: JsonRef): string {
    switch (this.kind(v)) {
      case JsonKind.Null:
        return "null";
      case JsonKind.False:
      case JsonKind.True:
        return "boolean";
      case JsonKind.Number:
        return "number";
      case JsonKind.String:
        return "string";
      case JsonKind.Array:
        return "list";
      default:
        return "object";
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
