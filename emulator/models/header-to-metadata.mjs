// Model of Envoy's envoy.filters.http.header_to_metadata filter, request path only
// (source/extensions/filters/http/header_to_metadata/header_to_metadata_filter.cc; docs/envoy.md "header_to_metadata").
//
// Header values are bytes: a JS string is taken as UTF-8 text, a Uint8Array as raw bytes. Internally every value is a
// "byte string" (one char per byte, latin1) so lengths and comparisons are byte-exact, as in Envoy.

import { enumName, expectObject, onlyFields, optionalBool, optionalString, present } from "./proto-json.mjs";

const DEFAULT_NAMESPACE = "envoy.filters.http.header_to_metadata";
const MAX_HEADER_VALUE_LEN = 8 * 1024; // MAX_HEADER_VALUE_LEN in header_to_metadata_filter.h
const CONFIG_TYPE = "type.googleapis.com/envoy.extensions.filters.http.header_to_metadata.v3.Config";
const VALUE_TYPES = ["STRING", "NUMBER", "PROTOBUF_VALUE"];
const VALUE_ENCODES = ["NONE", "BASE64"];

// Config / Rule constructors (header_to_metadata_filter.cc) plus the proto's validate rules.
export function parseHeaderToMetadataConfig(config) {
  const path = "header_to_metadata";
  expectObject(config, path);
  onlyFields(config, ["@type", "request_rules", "response_rules", "stat_prefix"], path);
  if (present(config["@type"]) && config["@type"] !== CONFIG_TYPE) {
    throw new Error(`${path}.@type: expected ${CONFIG_TYPE}, got ${config["@type"]}`);
  }
  if (present(config.response_rules) && config.response_rules.length > 0) {
    throw new Error(`${path}.response_rules: not modelled (the model covers the request path only)`);
  }
  const rules = present(config.request_rules) ? config.request_rules : [];
  if (!Array.isArray(rules)) throw new Error(`${path}.request_rules: expected a list`);
  return rules.map((rule, i) => parseRule(rule, `${path}.request_rules[${i}]`));
}

// Rule::Rule (header_to_metadata_filter.cc)
function parseRule(rule, path) {
  expectObject(rule, path);
  onlyFields(rule, ["header", "cookie", "on_header_present", "on_header_missing", "remove"], path);
  const header = optionalString(rule.header, `${path}.header`);
  const cookie = optionalString(rule.cookie, `${path}.cookie`);
  for (const [name, value] of [
    ["header", header],
    ["cookie", cookie],
  ]) {
    if (/[\0\r\n]/.test(value)) throw new Error(`${path}.${name}: not a valid HTTP header name (HTTP_HEADER_NAME)`);
  }
  if (header && cookie) throw new Error(`${path}: Cannot specify both header and cookie`);
  if (!header && !cookie) throw new Error(`${path}: One of Cookie or Header option needs to be specified`);
  const onPresent = present(rule.on_header_present)
    ? parseKeyValuePair(rule.on_header_present, `${path}.on_header_present`)
    : null;
  const onMissing = present(rule.on_header_missing)
    ? parseKeyValuePair(rule.on_header_missing, `${path}.on_header_missing`)
    : null;
  if (!onPresent && !onMissing) {
    throw new Error(
      `${path}: rule for ${header || cookie} has neither \`on_header_present\` nor \`on_header_missing\` set`,
    );
  }
  const remove = optionalBool(rule.remove, `${path}.remove`);
  if (cookie && remove) throw new Error(`${path}: Cannot specify remove for cookie`);
  if (onMissing && onMissing.value === "")
    throw new Error(`${path}: Cannot specify on_header_missing rule with an empty value`);
  // Http::LowerCaseString(rule.header()): header rules match lower-cased names.
  return { header: header ? asciiLower(header) : null, cookie: cookie || null, onPresent, onMissing, remove };
}

// KeyValuePair message; types and encodings the model does not implement are refused, not guessed.
function parseKeyValuePair(kv, path) {
  expectObject(kv, path);
  onlyFields(kv, ["metadata_namespace", "key", "value", "regex_value_rewrite", "type", "encode"], path);
  const key = optionalString(kv.key, `${path}.key`);
  if (key === "") throw new Error(`${path}.key: value length must be at least 1 characters`);
  if (present(kv.regex_value_rewrite)) throw new Error(`${path}.regex_value_rewrite: not modelled`);
  const type = enumName(kv.type, VALUE_TYPES, `${path}.type`);
  if (type === "PROTOBUF_VALUE")
    throw new Error(`${path}.type: PROTOBUF_VALUE is not modelled (only STRING and NUMBER)`);
  const encode = enumName(kv.encode, VALUE_ENCODES, `${path}.encode`);
  if (encode === "BASE64") throw new Error(`${path}.encode: BASE64 is not modelled (only NONE)`);
  return {
    namespace: optionalString(kv.metadata_namespace, `${path}.metadata_namespace`) || DEFAULT_NAMESPACE,
    key,
    value: optionalString(kv.value, `${path}.value`),
    type,
  };
}

/**
 * HeaderToMetadataFilter::decodeHeaders -> writeHeaderToMetadata.
 * @param config JSON form of header_to_metadata.v3.Config (snake_case), optionally with "@type"
 * @param requestHeaders [name, value][] with lower-case names; value string (UTF-8) or Uint8Array
 * @param dynamicMetadata metadata already set by earlier filters: { namespace: { key: tagged } }
 * @returns {{ headers: [string, string|Uint8Array][], dynamicMetadata: object }}
 */
export function applyHeaderToMetadata(config, requestHeaders, dynamicMetadata = {}) {
  const rules = parseHeaderToMetadataConfig(config);
  let headers = [...requestHeaders];
  const structsByNamespace = new Map();
  for (const rule of rules) {
    let value;
    if (rule.header) {
      value = headerValue(headers, rule.header);
      // HeaderValueSelector::extract removes the header once read, whatever the outcome.
      if (value !== null && rule.remove) headers = headers.filter(([name]) => asciiLower(name) !== rule.header);
    } else {
      value = cookieValue(headers, rule.cookie);
    }
    if (value !== null && rule.onPresent) applyKeyValue(value, rule.onPresent, structsByNamespace);
    else if (value === null && rule.onMissing) applyKeyValue("", rule.onMissing, structsByNamespace);
  }
  return { headers, dynamicMetadata: setDynamicMetadata(dynamicMetadata, structsByNamespace) };
}

// Http::HeaderUtility::getAllOfHeaderAsString: every occurrence, comma-joined; null when absent.
function headerValue(headers, name) {
  const values = headers.filter(([n]) => asciiLower(n) === name).map(([, v]) => byteString(v));
  return values.length === 0 ? null : values.join(",");
}

// CookieValueSelector::extract over Http::Utility::parseCookieValue: the first cookie of that name in any
// `cookie` header; an empty value counts as missing.
function cookieValue(headers, cookieName) {
  const wanted = byteString(cookieName);
  for (const [name, raw] of headers) {
    if (asciiLower(name) !== "cookie") continue;
    for (const token of byteString(raw)
      .split(";")
      .filter((t) => t !== "")) {
      const equals = token.indexOf("=");
      if (equals < 0) continue;
      const firstNonSpace = token.search(/[^ ]/);
      let value = token.slice(equals + 1);
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (token.slice(firstNonSpace, equals) === wanted) return value === "" ? null : value;
    }
  }
  return null;
}

// HeaderToMetadataFilter::applyKeyValue
function applyKeyValue(value, kv, structsByNamespace) {
  if (kv.value !== "") value = byteString(kv.value);
  if (value === "") return; // "value is empty, not adding metadata"
  const metadataValue = toMetadataValue(value, kv.type);
  if (metadataValue === null) return;
  if (!structsByNamespace.has(kv.namespace)) structsByNamespace.set(kv.namespace, new Map());
  structsByNamespace.get(kv.namespace).set(kv.key, metadataValue);
}

// HeaderToMetadataFilter::addMetadata (value conversion part); null = dropped.
function toMetadataValue(value, type) {
  if (value.length >= MAX_HEADER_VALUE_LEN) return null; // "metadata value is too long"
  if (type === "STRING") return stringValue(value);
  const number = simpleAtod(trimWhitespace(value));
  return number === null ? null : { number };
}

// StreamInfo::setDynamicMetadata: Struct::MergeFrom per namespace, a later key replaces an earlier one.
function setDynamicMetadata(existing, structsByNamespace) {
  const merged = { ...existing };
  for (const [namespace, fields] of structsByNamespace) {
    merged[namespace] = {
      ...(Object.hasOwn(existing, namespace) ? existing[namespace] : {}),
      ...Object.fromEntries(fields),
    };
  }
  return merged;
}

// StringUtil::trim (source/common/common/utility.cc): " \t\f\v\n\r" on both sides.
function trimWhitespace(s) {
  return s.replace(/^[ \t\f\v\n\r]+|[ \t\f\v\n\r]+$/g, "");
}

// absl::SimpleAtod: strips ASCII whitespace, accepts one leading '+' (not "+-"), then absl::from_chars in
// general format (decimal with optional exponent, inf/infinity/nan[(chars)], any case), whole string consumed.
// Returns null where SimpleAtod returns false.
export function simpleAtod(text) {
  let s = text.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, "");
  if (s.startsWith("+")) {
    s = s.slice(1);
    if (s.startsWith("-")) return null;
  }
  const m = /^(-?)(?:((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(inf(?:inity)?)|(nan(?:\([A-Za-z0-9_]*\))?))$/i.exec(s);
  if (!m) return null;
  const sign = m[1] === "-" ? -1 : 1;
  if (m[3]) return sign * Infinity;
  if (m[4]) return NaN;
  return sign * Number(m[2]); // overflow -> ±Infinity, as SimpleAtod reports it
}

/** Header value (string = UTF-8 text, or Uint8Array) -> byte string. */
function byteString(value) {
  if (typeof value === "string") return Buffer.from(value, "utf8").toString("latin1");
  if (value instanceof Uint8Array) return Buffer.from(value).toString("latin1");
  throw new TypeError(`header value must be a string or Uint8Array, got ${typeof value}`);
}

// Value::set_string_value takes the bytes as they are; keep them when they are not UTF-8.
function stringValue(bytes) {
  const buffer = Buffer.from(bytes, "latin1");
  try {
    return { string: new TextDecoder("utf-8", { fatal: true }).decode(buffer) };
  } catch {
    return { string: new TextDecoder("utf-8").decode(buffer), bytes: new Uint8Array(buffer) };
  }
}

// Http::LowerCaseString: ASCII letters only.
function asciiLower(name) {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
