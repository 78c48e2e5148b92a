// Target istio: the user's DestinationRule and VirtualService, rewritten for upstream Istio (README "Istio").
//
//   destinations(vs, route)                       the route's route[].destination entries (hosts as FQDNs)
//   renderDestinationRule(dr, config, warnings)   dynamicSubset removed, lbPolicy -> loadBalancer.simple, one
//                                                 subset per catalog subset
//   renderVirtualService(vs, services, extra)     headerToDynamicSubsetKey removed; per user route: the route without
//                                                 the subset header, its generated subset routes, the route again
//   SUBSET_HEADER, SESSION_HEADER                 the filter's internal headers in catalog mode

import type { AsmDestinationRule, AsmHttpRoute, AsmVirtualService } from "../asm/index.js";
import { DEFAULT_HEADER_PREFIX, IP_KEY, SESSION_HEADER_SUFFIX, SUBSET_HEADER_SUFFIX } from "../config/constants.js";
import type { ServiceConfig } from "../config/types.js";
import { InputError } from "../input/errors.js";
import { clone, isObj, type Obj } from "../input/object.js";
import { fqdn } from "../input/syntax.js";

export const SUBSET_HEADER = DEFAULT_HEADER_PREFIX + SUBSET_HEADER_SUFFIX;
export const SESSION_HEADER = DEFAULT_HEADER_PREFIX + SESSION_HEADER_SUFFIX;

/** A service with dynamic subsets, as the istio target renders it. */
export interface CatalogService {
  dr: AsmDestinationRule;
  host: string; // FQDN
  config: ServiceConfig; // with catalog
}

export const usesIp = (s: CatalogService): boolean =>
  s.config.dynamicSubset.subsetSelectors.some((sel) => sel.keys.includes(IP_KEY));

// ---- DestinationRule --------------------------------------------------------------------------------------------

export function renderDestinationRule(s: CatalogService, warnings: string[]): Obj {
  const doc = clone(s.dr.document);
  const spec = doc.spec as Obj;
  const tp = spec.trafficPolicy as Obj;
  const { dynamicSubset: _asmOnly, ...lb } = tp.loadBalancer as Obj;
  const lbPolicy = s.config.dynamicSubset.lbPolicy;
  if (lbPolicy) {
    if (lb.simple !== undefined || lb.consistentHash !== undefined)
      warnings.push(
        `${s.dr.ref}: dynamicSubset.lbPolicy ${lbPolicy} replaces trafficPolicy.loadBalancer.simple/consistentHash`,
      );
    delete lb.consistentHash;
    lb.simple = lbPolicy;
  }
  if (Object.keys(lb).length > 0) tp.loadBalancer = lb;
  else delete tp.loadBalancer;
  if (Object.keys(tp).length === 0) delete spec.trafficPolicy;
  const own = Array.isArray(spec.subsets) ? (spec.subsets as Obj[]) : [];
  const generated = (s.config.catalog?.subsets ?? []).map((c) => ({ name: c.name, labels: c.labels }));
  const taken = generated.filter((g) => own.some((o) => o.name === g.name));
  if (taken.length > 0)
    throw new InputError(
      taken.map(
        (g) => `${s.dr.ref} spec.subsets: a subset is already named ${g.name}; rename it (names ds-* are generated)`,
      ),
    );
  if (own.length + generated.length > 0) spec.subsets = [...own, ...generated];
  return doc;
}

// ---- VirtualService ---------------------------------------------------------------------------------------------

export interface Destination {
  index: number; // in route.route[]
  host: string; // FQDN
  port?: number;
  subset?: string;
}

export function destinations(vs: AsmVirtualService, route: AsmHttpRoute): Destination[] {
  const list = Array.isArray(route.route.route) ? route.route.route : [];
  return list.flatMap((rd, index) => {
    const d = isObj(rd) && isObj(rd.destination) ? rd.destination : undefined;
    if (!d || typeof d.host !== "string") return [];
    const port = isObj(d.port) && typeof d.port.number === "number" ? d.port.number : undefined;
    return [
      { index, host: fqdn(d.host, vs.namespace), port, subset: typeof d.subset === "string" ? d.subset : undefined },
    ];
  });
}

/** Does any route of `vs` go to one of `hosts`? */
export const routesTo = (vs: AsmVirtualService, hosts: Set<string>): boolean =>
  vs.http.some((r) => destinations(vs, r).some((d) => hosts.has(d.host)));

/** The filter's headers for these services. They are for this proxy only: the router removes them before the
 * request leaves (route-level headers.request.remove acts after route matching), so the route token never
 * reaches an application. */
function internalHeaders(services: CatalogService[]): string[] {
  return [SUBSET_HEADER, ...(services.some(usesIp) ? [SESSION_HEADER] : [])];
}

/** Adds header names to an Istio route's (or destination's) headers.request.remove, keeping the user's. */
function withRemovedHeaders(target: Obj, names: string[]): Obj {
  const headers = isObj(target.headers) ? clone(target.headers) : {};
  const request = isObj(headers.request) ? headers.request : {};
  const remove = Array.isArray(request.remove) ? (request.remove as unknown[]) : [];
  request.remove = [...remove, ...names.filter((n) => !remove.includes(n))];
  headers.request = request;
  return { ...target, headers };
}

/**
 * The subset routes of one user route: one per catalog subset, each with the user's match conditions (every
 * `match` entry, so the same OR of ANDs) plus the exact subset-header value, and the user's other route settings
 * (timeouts, retries, rewrites, header edits, ...), sending everything to that subset on the user's destination
 * port. After the filter has written the header and cleared the route cache, Envoy re-matches top down: the first
 * generated route whose user conditions hold belongs to the user route Envoy chose the first time, because the
 * generated routes keep the user routes' order and the filter changes only its own internal headers.
 * Weighted or multi-destination user routes: the generated route sends 100% to the subset (a subset request has
 * already chosen its endpoints); routes that already name a subset, redirects and delegates get none.
 */
function generatedRoutes(vs: AsmVirtualService, route: AsmHttpRoute, index: number, s: CatalogService): Obj[] {
  const dest = destinations(vs, route).find((d) => d.host === s.host && d.subset === undefined);
  const catalog = s.config.catalog;
  if (!dest || !catalog) return [];
  const routeDest = (route.route.route as Obj[])[dest.index];
  const matches =
    Array.isArray(route.route.match) && route.route.match.length > 0 ? (route.route.match as Obj[]) : [{}];
  const base = route.name ?? `http-${index}`;
  return catalog.subsets.map((subset) => {
    const value = `${subset.name}.${catalog.routeToken}`;
    const match = matches.map((m) => ({
      ...clone(m),
      headers: { ...(isObj(m.headers) ? clone(m.headers) : {}), [SUBSET_HEADER]: { exact: value } },
    }));
    const { weight: _weight, ...destEntry } = clone(routeDest);
    const destination = { ...(destEntry.destination as Obj), subset: subset.name };
    const { name: _name, match: _match, route: _route, ...settings } = clone(route.route);
    const generated = { name: `${base}.${subset.name}`, match, ...settings, route: [{ ...destEntry, destination }] };
    return withRemovedHeaders(generated, internalHeaders([s]));
  });
}

/** The user's route for requests without the subset header: every match entry (or one, if it has none) also asks
 * that the header be absent, which Istio renders as an inverted present_match (route.go TranslateRouteMatch). */
function withoutSubsetHeader(route: Obj): Obj {
  const matches = Array.isArray(route.match) && route.match.length > 0 ? (route.match as Obj[]) : [{}];
  const match = matches.map((m) => ({
    ...m,
    withoutHeaders: { ...(isObj(m.withoutHeaders) ? m.withoutHeaders : {}), [SUBSET_HEADER]: {} },
  }));
  const { name, match: _match, ...settings } = route;
  return { ...(name === undefined ? {} : { name }), match, ...settings };
}

/** Routes the caller adds after a user route's generated subset routes (the strict %ip% pin route), given the user
 * route as rendered (internal headers removed) and its index in http[]. */
export type ExtraRoutes = (own: Obj, index: number) => Obj[];

/**
 * The user's routes, each to a dynamic-subset service as a group (docs/istio.md "VirtualService route order"):
 *   1. the user's route, matching only requests without the subset header: every normal request, which Envoy thus
 *      matches at the first route of its group instead of after every generated route;
 *   2. its generated subset routes, then `extra` (the pin route): what the filter's subset header selects when Envoy
 *      matches the routes again;
 *   3. the user's route again, unchanged and with the same name: a request that arrives with a subset header no
 *      generated route matches (wrong token, unknown subset) still reaches the filter on `<route>` and is decided.
 * Groups keep the user routes' order, and every route of a group carries the user route's conditions, so a request
 * stays in the group of the user route it first matched: the filter changes only its own internal headers.
 */
export function renderVirtualService(vs: AsmVirtualService, services: CatalogService[], extra: ExtraRoutes): Obj {
  const doc = clone(vs.document);
  (doc.spec as Obj).http = vs.http.flatMap((route, i) => {
    const targets = services.filter((s) => destinations(vs, route).some((d) => d.host === s.host));
    if (targets.length === 0) return [clone(route.route)];
    const own = withRemovedHeaders(clone(route.route), internalHeaders(targets));
    const generated = [...targets.flatMap((s) => generatedRoutes(vs, route, i, s)), ...extra(own, i)];
    return generated.length === 0 ? [own] : [withoutSubsetHeader(own), ...generated, own];
  });
  return doc;
}
