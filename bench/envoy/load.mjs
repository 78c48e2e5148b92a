// Load generators for the Envoy benchmark, both from Debian's packages (machine.mjs installs them):
//
//   saturate(target, options)  wrk: closed loop, one thread, many keep-alive connections, as fast as Envoy
//                              answers -> { requests, seconds, non2xx, errors: { connect, read, write, timeout } }
//   saturateTogether(targets, options)  the same against several Envoys at once (one wrk each)
//   fixedRate(target, options) h2load --rps: a fixed request rate over a few keep-alive connections, every
//                              request's latency from its --log-file -> { latenciesUs, requests, non2xx }
//
// target = { port, headers }: the listener on 127.0.0.1 and the request headers (Host included).
// Why two tools: wrk is a closed-loop HTTP/1.1 client that does little per request (one epoll thread), so one core
// drives Envoy's single worker to saturation; it has no fixed-rate mode (wrk2 is not packaged). h2load has --rps and
// writes every request's duration, so the latency percentiles are exact rather than wrk's histogram summary.

import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

// A request unanswered this long counts as a socket error (timeout); a machine shared with other work stalls for
// a second now and then, which is noise, not an answer.
const TIMEOUT_SECONDS = 10;

/** The command line of `tool`, run on `core` (taskset) when one is given. */
function onCore(core, tool, args) {
  return core === undefined ? [tool, args] : ["taskset", ["--cpu-list", String(core), tool, ...args]];
}

/** -H arguments; `hostName` is how the tool spells the header that replaces its own Host (else it sends both). */
const headerArgs = (headers, hostName) =>
  Object.entries(headers).flatMap(([k, v]) => ["-H", `${k.toLowerCase() === "host" ? hostName : k}: ${v}`]);

function run(core, tool, args, timeoutMs) {
  const [command, argv] = onCore(core, tool, args);
  return execFileSync(command, argv, { encoding: "utf8", timeout: timeoutMs, maxBuffer: 1 << 20 });
}

const wrkArgs = ({ port, headers }, { seconds, connections }) => [
  "-t1",
  `-c${connections}`,
  `-d${seconds}s`,
  "--timeout",
  `${TIMEOUT_SECONDS}s`,
  ...headerArgs(headers, "Host"),
  `http://127.0.0.1:${port}/`,
];

function parseWrk(out) {
  const done = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
  if (!done) throw new Error(`wrk printed no request count:\n${out}`);
  const [connect, read, write, timeout] = (
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1) ?? [0, 0, 0, 0]
  ).map(Number);
  return {
    requests: Number(done[1]),
    seconds: Number(done[2]) / (done[3] === "ms" ? 1000 : 1),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    errors: { connect, read, write, timeout },
  };
}

export function saturate(target, { seconds, connections = 64, core }) {
  return parseWrk(run(core, "wrk", wrkArgs(target, { seconds, connections }), (seconds + 30) * 1000));
}

/** One wrk per target, all at the same time (each its own process on `core`) -> the results in target order. */
export function saturateTogether(targets, { seconds, connections = 32, core }) {
  return Promise.all(
    targets.map(
      (target) =>
        new Promise((resolve, reject) => {
          const [command, argv] = onCore(core, "wrk", wrkArgs(target, { seconds, connections }));
          execFile(command, argv, { encoding: "utf8", timeout: (seconds + 30) * 1000 }, (err, out) =>
            err ? reject(err) : resolve(parseWrk(out)),
          );
        }),
    ),
  );
}

export function fixedRate({ port, headers }, { seconds, rate, clients = 4, core }) {
  const dir = mkdtempSync(path.join(tmpdir(), "h2load-"));
  const log = path.join(dir, "requests.tsv");
  try {
    run(
      core,
      "h2load",
      [
        "--h1",
        `--clients=${clients}`,
        `--rps=${rate / clients}`,
        `--duration=${seconds}`,
        `--log-file=${log}`,
        ...headerArgs(headers, ":authority"),
        `http://127.0.0.1:${port}/`,
      ],
      (seconds + 30) * 1000,
    );
    const rows = readFileSync(log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("\t").map(Number)); // start µs, status, duration µs
    return {
      requests: rows.length,
      non2xx: rows.filter(([, status]) => status < 200 || status > 299).length,
      latenciesUs: Float64Array.from(rows, ([, , us]) => us),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
