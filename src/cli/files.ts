// The CLI's file I/O: inputs read whole ("-" = stdin), the output written atomically. Failures are FileErrors
// whose message is ready for the user.
//
//   readText(path): string
//   writeAtomically(path, text): void   a temporary file in the same directory, renamed over `path`: readers of
//                                       `path` see the old or the new file, never a part; on failure nothing changes

import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export class FileError extends Error {}

const REASONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a component of the path is not a directory",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  ENAMETOOLONG: "file name too long",
  ELOOP: "too many symbolic links",
};

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code ? `${code} (${REASONS[code] ?? (e as Error).message})` : String((e as Error).message ?? e);
}

export function readText(path: string): string {
  try {
    return readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (e) {
    throw new FileError(`cannot read ${path === "-" ? "stdin" : path}: ${reason(e)}`);
  }
}

/** Why `path` cannot be written, checked before the temporary file is made so that the message names the cause. */
function unwritable(path: string): string | undefined {
  const dir = dirname(path);
  const dirStat = statSync(dir, { throwIfNoEntry: false });
  if (!dirStat) return `the directory ${dir} does not exist (create it first)`;
  if (!dirStat.isDirectory()) return `${dir} is not a directory`;
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) return `${path} is a directory`;
  return undefined;
}

export function writeAtomically(path: string, text: string): void {
  const why = unwritable(path);
  if (why) throw new FileError(`cannot write ${path}: ${why}`);
  const mode = statSync(path, { throwIfNoEntry: false })?.mode;
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    writeFileSync(temporary, text, { flag: "wx", mode: mode === undefined ? 0o644 : mode & 0o777 });
    renameSync(temporary, path);
  } catch (e) {
    try {
      unlinkSync(temporary);
    } catch {
      // never created, or already renamed
    }
    throw new FileError(`cannot write ${path}: ${reason(e)}`);
  }
}
