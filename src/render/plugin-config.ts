// ASM DestinationRule + VirtualService(s) -> plugin configuration `services[]` entries (docs/configuration.md).
// Shared by the envoy and istio targets.
//
// Exported API:
//
//   pluginServices(input: AsmInput, match: (dr) => ServiceMatch, headerPrefix?, allowed?): { services; warnings }
//       One services[] entry per DestinationRule that has a dynamicSubset, in input order. `match` says how the
//       entry names its destination: {cluster: "<name>"} (envoy target) or {host: "<fqdn>"} (istio target).
//       Throws InputError (document + path + problem) on conflicts: two DestinationRules with dynamicSubset
//       for one host, two http routes with one Envoy route name but different mappings, two unnamed routes, a
//       mapped header (or the cookie / baggage header a cookie / baggage mapping reads) inside `headerPrefix`
//       (default x-dynamic-subset-), more than 64 distinct keys per service;
//       and, unless `allowed` has "unused-key", a mapping whose key no selector of the service uses (the filter
//       would only log a warning, and the key the selector needs would never be set: with NO_FALLBACK, 503).
//   serviceHost(dr): string                           the DR's host as a FQDN (short names read in its namespace)
//   routeDestinations(vs, route): string[]            FQDNs of an http route's route[].destination.host
//   envoyRouteName(route, match): string              the Envoy route name Istio gives one match of an http route
//                                                     (name, or name.<match name> for a named match; "" unnamed)
//   envoyRouteNames(route): string[]                  the distinct names of all its matches
//   routeMatches(route): unknown[]                    its match[] entries, or [{}] (one catch-all) when it has none
//   prefixSafeSelectors(selectors): SubsetSelector[]  the selector order the renderers write (see below)
//   type ServiceMatch
//
// Selector order (README "Routing decision"; docs/envoy.md, subset load balancer). Envoy records a selector's own fallback_policy only on the
// trie node that selector creates, so a selector whose sorted keys are a prefix of an earlier selector's keys loses
// its fallback. The renderers write selectors sorted by number of keys, fewest first, *stably*, in the plugin
// configuration and in the cluster's lb_subset_config alike. That order is prefix-safe: a proper prefix has fewer
// keys. It does not change which selector the filter picks (docs/behaviour.md "Routing decision", step 3): an exact key-set match does not depend
// on order (key sets are distinct: the parser rejects duplicates), "most keys" does not depend on order, and the
// tie-break compares only selectors with the same number of keys, whose relative order a stable sort by key count
// keeps. Envoy's own choice does not depend on selector order either (the filter writes exactly one selector's keys
// and the subset trie is looked up by exact key set; allow_redundant_keys is not used), so both files can share it.

import type { AsmDestinationRule, AsmHttpRoute, AsmInput, AsmVirtualService } from "../asm/index.js";
import type { HeaderMapping, RouteConfig, ServiceConfig, SubsetSelector } from "../config/types.js";
import { DEFAULT_HEADER_PREFIX, MAX_KEYS_PER_SERVICE } from "../config/constants.js";
import { type Allowance, Findings } from "../input/errors.js";
import { isObj } from "../input/object.js";
import { fqdn } from "../input/syntax.js";

export type ServiceMatch = { cluster: string } | { host: string };

export function prefixSafeSelectors(selectors: SubsetSelector[]): SubsetSelector[] {
  return selectors
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.keys.length - b.s.keys.length || a.i - b.i)
    .map(({ s }) => s);
}

export function serviceHost(dr: AsmDestinationRule): string {
  return fqdn(dr.host, dr.namespace);
}

export function routeDestinations(vs: AsmVirtualService, route: AsmHttpRoute): string[] {
  const dests = Array.isArray(route.route.route) ? route.route.route : [];
  return dests.flatMap((d) => {
    const host = isObj(d) && isObj(d.destination) ? d.destination.host : undefined;
    return typeof host === "string" ? [fqdn(host, vs.namespace)] : [];
  });
}

/** Istio's TranslateRoute: route name = http[].name, or name + "." + match.name for a named match ("" = unnamed). */
export function envoyRouteName(route: AsmHttpRoute, match: unknown): string {
  const base = route.name ?? "";
  return isObj(match) && typeof match.name === "string" && match.name !== "" ? `${base}.${match.name}` : base;
}

/** The matches of an http route as Envoy routes are made from them: one per match, one catch-all without matches. */
export function routeMatches(route: AsmHttpRoute): unknown[] {
  return Array.isArray(route.route.match) && route.route.match.length > 0 ? route.route.match : [{}];
}

export function envoyRouteNames(route: AsmHttpRoute): string[] {
  return [...new Set(routeMatches(route).map((m) => envoyRouteName(route, m)))];
}

/**
 * A mapping whose value would come from a header inside `headerPrefix`, which the filter strips from every request
 * (and refuses to read): `<field>: <problem>`, else undefined. A cookie or baggage mapping reads the cookie or
 * baggage header, whatever the cookie's or member's own name; a query mapping reads :path, which no prefix (a
 * lower-case token) can cover.
 */
function internalSourceHeader(m: HeaderMapping, headerPrefix: string): string | undefined {
  if (m.header?.toLowerCase().startsWith(headerPrefix))
    return `header: ${m.header} is an internal header of the filter (prefix ${headerPrefix}), which it strips from every request`;
  const source = m.cookie !== undefined ? "cookie" : m.baggage !== undefined ? "baggage" : undefined;
  if (source?.startsWith(headerPrefix))
    return `${source}: reads the ${source} header, which the header prefix ${headerPrefix} makes an internal header of the filter (it strips it from every request); choose another prefix`;
  return undefined;
}

const sameMappings = (a: HeaderMapping[], b: HeaderMapping[]) => JSON.stringify(a) === JSON.stringify(b);

interface RouteSource {
  mappings: HeaderMapping[];
  where: string; // "<ref> spec.http[i]"
}

/** The routes[] of one service: one entry per Envoy route name that targets it and maps headers. */
function serviceRoutes(
  dr: AsmDestinationRule & { dynamicSubset: { subsetSelectors: SubsetSelector[] } },
  virtualServices: AsmVirtualService[],
  headerPrefix: string,
  findings: Findings,
): RouteConfig[] {
  const host = serviceHost(dr);
  const problems = findings.problems;
  const selectorKeys = new Set(dr.dynamicSubset.subsetSelectors.flatMap((s) => s.keys));
  const byName = new Map<string, RouteSource>();
  const unmapped = new Set<string>(); // named routes to this host without mappings
  for (const vs of virtualServices) {
    vs.http.forEach((route, i) => {
      if (!routeDestinations(vs, route).includes(host)) return;
      const where = `${vs.ref} spec.http[${i}]`;
      route.headerToDynamicSubsetKey.forEach((m, j) => {
        const internal = internalSourceHeader(m, headerPrefix);
        if (internal) problems.push(`${where}.headerToDynamicSubsetKey[${j}].${internal}`);
        if (!selectorKeys.has(m.key)) {
          findings.refuse(
            "unused-key",
            `${where}.headerToDynamicSubsetKey[${j}].key: "${m.key}" is used by no subset selector of ${host} (they use ${[...selectorKeys].join(", ")}); the filter would ignore this mapping`,
          );
        }
      });
      for (const name of envoyRouteNames(route)) {
        if (route.headerToDynamicSubsetKey.length === 0) {
          if (name !== "") unmapped.add(name);
          continue;
        }
        const seen = byName.get(name);
        if (seen && !sameMappings(seen.mappings, route.headerToDynamicSubsetKey)) {
          problems.push(
            name === ""
              ? `${where}: a second http route without a name maps headers for ${host} (first: ${seen.where}); name the routes`
              : `${where}.name: Envoy route name "${name}" is also used by ${seen.where} with different headerToDynamicSubsetKey`,
          );
        }
        if (!seen) byName.set(name, { mappings: route.headerToDynamicSubsetKey, where });
      }
    });
  }
  const routes: RouteConfig[] = [...byName].map(([name, { mappings }]) =>
    name === "" ? { headerToDynamicSubsetKey: mappings } : { name, headerToDynamicSubsetKey: mappings },
  );
  // An unnamed entry applies to every route without its own entry (docs/configuration.md). Routes to this host that map no
  // headers get an explicit empty entry so that they keep the ASM meaning "no mapping".
  if (byName.has("")) {
    for (const name of unmapped) if (!byName.has(name)) routes.push({ name, headerToDynamicSubsetKey: [] });
  }
  return routes;
}

export function pluginServices(
  input: AsmInput,
  match: (dr: AsmDestinationRule) => ServiceMatch,
  headerPrefix = DEFAULT_HEADER_PREFIX,
  allowed?: ReadonlySet<Allowance>,
): { services: ServiceConfig[]; warnings: string[] } {
  const findings = new Findings(allowed);
  const { problems, warnings } = findings;
  const services: ServiceConfig[] = [];
  const seenHost = new Map<string, string>();
  for (const dr of input.destinationRules) {
    if (!dr.dynamicSubset) continue;
    const host = serviceHost(dr);
    const first = seenHost.get(host);
    if (first) {
      problems.push(
        `${dr.ref} spec.host: a DestinationRule with dynamicSubset for ${host} is already given in ${first}`,
      );
      continue;
    }
    seenHost.set(host, dr.ref);
    const { subsetSelectors, ...rest } = dr.dynamicSubset;
    const service: ServiceConfig = {
      ...match(dr),
      dynamicSubset: { subsetSelectors: prefixSafeSelectors(subsetSelectors), ...rest },
    };
    const routes = serviceRoutes(
      { ...dr, dynamicSubset: dr.dynamicSubset },
      input.virtualServices,
      headerPrefix,
      findings,
    );
    if (routes.length > 0) service.routes = routes;
    const keys = new Set([
      ...subsetSelectors.flatMap((sel) => sel.keys),
      ...routes.flatMap((r) => r.headerToDynamicSubsetKey.map((m) => m.key)),
    ]);
    if (keys.size > MAX_KEYS_PER_SERVICE)
      problems.push(
        `${dr.ref} spec.host: ${host} uses ${keys.size} distinct keys; the filter allows at most ${MAX_KEYS_PER_SERVICE} per service`,
      );
    services.push(service);
  }
  for (const vs of input.virtualServices) {
    vs.http.forEach((route, i) => {
      if (route.headerToDynamicSubsetKey.length > 0 && !routeDestinations(vs, route).some((h) => seenHost.has(h))) {
        warnings.push(
          `${vs.ref} spec.http[${i}].headerToDynamicSubsetKey: no destination of this route has a DestinationRule with dynamicSubset; ignored`,
        );
      }
    });
  }
  findings.check();
  return { services, warnings };
}
