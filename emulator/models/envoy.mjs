// Envoy models for metadata mode, composed: header_to_metadata -> router criteria -> subset load balancer.
// One import point for tests that ask "which endpoints can this request reach through this rendered config?".

import { applyHeaderToMetadata } from "./header-to-metadata.mjs";
import { SubsetLoadBalancer, routerCriteria } from "./subset-lb.mjs";

export { applyHeaderToMetadata, parseHeaderToMetadataConfig, simpleAtod } from "./header-to-metadata.mjs";
export { SubsetLoadBalancer, noHealthyUpstream, routerCriteria } from "./subset-lb.mjs";
export { describe, fromJson, num, str, valueEquals } from "./metadata-value.mjs";

// Building a load balancer is the costly part; rendered clusters are reused across many requests.
// A cluster object must not be mutated after its first use here.
const loadBalancers = new WeakMap();

function loadBalancerFor(cluster) {
  if (!loadBalancers.has(cluster)) loadBalancers.set(cluster, new SubsetLoadBalancer(cluster));
  return loadBalancers.get(cluster);
}

/**
 * A request through Envoy's filter chain tail (header_to_metadata, then the router) to the cluster's load balancer.
 * @param {object} envoy
 * @param {object} [envoy.headerToMetadata] header_to_metadata.v3.Config JSON (the filter's typed_config); omitted = no filter
 * @param {object} envoy.cluster Cluster JSON with lb_subset_config (or the typed subset policy) and load_assignment
 * @param {object} [envoy.routeMetadataMatch] the route's metadata_match JSON
 * @param {object} [envoy.weightedClusterMetadataMatch] the chosen weighted cluster's metadata_match JSON
 * @param {object} [envoy.dynamicMetadata] dynamic metadata set by filters before header_to_metadata
 * @param {[string, string|Uint8Array][]} requestHeaders headers as they leave the filters before header_to_metadata
 * @returns {{ hosts: string[] } | { noHost: true, status: 503, body: string, flag: 'UH' }} plus, for inspection,
 *   `headers` (as sent upstream), `dynamicMetadata` and `criteria`
 */
export function routeThroughEnvoy(envoy, requestHeaders) {
  const { headerToMetadata, cluster, routeMetadataMatch, weightedClusterMetadataMatch, dynamicMetadata = {} } = envoy;
  const filtered = headerToMetadata
    ? applyHeaderToMetadata(headerToMetadata, requestHeaders, dynamicMetadata)
    : { headers: [...requestHeaders], dynamicMetadata };
  const criteria = routerCriteria(routeMetadataMatch, filtered.dynamicMetadata, weightedClusterMetadataMatch);
  return { ...loadBalancerFor(cluster).hostsFor(criteria), ...filtered, criteria };
}
