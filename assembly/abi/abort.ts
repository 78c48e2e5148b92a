// AssemblyScript's abort, routed here by asconfig "use": abort=assembly/abi/abort/proxyAbort so that
// the module does not import env.abort (Envoy has none and would refuse to load it).
// The filter must never get here (docs/behaviour.md, "Security": nothing may trap); if it does, one
// critical log line names the cause, then the VM traps. Lean on purpose: no allocation (the heap may be
// what failed), no string concatenation; non-ASCII characters are written as '?', the line is cut at
// 255 bytes.

import { proxy_log } from "./imports";
import { LogLevel } from "./enums";

// No module globals: abort can run before this file's globals are initialised.
// @ts-ignore: decorator
@inline const LINE_CAPACITY: usize = 255;

/** Writes `text` at line[length..] as ASCII; returns the new length. */
function append(line: usize, length: usize, text: string): usize {
  const count = <usize>text.length;
  for (let i: usize = 0; i < count && length < LINE_CAPACITY; i++) {
    const unit = load<u16>(changetype<usize>(text) + (i << 1));
    store<u8>(line + length++, unit < 0x80 ? <u8>unit : 0x3f);
  }
  return length;
}

/** Writes ':' and `value` in decimal at line[length..] if they fit; returns the new length. */
function appendNumber(line: usize, length: usize, value: u32): usize {
  let digits: usize = 1;
  for (let rest = value / 10; rest != 0; rest /= 10) digits++;
  if (length + 1 + digits > LINE_CAPACITY) return length;
  store<u8>(line + length, 0x3a); // ':'
  for (let i = digits; i > 0; i--) {
    store<u8>(line + length + i, 0x30 + <u8>(value % 10));
    value /= 10;
  }
  return length + 1 + digits;
}

export function proxyAbort(message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void {
  const line = memory.data(<i32>LINE_CAPACITY);
  // One call site for append (each inlined copy costs ~100 bytes): "abort: ", message, " at ", fileName.
  let length: usize = 0;
  for (let part = 0; part < 4; part++) {
    const text = part == 0 ? "abort: " : part == 1 ? message : fileName === null ? null : part == 2 ? " at " : fileName;
    if (text !== null) length = append(line, length, text);
  }
  if (fileName !== null) {
    length = appendNumber(line, length, lineNumber);
    length = appendNumber(line, length, columnNumber);
  }
  proxy_log(LogLevel.Critical, line, length);
  unreachable();
}
