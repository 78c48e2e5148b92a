// Checks for the JSON form of Envoy protos (snake_case field names, enums by name or number), enough for the
// models to refuse what they do not understand instead of silently ignoring it.

export function present(value) {
  return value !== undefined && value !== null;
}

export function expectObject(value, path) {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new Error(`${path}: expected an object`);
}

export function onlyFields(object, allowed, path) {
  for (const field of Object.keys(object)) {
    if (!allowed.includes(field)) throw new Error(`${path}: unknown field "${field}"`);
  }
}

export function optionalString(value, path) {
  if (!present(value)) return "";
  if (typeof value !== "string") throw new Error(`${path}: expected a string`);
  return value;
}

export function optionalBool(value, path) {
  if (!present(value)) return false;
  if (typeof value !== "boolean") throw new Error(`${path}: expected a boolean`);
  return value;
}

export function optionalList(value, path) {
  if (!present(value)) return [];
  if (!Array.isArray(value)) throw new Error(`${path}: expected a list`);
  return value;
}

// Proto JSON enums: the name or the number; absent = the first value (0).
export function enumName(value, names, path) {
  if (!present(value)) return names[0];
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value < names.length) return names[value];
  if (typeof value === "string" && names.includes(value)) return value;
  throw new Error(`${path}: invalid enum value ${JSON.stringify(value)} (expected one of ${names.join(", ")})`);
}
