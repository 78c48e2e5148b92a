// Target `istio`: ASM DestinationRule + VirtualService + live pods -> upstream Istio resources (README "Istio";
// docs/behaviour.md "Two modes"). Pure: parsed documents in, documents out; the CLI reads and writes the files.
//
// Exported API:
//   renderIstio(input: AsmInput, live: IstioInput, options: IstioOptions): IstioOutput
//   renderIstioPluginConfig(input, live, options): { pluginConfig, warnings }   no WasmPlugin, no URL needed
//   IstioInput: { pods: PodInfo[], services?: ServiceInfo[] (kubectl get service -o yaml), previousText?: the
//               previous output of this target, whose route tokens are kept and whose WasmPlugins are compared }
//   IstioOptions: wasmUrl, wasmSha256 (checked by the caller: ./wasm-source.ts), selector, routeToken, scoping
//               (./istio-scope.ts: clientNamespaces, meshWide, rootNamespace), allowed (refusals to override),
//               command (the command line, for the header comment)
//   IstioOutput: { yaml (multi-document), objects (the same, parsed), pluginConfig, notes, warnings }
//   Input problems throw InputError; a service without subsets is refused unless allowed has "no-subsets".
//
// What comes out, and why:
//   WasmPlugin(s)     pluginConfig in catalog mode, one per client scope (./istio-scope.ts) (upstream Istio never
//                     puts pod labels into envoy.lb, so Envoy's subset LB cannot group them: the filter names a
//                     DestinationRule subset instead).
//   DestinationRule   the user's, with one subset per existing label tuple; dynamicSubset removed (ASM-only);
//                     dynamicSubset.lbPolicy -> trafficPolicy.loadBalancer.simple.
//   VirtualService    the user's, headerToDynamicSubsetKey removed (ASM-only); each route to a dynamic-subset
//                     service first without the subset header, then its generated subset (and pin) routes, then
//                     unchanged (./istio-routes.ts).
//   Service           each Service given whose host has dynamic subsets, with the label
//                     istio.io/persistent-session-header set when a selector uses %ip% (and removed otherwise, so
//                     `kubectl apply` of a later render takes it away again). Without it the notes print the
//                     `kubectl label` command.
// None of them carries fields the API server fills in (src/input/kube.ts); warnings name objects that approach
// Kubernetes' size limits (./object-size.ts).

import { randomBytes } from "node:crypto";
import { Document, isMap, isPair, isScalar, parseAllDocuments, type Pair, type YAMLMap } from "yaml";
import type { AsmInput } from "../asm/index.js";
import { ROOT_ID, ROUTE_TOKEN_MAX_LENGTH, ROUTE_TOKEN_MIN_LENGTH } from "../config/constants.js";
import type { PluginConfig } from "../config/types.js";
import { assertValidPluginConfig } from "../config/schema.js";
import { type Allowance, Findings } from "../input/errors.js";
import { withoutServerFields } from "../input/kube.js";
import { clone, isObj, type Obj } from "../input/object.js";
import { buildCatalog } from "../k8s/catalog.js";
import {
  noEndpointsReason,
  type PodInfo,
  type ServiceInfo,
  servingEndpoints,
  type ServingEndpoints,
} from "../k8s/pods.js";
import {
  type CatalogService,
  destinations,
  renderDestinationRule,
  renderVirtualService,
  routesTo,
  SESSION_HEADER,
  SUBSET_HEADER,
  usesIp,
} from "./istio-routes.js";
import { clientScopes, type ClientScope, type ScopeOptions } from "./istio-scope.js";
import { objectSizeWarnings } from "./object-size.js";
import { pluginServices, serviceHost } from "./plugin-config.js";
import { fqdn } from "../input/syntax.js";
import * as strict from "./istio-strict.js";
import { yamlText } from "./yaml.js";

export const PLUGIN_NAME = ROOT_ID;
export const SESSION_LABEL = "istio.io/persistent-session-header";
export const ISTIOD_FLAG = "PILOT_ENABLE_PERSISTENT_SESSION_FILTER=true";
const TOKEN = new RegExp(`^[0-9a-f]{${ROUTE_TOKEN_MIN_LENGTH},${ROUTE_TOKEN_MAX_LENGTH}}$`);

export interface IstioOptions extends ScopeOptions {
  command?: string; // the command line that rendered this, for the header comment
  wasmUrl?: string; // required by renderIstio
  wasmSha256?: string;
  routeToken?: string;
  allowed?: ReadonlySet<Allowance>;
  failStrategy?: strict.FailStrategy;
}

export interface IstioInput {
  pods: PodInfo[];
  services?: ServiceInfo[];
  previousText?: string;
}

export interface IstioOutput {
  yaml: string;
  objects: Obj[];
  pluginConfig: PluginConfig;
  notes: string[];
  warnings: string[];
}

// ---- the previous output ----------------------------------------------------------------------------------------

/** The WasmPlugins of a previous output of this target. */
function previousPlugins(text: string | undefined): Obj[] {
  if (text === undefined) return [];
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d): d is Obj => isObj(d) && d.kind === "WasmPlugin" && isObj(d.spec) && d.spec.pluginName === PLUGIN_NAME);
}

/** host -> routeToken of the previous output's WasmPlugins. */
function previousTokens(plugins: Obj[]): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const p of plugins) {
    const config = (p.spec as Obj).pluginConfig;
    const services = isObj(config) && Array.isArray(config.services) ? config.services : [];
    for (const s of services) {
      const token = isObj(s) && isObj(s.catalog) ? s.catalog.routeToken : undefined;
      if (isObj(s) && typeof s.host === "string" && typeof token === "string" && TOKEN.test(token))
        tokens.set(s.host, token);
    }
  }
  return tokens;
}

const newToken = () => randomBytes(16).toString("hex");

// ---- services and catalogs --------------------------------------------------------------------------------------

/** The destination ports of the routes to `host`, in order of appearance. */
function destinationPorts(input: AsmInput, host: string): number[] {
  const ports = input.virtualServices.flatMap((vs) =>
    vs.http.flatMap((route) => destinations(vs, route).filter((d) => d.host === host && d.port !== undefined)),
  );
  return [...new Set(ports.map((d) => d.port as number))];
}

function kubernetesService(host: string): { name: string; namespace: string } | undefined {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(host);
  return m ? { name: m[1], namespace: m[2] } : undefined;
}

const findService = (live: IstioInput, host: string) => {
  const k = kubernetesService(host);
  return live.services?.find((s) => s.name === k?.name && s.namespace === k?.namespace);
};

/** Why a catalog has no subset and no endpoint: every request would take the fallback. */
function emptyCatalogReason(found: ServingEndpoints, live: IstioInput, host: string, port?: number): string {
  if (found.endpoints.length > 0) return "no ready pod carries all keys of any subset selector";
  const k = kubernetesService(host) as { name: string; namespace: string };
  const reason = noEndpointsReason(live.pods, findService(live, host), { ...k, destinationPort: port });
  const skipped = found.warnings.filter((w) => w.startsWith("pod "));
  return skipped.length > 0
    ? `${reason} (${skipped.slice(0, 3).join("; ")}${skipped.length > 3 ? "; ..." : ""})`
    : reason;
}

function catalogServices(
  input: AsmInput,
  live: IstioInput,
  options: IstioOptions,
  findings: Findings,
): CatalogService[] {
  if (options.routeToken !== undefined && !TOKEN.test(options.routeToken))
    findings.problems.push(
      `route token must be ${ROUTE_TOKEN_MIN_LENGTH}-${ROUTE_TOKEN_MAX_LENGTH} lower-case hex digits`,
    );
  const { services, warnings } = pluginServices(input, (dr) => ({ host: serviceHost(dr) }), undefined, options.allowed);
  findings.warnings.push(...warnings);
  if (services.length === 0)
    findings.problems.push("no DestinationRule with trafficPolicy.loadBalancer.dynamicSubset in the input");
  const tokens = previousTokens(previousPlugins(live.previousText));
  const drs = input.destinationRules.filter((dr) => dr.dynamicSubset);
  return services.flatMap((config): CatalogService[] => {
    const host = config.host as string;
    const dr = drs.find((d) => serviceHost(d) === host) as (typeof drs)[number];
    const k = kubernetesService(host);
    if (!k) {
      findings.problems.push(
        `${dr.ref} spec.host: host ${host}: not a Kubernetes service name (<name>.<namespace>.svc.cluster.local); the istio target reads its endpoints from pods`,
      );
      return [];
    }
    const port = destinationPorts(input, host)[0];
    const found = servingEndpoints(live.pods, findService(live, host), { ...k, destinationPort: port });
    findings.warnings.push(...found.warnings);
    findings.problems.push(...found.problems.map((p) => `${dr.ref}: ${p}`));
    const token = options.routeToken ?? tokens.get(host) ?? newToken();
    const catalog = buildCatalog(config.dynamicSubset, found.endpoints, token, SESSION_HEADER);
    if (found.problems.length === 0 && catalog.subsets.length === 0 && !catalog.endpoints?.length)
      findings.refuse(
        "no-subsets",
        `${dr.ref} spec.host: ${host}: no subset exists: ${emptyCatalogReason(found, live, host, port)}; every request would take the fallback`,
      );
    return [{ dr, host, config: { ...config, catalog } }];
  });
}

const pluginConfigOf = (services: CatalogService[]): PluginConfig => ({
  mode: "catalog",
  services: services.map((s) => s.config),
});

export function renderIstioPluginConfig(
  input: AsmInput,
  live: IstioInput,
  options: IstioOptions = {},
): { pluginConfig: PluginConfig; warnings: string[] } {
  const findings = new Findings(options.allowed);
  const services = catalogServices(input, live, options, findings);
  findings.check();
  const pluginConfig = pluginConfigOf(services);
  assertValidPluginConfig(pluginConfig);
  return { pluginConfig, warnings: [...input.warnings, ...findings.warnings] };
}

// ---- WasmPlugin -------------------------------------------------------------------------------------------------

/** The ports the services are called on: the routes' destination ports, else the Services' ports. */
function servicePorts(input: AsmInput, live: IstioInput, services: CatalogService[]): number[] | undefined {
  const ports: number[] = [];
  for (const s of services) {
    const own = destinationPorts(input, s.host);
    const unnamed = input.virtualServices.some((vs) =>
      vs.http.some((r) => destinations(vs, r).some((d) => d.host === s.host && d.port === undefined)),
    );
    const known = findService(live, s.host)?.ports.map((p) => p.port);
    if (unnamed && !known) return undefined; // a route without port to a Service we do not know: every port
    ports.push(...own, ...(unnamed ? (known as number[]) : []));
  }
  return [...new Set(ports)].sort((a, b) => a - b);
}

function wasmPlugin(
  scope: ClientScope,
  pluginConfig: PluginConfig,
  ports: number[] | undefined,
  options: IstioOptions,
): Obj {
  const match =
    scope.gateway || !ports || ports.length === 0
      ? { mode: "CLIENT" }
      : { mode: "CLIENT", ports: ports.map((number) => ({ number })) };
  const spec: Obj = { url: options.wasmUrl };
  if (options.wasmSha256) spec.sha256 = options.wasmSha256;
  Object.assign(spec, {
    pluginName: PLUGIN_NAME,
    phase: "UNSPECIFIED_PHASE",
    failStrategy: options.failStrategy ?? strict.DEFAULT_FAIL_STRATEGY,
    match: [match],
  });
  if (scope.selector) spec.selector = { matchLabels: scope.selector };
  spec.pluginConfig = pluginConfig;
  return {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: { name: scope.name, namespace: scope.namespace },
    spec,
  };
}

const WASM_COMMENTS: Record<string, string> = {
  url: " Where istio-agent fetches the filter. Push build/oci (npm run oci) and put its reference here,\n best by digest: oci://REGISTRY/dynamic-subset@sha256:<manifest digest> (then sha256 is not needed).",
  phase:
    " Every WasmPlugin phase runs before the router and before stateful_session (which reads the %ip% session\n" +
    " header). UNSPECIFIED_PHASE is the last slot, right before the router: other plugins (AUTHN, AUTHZ, STATS)\n" +
    " run first, so requests they reject never reach routing and headers they set are seen here.",
  match: " CLIENT = outbound only (the callers of the service), on the service's port(s).",
  selector: " The client workloads that run the filter (without selector: every workload in this namespace).",
};

const GATEWAY_MATCH_COMMENT =
  " CLIENT on every port: a gateway's listeners bind its pods' target ports, which the Gateway resource\n does not give.";

// ---- Service (%ip%) ---------------------------------------------------------------------------------------------

function renderService(service: ServiceInfo, sessionHeader: string | undefined): Obj {
  const doc = withoutServerFields(clone(service.document));
  const metadata = doc.metadata as Obj;
  const labels: Obj = isObj(metadata.labels) ? metadata.labels : {};
  if (sessionHeader) labels[SESSION_LABEL] = sessionHeader;
  else delete labels[SESSION_LABEL];
  if (Object.keys(labels).length > 0) metadata.labels = labels;
  else delete metadata.labels;
  return doc;
}

// ---- output -----------------------------------------------------------------------------------------------------

function commentKeys(doc: Document, path: string[], comments: Record<string, string>): void {
  const map = doc.getIn(path, true);
  if (!isMap(map)) return;
  for (const item of (map as YAMLMap).items) {
    const pair = item as Pair;
    if (isPair(pair) && isScalar(pair.key) && typeof pair.key.value === "string" && comments[pair.key.value])
      pair.key.commentBefore = comments[pair.key.value];
  }
}

function yamlDocument(value: Obj, comment: string): Document {
  const doc = new Document(value, { aliasDuplicateObjects: false });
  doc.commentBefore = comment;
  return doc;
}

/** Notes for WasmPlugins of the previous output that this render does not write: they would stay in the cluster. */
function stalePluginNotes(previous: Obj[], scopes: ClientScope[]): string[] {
  return previous.flatMap((p) => {
    const md = isObj(p.metadata) ? p.metadata : {};
    const [name, namespace] = [String(md.name), String(md.namespace ?? "default")];
    if (scopes.some((s) => s.name === name && s.namespace === namespace)) return [];
    return [
      `the previous output had WasmPlugin ${namespace}/${name}, which this render replaces: delete it (kubectl -n ${namespace} delete wasmplugin ${name}); two of these filters on one proxy strip each other's headers`,
    ];
  });
}

export function renderIstio(input: AsmInput, live: IstioInput, options: IstioOptions): IstioOutput {
  const findings = new Findings(options.allowed);
  const notes: string[] = [];
  const services = catalogServices(input, live, options, findings);
  const scopes = services.length > 0 ? clientScopes(input, services, options, findings, notes) : [];
  if (options.wasmUrl === undefined) findings.problems.push("the WasmPlugin needs the filter's URL (--wasm-url)");
  findings.check();
  const warnings = [...input.warnings, ...findings.warnings];
  const dynamicHosts = new Set(services.map((s) => s.host));
  const pluginConfig = pluginConfigOf(services);
  assertValidPluginConfig(pluginConfig);
  notes.push(...stalePluginNotes(previousPlugins(live.previousText), scopes));

  const ports = servicePorts(input, live, services);
  const docs: Document[] = scopes.map((scope) => {
    const doc = yamlDocument(
      wasmPlugin(scope, pluginConfig, ports, options),
      ` Filter: dynamic subset routing in catalog mode. Loaded by ${scope.who}.\n The catalog lists the subsets and pods that existed at render time: re-render with --previous <this file>\n when pods change (the route token is kept, so the diff stays minimal).`,
    );
    const failStrategy = strict.failStrategyComment(options.failStrategy ?? strict.DEFAULT_FAIL_STRATEGY);
    const comments = { ...WASM_COMMENTS, failStrategy };
    commentKeys(doc, ["spec"], scope.gateway ? { ...comments, match: GATEWAY_MATCH_COMMENT } : comments);
    return doc;
  });
  for (const dr of input.destinationRules) {
    const s = services.find((x) => x.dr === dr);
    docs.push(
      s
        ? yamlDocument(
            renderDestinationRule(s, warnings),
            ` One subset per label tuple that existed at render time (names: ds-<key>-<value>--...).`,
          )
        : yamlDocument(clone(dr.document), " Passed through (no dynamicSubset)."),
    );
  }
  const pinned = services.filter((s) => strict.isStrictPinService(s.config));
  const pinRoutes: strict.PinRoute[] = [];
  for (const vs of input.virtualServices) {
    if (!routesTo(vs, dynamicHosts)) {
      docs.push(yamlDocument(clone(vs.document), " Passed through (no route to a dynamic-subset service)."));
      continue;
    }
    const pinRouteOf = (own: Obj, index: number): Obj[] => {
      const pin = strict.pinRoute(own, index, pinned, (h) => fqdn(h, vs.namespace));
      if (pin) pinRoutes.push(...pin.names);
      return pin ? [pin.http] : [];
    };
    docs.push(
      yamlDocument(
        renderVirtualService(vs, services, pinRouteOf),
        ` Your routes, headerToDynamicSubsetKey removed (ASM-only; the filter has the mappings). Each one to a\n` +
          ` dynamic-subset service comes first for requests without ${SUBSET_HEADER} (as Envoy first\n` +
          ` matches them), then its generated routes, which that header selects (<subset>.<route token>, written by\n` +
          ` the filter), then unchanged, for a request whose header selects none of them.`,
      ),
    );
  }
  // Strict pins hold where the sidecars of a WasmPlugin run; a gateway's pins stay best effort (docs/istio.md).
  for (const scope of scopes.filter((sc) => !sc.gateway)) {
    const pinFilter = strict.pinEnvoyFilter(scope, scope.selector, pinRoutes);
    if (pinFilter) docs.push(yamlDocument(pinFilter, strict.PIN_ENVOY_FILTER_COMMENT));
  }
  for (const s of services) {
    const header = s.config.catalog?.sessionHeader;
    const service = findService(live, s.host);
    if (service) {
      docs.push(
        yamlDocument(
          renderService(service, header),
          header
            ? ` ${SESSION_LABEL}: istiod routes a request carrying ${header} to that pod (needs ${ISTIOD_FLAG} on istiod).`
            : ` No %ip% selector: the ${SESSION_LABEL} label is removed.`,
        ),
      );
    } else if (header) {
      const { name, namespace } = kubernetesService(s.host) as { name: string; namespace: string };
      notes.push(
        `label the Service: kubectl -n ${namespace} label service ${name} ${SESSION_LABEL}=${header} --overwrite`,
      );
    }
  }
  if (services.some(usesIp)) {
    notes.push(
      `%ip% routing uses Istio's persistent sessions: set ${ISTIOD_FLAG} on istiod (e.g. istioctl install --set values.pilot.env.PILOT_ENABLE_PERSISTENT_SESSION_FILTER=true)`,
    );
  }
  const header = [
    " Rendered by dynamic-subset (target istio) for upstream Istio >= 1.20. Apply with kubectl apply -f.",
    ...(options.command
      ? [` Re-render when pods change (fresh kubectl get pods -o json): ${options.command} --previous THIS_FILE`]
      : []),
    ...notes.map((n) => ` NOTE: ${n}`),
  ].join("\n");
  docs[0].commentBefore = `${header}\n\n${docs[0].commentBefore ?? ""}`;
  const objects = docs.map((d) => d.toJS() as Obj);
  warnings.push(...objectSizeWarnings(objects));
  const yaml = docs.map(yamlText).join("---\n");
  return { yaml, objects, pluginConfig, notes, warnings };
}
