// Target `envoy`: ASM DestinationRule/VirtualService + an endpoints file -> Envoy v3 configuration (metadata mode).
//
// Exported API:
//   renderEnvoy(variants: EnvoyVariant[], options): { documents: EnvoyDocument[]; warnings: string[] }
//       One variant = one ASM input (DR + VS) served by one listener with its own plugin configuration, route
//       configuration and clusters. Several variants share one bootstrap (the local example serves every step of
//       the seed at once); cluster names then carry the variant name (`<variant>|<host>`). output "bootstrap":
//       one document, a whole Envoy bootstrap; "parts": the plugin configuration, then per variant its
//       http_filters, route_config and clusters, each a separate document; "plugin-config": the plugin
//       configurations only (no endpoints needed). Input problems throw InputError; a service with no endpoints,
//       or whose endpoints form no subset, is refused unless options.allowed has "no-subsets".
//   envoyYaml(documents): string            YAML text; envoy.lb label values and default_subset values double-quoted,
//                                           every other string a YAML 1.1 reader would mistake quoted (./yaml.ts).
//   keyHeaderName(prefix, key): string      the internal header of a subset key (docs/behaviour.md "What the
//                                           filter writes"), as the filter writes it.
//   headerToMetadataRules(services, prefix) the header_to_metadata request_rules for those services.
//   STATS_TAGS                              the bootstrap's stats_config.stats_tags for the filter's counters.
//
// What the rendered chain does per request: envoy.filters.http.wasm (the filter: strips client copies of internal
// headers, resolves the keys, writes one header per chosen key) -> envoy.filters.http.header_to_metadata (turns
// those headers into `envoy.lb` dynamic metadata, type STRING, removing the headers) -> envoy.filters.http.router,
// whose subset load balancer (lb_subset_config) groups endpoints by their `envoy.lb` metadata and applies the
// fallback policy. Every label value is written as a string: the header produces strings, and a YAML number 1
// would never equal "1".

import { Document, isMap, isPair, isScalar, visit } from "yaml";
import type { AsmDestinationRule, AsmHttpRoute, AsmInput, AsmVirtualService } from "../asm/index.js";
import type { PluginConfig, ServiceConfig, SubsetSelector } from "../config/types.js";
import { DEFAULT_HEADER_PREFIX, IP_KEY } from "../config/types.js";
import { assertValidPluginConfig } from "../config/schema.js";
import { ROOT_ID } from "../config/constants.js";
import type { EndpointService } from "../endpoints/index.js";
import { type Allowance, Findings, InputError } from "../input/errors.js";
import { isObj, type Obj } from "../input/object.js";
import { fqdn } from "../input/syntax.js";
import {
  envoyRouteName,
  pluginServices,
  prefixSafeSelectors,
  routeDestinations,
  routeMatches,
  serviceHost,
} from "./plugin-config.js";
import { yamlText } from "./yaml.js";
import { clusterTrafficPolicy, destinationPort } from "./traffic-policy.js";

export interface EnvoyVariant {
  name?: string; // listener / route configuration name; also the cluster-name suffix when there are several
  input: AsmInput;
}

export interface EnvoyRenderOptions {
  output: "bootstrap" | "parts" | "plugin-config";
  endpoints: EndpointService[]; // not read for "plugin-config"
  wasmFilename?: string; // default build/dynamic_subset.wasm (relative to Envoy's working directory)
  listenAddress?: string; // default 127.0.0.1
  port?: number; // first listener port, one more per variant; default 10000
  adminPort?: number; // default 9901
  headerPrefix?: string;
  responseHeader?: boolean;
  allowed?: ReadonlySet<Allowance>; // refusals the user overrides (CLI --allow)
}

export interface EnvoyDocument {
  comment: string; // what the document is, written above it
  value: unknown;
}

const typed = (type: string, body: Obj = {}): Obj => ({ "@type": `type.googleapis.com/${type}`, ...body });

export function keyHeaderName(prefix: string, key: string): string {
  let out = prefix;
  for (const byte of Buffer.from(key, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[a-z0-9._-]/.test(c) ? c : `%${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** Every key a selector can write, in selector order, once. */
function selectorKeys(services: ServiceConfig[]): string[] {
  return [...new Set(services.flatMap((s) => s.dynamicSubset.subsetSelectors.flatMap((sel) => sel.keys)))];
}

export function headerToMetadataRules(services: ServiceConfig[], prefix: string): Obj[] {
  return selectorKeys(services).map((key) => ({
    header: keyHeaderName(prefix, key),
    on_header_present: { metadata_namespace: "envoy.lb", key, type: "STRING" },
    remove: true,
  }));
}

function wasmFilter(plugin: PluginConfig, filename: string): Obj {
  return {
    name: "envoy.filters.http.wasm",
    typed_config: typed("envoy.extensions.filters.http.wasm.v3.Wasm", {
      config: {
        name: "dynamic_subset",
        root_id: ROOT_ID,
        vm_config: {
          vm_id: "dynamic_subset", // one VM for every listener; each listener's config gets its own root context
          runtime: "envoy.wasm.runtime.v8",
          code: { local: { filename } },
        },
        configuration: typed("google.protobuf.StringValue", { value: JSON.stringify(plugin) }),
        // no fail_open / failure_policy: Envoy's default is closed (FAILURE_POLICY_COMMENT, written above `config`)
      },
    }),
  };
}

function httpFilters(plugin: PluginConfig, wasmFilename: string): Obj[] {
  return [
    wasmFilter(plugin, wasmFilename),
    {
      name: "envoy.filters.http.header_to_metadata",
      typed_config: typed("envoy.extensions.filters.http.header_to_metadata.v3.Config", {
        request_rules: headerToMetadataRules(plugin.services ?? [], plugin.headerPrefix ?? DEFAULT_HEADER_PREFIX),
      }),
    },
    { name: "envoy.filters.http.router", typed_config: typed("envoy.extensions.filters.http.router.v3.Router") },
  ];
}

const LB_POLICY = { RANDOM: "RANDOM", ROUND_ROBIN: "ROUND_ROBIN", LEAST_REQUEST: "LEAST_REQUEST" } as const;

function subsetSelector(sel: SubsetSelector): Obj {
  const out: Obj = { keys: sel.keys };
  if (sel.fallbackPolicy) out.fallback_policy = sel.fallbackPolicy;
  // A %ip% subset holds one pod by construction. single_host_per_subset makes Envoy keep that one host without a
  // child load balancer per subset (cheaper with many pods), and the gauge
  // lb_subsets_single_host_per_subset_duplicate reports an IP listed twice instead of silently sharing it.
  if (sel.keys.length === 1 && sel.keys[0] === IP_KEY) out.single_host_per_subset = true;
  return out;
}

function cluster(name: string, endpoints: EndpointService, dr: AsmDestinationRule | undefined): Obj {
  const ds = dr?.dynamicSubset;
  const c: Obj = { name, type: "STATIC", connect_timeout: "1s" };
  if (ds?.lbPolicy) c.lb_policy = LB_POLICY[ds.lbPolicy];
  c.load_assignment = {
    cluster_name: name,
    endpoints: [
      {
        lb_endpoints: endpoints.endpoints.map((e) => ({
          endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
          metadata: { filter_metadata: { "envoy.lb": { ...e.labels, [IP_KEY]: e.address } } },
        })),
      },
    ],
  };
  if (ds) {
    const lb: Obj = { fallback_policy: ds.fallbackPolicy ?? "NO_FALLBACK" };
    if (ds.defaultSubset) lb.default_subset = ds.defaultSubset;
    lb.subset_selectors = prefixSafeSelectors(ds.subsetSelectors).map(subsetSelector);
    c.lb_subset_config = lb;
  }
  return c;
}

/** Istio's names for a host: the FQDN, and for a Kubernetes service also name, name.ns, name.ns.svc. */
function domains(hosts: string[], namespace: string | undefined): string[] {
  return [
    ...new Set(
      hosts.flatMap((h) => {
        const f = fqdn(h, namespace);
        const m = /^([^.]+)\.([^.]+)\.svc\.cluster\.local$/.exec(f);
        return m ? [f, m[1], `${m[1]}.${m[2]}`, `${m[1]}.${m[2]}.svc`] : [f];
      }),
    ),
  ];
}

const STRING_MATCH = { exact: "exact", prefix: "prefix", regex: "safe_regex" } as const;

/** Istio StringMatch {exact|prefix|regex} -> Envoy StringMatcher. */
function stringMatcher(m: unknown, where: string, problems: string[]): Obj | undefined {
  if (isObj(m)) {
    const [kind, ...more] = Object.keys(m);
    const value = kind === undefined ? undefined : m[kind];
    if (more.length === 0 && (kind === "exact" || kind === "prefix" || kind === "regex") && typeof value === "string") {
      return kind === "regex" ? { safe_regex: { regex: value } } : { [STRING_MATCH[kind]]: value };
    }
  }
  problems.push(`${where}: must be one of {exact: ...}, {prefix: ...}, {regex: ...}`);
  return undefined;
}

const ROUTE_FIELDS_RENDERED = new Set(["name", "match", "route", "timeout"]);
const MATCH_FIELDS = new Set(["name", "uri", "headers", "withoutHeaders", "method", "ignoreUriCase"]);

function routeMatch(m: Obj, where: string, problems: string[]): Obj {
  for (const k of Object.keys(m))
    if (!MATCH_FIELDS.has(k))
      problems.push(`${where}.${k}: not supported by the envoy target (supported: ${[...MATCH_FIELDS].join(", ")})`);
  const out: Obj = {};
  const uri = m.uri === undefined ? undefined : stringMatcher(m.uri, `${where}.uri`, problems);
  if (!uri) out.prefix = "/";
  else if (uri.exact !== undefined) out.path = uri.exact;
  else if (uri.prefix !== undefined) out.prefix = uri.prefix;
  else out.safe_regex = uri.safe_regex;
  if (m.ignoreUriCase === true) out.case_sensitive = false;
  const headers: Obj[] = [];
  const addHeaders = (field: "headers" | "withoutHeaders", invert: boolean) => {
    const hs = m[field];
    if (hs === undefined) return;
    if (!isObj(hs)) return void problems.push(`${where}.${field}: must be a mapping of header name to match`);
    for (const [name, hm] of Object.entries(hs)) {
      const sm = stringMatcher(hm, `${where}.${field}.${name}`, problems);
      if (sm) headers.push(invert ? { name, string_match: sm, invert_match: true } : { name, string_match: sm });
    }
  };
  addHeaders("headers", false);
  addHeaders("withoutHeaders", true);
  if (m.method !== undefined) {
    const sm = stringMatcher(m.method, `${where}.method`, problems);
    if (sm) headers.push({ name: ":method", string_match: sm });
  }
  if (headers.length > 0) out.headers = headers;
  return out;
}

function routeAction(
  vs: AsmVirtualService,
  route: AsmHttpRoute,
  where: string,
  clusterName: (host: string) => string,
  problems: string[],
): Obj | undefined {
  const dests = Array.isArray(route.route.route) ? route.route.route : [];
  if (dests.length === 0) {
    problems.push(`${where}.route: the envoy target renders routes with destinations only`);
    return undefined;
  }
  const hosts = routeDestinations(vs, route);
  dests.forEach((d, j) => {
    if (isObj(d) && isObj(d.destination) && d.destination.subset !== undefined) {
      problems.push(
        `${where}.route[${j}].destination.subset: static subsets are not rendered by the envoy target (dynamicSubset replaces them)`,
      );
    }
  });
  if (hosts.length !== dests.length) {
    problems.push(`${where}.route: every entry needs destination.host`);
    return undefined;
  }
  const action: Obj =
    hosts.length === 1
      ? { cluster: clusterName(hosts[0]) }
      : {
          weighted_clusters: {
            clusters: hosts.map((h, j) => ({ name: clusterName(h), weight: Number((dests[j] as Obj).weight ?? 0) })),
          },
        };
  if (typeof route.route.timeout === "string") action.timeout = route.route.timeout;
  return action;
}

function envoyRoutes(
  vs: AsmVirtualService,
  clusterName: (host: string) => string,
  problems: string[],
  warnings: string[],
): Obj[] {
  return vs.http.flatMap((route, i) => {
    const where = `${vs.ref} spec.http[${i}]`;
    for (const k of Object.keys(route.route)) {
      if (!ROUTE_FIELDS_RENDERED.has(k)) warnings.push(`${where}.${k}: not rendered by the envoy target (ignored)`);
    }
    const action = routeAction(vs, route, where, clusterName, problems);
    return routeMatches(route).map((m, j) => {
      const match = routeMatch(isObj(m) ? m : {}, `${where}.match[${j}]`, problems);
      const name = envoyRouteName(route, m);
      return name ? { name, match, route: action } : { match, route: action };
    });
  });
}

interface RenderedVariant {
  name: string;
  plugin: PluginConfig;
  routeConfig: Obj;
  clusters: Obj[];
}

/** Why the endpoints of a dynamic-subset service form no subset at all (every request would take the fallback). */
function noSubsetReason(eps: EndpointService, selectors: SubsetSelector[]): string | undefined {
  if (eps.endpoints.length === 0) return "the endpoints file lists no endpoint for it";
  if (selectors.some((s) => s.keys.includes(IP_KEY))) return undefined;
  const formsSubset = (s: SubsetSelector) => eps.endpoints.some((e) => s.keys.every((k) => e.labels[k] !== undefined));
  if (selectors.some(formsSubset)) return undefined;
  return `no endpoint carries all keys of any subset selector (${selectors.map((s) => s.keys.join("+")).join(", ")})`;
}

/** One cluster per destination host, from the endpoints file; lb_subset_config where a DR has dynamicSubset. */
function clustersFor(
  hosts: string[],
  input: AsmInput,
  endpoints: EndpointService[],
  clusterName: (host: string) => string,
  findings: Findings,
): Obj[] {
  return hosts.flatMap((host) => {
    const eps = endpoints.find((s) => fqdn(s.host, undefined) === host);
    if (!eps) {
      findings.problems.push(`endpoints: no endpoints for ${host} (add an item with host: ${host})`);
      return [];
    }
    const dr = input.destinationRules.find((d) => d.dynamicSubset && serviceHost(d) === host);
    const reason = dr?.dynamicSubset && noSubsetReason(eps, dr.dynamicSubset.subsetSelectors);
    if (reason)
      findings.refuse(
        "no-subsets",
        `endpoints: ${host}: no subset exists: ${reason}; every request would take the fallback`,
      );
    const policy = input.destinationRules.find((d) => serviceHost(d) === host);
    return [
      {
        ...cluster(clusterName(host), eps, dr),
        ...clusterTrafficPolicy(policy, destinationPort(input, host), findings.problems),
      },
    ];
  });
}

function renderVariant(
  variant: EnvoyVariant,
  many: boolean,
  options: EnvoyRenderOptions,
  warnings: string[],
): RenderedVariant {
  const name = variant.name ?? "dynamic_subset";
  const { input } = variant;
  const clusterName = (host: string) => (many ? `${name}|${host}` : host);
  const findings = new Findings(options.allowed);
  const problems = findings.problems;
  const { services, warnings: w } = pluginServices(
    input,
    (dr) => ({ cluster: clusterName(serviceHost(dr)) }),
    options.headerPrefix,
    options.allowed,
  );
  warnings.push(...input.warnings, ...w);
  const plugin: PluginConfig = { mode: "metadata" };
  if (options.headerPrefix) plugin.headerPrefix = options.headerPrefix;
  if (options.responseHeader) plugin.responseHeader = true;
  plugin.services = services;
  assertValidPluginConfig(plugin);

  const virtualHosts = input.virtualServices.map((vs) => ({
    name: `${vs.namespace ?? "default"}/${vs.name}`,
    domains: domains(vs.hosts, vs.namespace),
    routes: envoyRoutes(vs, clusterName, problems, warnings),
  }));
  const hosts = [...new Set(input.virtualServices.flatMap((vs) => vs.http.flatMap((r) => routeDestinations(vs, r))))];
  const clusters =
    options.output === "plugin-config" ? [] : clustersFor(hosts, input, options.endpoints, clusterName, findings);
  for (const dr of input.destinationRules) {
    if (dr.dynamicSubset && !hosts.includes(serviceHost(dr)))
      warnings.push(
        `${dr.ref} spec.host: no VirtualService route goes to ${serviceHost(dr)}; no cluster rendered for it`,
      );
  }
  warnings.push(...findings.warnings);
  findings.check();
  return { name, plugin, routeConfig: { name, virtual_hosts: virtualHosts }, clusters };
}

function listener(v: RenderedVariant, address: string, port: number, wasmFilename: string): Obj {
  return {
    name: v.name,
    address: { socket_address: { address, port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: typed("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", {
              stat_prefix: v.name,
              strip_any_host_port: true, // `Host: helloworld:8000` matches the domain helloworld, as in the mesh
              access_log: [
                {
                  name: "envoy.access_loggers.stdout",
                  typed_config: typed("envoy.extensions.access_loggers.stream.v3.StdoutAccessLog", {
                    log_format: {
                      text_format_source: {
                        inline_string:
                          `[${v.name}] "%REQ(:METHOD)% %REQ(:PATH)%" %RESPONSE_CODE% %RESPONSE_FLAGS% route=%ROUTE_NAME% ` +
                          "upstream=%UPSTREAM_HOST% decision=%FILTER_STATE(wasm.dynamic_subset:PLAIN)%\n",
                      },
                    },
                  }),
                },
              ],
              route_config: v.routeConfig,
              http_filters: httpFilters(v.plugin, wasmFilename),
            }),
          },
        ],
      },
    ],
  };
}

// The filter's counters carry their label Istio-style (assembly/filter/metrics.ts):
// `wasmcustom.dynamic_subset_outcome=.=<outcome>;.;dynamic_subset_outcomes_total`. One rule per tag strips the tag
// part from the name and makes it a label: Prometheus shows dynamic_subset_outcomes_total{dynamic_subset_outcome=
// "subset"} and dynamic_subset_requests_total{dynamic_subset_arrival="generated_route"}.
export const STATS_TAGS = ["dynamic_subset_outcome", "dynamic_subset_arrival"].map((tag) => ({
  tag_name: tag,
  regex: `(${tag}=\\.=(.*?);\\.;)`,
}));

export function renderEnvoy(
  variants: EnvoyVariant[],
  options: EnvoyRenderOptions,
): { documents: EnvoyDocument[]; warnings: string[] } {
  const warnings: string[] = [];
  const names = variants.map((v) => v.name ?? "dynamic_subset");
  if (new Set(names).size !== names.length)
    throw new InputError([`variants: names must be distinct (got ${names.join(", ")})`]);
  const rendered = variants.map((v) => renderVariant(v, variants.length > 1, options, warnings));
  const wasmFilename = options.wasmFilename ?? "build/dynamic_subset.wasm";
  const address = options.listenAddress ?? "127.0.0.1";
  const port = options.port ?? 10000;
  if (options.output === "plugin-config") {
    return {
      documents: rendered.map((v) => ({ comment: `${v.name}: plugin configuration`, value: v.plugin })),
      warnings,
    };
  }
  if (options.output === "parts") {
    const documents = rendered.flatMap((v): EnvoyDocument[] => [
      {
        comment: `${v.name}: plugin configuration (the JSON text of the wasm filter's configuration)`,
        value: v.plugin,
      },
      { comment: `${v.name}: HttpConnectionManager http_filters`, value: httpFilters(v.plugin, wasmFilename) },
      {
        comment: `${v.name}: HttpConnectionManager route_config (route names are what the filter reads as xds.route_name)`,
        value: v.routeConfig,
      },
      ...v.clusters.map((c) => ({ comment: `${v.name}: cluster ${String(c.name)}`, value: c })),
    ]);
    return { documents, warnings };
  }
  const bootstrap = {
    node: { id: "dynamic-subset", cluster: "dynamic-subset" },
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: options.adminPort ?? 9901 } } },
    stats_config: { stats_tags: STATS_TAGS },
    static_resources: {
      listeners: rendered.map((v, i) => listener(v, address, port + i, wasmFilename)),
      clusters: rendered.flatMap((v) => v.clusters),
    },
  };
  const listing = rendered.map((v, i) => `${v.name} on ${address}:${port + i}`).join(", ");
  return {
    documents: [
      {
        comment: `Envoy bootstrap. Listeners: ${listing}; admin on 127.0.0.1:${options.adminPort ?? 9901}.`,
        value: bootstrap,
      },
    ],
    warnings,
  };
}

const FAILURE_POLICY_COMMENT = [
  " No fail_open / failure_policy on purpose: Envoy's default is closed on every supported version (fail_open",
  " false before 1.33; FAIL_CLOSED or FAIL_RELOAD from 1.33). Never fail open: a skipped filter would not strip",
  " client-sent internal headers. failure_policy is unknown to Envoy < 1.33 and to the protos this file is checked with.",
].join("\n");

/** Maps whose string values are double-quoted in the output, so that a reader sees they are strings. */
const QUOTED_UNDER = new Set(["envoy.lb", "default_subset", "defaultSubset"]);

export function envoyYaml(documents: EnvoyDocument[], header = ""): string {
  const texts = documents.map(({ comment, value }) => {
    const doc = new Document(value);
    doc.commentBefore = ` ${comment}`;
    visit(doc, {
      Pair(_, pair) {
        if (
          isPair(pair) &&
          isScalar(pair.key) &&
          pair.key.value === "config" &&
          isMap(pair.value) &&
          pair.value.get("root_id") === ROOT_ID
        ) {
          pair.key.commentBefore = FAILURE_POLICY_COMMENT;
        }
        if (isPair(pair) && isScalar(pair.key) && QUOTED_UNDER.has(String(pair.key.value))) {
          visit(pair.value as never, {
            Pair(_k, p) {
              if (isScalar(p.value) && typeof p.value.value === "string") p.value.type = "QUOTE_DOUBLE";
            },
          });
        }
      },
    });
    return yamlText(doc);
  });
  return header + texts.join("---\n");
}
