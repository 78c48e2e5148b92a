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

export function clientScopes(
  input: AsmInput,
  services: CatalogService[],
  options: ScopeOptions,
  findings: Findings,
  notes: string[],
): ClientScope[] {
  const root = options.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const hosts = new Set(services.map((s) => s.host));
  const names = services.map((s) => s.host.split(".")[0]);
  const identity = sorted(hosts).join(",");
  const routed = input.virtualServices.map((vs) => ({ vs, bound: bindings(vs, hosts) }));
  const meshBound = routed.filter((r) => r.bound.includes("mesh")).map((r) => r.vs);
  const scopes: ClientScope[] = [];

  let sidecarNamespaces: string[] = [];
  if (options.meshWide) {
    scopes.push({
      name: pluginName(names, identity),
      namespace: root,
      selector: options.selector,
      gateway: false,
      who: `every sidecar of the mesh (root namespace ${root})`,
    });
  } else if (meshBound.length > 0 || options.clientNamespaces) {
    sidecarNamespaces = sorted(
      options.clientNamespaces ?? [
        ...services.map((s) => s.host.split(".")[1]),
        ...services.map((s) => s.dr.namespace ?? "default"),
        ...meshBound.map((vs) => vs.namespace ?? "default"),
      ],
    );
    for (const ns of sidecarNamespaces) {
      if (ns === root) {
        findings.problems.push(
          `client namespace ${ns} is the mesh's root namespace: a WasmPlugin there applies to every workload of the mesh; give --mesh-wide if that is meant, else --client-namespace for the clients' namespaces (--root-namespace if your mesh's root namespace is not ${root})`,
        );
        continue;
      }
      const who = options.selector
        ? `workloads labelled ${labelList(options.selector)} in namespace ${ns}`
        : `every sidecar in namespace ${ns}`;
      scopes.push({
        name: pluginName(names, identity),
        namespace: ns,
        selector: options.selector,
        gateway: false,
        who,
      });
    }
    for (const vs of meshBound) {
      const visible = exportedTo(vs.exportTo, vs.namespace ?? "default");
      const uncovered = visible.has("*") ? ["*"] : [...visible].filter((ns) => !sidecarNamespaces.includes(ns));
      if (uncovered.length > 0)
        notes.push(
          `${vs.ref}: sidecars in ${uncovered[0] === "*" ? "namespaces other than" : "namespace"} ${uncovered[0] === "*" ? sidecarNamespaces.join(", ") : uncovered.join(", ")} route with this VirtualService but do not load the filter: their requests take your plain routes, without dynamic subsets (add --client-namespace NS, or --mesh-wide)`,
        );
    }
  }

  const gatewayRefs = sorted(routed.flatMap((r) => r.bound.filter((b) => b !== "mesh")));
  for (const ref of gatewayRefs) {
    const [namespace, name] = ref.split("/");
    const gw = input.gateways.find((g) => g.name === name && (g.namespace ?? "default") === namespace);
    if (!gw) {
      const vs = routed.find((r) => r.bound.includes(ref))?.vs;
      findings.problems.push(
        `${vs?.ref ?? "input"} spec.gateways: routes to ${sorted(hosts).join(", ")} run on gateway ${ref}; give its Gateway resource with -f so that a WasmPlugin is placed on the gateway's pods`,
      );
      continue;
    }
    scopes.push({
      name: pluginName([...names, name], `${identity}@${ref}`),
      namespace,
      selector: gw.selector,
      gateway: true,
      who: `the pods of gateway ${ref} (labelled ${labelList(gw.selector)})`,
    });
  }

  for (const s of services) {
    const visible = exportedTo(s.dr.exportTo, s.dr.namespace ?? "default");
    const sees = (scope: ClientScope) =>
      visible.has("*") || (!(options.meshWide && !scope.gateway) && visible.has(scope.namespace));
    for (const scope of scopes.filter((x) => !sees(x)))
      findings.problems.push(
        `${s.dr.ref} spec.exportTo: ${scope.who} would route to the subsets of ${s.host}, but the DestinationRule is not exported to namespace ${scope.namespace}: those requests would fail (503)`,
      );
  }
  return scopes;
}

const labelList = (labels: Labels) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
