// The soak's mixed traffic: every request of the differential table (test/real-envoy/differential-scenarios.mjs:
// the seed's requests, every fallback policy, %ip%, unmatchable values, spoofed internal headers), and hostile
// requests up to Envoy's header limits and just beyond them. Each case carries the answer it must get: the one the
// emulator gives (the differential suite holds the emulator to real Envoy, request by request), or for requests
// beyond Envoy's limits Envoy's own 431. Cases are grouped by where they go: a listener (metadata mode) or a
// sidecar (catalog mode), one per scenario.
//
//   metadataTargets(world, configs)  -> [{ scenario, listener, cases }]
//   catalogTargets(world, version)   -> [{ scenario, manifests, services, cases }]
//   casesOf(scenarioId, mode, world, emulators) -> the cases of one scenario, an expected answer per emulator
//   a case: { name, request (bytes), weight, alts: [expected answer + counters: {counter: delta per request}] }

import {
  catalogManifests,
  catalogServices,
  emulatedCatalog,
  emulatedMetadata,
  matchesHeadersIndividually,
  requestHeaders,
} from "../real-envoy/differential-modes.mjs";
import { SCENARIOS } from "../real-envoy/differential-scenarios.mjs";
import { rawRequest } from "./load.mjs";

/** Envoy's defaults (HttpConnectionManager max_request_headers_kb 60, max_headers_count 100), measured in 1.40.0. */
export const ENVOY_HEADER_LIMITS = { bytes: 60 * 1024, count: 100 };
const TOO_LARGE = { status: 431, decision: null, body: "Request Header Fields Too Large" };
/** The scenario the hostile requests are added to: the seed's step 2 (keys stage and version). */
const HOSTILE_SCENARIO = "seed-step2";

const SPOOF_NAMES = [
  "x-dynamic-subset-stage",
  "X-Dynamic-Subset-Version",
  "X-DYNAMIC-SUBSET-SUBSET",
  "x-dynamic-subset-host",
];
const spoofs = (n) => Array.from({ length: n }, (_, i) => [SPOOF_NAMES[i % SPOOF_NAMES.length], `v${i}`]);
/** Padding headers that bring the header bytes (names + values, as Envoy counts them) to `bytes`. */
function padTo(pairs, bytes) {
  const used = pairs.reduce((n, [k, v]) => n + k.length + v.length, 0);
  return [...pairs, ["x-pad", "p".repeat(bytes - used - "x-pad".length)]];
}

/** Hostile requests on the hostile scenario's host; `beyond`: Envoy refuses them before any filter runs. */
function hostileRequests(host) {
  const keys = [
    ["host", host],
    ["x-stage", "dev"],
    ["x-version", "v1"],
  ];
  return [
    { name: "100 headers (Envoy's limit), 97 of them spoofed internal headers", headers: [...keys, ...spoofs(97)] },
    {
      name: "headers of 60 KiB less 512 bytes (Envoy's limit: 60 KiB)",
      headers: padTo(keys, ENVOY_HEADER_LIMITS.bytes - 512),
    },
    { name: "bytes that are not UTF-8 in a key's value", headers: [keys[0], ["x-stage", "d\xe9v\xff"]] },
    { name: "a 20 KiB key value", headers: [keys[0], ["x-version", "v".repeat(20 * 1024)]] },
    { name: "101 headers: Envoy answers 431", headers: [...keys, ...spoofs(98)], beyond: true },
    { name: "headers of 60 KiB: Envoy answers 431", headers: padTo(keys, ENVOY_HEADER_LIMITS.bytes), beyond: true },
  ];
}

/** Every request of a scenario as [name, pairs with Host, path, beyond]. */
function requestsOf(scenario, mode, world) {
  const host = `${scenario.service}:8000`;
  const own = scenario.requests
    .filter((r) => !r.modes || r.modes.includes(mode))
    .map((r) => {
      const pairs = requestHeaders(r, world);
      const withHost = pairs.some(([k]) => k.toLowerCase() === "host") ? pairs : [["host", host], ...pairs];
      return { name: r.name, headers: withHost, path: r.path ?? "/" };
    });
  return scenario.id === HOSTILE_SCENARIO ? [...own, ...hostileRequests(host)] : own;
}

/** The answer a response must be, from an emulator observation, with what it adds to the counters. */
const expected = (o) => ({
  status: o.status,
  decision: o.decisionHeader,
  ...(o.status === 200 ? { pods: o.pods } : { body: o.body }),
  counters: o.counters,
});

/** A case from a request and the emulators that predict its answers (one per configuration that may be in force). */
function caseOf(request, emulators) {
  if (request.beyond)
    return { name: request.name, request: rawRequest(request.headers), alts: [{ ...TOO_LARGE, counters: {} }] };
  const alts = emulators.map((e) => expected(e.observe(request.headers, { path: request.path ?? "/" })));
  return { name: request.name, request: rawRequest(request.headers, request.path), alts };
}

/** The cases of a scenario (by id), each with the answers of `emulators`. */
export function casesOf(scenarioId, mode, world, emulators) {
  const scenario = SCENARIOS.find((s) => s.id === scenarioId);
  return requestsOf(scenario, mode, world).map((r) => caseOf(r, emulators));
}

export async function metadataTargets(world, configs) {
  const out = [];
  for (const scenario of SCENARIOS) {
    const emulated = await emulatedMetadata(configs.parts.get(scenario.id));
    const cases = casesOf(scenario.id, "metadata", world, [emulated]);
    out.push({ scenario, listener: scenario.id, cases });
  }
  return out;
}

export async function catalogTargets(world, version) {
  const out = [];
  for (const scenario of SCENARIOS) {
    const manifests = catalogManifests(scenario, world);
    const services = catalogServices(scenario, world);
    const emulated = await emulatedCatalog(manifests, world, services, {
      matchHeadersIndividually: matchesHeadersIndividually(version),
    });
    const cases = casesOf(scenario.id, "catalog", world, [emulated]);
    out.push({ scenario, manifests, services, cases });
  }
  return out;
}
