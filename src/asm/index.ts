// ASM-style input: DestinationRule + VirtualService YAML (the shape in the seed), parsed and validated, plus the
// Istio Gateways the VirtualServices bind to.
//
// Exported API (shared by the envoy and istio targets; keep it small and stable):
//
//   parseAsm(sources: {file, text}[]): AsmInput
//       Parses every YAML document of every source (multi-document YAML; `kind: List` and typed lists such as
//       `DestinationRuleList` expanded, as kubectl prints them) and returns the DestinationRules, VirtualServices
//       and Gateways in input order. Other kinds are skipped with a warning. Throws InputError listing *every*
//       problem found, one line each: `<file>#<document index> <path>: <problem>`, e.g.
//       `dr.yaml#0 spec.trafficPolicy.loadBalancer.dynamicSubset.subsetSelectors[0].keys: must be a non-empty list of distinct strings`.
//   readAsmFiles(paths: string[]): AsmInput        parseAsm over files read from disk ("-" = stdin).
//   types AsmInput, AsmDestinationRule, AsmVirtualService, AsmHttpRoute, AsmGateway.
//
// Label semantics: keys, label values, default values and header names are strings. YAML types an unquoted
// `version: 1` as the number 1 (and `true` as a boolean); such scalars are read back as the exact text
// the user wrote ("1", "1.0", "true"), and a warning says so, because a label is always a string and the number
// 1 would never equal the string "1" that header_to_metadata produces.
//
// What is checked (docs/configuration.md, docs/behaviour.md "Routing decision"): apiVersion
// networking.istio.io/{v1alpha3,v1beta1,v1}; metadata.name; DR spec.host; dynamicSubset fields (unknown fields
// rejected); selector keys non-empty, distinct, valid label keys; no two selectors with one key set; built-in keys
// other than %ip% rejected; fallbackPolicy / lbPolicy enums; DEFAULT_SUBSET needs defaultSubset; defaultSubset and
// defaultValue are label values (IP literals for %ip%); a mapping names exactly one source (header, cookie, query,
// baggage) with a name valid for it, as the filter checks it; VS spec.hosts.
// Typos around the ASM fields are errors, because Kubernetes would drop the misspelt field silently and the
// service would lose dynamic subsets: the fields of spec, trafficPolicy, loadBalancer and http[] must be Istio's
// (./istio-fields.ts), and dynamicSubset / headerToDynamicSubsetKey anywhere else in the document are refused.
// Documents keep none of the API server's fields (src/input/kube.ts), so resources exported from a cluster can be
// given as they are. The rest of each Istio HTTPRoute is kept as written (`AsmHttpRoute.route`) for the targets.

import { readFileSync } from "node:fs";
import type {
  DynamicSubset,
  FallbackPolicy,
  HeaderMapping,
  LbPolicy,
  Labels,
  SubsetSelector,
} from "../config/types.js";
import { InputError } from "../input/errors.js";
import { isListKind, listKind, withoutServerFields } from "../input/kube.js";
import { isObj, type Obj } from "../input/object.js";
import { child, DocReader, type Node, yamlNodes } from "../input/reader.js";
import { isHeaderToken, isQueryParameterName } from "../input/syntax.js";
import * as FIELDS from "./istio-fields.js";

export { fqdn, isHeaderToken, isIpLiteral, isLabelKey, isLabelValue } from "../input/syntax.js";

export interface AsmSource {
  file: string;
  text: string;
}

export interface AsmDestinationRule {
  ref: string; // "<file>#<index>", for messages
  name: string;
  namespace?: string;
  host: string; // spec.host as written
  exportTo?: string[];
  dynamicSubset?: DynamicSubset; // absent: the DR has no dynamic subsets
  document: Obj; // the whole document as parsed, without the API server's fields
}

export interface AsmHttpRoute {
  name?: string;
  headerToDynamicSubsetKey: HeaderMapping[]; // [] when absent
  route: Obj; // the Istio HTTPRoute as written, without headerToDynamicSubsetKey
}

export interface AsmVirtualService {
  ref: string;
  name: string;
  namespace?: string;
  hosts: string[];
  gateways: string[]; // spec.gateways as written ([] = absent: the mesh's sidecars)
  exportTo?: string[];
  http: AsmHttpRoute[];
  document: Obj;
}

/** An Istio Gateway (networking.istio.io): where its proxies run and which pods they are. */
export interface AsmGateway {
  ref: string;
  name: string;
  namespace?: string;
  selector: Labels;
}

export interface AsmInput {
  destinationRules: AsmDestinationRule[];
  virtualServices: AsmVirtualService[];
  gateways: AsmGateway[];
  warnings: string[];
}

const API_VERSION = /^networking\.istio\.io\/(v1alpha3|v1beta1|v1)$/;
const FALLBACK_POLICIES: readonly FallbackPolicy[] = ["NO_FALLBACK", "ANY_ENDPOINT", "DEFAULT_SUBSET"];
const LB_POLICIES: readonly LbPolicy[] = ["RANDOM", "ROUND_ROBIN", "LEAST_REQUEST"];
const DYNAMIC_SUBSET_PATH = "spec.trafficPolicy.loadBalancer.dynamicSubset";

function readMetadata(r: DocReader, doc: Node): { name?: string; namespace?: string } {
  const md = child(doc, "metadata");
  if (!r.object(md)) return {};
  return {
    name: r.plainString(child(md, "name")),
    namespace: r.optional(child(md, "namespace"), (n) => r.plainString(n)),
  };
}

function readStringList(r: DocReader, n: Node): string[] | undefined {
  const items = r.optional(n, (l) => r.list(l))?.map((i) => r.plainString(i));
  return items?.every((i) => i !== undefined) ? (items as string[]) : undefined;
}

/** Fields of an Istio object at `n` must be Istio's (plus `asm`, the ASM field that may sit there). */
function istioFields(r: DocReader, n: Node, known: readonly string[], what: string, asm?: string): void {
  if (!isObj(n.v)) return;
  for (const k of Object.keys(n.v)) {
    if (known.includes(k) || k === asm) continue;
    r.fail(
      child(n, k),
      `unknown field of ${what} (Istio's are: ${known.join(", ")}${asm ? `; ASM adds ${asm}` : ""}); Kubernetes would drop it`,
    );
  }
}

/** dynamicSubset and headerToDynamicSubsetKey anywhere but where ASM reads them. */
function misplacedAsmFields(r: DocReader, n: Node, allowed: (path: string) => boolean): void {
  const visit = (x: Node): void => {
    if (Array.isArray(x.v)) x.v.forEach((_, i) => visit(child(x, i)));
    if (!isObj(x.v)) return;
    for (const k of Object.keys(x.v)) {
      const c = child(x, k);
      if ((k === "dynamicSubset" || k === "headerToDynamicSubsetKey") && !allowed(c.path))
        r.fail(
          c,
          k === "dynamicSubset"
            ? `dynamicSubset is read only at ${DYNAMIC_SUBSET_PATH}; here it would be dropped`
            : "headerToDynamicSubsetKey is read only in spec.http[] routes; here it would be dropped",
        );
      else visit(c);
    }
  };
  visit({ ...n, path: "" });
}

const sameKeySet = (a: string[], b: string[]) => a.length === b.length && a.every((k) => b.includes(k));

function readSelector(r: DocReader, n: Node): SubsetSelector | undefined {
  if (!r.object(n, ["keys", "fallbackPolicy"])) return undefined;
  const keysNode = child(n, "keys");
  const items =
    Array.isArray(keysNode.v) && keysNode.v.length > 0
      ? r.list(keysNode)
      : r.fail(keysNode, "must be a non-empty list of distinct strings");
  const keys = items?.map((k) => r.key(k));
  if (keys && new Set(keys).size !== keys.length) r.fail(keysNode, "must be a non-empty list of distinct strings");
  const fallbackPolicy = r.optional(child(n, "fallbackPolicy"), (p) => r.oneOf(p, FALLBACK_POLICIES));
  if (!keys || keys.some((k) => k === undefined)) return undefined;
  return fallbackPolicy ? { keys: keys as string[], fallbackPolicy } : { keys: keys as string[] };
}

function readDefaultSubset(r: DocReader, n: Node): Labels | undefined {
  const o = r.object(n);
  if (!o) return undefined;
  if (Object.keys(o).length === 0) return r.fail(n, "must name at least one label");
  const labels: Labels = {};
  for (const k of Object.keys(o)) {
    const key = r.key({ v: k, raw: k, path: `${n.path}{key ${k}}` });
    const value = r.valueFor(key, child(n, k));
    if (key !== undefined && value !== undefined) labels[key] = value;
  }
  return labels;
}

function readDynamicSubset(r: DocReader, n: Node): DynamicSubset | undefined {
  if (!r.object(n, ["subsetSelectors", "defaultSubset", "fallbackPolicy", "lbPolicy"])) return undefined;
  const selNode = child(n, "subsetSelectors");
  const selItems =
    Array.isArray(selNode.v) && selNode.v.length > 0
      ? r.list(selNode)
      : r.fail(selNode, "must be a non-empty list of selectors");
  const subsetSelectors = selItems?.map((s) => readSelector(r, s));
  subsetSelectors?.forEach((s, i) => {
    const j = s ? subsetSelectors.findIndex((t) => t !== undefined && sameKeySet(s.keys, t.keys)) : i;
    if (j < i) r.fail(child(child(selNode, i), "keys"), `same key set as subsetSelectors[${j}]`);
  });
  const defaultSubset = r.optional(child(n, "defaultSubset"), (d) => readDefaultSubset(r, d));
  const fallbackPolicy = r.optional(child(n, "fallbackPolicy"), (p) => r.oneOf(p, FALLBACK_POLICIES));
  const lbPolicy = r.optional(child(n, "lbPolicy"), (p) => r.oneOf(p, LB_POLICIES));
  const wantsDefault =
    fallbackPolicy === "DEFAULT_SUBSET" || subsetSelectors?.some((s) => s?.fallbackPolicy === "DEFAULT_SUBSET");
  if (wantsDefault && child(n, "defaultSubset").v === undefined)
    r.fail(child(n, "defaultSubset"), "is required when a fallbackPolicy is DEFAULT_SUBSET");
  if (!subsetSelectors || subsetSelectors.some((s) => s === undefined)) return undefined;
  const ds: DynamicSubset = { subsetSelectors: subsetSelectors as SubsetSelector[] };
  if (defaultSubset) ds.defaultSubset = defaultSubset;
  if (fallbackPolicy) ds.fallbackPolicy = fallbackPolicy;
  if (lbPolicy) ds.lbPolicy = lbPolicy;
  return ds;
}

function readDestinationRule(r: DocReader, doc: Node): AsmDestinationRule | undefined {
  const { name, namespace } = readMetadata(r, doc);
  const spec = child(doc, "spec");
  if (!r.object(spec)) return undefined;
  const trafficPolicy = child(spec, "trafficPolicy");
  const loadBalancer = child(trafficPolicy, "loadBalancer");
  istioFields(r, spec, FIELDS.DESTINATION_RULE_SPEC, "a DestinationRule's spec");
  istioFields(r, trafficPolicy, FIELDS.TRAFFIC_POLICY, "a TrafficPolicy");
  istioFields(r, loadBalancer, FIELDS.LOAD_BALANCER, "a LoadBalancerSettings", "dynamicSubset");
  misplacedAsmFields(r, doc, (path) => path === DYNAMIC_SUBSET_PATH);
  const host = r.plainString(child(spec, "host"));
  const exportTo = readStringList(r, child(spec, "exportTo"));
  const dynamicSubset = r.optional(child(loadBalancer, "dynamicSubset"), (n) => readDynamicSubset(r, n));
  if (name === undefined || host === undefined) return undefined;
  const dr: AsmDestinationRule = { ref: r.ref, name, namespace, host, dynamicSubset, document: docOf(doc) };
  if (exportTo) dr.exportTo = exportTo;
  return dr;
}

/** Where a mapping reads its key's value (docs/configuration.md "Key sources"); ASM itself knows only header. */
const KEY_SOURCES = ["header", "cookie", "query", "baggage"] as const;
type KeySource = (typeof KEY_SOURCES)[number];

/** What a name must be for its source, as the filter and the plugin configuration's schema check it. */
const SOURCE_NAMES: Record<KeySource, { what: string; valid: (s: string) => boolean; rule: string }> = {
  header: {
    what: "a header name",
    valid: isHeaderToken,
    rule: "is not a header-name token (pseudo-headers such as :authority are not supported)",
  },
  cookie: {
    what: "a cookie name",
    valid: isHeaderToken,
    rule: "is not a valid cookie name (RFC 6265 cookie-name: an RFC 9110 token)",
  },
  query: {
    what: "a query parameter name",
    valid: isQueryParameterName,
    rule: "is not a valid query parameter name (visible ASCII except # % & + =)",
  },
  baggage: {
    what: "a baggage key",
    valid: isHeaderToken,
    rule: "is not a valid baggage key (W3C Baggage key: an RFC 9110 token)",
  },
};

/** The one source a mapping names, or undefined after reporting none or several. */
function readSource(r: DocReader, n: Node): KeySource | undefined {
  const given = KEY_SOURCES.filter((s) => child(n, s).v !== undefined);
  if (given.length === 1) return given[0];
  return r.fail(
    n,
    given.length === 0
      ? "one of header, cookie, query, baggage is required (where the key's value comes from)"
      : `header, cookie, query and baggage are mutually exclusive; give exactly one (found ${given.join(", ")})`,
  );
}

function readSourceName(r: DocReader, source: KeySource, n: Node): string | undefined {
  const { what, valid, rule } = SOURCE_NAMES[source];
  const name = r.labelString(n, what);
  return name === undefined || valid(name) ? name : r.fail(n, `"${name}" ${rule}`);
}

function readMapping(r: DocReader, n: Node): HeaderMapping | undefined {
  if (!r.object(n, [...KEY_SOURCES, "key", "defaultValue"])) return undefined;
  const source = readSource(r, n);
  const name = source && readSourceName(r, source, child(n, source));
  const key = r.key(child(n, "key"));
  const defaultValue = r.optional(child(n, "defaultValue"), (d) => r.valueFor(key, d));
  if (source === undefined || name === undefined || key === undefined) return undefined;
  const mapping: HeaderMapping = { [source]: name, key };
  if (defaultValue !== undefined) mapping.defaultValue = defaultValue;
  return mapping;
}

function readHttpRoute(r: DocReader, n: Node): AsmHttpRoute | undefined {
  const o = r.object(n);
  if (!o) return undefined;
  istioFields(r, n, FIELDS.HTTP_ROUTE, "an HTTPRoute", "headerToDynamicSubsetKey");
  const name = r.optional(child(n, "name"), (x) => r.plainString(x));
  const mapNode = child(n, "headerToDynamicSubsetKey");
  const mappings = r.optional(mapNode, (m) => r.list(m))?.map((m) => readMapping(r, m));
  if (mappings?.some((m) => m === undefined)) return undefined;
  const { headerToDynamicSubsetKey: _asmOnly, ...route } = o;
  const out: AsmHttpRoute = { headerToDynamicSubsetKey: (mappings ?? []) as HeaderMapping[], route };
  if (name !== undefined) out.name = name;
  return out;
}

function readVirtualService(r: DocReader, doc: Node): AsmVirtualService | undefined {
  const { name, namespace } = readMetadata(r, doc);
  const spec = child(doc, "spec");
  if (!r.object(spec)) return undefined;
  istioFields(r, spec, FIELDS.VIRTUAL_SERVICE_SPEC, "a VirtualService's spec");
  misplacedAsmFields(r, doc, (path) => /^spec\.http\[\d+\]\.headerToDynamicSubsetKey$/.test(path));
  const hostsNode = child(spec, "hosts");
  const hosts = (
    Array.isArray(hostsNode.v) && hostsNode.v.length > 0
      ? r.list(hostsNode)
      : r.fail(hostsNode, "must be a non-empty list of host names")
  )?.map((h) => r.plainString(h));
  const gateways = readStringList(r, child(spec, "gateways")) ?? [];
  const exportTo = readStringList(r, child(spec, "exportTo"));
  const http = r.optional(child(spec, "http"), (h) => r.list(h))?.map((h) => readHttpRoute(r, h)) ?? [];
  if (name === undefined || !hosts || hosts.some((h) => h === undefined) || http.some((h) => h === undefined))
    return undefined;
  const vs: AsmVirtualService = {
    ref: r.ref,
    name,
    namespace,
    hosts: hosts as string[],
    gateways,
    http: http as AsmHttpRoute[],
    document: docOf(doc),
  };
  if (exportTo) vs.exportTo = exportTo;
  return vs;
}

function readGateway(r: DocReader, doc: Node): AsmGateway | undefined {
  const { name, namespace } = readMetadata(r, doc);
  const spec = child(doc, "spec");
  if (!r.object(spec)) return undefined;
  istioFields(r, spec, FIELDS.GATEWAY_SPEC, "a Gateway's spec");
  const selectorNode = child(spec, "selector");
  const o = r.object(selectorNode);
  if (o && Object.keys(o).length === 0) r.fail(selectorNode, "must name the labels of the gateway's pods");
  const selector = o ? Object.fromEntries(Object.keys(o).map((k) => [k, r.plainString(child(selectorNode, k))])) : {};
  if (name === undefined || !o || Object.values(selector).some((v) => v === undefined)) return undefined;
  return { ref: r.ref, name, namespace, selector: selector as Labels };
}

const docOf = (doc: Node): Obj => withoutServerFields(doc.v as Obj);

/** A list item without kind takes the kind its list names (a DestinationRuleList holds DestinationRules). */
function listItem(item: Node, list: Obj): Node {
  const kind = listKind(list.kind);
  if (!kind || !isObj(item.v) || item.v.kind !== undefined) return item;
  const typed = (x: unknown) => (isObj(x) ? { apiVersion: list.apiVersion, kind, ...x } : x);
  return { ...item, v: typed(item.v), raw: typed(item.raw) };
}

function readDocument(r: DocReader, doc: Node, out: AsmInput): void {
  if (doc.v === null || doc.v === undefined) return; // empty document (a trailing `---`)
  if (!r.object(doc)) return;
  const { kind, apiVersion } = doc.v as Obj;
  if (isListKind(kind)) {
    for (const item of r.list(child(doc, "items")) ?? [])
      readDocument(
        new DocReader(`${r.ref}.${item.path}`, r.problems, r.warnings),
        listItem({ ...item, path: "" }, doc.v as Obj),
        out,
      );
    return;
  }
  if (kind === "Gateway" && typeof apiVersion === "string" && !apiVersion.startsWith("networking.istio.io/")) {
    r.warnings.push(
      `${r.ref}: ${apiVersion} Gateway ignored (VirtualServices bind to Istio's networking.istio.io Gateways)`,
    );
    return;
  }
  if (kind !== "DestinationRule" && kind !== "VirtualService" && kind !== "Gateway") {
    r.warnings.push(`${r.ref}: kind ${String(kind)} ignored (only DestinationRule and VirtualService are read)`);
    return;
  }
  if (typeof apiVersion !== "string" || !API_VERSION.test(apiVersion)) {
    r.fail("apiVersion", `must be networking.istio.io/v1, v1beta1 or v1alpha3 for a ${kind}`);
    return;
  }
  if (kind === "DestinationRule") {
    const dr = readDestinationRule(r, doc);
    if (dr) out.destinationRules.push(dr);
  } else if (kind === "VirtualService") {
    const vs = readVirtualService(r, doc);
    if (vs) out.virtualServices.push(vs);
  } else {
    const gw = readGateway(r, doc);
    if (gw) out.gateways.push(gw);
  }
}

export function parseAsm(sources: AsmSource[]): AsmInput {
  const out: AsmInput = { destinationRules: [], virtualServices: [], gateways: [], warnings: [] };
  const problems: string[] = [];
  for (const { file, text } of sources) {
    yamlNodes(text).forEach((doc, i) => {
      const ref = `${file}#${i}`;
      if ("errors" in doc) for (const e of doc.errors) problems.push(`${ref}: YAML error: ${e}`);
      else readDocument(new DocReader(ref, problems, out.warnings), doc.node, out);
    });
  }
  if (problems.length > 0) throw new InputError(problems);
  return out;
}

export function readAsmFiles(paths: string[]): AsmInput {
  return parseAsm(paths.map((file) => ({ file, text: readFileSync(file === "-" ? 0 : file, "utf8") })));
}
