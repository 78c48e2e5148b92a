// YAML text that every tool reads the same way.
//
// The yaml library writes YAML 1.2, where `on`, `yes`, `010` or `12:30` are strings and need no quotes. Many readers
// of the rendered files resolve plain scalars by YAML 1.1 rules instead: kubectl and client-go turn YAML into JSON
// with go-yaml v2 (sigs.k8s.io/yaml), Envoy's YAML loader resolves y/yes/on as booleans and 010 as the integer 8
// (docs/envoy.md), Python tools use PyYAML. There a label `stage: on` becomes the boolean true and never equals the
// header value "on", and a listener named `on` makes Envoy refuse the file. So every string scalar, key or value,
// that a YAML 1.1 reader would take for something else is written double-quoted.
//
//   quoteAmbiguousScalars(doc)   marks such scalars of a Document as double-quoted
//   yamlText(doc)                the document's text, no line folding, ambiguous scalars quoted

import { Document, visit } from "yaml";

/** What YAML 1.1 resolves a plain scalar to other than a string: the yaml library's own 1.1 schema, plus `=` (the
 * 1.1 value key, which PyYAML cannot construct). */
const YAML_1_1_NON_STRING = new RegExp(
  [
    ...new Document(null, { version: "1.1" }).schema.tags
      .filter((t) => t.tag !== "tag:yaml.org,2002:str" && t.test instanceof RegExp)
      .map((t) => `(?:${(t.test as RegExp).source})`),
    "^=$",
  ].join("|"),
);

export function isAmbiguousInYaml11(s: string): boolean {
  return YAML_1_1_NON_STRING.test(s);
}

export function quoteAmbiguousScalars(doc: Document): void {
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value === "string" && !node.type?.startsWith("QUOTE") && isAmbiguousInYaml11(node.value))
        node.type = "QUOTE_DOUBLE";
    },
  });
}

export function yamlText(doc: Document): string {
  quoteAmbiguousScalars(doc);
  return doc.toString({ lineWidth: 0 });
}
