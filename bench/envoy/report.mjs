// The Envoy benchmark's printout (markdown tables), from the measurements of run.mjs. BENCHMARKS.md "In Envoy"
// explains every column.
//
//   report(results) -> string                           the full run
//   verificationReport(results) -> string               `--verify`: what was checked before timing, nothing timed

const RATIO_TARGET = 1.1; // the filter's added cost at most 1.10x the C reference's (docs/performance.md)
const MEMORY_TARGET = 0.05; // RSS after 10^6 requests within 5 % of RSS after warm-up

// A run with fewer answers than this was starved of CPU by other work on the machine: its CPU per request is
// mostly idle overhead, so it is left out (and counted in the printout).
const MIN_SATURATION_RPS = 500;
const MIN_FIXED_SHARE = 0.5; // of the requests the fixed rate asks for
const MIN_TOGETHER_RPS = 100; // side by side, each Envoy has a share of one core

const finite = (xs) => xs.filter(Number.isFinite);
function median(xs) {
  const s = finite(xs).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const shown = (format) => (x) => (Number.isFinite(x) ? format(x) : "—");
const f0 = shown((x) => Math.round(x).toLocaleString("en"));
const f1 = shown((x) => x.toFixed(1));
const f2 = shown((x) => x.toFixed(2));
const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);

function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function percentile(sorted, q) {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** CPU µs per request of each run, NaN for a starved run. */
const cpuPerRequest = (runs, enough) => runs.map((r) => (enough(r) ? (r.cpu / r.requests) * 1e6 : NaN));

/** Per-round figures of one configuration (NaN where a run was starved) and the medians over rounds. */
function summarise(run, plan) {
  const cpuUs = cpuPerRequest(run.sat, (r) => r.requests / r.seconds >= MIN_SATURATION_RPS);
  const s = {
    cpuUs,
    cpu: median(cpuUs),
    rps: median(run.sat.map((r) => r.requests / r.seconds)),
    envoyBusy: median(run.sat.map((r) => r.cpu / r.wall)),
    envoyWaiting: median(run.sat.map((r) => r.cpuWait / r.wall)),
    upstreamBusy: Math.max(...run.sat.map((r) => r.upstreamCpu / r.wall)),
    starved: cpuUs.filter((x) => !Number.isFinite(x)).length,
  };
  if (run.fixed.length > 0) {
    const enough = (r) => r.requests >= plan.rate * plan.fixedSeconds * MIN_FIXED_SHARE;
    const all = Float64Array.from(run.fixed.filter(enough).flatMap((r) => [...r.latenciesUs])).sort();
    s.latency = { p50: percentile(all, 0.5), p99: percentile(all, 0.99), p999: percentile(all, 0.999), n: all.length };
    s.fixedCpuUs = cpuPerRequest(run.fixed, enough);
    s.fixedCpu = median(s.fixedCpuUs);
    s.starved += s.fixedCpuUs.filter((x) => !Number.isFinite(x)).length;
  }
  return s;
}

/**
 * Added CPU per request over `base`, paired round by round (both measured in the same round, neither starved):
 * median, min, max. key: "cpuUs" (saturation runs) or "fixedCpuUs" (fixed-rate runs).
 */
function added(s, base, key = "cpuUs") {
  const d = finite(s[key].map((x, i) => x - base[key][i]));
  return { median: median(d), min: d.length ? Math.min(...d) : NaN, max: d.length ? Math.max(...d) : NaN };
}

/** Per-round CPU µs/req of a configuration measured side by side in group `group` (NaN where starved). */
const sideCpuUs = (run, group) =>
  cpuPerRequest(run.together[group] ?? [], (r) => r.requests / r.seconds >= MIN_TOGETHER_RPS);

/** Added CPU per request of `id` over `base`, both measured side by side in `group`, paired round by round. */
const sideAdded = (byId, id, base, group) =>
  added({ cpuUs: sideCpuUs(byId[id], group) }, { cpuUs: sideCpuUs(byId[base], group) });

const addedCell = (a) => `**${f1(a.median)}** (${f1(a.min)}–${f1(a.max)})`;

function mainTable(runs, sums, floor, byId) {
  return table(
    [
      "configuration",
      "req/s at saturation",
      "Envoy on CPU / waiting",
      "CPU µs/req",
      "added over floor, interleaved (min–max)",
      "added over floor, side by side (min–max)",
      "added over floor at 1,000 req/s (min–max)",
      "latency µs p50 / p99 / p99.9 at 1,000 req/s",
      "added p50 µs",
    ],
    runs.map((run) => {
      const s = sums[run.id];
      const isFloor = run.id === "floor";
      const cell = (a) => (isFloor ? "—" : addedCell(a));
      return [
        run.label,
        f0(s.rps),
        `${(s.envoyBusy * 100).toFixed(0)} % / ${(s.envoyWaiting * 100).toFixed(0)} %`,
        f1(s.cpu),
        cell(added(s, sums.floor)),
        run.together[0] ? cell(sideAdded(byId, run.id, "floor", 0)) : "",
        cell(added(s, sums.floor, "fixedCpuUs")),
        `${f0(s.latency.p50)} / ${f0(s.latency.p99)} / ${f0(s.latency.p999)}`,
        isFloor ? "—" : f0(s.latency.p50 - floor.latency.p50),
      ];
    }),
  );
}

/** a ÷ b, or "—" where the added cost b is lost in the machine's noise (not above zero). */
const quotient = (a, b) => (b > 0 ? f2(a / b) : "—");

function ratioTable(sums, byId) {
  const add = (id) => added(sums[id], sums.floor).median;
  const addFixed = (id) => added(sums[id], sums.floor, "fixedCpuUs").median;
  const side = (id) => sideAdded(byId, id, "floor", 0).median;
  const rows = [
    ["filter ÷ C reference (seed)", "filter", "c"],
    ["filter ÷ no-op wasm", "filter", "noop"],
    ["filter ÷ native chain", "filter", "native"],
  ].map(([name, id, base]) => [
    name,
    quotient(add(id), add(base)),
    quotient(addFixed(id), addFixed(base)),
    quotient(side(id), side(base)),
    f2(sums[id].cpu / sums[base].cpu),
  ]);
  for (const [name, id] of [
    ["no-op wasm ÷ router only", "noop"],
    ["native chain ÷ router only", "native"],
  ])
    rows.push([name, "—", "—", "—", f2(sums[id].cpu / sums.floor.cpu)]);
  return table(
    [
      "ratio of added CPU µs/req",
      "interleaved, saturation",
      "interleaved, 1,000 req/s",
      "side by side",
      "of CPU µs/req",
    ],
    rows,
  );
}

function targets(sums, byId, soak) {
  const side = (id) => sideAdded(byId, id, "floor", 0).median;
  const add = (id) => added(sums[id], sums.floor).median;
  const ratio = side("filter") / side("c");
  const growth = soak.rssEnd / soak.rssWarm - 1;
  return table(
    ["target", "figure", "result"],
    [
      [
        `filter's added cost ≤ ${RATIO_TARGET}× the C reference's`,
        `side by side ${f1(side("filter"))} vs ${f1(side("c"))} µs/req: **${f2(ratio)}×** ` +
          `(interleaved: ${f1(add("filter"))} vs ${f1(add("c"))}, ${f2(add("filter") / add("c"))}×)`,
        !Number.isFinite(ratio) ? "not measured (starved runs)" : ratio <= RATIO_TARGET ? "**met**" : "**not met**",
      ],
      [
        `Envoy's memory flat over 10⁶ requests (RSS within ${MEMORY_TARGET * 100} %)`,
        `${mib(soak.rssWarm)} → ${mib(soak.rssEnd)} MiB after ${f0(soak.requests)} requests (${growth >= 0 ? "+" : ""}${(growth * 100).toFixed(1)} %)`,
        Math.abs(growth) > MEMORY_TARGET
          ? "**not met**"
          : soak.requests >= 1e6
            ? "**met**"
            : `not measured to 10⁶: the soak stopped at ${f0(soak.requests)} (--soak-seconds)`,
      ],
      [
        "distance to the native chain; share of it that is the wasm floor",
        [
          ["interleaved", add],
          ["side by side", side],
        ]
          .map(
            ([how, cost]) =>
              `${how}: filter ${f1(cost("filter"))} vs native ${f1(cost("native"))} µs/req over the floor, ` +
              `${f1(cost("filter") - cost("native"))} µs more; a no-op wasm filter alone adds ${f1(cost("noop"))} µs, ` +
              `${f0((cost("noop") / (cost("filter") - cost("native"))) * 100)} % of the gap`,
          )
          .join("; "),
        "reported",
      ],
    ],
  );
}

/** Per Envoy version, whether Envoy matched the routes again after each probe (route-cache.mjs). */
function factsTable(facts) {
  const versions = facts.facts.map((f) => f.version);
  const rows = facts.cases.map((c) => [
    c.what + (c.headers ? " (client sent it)" : ""),
    ...facts.facts.map((f) => (f.routes[c.id] === "matched-again" ? "**matched again**" : `kept (${f.routes[c.id]})`)),
  ]);
  return table(["what the module did in on_request_headers", ...versions.map((v) => `Envoy ${v}`)], rows);
}

function routeCacheSection(facts, sums, byId) {
  const costRow = (what, id, base, group) => [
    what,
    addedCell(sideAdded(byId, id, base, group)),
    addedCell(added(sums[id], sums[base])),
  ];
  return [
    factsTable(facts),
    "",
    table(
      ["Envoy CPU µs/req over the probe that does nothing (min–max)", "side by side", "interleaved"],
      [
        costRow("remove an absent header, 1 route (host call + second route match)", "rc-remove-1", "rc-none-1", 1),
        costRow("remove an absent header, 1,001 routes", "rc-remove-1001", "rc-none-1001", 2),
        costRow("read the absent header instead, 1 route (host call only)", "rc-check-1", "rc-none-1", 1),
        costRow("read the absent header instead, 1,001 routes", "rc-check-1001", "rc-none-1001", 2),

        [
          "route match on 1,001 routes instead of 1 (no module call)",
          "—",
          addedCell(added(sums["rc-none-1001"], sums["rc-none-1"])),
        ],
      ],
    ),
    "",
    table(
      ["the filter, catalog 1,000 subsets (min–max)", "side by side", "interleaved"],
      [
        costRow(
          "CPU µs/req of the user route first over generated routes first (negative: saved)",
          "catalog-user-first",
          "catalog",
          5,
        ),
      ],
    ),
  ].join("\n");
}

/** Side-by-side cost of each kind of host call over the probe that does nothing (groups 3 and 4 of run.mjs). */
function hostCallSection(byId) {
  const row = (what, id, group) => [what, addedCell(sideAdded(byId, id, "rc-none-1", group))];
  return table(
    ["host calls in on_request_headers, side by side", "Envoy CPU µs/req over the probe that does nothing (min–max)"],
    [
      row("1 × proxy_get_header_map_value, header absent", "rc-check-1", 1),
      row("5 × proxy_get_header_map_value, headers absent", "rc-gets-1", 3),
      row("1 × proxy_get_header_map_pairs (the whole request map)", "rc-pairs-1", 3),
      row("2 × proxy_get_property (xds.cluster_name, xds.route_name)", "rc-props-1", 4),
      row("1 × proxy_set_property (filter state, 27 bytes)", "rc-state-1", 4),
      row("2 × proxy_increment_metric", "rc-metrics-1", 4),
    ],
  );
}

function regionSection(regions, runs) {
  const rows = runs
    .filter((run) => regions[run.id])
    .map((run) => {
      const { us } = regions[run.id];
      const total = us.envoy + us.kernel + us.jit + us.other;
      return [run.label, f1(us.jit), f1(us.envoy), f1(us.kernel), f1(us.other), f1(total)];
    });
  return table(
    [
      "perf, Envoy CPU µs/req by region",
      "wasm JIT code",
      "envoy binary (C++, V8 runtime)",
      "kernel",
      "libc, vdso",
      "total",
    ],
    rows,
  );
}

function memorySection(memory, lds, runs) {
  const label = Object.fromEntries(runs.map((r) => [r.id, r.label]));
  const rows = ["floor", "noop", "filter", "c", "native", "catalog"].map((id) => [label[id], mib(memory.rss[id])]);
  rows.push([`filter with 1,000 services × 10 routes (ready in ${f0(memory.largeReadyMs)} ms)`, mib(memory.large)]);
  return [
    table(["Envoy (one worker)", "RSS MiB"], rows),
    "",
    `listener update (LDS file replaced by rename) to the first request served: 1,000 × 10 configuration ` +
      `**${f0(median(lds.largeMs))} ms** (median of ${lds.largeMs.length}: ${lds.largeMs.map(f0).join(", ")}), ` +
      `back to the seed's configuration ${f0(median(lds.smallMs))} ms`,
  ].join("\n");
}

export function report(r) {
  const sums = Object.fromEntries(r.runs.map((run) => [run.id, summarise(run, r.plan)]));
  const byId = Object.fromEntries(r.runs.map((run) => [run.id, run]));
  const interleaved = r.runs.filter((run) => run.group !== "host-call");
  const starved = interleaved.reduce((n, run) => n + sums[run.id].starved, 0);
  const timed = interleaved.reduce((n, run) => n + run.sat.length + run.fixed.length, 0);
  const waiting = median(interleaved.map((run) => sums[run.id].envoyWaiting / sums[run.id].envoyBusy));
  const main = r.runs.filter((run) => run.group === "main");
  const probes = r.runs.filter((run) => run.group === "route-cache");
  const upstreamBusy = Math.max(...interleaved.map((run) => sums[run.id].upstreamBusy));
  const out = [
    `Envoy ${r.envoy.version}, --concurrency 1; ${r.cores.note}. ${r.plan.rounds} interleaved rounds: ` +
      `${r.plan.satSeconds} s saturation (wrk -t1 -c64) per configuration, ${r.plan.fixedSeconds} s at ` +
      `${r.plan.rate} req/s (h2load --rps, 4 connections) per main configuration; then ${r.plan.togetherRounds} ` +
      `side-by-side runs of ${r.plan.togetherSeconds} s per group (${r.together.map((g) => g.join(", ")).join("; ")}): ` +
      `the group's Envoys share core 0 at the same moments, one wrk -c32 each${r.quick ? " (--quick)" : ""}.`,
    `Machine: ${r.machine.cpus} cores, ${r.machine.model}, load average ${r.machine.load} at the end.`,
    ...(waiting > 1
      ? [
          `WARNING: the machine is overloaded: Envoy waited for a CPU ${f1(waiting)}× as long as it ran (median over ` +
            `the configurations); CPU times are inflated and noisy, compare only ratios, and re-run on a quieter machine.`,
        ]
      : []),
    ...(starved > 0
      ? [
          `${starved} of ${timed} timed runs were starved (under ${MIN_SATURATION_RPS} req/s at saturation, or under ` +
            `${MIN_FIXED_SHARE * 100} % of the fixed rate) and are left out.`,
        ]
      : []),
    "",
    mainTable(main, sums, sums.floor, byId),
    "",
    ...main.filter((run) => run.note).map((run) => `${run.label}: ${run.note}.`),
    `Upstream busy at most ${(upstreamBusy * 100).toFixed(0)} % of a core in any saturation run.` +
      (r.timeouts.count > 0
        ? ` ${r.timeouts.count} requests got no answer within wrk's timeout, in: ${[...new Set(r.timeouts.runs)].join("; ")}.`
        : ""),
    "",
    ratioTable(sums, byId),
    "",
    targets(sums, byId, r.soak),
    "",
    "Route cache (issue 17 §4): does Envoy match the routes again after the wasm filter's on_request_headers?",
    "",
    routeCacheSection(r.facts, sums, byId),
    "",
    hostCallSection(byId),
    "",
    table(
      ["probe configuration", "req/s", "Envoy CPU µs/req"],
      probes.map((run) => [run.label, f0(sums[run.id].rps), f1(sums[run.id].cpu)]),
    ),
    "",
    ...(r.regions ? [regionSection(r.regions, main), ""] : []),
    memorySection(r.memory, r.lds, r.runs),
    "",
    "Verified before timing:",
    "",
    verificationSection(r.verification),
    "",
    `${r.elapsedS.toFixed(0)} s`,
  ];
  return out.join("\n");
}

/** The routing verification (verify.mjs); a request's pods are the same through every configuration it went to. */
function verificationSection(v) {
  const samePods = (q) => Object.values(q.pods)[0];
  return [
    `Every configuration answered the benchmark's request (${v.repeats} times) from the target pod:`,
    "",
    table(
      ["configuration", "pods"],
      v.configurations.map((c) => [c.label, c.pods]),
    ),
    "",
    `The seed's step 3 requests (${v.repeats} each) reached the same pods through the filter, the C reference and ` +
      "the native chain:",
    "",
    table(
      ["seed step 3 request", "pods"],
      v.requests.map((q) => [q.what, samePods(q)]),
    ),
    "",
    "Requests with a subset header of the client's reached the same pods through both catalog route orders:",
    "",
    table(
      ["request with a client subset header", "pods"],
      v.catalogRequests.map((q) => [q.what, samePods(q)]),
    ),
  ].join("\n");
}

export function verificationReport(r) {
  return [
    `Envoy ${r.envoy.version}, --verify: ${r.verification.configurations.length} configurations started, ` +
      "routing verified, nothing timed.",
    "",
    verificationSection(r.verification),
    "",
    "Route cache: does Envoy match the routes again after the wasm filter's on_request_headers?",
    "",
    factsTable(r.facts),
    "",
    `${r.elapsedS.toFixed(0)} s`,
  ].join("\n");
}
