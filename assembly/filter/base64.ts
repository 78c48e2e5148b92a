// Standard base64 with padding (RFC 4648 §4), for Envoy's header-based session
// state: the %ip% session header carries base64("<ip>:<port>"). Configuration
// time only (catalog endpoints are known then); returns the ASCII bytes.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function base64Encode(text: string): ArrayBuffer {
  const bytes = String.UTF8.encode(text);
  const n = bytes.byteLength;
  const inPtr = changetype<usize>(bytes);
  const out = new ArrayBuffer(((n + 2) / 3) * 4);
  const outPtr = changetype<usize>(out);
  for (let i = 0, o = 0; i < n; i += 3, o += 4) {
    const b0 = <u32>load<u8>(inPtr + <usize>i);
    const b1 = i + 1 < n ? <u32>load<u8>(inPtr + <usize>(i + 1)) : 0;
    const b2 = i + 2 < n ? <u32>load<u8>(inPtr + <usize>(i + 2)) : 0;
    const triple = (b0 << 16) | (b1 << 8) | b2;
    store<u8>(outPtr + <usize>o, <u8>ALPHABET.charCodeAt((triple >> 18) & 63));
    store<u8>(outPtr + <usize>(o + 1), <u8>ALPHABET.charCodeAt((triple >> 12) & 63));
    store<u8>(outPtr + <usize>(o + 2), i + 1 < n ? <u8>ALPHABET.charCodeAt((triple >> 6) & 63) : 0x3d);
    store<u8>(outPtr + <usize>(o + 3), i + 2 < n ? <u8>ALPHABET.charCodeAt(triple & 63) : 0x3d);
  }
  return out;
}
