// The soak's load generator: Debian's `wrk` with ./check.lua, which picks each request from a weighted list of
// cases and checks every response against the case's expected answers as it arrives (no response is stored).
// wrk rather than h2load: its Lua response() callback sees status, headers and body of every response, so the
// check happens in the generator at full rate; h2load only counts status classes.
//
//   ensureWrk()                      -> { bin } or { unavailable: why } (installs Debian's wrk when missing)
//   rawRequest(pairs, path)          -> the HTTP/1.1 request text (header pairs sent as given: case, repeats, bytes)
//   runLoad({ port, cases, seconds, threads, seed }) -> Promise<LoadResult>
//       cases: [{ name, request (rawRequest), weight, alts: [{ status, pods?: [ip], decision: string|null,
//       body?: string }] }]. threads: connections (one per wrk thread, so that a response is matched to its
//       request). LoadResult: { requests (answered cases), seconds, lost, unsolicited, drained (requests after
//       the deadline, see check.lua), errors: {connect, read, write, timeout},
//       sent: number[] (per case), matched: number[][] (per case, per alternative), bad: number[],
//       kinds: Map "status ip-or-body" -> n, kindsByCase: the same per case, samples: string[] }

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHECK = path.join(HERE, "check.lua");
const INSTALLER = path.join(HERE, "../../scripts/debian-packages.sh");

function findWrk() {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const bin = path.join(dir, "wrk");
    if (dir && existsSync(bin)) return bin;
  }
  return undefined;
}

export function ensureWrk() {
  const present = findWrk();
  if (present) return { bin: present };
  const run = spawnSync("bash", [INSTALLER, "wrk"], { encoding: "utf8", timeout: 600_000 });
  const bin = findWrk();
  if (bin) return { bin };
  const why = `${run.stderr ?? ""}${run.stdout ?? ""}`.trim().split("\n").at(-1);
  return { unavailable: `Debian's package wrk could not be installed: ${why || `exit ${run.status}`}` };
}

/** The request text: request line, the header pairs as given (latin1 bytes), an empty line. */
export function rawRequest(pairs, urlPath = "/") {
  const lines = [`GET ${urlPath} HTTP/1.1`, ...pairs.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}

/** A Lua string literal of any bytes. */
function luaString(bytes) {
  let out = '"';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${b}`;
  return `${out}"`;
}

const luaText = (s) => luaString(Buffer.from(s, "utf8"));

function luaAlt(alt) {
  const fields = [`status = ${alt.status}`, `decision = ${alt.decision == null ? "false" : luaText(alt.decision)}`];
  if (alt.pods) fields.push(`pods = { ${alt.pods.map((ip) => `[${luaText(ip)}] = true`).join(", ")} }`);
  if (alt.body !== undefined) fields.push(`body = ${luaText(alt.body.trimEnd())}`);
  return `{ ${fields.join(", ")} }`;
}

function casesLua(cases) {
  const items = cases.map(
    (c) => `{ weight = ${c.weight ?? 1}, req = ${luaString(c.request)}, alts = { ${c.alts.map(luaAlt).join(", ")} } }`,
  );
  return `return {\n${items.join(",\n")}\n}\n`;
}

function parseOutput(text, caseCount, altCounts) {
  const result = {
    sent: new Array(caseCount).fill(0),
    matched: altCounts.map((n) => new Array(n).fill(0)),
    bad: new Array(caseCount).fill(0),
    kinds: new Map(),
    kindsByCase: Array.from({ length: caseCount }, () => new Map()),
    samples: [],
  };
  for (const line of text.split("\n")) {
    const m = /^SOAK (\w+) (.*)$/.exec(line);
    if (!m) continue;
    const [what, rest] = [m[1], m[2]];
    const f = rest.split(" ");
    if (what === "sent") result.sent[Number(f[0]) - 1] = Number(f[1]);
    else if (what === "matched") result.matched[Number(f[0]) - 1][Number(f[1]) - 1] = Number(f[2]);
    else if (what === "bad") result.bad[Number(f[0]) - 1] = Number(f[1]);
    else if (what === "kind") {
      const kind = rest.slice(f[0].length + f[1].length + 2);
      result.kindsByCase[Number(f[1]) - 1].set(kind, Number(f[0]));
      result.kinds.set(kind, (result.kinds.get(kind) ?? 0) + Number(f[0]));
    } else if (what === "sample") result.samples.push(rest);
    else if (what === "totals") {
      const [, micros, lost, unsolicited, drained, connect, read, write, timeout] = f.map(Number);
      Object.assign(result, {
        seconds: micros / 1e6,
        lost,
        unsolicited,
        drained,
        errors: { connect, read, write, timeout },
      });
    }
  }
  if (result.seconds === undefined) throw new Error(`wrk printed no totals:\n${text.slice(-3000)}`);
  result.requests = result.matched.flat().reduce((a, b) => a + b, 0) + result.bad.reduce((a, b) => a + b, 0);
  return result;
}

/** Seconds wrk runs past the load's end, sending requests Envoy refuses before the filter (check.lua). */
const DRAIN_SECONDS = 1;

/** Runs wrk with `cases` for `seconds` against 127.0.0.1:port. */
export function runLoad({ bin = "wrk", port, cases, seconds, threads = 1, seed = 1 }) {
  const dir = mkdtempSync(path.join(tmpdir(), "dynamic-subset-soak-"));
  const casesFile = path.join(dir, "cases.lua");
  writeFileSync(casesFile, casesLua(cases));
  const args = ["-t", threads, "-c", threads, "-d", `${seconds + DRAIN_SECONDS}s`, "--timeout", "5s", "-s", CHECK];
  const url = `http://127.0.0.1:${port}/`;
  const wrk = spawn(bin, [...args, url, "--", casesFile, seed, seconds].map(String), {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  wrk.stdout.on("data", (d) => (out += d));
  wrk.stderr.on("data", (d) => (out += d));
  return new Promise((resolve, reject) => {
    wrk.once("error", reject);
    wrk.once("close", (code, signal) => {
      rmSync(dir, { recursive: true, force: true });
      try {
        if (code !== 0) throw new Error(`wrk exited with ${code ?? signal}:\n${out}`);
        const altCounts = cases.map((c) => c.alts.length);
        resolve(parseOutput(out, cases.length, altCounts));
      } catch (err) {
        reject(err);
      }
    });
  });
}
