#!/usr/bin/env node
// dynamic-subset CLI: `dynamic-subset render --target envoy|istio ...` (see USAGE). Exit codes: 0 rendered,
// 1 bad input (every problem printed, one per line, naming file#document path: problem), 2 bad usage.

import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { AsmInputError, readAsmFiles } from "../asm/index.js";
import { DECISION_HEADER, DEFAULT_HEADER_PREFIX } from "../config/constants.js";
import { readEndpointsFile } from "../endpoints/index.js";
import { envoyYaml, renderEnvoy, type EnvoyVariant } from "../render/envoy.js";
import { renderIstioCli } from "../render/istio.js";

const USAGE = `Usage: dynamic-subset render --target envoy|istio -f FILE.yaml [-f FILE.yaml ...] [options]

Renders ASM-style DestinationRule (spec.trafficPolicy.loadBalancer.dynamicSubset) and VirtualService
(spec.http[].headerToDynamicSubsetKey) YAML into configuration for the dynamic-subset filter.

Common options:
  -f, --filename FILE    ASM YAML input (multi-document; repeatable; "-" reads stdin)
  -o, --out FILE         write to FILE instead of stdout
  --output FORM          envoy: bootstrap (default) | parts | plugin-config (JSON; by variant name
                         when there are several variants)
  -h, --help             this text

Target envoy (metadata mode; endpoints carry envoy.lb labels):
  --endpoints FILE       endpoints file (required for bootstrap and parts):
                           - host: helloworld.default.svc.cluster.local
                             port: 8000
                             endpoints:
                             - {address: 192.168.0.5, labels: {stage: dev, version: v1}}
  --variant NAME         start a new listener named NAME; the -f files after it belong to it
                         (several variants = several listeners in one bootstrap, consecutive ports)
  --wasm PATH            filter module path as Envoy sees it (default build/dynamic_subset.wasm)
  --port N               first listener port (default 10000); --listen ADDR (default 127.0.0.1)
  --admin-port N         admin port (default 9901)
  --header-prefix P      internal header prefix (default ${DEFAULT_HEADER_PREFIX})
  --response-header      the filter adds ${DECISION_HEADER}: <decision> to responses (debugging)

Target istio (catalog mode; WasmPlugin, DestinationRule subsets, VirtualService):
  --pods FILE            \`kubectl get pods -o json\` output (required)
  --output FORM          yaml (default) | plugin-config
  --service FILE         the Service manifest (\`kubectl get service NAME -o yaml\`), recommended
  --previous FILE        the previous output of this target: its route token is kept
  --wasm-url URL         WasmPlugin url (oci://..., https://..., file://...)
  --wasm-sha256 HEX      WasmPlugin sha256
  --selector k=v[,k=v]   WasmPlugin workload selector
  --route-token HEX      catalog route token (default: kept from --previous, else random)
  --fail-strategy S      WasmPlugin failStrategy: FAIL_CLOSE (default) or FAIL_OPEN (README "Istio", Security)

Examples:
  dynamic-subset render --target envoy -f dr.yaml -f vs.yaml --endpoints endpoints.yaml -o envoy.yaml
  dynamic-subset render --target envoy -f dr.yaml -f vs.yaml --output plugin-config
`;

class UsageError extends Error {}

interface Args {
  target?: string;
  variants: { name?: string; files: string[] }[];
  out?: string;
  output?: string;
  endpoints?: string;
  pods?: string;
  wasm?: string;
  port?: number;
  listen?: string;
  adminPort?: number;
  headerPrefix?: string;
  responseHeader: boolean;
  help: boolean;
  rest: Record<string, string>; // options passed through to the istio target
}

function parseArgs(argv: string[]): Args {
  const a: Args = { variants: [{ files: [] }], responseHeader: false, help: false, rest: {} };
  const [command, ...args] = argv;
  if (command === "-h" || command === "--help" || command === undefined) return { ...a, help: true };
  if (command !== "render") throw new UsageError(`unknown command "${command}" (expected: render)`);
  const value = (i: number, flag: string) => {
    const v = args[i + 1];
    if (v === undefined || (v.startsWith("-") && v !== "-")) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  const int = (v: string, flag: string) => {
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535)
      throw new UsageError(`${flag}: not a port number: ${v}`);
    return Number(v);
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] =
      args[i].startsWith("--") && args[i].includes("=") ? args[i].split(/=(.*)/s, 2) : [args[i], undefined];
    const take = () => (inline !== undefined ? inline : value(i++, flag));
    switch (flag) {
      case "-h":
      case "--help":
        a.help = true;
        break;
      case "--target":
        a.target = take();
        break;
      case "-f":
      case "--filename":
        a.variants[a.variants.length - 1].files.push(take());
        break;
      case "-o":
      case "--out":
        a.out = take();
        break;
      case "--output":
        a.output = take();
        break;
      case "--endpoints":
        a.endpoints = take();
        break;
      case "--pods":
        a.pods = take();
        break;
      case "--wasm":
        a.wasm = take();
        break;
      case "--port":
        a.port = int(take(), flag);
        break;
      case "--listen":
        a.listen = take();
        break;
      case "--admin-port":
        a.adminPort = int(take(), flag);
        break;
      case "--header-prefix":
        a.headerPrefix = take();
        if (!/^[a-z0-9!#$%&'*+\-.^_`|~]+$/.test(a.headerPrefix))
          throw new UsageError(`--header-prefix: not a lower-case header-name token: ${a.headerPrefix}`);
        break;
      case "--response-header":
        a.responseHeader = true;
        break;
      case "--variant": {
        const name = take();
        const current = a.variants[a.variants.length - 1];
        if (current.files.length === 0 && current.name === undefined) current.name = name;
        else a.variants.push({ name, files: [] });
        break;
      }
      default:
        if (flag.startsWith("--") && flag.length > 2)
          a.rest[flag.slice(2)] = take(); // istio target options
        else throw new UsageError(`unknown option ${flag}`);
    }
  }
  return a;
}

function renderEnvoyTarget(a: Args, argv: string[]): { text: string; warnings: string[] } {
  const output = a.output ?? "bootstrap";
  if (output !== "bootstrap" && output !== "parts" && output !== "plugin-config")
    throw new UsageError(`--output for target envoy: bootstrap, parts or plugin-config (got ${output})`);
  if (a.pods) throw new UsageError("--pods is for the istio target; the envoy target reads --endpoints");
  const unknown = Object.keys(a.rest);
  if (unknown.length > 0) throw new UsageError(`unknown option --${unknown[0]} for target envoy`);
  const variants: EnvoyVariant[] = a.variants.map((v) => {
    if (v.files.length === 0) throw new UsageError(`${v.name ? `variant ${v.name}: ` : ""}no input: give -f FILE.yaml`);
    return { name: v.name, input: readAsmFiles(v.files) };
  });
  if (output !== "plugin-config" && !a.endpoints)
    throw new UsageError(`--endpoints FILE is required for --output ${output}`);
  const endpoints = a.endpoints ? readEndpointsFile(a.endpoints) : { services: [], warnings: [] };
  const { documents, warnings } = renderEnvoy(variants, {
    output,
    endpoints: endpoints.services,
    wasmFilename: a.wasm,
    listenAddress: a.listen,
    port: a.port,
    adminPort: a.adminPort,
    headerPrefix: a.headerPrefix,
    responseHeader: a.responseHeader,
  });
  warnings.unshift(...endpoints.warnings);
  if (output === "plugin-config") {
    // one variant: its plugin configuration; several: an object of them by variant name
    const value =
      documents.length === 1
        ? documents[0].value
        : Object.fromEntries(documents.map((d, i) => [variants[i].name, d.value]));
    return { text: `${JSON.stringify(value, null, 2)}\n`, warnings };
  }
  const header = `# Rendered by: dynamic-subset ${argv.join(" ")}\n# Do not edit by hand: change the inputs and render again.\n`;
  return { text: envoyYaml(documents, header), warnings };
}

/** The command line without `-o FILE`, for the header of the output. */
function withoutOut(argv: string[]): string[] {
  return argv.filter(
    (x, i) => !["-o", "--out"].includes(x) && !["-o", "--out"].includes(argv[i - 1]) && !x.startsWith("--out="),
  );
}

function renderIstioTarget(a: Args): { text: string; warnings: string[] } {
  const envoyOnly = [
    ["--endpoints", a.endpoints],
    ["--variant", a.variants.length > 1 || a.variants[0].name !== undefined ? "x" : undefined],
    ["--wasm", a.wasm],
    ["--port", a.port],
    ["--listen", a.listen],
    ["--admin-port", a.adminPort],
    ["--header-prefix", a.headerPrefix],
    ["--response-header", a.responseHeader || undefined],
  ].find(([, v]) => v !== undefined);
  if (envoyOnly) throw new UsageError(`${envoyOnly[0]} is an option of target envoy`);
  return renderIstioCli({ files: a.variants.flatMap((v) => v.files), pods: a.pods, output: a.output, options: a.rest });
}

export function main(argv: string[]): number {
  let a: Args;
  try {
    a = parseArgs(argv);
    if (a.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (a.target !== "envoy" && a.target !== "istio")
      throw new UsageError(
        a.target ? `unknown target "${a.target}" (expected envoy or istio)` : "--target envoy|istio is required",
      );
    const { text, warnings } = a.target === "envoy" ? renderEnvoyTarget(a, withoutOut(argv)) : renderIstioTarget(a);
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    if (a.out) writeFileSync(a.out, text);
    else process.stdout.write(text);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`dynamic-subset: ${e.message}\nRun \`dynamic-subset --help\` for usage.\n`);
      return 2;
    }
    if (e instanceof AsmInputError) {
      for (const p of e.problems) process.stderr.write(`error: ${p}\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT" || err.code === "EISDIR" || err.code === "EACCES") {
      process.stderr.write(`dynamic-subset: cannot read ${err.path ?? "input"}: ${err.code}\n`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = main(process.argv.slice(2));
}
