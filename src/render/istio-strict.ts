// Target `istio`, the parts that make the filter's NO_FALLBACK hold against Istio's defaults (docs/istio.md "Strict
// %ip% pins" and "Fetch failure and failStrategy"). Pure functions over the resources istio.ts renders; istio.ts calls
// them in a few places.
//
//   isStrictPinService(service)                  a %ip% selector falls back with NO_FALLBACK (its own policy, else
//                                                the service's, else NO_FALLBACK)
//   pinRoute(route, index, pinned, fqdn)         -> { http, names }: the generated pin route of a user route to a
//                                                pinned service (renderVirtualService puts it after the route's
//                                                subset routes), and its Envoy names
//   pinEnvoyFilter(namespace, selector, pinRoutes) -> the EnvoyFilter that makes those routes' sessions strict
//   FAIL_STRATEGIES, DEFAULT_FAIL_STRATEGY, failStrategyComment(strategy)
//
// Why pin routes. Istio gives a Service labelled istio.io/persistent-session-header a stateful session on every
// route to it, never `strict` (pilot/pkg/networking/util/util.go MaybeBuildStatefulSessionFilterConfig), and its
// default retry policy (pilot/pkg/networking/core/route/retry/retry.go) retries on another host: Envoy's router does
// not apply the session's host to a retry (source/common/router/router.h, overrideHostToSelect). A pinned pod that
// is gone, unhealthy, ejected or refusing connections thus silently gets another pod. A pin under NO_FALLBACK must
// not. For such a pin the filter also writes the subset header `%ip%.<routeToken>`, which selects the pin route of the
// user's route: the same match conditions and destination, `retries: {attempts: 0}` (Istio then writes no retry
// policy), and, by the EnvoyFilter, a stateful session with `strict: true`: no usable pinned host = 503
// (source/extensions/filters/http/stateful_session/stateful_session.cc, HostUtility::allowLBChooseHost). Without the
// EnvoyFilter the pin routes still stop the retries; without both, pins are best effort as before.

import { DEFAULT_HEADER_PREFIX, IP_KEY, PIN_ROUTE_SEGMENT, SUBSET_HEADER_SUFFIX } from "../config/constants.js";
import type { FallbackPolicy, Labels, ServiceConfig } from "../config/types.js";

import { clone, isObj, type Obj } from "../input/object.js";

const SUBSET_HEADER = DEFAULT_HEADER_PREFIX + SUBSET_HEADER_SUFFIX;
const SESSION_FILTER = "envoy.filters.http.stateful_session";
const type = (name: string) => `type.googleapis.com/${name}`;

/** A service whose %ip% pins are strict, as the renderer knows it. */
export interface PinnedService {
  host: string; // FQDN
  config: ServiceConfig; // with catalog (route token, session header)
}

/** One generated pin route as Envoy names it, in the virtual host of its destination. */
export interface PinRoute {
  virtualHost: string; // "<host>:<port>", istiod's name for a sidecar's outbound virtual host
  route: string; // "<route>.%ip%" or "<route>.%ip%.<match name>"
  sessionHeader: string;
}

export function isStrictPinService(service: ServiceConfig): boolean {
  const { subsetSelectors, fallbackPolicy } = service.dynamicSubset;
  const global: FallbackPolicy = fallbackPolicy ?? "NO_FALLBACK";
  return subsetSelectors.some((s) => s.keys.includes(IP_KEY) && (s.fallbackPolicy ?? global) === "NO_FALLBACK");
}

interface Destination {
  index: number;
  entry: Obj; // the route[] entry
  host: string;
}

/** The route[] entry of an http route that goes to `host` without naming a subset. */
function destinationTo(http: Obj, pinned: PinnedService[], fqdn: (host: string) => string): Destination | undefined {
  const list = Array.isArray(http.route) ? http.route : [];
  for (let index = 0; index < list.length; index++) {
    const entry = list[index];
    const d = isObj(entry) && isObj(entry.destination) ? entry.destination : undefined;
    if (!d || typeof d.host !== "string" || d.subset !== undefined) continue;
    const host = fqdn(d.host);
    if (pinned.some((p) => p.host === host)) return { index, entry, host };
  }
  return undefined;
}

/**
 * The pin route of one user route (as rendered, internal headers removed; `index` in http[]) to a pinned service, or
 * undefined; renderVirtualService puts it after the route's generated subset routes. `fqdn` turns a destination host
 * into the service's FQDN in the VirtualService's namespace. Also returns the Envoy names of the pin route.
 */
export function pinRoute(
  route: Obj,
  index: number,
  pinned: PinnedService[],
  fqdn: (host: string) => string,
): { http: Obj; names: PinRoute[] } | undefined {
  const destination = destinationTo(route, pinned, fqdn);
  if (!destination) return undefined;
  const service = pinned.find((p) => p.host === destination.host) as PinnedService;
  const catalog = service.config.catalog;
  if (!catalog?.sessionHeader) return undefined;
  const value = `${PIN_ROUTE_SEGMENT}.${catalog.routeToken}`;
  const matches = Array.isArray(route.match) && route.match.length > 0 ? (route.match as Obj[]) : [{}];
  const match: Obj[] = matches.map((m) => ({
    ...clone(m),
    headers: { ...(isObj(m.headers) ? clone(m.headers) : {}), [SUBSET_HEADER]: { exact: value } },
  }));
  const { name: _name, match: _match, route: _route, retries: _retries, ...settings } = clone(route);
  const { weight: _weight, ...entry } = clone(destination.entry);
  const name = `${typeof route.name === "string" ? route.name : `http-${index}`}.${PIN_ROUTE_SEGMENT}`;
  const port = isObj(entry.destination) && isObj(entry.destination.port) ? entry.destination.port.number : undefined;
  const names = match.map((m) => ({
    virtualHost: `${destination.host}:${port}`,
    route: typeof m.name === "string" && m.name !== "" ? `${name}.${m.name}` : name,
    sessionHeader: catalog.sessionHeader as string,
  }));
  return { http: { name, match, ...settings, route: [entry], retries: { attempts: 0 } }, names };
}

/** An HTTP_ROUTE patch giving one pin route a strict header-based stateful session (istiod merges it by name). */
function strictSessionPatch(pin: PinRoute): Obj {
  return {
    applyTo: "HTTP_ROUTE",
    match: {
      context: "SIDECAR_OUTBOUND",
      routeConfiguration: { vhost: { name: pin.virtualHost, route: { name: pin.route } } },
    },
    patch: {
      operation: "MERGE",
      value: {
        typed_per_filter_config: {
          [SESSION_FILTER]: {
            "@type": type("envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute"),
            stateful_session: {
              session_state: {
                name: "envoy.http.stateful_session.header",
                typed_config: {
                  "@type": type("envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState"),
                  name: pin.sessionHeader,
                },
              },
              strict: true,
            },
          },
        },
      },
    },
  };
}

/**
 * The EnvoyFilter for the pin routes, beside a WasmPlugin of sidecars: the same namespace and workloads, named after
 * it so that renders for other services never overwrite it; undefined: no pin routes.
 */
export function pinEnvoyFilter(
  plugin: { name: string; namespace: string },
  selector: Labels | undefined,
  pinRoutes: PinRoute[],
): Obj | undefined {
  if (pinRoutes.length === 0) return undefined;
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: { name: `${plugin.name}-strict-pins`, namespace: plugin.namespace },
    spec: {
      ...(selector ? { workloadSelector: { labels: selector } } : {}),
      configPatches: pinRoutes.map(strictSessionPatch),
    },
  };
}

export const PIN_ENVOY_FILTER_COMMENT =
  " Strict %ip% pins under NO_FALLBACK: the pin routes (<route>.%ip%, no retries) get a stateful session with\n" +
  " strict: true, which Istio never sets. A pinned pod that is gone, unhealthy or ejected then gets 503 instead of\n" +
  " another pod. Delete this EnvoyFilter to make pins best effort again (the pin routes still do not retry).";

// ---- failStrategy -----------------------------------------------------------------------------------------------

export const FAIL_STRATEGIES = ["FAIL_CLOSE", "FAIL_OPEN"] as const;
export type FailStrategy = (typeof FAIL_STRATEGIES)[number];
export const DEFAULT_FAIL_STRATEGY: FailStrategy = "FAIL_CLOSE";

export const isFailStrategy = (s: string): s is FailStrategy => (FAIL_STRATEGIES as readonly string[]).includes(s);

/** The comment above the WasmPlugin's failStrategy: what it does to every destination on the matched ports. */
export function failStrategyComment(strategy: FailStrategy): string {
  return strategy === "FAIL_CLOSE"
    ? " FAIL_CLOSE on purpose (the default; --fail-strategy FAIL_OPEN for the other): no request is routed without\n" +
        " the filter. It applies to every destination on the ports below, not only this service: if istio-agent cannot\n" +
        " fetch the module, every request there gets 403 (its deny-all RBAC filter); if the VM fails, 503. FAIL_OPEN\n" +
        " keeps those up, but this service's requests then go to any pod (no subsets, no NO_FALLBACK) and a client\n" +
        " that knows the route token picks the subset. Limit who is affected with --selector."
    : " FAIL_OPEN (--fail-strategy FAIL_OPEN; FAIL_CLOSE is the default): if istio-agent cannot fetch the module or\n" +
        " the VM fails, requests on the ports below pass without the filter: the other services keep working, but\n" +
        " this service's requests go to any pod (no subsets, no NO_FALLBACK) and a client that knows the route token\n" +
        " picks the subset. FAIL_CLOSE answers 403 (fetch) or 503 (VM) instead, for every destination on these ports.";
}
