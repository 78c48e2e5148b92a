// The endpoints file of the envoy target: which addresses stand behind each service host, with their labels.
//
//   # endpoints.yaml: a list, one item per service
//   - host: helloworld.default.svc.cluster.local   # as a DestinationRule spec.host / destination.host names it
//     port: 8000                                   # default port of the endpoints below
//     endpoints:
//     - {address: 192.168.0.5, labels: {stage: dev, version: v1}}
//     - {address: 192.168.0.6, port: 8080, labels: {stage: prod, version: v3}}
//
// Exported API:
//   parseEndpoints({file, text}): { services: EndpointService[]; warnings: string[] }
//   readEndpointsFile(path): same, read from disk.
//   Errors throw InputError with lines `<file>#<doc> <path>: <problem>`.
//
// Label values follow the same rule as the ASM input: strings; an unquoted YAML number/boolean is read back as
// written, with a warning. `%ip%` is not a label: the renderer adds it from the address.

import { readFileSync } from "node:fs";
import type { Labels } from "../config/types.js";
import { IP_KEY } from "../config/types.js";
import { InputError } from "../input/errors.js";
import { child, DocReader, LABEL_KEY_RULE, type Node, yamlNodes } from "../input/reader.js";
import { isIpLiteral, isLabelKey } from "../input/syntax.js";

export interface Endpoint {
  address: string; // IP literal
  port: number;
  labels: Labels;
}

export interface EndpointService {
  host: string;
  endpoints: Endpoint[];
}

function readPort(r: DocReader, n: Node): number | undefined {
  return Number.isInteger(n.v) && (n.v as number) >= 1 && (n.v as number) <= 65535
    ? (n.v as number)
    : r.fail(n, "must be a port number (1-65535)");
}

function readLabels(r: DocReader, n: Node): Labels | undefined {
  const o = r.object(n);
  if (!o) return undefined;
  const labels: Labels = {};
  for (const k of Object.keys(o)) {
    if (k === IP_KEY) r.fail(child(n, k), `${IP_KEY} is not a label: the renderer derives it from the address`);
    else if (!isLabelKey(k)) r.fail(child(n, k), `"${k}" is not a valid label key (${LABEL_KEY_RULE})`);
    const value = r.valueFor(k, child(n, k));
    if (value !== undefined) labels[k] = value;
  }
  return labels;
}

function readEndpoint(r: DocReader, n: Node, defaultPort: number | undefined): Endpoint | undefined {
  if (!r.object(n, ["address", "port", "labels"])) return undefined;
  const addrNode = child(n, "address");
  const address = r.plainString(addrNode);
  if (address !== undefined && !isIpLiteral(address))
    r.fail(addrNode, `must be an IPv4 or IPv6 literal, got "${address}"`);
  const port = r.optional(child(n, "port"), (p) => readPort(r, p)) ?? defaultPort;
  if (port === undefined && child(n, "port").v === undefined)
    r.fail(child(n, "port"), "is required (or give a port for the whole service)");
  const labels = r.optional(child(n, "labels"), (l) => readLabels(r, l)) ?? {};
  if (address === undefined || !isIpLiteral(address) || port === undefined) return undefined;
  return { address, port, labels };
}

function readService(r: DocReader, n: Node): EndpointService | undefined {
  if (!r.object(n, ["host", "port", "endpoints"])) return undefined;
  const host = r.plainString(child(n, "host"));
  const port = r.optional(child(n, "port"), (p) => readPort(r, p));
  const endpoints = r.list(child(n, "endpoints"))?.map((e) => readEndpoint(r, e, port));
  if (host === undefined || !endpoints || endpoints.some((e) => e === undefined)) return undefined;
  return { host, endpoints: endpoints as Endpoint[] };
}

export function parseEndpoints({ file, text }: { file: string; text: string }): {
  services: EndpointService[];
  warnings: string[];
} {
  const problems: string[] = [];
  const warnings: string[] = [];
  const services: EndpointService[] = [];
  yamlNodes(text).forEach((doc, i) => {
    const r = new DocReader(`${file}#${i}`, problems, warnings);
    if ("errors" in doc) {
      for (const e of doc.errors) problems.push(`${r.ref}: YAML error: ${e}`);
      return;
    }
    if (doc.node.v === null) return;
    for (const item of r.list(doc.node) ?? []) {
      const s = readService(r, item);
      if (s && services.some((t) => t.host === s.host)) r.fail(child(item, "host"), `${s.host} is listed twice`);
      else if (s) services.push(s);
    }
  });
  if (problems.length > 0) throw new InputError(problems);
  return { services, warnings };
}

export function readEndpointsFile(path: string): { services: EndpointService[]; warnings: string[] } {
  return parseEndpoints({ file: path, text: readFileSync(path, "utf8") });
}
