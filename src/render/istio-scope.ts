// Target istio: which proxies load the filter. One WasmPlugin per client scope, each holding every service of the
// render (README "Istio", "Who loads the filter").
//
// A request is steered to a subset only by a proxy that both routes it with the rendered VirtualService and runs
// the filter: without the filter the generated routes never match (they need the secret route token) and the
// request takes the user's plain route to any pod. The proxies that route with a VirtualService are its
// bindings: `mesh` (every sidecar the VirtualService is exported to) unless spec.gateways (or a match's gateways)
// names gateways. So the renderer writes:
//   - sidecars: one WasmPlugin per client namespace, no selector (every workload there) unless --selector;
//     match CLIENT on the services' ports. Client namespaces: --client-namespace, else those of the services, their
//     DestinationRules and the VirtualServices bound to the mesh. --mesh-wide instead puts one WasmPlugin in the
//     mesh's root namespace (--root-namespace, default istio-system), which every sidecar loads. A client namespace
//     that is the root namespace is refused without --mesh-wide: a WasmPlugin there is mesh-wide.
//   - gateways: one WasmPlugin per Istio Gateway a route is bound to, in the Gateway's namespace, selecting its
//     pods by the Gateway's spec.selector (the gateway's pods are taken to run in its namespace, Istio's
//     recommended layout), match CLIENT without ports (a gateway's listener ports are its pods' target ports,
//     which the Gateway resource does not give). The Gateway resource must be in the input.
//   - a note when the VirtualService is exported to namespaces no scope covers (their clients get no subsets),
//     a refusal when a client scope cannot see the DestinationRule (spec.exportTo): its subset routes would 503.
// Names: dynamic-subset-<service names>-<8 hex digits of SHA-256 of the hosts> (gateways add the Gateway's name),
// so renders for different services never overwrite each other. Two renders must not share a proxy and port:
// each filter strips the other's internal headers. Render every service a client calls in one render.

import { createHash } from "node:crypto";
import type { AsmInput, AsmVirtualService } from "../asm/index.js";
import type { Labels } from "../config/types.js";
import type { Findings } from "../input/errors.js";
import { isObj } from "../input/object.js";
import { type CatalogService, destinations } from "./istio-routes.js";

export const DEFAULT_ROOT_NAMESPACE = "istio-system";

export interface ScopeOptions {
  clientNamespaces?: string[];
  meshWide?: boolean;
  rootNamespace?: string;
  selector?: Labels; // sidecar scopes only
}

export interface ClientScope {
  name: string; // the WasmPlugin's metadata.name
  namespace: string;
  selector?: Labels;
  gateway: boolean; // a gateway's pods: match without ports
  who: string; // for the comment above the WasmPlugin
}

const MAX_NAME = 63;

/** dynamic-subset-<readable>-<hash>, at most 63 characters of [a-z0-9-]. */
function pluginName(readable: string[], identity: string): string {
  const hash = createHash("sha256").update(identity).digest("hex").slice(0, 8);
  const head = `dynamic-subset-${readable.join("-")}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, MAX_NAME - hash.length - 1)
    .replace(/-+$/, "");
  return `${head}-${hash}`;
}

/** `mesh`, or gateway references `<namespace>/<name>`, that route requests of `vs` to the services. */
function bindings(vs: AsmVirtualService, hosts: Set<string>): string[] {
  const namespace = vs.namespace ?? "default";
  const qualify = (g: string) => (g === "mesh" || g.includes("/") ? g : `${namespace}/${g}`);
  return [
    ...new Set(
      vs.http.flatMap((route) => {
        if (!destinations(vs, route).some((d) => hosts.has(d.host))) return [];
        const matches = Array.isArray(route.route.match) && route.route.match.length > 0 ? route.route.match : [{}];
        return matches.flatMap((m) => {
          const own = isObj(m) && Array.isArray(m.gateways) ? (m.gateways as string[]) : undefined;
          const list = own ?? (vs.gateways.length > 0 ? vs.gateways : ["mesh"]);
          return list.map(qualify);
        });
      }),
    ),
  ];
}

/** The namespaces a resource is exported to ("*" = all), from spec.exportTo. */
function exportedTo(exportTo: string[] | undefined, namespace: string): Set<string> {
  return new Set((exportTo ?? ["*"]).map((e) => (e === "." ? namespace : e)));
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

const labelList = (labels: Labels) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

/** What every scope of one render shares. */
interface Render {
  input: AsmInput;
  services: CatalogService[];
  options: ScopeOptions;
  root: string;
  names: string[]; // the services' short names
  identity: string; // the services' hosts, sorted
  findings: Findings;
  notes: string[];
}

/** One WasmPlugin for the mesh's root namespace, or one per client namespace; a NOTE for clients left out. */
function sidecarScopes(r: Render, meshBound: AsmVirtualService[]): ClientScope[] {
  const { options, root } = r;
  const name = pluginName(r.names, r.identity);
  if (options.meshWide)
    return [
      {
        name,
        namespace: root,
        selector: options.selector,
        gateway: false,
        who: `every sidecar of the mesh (root namespace ${root})`,
      },
    ];
  if (meshBound.length === 0 && !options.clientNamespaces) return [];
  const namespaces = sorted(
    options.clientNamespaces ?? [
      ...r.services.map((s) => s.host.split(".")[1]),
      ...r.services.map((s) => s.dr.namespace ?? "default"),
      ...meshBound.map((vs) => vs.namespace ?? "default"),
    ],
  );
  for (const vs of meshBound) {
    const visible = exportedTo(vs.exportTo, vs.namespace ?? "default");
    const left = visible.has("*")
      ? `namespaces other than ${namespaces.join(", ")}`
      : [...visible].filter((ns) => !namespaces.includes(ns)).join(", ");
    if (left)
      r.notes.push(
        `${vs.ref}: sidecars in ${left} route with this VirtualService but do not load the filter: their requests take your plain routes, without dynamic subsets (add --client-namespace NS, or --mesh-wide)`,
      );
  }
  if (namespaces.includes(root))
    r.findings.problems.push(
      `client namespace ${root} is the mesh's root namespace: a WasmPlugin there applies to every workload of the mesh; give --mesh-wide if that is meant, else --client-namespace for the clients' namespaces (--root-namespace if your mesh's root namespace is not ${root})`,
    );
  return namespaces
    .filter((ns) => ns !== root)
    .map((namespace) => ({
      name,
      namespace,
      selector: options.selector,
      gateway: false,
      who: options.selector
        ? `workloads labelled ${labelList(options.selector)} in namespace ${namespace}`
        : `every sidecar in namespace ${namespace}`,
    }));
}

/** One WasmPlugin per Gateway the routes are bound to, on the Gateway's pods. */
function gatewayScopes(r: Render, routed: { vs: AsmVirtualService; bound: string[] }[]): ClientScope[] {
  return sorted(routed.flatMap((x) => x.bound.filter((b) => b !== "mesh"))).flatMap((ref): ClientScope[] => {
    const [namespace, name] = ref.split("/");
    const gw = r.input.gateways.find((g) => g.name === name && (g.namespace ?? "default") === namespace);
    if (gw)
      return [
        {
          name: pluginName([...r.names, name], `${r.identity}@${ref}`),
          namespace,
          selector: gw.selector,
          gateway: true,
          who: `the pods of gateway ${ref} (labelled ${labelList(gw.selector)})`,
        },
      ];
    const vs = routed.find((x) => x.bound.includes(ref))?.vs as AsmVirtualService;
    r.findings.problems.push(
      `${vs.ref} spec.gateways: routes to ${r.identity} run on gateway ${ref}; give its Gateway resource with -f so that a WasmPlugin is placed on the gateway's pods`,
    );
    return [];
  });
}

/** A scope that routes to subsets its DestinationRule is not exported to would get 503s. */
function exportProblems(r: Render, scopes: ClientScope[]): string[] {
  return r.services.flatMap((s) => {
    const visible = exportedTo(s.dr.exportTo, s.dr.namespace ?? "default");
    const sees = (scope: ClientScope) =>
      visible.has("*") || (!(r.options.meshWide && !scope.gateway) && visible.has(scope.namespace));
    return scopes
      .filter((scope) => !sees(scope))
      .map(
        (scope) =>
          `${s.dr.ref} spec.exportTo: ${scope.who} would route to the subsets of ${s.host}, but the DestinationRule is not exported to namespace ${scope.namespace}: those requests would fail (503)`,
      );
  });
}

export function clientScopes(
  input: AsmInput,
  services: CatalogService[],
  options: ScopeOptions,
  findings: Findings,
  notes: string[],
): ClientScope[] {
  const hosts = new Set(services.map((s) => s.host));
  const r: Render = {
    input,
    services,
    options,
    root: options.rootNamespace ?? DEFAULT_ROOT_NAMESPACE,
    names: services.map((s) => s.host.split(".")[0]),
    identity: sorted(hosts).join(","),
    findings,
    notes,
  };
  const routed = input.virtualServices.map((vs) => ({ vs, bound: bindings(vs, hosts) }));
  if (routed.every((x) => x.bound.length === 0)) {
    findings.problems.push(
      `no VirtualService in the input routes to ${r.identity}: the filter would have no route to steer (give the VirtualService with headerToDynamicSubsetKey with -f)`,
    );
    return [];
  }
  const meshBound = routed.filter((x) => x.bound.includes("mesh")).map((x) => x.vs);
  const scopes = [...sidecarScopes(r, meshBound), ...gatewayScopes(r, routed)];
  findings.problems.push(...exportProblems(r, scopes));
  return scopes;
}
