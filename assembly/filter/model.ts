// The validated plugin configuration (docs/configuration.md), as `config/` produces it and
// `tables/compile.ts` compiles it. Plain data: no lookups here, nothing on the hot path.
//
// Invariants guaranteed by config/ (the compiler may rely on them):
// - header names are lower-cased header-name tokens; headerPrefix is lower-case;
// - keys and label values are non-empty; values are valid label values, or IP
//   literals for the key `%ip%`;
// - selector keys are distinct and non-empty; at most MAX_KEYS_PER_SERVICE
//   distinct keys across one service's selectors and mappings;
// - DEFAULT_SUBSET (global or per selector) implies defaultSubset != null;
// - route names are distinct, at most one route without a name;
// - exactly one of cluster / host is set; no two services have the same cluster or the same host;
// - no mapping header is an internal header (none starts with headerPrefix or
//   equals a sessionHeader): the hot path reads mapped headers without checking;
// - catalog != null in catalog mode (null in metadata mode: ignored with a warning).

export const enum Mode {
  Metadata = 0,
  Catalog = 1,
}

export const enum FallbackPolicy {
  Unset = 0, // selector without its own policy: the global one applies
  NoFallback = 1,
  AnyEndpoint = 2,
  DefaultSubset = 3,
}

export class Label {
  constructor(
    public key: string,
    public value: string,
  ) {}
}

/** One `headerToDynamicSubsetKey` entry. */
export class HeaderMapping {
  constructor(
    public header: string, // lower-cased
    public key: string,
    public defaultValue: string | null,
  ) {}
}

/** One `routes[]` entry; name null = applies to every other route. */
export class RouteConfig {
  constructor(
    public name: string | null,
    public mappings: HeaderMapping[],
  ) {}
}

export class SubsetSelector {
  constructor(
    public keys: string[],
    public fallbackPolicy: FallbackPolicy,
  ) {}
}

export class CatalogSubset {
  constructor(
    public name: string,
    public labels: Label[],
  ) {}
}

export class CatalogEndpoint {
  constructor(
    public address: string, // "ip:port" or "[ipv6]:port", as written in the configuration
    public ip: string, // the address without port (and without brackets)
    public labels: Label[],
  ) {}
}

export class Catalog {
  constructor(
    public routeToken: string,
    public subsets: CatalogSubset[],
    public endpoints: CatalogEndpoint[],
    public sessionHeader: string, // lower-cased; default headerPrefix + "host"
  ) {}
}

export class ServiceConfig {
  constructor(
    public cluster: string | null,
    public host: string | null,
    public selectors: SubsetSelector[],
    public defaultSubset: Label[] | null,
    public fallbackPolicy: FallbackPolicy, // global; NoFallback when absent
    public routes: RouteConfig[],
    public catalog: Catalog | null,
  ) {}
}

export class PluginConfig {
  constructor(
    public mode: Mode,
    public headerPrefix: string,
    public responseHeader: bool,
    public services: ServiceConfig[],
  ) {}
}

/** What parseConfig returns: a config, or the list of problems (never both). */
export class ConfigResult {
  constructor(
    public config: PluginConfig | null,
    public errors: string[], // "<json path>: <problem>", one per problem
    public warnings: string[],
  ) {}
}
