// Byte helpers for the request path, where every instruction per byte counts (BENCHMARKS.md, "Guest
// instructions").
//
// Comparing and copying the few bytes of a request's names and values (tens of bytes) in place: under V8,
// memory.copy is a call into C that costs more than the copy, and AssemblyScript's memory.compare goes byte by
// byte unless both pointers share their alignment; wasm loads need no alignment, so here eight bytes at a time,
// then 4, 2 and 1 for the rest.

/** Whether the `length` bytes at `a` and at `b` are equal. */
export function sameBytes(a: usize, b: usize, length: usize): bool {
  for (; length >= 8; length -= 8, a += 8, b += 8) if (load<u64>(a) != load<u64>(b)) return false;
  if (length & 4) {
    if (load<u32>(a) != load<u32>(b)) return false;
    a += 4;
    b += 4;
  }
  if (length & 2) {
    if (load<u16>(a) != load<u16>(b)) return false;
    a += 2;
    b += 2;
  }
  return (length & 1) == 0 || load<u8>(a) == load<u8>(b);
}

/** Copies `length` bytes from `from` to `to` (the ranges do not overlap). */
export function copyBytes(to: usize, from: usize, length: usize): void {
  for (; length >= 8; length -= 8, to += 8, from += 8) store<u64>(to, load<u64>(from));
  if (length & 4) {
    store<u32>(to, load<u32>(from));
    to += 4;
    from += 4;
  }
  if (length & 2) {
    store<u16>(to, load<u16>(from));
    to += 2;
    from += 2;
  }
  if (length & 1) store<u8>(to, load<u8>(from));
}

/**
 * A set of bytes as a 256-entry table, filled once from its definition: membership is one load, for the loops
 * that run over every byte of a value or header (a call per byte to the definition costs several times more).
 */
export class ByteSet {
  private table: StaticArray<u8> = new StaticArray<u8>(256);

  constructor(member: (c: u32) => bool) {
    for (let c: u32 = 0; c < 256; c++) unchecked((this.table[c] = member(c) ? 1 : 0));
  }

  // @ts-ignore: decorator
  @inline has(c: u32): bool {
    return c < 256 && unchecked(this.table[c]) != 0;
  }
}
