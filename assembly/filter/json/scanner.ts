// The token level of the JSON parser (parser.ts): whitespace, literals, numbers and strings, checked byte by
// byte against RFC 8259 over UTF-8 input. A malformed token records a reason and its byte offset (0-based) and
// gives back a failure value: AssemblyScript has no exceptions, and an abort kills the VM for good
// (docs/abi.md, "What a trap does"), so nothing here may trap on any input.

import { message, Msg } from "../messages";

// Byte scanners: plain functions on primitives. As methods they reloaded `this` from the GC shadow stack on
// every byte (incremental runtime), which made parsing several times slower.

export function skipWhitespace(base: usize, pos: i32, len: i32): i32 {
  while (pos < len) {
    const c = load<u8>(base + <usize>pos);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    pos++;
  }
  return pos;
}

function skipDigits(base: usize, pos: i32, len: i32): i32 {
  while (pos < len) {
    const c = load<u8>(base + <usize>pos);
    if (c < 0x30 || c > 0x39) break;
    pos++;
  }
  return pos;
}

// FNV-1a hash of the bytes plainStringEnd last scanned: a second result, kept in a plain global
// (the parser is not reentrant; nothing else reads it)
export let scannedHash: u32 = 0;

/** Index of the closing quote of a string of printable ASCII without escapes from `pos`; -1 otherwise. */
export function plainStringEnd(base: usize, pos: i32, len: i32): i32 {
  let hash: u32 = 2166136261;
  while (pos < len) {
    const c = load<u8>(base + <usize>pos);
    if (c == 0x22) {
      scannedHash = hash;
      return pos;
    }
    if (c < 0x20 || c >= 0x80 || c == 0x5c) return -1;
    hash = (hash ^ c) * 16777619;
    pos++;
  }
  return -1;
}

/** The input, the read position, and the first failure. */
export class Scanner {
  pos: i32 = 0;
  error: string = ""; // the first failure's reason
  errorOffset: i32 = 0;
  // UTF-16 scratch for strings that need decoding (escapes or non-ASCII); grows, reused
  private scratch: ArrayBuffer = new ArrayBuffer(64);

  constructor(
    public base: usize,
    public len: i32,
  ) {}

  /** Records the first failure; always false, for `return this.fail(...)`. */
  fail(offset: i32, reason: string): bool {
    if (this.error.length == 0) {
      this.error = reason;
      this.errorOffset = offset;
    }
    return false;
  }

  /** Fails at pos, where `c` (peek()) is not what `expected` says. */
  unexpected(c: i32, expected: Msg): bool {
    return this.fail(this.pos, message(c < 0 ? Msg.UnexpectedEnd : expected));
  }

  @inline
  peek(): i32 {
    return this.pos < this.len ? <i32>load<u8>(this.base + <usize>this.pos) : -1;
  }

  @inline
  skipWhitespace(): void {
    this.pos = skipWhitespace(this.base, this.pos, this.len);
  }

  /** Reads `word` (true, false or null). */
  literal(word: string): bool {
    const n = word.length;
    for (let i = 0; i < n; i++) {
      if (this.peek() != word.charCodeAt(i)) return this.fail(this.pos, message(Msg.InvalidLiteral, [word]));
      this.pos++;
    }
    return true;
  }

  /** Skips one or more decimal digits; false after failing with `missing` if there are none. */
  private digits(missing: Msg): bool {
    const start = this.pos;
    this.pos = skipDigits(this.base, start, this.len);
    return this.pos > start || this.fail(this.pos, message(missing));
  }

  /** Reads a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  number(): bool {
    if (this.peek() == 0x2d /* - */) this.pos++;
    if (this.peek() == 0x30) this.pos++;
    else if (!this.digits(Msg.ExpectedDigit)) return false;
    if (this.peek() == 0x2e /* . */) {
      this.pos++;
      if (!this.digits(Msg.ExpectedDigitAfterDot)) return false;
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      const sign = this.peek();
      if (sign == 0x2b || sign == 0x2d) this.pos++;
      if (!this.digits(Msg.ExpectedExponentDigit)) return false;
    }
    return true;
  }

  /**
   * Decodes the string whose opening quote is at `quote` (pos just after it) into UTF-16: escapes, non-ASCII,
   * and the errors of both. Null after failing.
   */
  decodeString(quote: i32): string | null {
    // every input byte yields at most one UTF-16 unit, so the bytes up to the closing quote bound it
    const capacity = (this.quotedLength() + 1) << 1;
    if (this.scratch.byteLength < capacity) this.scratch = new ArrayBuffer(capacity);
    const out = changetype<usize>(this.scratch);
    let units: usize = 0;
    while (true) {
      const at = this.pos;
      if (at >= this.len) {
        this.fail(quote, message(Msg.UnterminatedString));
        return null;
      }
      const c = <u32>load<u8>(this.base + <usize>at);
      if (c == 0x22) {
        this.pos++;
        return String.UTF16.decodeUnsafe(out, units << 1);
      }
      if (c < 0x20) {
        this.fail(at, message(Msg.ControlCharacter));
        return null;
      }
      let cp: i32;
      if (c == 0x5c) {
        cp = this.escape();
        if (cp < 0) return null;
      } else if (c < 0x80) {
        cp = <i32>c;
        this.pos++;
      } else {
        cp = this.utf8Sequence(c);
        if (cp < 0) {
          this.fail(at, message(Msg.InvalidUtf8));
          return null;
        }
      }
      if (cp > 0xffff) {
        const v = <u32>cp - 0x10000;
        store<u16>(out + (units << 1), <u16>(0xd800 + (v >> 10)));
        store<u16>(out + ((units + 1) << 1), <u16>(0xdc00 + (v & 0x3ff)));
        units += 2;
      } else {
        store<u16>(out + (units << 1), <u16>cp);
        units++;
      }
    }
  }

  /** Bytes from pos to the closing quote (or to the end of input), skipping escaped characters. */
  private quotedLength(): i32 {
    let i = this.pos;
    while (i < this.len) {
      const c = load<u8>(this.base + <usize>i);
      if (c == 0x22) break;
      i += c == 0x5c ? 2 : 1;
    }
    return i - this.pos;
  }

  /** Decodes one multi-byte UTF-8 sequence (RFC 3629) whose lead byte is `lead`; -1 if invalid. */
  private utf8Sequence(lead: u32): i32 {
    let need: i32;
    let cp: u32;
    let min: u32;
    let max: u32 = 0xbf; // allowed range of the first continuation byte
    if (lead >= 0xc2 && lead <= 0xdf) {
      need = 1;
      cp = lead & 0x1f;
      min = 0x80;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      need = 2;
      cp = lead & 0x0f;
      min = lead == 0xe0 ? 0xa0 : 0x80; // no overlongs
      if (lead == 0xed) max = 0x9f; // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      need = 3;
      cp = lead & 0x07;
      min = lead == 0xf0 ? 0x90 : 0x80; // no overlongs
      if (lead == 0xf4) max = 0x8f; // <= U+10FFFF
    } else {
      return -1;
    }
    if (this.pos + need >= this.len) return -1;
    for (let k = 1; k <= need; k++) {
      const b = <u32>load<u8>(this.base + <usize>(this.pos + k));
      if (k == 1 ? b < min || b > max : b < 0x80 || b > 0xbf) return -1;
      cp = (cp << 6) | (b & 0x3f);
    }
    this.pos += need + 1;
    return <i32>cp;
  }

  /** Reads an escape at the backslash; returns the code point, or -1 after recording the error. */
  private escape(): i32 {
    const at = this.pos;
    if (at + 1 >= this.len) {
      this.fail(at, message(Msg.UnexpectedEnd));
      return -1;
    }
    const c = load<u8>(this.base + <usize>(at + 1));
    this.pos = at + 2;
    switch (c) {
      case 0x22:
        return 0x22;
      case 0x5c:
        return 0x5c;
      case 0x2f:
        return 0x2f;
      case 0x62:
        return 0x08;
      case 0x66:
        return 0x0c;
      case 0x6e:
        return 0x0a;
      case 0x72:
        return 0x0d;
      case 0x74:
        return 0x09;
      case 0x75:
        break;
      default:
        this.fail(at, message(Msg.InvalidEscape));
        return -1;
    }
    const unit = this.hex4(at);
    if (unit < 0) return -1;
    if (unit >= 0xdc00 && unit <= 0xdfff) {
      this.fail(at, message(Msg.LoneSurrogate));
      return -1;
    }
    if (unit < 0xd800 || unit > 0xdbff) return unit;
    // a high surrogate must be followed by an escaped low surrogate
    const next = this.pos;
    if (
      next + 1 >= this.len ||
      load<u8>(this.base + <usize>next) != 0x5c ||
      load<u8>(this.base + <usize>(next + 1)) != 0x75
    ) {
      this.fail(at, message(Msg.LoneSurrogate));
      return -1;
    }
    this.pos = next + 2;
    const low = this.hex4(next);
    if (low < 0) return -1;
    if (low < 0xdc00 || low > 0xdfff) {
      this.fail(at, message(Msg.LoneSurrogate));
      return -1;
    }
    return 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
  }

  /** Reads the four hex digits of a \u escape that starts at `at`. */
  private hex4(at: i32): i32 {
    if (this.pos + 4 > this.len) {
      this.fail(at, message(Msg.InvalidUnicodeEscape));
      return -1;
    }
    let unit = 0;
    for (let k = 0; k < 4; k++) {
      const h = <i32>load<u8>(this.base + <usize>(this.pos + k));
      let digit: i32;
      if (h >= 0x30 && h <= 0x39) digit = h - 0x30;
      else if (h >= 0x61 && h <= 0x66) digit = h - 0x61 + 10;
      else if (h >= 0x41 && h <= 0x46) digit = h - 0x41 + 10;
      else {
        this.fail(at, message(Msg.InvalidUnicodeEscape));
        return -1;
      }
      unit = (unit << 4) | digit;
    }
    this.pos += 4;
    return unit;
  }
}
