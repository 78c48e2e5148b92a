// Tagged google.protobuf.Value, the value type of Envoy metadata, so that a type mismatch stays visible:
// { string } | { number } | { bool } | { null: null } | { list: Value[] } | { struct: { key: Value } }.
// A string built from header bytes that are not valid UTF-8 also carries those bytes: { string, bytes }.

const KINDS = ["string", "number", "bool", "null", "list", "struct"];

/** @param {string} s */
export const str = (s) => ({ string: s });
/** @param {number} n */
export const num = (n) => ({ number: n });

/** The kind of a tagged value; throws on anything else (a raw "1" must not pass for a metadata value). */
export function kindOf(value, path = "value") {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${path}: expected a tagged metadata value like {string: "v1"}, got ${JSON.stringify(value)}`);
  }
  const kinds = KINDS.filter((k) => Object.hasOwn(value, k));
  if (kinds.length !== 1) {
    throw new TypeError(
      `${path}: expected exactly one of ${KINDS.join("|")}, got keys ${Object.keys(value).join(",")}`,
    );
  }
  return kinds[0];
}

/** google.protobuf.Value JSON (as in Envoy YAML/JSON config) -> tagged value. */
export function fromJson(json, path = "value") {
  if (typeof json === "string") return { string: json };
  if (typeof json === "number") return { number: json };
  if (typeof json === "boolean") return { bool: json };
  if (json === null) return { null: null };
  if (Array.isArray(json)) return { list: json.map((v, i) => fromJson(v, `${path}[${i}]`)) };
  if (typeof json === "object") return { struct: structFromJson(json, path) };
  throw new TypeError(`${path}: ${typeof json} is not a protobuf Value`);
}

/** google.protobuf.Struct JSON -> Map(key -> tagged value). */
export function structFromJson(json, path = "struct") {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new TypeError(`${path}: expected an object (google.protobuf.Struct), got ${JSON.stringify(json)}`);
  }
  return new Map(Object.entries(json).map(([k, v]) => [k, fromJson(v, `${path}.${k}`)]));
}

/** Tagged value -> plain JSON-ish form for messages. */
export function describe(value) {
  const kind = kindOf(value);
  if (kind === "list") return value.list.map(describe);
  if (kind === "struct") return Object.fromEntries(entriesOf(value.struct).map(([k, v]) => [k, describe(v)]));
  return kind === "null" ? null : value[kind];
}

/** Entries of a struct given as Map or plain object. */
export function entriesOf(struct) {
  return struct instanceof Map ? [...struct] : Object.entries(struct);
}

function utf8(s) {
  return Buffer.from(s, "utf8");
}

function stringBytes(value) {
  return value.bytes ? Buffer.from(value.bytes) : utf8(value.string);
}

// ValueUtil::equal (source/common/protobuf/utility.cc): same kind and same content; 0 == -0, NaN != NaN.
export function valueEquals(a, b) {
  const kind = kindOf(a);
  if (kind !== kindOf(b)) return false;
  switch (kind) {
    case "null":
      return true;
    case "number":
      return a.number === b.number;
    case "bool":
      return a.bool === b.bool;
    case "string":
      return stringBytes(a).equals(stringBytes(b));
    case "list":
      return a.list.length === b.list.length && a.list.every((v, i) => valueEquals(v, b.list[i]));
    case "struct": {
      const ea = entriesOf(a.struct);
      const mb = new Map(entriesOf(b.struct));
      return ea.length === mb.size && ea.every(([k, v]) => mb.has(k) && valueEquals(v, mb.get(k)));
    }
  }
}

// HashedValue (source/common/protobuf/utility.h): equal iff the hashes of the serialised values agree AND
// ValueUtil::equal holds. Serialisation tells -0 from 0, and NaN never equals itself, so a value holding NaN
// can never be found. Returns a canonical string key, or null for a value that can match nothing.
export function hashedKey(value) {
  const kind = kindOf(value);
  switch (kind) {
    case "null":
      return "z";
    case "bool":
      return value.bool ? "b1" : "b0";
    case "number":
      if (Number.isNaN(value.number)) return null;
      return Object.is(value.number, -0) ? "n-0" : `n${value.number}`;
    case "string":
      return value.bytes ? `x${Buffer.from(value.bytes).toString("hex")}` : `s${JSON.stringify(value.string)}`;
    case "list": {
      const keys = value.list.map(hashedKey);
      return keys.includes(null) ? null : `l[${keys.join(",")}]`;
    }
    case "struct": {
      const parts = entriesOf(value.struct)
        .sort(([a], [b]) => compareKeys(a, b))
        .map(([k, v]) => [JSON.stringify(k), hashedKey(v)]);
      return parts.some(([, v]) => v === null) ? null : `o{${parts.map(([k, v]) => `${k}:${v}`).join(",")}}`;
    }
  }
}

/** std::string operator< : byte-wise order of the UTF-8 encodings (std::set / std::sort of keys). */
export function compareKeys(a, b) {
  return Buffer.compare(utf8(a), utf8(b));
}
