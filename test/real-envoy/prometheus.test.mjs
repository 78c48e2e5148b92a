// Observability as users consume it: a real Prometheus (Debian's package, scripts/prometheus.mjs) scrapes the
// admin endpoint of the local example's real Envoy (envoy/envoy.yaml as shipped), and every PromQL query of README
// "Observability" answers for the requests this test sent. The alert on rejected configurations is also run
// against Envoys whose listener comes from a watched file (LDS): it fires for a rejected update, and Envoy's counter
// sees a rejected configuration sent again, which the filter's own counter does not. Without Prometheus the test is
// skipped by name with the reason (a failure under CI=true); the exposition text itself is tested in
// metadata.test.mjs either way.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { stringify } from "yaml";
import { freePort, localExampleBootstrap, startLocalExample } from "../../envoy/local-envoy.mjs";
import { availablePrometheus } from "../../scripts/prometheus.mjs";
import { forAllEnvoys } from "./envoys.mjs";
import { WatchedListenerFile } from "./watched-listener.mjs";

const README = new URL("../../README.md", import.meta.url);
const SCRAPE_INTERVAL = "200ms";

/** The queries of README "Observability" (the ```promql block), without their comments. */
function readmeQueries() {
  const text = readFileSync(README, "utf8");
  const section = text.slice(
    text.indexOf("## Observability"),
    text.indexOf("\n## ", text.indexOf("## Observability") + 1),
  );
  const block = /```promql\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README "Observability" has no ```promql block');
  return block[1].split("\n").filter((l) => l.trim() && !l.startsWith("#"));
}

function getJson(port, urlPath) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: urlPath }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode, json: JSON.parse(body), body });
          } catch {
            resolve({ status: res.statusCode, json: undefined, body });
          }
        });
      })
      .on("error", reject);
  });
}

async function until(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Prometheus on loopback with its own config and storage in a temporary folder, scraping `staticConfigs`. */
async function startPrometheus(bin, staticConfigs) {
  const dir = mkdtempSync(path.join(tmpdir(), "dynamic-subset-prometheus-"));
  const config = {
    global: { scrape_interval: SCRAPE_INTERVAL, scrape_timeout: SCRAPE_INTERVAL },
    scrape_configs: [{ job_name: "envoy", metrics_path: "/stats/prometheus", static_configs: staticConfigs }],
  };
  writeFileSync(path.join(dir, "prometheus.yml"), stringify(config));
  const port = await freePort();
  const args = [
    `--config.file=${path.join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${path.join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ];
  const log = [];
  const server = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  server.stdout.on("data", (d) => log.push(String(d)));
  server.stderr.on("data", (d) => log.push(String(d)));
  const exited = new Promise((resolve) => server.once("exit", resolve));
  const close = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const query = async (promql) => {
    const r = await getJson(port, `/api/v1/query?query=${encodeURIComponent(promql)}`);
    if (r.json?.status !== "success") throw new Error(`${promql}: ${r.status} ${r.body}`);
    return r.json.data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
  };
  try {
    await until(
      "prometheus ready",
      async () => server.exitCode === null && (await getJson(port, "/-/ready")).status === 200,
    );
  } catch (err) {
    await close();
    throw new Error(`${err.message}\n${log.join("").slice(-2000)}`);
  }
  return { query, close, log };
}

const prometheus = availablePrometheus();

/** forAllEnvoys, skipped by name (a failure under CI=true) where Prometheus is not available. */
function withPrometheus(name, body) {
  if (!prometheus.unavailable) return forAllEnvoys(`${name} (Prometheus ${prometheus.version})`, body);
  if (process.env.CI === "true") test(name, () => assert.fail(`CI=true and no Prometheus: ${prometheus.unavailable}`));
  else test(name, { skip: `skipped: ${prometheus.unavailable}` }, () => {});
}

// One Prometheus scrapes every pinned Envoy at once (Prometheus 2.42 hands a new target to its scraper only
// after its 5 s service-discovery interval: one server, one wait). Each Envoy gets the same requests, so README's
// queries, which sum over every target, answer the same shares as for one Envoy; counts are checked per Envoy.
withPrometheus("Prometheus scrapes real Envoy: README's queries answer for the requests sent", (envoys) => {
  // What this test sends to envoy/envoy.yaml, and what each request counts.
  const TRAFFIC = [
    { listener: "step2", headers: { "x-stage": "dev", "x-version": "v1" }, times: 6, outcome: "subset", status: 200 },
    // prod/v1 does not exist, NO_FALLBACK: the filter decided (subset), Envoy's subset load balancer answers 503
    { listener: "step2", headers: { "x-stage": "prod", "x-version": "v1" }, times: 3, outcome: "subset", status: 503 },
    {
      listener: "step3-any-endpoint",
      headers: { "x-version": "Bad Value!" },
      times: 2,
      outcome: "unmatchable",
      status: 200,
    },
    { listener: "step4-ip", headers: {}, times: 1, outcome: "no_selector", status: 503 },
  ];
  const total = TRAFFIC.reduce((n, t) => n + t.times, 0);
  const count = (pick) => TRAFFIC.filter(pick).reduce((n, t) => n + t.times, 0);
  const OUTCOMES = ["subset", "fallback_any", "fallback_default", "no_fallback", "no_selector", "unmatchable"];
  const sent = Object.fromEntries(OUTCOMES.map((o) => [o, count((t) => t.outcome === o)]));
  const none503 = count((t) => t.status === 503);

  const examples = [];
  let server;
  const queries = readmeQueries();
  const totalOf = async (version) =>
    (await server.query(`sum(dynamic_subset_requests_total{envoy_version="${version}"})`))[0]?.value;
  before(async () => {
    for (const envoy of envoys) examples.push(await startLocalExample(envoy.bin));
    const targets = envoys.map((envoy, i) => ({
      targets: [`127.0.0.1:${examples[i].adminPort}`],
      labels: { envoy_version: envoy.version },
    }));
    server = await startPrometheus(prometheus.bin, targets);
    // A scrape before any request: every series starts at 0 inside the queries' window, so the rates of one
    // scrape share Prometheus' extrapolation and their ratios are exact.
    for (const envoy of envoys)
      await until(`a first scrape of ${envoy.version}`, async () => (await totalOf(envoy.version)) === 0);
    for (const example of examples)
      for (const { listener, headers, times, status } of TRAFFIC)
        for (let i = 0; i < times; i++) assert.equal((await example.request(listener, headers)).status, status);
    for (const envoy of envoys)
      await until(
        `a scrape of ${envoy.version} after the requests`,
        async () => (await totalOf(envoy.version)) === total,
      );
  });
  after(async () => {
    await server?.close();
    for (const example of examples) await example.close();
  });

  test("README has the six queries this test knows", () => {
    assert.equal(queries.length, 6, queries.join("\n"));
  });

  for (const envoy of envoys)
    test(`Envoy ${envoy.version}: the counters Prometheus stored are the requests sent, per outcome`, async () => {
      const stored = await server.query(
        `sum by (dynamic_subset_outcome) (dynamic_subset_outcomes_total{envoy_version="${envoy.version}"})`,
      );
      assert.deepEqual(Object.fromEntries(stored.map((s) => [s.metric.dynamic_subset_outcome, s.value])), sent);
    });

  test("requests per second, by outcome: one series per outcome, in the proportions sent", async () => {
    const rates = await server.query(queries[0]);
    const sum = rates.reduce((n, s) => n + s.value, 0);
    assert.ok(sum > 0);
    const shares = Object.fromEntries(rates.map((s) => [s.metric.dynamic_subset_outcome, s.value / sum]));
    for (const o of OUTCOMES) assert.ok(Math.abs(shares[o] - sent[o] / total) < 1e-9, `${o}: ${shares[o]}`);
  });

  test("share answered 503 for a missing subset (metadata mode): the 503s sent", async () => {
    const [share] = await server.query(queries[1]);
    assert.ok(Math.abs(share.value - none503 / total) < 1e-9, `${share.value} != ${none503}/${total}`);
  });

  test("the catalog-mode 503 share is 0 in metadata mode (the filter never answers 503 there)", async () => {
    const [share] = await server.query(queries[2]);
    assert.equal(share.value, 0);
  });

  test("share of unmatchable values: the unmatchable requests sent", async () => {
    const [share] = await server.query(queries[3]);
    assert.ok(Math.abs(share.value - sent.unmatchable / total) < 1e-9, String(share.value));
  });

  test("the alert on requests a client steered onto a generated route is silent (metadata mode has none)", async () => {
    assert.deepEqual(await server.query(queries[5]), []);
    assert.deepEqual(
      (await server.query('dynamic_subset_requests_total{dynamic_subset_arrival="generated_route"}')).map(
        (s) => s.value,
      ),
      envoys.map(() => 0),
    );
  });

  test("the rejected-configuration alert is silent, every counter at 0", async () => {
    assert.deepEqual(await server.query(queries[4]), []);
    assert.deepEqual(
      (await server.query("dynamic_subset_config_rejected_total")).map((s) => s.value),
      envoys.map(() => 0),
    );
  });
});

// The README's alert on rejected configurations, where rejections happen: a listener from a watched file (LDS).
// Envoy runs the filter's configure once per configuration text, so the same malformed configuration sent again
// moves listener_manager.lds.update_rejected but not dynamic_subset_config_rejected_total: the alert needs both.
withPrometheus(
  "Prometheus and Envoys whose listener comes from a watched file: README's alert on rejected configurations",
  (envoys) => {
    const alert = readmeQueries()[4];
    const BAD = (v) => v.replace('"defaultValue":"v3"', '"defaultValue":"Bad Value!"');
    const GOOD = (v) => v.replace('"defaultValue":"v3"', '"defaultValue":"v2"');
    const examples = [];
    const watched = [];
    let server;
    const stored = async (metric) =>
      Object.fromEntries((await server.query(metric)).map((s) => [s.metric.envoy_version, s.value]));
    const each = (value) => Object.fromEntries(envoys.map((e) => [e.version, value]));
    /** Writes the next version of every listener and waits until Prometheus has scraped `metric` at `value`. */
    async function update(edit, metric, value) {
      for (const file of watched) file.replaceConfiguration(edit);
      await until(`${metric} = ${value} scraped`, async () => {
        const got = await stored(metric);
        return envoys.every((e) => got[e.version] === value);
      });
    }
    before(async () => {
      for (const envoy of envoys) {
        const bootstrap = localExampleBootstrap();
        const listener = bootstrap.static_resources.listeners.find((l) => l.name === "step2");
        listener.address.socket_address.port_value = await freePort();
        bootstrap.static_resources.listeners = [];
        const file = new WatchedListenerFile(listener);
        watched.push(file);
        bootstrap.dynamic_resources = file.dynamicResources;
        examples.push(await startLocalExample(envoy.bin, { bootstrap }));
      }
      const targets = envoys.map((envoy, i) => ({
        targets: [`127.0.0.1:${examples[i].adminPort}`],
        labels: { envoy_version: envoy.version },
      }));
      server = await startPrometheus(prometheus.bin, targets);
      await until("a first scrape of every Envoy", async () => {
        const got = await stored("envoy_listener_manager_lds_update_success");
        return envoys.every((e) => got[e.version] === 1);
      });
    });
    after(async () => {
      await server?.close();
      for (const example of examples) await example.close();
      for (const file of watched) file.remove();
    });

    test("silent while every listener update is accepted", async () => {
      assert.deepEqual(await server.query(alert), []);
    });

    test("a rejected update: both counters move, the alert fires for every Envoy", async () => {
      await update(BAD, "envoy_listener_manager_lds_update_rejected", 1);
      assert.deepEqual(await stored("dynamic_subset_config_rejected_total"), each(1));
      const firing = new Set((await server.query(alert)).map((s) => s.metric.envoy_version));
      assert.deepEqual([...firing].sort(), envoys.map((e) => e.version).sort());
    });

    test("the same malformed configuration again: only Envoy's counter moves, which the alert also watches", async () => {
      await update(GOOD, "envoy_listener_manager_lds_update_success", 2);
      await update(BAD, "envoy_listener_manager_lds_update_rejected", 2);
      assert.deepEqual(await stored("dynamic_subset_config_rejected_total"), each(1), "the filter saw the repeat");
      const parts = alert.split(" or ");
      assert.equal(parts.length, 2, `README's alert watches the filter's counter and Envoy's: ${alert}`);
      assert.match(parts[1], /envoy_listener_manager_lds_update_rejected/);
      const lds = await server.query(parts[1]);
      assert.deepEqual(lds.map((s) => s.metric.envoy_version).sort(), envoys.map((e) => e.version).sort());
    });
  },
);
