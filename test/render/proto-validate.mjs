// Validate an Envoy configuration object (parsed JSON or YAML) against Envoy's own v3 protos, the way Envoy reads
// it: proto3 JSON with both snake_case and lowerCamelCase field names, then protoc-gen-validate rules.
//
//   import { validateEnvoy, validateEnvoyYaml } from "./proto-validate.mjs";
//   validateEnvoy(object, "envoy.config.bootstrap.v3.Bootstrap") -> string[]   (empty = valid)
//   validateEnvoyYaml(text, typeName) -> string[]                                 (every YAML document)
//
// Each problem names the path, e.g. `static_resources.clusters[0].lb_subset_config.fallback_policy: "ANY" is not
// a value of envoy.config.cluster.v3.Cluster.LbSubsetConfig.LbSubsetFallbackPolicy`.
//
// Checked:
// - every field is known to its message (unknown fields are an error, as for Envoy's static configuration);
//   a field given twice (snake_case and camelCase) is an error;
// - JSON kinds: messages are objects, repeated fields arrays, maps objects, strings strings, bools booleans,
//   integers integral numbers or integer strings in range (int32/uint32 bounds; uint* not negative), enums a
//   defined name or number; well-known types in their JSON form (Duration "1.5s", Timestamp RFC 3339, wrappers as
//   their scalar, Struct/Value/ListValue, FieldMask, Empty);
// - google.protobuf.Any: "@type" required, resolved (type.googleapis.com/<full name>) by loading the proto of that
//   package on demand, and the payload validated recursively; an unknown @type is an error;
// - at most one field of each oneof, and exactly one when the oneof is `(validate.required)`;
// - PGV field rules: message.required; string min_len/max_len/min_bytes/max_bytes/len/prefix/in/not_in and
//   well_known_regex HTTP_HEADER_NAME / HTTP_HEADER_VALUE; repeated min_items/max_items/unique (scalars);
//   map min_pairs/max_pairs; numeric const/lt/lte/gt/gte/in/not_in (also on wrappers); enum defined_only/in/not_in;
//   duration required/gt/gte/lt/lte; `ignore_empty` honoured; rules apply to proto3 defaults of absent fields,
//   as PGV does (an absent string with min_len 1 is an error), except on oneof members that are not set.
// Not checked: PGV `pattern` (RE2 syntax), `email`/`hostname`/`ip`/`uri` formats, repeated `items` rules,
// message-level `(validate.ignored)`/`disabled`, cross-field constraints that Envoy enforces only in C++ code
// (e.g. "lb_subset_config cannot be combined with CLUSTER_PROVIDED"), extension names matching their type, and
// fields Envoy added after the protos shipped in @grpc/grpc-js-xds (e.g. wasm PluginConfig.failure_policy, 1.33):
// those are reported as unknown.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { parseAllDocuments } from "yaml";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DEPS = path.join(REPO, "node_modules/@grpc/grpc-js-xds/deps");
const INCLUDES = [
  ...["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => path.join(DEPS, d)),
  path.join(REPO, "node_modules/protobufjs"),
];
const WELL_KNOWN = ["any", "duration", "timestamp", "struct", "wrappers", "empty", "field_mask"].map(
  (n) => `google/protobuf/${n}.proto`,
);

let root;

function getRoot() {
  if (root) return root;
  root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const inc of INCLUDES) {
      const p = path.join(inc, target);
      if (fs.existsSync(p)) return p;
    }
    return target; // protobufjs' bundled google/protobuf/*.proto
  };
  root.loadSync([...WELL_KNOWN, "envoy/config/bootstrap/v3/bootstrap.proto"], { keepCase: true });
  root.resolveAll();
  return root;
}

/** The message or enum `fullName`, loading the protos of its package directory if it is not loaded yet. */
export function lookupType(fullName) {
  const r = getRoot();
  const find = () => {
    try {
      return r.lookupTypeOrEnum(fullName);
    } catch {
      return null;
    }
  };
  const found = find();
  if (found) return found;
  const parts = fullName.split(".");
  for (let n = parts.length - 1; n > 0; n--) {
    const rel = parts.slice(0, n).join("/");
    for (const inc of INCLUDES) {
      const dir = path.join(inc, rel);
      if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) continue;
      const files = fs.readdirSync(dir).filter((f) => f.endsWith(".proto"));
      if (files.length === 0) continue;
      r.loadSync(
        files.map((f) => path.join(rel, f)),
        { keepCase: true },
      );
      r.resolveAll();
      return find();
    }
  }
  return null;
}

const INT32 = new Set(["int32", "sint32", "sfixed32"]);
const UINT32 = new Set(["uint32", "fixed32"]);
const INT64 = new Set(["int64", "sint64", "sfixed64"]);
const UINT64 = new Set(["uint64", "fixed64"]);
const WRAPPERS = {
  "google.protobuf.DoubleValue": "double",
  "google.protobuf.FloatValue": "float",
  "google.protobuf.Int64Value": "int64",
  "google.protobuf.UInt64Value": "uint64",
  "google.protobuf.Int32Value": "int32",
  "google.protobuf.UInt32Value": "uint32",
  "google.protobuf.BoolValue": "bool",
  "google.protobuf.StringValue": "string",
  "google.protobuf.BytesValue": "bytes",
};
const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;
const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
const NO_CR_LF_NUL = /^[^\0\r\n]*$/;

const kind = (v) => (v === null ? "null" : Array.isArray(v) ? "list" : typeof v);
const isObj = (v) => kind(v) === "object";
const show = (v) => JSON.stringify(v)?.slice(0, 60);
const join = (p, k) => (p ? `${p}.${k}` : k);

/** The `(validate.rules)` option of a field (or oneof `(validate.required)`), as protobufjs parsed it. */
function optionOf(reflection, name) {
  for (const o of reflection.parsedOptions ?? []) if (o && name in o) return o[name];
  return undefined;
}

function durationSeconds(v) {
  if (typeof v === "string" && DURATION.test(v)) return Number(v.slice(0, -1));
  if (isObj(v)) return Number(v.seconds ?? 0) + Number(v.nanos ?? 0) / 1e9;
  return undefined;
}

class Checker {
  constructor() {
    this.errors = [];
  }

  err(p, msg) {
    this.errors.push(`${p || "(root)"}: ${msg}`);
  }

  /** A scalar proto type; returns the numeric value for range rules (or the string / bool). */
  scalar(type, v, p) {
    const bad = (what) => this.err(p, `expected ${what} (${type}), got ${kind(v)} ${show(v)}`);
    if (type === "string") return typeof v === "string" ? v : bad("a string");
    if (type === "bool") return typeof v === "boolean" ? v : bad("a boolean");
    if (type === "bytes") return typeof v === "string" && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v) ? v : bad("base64 text");
    if (type === "double" || type === "float") {
      if (typeof v === "number") return v;
      if (typeof v === "string" && (/^(NaN|-?Infinity)$/.test(v) || (v.trim() !== "" && !Number.isNaN(Number(v)))))
        return Number(v);
      return bad("a number");
    }
    const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : undefined;
    if (n === undefined || !Number.isInteger(n)) return bad("an integer");
    if ((UINT32.has(type) || UINT64.has(type)) && n < 0) return this.err(p, `${n} is negative (${type})`);
    if (INT32.has(type) && (n < -(2 ** 31) || n >= 2 ** 31)) return this.err(p, `${n} is out of range (${type})`);
    if (UINT32.has(type) && n >= 2 ** 32) return this.err(p, `${n} is out of range (${type})`);
    if (!INT64.has(type) && !UINT64.has(type) && !INT32.has(type) && !UINT32.has(type))
      return this.err(p, `unsupported type ${type}`);
    return n;
  }

  enumValue(en, v, p) {
    if (typeof v === "string" && v in en.values) return en.values[v];
    if (typeof v === "number" && Number.isInteger(v)) return v;
    this.err(p, `${show(v)} is not a value of ${en.fullName.slice(1)} (one of ${Object.keys(en.values).join(", ")})`);
    return undefined;
  }

  /** A message value in proto3 JSON; handles the well-known types' special JSON forms. */
  message(type, v, p) {
    const full = type.fullName.slice(1);
    if (full === "google.protobuf.Any") return this.any(v, p);
    if (full in WRAPPERS) return v === null ? undefined : this.scalar(WRAPPERS[full], v, p);
    if (full === "google.protobuf.Duration")
      return typeof v === "string" && DURATION.test(v)
        ? v
        : this.err(p, `expected a duration such as "1.5s", got ${show(v)}`);
    if (full === "google.protobuf.Timestamp")
      return typeof v === "string" && TIMESTAMP.test(v)
        ? v
        : this.err(p, `expected an RFC 3339 timestamp, got ${show(v)}`);
    if (full === "google.protobuf.Value") return v;
    if (full === "google.protobuf.Struct")
      return isObj(v) ? v : this.err(p, `expected an object (Struct), got ${kind(v)}`);
    if (full === "google.protobuf.ListValue")
      return Array.isArray(v) ? v : this.err(p, `expected a list (ListValue), got ${kind(v)}`);
    if (full === "google.protobuf.FieldMask")
      return typeof v === "string" ? v : this.err(p, `expected a field mask string, got ${kind(v)}`);
    if (!isObj(v)) return this.err(p, `expected an object (${full}), got ${kind(v)} ${show(v)}`);
    this.fields(type, v, p, new Set());
    return v;
  }

  any(v, p) {
    if (!isObj(v)) return this.err(p, `expected an object (google.protobuf.Any), got ${kind(v)}`);
    const url = v["@type"];
    if (typeof url !== "string") return this.err(join(p, "@type"), "missing: a google.protobuf.Any needs @type");
    const name = url.slice(url.lastIndexOf("/") + 1);
    const type = lookupType(name);
    if (!type || !(type instanceof protobuf.Type)) return this.err(join(p, "@type"), `unknown type ${url}`);
    const full = type.fullName.slice(1);
    const special =
      full in WRAPPERS ||
      (full.startsWith("google.protobuf.") &&
        ["Duration", "Timestamp", "Value", "Struct", "ListValue", "FieldMask"].includes(type.name));
    if (special) {
      for (const k of Object.keys(v))
        if (k !== "@type" && k !== "value")
          this.err(join(p, k), `unknown field of the Any form of ${full} (only @type and value)`);
      if (v.value !== undefined) this.message(type, v.value, join(p, "value"));
      return v;
    }
    this.fields(type, v, p, new Set(["@type"]));
    return v;
  }

  fields(type, v, p, skip) {
    const byName = new Map();
    for (const f of type.fieldsArray) {
      byName.set(f.name, f);
      byName.set(protobuf.util.camelCase(f.name), f);
    }
    const given = new Map(); // field -> value
    for (const [k, val] of Object.entries(v)) {
      if (skip.has(k)) continue;
      const f = byName.get(k);
      if (!f) {
        this.err(join(p, k), `unknown field of ${type.fullName.slice(1)}`);
        continue;
      }
      if (given.has(f)) this.err(join(p, k), `field ${f.name} given twice`);
      if (val === null) continue; // proto3 JSON: null = default
      given.set(f, val);
    }
    for (const o of type.oneofsArray) {
      const set = o.fieldsArray.filter((f) => given.has(f));
      if (set.length > 1) this.err(p, `oneof ${o.name}: only one of ${set.map((f) => f.name).join(", ")} may be set`);
      if (set.length === 0 && optionOf(o, "(validate.required)") === true)
        this.err(p, `oneof ${o.name}: one of ${o.fieldsArray.map((f) => f.name).join(", ")} is required`);
    }
    for (const f of type.fieldsArray) {
      const fp = join(p, f.name);
      const has = given.has(f);
      if (!has && f.partOf) continue; // PGV checks only the oneof member that is set
      this.field(f, has ? given.get(f) : undefined, has, fp);
    }
  }

  field(f, v, has, p) {
    f.resolve();
    const rules = optionOf(f, "(validate.rules)") ?? {};
    const isMessage = f.resolvedType instanceof protobuf.Type;
    if (f.map) {
      if (!has) return this.mapRules(rules.map, 0, p);
      if (!isObj(v)) return this.err(p, `expected an object (map<${f.keyType}, ${f.type}>), got ${kind(v)}`);
      for (const [k, val] of Object.entries(v)) {
        if (f.keyType !== "string") this.scalar(f.keyType, k, `${p}[${show(k)}]`);
        this.single(f, val, `${p}[${show(k)}]`, {});
      }
      return this.mapRules(rules.map, Object.keys(v).length, p);
    }
    if (f.repeated) {
      const items = has ? (Array.isArray(v) ? v : this.err(p, `expected a list, got ${kind(v)}`)) : [];
      if (!items) return;
      items.forEach((item, i) => this.single(f, item, `${p}[${i}]`, {}));
      const r = rules.repeated;
      if (r?.ignore_empty && items.length === 0) return;
      if (r?.min_items !== undefined && items.length < Number(r.min_items))
        this.err(p, `needs at least ${r.min_items} item(s), has ${items.length}`);
      if (r?.max_items !== undefined && items.length > Number(r.max_items))
        this.err(p, `allows at most ${r.max_items} item(s), has ${items.length}`);
      if (r?.unique && !isMessage && new Set(items.map((x) => JSON.stringify(x))).size !== items.length)
        this.err(p, "items must be unique");
      return;
    }
    if (!has) {
      if (isMessage) {
        if (rules.message?.required || rules.duration?.required || rules.timestamp?.required || rules.any?.required)
          this.err(p, "is required");
        return;
      }
      // proto3 implicit presence: PGV validates the default value
      const dflt = f.resolvedType ? 0 : f.type === "string" || f.type === "bytes" ? "" : f.type === "bool" ? false : 0;
      return this.scalarRules(f, rules, dflt, p, true);
    }
    this.single(f, v, p, rules);
  }

  single(f, v, p, rules) {
    if (f.resolvedType instanceof protobuf.Type) {
      const full = f.resolvedType.fullName.slice(1);
      const got = this.message(f.resolvedType, v, p);
      if (full in WRAPPERS && got !== undefined) this.scalarRules({ type: WRAPPERS[full] }, rules, got, p, false);
      if (full === "google.protobuf.Duration" && rules.duration) this.durationRules(rules.duration, v, p);
      return;
    }
    const got =
      f.resolvedType instanceof protobuf.Enum ? this.enumValue(f.resolvedType, v, p) : this.scalar(f.type, v, p);
    if (got !== undefined) this.scalarRules(f, rules, got, p, false);
  }

  scalarRules(f, rules, v, p, absent) {
    const r =
      rules.string ??
      rules.bytes ??
      rules.enum ??
      rules[f.type] ??
      rules.uint32 ??
      rules.int32 ??
      rules.uint64 ??
      rules.int64 ??
      rules.double ??
      rules.float;
    if (!r) return;
    const isDefault = v === "" || v === 0 || v === false;
    if (r.ignore_empty && isDefault) return;
    const what = absent ? " (absent)" : "";
    if (typeof v === "string") {
      const chars = [...v].length;
      const bytes = Buffer.byteLength(v);
      if (r.min_len !== undefined && chars < Number(r.min_len))
        return this.err(p, absent ? "is required (must be non-empty)" : `must have at least ${r.min_len} character(s)`);
      if (r.max_len !== undefined && chars > Number(r.max_len))
        this.err(p, `must have at most ${r.max_len} characters`);
      if (r.len !== undefined && chars !== Number(r.len)) this.err(p, `must have exactly ${r.len} characters`);
      if (r.min_bytes !== undefined && bytes < Number(r.min_bytes))
        return this.err(p, absent ? "is required (must be non-empty)" : `must have at least ${r.min_bytes} byte(s)`);
      if (r.max_bytes !== undefined && bytes > Number(r.max_bytes))
        this.err(p, `must have at most ${r.max_bytes} bytes`);
      if (r.prefix !== undefined && !v.startsWith(r.prefix)) this.err(p, `must start with ${show(r.prefix)}`);
      if (r.well_known_regex === "HTTP_HEADER_NAME" && v !== "") {
        const ok = r.strict === false ? NO_CR_LF_NUL.test(v) : HEADER_NAME_STRICT.test(v);
        if (!ok) this.err(p, `${show(v)} is not a valid HTTP header name`);
      }
      if (r.well_known_regex === "HTTP_HEADER_VALUE" && !NO_CR_LF_NUL.test(v))
        this.err(p, `${show(v)} is not a valid HTTP header value`);
    }
    if (typeof v === "number") {
      if (
        r.defined_only &&
        f.resolvedType instanceof protobuf.Enum &&
        !Object.values(f.resolvedType.values).includes(v)
      )
        this.err(p, `${v} is not a defined value of ${f.resolvedType.fullName.slice(1)}`);
      if (r.const !== undefined && v !== Number(r.const)) this.err(p, `must be ${r.const}${what}`);
      if (r.gt !== undefined && !(v > Number(r.gt))) this.err(p, `must be > ${r.gt}${what}, is ${v}`);
      if (r.gte !== undefined && !(v >= Number(r.gte))) this.err(p, `must be >= ${r.gte}${what}, is ${v}`);
      if (r.lt !== undefined && !(v < Number(r.lt))) this.err(p, `must be < ${r.lt}${what}, is ${v}`);
      if (r.lte !== undefined && !(v <= Number(r.lte))) this.err(p, `must be <= ${r.lte}${what}, is ${v}`);
    }
    const list = (x) => (x === undefined ? undefined : Array.isArray(x) ? x : [x]);
    const inList = list(r.in);
    const notIn = list(r.not_in);
    if (inList && !inList.some((x) => x == v)) this.err(p, `must be one of ${inList.join(", ")}${what}`);
    if (notIn && notIn.some((x) => x == v)) this.err(p, `must not be ${v}${what}`);
  }

  durationRules(r, v, p) {
    const s = durationSeconds(v);
    if (s === undefined) return;
    const lim = (d) => durationSeconds(d ?? {}) ?? 0;
    if (r.gt !== undefined && !(s > lim(r.gt))) this.err(p, `must be longer than ${lim(r.gt)}s`);
    if (r.gte !== undefined && !(s >= lim(r.gte))) this.err(p, `must be at least ${lim(r.gte)}s`);
    if (r.lt !== undefined && !(s < lim(r.lt))) this.err(p, `must be shorter than ${lim(r.lt)}s`);
    if (r.lte !== undefined && !(s <= lim(r.lte))) this.err(p, `must be at most ${lim(r.lte)}s`);
  }

  mapRules(r, n, p) {
    if (!r || (r.ignore_empty && n === 0)) return;
    if (r.min_pairs !== undefined && n < Number(r.min_pairs))
      this.err(p, `needs at least ${r.min_pairs} entr(ies), has ${n}`);
    if (r.max_pairs !== undefined && n > Number(r.max_pairs))
      this.err(p, `allows at most ${r.max_pairs} entries, has ${n}`);
  }
}

export function validateEnvoy(value, typeName = "envoy.config.bootstrap.v3.Bootstrap") {
  const type = lookupType(typeName);
  if (!(type instanceof protobuf.Type)) return [`(root): unknown message type ${typeName}`];
  const c = new Checker();
  c.message(type, value, "");
  return c.errors;
}

/** Every document of a YAML stream, validated as `typeName`; problems prefixed with `#<document index>`. */
export function validateEnvoyYaml(text, typeName = "envoy.config.bootstrap.v3.Bootstrap") {
  return parseAllDocuments(text).flatMap((doc, i) =>
    doc.errors.length > 0
      ? doc.errors.map((e) => `#${i}: YAML error: ${e.message}`)
      : validateEnvoy(doc.toJS(), typeName).map((e) => `#${i} ${e}`),
  );
}
