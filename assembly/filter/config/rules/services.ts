// The root object and services[]: the mode and headerPrefix every other rule depends on, each service's
// destination, and the checks that need a whole service or the whole configuration.

import { DEFAULT_HEADER_PREFIX, MAX_KEYS_PER_SERVICE } from "../../../../src/config/constants";
import { decimal } from "../../decimal";
import { StringSet } from "../../json/document";
import { Msg } from "../../messages";
import { Catalog, Mode, PluginConfig, ServiceConfig } from "../../model";
import { ABSENT, JsonReader, quote, Value } from "../reader";
import { hasUpperCase, isDns1123Subdomain, isHeaderToken } from "../syntax";
import { CatalogRules } from "./catalog";
import { DynamicSubset, DynamicSubsetRules } from "./dynamic-subset";
import { LabelRules } from "./labels";
import { RouteRules, Routes } from "./routes";

const ROOT_FIELDS: StaticArray<string> = ["mode", "headerPrefix", "responseHeader", "services"];
const SERVICE_FIELDS: StaticArray<string> = ["cluster", "host", "dynamicSubset", "routes", "catalog"];
// in Mode order
const MODES: StaticArray<string> = ["metadata", "catalog"];

/** The whole configuration; null when the root is not an object. Problems are in the reader. */
export function readPluginConfig(r: JsonReader): PluginConfig | null {
  const root = r.root;
  if (!r.object(root, ROOT_FIELDS)) return null;
  let mode = Mode.Metadata;
  let modeKnown = true;
  const modeValue = r.member(root, "mode");
  if (modeValue != ABSENT) {
    const index = r.oneOf(modeValue, MODES);
    if (index >= 0) mode = <Mode>index;
    modeKnown = index >= 0;
  }
  let headerPrefix = DEFAULT_HEADER_PREFIX;
  const prefixValue = r.member(root, "headerPrefix");
  if (prefixValue != ABSENT) {
    const prefix = r.nonEmptyString(prefixValue);
    if (prefix != null) {
      if (isHeaderToken(prefix) && !hasUpperCase(prefix)) headerPrefix = prefix;
      else r.error(prefixValue, Msg.NotLowerCaseHeaderToken, quote(prefix));
    }
  }
  let responseHeader = false;
  const responseHeaderValue = r.member(root, "responseHeader");
  if (responseHeaderValue != ABSENT && r.boolean(responseHeaderValue)) responseHeader = r.isTrue(responseHeaderValue);
  const services: ServiceConfig[] = [];
  const servicesValue = r.member(root, "services");
  if (servicesValue != ABSENT) new ServiceRules(r, mode, modeKnown, headerPrefix).services(servicesValue, services);
  return new PluginConfig(mode, headerPrefix, responseHeader, services);
}

class ServiceRules {
  private dynamicSubsets: DynamicSubsetRules;
  private routes: RouteRules;
  private catalogs: CatalogRules;
  // services[] index of each cluster / host seen so far
  private clusters: Map<string, i32> = new Map<string, i32>();
  private hosts: Map<string, i32> = new Map<string, i32>();
  // per valid service, the routes read (with the places of their mappings)
  private routesRead: Routes[] = [];

  constructor(
    private r: JsonReader,
    private mode: Mode,
    private modeKnown: bool,
    headerPrefix: string,
  ) {
    const labels = new LabelRules(r);
    this.dynamicSubsets = new DynamicSubsetRules(r, labels);
    this.routes = new RouteRules(r, labels, headerPrefix);
    this.catalogs = new CatalogRules(r, labels, headerPrefix);
  }

  services(list: Value, out: ServiceConfig[]): void {
    const n = this.r.list(list);
    for (let i = 0; i < n; i++) {
      const service = this.service(this.r.item(list, i), i);
      if (service != null) out.push(service);
    }
    if (this.r.errorCount == 0) this.checkSessionHeaders(out);
  }

  private service(value: Value, index: i32): ServiceConfig | null {
    const r = this.r;
    const before = r.errorCount;
    if (!r.object(value, SERVICE_FIELDS)) return null;
    const clusterValue = r.member(value, "cluster");
    const hostValue = r.member(value, "host");
    if (clusterValue != ABSENT && hostValue != ABSENT) r.error(value, Msg.ClusterAndHost);
    else if (clusterValue == ABSENT && hostValue == ABSENT) r.error(value, Msg.ClusterOrHost);
    let cluster: string | null = null;
    if (clusterValue != ABSENT) {
      cluster = r.nonEmptyString(clusterValue);
      if (cluster != null) r.distinct(clusterValue, this.clusters, cluster, index, Msg.DuplicateCluster);
    }
    let host: string | null = null;
    if (hostValue != ABSENT) {
      host = this.host(hostValue);
      if (host != null) r.distinct(hostValue, this.hosts, host, index, Msg.DuplicateHost);
    }

    let part: DynamicSubset | null = null;
    const dynamicSubset = r.required(value, "dynamicSubset");
    if (dynamicSubset != ABSENT) part = this.dynamicSubsets.dynamicSubset(dynamicSubset);
    const routesValue = r.member(value, "routes");
    const routes = routesValue != ABSENT ? this.routes.routes(routesValue) : new Routes();
    if (part != null) this.checkKeys(value, part, routes);

    const catalog = this.catalog(value);
    if (part == null || r.errorCount > before) return null;
    this.routesRead.push(routes);
    const configs = routes.configs;
    return new ServiceConfig(cluster, host, part.selectors, part.defaultSubset, part.fallbackPolicy, configs, catalog);
  }

  /** The host name, or null when it is not one. */
  private host(value: Value): string | null {
    const s = this.r.nonEmptyString(value);
    if (s == null) return null;
    const name = s.startsWith("*.") ? s.substring(2, s.length) : s;
    if (isDns1123Subdomain(name)) return s;
    this.r.error(value, Msg.NotDnsName, quote(s));
    return null;
  }

  /** The service's catalog: required in catalog mode, ignored (with a warning, unread) in metadata mode. */
  private catalog(service: Value): Catalog | null {
    const value = this.r.member(service, "catalog");
    if (value == ABSENT) {
      if (this.mode == Mode.Catalog) this.r.error(this.r.absent(service, "catalog"), Msg.CatalogRequired);
      return null;
    }
    if (this.mode == Mode.Catalog) return this.catalogs.catalog(value);
    // with a mode that is not valid, which rules apply is unknown: read it for its problems
    if (this.modeKnown) this.r.warn(value, Msg.CatalogIgnored);
    else this.catalogs.catalog(value);
    return null;
  }

  /** The key budget of a service, and mappings whose key no selector uses. */
  private checkKeys(service: Value, part: DynamicSubset, routes: Routes): void {
    let extraKeys: StringSet | null = null;
    let place = 0; // index in routes.keyPlaces
    for (let r = 0; r < routes.configs.length; r++) {
      const mappings = unchecked(routes.configs[r]).mappings;
      for (let m = 0; m < mappings.length; m++, place++) {
        const key = unchecked(mappings[m]).key;
        if (part.selectorKeys.has(key)) continue;
        if (extraKeys == null) extraKeys = new Map<string, i32>();
        extraKeys.set(key, 0);
        if (part.selectors.length > 0) this.r.warn(routes.keyPlaces[place], Msg.UnusedKey, quote(key));
      }
    }
    const total = part.selectorKeys.size + (extraKeys == null ? 0 : extraKeys.size);
    if (total > MAX_KEYS_PER_SERVICE) {
      this.r.error(service, Msg.TooManyServiceKeys, decimal(total), decimal(MAX_KEYS_PER_SERVICE));
    }
  }

  /** A mapped header equal to some catalog's session header would be removed before it is read. */
  private checkSessionHeaders(services: ServiceConfig[]): void {
    const owners = new Map<string, i32>();
    for (let i = 0; i < services.length; i++) {
      const catalog = unchecked(services[i]).catalog;
      if (catalog != null && !owners.has(catalog.sessionHeader)) owners.set(catalog.sessionHeader, i);
    }
    if (owners.size == 0) return;
    for (let i = 0; i < this.routesRead.length; i++) {
      const routes = unchecked(this.routesRead[i]);
      let place = 0; // index in routes.sourcePlaces
      for (let r = 0; r < routes.configs.length; r++) {
        const mappings = unchecked(routes.configs[r]).mappings;
        for (let m = 0; m < mappings.length; m++, place++) {
          const header = unchecked(mappings[m]).header;
          if (!owners.has(header)) continue;
          this.r.error(routes.sourcePlaces[place], Msg.IsSessionHeader, quote(header), decimal(owners.get(header)));
        }
      }
    }
  }
}
