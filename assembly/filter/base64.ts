// Standard base64 with padding (RFC 4648 §4), for Envoy's header-based session
// state: the %ip% session header carries base64("<ip>:<port>"). Configuration
// time only (catalog endpoints are known then); returns the ASCII bytes.

import { utf8 } from "../abi/utf8";

/** The base64 digit for 0..63: A-Z a-z 0-9 + / (computed: a 64-character literal costs ~150 bytes of data). */
function digit(value: u32): u8 {
  if (value < 26) return <u8>(0x41 + value);
  if (value < 52) return <u8>(0x61 - 26 + value);
  if (value < 62) return <u8>(0x30 - 52 + value);
  return value == 62 ? 0x2b : 0x2f;
}

export function base64Encode(text: string): ArrayBuffer {
  const bytes = utf8(text);
  const n = bytes.byteLength;
  const inPtr = changetype<usize>(bytes);
  const out = new ArrayBuffer(((n + 2) / 3) * 4);
  const outPtr = changetype<usize>(out);
  for (let i = 0, o = 0; i < n; i += 3, o += 4) {
    const b0 = <u32>load<u8>(inPtr + <usize>i);
    const b1 = i + 1 < n ? <u32>load<u8>(inPtr + <usize>(i + 1)) : 0;
    const b2 = i + 2 < n ? <u32>load<u8>(inPtr + <usize>(i + 2)) : 0;
    const triple = (b0 << 16) | (b1 << 8) | b2;
    for (let k = 0; k < 4; k++) {
      // digits 2 and 3 are '=' when the group has only 1 or 2 input bytes
      const padded = k >= 2 && i + k - 1 >= n;
      store<u8>(outPtr + <usize>(o + k), padded ? 0x3d : digit((triple >> (18 - 6 * k)) & 63));
    }
  }
  return out;
}
