// Kubernetes objects as `kubectl get ... -o yaml|json` prints them from a live cluster.
//
//   listKind(kind)             the kind of a list's items: "List" -> undefined (each item names its own),
//                              "DestinationRuleList" -> "DestinationRule"; undefined when `kind` is not a list
//   withoutServerFields(obj)   a copy without what the API server fills in: status, metadata.uid, resourceVersion,
//                              generation, creationTimestamp, managedFields, selfLink, deletion*, and the
//                              annotation kubectl.kubernetes.io/last-applied-configuration (client-side apply's copy
//                              of the object as last applied: for an ASM resource it still holds dynamicSubset)
//   parseKubeText(text)        JSON (JSON.parse: kubectl's -o json output of thousands of pods parses in
//                              milliseconds) or multi-document YAML; the parsed documents, or the errors

import { parseAllDocuments } from "yaml";
import { isObj, type Obj } from "./object.js";

export const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

const SERVER_METADATA = [
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "managedFields",
  "selfLink",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
];

export function listKind(kind: unknown): string | undefined {
  if (typeof kind !== "string" || !kind.endsWith("List")) return undefined;
  return kind === "List" ? undefined : kind.slice(0, -"List".length);
}

export const isListKind = (kind: unknown): boolean => typeof kind === "string" && kind.endsWith("List");

export function withoutServerFields(obj: Obj): Obj {
  const { status: _status, ...copy } = obj;
  if (!isObj(copy.metadata)) return copy;
  const metadata: Obj = { ...copy.metadata };
  for (const field of SERVER_METADATA) delete metadata[field];
  if (isObj(metadata.annotations)) {
    const { [LAST_APPLIED]: _lastApplied, ...annotations } = metadata.annotations;
    if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
    else delete metadata.annotations;
  }
  return { ...copy, metadata };
}

export type ParsedText = { documents: unknown[] } | { errors: string[] };

export function parseKubeText(text: string): ParsedText {
  if (/^\s*[{[]/.test(text)) {
    try {
      return { documents: [JSON.parse(text)] };
    } catch {
      // not JSON after all (a YAML flow mapping): read it as YAML below
    }
  }
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const errors = list.flatMap((d, i) => d.errors.map((e) => `#${i}: YAML error: ${e.message.split("\n")[0]}`));
  if (errors.length > 0) return { errors };
  return { documents: list.map((d) => d.toJS()) };
}
