// Metadata-mode header name for a subset key (SPEC §5): headerPrefix + the key's
// UTF-8 bytes with every byte outside [a-z0-9._-] written as %xx in lower-case
// hex. The result is a valid lower-case header name for any key, and distinct
// keys give distinct names. Configuration time only.

const HEX_DIGITS = "0123456789abcdef";

function isPlainHeaderByte(c: u32): bool {
  return c - 0x61 < 26 || c - 0x30 < 10 || c == 0x2e || c == 0x5f || c == 0x2d;
}

export function keyHeaderName(headerPrefix: string, key: string): string {
  const bytes = Uint8Array.wrap(String.UTF8.encode(key));
  let encoded = "";
  for (let i = 0; i < bytes.length; i++) {
    const c = <u32>bytes[i];
    if (isPlainHeaderByte(c)) {
      encoded += String.fromCharCode(c);
    } else {
      encoded += "%" + HEX_DIGITS.charAt(c >> 4) + HEX_DIGITS.charAt(c & 15);
    }
  }
  return headerPrefix + encoded;
}
