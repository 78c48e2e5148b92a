// Seeded, bounded fuzzing of the compiled filter through the emulator (docs/configuration.md "Errors and warnings": nothing in configuration
// handling may trap"; docs/behaviour.md "Security": nothing a request carries can trap, nor allocate without bound).
// Requests carry hostile cookies, query strings and baggage too, and one test holds the filter's key sources to
// an independent model of their parsing rules (docs/configuration.md "Key sources").
//
// Default: 1,000 configurations and 4,000 requests (a few seconds) inside the test command. Longer: FUZZ_LONG=1
// (15,000 and 60,000, about a minute) or FUZZ_ITERATIONS=<configurations> (requests = 4 x that);
// FUZZ_SEED=<n> replays a run (every failure message names its seed and iteration).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ProxyWasmHost } from "../../emulator/index.mjs";
import { specExampleService } from "../../examples/helloworld/plugin-config.mjs";
import { random } from "./prng.mjs";

const WASM = fileURLToPath(new URL("../../build/dynamic_subset.wasm", import.meta.url));
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : 0x5eed1e55;
const CONFIGS = process.env.FUZZ_ITERATIONS
  ? Number(process.env.FUZZ_ITERATIONS)
  : process.env.FUZZ_LONG
    ? 15000
    : 1000;
const REQUESTS = CONFIGS * 4;
const DECISION = /^(subset:.*|fallback:(ANY_ENDPOINT|DEFAULT_SUBSET|NO_FALLBACK)|none)$/;
const PREFIX = "x-dynamic-subset-";
/** Spoofed values carry this marker: it is neither a label value nor an IP, so the filter never writes it. */
const SPOOF = "~spoof~";
const MAX_PAGES = 256; // 16 MiB: far above what the filter needs, far below "without bound"
/** An error line names a JSON path (`services[0].routes[1].name`, `labels["a/b"]`, `configuration`) or a byte. */
const PATH = String.raw`(?:[A-Za-z_$][\w$]*|\["(?:[^"\\]|\\.)*"\])(?:\.[A-Za-z_$][\w$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*`;
const ERROR_LINE = new RegExp(`^(?:configuration: invalid JSON at byte \\d+: |${PATH}: \\S)`);

// ------------------------------------------------------------------ valid configurations to mutate

const seedService = () => specExampleService();

const CATALOG = {
  routeToken: "9f3c1a7e52d04b68",
  subsets: [
    { name: "dev-v1", labels: { stage: "dev", version: "v1" } },
    { name: "prod-v3", labels: { stage: "prod", version: "v3" } },
  ],
  endpoints: [
    { address: "192.168.0.5:8000", labels: { stage: "dev", version: "v1" } },
    { address: "192.168.0.6:8000", labels: { stage: "prod", version: "v3" } },
  ],
};

const VALID_CONFIGS = [
  { services: [seedService()] },
  { mode: "catalog", responseHeader: true, services: [{ ...seedService(), catalog: CATALOG }] },
  {
    mode: "catalog",
    services: [
      {
        ...seedService(),
        cluster: undefined,
        host: "helloworld.default.svc.cluster.local",
        dynamicSubset: { subsetSelectors: [{ keys: ["stage", "version"] }], fallbackPolicy: "ANY_ENDPOINT" },
        catalog: { ...CATALOG, sessionHeader: "x-dynamic-subset-pin" },
      },
    ],
  },
  {
    headerPrefix: "x-ds-",
    services: [
      {
        cluster: "helloworld",
        dynamicSubset: { subsetSelectors: [{ keys: ["app.kubernetes.io/version"] }, { keys: ["Zone", "tier"] }] },
        routes: [
          {
            headerToDynamicSubsetKey: [
              { header: "X-App-Version", key: "app.kubernetes.io/version" },
              { header: "x-zone", key: "Zone", defaultValue: "a" },
              { header: "x-tier", key: "tier" },
            ],
          },
        ],
      },
    ],
  },
  {
    services: [
      {
        ...seedService(),
        routes: [
          {
            name: "default",
            headerToDynamicSubsetKey: [
              { cookie: "stage", key: "stage", defaultValue: "prod" },
              { query: "version", key: "version" },
              { baggage: "version", key: "version", defaultValue: "v3" },
              { header: "x-stage", key: "stage" },
            ],
          },
          { name: "pin", headerToDynamicSubsetKey: [{ baggage: "pod", key: "%ip%" }] },
        ],
      },
    ],
  },
  {},
];

// ------------------------------------------------------------------ configuration mutations

/** Every [parent, key] inside a JSON value, so a mutation can pick one. */
function slots(value, out = []) {
  if (value && typeof value === "object") {
    for (const key of Object.keys(value)) {
      out.push([value, key]);
      slots(value[key], out);
    }
  }
  return out;
}

const clone = (x) => JSON.parse(JSON.stringify(x));

function randomScalar(r) {
  return r.pick([
    0,
    -1,
    1e308,
    3.5,
    true,
    false,
    null,
    "",
    "NO_FALLBACK",
    "catalog",
    "%ip%",
    "x-dynamic-subset-subset",
    "Ünïcödé",
    "\u0000",
    "a".repeat(r.int(300)),
    [],
    {},
    [1, "two"],
    { keys: [] },
  ]);
}

function hugeString(r) {
  const unit = r.pick(["a", "é", "\\u0041", '\\"', "漢", "v1"]);
  return unit.repeat(r.int(200000) + 1000);
}

/** Mutations that work on the parsed configuration; each returns JSON text. */
const TREE_MUTATIONS = {
  deleteField(r, cfg) {
    const all = slots(cfg);
    if (all.length) {
      const [parent, key] = r.pick(all);
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    }
    return JSON.stringify(cfg);
  },
  typeSwap(r, cfg) {
    const all = slots(cfg);
    if (all.length) {
      const [parent, key] = r.pick(all);
      parent[key] = randomScalar(r);
    }
    return JSON.stringify(cfg);
  },
  unknownField(r, cfg) {
    const objects = slots(cfg)
      .map(([p, k]) => p[k])
      .filter((v) => v && typeof v === "object" && !Array.isArray(v));
    const name = r.pick(["fallbackpolicy", "extra", "__proto__x", "Keys", "cookie", "query", "baggage", "Header"]);
    r.pick([cfg, ...objects])[name] = randomScalar(r);
    return JSON.stringify(cfg);
  },
  duplicateField(r, cfg) {
    // JSON.stringify cannot write a duplicate member: splice one in textually after the first '{'.
    const text = JSON.stringify(cfg);
    const objects = [...text.matchAll(/\{"([^"]+)":/g)];
    if (!objects.length) return text;
    const m = r.pick(objects);
    return `${text.slice(0, m.index + 1)}"${m[1]}":${JSON.stringify(randomScalar(r))},${text.slice(m.index + 1)}`;
  },
  deepNesting(r, cfg) {
    const depth = r.pick([31, 32, 33, 40, 100, 1000, 5000]);
    const all = slots(cfg);
    const open = r.chance(0.5) ? "[".repeat(depth) : '{"a":'.repeat(depth);
    const close = open[0] === "[" ? "]".repeat(depth) : "}".repeat(depth);
    if (!all.length) return `${open}1${close}`;
    const [parent, key] = r.pick(all);
    parent[key] = "\u0001NEST\u0001";
    return JSON.stringify(cfg).replace('"\\u0001NEST\\u0001"', `${open}1${close}`);
  },
  hugeString(r, cfg) {
    const strings = slots(cfg).filter(([p, k]) => typeof p[k] === "string");
    const text = JSON.stringify(cfg);
    if (!strings.length) return text;
    const [parent, key] = r.pick(strings);
    parent[key] = "\u0001HUGE\u0001";
    return JSON.stringify(cfg).replace('"\\u0001HUGE\\u0001"', `"${hugeString(r)}"`);
  },
};

/** Mutations of the JSON text itself. */
const TEXT_MUTATIONS = {
  byteFlips(r, text) {
    const bytes = Buffer.from(text, "utf8");
    for (let n = r.int(4) + 1; n > 0 && bytes.length; n--) bytes[r.int(bytes.length)] = r.int(256);
    return bytes;
  },
  truncate(r, text) {
    return text.slice(0, r.int(text.length + 1));
  },
  garbage(r) {
    return Buffer.from(Array.from({ length: r.int(64) }, () => r.int(256)));
  },
};

function mutateConfig(r) {
  const base = clone(r.pick(VALID_CONFIGS));
  const text = JSON.stringify(base);
  const treeNames = Object.keys(TREE_MUTATIONS);
  const textNames = Object.keys(TEXT_MUTATIONS);
  const name = r.pick([...treeNames, ...textNames]);
  const out = name in TREE_MUTATIONS ? TREE_MUTATIONS[name](r, base) : TEXT_MUTATIONS[name](r, text);
  return { name, config: out };
}

// ------------------------------------------------------------------ random requests

/** docs/behaviour.md "Metadata mode": the header name of a key, every byte outside [a-z0-9._-] written as %xx. */
function keyHeader(prefix, key) {
  return (
    prefix +
    [...Buffer.from(key)]
      .map((b) =>
        /[a-z0-9._-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, "0")}`,
      )
      .join("")
  );
}

/** Every internal header a configuration can produce (docs/behaviour.md "Security"): the ones a client must never get through. */
function internalHeaders(config) {
  const prefix = config.headerPrefix ?? PREFIX;
  const names = new Set([`${prefix}subset`, `${prefix}host`]);
  for (const service of config.services ?? []) {
    const keys = [
      ...service.dynamicSubset.subsetSelectors.flatMap((s) => s.keys),
      ...(service.routes ?? []).flatMap((r) => r.headerToDynamicSubsetKey.map((m) => m.key)),
      ...Object.keys(service.dynamicSubset.defaultSubset ?? {}),
    ];
    for (const key of keys) names.add(keyHeader(prefix, key));
    if (service.catalog?.sessionHeader) names.add(service.catalog.sessionHeader);
  }
  return names;
}

const INTERNAL = ["stage", "version", "%25ip%25", "subset", "host", "pin", "app.kubernetes.io%2fversion", "%5aone"];

function randomCase(r, s) {
  return [...s].map((c) => (r.chance(0.5) ? c.toUpperCase() : c)).join("");
}

function randomBytes(r, n) {
  const words = new Uint32Array(Math.ceil(n / 4));
  for (let i = 0; i < words.length; i++) words[i] = r.next() * 4294967296;
  return new Uint8Array(words.buffer, 0, n);
}

function randomValue(r) {
  switch (r.int(9)) {
    case 0:
      return r.pick(["dev", "prod", "v1", "v2", "v3", "192.168.0.6", "192.168.0.5", "::1", "fe80::1"]);
    case 1:
      return "";
    case 2:
      return "v".repeat(r.pick([63, 64, 8192, 8193, 65536]));
    case 3:
      return randomBytes(r, r.int(40));
    case 4:
      return Uint8Array.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]); // invalid UTF-8
    case 5:
      return randomBytes(r, r.pick([1024, 16384, 65536]));
    case 6:
      return `${SPOOF}${r.int(100)}`;
    case 7:
      return "dev,prod";
    default:
      return `${r.pick(["a", "B", "0", "-"])}${"x".repeat(r.int(70))}`;
  }
}

// Cookies, query strings and baggage: mostly near-valid, with every kind of damage the parsers must survive.
const SOURCE_NAMES = ["stage", "version", "tier", "pod", "Stage", "st%61ge", "stage ", " version", "ver+sion", "x", ""];
const SOURCE_VALUES = [
  "dev",
  "prod",
  "web",
  "v1",
  "v2",
  "192.168.0.5",
  "d%65v",
  "v%31",
  "de+v",
  "%",
  "%4",
  "%zz",
  '"dev"',
  '"dev',
  "",
  "a=b",
  "%41".repeat(63),
  "%41".repeat(64),
];

function sourceValue(r) {
  if (r.chance(0.8)) return r.pick(SOURCE_VALUES);
  return r.pick([
    "v".repeat(r.pick([63, 64, 8192, 8193, 70000])),
    Buffer.from(randomBytes(r, r.int(12))).toString("latin1"),
  ]);
}

function randomCookie(r) {
  const pairs = Array.from({ length: r.int(6) }, () =>
    r.pick([
      () => `${r.pick(SOURCE_NAMES)}=${sourceValue(r)}`,
      () => `${r.pick(SOURCE_NAMES)} = "${sourceValue(r)}" `,
      () => r.pick(["", "=", "flag", ";", "\t"]),
    ])(),
  );
  if (r.chance(0.05)) pairs.push(...Array.from({ length: 20000 }, (_, i) => `c${i}=x`));
  return Buffer.from(pairs.join(r.pick(["; ", ";", " ;\t"])), "latin1");
}

function randomPath(r) {
  const params = Array.from({ length: r.int(6) }, () =>
    r.pick([
      () => `${r.pick(SOURCE_NAMES)}=${sourceValue(r)}`,
      () => r.pick(SOURCE_NAMES),
      () => r.pick(["", "&", "=", "#stage=dev", "?", ";stage=dev"]),
    ])(),
  );
  if (r.chance(0.05)) params.push("&".repeat(100000));
  const path = `${r.pick(["/", "/hello", "/a?b", ""])}${r.pick(["?", "", "??", "#?"])}${params.join(r.pick(["&", "&&"]))}`;
  return Buffer.from(path, "latin1");
}

/** A well-formed header at the limits: 63 to 66 members, or 8,189 to 8,196 bytes, its last member tier=api. */
function baggageAtLimits(r) {
  if (r.chance(0.5)) return [...Array.from({ length: 62 + r.int(4) }, (_, i) => `m${i}=x`), "tier=api"].join(",");
  return `pad=${"x".repeat(8176 + r.int(8))},tier=api`;
}

function randomBaggage(r) {
  if (r.chance(0.1)) return Buffer.from(baggageAtLimits(r), "latin1");
  const members = Array.from({ length: r.int(6) }, () =>
    r.pick([
      () => `${r.pick(SOURCE_NAMES)}=${sourceValue(r)}`,
      () => `${r.pick(SOURCE_NAMES)} = ${sourceValue(r)} ;ttl=1;lane`,
      () => r.pick(["", "k", "=v", "k=v;", "k=v;=x", "k=v v", 'k="v"']),
    ])(),
  );
  return Buffer.from(members.join(r.pick([",", " , ", ",\t"])), "latin1");
}

function randomRequest(r) {
  const headers = [
    [":authority", "helloworld:8000"],
    [":path", r.chance(0.5) ? randomPath(r) : "/"],
    [":method", "GET"],
  ];
  for (let n = r.int(24); n > 0; n--) {
    switch (r.int(5)) {
      case 4: // a key source's header (repeated ones are never read: Envoy hands over the first)
        headers.push(r.chance(0.5) ? ["cookie", randomCookie(r)] : ["baggage", randomBaggage(r)]);
        break;
      case 0: // mapped
        headers.push([
          randomCase(r, r.pick(["x-stage", "x-version", "x-ip", "x-app-version", "x-zone", "x-tier"])),
          randomValue(r),
        ]);
        break;
      case 1: // spoofed internal header
        headers.push([randomCase(r, r.pick([PREFIX, "x-ds-"]) + r.pick(INTERNAL)), `${SPOOF}${r.int(1000)}`]);
        break;
      case 2: // repeated name
        if (headers.length > 3) headers.push([headers[3 + r.int(headers.length - 3)][0], randomValue(r)]);
        break;
      default: // arbitrary
        headers.push([`x-${r.int(1e6).toString(36)}`, randomValue(r)]);
    }
  }
  const properties = {
    "xds.cluster_name": r.pick([
      "helloworld",
      "helloworld",
      "other",
      "outbound|8000||helloworld.default.svc.cluster.local",
      "",
    ]),
    "xds.route_name": r.pick(["default", "pin", "unmapped", ""]),
  };
  return { headers, properties };
}

// ------------------------------------------------------------------ driving the emulator

async function loadHost(config) {
  const host = await ProxyWasmHost.load(WASM, { pluginConfig: JSON.stringify(config), logLevel: "info" });
  host.start();
  return host;
}

function send(host, request) {
  const s = host.newStream({ properties: request.properties });
  s.requestHeaders(request.headers, { endOfStream: true });
  s.responseHeaders([[":status", "200"]], { endOfStream: true });
  s.complete();
  return s;
}

/** A fixed request whose decision shows which configuration is in force. */
const PROBE = {
  headers: [
    [":path", "/"],
    ["x-stage", "dev"],
    ["x-version", "v1"],
  ],
  properties: { "xds.cluster_name": "helloworld", "xds.route_name": "default" },
};

function decisionOf(stream) {
  return stream.filterState.get("wasm.dynamic_subset"); // Envoy's filter-state key for proxy_set_property
}

/** A request, short enough for a failure message. */
function describe(request) {
  const value = (v) => (typeof v === "string" ? v.slice(0, 40) : `<${v.length} bytes>`);
  return JSON.stringify({ ...request, headers: request.headers.map(([n, v]) => [n, value(v)]) });
}

const where = (i) => `(FUZZ_SEED=${SEED}, iteration ${i})`;

const skip = existsSync(WASM) ? false : "skipped: build/dynamic_subset.wasm is missing (npm run build:wasm)";

test("fuzzed configurations never trap; rejected ones name a path or offset and change nothing", { skip }, async () => {
  const r = random(SEED);
  const host = await loadHost(VALID_CONFIGS[0]);
  let expected = decisionOf(send(host, PROBE));
  assert.equal(expected, "subset:stage=dev,version=v1");
  let accepted = 0;
  const tried = new Set();
  for (let i = 0; i < CONFIGS; i++) {
    const { name, config } = mutateConfig(r);
    tried.add(name);
    const logsBefore = host.logs.length;
    const ok = host.configure(config);
    assert.equal(typeof ok, "boolean", `${name}: on_configure answered ${ok} ${where(i)}`);
    assert.equal(host.failed, false, `${name}: the VM trapped on configuration ${where(i)}`);
    const errors = host.logs.slice(logsBefore).filter((l) => l.level === "error");
    if (ok) {
      accepted++;
      assert.equal(errors.length, 0, `${name}: accepted with errors ${JSON.stringify(errors)} ${where(i)}`);
      const decision = decisionOf(send(host, PROBE));
      assert.ok(decision === undefined || DECISION.test(decision), `${name}: decision ${decision} ${where(i)}`);
      expected = decision;
    } else {
      assert.ok(errors.length > 0, `${name}: rejected without an error line ${where(i)}`);
      for (const e of errors) {
        assert.equal(e.from, "guest", `${name}: error line not the filter's: ${e.message} ${where(i)}`);
        assert.match(e.message, ERROR_LINE, `${name}: error names no path or byte offset ${where(i)}`);
      }
      assert.equal(
        decisionOf(send(host, PROBE)),
        expected,
        `${name}: a rejected configuration changed routing ${where(i)}`,
      );
    }
    if (r.chance(0.05)) {
      // back to a known-good configuration now and then, so mutations keep starting from valid ones
      assert.equal(host.configure(JSON.stringify(VALID_CONFIGS[0])), true);
      expected = decisionOf(send(host, PROBE));
    }
    assert.ok(host.memoryPages() <= MAX_PAGES, `memory grew to ${host.memoryPages()} pages ${where(i)}`);
  }
  assert.ok(accepted < CONFIGS, "every mutated configuration was accepted: the mutations are not biting");
  const kinds = [...Object.keys(TREE_MUTATIONS), ...Object.keys(TEXT_MUTATIONS)];
  if (CONFIGS >= 100) assert.deepEqual([...tried].sort(), kinds.sort(), "every kind of mutation ran");
});

test("fuzzed requests never trap, never leak a spoofed internal header, always decide validly", { skip }, async () => {
  const r = random(SEED ^ 0x9e3779b9);
  for (const config of VALID_CONFIGS) {
    const host = await loadHost(config);
    assert.equal(host.failed, false);
    const catalog = config.mode === "catalog";
    const internal = internalHeaders(config);
    let warmPages = 0;
    let spoofed = 0;
    let decided = 0;
    for (let i = 0; i < REQUESTS / VALID_CONFIGS.length; i++) {
      if (i === 50) warmPages = host.memoryPages();
      const request = randomRequest(r);
      const s = send(host, request);
      // (messages built only on failure: requests carry values up to 64 KiB)
      if (host.failed) assert.fail(`the VM trapped: ${host.failure} on ${describe(request)} ${where(i)}`);
      const decision = decisionOf(s);
      const cluster = request.properties["xds.cluster_name"];
      const handled = (config.services ?? []).some(
        (x) => x.cluster === cluster || (x.host && cluster === `outbound|8000||${x.host}`),
      );
      if (handled) {
        assert.match(decision ?? "no decision", DECISION, where(i));
        decided++;
      } else {
        assert.equal(decision, undefined, `a request to an unconfigured cluster got a decision ${where(i)}`);
      }
      spoofed += request.headers.filter(([n]) => internal.has(n.toLowerCase())).length;
      if (decision !== undefined && !catalog) assert.ok(!decision.startsWith("fallback:"), where(i));
      for (const [name, value] of s.requestHeaderMap) {
        if (internal.has(name) && value.includes(SPOOF)) assert.fail(`spoofed ${name}: ${value} survived ${where(i)}`);
      }
    }
    assert.ok(host.memoryPages() <= Math.max(warmPages + 16, 64), `memory ${warmPages} -> ${host.memoryPages()} pages`);
    // the checks above were exercised, not vacuous
    assert.ok(spoofed > 0, "no spoofed internal header was sent");
    if (config.services) assert.ok(decided > 0, "no request reached a decision");
  }
});

// ------------------------------------------------------------------ key sources against a model

/** One selector, one key from each source, each with a default: the decision shows what each source gave. */
const MODEL_CONFIG = {
  services: [
    {
      cluster: "helloworld",
      dynamicSubset: { subsetSelectors: [{ keys: ["stage", "tier", "version"] }] },
      routes: [
        {
          headerToDynamicSubsetKey: [
            { cookie: "stage", key: "stage", defaultValue: "prod" },
            { query: "version", key: "version", defaultValue: "v3" },
            { baggage: "tier", key: "tier", defaultValue: "web" },
          ],
        },
      ],
    },
  ],
};

// The rules of docs/configuration.md "Key sources", written again from the documentation (strings of bytes as
// latin1), to hold the filter's parsers to.
const OWS = /^[ \t]+|[ \t]+$/g;
const LABEL_VALUE = /^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const BAGGAGE_VALUE = "[\\x21\\x23-\\x2b\\x2d-\\x3a\\x3c-\\x5b\\x5d-\\x7e]*";
const W = "[ \\t]*";
const MEMBER = new RegExp(
  `^${W}(${TOKEN})${W}=${W}(${BAGGAGE_VALUE})(?:${W};${W}${TOKEN}${W}(?:=${W}${BAGGAGE_VALUE})?)*${W}$`,
);

function modelCookie(header, name) {
  for (const piece of header.split(";")) {
    const eq = piece.indexOf("=");
    if (eq < 0 || piece.slice(0, eq).replace(OWS, "") !== name) continue;
    const value = piece.slice(eq + 1).replace(OWS, "");
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return null;
}

function modelDecode(text, plusIsSpace) {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += plusIsSpace && text[i] === "+" ? " " : text[i];
  }
  return out;
}

function modelQuery(path, name) {
  const query = path.split("#")[0];
  const start = query.indexOf("?");
  if (start < 0) return null;
  for (const param of query.slice(start + 1).split("&")) {
    const eq = param.indexOf("=");
    if (modelDecode(eq < 0 ? param : param.slice(0, eq), true) === name) return eq < 0 ? "" : param.slice(eq + 1);
  }
  return null;
}

function modelBaggage(header, key) {
  const members = header.split(",");
  if (header.length > 8192 || members.length > 64) return null;
  let value = null;
  for (const member of members) {
    const match = MEMBER.exec(member);
    if (!match) return null;
    if (match[1] === key) value = match[2];
  }
  return value;
}

/** The value a key gets from what its source gave (`raw`, null when absent). */
function modelValue(raw, decode, plusIsSpace, defaultValue) {
  if (raw === null || raw === "") return defaultValue;
  if (raw.length > 8192) return "~invalid~";
  const value = decode ? modelDecode(raw, plusIsSpace) : raw;
  return value.length <= 63 && LABEL_VALUE.test(value) ? value : "~invalid~";
}

function modelDecision(headers) {
  const first = (name) => {
    const found = headers.find(([n]) => n === name);
    return found ? Buffer.from(found[1]).toString("latin1") : null;
  };
  const cookie = first("cookie");
  const path = first(":path");
  const baggage = first("baggage");
  const stage = modelValue(cookie === null ? null : modelCookie(cookie, "stage"), false, false, "prod");
  const version = modelValue(path === null ? null : modelQuery(path, "version"), true, true, "v3");
  const tier = modelValue(baggage === null ? null : modelBaggage(baggage, "tier"), true, false, "web");
  return `subset:stage=${stage},tier=${tier},version=${version}`;
}

test("fuzzed cookies, query strings and baggage decide as the documented parsing rules do", { skip }, async () => {
  const r = random(SEED ^ 0x5ca1ab1e);
  const host = await loadHost(MODEL_CONFIG);
  const properties = { "xds.cluster_name": "helloworld", "xds.route_name": "default" };
  const seen = new Set();
  for (let i = 0; i < REQUESTS; i++) {
    const headers = [[":path", randomPath(r)]];
    if (r.chance(0.8)) headers.push(["cookie", randomCookie(r)]);
    if (r.chance(0.8)) headers.push(["baggage", randomBaggage(r)]);
    if (r.chance(0.1)) headers.push([r.pick(["cookie", "baggage"]), "stage=dev; tier=api"]); // never read
    const request = { headers, properties };
    const decision = decisionOf(send(host, request));
    if (host.failed) assert.fail(`the VM trapped: ${host.failure} on ${describe(request)} ${where(i)}`);
    const expected = modelDecision(headers);
    if (decision !== expected)
      assert.fail(`${decision} where the rules give ${expected}: ${describe(request)} ${where(i)}`);
    for (const part of decision.slice("subset:".length).split(",")) seen.add(part);
  }
  // every source gave values of its own, no value (the default), and values it could not use
  for (const part of [
    "stage=dev",
    "stage=prod",
    "stage=~invalid~",
    "tier=dev",
    "tier=api",
    "tier=web",
    "tier=~invalid~",
  ])
    assert.ok(seen.has(part), `never ${part}`);
  for (const part of ["version=dev", "version=v3", "version=~invalid~", `version=${"A".repeat(63)}`])
    assert.ok(seen.has(part), `never ${part}`);
});
