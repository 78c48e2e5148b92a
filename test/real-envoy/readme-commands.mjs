// The shell commands a README shows, read as a user would copy them, and run as written: the suites that prove
// every command of README.md and envoy/README.md use these.
//
//   shBlock(file, after)  the commands of the first ```sh block after the text `after` in `file` (repository
//                         path): comments and blank lines dropped, backslash continuations joined
//   run(command)          runs one command with bash in the repository root -> its stdout lines, trimmed, non-empty

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The shell commands of a markdown ```sh block: comments and blank lines dropped, continuations joined. */
function commandsOf(block) {
  return block
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((l) => l.trim() && !l.trim().startsWith("#"));
}

export function shBlock(file, after) {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  const at = text.indexOf(after);
  assert.ok(at >= 0, `${file} has no "${after}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  assert.ok(block, `${file} has no sh block after "${after}"`);
  return commandsOf(block[1]);
}

/** Runs one README command as a user would, in the repository: -> its stdout lines. */
export function run(command, { env } = {}) {
  const out = execFileSync("bash", ["-c", `set -o pipefail; ${command}`], {
    cwd: ROOT,
    encoding: "utf8",
    env: env && { ...process.env, ...env },
  });
  return out
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}
