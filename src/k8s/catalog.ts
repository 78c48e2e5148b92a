// The catalog-mode plugin configuration's `catalog` (docs/configuration.md), built from the ready endpoints of a
// service.
//
// Exported API:
//
//   subsetName(labels): string       the DestinationRule subset name of a label tuple (deterministic, RFC 1123)
//   buildCatalog(ds, endpoints, routeToken, sessionHeader): Catalog
//   endpointAddress(ip, port): string  "ip:port", "[ip6]:port" (Envoy's host address form)
//
// Subsets: one per label tuple that exists among the endpoints, for every selector without %ip% (an endpoint
// belongs to a selector's tuple only if it carries all of the selector's keys), plus the defaultSubset tuple when
// some endpoint carries it. Tuples equal as sets are one subset. Sorted by name.
// Endpoints (only when a selector uses %ip%): every endpoint with all its labels, sorted by address.
// An empty label value (legal in Kubernetes) never equals a request's value (the filter resolves no empty value),
// so a label with an empty value counts as absent: no tuple holds it and catalog endpoints do not list it.
//
// Names: "ds-" + "<key>-<value>" pairs in key byte order joined by "--": {stage: dev, version: v1} ->
// "ds-stage-dev--version-v1". That form is used only when every key and value is [a-z0-9]+ and the name fits
// in 63 characters, so it reads back to exactly one tuple. Otherwise (upper case, '-', '.', '_', '/', or long),
// the readable part is lower-cased, other characters become '-', it is cut to 54 characters, and "-" + 8 hex
// digits of SHA-256 of the exact tuple are appended: {app.kubernetes.io/version: 1.0} ->
// "ds-app-kubernetes-io-version-1-0-<hash8>". Names stay the same while the tuple exists, whatever else changes.
// Two tuples with one name (a cut name meeting a plain one, or a SHA-256 prefix collision) are an error, never
// resolved silently.

import { createHash } from "node:crypto";
import { isIP } from "node:net";
import {
  IP_KEY,
  type Catalog,
  type CatalogEndpoint,
  type CatalogSubset,
  type DynamicSubset,
  type Labels,
} from "../config/types.js";
import { InputError } from "../input/errors.js";
import type { Endpoint } from "./pods.js";

const PLAIN = /^[a-z0-9]+$/;
const MAX_NAME = 63;

const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The tuple in key byte order: the canonical form for equality, hashing and naming. */
function canonical(labels: Labels): [string, string][] {
  return Object.entries(labels).sort(([a], [b]) => byteOrder(a, b));
}

export function subsetName(labels: Labels): string {
  const pairs = canonical(labels);
  const plain = `ds-${pairs.map(([k, v]) => `${k}-${v}`).join("--")}`;
  if (pairs.every(([k, v]) => PLAIN.test(k) && PLAIN.test(v)) && plain.length <= MAX_NAME) return plain;
  const hash = createHash("sha256").update(JSON.stringify(pairs)).digest("hex").slice(0, 8);
  const readable = plain
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, MAX_NAME - hash.length - 1)
    .replace(/-+$/, "");
  return `${readable}-${hash}`;
}

export function endpointAddress(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Numeric order for IPv4 addresses (192.168.0.6 before 192.168.0.104), byte order otherwise. */
function addressOrder(a: string, b: string): number {
  const key = (s: string) => s.replace(/\d+/g, (d) => d.padStart(5, "0"));
  return byteOrder(key(a), key(b)) || byteOrder(a, b);
}

const carries = (labels: Labels, tuple: Labels) => Object.entries(tuple).every(([k, v]) => labels[k] === v);

function pick(labels: Labels, keys: string[]): Labels | undefined {
  if (!keys.every((k) => labels[k])) return undefined;
  return Object.fromEntries(keys.map((k) => [k, labels[k]]));
}

function subsets(ds: DynamicSubset, endpoints: Endpoint[]): CatalogSubset[] {
  const tuples = new Map<string, Labels>(); // canonical JSON -> tuple
  const add = (t: Labels) => tuples.set(JSON.stringify(canonical(t)), Object.fromEntries(canonical(t)));
  for (const sel of ds.subsetSelectors) {
    if (sel.keys.includes(IP_KEY)) continue;
    for (const ep of endpoints) {
      const t = pick(ep.labels, sel.keys);
      if (t) add(t);
    }
  }
  const def = ds.defaultSubset;
  if (def && !(IP_KEY in def) && endpoints.some((ep) => carries(ep.labels, def))) add(def);
  const named = [...tuples.values()].map((labels) => ({ name: subsetName(labels), labels }));
  const seen = new Map<string, Labels>();
  for (const s of named) {
    const other = seen.get(s.name);
    if (other)
      throw new InputError([
        `subset name ${s.name} would name both ${JSON.stringify(other)} and ${JSON.stringify(s.labels)}; rename a label`,
      ]);
    seen.set(s.name, s.labels);
  }
  return named.sort((a, b) => byteOrder(a.name, b.name));
}

export function buildCatalog(
  ds: DynamicSubset,
  endpoints: Endpoint[],
  routeToken: string,
  sessionHeader: string,
): Catalog {
  const catalog: Catalog = { routeToken, subsets: subsets(ds, endpoints) };
  if (ds.subsetSelectors.some((s) => s.keys.includes(IP_KEY))) {
    const eps: CatalogEndpoint[] = endpoints.map((ep) => ({
      address: endpointAddress(ep.ip, ep.port),
      labels: Object.fromEntries(canonical(ep.labels).filter(([, v]) => v !== "")),
    }));
    catalog.endpoints = eps.sort((a, b) => addressOrder(a.address, b.address));
    catalog.sessionHeader = sessionHeader;
  }
  return catalog;
}
