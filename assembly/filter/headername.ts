// Metadata-mode header name for a subset key (docs/behaviour.md, "What the filter writes"): headerPrefix + the key's
// UTF-8 bytes with every byte outside [a-z0-9._-] written as %xx in lower-case
// hex. The result is a valid lower-case header name for any key, and distinct
// keys give distinct names. Configuration time only; returns the UTF-8 bytes.

import { utf8 } from "../abi/utf8";

function isPlainHeaderByte(c: u32): bool {
  return c - 0x61 < 26 || c - 0x30 < 10 || c == 0x2e || c == 0x5f || c == 0x2d;
}

function hexDigit(value: u32): u8 {
  return <u8>(value < 10 ? 0x30 + value : 0x61 - 10 + value);
}

export function keyHeaderName(headerPrefix: string, key: string): ArrayBuffer {
  const prefix = utf8(headerPrefix);
  const bytes = utf8(key);
  const keyPtr = changetype<usize>(bytes);
  let size = prefix.byteLength;
  for (let i = 0; i < bytes.byteLength; i++) size += isPlainHeaderByte(load<u8>(keyPtr + <usize>i)) ? 1 : 3;
  const out = new ArrayBuffer(size);
  const outPtr = changetype<usize>(out);
  memory.copy(outPtr, changetype<usize>(prefix), <usize>prefix.byteLength);
  let pos = <usize>prefix.byteLength;
  for (let i = 0; i < bytes.byteLength; i++) {
    const c = <u32>load<u8>(keyPtr + <usize>i);
    if (isPlainHeaderByte(c)) {
      store<u8>(outPtr + pos++, <u8>c);
    } else {
      store<u8>(outPtr + pos++, 0x25); // '%'
      store<u8>(outPtr + pos++, hexDigit(c >> 4));
      store<u8>(outPtr + pos++, hexDigit(c & 15));
    }
  }
  return out;
}
