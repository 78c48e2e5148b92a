// Standard base64 with padding (RFC 4648 §4), for Envoy's header-based session
// state: the %ip% session header carries base64("<ip>:<port>"). Configuration
// time only (catalog endpoints are known then).

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function base64Encode(text: string): string {
  const bytes = Uint8Array.wrap(String.UTF8.encode(text));
  const n = bytes.length;
  let out = "";
  for (let i = 0; i < n; i += 3) {
    const b0 = <u32>bytes[i];
    const b1 = i + 1 < n ? <u32>bytes[i + 1] : 0;
    const b2 = i + 2 < n ? <u32>bytes[i + 2] : 0;
    const triple = (b0 << 16) | (b1 << 8) | b2;
    out += ALPHABET.charAt((triple >> 18) & 63);
    out += ALPHABET.charAt((triple >> 12) & 63);
    out += i + 1 < n ? ALPHABET.charAt((triple >> 6) & 63) : "=";
    out += i + 2 < n ? ALPHABET.charAt(triple & 63) : "=";
  }
  return out;
}
