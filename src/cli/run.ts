// `dynamic-subset`: argv in, output and an exit code out (./usage.ts EXIT). Every failure becomes a message on
// stderr and an exit code; no stack trace reaches the user.

import { readFileSync } from "node:fs";
import { InputError } from "../input/errors.js";
import { parseCommandLine, UsageError } from "./args.js";
import { FileError, writeAtomically } from "./files.js";
import { renderTarget } from "./targets.js";
import { EXIT, USAGE } from "./usage.js";

const PACKAGE_JSON = new URL("../../package.json", import.meta.url);

function version(): string {
  return (JSON.parse(readFileSync(PACKAGE_JSON, "utf8")) as { version: string }).version;
}

const say = (text: string) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);

export function run(argv: string[]): number {
  try {
    const cmd = parseCommandLine(argv);
    if (cmd.command === "help") {
      process.stdout.write(USAGE);
      return EXIT.rendered;
    }
    if (cmd.command === "version") {
      process.stdout.write(`dynamic-subset ${version()}\n`);
      return EXIT.rendered;
    }
    const { text, warnings } = renderTarget(cmd);
    for (const w of warnings) say(`warning: ${w}`);
    if (cmd.out) writeAtomically(cmd.out, text);
    else process.stdout.write(text);
    return EXIT.rendered;
  } catch (e) {
    if (e instanceof UsageError) {
      say(`dynamic-subset: ${e.message}\nRun \`dynamic-subset --help\` for usage.`);
      return EXIT.usage;
    }
    if (e instanceof InputError) {
      for (const p of e.problems) say(`error: ${p}`);
      return EXIT.refused;
    }
    if (e instanceof FileError) {
      say(`dynamic-subset: ${e.message}`);
      return EXIT.refused;
    }
    const message = e instanceof Error ? e.message : String(e);
    say(
      `dynamic-subset: internal error: ${message.split("\n")[0]}\nThis is a bug in dynamic-subset: please report it with the command line and the input files.`,
    );
    return EXIT.internal;
  }
}
