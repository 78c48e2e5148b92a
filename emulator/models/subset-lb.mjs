// Model of Envoy's subset load balancer and of the router's metadata match criteria
// (source/extensions/load_balancing_policies/subset/subset_lb.cc; docs/envoy.md "Subset load balancer").
//
// It answers which endpoints a request CAN reach, not which one a round robin would pick next: every host is taken
// as healthy, so the child load balancer of a subset serves exactly the subset's hosts of its lowest priority.
// Configurations whose answer would depend on health, locality weighting or a hash are refused.

import { compareKeys, entriesOf, hashedKey, kindOf, structFromJson, valueEquals } from "./metadata-value.mjs";
import {
  enumName,
  expectObject,
  onlyFields,
  optionalBool,
  optionalList,
  optionalString,
  present,
} from "./proto-json.mjs";

const ENVOY_LB = "envoy.lb";
const FALLBACK_LIST_KEY = "fallback_list";
const SUBSET_POLICY_TYPE = "type.googleapis.com/envoy.extensions.load_balancing_policies.subset.v3.Subset";
// Child policies that spread over every host handed to them (with all hosts healthy).
const PLAIN_POLICY_TYPES = new Set(
  [
    "round_robin.v3.RoundRobin",
    "least_request.v3.LeastRequest",
    "random.v3.Random",
    "ring_hash.v3.RingHash",
    "maglev.v3.Maglev",
  ].map((t) => `type.googleapis.com/envoy.extensions.load_balancing_policies.${t}`),
);
const FALLBACK_POLICIES = ["NO_FALLBACK", "ANY_ENDPOINT", "DEFAULT_SUBSET"];
const SELECTOR_FALLBACK_POLICIES = ["NOT_DEFINED", "NO_FALLBACK", "ANY_ENDPOINT", "DEFAULT_SUBSET", "KEYS_SUBSET"];
const METADATA_FALLBACK_POLICIES = ["METADATA_NO_FALLBACK", "FALLBACK_LIST"];
const SUBSET_FIELDS = [
  "fallback_policy",
  "default_subset",
  "subset_selectors",
  "locality_weight_aware",
  "scale_locality_weight",
  "panic_mode_any",
  "list_as_any",
  "metadata_fallback_policy",
];
const HEALTHY_STATUSES = ["UNKNOWN", "HEALTHY"];

/** Router::sendNoHealthyUpstreamResponse: what the client sees when chooseHost returns null. */
export function noHealthyUpstream() {
  return { noHost: true, status: 503, body: "no healthy upstream", flag: "UH" };
}

export class SubsetLoadBalancer {
  /** @param cluster JSON form of envoy.config.cluster.v3.Cluster (snake_case) with an inline load_assignment */
  constructor(cluster) {
    expectObject(cluster, "cluster");
    this.hosts = parseHosts(cluster);
    this.info = parseSubsetInfo(cluster);
    this.stats = { singleHostPerSubsetDuplicate: 0 };
    if (!this.info?.enabled) {
      // No lb_subset_config (or no selectors): the cluster's own load balancer over every host.
      this.plain = new PrioritySubset();
      for (const host of this.hosts) this.plain.pushHost(host);
      return;
    }
    this.initFallbackSubsets();
    this.selectorsTrie = initSubsetSelectorMap(this.info.selectors);
    this.subsets = new Map();
    this.processSubsets();
  }

  /**
   * The endpoints a request with these criteria can reach.
   * @param criteria merged metadata match criteria: Map or object key -> tagged value (see routerCriteria), or null
   * @returns {{ hosts: string[] } | ReturnType<typeof noHealthyUpstream>}
   */
  hostsFor(criteria) {
    const sorted = sortedCriteria(criteria);
    const subset = this.plain ? this.plain.reachable() : this.chooseHost(sorted);
    return subset ? { hosts: [...new Set(subset.map((host) => host.address))] } : noHealthyUpstream();
  }

  // SubsetLoadBalancer constructor: the fallback subset (global policy), the any-endpoint subset for panic_mode_any,
  // and both for per-selector policies that use them (initSelectorFallbackSubset). Filled by updateFallbackSubset.
  initFallbackSubsets() {
    const { fallbackPolicy, panicModeAny, selectors, defaultSubset, listAsAny } = this.info;
    const policies = new Set([fallbackPolicy, ...selectors.map((s) => s.fallbackPolicy)]);
    this.subsetAny = policies.has("ANY_ENDPOINT") || panicModeAny ? new PrioritySubset() : null;
    this.subsetDefault = policies.has("DEFAULT_SUBSET") ? new PrioritySubset() : null;
    this.fallbackSubset = { NO_FALLBACK: null, ANY_ENDPOINT: this.subsetAny, DEFAULT_SUBSET: this.subsetDefault }[
      fallbackPolicy
    ];
    this.panicModeSubset = panicModeAny ? this.subsetAny : null;
    // SubsetLoadBalancer::updateFallbackSubset / hostMatches (Config::Metadata::metadataLabelMatch)
    for (const host of this.hosts) {
      this.subsetAny?.pushHost(host);
      if (this.subsetDefault && metadataLabelMatch(defaultSubset, host.labels, listAsAny))
        this.subsetDefault.pushHost(host);
    }
  }

  // SubsetLoadBalancer::processSubsets, called per priority in ascending order (refreshSubsets).
  processSubsets() {
    for (const priorityHosts of groupByPriority(this.hosts)) {
      const singleHostEntries = new Set();
      let collisions = 0;
      for (const host of priorityHosts) {
        for (const selector of this.info.selectors) {
          for (const kvs of extractSubsetMetadata(selector.keys, host, this.info.listAsAny)) {
            const entry = findOrCreateLbSubsetEntry(this.subsets, kvs);
            if (entry === null) continue; // a value that can never be matched (NaN)
            entry.lbSubset ??= selector.singleHostPerSubset ? new SingleHostSubset() : new PrioritySubset();
            if (entry.lbSubset instanceof SingleHostSubset) {
              if (singleHostEntries.has(entry)) {
                collisions++;
                continue;
              }
              singleHostEntries.add(entry);
            }
            entry.lbSubset.pushHost(host);
          }
        }
      }
      this.stats.singleHostPerSubsetDuplicate = collisions; // a gauge set per update
    }
  }

  // SubsetLoadBalancer::chooseHost (metadata_fallback_policy, docs/envoy.md "metadata_fallback_policy and fallback_list")
  chooseHost(criteria) {
    if (this.info.metadataFallbackPolicy !== "FALLBACK_LIST") return this.chooseHostIteration(criteria);
    const fallbacks = criteria?.find(([name]) => name === FALLBACK_LIST_KEY);
    if (!fallbacks) return this.chooseHostIteration(criteria);
    // removeMetadataFallbackList. When fallback_list is the only criterion, Envoy's filterMatchCriteria returns
    // nullptr and the merge below would dereference it; the unit tests (whose criteria class returns an empty set
    // instead) route such a request, so the model follows the tests: the base is the empty criteria.
    const base = criteria.filter(([name]) => name !== FALLBACK_LIST_KEY);
    const entries = kindOf(fallbacks[1]) === "list" ? fallbacks[1].list : []; // list_value() of a non-list is empty
    // chooseHostWithMetadataFallbacks: the base alone is not tried when the list has entries (envoy#36344).
    if (entries.length === 0) return this.chooseHostIteration(base);
    for (const entry of entries) {
      const override = kindOf(entry) === "struct" ? entriesOf(entry.struct) : []; // struct_value() of a non-struct is empty
      const hosts = this.chooseHostIteration(mergeMatchCriteria(base, override));
      if (hosts) return hosts;
    }
    return null;
  }

  // SubsetLoadBalancer::chooseHostIteration
  chooseHostIteration(criteria) {
    if (criteria) {
      const used =
        (this.info.allowRedundantKeys && filterCriteriaBySelectors(this.info.selectors, criteria)) || criteria;
      // tryChooseHostFromContext: an active subset is the answer, "even if it's nullptr" (no fallback).
      const entry = findSubset(this.subsets, used);
      if (entry?.lbSubset?.active()) return entry.lbSubset.reachable();
      const params = tryFindSelectorFallbackParams(this.selectorsTrie, used);
      if (params && params.fallbackPolicy !== "NOT_DEFINED")
        return this.chooseHostForSelectorFallbackPolicy(params, used);
    }
    if (!this.fallbackSubset) return null;
    const fallback = this.fallbackSubset.reachable();
    if (fallback) return fallback;
    return this.panicModeSubset?.reachable() ?? null;
  }

  // SubsetLoadBalancer::chooseHostForSelectorFallbackPolicy (no panic_mode_any on this path)
  chooseHostForSelectorFallbackPolicy(params, criteria) {
    switch (params.fallbackPolicy) {
      case "ANY_ENDPOINT":
        return this.subsetAny?.reachable() ?? null;
      case "DEFAULT_SUBSET":
        return this.subsetDefault?.reachable() ?? null;
      case "KEYS_SUBSET":
        return this.chooseHostIteration(filterMatchCriteria(criteria, params.fallbackKeysSubset));
      default:
        return null;
    }
  }
}

// PriorityLbSubset: the subset's hosts per priority. With every host healthy the child load balancer sends all
// traffic to the lowest priority that has hosts, and spreads it over all of them.
class PrioritySubset {
  constructor() {
    this.byPriority = new Map();
  }

  pushHost(host) {
    if (!this.byPriority.has(host.priority)) this.byPriority.set(host.priority, []);
    const hosts = this.byPriority.get(host.priority);
    if (!hosts.includes(host)) hosts.push(host); // a HostHashSet: two selectors may push the same host
  }

  active() {
    return this.byPriority.size > 0;
  }

  reachable() {
    if (!this.active()) return null;
    return this.byPriority.get(Math.min(...this.byPriority.keys()));
  }
}

// SingleHostLbSubset: one host per priority (the first seen, processSubsets skips the rest); chooseHost returns the
// lowest priority's host without looking at health.
class SingleHostSubset extends PrioritySubset {
  reachable() {
    const hosts = super.reachable();
    return hosts && [hosts[0]];
  }
}

// SubsetLoadBalancer::initSubsetSelectorMap — the per-selector fallback is recorded only on the node a selector
// CREATES for its last key: a selector whose sorted keys are a prefix of an earlier selector's loses its fallback
// (docs/envoy.md "Selector order and per-selector fallback"). Reproduced on purpose: the renderer orders selectors to avoid it.
function initSubsetSelectorMap(selectors) {
  const root = selectorNode();
  for (const selector of selectors) {
    let node = root;
    selector.keys.forEach((key, pos) => {
      if (!node.children.has(key)) {
        const child = selectorNode();
        if (pos === selector.keys.length - 1) {
          child.fallbackPolicy = selector.fallbackPolicy;
          child.fallbackKeysSubset = selector.fallbackKeysSubset;
        }
        node.children.set(key, child);
      }
      node = node.children.get(key);
    });
  }
  return root;
}

function selectorNode() {
  return { children: new Map(), fallbackPolicy: "NOT_DEFINED", fallbackKeysSubset: [] };
}

// SubsetLoadBalancer::tryFindSelectorFallbackParams: walk the selector trie by criteria names only.
function tryFindSelectorFallbackParams(root, criteria) {
  let node = root;
  for (const [index, [name]] of criteria.entries()) {
    node = node.children.get(name);
    if (!node) return null;
    if (index === criteria.length - 1) return node;
  }
  return null;
}

// SubsetLoadBalancer::findSubset: every criterion must be consumed, key by key and value by value.
function findSubset(subsets, criteria) {
  let level = subsets;
  for (const [index, [name, value]] of criteria.entries()) {
    const key = hashedKey(value);
    const entry = key === null ? undefined : level.get(name)?.get(key);
    if (!entry) return null;
    if (index === criteria.length - 1) return entry;
    level = entry.children;
  }
  return null;
}

// SubsetLoadBalancer::findOrCreateLbSubsetEntry
function findOrCreateLbSubsetEntry(subsets, kvs) {
  let level = subsets;
  let entry = null;
  for (const [name, value] of kvs) {
    const key = hashedKey(value);
    if (key === null) return null;
    if (!level.has(name)) level.set(name, new Map());
    const values = level.get(name);
    if (!values.has(key)) values.set(key, { children: new Map(), lbSubset: null });
    entry = values.get(key);
    level = entry.children;
  }
  return entry;
}

// SubsetLoadBalancer::extractSubsetMetadata: one key/value tuple per subset the host belongs to for these (sorted)
// keys; none if the host lacks any key; list_as_any fans a list value out into one tuple per element.
function extractSubsetMetadata(keys, host, listAsAny) {
  if (!host.labels) return [];
  let all = [[]];
  for (const key of keys) {
    if (!host.labels.has(key)) return [];
    const value = host.labels.get(key);
    const choices = listAsAny && kindOf(value) === "list" ? value.list : [value];
    all = all.flatMap((kvs) => choices.map((v) => [...kvs, [key, v]]));
  }
  return all;
}

// Config::Metadata::metadataLabelMatch (source/common/config/metadata.cc)
function metadataLabelMatch(labelSet, hostLabels, listAsAny) {
  if (!hostLabels) return labelSet.length === 0;
  return labelSet.every(([key, wanted]) => {
    if (!hostLabels.has(key)) return false;
    const value = hostLabels.get(key);
    if (listAsAny && kindOf(value) === "list") return value.list.some((v) => valueEquals(v, wanted));
    return valueEquals(value, wanted);
  });
}

// filterCriteriaBySelectors (subset_lb.cc): the first selector (key-count order) whose keys are all present.
function filterCriteriaBySelectors(selectors, criteria) {
  for (const selector of selectors) {
    const sub = filterMatchCriteria(criteria, selector.keys);
    if (sub && sub.length === selector.keys.length) return sub;
  }
  return null;
}

// MetadataMatchCriteriaImpl::filterMatchCriteria: the criteria with these names, null if none.
function filterMatchCriteria(criteria, names) {
  const filtered = criteria.filter(([name]) => names.includes(name));
  return filtered.length === 0 ? null : filtered;
}

// MetadataMatchCriteriaImpl::extractMetadataMatchCriteria (mergeMatchCriteria): later values replace same-name
// earlier ones, then the list is sorted by name.
function mergeMatchCriteria(parent, overrides) {
  const merged = new Map(parent ?? []);
  for (const [name, value] of overrides) merged.set(name, value);
  return [...merged].sort(([a], [b]) => compareKeys(a, b));
}

/**
 * Router::Filter::metadataMatchCriteria (source/common/router/router.h): the route's metadata_match["envoy.lb"]
 * (already merged with the chosen weighted cluster's, which wins), then the request's envoy.lb dynamic metadata,
 * which wins over both. Sorted by key.
 * @param routeMetadataMatch the route's `metadata_match` JSON ({filter_metadata: {"envoy.lb": {...}}}) or null
 * @param dynamicMetadata { namespace: { key: tagged } }, e.g. from applyHeaderToMetadata
 * @param weightedClusterMetadataMatch the chosen weighted cluster's `metadata_match` JSON, or null
 * @returns {Map<string, object> | null} null when there are no criteria at all
 */
export function routerCriteria(routeMetadataMatch, dynamicMetadata, weightedClusterMetadataMatch) {
  // RouteEntryImplBase / WeightedClusterEntry constructors
  let criteria = envoyLbStruct(routeMetadataMatch, "route.metadata_match");
  const cluster = envoyLbStruct(weightedClusterMetadataMatch, "weighted_cluster.metadata_match");
  if (cluster) criteria = mergeMatchCriteria(criteria, cluster);
  if (dynamicMetadata && Object.hasOwn(dynamicMetadata, ENVOY_LB)) {
    const request = entriesOf(dynamicMetadata[ENVOY_LB]);
    request.forEach(([name, value]) => kindOf(value, `dynamicMetadata["envoy.lb"].${name}`));
    criteria = mergeMatchCriteria(criteria, request);
  }
  return criteria && new Map(criteria);
}

function envoyLbStruct(metadataMatch, path) {
  if (!present(metadataMatch)) return null;
  expectObject(metadataMatch, path);
  onlyFields(metadataMatch, ["filter_metadata", "typed_filter_metadata"], path);
  const filterMetadata = metadataMatch.filter_metadata ?? {};
  if (!Object.hasOwn(filterMetadata, ENVOY_LB)) return null;
  return mergeMatchCriteria(null, structFromJson(filterMetadata[ENVOY_LB], `${path}.filter_metadata["envoy.lb"]`));
}

/** Criteria (Map / object / [name, value][] / null) -> [name, tagged][] sorted by name, or null. */
function sortedCriteria(criteria) {
  if (!present(criteria)) return null;
  const entries = Array.isArray(criteria) ? criteria : entriesOf(criteria);
  entries.forEach(([name, value]) => kindOf(value, `criteria.${name}`));
  return mergeMatchCriteria(null, entries);
}

// The hosts of the cluster, in Envoy's order: per priority, localities in order, lb_endpoints in order.
function parseHosts(cluster) {
  if (cluster.type === "ORIGINAL_DST" || cluster.lb_policy === "CLUSTER_PROVIDED") {
    throw new Error("cluster: ORIGINAL_DST / CLUSTER_PROVIDED clusters are not modelled");
  }
  if (!present(cluster.load_assignment))
    throw new Error("cluster.load_assignment: required (the model needs the endpoints inline)");
  const hosts = [];
  optionalList(cluster.load_assignment.endpoints, "cluster.load_assignment.endpoints").forEach((locality, i) => {
    const path = `cluster.load_assignment.endpoints[${i}]`;
    expectObject(locality, path);
    if (present(locality.leds_cluster_locality_config))
      throw new Error(`${path}.leds_cluster_locality_config: not modelled`);
    const priority = present(locality.priority) ? locality.priority : 0;
    if (!Number.isInteger(priority) || priority < 0)
      throw new Error(`${path}.priority: expected a non-negative integer`);
    optionalList(locality.lb_endpoints, `${path}.lb_endpoints`).forEach((lbEndpoint, j) => {
      hosts.push(parseLbEndpoint(lbEndpoint, priority, `${path}.lb_endpoints[${j}]`));
    });
  });
  return hosts;
}

function parseLbEndpoint(lbEndpoint, priority, path) {
  expectObject(lbEndpoint, path);
  if (present(lbEndpoint.endpoint_name))
    throw new Error(`${path}.endpoint_name: not modelled (give the endpoint inline)`);
  const health = enumName(
    lbEndpoint.health_status,
    ["UNKNOWN", "HEALTHY", "UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED"],
    `${path}.health_status`,
  );
  if (!HEALTHY_STATUSES.includes(health)) {
    throw new Error(`${path}.health_status: ${health} is not modelled (the model answers for healthy endpoints only)`);
  }
  const socket = lbEndpoint.endpoint?.address?.socket_address;
  if (!socket) throw new Error(`${path}.endpoint.address.socket_address: required`);
  const ip = optionalString(socket.address, `${path}.endpoint.address.socket_address.address`);
  if (!Number.isInteger(socket.port_value))
    throw new Error(`${path}.endpoint.address.socket_address.port_value: required (named ports are not modelled)`);
  const filterMetadata = lbEndpoint.metadata?.filter_metadata ?? {};
  const labels = Object.hasOwn(filterMetadata, ENVOY_LB)
    ? structFromJson(filterMetadata[ENVOY_LB], `${path}.metadata.filter_metadata["envoy.lb"]`)
    : null;
  // Address::Ipv6Instance::asString brackets IPv6 addresses.
  const address = ip.includes(":") ? `[${ip}]:${socket.port_value}` : `${ip}:${socket.port_value}`;
  return { address, priority, labels };
}

function groupByPriority(hosts) {
  const priorities = [...new Set(hosts.map((h) => h.priority))].sort((a, b) => a - b);
  return priorities.map((p) => hosts.filter((h) => h.priority === p));
}

// SubsetLoadBalancerConfig / LoadBalancerSubsetInfoImpl (subset_lb_config.h): legacy lb_subset_config or the typed
// envoy.load_balancing_policies.subset policy. Returns null when the cluster does not use the subset load balancer.
function parseSubsetInfo(cluster) {
  const legacy = cluster.lb_subset_config;
  const typed = typedSubsetConfig(cluster.load_balancing_policy);
  if (present(legacy) && typed !== undefined) {
    throw new Error(
      "cluster: lb_subset_config together with load_balancing_policy is not modelled (interaction unconfirmed)",
    );
  }
  if (present(legacy)) return subsetInfo(legacy, "cluster.lb_subset_config", false);
  return typed
    ? subsetInfo(typed, "cluster.load_balancing_policy.policies[0].typed_extension_config.typed_config", true)
    : null;
}

// Cluster.load_balancing_policy: Envoy uses the first policy whose factory it knows; every policy named here is built
// in, so the first entry decides. undefined = field absent, null = a non-subset policy.
function typedSubsetConfig(policy) {
  if (!present(policy)) return undefined;
  const path = "cluster.load_balancing_policy.policies[0].typed_extension_config";
  const config = policy.policies?.[0]?.typed_extension_config?.typed_config;
  if (!config) throw new Error(`${path}.typed_config: required`);
  if (config["@type"] === SUBSET_POLICY_TYPE) return config;
  if (PLAIN_POLICY_TYPES.has(config["@type"])) return null;
  throw new Error(`${path}: load balancing policy ${config["@type"]} is not modelled`);
}

function subsetInfo(config, path, typed) {
  expectObject(config, path);
  onlyFields(
    config,
    typed ? ["@type", ...SUBSET_FIELDS, "subset_lb_policy", "allow_redundant_keys"] : SUBSET_FIELDS,
    path,
  );
  if (typed && !present(config.subset_lb_policy)) throw new Error(`${path}.subset_lb_policy: required`);
  if (optionalBool(config.scale_locality_weight, `${path}.scale_locality_weight`)) {
    throw new Error(`${path}.scale_locality_weight: not modelled (scaled weights can round a locality to zero)`);
  }
  optionalBool(config.locality_weight_aware, `${path}.locality_weight_aware`); // keeps weights; reachability unchanged
  const rawSelectors = optionalList(config.subset_selectors, `${path}.subset_selectors`);
  const selectors = rawSelectors
    .map((selector, i) => parseSelector(selector, `${path}.subset_selectors[${i}]`))
    .filter((selector) => selector.keys.length > 0); // selectors without keys are skipped
  const allowRedundantKeys = typed && optionalBool(config.allow_redundant_keys, `${path}.allow_redundant_keys`);
  // Array.prototype.sort is stable, like the std::stable_sort it mirrors.
  if (allowRedundantKeys) selectors.sort((a, b) => b.keys.length - a.keys.length);
  return {
    enabled: rawSelectors.length > 0,
    fallbackPolicy: enumName(config.fallback_policy, FALLBACK_POLICIES, `${path}.fallback_policy`),
    defaultSubset: [...structFromJson(config.default_subset ?? {}, `${path}.default_subset`)],
    selectors,
    panicModeAny: optionalBool(config.panic_mode_any, `${path}.panic_mode_any`),
    listAsAny: optionalBool(config.list_as_any, `${path}.list_as_any`),
    metadataFallbackPolicy: enumName(
      config.metadata_fallback_policy,
      METADATA_FALLBACK_POLICIES,
      `${path}.metadata_fallback_policy`,
    ),
    allowRedundantKeys,
  };
}

// SubsetSelector constructor (subset_lb_config.cc): keys and fallback_keys_subset are std::sets.
function parseSelector(selector, path) {
  expectObject(selector, path);
  onlyFields(selector, ["keys", "fallback_policy", "fallback_keys_subset", "single_host_per_subset"], path);
  const keys = sortedKeySet(selector.keys, `${path}.keys`);
  const fallbackKeysSubset = sortedKeySet(selector.fallback_keys_subset, `${path}.fallback_keys_subset`);
  const fallbackPolicy = enumName(selector.fallback_policy, SELECTOR_FALLBACK_POLICIES, `${path}.fallback_policy`);
  if (fallbackPolicy !== "KEYS_SUBSET" && fallbackKeysSubset.length > 0) {
    throw new Error(`${path}: fallback_keys_subset can be set only for KEYS_SUBSET fallback_policy`);
  }
  if (fallbackPolicy === "KEYS_SUBSET") {
    if (fallbackKeysSubset.length === 0) throw new Error(`${path}: fallback_keys_subset cannot be empty`);
    if (!fallbackKeysSubset.every((k) => keys.includes(k)))
      throw new Error(`${path}: fallback_keys_subset must be a subset of selector keys`);
    if (fallbackKeysSubset.length === keys.length)
      throw new Error(`${path}: fallback_keys_subset cannot be equal to keys`);
  }
  const singleHostPerSubset = optionalBool(selector.single_host_per_subset, `${path}.single_host_per_subset`);
  return { keys, fallbackPolicy, fallbackKeysSubset, singleHostPerSubset };
}

function sortedKeySet(list, path) {
  const keys = optionalList(list, path);
  keys.forEach((k, i) => optionalString(k, `${path}[${i}]`));
  return [...new Set(keys)].sort(compareKeys);
}
