// The verification pass before anything is timed: the benchmark compares configurations only if they do the same
// work, so it fails unless
//   - every configuration answers the benchmark's request 200 from the target pod (upstream header x-pod), and
//   - the three implementations of the seed's step 3 (the filter, the C reference, the native chain) send each of
//     the seed's requests to the same pods, and
//   - the two route orders of catalog mode send requests that carry a subset header of their own (the route token,
//     a wrong token, an unknown subset) to the same pods.
//
//   verifyRouting(runs, target) -> { repeats, configurations: [{ id, label, pods: "pod, pod" }],
//       requests, catalogRequests: [{ what, headers, pods: { id: "pod, pod" } }] }; throws on a difference.

import { CATALOG_ROUTE_TOKEN, REQUEST } from "./configs.mjs";

const REPEATS = 8; // round robin over a two-pod subset shows both pods
const REQUEST_TIMEOUT_MS = 30_000; // a shared machine can keep Envoy off the CPU for seconds

/** The seed's step 3 requests (DEFAULT_SUBSET, defaults prod/v3), and a client trying to set the subset itself. */
export const SEED_REQUESTS = [
  { what: "dev/v1", headers: { "x-stage": "dev", "x-version": "v1" } },
  { what: "prod/v1 (no such pods: default subset)", headers: { "x-stage": "prod", "x-version": "v1" } },
  { what: "no headers (defaults prod/v3)", headers: {} },
  { what: "x-stage: dev (version default v3)", headers: { "x-stage": "dev" } },
  {
    what: "prod/v2 with spoofed internal headers for dev/v1",
    headers: {
      "x-stage": "prod",
      "x-version": "v2",
      "x-dynamic-subset-stage": "dev",
      "x-dynamic-subset-version": "v1",
    },
  },
];
const SEED_IMPLEMENTATIONS = ["filter", "c", "native"];

/** The benchmark's request with a subset header of the client's: the filter decides it from x-stage/x-version. */
const withSubsetHeader = (value) => ({ ...REQUEST, "x-dynamic-subset-subset": value });
export const CATALOG_REQUESTS = [
  { what: "the benchmark's request", headers: REQUEST },
  {
    what: "with prod/v3's subset header and the route token",
    headers: withSubsetHeader(`ds-stage-prod--version-v3.${CATALOG_ROUTE_TOKEN}`),
  },
  { what: "with a wrong route token", headers: withSubsetHeader("ds-stage-prod--version-v3.0123456789abcdef") },
  { what: "with an unknown subset and the route token", headers: withSubsetHeader(`ds-nope.${CATALOG_ROUTE_TOKEN}`) },
];
const CATALOG_ORDERS = ["catalog", "catalog-user-first"];

/** The pods (or statuses) that answered `headers` in REPEATS requests, sorted and joined. */
async function podsFor(run, headers) {
  const seen = new Set();
  for (let i = 0; i < REPEATS; i++) {
    const res = await run.envoy.request("bench", headers, { timeoutMs: REQUEST_TIMEOUT_MS });
    seen.add(res.status === 200 ? res.headers["x-pod"] : `HTTP ${res.status} ${res.body}`);
  }
  return [...seen].sort().join(", ");
}

export async function verifyRouting(runs, target) {
  const problems = [];
  const configurations = [];
  for (const run of runs) {
    const pods = await podsFor(run, REQUEST);
    if (pods !== target) problems.push(`${run.label}: the benchmark's request reached ${pods}, not ${target}`);
    configurations.push({ id: run.id, label: run.label, pods });
  }
  const requests = await routeAlike(runs, SEED_IMPLEMENTATIONS, SEED_REQUESTS, problems);
  const catalogRequests = await routeAlike(runs, CATALOG_ORDERS, CATALOG_REQUESTS, problems);
  if (problems.length > 0)
    throw new Error(`the configurations do not route alike, nothing was timed:\n  ${problems.join("\n  ")}`);
  return { repeats: REPEATS, configurations, requests, catalogRequests };
}

/** Each request through the configurations `ids`: the pods per configuration; a difference goes to `problems`. */
async function routeAlike(runs, ids, list, problems) {
  const chosen = runs.filter((r) => ids.includes(r.id));
  const requests = [];
  for (const { what, headers } of list) {
    const pods = {};
    for (const run of chosen) pods[run.id] = await podsFor(run, { host: REQUEST.host, ...headers });
    if (new Set(Object.values(pods)).size !== 1)
      problems.push(`${what}: ${chosen.map((r) => `${r.label} -> ${pods[r.id]}`).join("; ")}`);
    requests.push({ what, headers, pods });
  }
  return requests;
}
