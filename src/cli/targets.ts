// The two render targets as the CLI runs them: files read, options checked, the pure renderer called.
//
//   renderTarget(cmd): { text, warnings }    the output text (YAML or JSON) and the warnings for stderr

import { parseAsm, type AsmInput } from "../asm/index.js";
import { ROUTE_TOKEN_MAX_LENGTH, ROUTE_TOKEN_MIN_LENGTH } from "../config/constants.js";
import { parseEndpoints } from "../endpoints/index.js";
import { parsePods, parseServices } from "../k8s/pods.js";
import { envoyYaml, renderEnvoy, type EnvoyVariant } from "../render/envoy.js";
import { type IstioOptions, renderIstio, renderIstioPluginConfig } from "../render/istio.js";
import { FAIL_STRATEGIES, isFailStrategy } from "../render/istio-strict.js";
import { wasmSourceFindings } from "../render/wasm-source.js";
import {
  headerPrefixValue,
  namespaceValues,
  portValue,
  type RenderCommand,
  selectorValue,
  UsageError,
} from "./args.js";
import { readText } from "./files.js";

export interface Rendered {
  text: string;
  warnings: string[];
}

function readAsm(files: string[], variant?: string): AsmInput {
  if (files.length === 0) throw new UsageError(`${variant ? `variant ${variant}: ` : ""}no input: give -f FILE.yaml`);
  if (files.filter((f) => f === "-").length > 1) throw new UsageError("-f -: stdin can be read only once");
  return parseAsm(files.map((file) => ({ file, text: readText(file) })));
}

/** The command line without the options that do not change what is rendered, for the header of the output. */
function commandLine(argv: string[], leaveOut: string[]): string {
  const kept = argv.filter(
    (x, i) => !leaveOut.includes(x) && !leaveOut.includes(argv[i - 1]) && !leaveOut.some((o) => x.startsWith(`${o}=`)),
  );
  return `dynamic-subset ${kept.join(" ")}`;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

function renderEnvoyTarget(cmd: RenderCommand): Rendered {
  const output = cmd.output ?? "bootstrap";
  if (output !== "bootstrap" && output !== "parts" && output !== "plugin-config")
    throw new UsageError(`--output for target envoy: bootstrap, parts or plugin-config (got ${output})`);
  const options = {
    port: portValue(cmd, "port"),
    adminPort: portValue(cmd, "admin-port"),
    headerPrefix: headerPrefixValue(cmd),
  };
  const endpointsFile = cmd.values.endpoints;
  if (output !== "plugin-config" && !endpointsFile)
    throw new UsageError(`--endpoints FILE is required for --output ${output}`);
  const variants: EnvoyVariant[] = cmd.variants.map((v) => ({ name: v.name, input: readAsm(v.files, v.name) }));
  const endpoints = endpointsFile
    ? parseEndpoints({ file: endpointsFile, text: readText(endpointsFile) })
    : { services: [], warnings: [] };
  const { documents, warnings } = renderEnvoy(variants, {
    output,
    endpoints: endpoints.services,
    wasmFilename: cmd.values.wasm,
    listenAddress: cmd.values.listen,
    ...options,
    responseHeader: cmd.flags.has("response-header"),
    allowed: cmd.allowed,
  });
  warnings.unshift(...endpoints.warnings);
  if (output === "plugin-config") {
    // one variant: its plugin configuration; several: an object of them by variant name
    const value =
      documents.length === 1
        ? documents[0].value
        : Object.fromEntries(documents.map((d, i) => [variants[i].name, d.value]));
    return { text: json(value), warnings };
  }
  const header = `# Rendered by: ${commandLine(cmd.argv, ["-o", "--out"])}\n# Do not edit by hand: change the inputs and render again.\n`;
  return { text: envoyYaml(documents, header), warnings };
}

function renderIstioTarget(cmd: RenderCommand): Rendered {
  const output = cmd.output ?? "yaml";
  if (output !== "yaml" && output !== "plugin-config")
    throw new UsageError(`--output for target istio: yaml (default) or plugin-config (got ${output})`);
  if (cmd.variants.length > 1 || cmd.variants[0].name !== undefined)
    throw new UsageError("--variant is an option of target envoy");
  const podsFile = cmd.values.pods;
  if (!podsFile) throw new UsageError("--pods FILE (kubectl get pods -o json) is required for target istio");
  const { values } = cmd;
  const warnings: string[] = [];
  const token = new RegExp(`^[0-9a-f]{${ROUTE_TOKEN_MIN_LENGTH},${ROUTE_TOKEN_MAX_LENGTH}}$`);
  if (values["route-token"] !== undefined && !token.test(values["route-token"]))
    throw new UsageError(
      `--route-token: the route token must be ${ROUTE_TOKEN_MIN_LENGTH}-${ROUTE_TOKEN_MAX_LENGTH} lower-case hex digits`,
    );
  const failStrategy = values["fail-strategy"];
  if (failStrategy !== undefined && !isFailStrategy(failStrategy))
    throw new UsageError(`--fail-strategy: ${FAIL_STRATEGIES.join(" or ")} (got ${failStrategy})`);
  const wasmUrl = values["wasm-url"];
  if (wasmUrl === undefined && output === "yaml")
    throw new UsageError(
      "--wasm-url URL is required: where istio-agent fetches the filter (npm run oci builds the image; push it to your registry)",
    );
  if (wasmUrl !== undefined || values["wasm-sha256"] !== undefined) {
    const source = wasmSourceFindings(wasmUrl ?? "oci://unset.invalid/x", values["wasm-sha256"]);
    if (source.problems.length > 0) throw new UsageError(source.problems.join("\n"));
    warnings.push(...source.warnings);
  }
  const clientNamespaces = namespaceValues(cmd, "client-namespace");
  if (cmd.flags.has("mesh-wide") && clientNamespaces.length > 0)
    throw new UsageError("--mesh-wide and --client-namespace exclude each other");
  const options: IstioOptions = {
    command: commandLine(cmd.argv, ["-o", "--out", "--previous", "--route-token"]),
    wasmUrl,
    wasmSha256: values["wasm-sha256"],
    routeToken: values["route-token"],
    selector: selectorValue(cmd),
    clientNamespaces: clientNamespaces.length > 0 ? clientNamespaces : undefined,
    meshWide: cmd.flags.has("mesh-wide"),
    rootNamespace: namespaceValues(cmd, "root-namespace")[0],
    allowed: cmd.allowed,
    failStrategy,
  };
  const input = readAsm(cmd.variants[0].files);
  const live = {
    pods: parsePods(readText(podsFile), podsFile),
    services: (cmd.lists.service ?? []).flatMap((f) => parseServices(readText(f), f)),
    previousText: values.previous === undefined ? undefined : readText(values.previous),
  };
  if (output === "plugin-config") {
    const out = renderIstioPluginConfig(input, live, options);
    return { text: json(out.pluginConfig), warnings: [...warnings, ...out.warnings] };
  }
  const out = renderIstio(input, live, options);
  return { text: out.yaml, warnings: [...warnings, ...out.warnings, ...out.notes.map((n) => `NOTE: ${n}`)] };
}

export function renderTarget(cmd: RenderCommand): Rendered {
  return cmd.target === "envoy" ? renderEnvoyTarget(cmd) : renderIstioTarget(cmd);
}
