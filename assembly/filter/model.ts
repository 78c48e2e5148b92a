// The validated plugin configuration (docs/configuration.md), as `config/` produces it and
// `tables/compile.ts` compiles it. Plain data: no lookups here, nothing on the hot path.
//
// Invariants guaranteed by config/ (the compiler may rely on them):
// - header names are lower-cased header-name tokens; headerPrefix is lower-case; cookie names and baggage keys
//   are tokens, query parameter names visible ASCII without # % & + =;
// - keys and label values are non-empty; values are valid label values, or IP
//   literals for the key `%ip%`;
// - selector keys are distinct and non-empty; at most MAX_KEYS_PER_SERVICE
//   distinct keys across one service's selectors and mappings;
// - DEFAULT_SUBSET (global or per selector) implies defaultSubset != null;
// - route names are distinct, at most one route without a name;
// - exactly one of cluster / host is set; no two services have the same cluster or the same host;
// - no header a mapping reads (HeaderMapping.header) is an internal header (none starts with headerPrefix or
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

/** Where a mapping reads its value (docs/configuration.md, "Key sources"); the mapping's field of that name. */
export const enum KeySource {
  Header = 0,
  Cookie = 1,
  Query = 2,
  Baggage = 3,
}

/** The request header each source reads, indexed by KeySource (a header mapping reads the header it names). */
const SOURCE_HEADERS: StaticArray<string> = ["", "cookie", ":path", "baggage"];

/** The request header a mapping of `source` with `name` reads. */
export function sourceHeader(source: KeySource, name: string): string {
  return source == KeySource.Header ? name : SOURCE_HEADERS[source];
}

/** One `headerToDynamicSubsetKey` entry. */
export class HeaderMapping {
  /** The request header the value comes from (lower-cased): the mapped header, or cookie, :path, baggage. */
  readonly header: string;

  constructor(
    public source: KeySource,
    public name: string, // the header name (lower-cased), cookie name, query parameter name or baggage key
    public key: string,
    public defaultValue: string | null,
  ) {
    this.header = sourceHeader(source, name);
  }
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
