// The plugin configuration (SPEC §3) as the renderers produce it. The JSON Schema in
// schema/plugin-config.schema.json is the contract; these types mirror it.

export type Mode = "metadata" | "catalog";
export type FallbackPolicy = "NO_FALLBACK" | "ANY_ENDPOINT" | "DEFAULT_SUBSET";
export type Labels = Record<string, string>;

export interface HeaderMapping {
  header: string;
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

export const IP_KEY = "%ip%";
export const DEFAULT_HEADER_PREFIX = "x-dynamic-subset-";
