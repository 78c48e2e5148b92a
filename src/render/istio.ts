// Target `istio`: ASM DestinationRule + VirtualService + live pods -> upstream Istio resources (SPEC §2, §9).
//
// Exported API (src/cli/main.ts calls renderIstioCli for `render --target istio`; tests may call renderIstio):
//
//   renderIstioCli({files, pods, output, options}): {text, warnings}
//       files = the -f inputs, pods = --pods, output = --output (yaml | plugin-config), options = the other
//       --flags: service, previous, wasm-url, wasm-sha256, selector (k=v,k=v), route-token. Input problems
//       throw AsmInputError (the CLI prints them and exits 1).
//   renderIstioFiles(input: AsmInput, files: IstioFiles, options?: IstioOptions): IstioOutput
//       files.pods      `kubectl get pods -o json` output (required)
//       files.service   the Service manifest or `kubectl get service NAME -o yaml` (optional, recommended)
//       files.previous  the previous output of this target: its route token is kept (optional)
//   renderIstio(input, { pods, service?, previousText? }, options?): IstioOutput
//   IstioOptions: wasmUrl (default DEFAULT_WASM_URL), wasmSha256, selector (WasmPlugin matchLabels), routeToken
//   IstioOutput: { yaml: string (multi-document), notes: string[] (for stderr), warnings: string[] }
//
// What comes out, and why (README "Istio"):
//   WasmPlugin        pluginConfig in catalog mode (upstream Istio never puts pod labels into envoy.lb, so Envoy's
//                     subset LB cannot group them: the filter names a DestinationRule subset instead).
//   DestinationRule   the user's, with one subset per existing label tuple; dynamicSubset removed (ASM-only);
//                     dynamicSubset.lbPolicy -> trafficPolicy.loadBalancer.simple.
//   VirtualService    the user's, headerToDynamicSubsetKey removed (ASM-only), with generated subset routes ahead
//                     of the user's routes (see generatedRoutes).
//   Service           when --service is given: the Service with the label istio.io/persistent-session-header
//                     set when a selector uses %ip% (and removed otherwise, so `kubectl apply` of a later render
//                     takes it away again). Without --service the notes print the `kubectl label` command.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Document, isMap, isPair, isScalar, parseAllDocuments, type Pair, type YAMLMap } from "yaml";
import type { AsmDestinationRule, AsmHttpRoute, AsmInput, AsmVirtualService } from "../asm/index.js";
import { AsmInputError, fqdn, readAsmFiles } from "../asm/index.js";
import { DEFAULT_HEADER_PREFIX, IP_KEY, type Labels, type PluginConfig, type ServiceConfig } from "../config/types.js";
import { assertValidPluginConfig } from "../config/schema.js";
import {
  ROOT_ID,
  ROUTE_TOKEN_MAX_LENGTH,
  ROUTE_TOKEN_MIN_LENGTH,
  SESSION_HEADER_SUFFIX,
  SUBSET_HEADER_SUFFIX,
} from "../config/constants.js";
import { buildCatalog } from "../k8s/catalog.js";
import {
  K8sInputError,
  parsePods,
  parseService,
  type PodInfo,
  type ServiceInfo,
  servingEndpoints,
} from "../k8s/pods.js";
import { pluginServices, serviceHost } from "./plugin-config.js";
import * as strict from "./istio-strict.js";

export const DEFAULT_WASM_URL = "oci://registry.example.com/dynamic-subset:0.1.0";
export const PLUGIN_NAME = ROOT_ID;
export const SESSION_LABEL = "istio.io/persistent-session-header";
export const ISTIOD_FLAG = "PILOT_ENABLE_PERSISTENT_SESSION_FILTER=true";
const TOKEN = new RegExp(`^[0-9a-f]{${ROUTE_TOKEN_MIN_LENGTH},${ROUTE_TOKEN_MAX_LENGTH}}$`);
const SUBSET_HEADER = DEFAULT_HEADER_PREFIX + SUBSET_HEADER_SUFFIX;
const SESSION_HEADER = DEFAULT_HEADER_PREFIX + SESSION_HEADER_SUFFIX;

export interface IstioOptions {
  command?: string; // the command line that rendered this, for the header comment
  wasmUrl?: string;
  wasmSha256?: string;
  selector?: Labels;
  routeToken?: string;
  failStrategy?: strict.FailStrategy;
}

export interface IstioFiles {
  pods: string;
  service?: string;
  previous?: string;
}

export interface IstioInput {
  pods: PodInfo[];
  service?: ServiceInfo;
  previousText?: string;
}

export interface IstioOutput {
  yaml: string;
  pluginConfig: PluginConfig;
  notes: string[];
  warnings: string[];
}

/** A problem with the input that only the istio target sees (pods, names, the previous output). */
export class IstioInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IstioInputError";
  }
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const clone = <T>(x: T): T => structuredClone(x);

/** A service with dynamic subsets, as the renderer needs it. */
interface DynamicService {
  dr: AsmDestinationRule;
  host: string;
  config: ServiceConfig; // with catalog
}

// ---- route token ------------------------------------------------------------------------------------------------

/** host -> routeToken of a previous output of this target. */
function previousTokens(text: string | undefined): Map<string, string> {
  const tokens = new Map<string, string>();
  if (text === undefined) return tokens;
  for (const doc of parseAllDocuments(text) as unknown as { toJS(): unknown }[]) {
    const d = doc.toJS();
    if (
      !isObj(d) ||
      d.kind !== "WasmPlugin" ||
      !isObj(d.spec) ||
      d.spec.pluginName !== PLUGIN_NAME ||
      !isObj(d.spec.pluginConfig)
    )
      continue;
    const services = Array.isArray(d.spec.pluginConfig.services) ? d.spec.pluginConfig.services : [];
    for (const s of services) {
      const token = isObj(s) && isObj(s.catalog) ? s.catalog.routeToken : undefined;
      if (isObj(s) && typeof s.host === "string" && typeof token === "string" && TOKEN.test(token))
        tokens.set(s.host, token);
    }
  }
  return tokens;
}

const newToken = () => randomBytes(16).toString("hex");

// ---- endpoints and catalog --------------------------------------------------------------------------------------

/** The destination port of the first route to `host` that names one. */
function destinationPort(input: AsmInput, host: string): number | undefined {
  for (const vs of input.virtualServices) {
    for (const route of vs.http) {
      for (const d of destinations(vs, route)) if (d.host === host && d.port !== undefined) return d.port;
    }
  }
  return undefined;
}

function kubernetesService(host: string): { name: string; namespace: string } {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(host);
  if (!m)
    throw new IstioInputError(
      `host ${host}: not a Kubernetes service name (<name>.<namespace>.svc.cluster.local); the istio target reads its endpoints from pods`,
    );
  return { name: m[1], namespace: m[2] };
}

function dynamicServices(
  input: AsmInput,
  live: IstioInput,
  tokens: Map<string, string>,
  options: IstioOptions,
  warnings: string[],
): DynamicService[] {
  const { services, warnings: w } = pluginServices(input, (dr) => ({ host: serviceHost(dr) }));
  warnings.push(...w);
  const drByHost = new Map(input.destinationRules.filter((dr) => dr.dynamicSubset).map((dr) => [serviceHost(dr), dr]));
  return services.map((config) => {
    const host = config.host as string;
    const { name, namespace } = kubernetesService(host);
    const service =
      live.service && live.service.name === name && live.service.namespace === namespace ? live.service : undefined;
    const found = servingEndpoints(live.pods, service, {
      name,
      namespace,
      destinationPort: destinationPort(input, host),
    });
    warnings.push(...found.warnings);
    if (found.endpoints.length === 0)
      warnings.push(`${host}: no ready pod found; the catalog is empty (every request takes its fallback)`);
    const token = options.routeToken ?? tokens.get(host) ?? newToken();
    const catalog = buildCatalog(config.dynamicSubset, found.endpoints, token, SESSION_HEADER);
    return { dr: drByHost.get(host) as AsmDestinationRule, host, config: { ...config, catalog } };
  });
}

const usesIp = (s: DynamicService) => s.config.dynamicSubset.subsetSelectors.some((sel) => sel.keys.includes(IP_KEY));

// ---- DestinationRule --------------------------------------------------------------------------------------------

function renderDestinationRule(s: DynamicService, warnings: string[]): Obj {
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
  for (const g of generated) {
    if (own.some((o) => o.name === g.name))
      throw new IstioInputError(
        `${s.dr.ref} spec.subsets: a subset is already named ${g.name}; rename it (names ds-* are generated)`,
      );
  }
  if (own.length + generated.length > 0) spec.subsets = [...own, ...generated];
  return doc;
}

// ---- VirtualService ---------------------------------------------------------------------------------------------

interface Destination {
  index: number; // in route.route[]
  host: string; // FQDN
  port?: number;
  subset?: string;
}

function destinations(vs: AsmVirtualService, route: AsmHttpRoute): Destination[] {
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

/** The filter's headers for these services. They are for this proxy only: the router removes them before the
 * request leaves (route-level headers.request.remove acts after route matching), so the route token never
 * reaches an application. */
function internalHeaders(services: DynamicService[]): string[] {
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
function generatedRoutes(vs: AsmVirtualService, route: AsmHttpRoute, index: number, s: DynamicService): Obj[] {
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

function renderVirtualService(vs: AsmVirtualService, services: DynamicService[]): Obj {
  const doc = clone(vs.document);
  const generated: Obj[] = [];
  const own = vs.http.map((route, i) => {
    const targets = services.filter((s) => destinations(vs, route).some((d) => d.host === s.host));
    for (const s of targets) generated.push(...generatedRoutes(vs, route, i, s));
    return targets.length === 0 ? clone(route.route) : withRemovedHeaders(clone(route.route), internalHeaders(targets));
  });
  (doc.spec as Obj).http = [...generated, ...own];
  return doc;
}

// ---- WasmPlugin -------------------------------------------------------------------------------------------------

function renderWasmPlugin(services: DynamicService[], input: AsmInput, options: IstioOptions): Obj {
  const pluginConfig: PluginConfig = { mode: "catalog", services: services.map((s) => s.config) };
  assertValidPluginConfig(pluginConfig);
  const ports = [
    ...new Set(services.map((s) => destinationPort(input, s.host)).filter((p): p is number => p !== undefined)),
  ].sort((a, b) => a - b);
  const match = [
    ports.length > 0 ? { mode: "CLIENT", ports: ports.map((number) => ({ number })) } : { mode: "CLIENT" },
  ];
  const spec: Obj = { url: options.wasmUrl ?? DEFAULT_WASM_URL };
  if (options.wasmSha256) spec.sha256 = options.wasmSha256;
  const failStrategy = options.failStrategy ?? strict.DEFAULT_FAIL_STRATEGY;
  Object.assign(spec, { pluginName: PLUGIN_NAME, phase: "UNSPECIFIED_PHASE", failStrategy, match });
  if (options.selector) spec.selector = { matchLabels: options.selector };
  spec.pluginConfig = pluginConfig;
  return {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: { name: "dynamic-subset", namespace: services[0].dr.namespace ?? "default" },
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
  selector: " The client workloads that run the filter (default: every workload in this namespace).",
};

// ---- Service (%ip%) ---------------------------------------------------------------------------------------------

function renderService(service: ServiceInfo, sessionHeader: string | undefined): Obj {
  const doc = clone(service.document);
  delete doc.status;
  const metadata = doc.metadata as Obj;
  for (const k of ["resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "selfLink"])
    delete metadata[k];
  const annotations = isObj(metadata.annotations) ? metadata.annotations : undefined;
  if (annotations) delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
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

export function renderIstio(input: AsmInput, live: IstioInput, options: IstioOptions = {}): IstioOutput {
  if (options.routeToken !== undefined && !TOKEN.test(options.routeToken))
    throw new IstioInputError(
      `route token must be ${ROUTE_TOKEN_MIN_LENGTH}-${ROUTE_TOKEN_MAX_LENGTH} lower-case hex digits`,
    );
  const warnings = [...input.warnings];
  const notes: string[] = [];
  const services = dynamicServices(input, live, previousTokens(live.previousText), options, warnings);
  if (services.length === 0)
    throw new IstioInputError("no DestinationRule with trafficPolicy.loadBalancer.dynamicSubset in the input");
  const dynamicHosts = new Set(services.map((s) => s.host));
  const ipServices = services.filter(usesIp);

  const docs: Document[] = [];
  const wasmPlugin = renderWasmPlugin(services, input, options);
  const wasm = yamlDocument(
    wasmPlugin,
    " Filter: dynamic subset routing in catalog mode. The catalog lists the subsets and pods that existed at render time:\n re-render with --previous <this file> when pods change (the route token is kept, so the diff stays minimal).",
  );
  const failStrategy = strict.failStrategyComment(options.failStrategy ?? strict.DEFAULT_FAIL_STRATEGY);
  commentKeys(wasm, ["spec"], { ...WASM_COMMENTS, failStrategy });
  docs.push(wasm);
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
    const touches = vs.http.some((r) => destinations(vs, r).some((d) => dynamicHosts.has(d.host)));
    const withPins =
      touches && strict.withPinRoutes(renderVirtualService(vs, services), pinned, (h) => fqdn(h, vs.namespace));
    if (withPins) pinRoutes.push(...withPins.pinRoutes);
    docs.push(
      withPins
        ? yamlDocument(
            withPins.virtualService,
            ` Generated subset routes first (header ${SUBSET_HEADER} = <subset>.<route token>, written by the filter),\n then your routes, headerToDynamicSubsetKey removed (ASM-only; the filter has the mappings).`,
          )
        : yamlDocument(clone(vs.document), " Passed through (no route to a dynamic-subset service)."),
    );
  }
  const pinFilter = strict.pinEnvoyFilter(
    (wasmPlugin.metadata as Obj).namespace as string,
    options.selector,
    pinRoutes,
  );
  if (pinFilter) docs.push(yamlDocument(pinFilter, strict.PIN_ENVOY_FILTER_COMMENT));
  for (const s of services) {
    const header = s.config.catalog?.sessionHeader;
    const { name, namespace } = kubernetesService(s.host);
    if (live.service && live.service.name === name && live.service.namespace === namespace) {
      docs.push(
        yamlDocument(
          renderService(live.service, header),
          header
            ? ` ${SESSION_LABEL}: istiod routes a request carrying ${header} to that pod (needs ${ISTIOD_FLAG} on istiod).`
            : ` No %ip% selector: the ${SESSION_LABEL} label is removed.`,
        ),
      );
    } else if (header) {
      notes.push(
        `label the Service: kubectl -n ${namespace} label service ${name} ${SESSION_LABEL}=${header} --overwrite`,
      );
    }
  }
  if (ipServices.length > 0) {
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
  const yaml = docs.map((d) => d.toString({ lineWidth: 0 })).join("---\n");
  return { yaml, pluginConfig: (wasmPlugin.spec as Obj).pluginConfig as PluginConfig, notes, warnings };
}

export function renderIstioFiles(input: AsmInput, files: IstioFiles, options: IstioOptions = {}): IstioOutput {
  const read = (f: string) => readFileSync(f === "-" ? 0 : f, "utf8");
  return renderIstio(
    input,
    {
      pods: parsePods(read(files.pods), files.pods),
      service: files.service ? parseService(read(files.service), files.service) : undefined,
      previousText: files.previous ? read(files.previous) : undefined,
    },
    options,
  );
}

const CLI_OPTIONS = ["service", "previous", "wasm-url", "wasm-sha256", "selector", "route-token", "fail-strategy"];

function parseSelector(text: string): Labels {
  const pairs = text.split(",").map((p) => p.split("="));
  if (pairs.some((p) => p.length !== 2 || p[0] === "" || p[1] === ""))
    throw new AsmInputError([`--selector: expected key=value[,key=value...], got "${text}"`]);
  return Object.fromEntries(pairs);
}

export function renderIstioCli(args: {
  files: string[];
  pods?: string;
  output?: string;
  options: Record<string, string>;
}): { text: string; warnings: string[] } {
  const o = args.options;
  const unknown = Object.keys(o).filter((k) => !CLI_OPTIONS.includes(k));
  const problems = [
    ...unknown.map(
      (k) => `unknown option --${k} for target istio (known: ${CLI_OPTIONS.map((c) => `--${c}`).join(", ")})`,
    ),
    ...(args.files.length === 0 ? ["no input: give -f FILE.yaml"] : []),
    ...(args.pods ? [] : ["--pods FILE (kubectl get pods -o json) is required for target istio"]),
    ...(args.output && args.output !== "yaml" && args.output !== "plugin-config"
      ? [`--output for target istio: yaml (default) or plugin-config (got ${args.output})`]
      : []),
    ...(o["wasm-sha256"] !== undefined && !/^[a-f0-9]{64}$/.test(o["wasm-sha256"])
      ? ["--wasm-sha256: 64 lower-case hex digits"]
      : []),
    ...(o["fail-strategy"] !== undefined && !strict.isFailStrategy(o["fail-strategy"])
      ? [`--fail-strategy: ${strict.FAIL_STRATEGIES.join(" or ")} (got ${o["fail-strategy"]})`]
      : []),
  ];
  if (problems.length > 0) throw new AsmInputError(problems);
  const flags = Object.entries(o)
    .filter(([k]) => k !== "previous" && k !== "route-token")
    .map(([k, v]) => ` --${k} ${v}`);
  const command = `dynamic-subset render --target istio${args.files.map((f) => ` -f ${f}`).join("")} --pods ${args.pods}${flags.join("")}`;
  const options: IstioOptions = {
    command,
    wasmUrl: o["wasm-url"],
    wasmSha256: o["wasm-sha256"],
    routeToken: o["route-token"],
    failStrategy: o["fail-strategy"] as strict.FailStrategy | undefined,
  };
  if (o.selector !== undefined) options.selector = parseSelector(o.selector);
  try {
    const out = renderIstioFiles(
      readAsmFiles(args.files),
      { pods: args.pods as string, service: o.service, previous: o.previous },
      options,
    );
    const text = args.output === "plugin-config" ? `${JSON.stringify(out.pluginConfig, null, 2)}\n` : out.yaml;
    return { text, warnings: [...out.warnings, ...out.notes.map((n) => `NOTE: ${n}`)] };
  } catch (e) {
    if (e instanceof K8sInputError || e instanceof IstioInputError) throw new AsmInputError([e.message]);
    throw e;
  }
}
