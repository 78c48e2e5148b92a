// The command line of `dynamic-subset`, read with node:util parseArgs (its tokens keep the order of -f and
// --variant, which groups files into variants). Every mistake is a UsageError naming the option.
//
//   parseCommandLine(argv): CommandLine     help | version | render with its options, checked

import { parseArgs } from "node:util";
import { type Allowance, ALLOWANCES, isAllowance } from "../input/errors.js";
import { isDnsLabel, isLabelKey, isLabelValue } from "../input/syntax.js";
import type { Labels } from "../config/types.js";

export class UsageError extends Error {}

type Target = "envoy" | "istio";

interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  target?: Target; // an option of this target only
}

const OPTIONS = {
  filename: { type: "string", short: "f", multiple: true },
  out: { type: "string", short: "o" },
  output: { type: "string" },
  target: { type: "string" },
  allow: { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  endpoints: { type: "string", target: "envoy" },
  variant: { type: "string", multiple: true, target: "envoy" },
  wasm: { type: "string", target: "envoy" },
  port: { type: "string", target: "envoy" },
  listen: { type: "string", target: "envoy" },
  "admin-port": { type: "string", target: "envoy" },
  "header-prefix": { type: "string", target: "envoy" },
  "response-header": { type: "boolean", target: "envoy" },
  pods: { type: "string", target: "istio" },
  service: { type: "string", multiple: true, target: "istio" },
  previous: { type: "string", target: "istio" },
  "wasm-url": { type: "string", target: "istio" },
  "wasm-sha256": { type: "string", target: "istio" },
  selector: { type: "string", target: "istio" },
  "route-token": { type: "string", target: "istio" },
  "fail-strategy": { type: "string", target: "istio" },
  "client-namespace": { type: "string", multiple: true, target: "istio" },
  "mesh-wide": { type: "boolean", target: "istio" },
  "root-namespace": { type: "string", target: "istio" },
} satisfies Record<string, OptionSpec>;

type OptionName = keyof typeof OPTIONS;

export interface Variant {
  name?: string;
  files: string[];
}

export interface RenderCommand {
  command: "render";
  target: Target;
  argv: string[]; // as given, for the header comment of the output
  variants: Variant[]; // istio: one, unnamed
  out?: string;
  output?: string;
  allowed: Set<Allowance>;
  values: Partial<Record<OptionName, string>>; // the last value of each single-valued string option
  lists: Partial<Record<OptionName, string[]>>; // every value of a repeatable option, in order
  flags: Set<OptionName>; // boolean options given
}

export type CommandLine = { command: "help" } | { command: "version" } | RenderCommand;

const isOption = (name: string): name is OptionName => Object.hasOwn(OPTIONS, name);
const spec = (name: OptionName): OptionSpec => OPTIONS[name];

/** The --target value, looked up before the other options so that their messages can name it. */
function targetOf(args: string[]): Target | undefined {
  const i = args.findIndex((a) => a === "--target" || a.startsWith("--target="));
  const value = i < 0 ? undefined : args[i].startsWith("--target=") ? args[i].slice("--target=".length) : args[i + 1];
  if (value === undefined || value.startsWith("-")) throw new UsageError("--target envoy|istio is required");
  if (value !== "envoy" && value !== "istio")
    throw new UsageError(`unknown target "${value}" (expected envoy or istio)`);
  return value;
}

export function parseCommandLine(argv: string[]): CommandLine {
  const [command, ...args] = argv;
  if (command === undefined || command === "-h" || command === "--help") return { command: "help" };
  if (command === "--version") return { command: "version" };
  if (command !== "render") throw new UsageError(`unknown command "${command}" (expected: render)`);
  if (args.includes("-h") || args.includes("--help")) return { command: "help" };
  const target = args.some((a) => a === "--target" || a.startsWith("--target=")) ? targetOf(args) : undefined;
  const { tokens } = parseArgs({ args, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const cmd: RenderCommand = {
    command: "render",
    target: target as Target,
    argv,
    variants: [{ files: [] }],
    allowed: new Set(),
    values: {},
    lists: {},
    flags: new Set(),
  };
  for (const token of tokens) {
    if (token.kind === "positional") throw new UsageError(`unexpected argument "${token.value}"`);
    if (token.kind !== "option") continue;
    const { name, rawName, value, inlineValue } = token;
    if (!isOption(name)) throw new UsageError(`unknown option ${rawName}${target ? ` for target ${target}` : ""}`);
    const s = spec(name);
    if (s.target && target && s.target !== target)
      throw new UsageError(`${rawName} is an option of target ${s.target}`);
    if (s.type === "boolean") {
      if (inlineValue) throw new UsageError(`${rawName} takes no value`);
      cmd.flags.add(name);
      continue;
    }
    if (value === undefined || (!inlineValue && value.startsWith("-") && value !== "-"))
      throw new UsageError(`${rawName} needs a value`);
    take(cmd, name, value);
  }
  if (!target) throw new UsageError("--target envoy|istio is required");
  return cmd;
}

function take(cmd: RenderCommand, name: OptionName, value: string): void {
  const current = cmd.variants[cmd.variants.length - 1];
  if (name === "filename") current.files.push(value);
  else if (name === "variant") {
    if (current.files.length === 0 && current.name === undefined) current.name = value;
    else cmd.variants.push({ name: value, files: [] });
  } else if (name === "allow") {
    for (const a of value.split(",")) {
      if (!isAllowance(a))
        throw new UsageError(`--allow: unknown refusal "${a}" (known: ${Object.keys(ALLOWANCES).join(", ")})`);
      cmd.allowed.add(a);
    }
  } else if (spec(name).multiple) (cmd.lists[name] ??= []).push(value);
  else cmd.values[name] = value;
  if (name === "out") cmd.out = value;
  if (name === "output") cmd.output = value;
}

// ---- option values ------------------------------------------------------------------------------------------------

export function portValue(cmd: RenderCommand, name: "port" | "admin-port"): number | undefined {
  const v = cmd.values[name];
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535)
    throw new UsageError(`--${name}: not a port number: ${v}`);
  return Number(v);
}

export function headerPrefixValue(cmd: RenderCommand): string | undefined {
  const v = cmd.values["header-prefix"];
  if (v !== undefined && !/^[a-z0-9!#$%&'*+\-.^_`|~]+$/.test(v))
    throw new UsageError(`--header-prefix: not a lower-case header-name token: ${v}`);
  return v;
}

export function selectorValue(cmd: RenderCommand): Labels | undefined {
  const text = cmd.values.selector;
  if (text === undefined) return undefined;
  const pairs = text.split(",").map((p) => p.split("="));
  if (pairs.some((p) => p.length !== 2 || !isLabelKey(p[0]) || !isLabelValue(p[1])))
    throw new UsageError(
      `--selector: expected key=value[,key=value...] with Kubernetes label keys and values, got "${text}"`,
    );
  return Object.fromEntries(pairs);
}

export function namespaceValues(cmd: RenderCommand, name: "client-namespace" | "root-namespace"): string[] {
  const values = spec(name).multiple ? (cmd.lists[name] ?? []) : [cmd.values[name]].filter((v) => v !== undefined);
  for (const v of values as string[])
    if (!isDnsLabel(v)) throw new UsageError(`--${name}: not a Kubernetes namespace name: ${v}`);
  return values as string[];
}
