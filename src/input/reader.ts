// Reads a parsed YAML document with paths for messages (the ASM input, the endpoints file, the pods).
//
//   Node        a value seen twice: `v` as YAML's core schema types it, `raw` as the failsafe schema reads it
//               (every scalar a string: the text as written), so that an unquoted `1.0` can be read back as "1.0".
//   child(n, k) the node of field / index k.
//   DocReader   collects problems (`<ref> <path>: <problem>`) and warnings of one document; typed readers.
//   yamlNodes(text) the documents of a YAML stream as Nodes (or YAML errors).

import { parseAllDocuments } from "yaml";
import { IP_KEY } from "../config/types.js";
import { isObj, type Obj } from "./object.js";
import { isIpLiteral, isLabelKey, isLabelValue } from "./syntax.js";

export interface Node {
  v: unknown;
  raw: unknown;
  path: string;
}

export function child(n: Node, key: string | number): Node {
  const pick = (x: unknown) =>
    typeof key === "number" ? (Array.isArray(x) ? x[key] : undefined) : isObj(x) ? x[key] : undefined;
  const path = typeof key === "number" ? `${n.path}[${key}]` : n.path ? `${n.path}.${key}` : key;
  return { v: pick(n.v), raw: pick(n.raw), path };
}

export const LABEL_KEY_RULE =
  "an optional DNS subdomain and '/', then 1-63 characters of [-A-Za-z0-9_.], starting and ending alphanumeric";

/** Collects the problems and warnings of one document. */
export class DocReader {
  constructor(
    readonly ref: string,
    readonly problems: string[],
    readonly warnings: string[],
  ) {}

  fail(n: Node | string, problem: string): undefined {
    const path = typeof n === "string" ? n : n.path;
    this.problems.push(`${this.ref} ${path || "(document)"}: ${problem}`);
    return undefined;
  }

  /** An object with only `allowed` fields (when given). */
  object(n: Node, allowed?: readonly string[]): Obj | undefined {
    if (!isObj(n.v)) return this.fail(n, "must be a mapping");
    if (allowed) {
      for (const k of Object.keys(n.v)) {
        if (!allowed.includes(k)) this.fail(child(n, k), `unknown field (expected one of: ${allowed.join(", ")})`);
      }
    }
    return n.v;
  }

  /** A non-empty string; a YAML number or boolean is read back as written (label semantics), with a warning. */
  labelString(n: Node, what = "a non-empty string"): string | undefined {
    if (typeof n.v === "string") return n.v === "" ? this.fail(n, `must be ${what}`) : n.v;
    if ((typeof n.v === "number" || typeof n.v === "boolean") && typeof n.raw === "string") {
      this.warnings.push(
        `${this.ref} ${n.path}: YAML ${typeof n.v} ${n.raw} read as the string "${n.raw}" (labels are strings; quote it)`,
      );
      return n.raw;
    }
    return this.fail(n, `must be ${what}`);
  }

  /** A non-empty string, no conversion (names, hosts). */
  plainString(n: Node): string | undefined {
    if (typeof n.v === "string" && n.v !== "") return n.v;
    return this.fail(n, "must be a non-empty string");
  }

  optional<T>(n: Node, read: (n: Node) => T | undefined): T | undefined {
    return n.v === undefined ? undefined : read(n);
  }

  list(n: Node): Node[] | undefined {
    if (!Array.isArray(n.v)) return this.fail(n, "must be a list");
    return n.v.map((_, i) => child(n, i));
  }

  oneOf<T extends string>(n: Node, values: readonly T[]): T | undefined {
    if (typeof n.v === "string" && (values as readonly string[]).includes(n.v)) return n.v as T;
    return this.fail(n, `must be one of ${values.join(", ")}`);
  }

  /** A dynamic subset key: a label key, or the built-in %ip%. */
  key(n: Node): string | undefined {
    const k = this.labelString(n);
    if (k === undefined || k === IP_KEY) return k;
    if (k.startsWith("%")) return this.fail(n, `unknown built-in attribute ${k} (only ${IP_KEY} is supported)`);
    return isLabelKey(k) ? k : this.fail(n, `"${k}" is not a valid label key (${LABEL_KEY_RULE})`);
  }

  /** A value for `key`: a label value, or an IP literal for %ip%. */
  valueFor(key: string | undefined, n: Node): string | undefined {
    if (key === IP_KEY) {
      const v = this.labelString(n, "an IP address");
      return v === undefined || isIpLiteral(v)
        ? v
        : this.fail(n, `must be an IPv4 or IPv6 literal for ${IP_KEY}, got "${v}"`);
    }
    const v = this.labelString(n, "a label value");
    return v === undefined || isLabelValue(v)
      ? v
      : this.fail(
          n,
          `"${v}" is not a valid label value (at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric)`,
        );
  }
}

/** Every document of a YAML stream: a Node, or the YAML errors of that document. */
export function yamlNodes(text: string): ({ node: Node } | { errors: string[] })[] {
  const core = parseAllDocuments(text);
  const raw = parseAllDocuments(text, { schema: "failsafe" });
  if (!Array.isArray(core) || !Array.isArray(raw)) return [];
  return core.map((doc, i) =>
    doc.errors.length > 0
      ? { errors: doc.errors.map((e) => e.message.split("\n")[0]) }
      : { node: { v: doc.toJS(), raw: raw[i]?.toJS(), path: "" } },
  );
}
