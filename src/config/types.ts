// The plugin configuration (docs/configuration.md) as the renderers produce it. The JSON Schema in
// schema/plugin-config.schema.json is the contract; test/config/types.test.mjs checks that these types agree with it
// member by member. The constants shared with the filter are in constants.ts.

export type Mode = "metadata" | "catalog";
export type FallbackPolicy = "NO_FALLBACK" | "ANY_ENDPOINT" | "DEFAULT_SUBSET";
export type Labels = Record<string, string>;

/** One subset key and where a request gives its value: exactly one of header, cookie, query, baggage. */
export interface HeaderMapping {
  header?: string; // a request header (ASM's field)
  cookie?: string; // a cookie of the Cookie header
  query?: string; // a query parameter of :path, percent-decoded
  baggage?: string; // a member of the W3C baggage header, percent-decoded
  key: string;
  defaultValue?: string;
}

export interface RouteConfig {
  name?: string;
  headerToDynamicSubsetKey: HeaderMapping[];
}

export interface SubsetSelector {
  keys: string[];
  fallbackPolicy?: FallbackPolicy;
}

export type LbPolicy = "RANDOM" | "ROUND_ROBIN" | "LEAST_REQUEST";

export interface DynamicSubset {
  subsetSelectors: SubsetSelector[];
  lbPolicy?: LbPolicy; // accepted and validated by the filter, used only by the renderers
  defaultSubset?: Labels;
  fallbackPolicy?: FallbackPolicy;
}

export interface CatalogSubset {
  name: string;
  labels: Labels;
}

export interface CatalogEndpoint {
  address: string; // ip:port
  labels: Labels;
}

export interface Catalog {
  routeToken: string;
  subsets: CatalogSubset[];
  endpoints?: CatalogEndpoint[];
  sessionHeader?: string;
}

export interface ServiceConfig {
  cluster?: string;
  host?: string;
  dynamicSubset: DynamicSubset;
  routes?: RouteConfig[];
  catalog?: Catalog;
}

export interface PluginConfig {
  mode?: Mode;
  headerPrefix?: string;
  responseHeader?: boolean;
  services?: ServiceConfig[];
}

export { DEFAULT_HEADER_PREFIX, IP_KEY } from "./constants.js";
