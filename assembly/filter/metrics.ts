// Counters (docs/behaviour.md, "Observability"). Names carry their label Istio-style,
// `<tag>=.=<value>;.;<name>`, so one stats_tags rule per tag turns it into a Prometheus label (Envoy
// stores them as "wasmcustom.<name>"):
//
//   dynamic_subset_requests_total                                   handled requests that arrived on the route
//                                                                   Envoy chose from the user's own routes
//   dynamic_subset_arrival=.=generated_route;.;dynamic_subset_requests_total
//        handled requests that arrived on a generated route: a client sent the subset header with the route
//        token (docs/behaviour.md "The route token"); the same request counter with a label, so a request still
//        costs two metric updates and sum(dynamic_subset_requests_total) stays every handled request
//   dynamic_subset_outcome=.=<outcome>;.;dynamic_subset_outcomes_total   one per handled request;
//        <outcome>: subset | fallback_any | fallback_default | no_fallback | no_selector | unmatchable
//   dynamic_subset_config_rejected_total                            plugin configurations rejected
//
//   stats_config:
//     stats_tags:
//     - tag_name: dynamic_subset_outcome
//       regex: "(dynamic_subset_outcome=\\.=(.*?);\\.;)"
//     - tag_name: dynamic_subset_arrival
//       regex: "(dynamic_subset_arrival=\\.=(.*?);\\.;)"
//
// Prometheus then shows dynamic_subset_outcomes_total{dynamic_subset_outcome="no_fallback"} and
// dynamic_subset_requests_total{dynamic_subset_arrival="generated_route"}. Under Istio the same rules come from
// `extraStatTags: [dynamic_subset_outcome, dynamic_subset_arrival]` (proxy config). Every root context of the VM
// updates the same counters.

import { defineCounter, incrementMetric } from "../abi/hostcalls";
import { OUTCOME_COUNT, OUTCOME_NAMES, Outcome } from "./decision";

export const REQUESTS_METRIC = "dynamic_subset_requests_total";
export const GENERATED_ROUTE_REQUESTS_METRIC =
  "dynamic_subset_arrival=.=generated_route;.;dynamic_subset_requests_total";
export const CONFIG_REJECTED_METRIC = "dynamic_subset_config_rejected_total";

export function outcomeMetricName(outcome: Outcome): string {
  return "dynamic_subset_outcome=.=" + OUTCOME_NAMES[outcome] + ";.;dynamic_subset_outcomes_total";
}

/** The counter ids of one root context (ids are per VM; define them at configure, never in _initialize). */
export class Metrics {
  private requests: u32;
  private requestsOnGeneratedRoute: u32;
  private configRejected: u32;
  private outcomes: StaticArray<u32> = new StaticArray<u32>(OUTCOME_COUNT);

  constructor() {
    this.requests = defineCounter(REQUESTS_METRIC);
    this.requestsOnGeneratedRoute = defineCounter(GENERATED_ROUTE_REQUESTS_METRIC);
    this.configRejected = defineCounter(CONFIG_REJECTED_METRIC);
    for (let i = 0; i < OUTCOME_COUNT; i++)
      unchecked((this.outcomes[i] = defineCounter(outcomeMetricName(<Outcome>i))));
  }

  /** Two metric updates per handled request (docs/performance.md). */
  countRequest(outcome: Outcome, onGeneratedRoute: bool): void {
    incrementMetric(onGeneratedRoute ? this.requestsOnGeneratedRoute : this.requests);
    if (<i32>outcome >= 0 && <i32>outcome < OUTCOME_COUNT) incrementMetric(unchecked(this.outcomes[outcome]));
  }

  countRejectedConfiguration(): void {
    incrementMetric(this.configRejected);
  }
}
