// Builders shared by the model tests: clusters from compact host tables, and reachability as host names.

import { SubsetLoadBalancer, fromJson } from "../../models/envoy.mjs";

export const NO_HOST = "no healthy upstream";

/**
 * Cluster JSON from a host table; hosts get distinct addresses so results can be read back as names.
 * @param {[string, object|null, number?][]} hosts [name, envoy.lb labels as Struct JSON (null = no metadata), priority]
 * @param {object} subsetConfig lb_subset_config fields (or the typed Subset fields when typed)
 */
export function clusterOf(hosts, subsetConfig, { typed = false } = {}) {
  const priorities = [...new Set(hosts.map(([, , p = 0]) => p))].sort((a, b) => a - b);
  const cluster = {
    name: "fixture",
    type: "STATIC",
    load_assignment: {
      cluster_name: "fixture",
      endpoints: priorities.map((priority) => ({
        priority,
        lb_endpoints: hosts
          .filter(([, , p = 0]) => p === priority)
          .map(([name, labels]) => ({
            endpoint: { address: { socket_address: { address: addressOf(hosts, name), port_value: 80 } } },
            ...(labels === null ? {} : { metadata: { filter_metadata: { "envoy.lb": labels } } }),
          })),
      })),
    },
  };
  if (!typed) return { ...cluster, lb_subset_config: subsetConfig };
  return {
    ...cluster,
    load_balancing_policy: {
      policies: [
        {
          typed_extension_config: {
            name: "envoy.load_balancing_policies.subset",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.subset.v3.Subset",
              subset_lb_policy: {
                policies: [
                  {
                    typed_extension_config: {
                      name: "envoy.load_balancing_policies.round_robin",
                      typed_config: {
                        "@type":
                          "type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin",
                      },
                    },
                  },
                ],
              },
              ...subsetConfig,
            },
          },
        },
      ],
    },
  };
}

function addressOf(hosts, name) {
  return `10.0.0.${hosts.findIndex(([n]) => n === name) + 1}`;
}

/** Criteria as Struct JSON (the way unit tests and docs write them) -> tagged Map; null stays null. */
export function criteriaOf(json) {
  return json === null ? null : new Map(Object.entries(json).map(([k, v]) => [k, fromJson(v)]));
}

/** A function criteria JSON -> sorted host names, or NO_HOST. */
export function reachability(hosts, subsetConfig, options) {
  const lb = new SubsetLoadBalancer(clusterOf(hosts, subsetConfig, options));
  const nameOf = new Map(hosts.map(([name]) => [`${addressOf(hosts, name)}:80`, name]));
  const reach = (criteria) => namesOf(lb.hostsFor(criteria), nameOf);
  return Object.assign((json) => reach(criteriaOf(json)), { lb, reach });
}

function namesOf(result, nameOf) {
  if (result.noHost) return NO_HOST;
  return result.hosts.map((address) => nameOf.get(address)).sort();
}
