// The lookup every request makes on raw request bytes (cluster names, route names, value tuples): no decoding,
// no copying.

import { sameBytes } from "../bytes";

/** Up to this many keys a lookup compares them in turn: cheaper than hashing the request's bytes. */
const SCANNED_KEYS = 8;

function bytesEqual(key: ArrayBuffer, ptr: usize, len: i32): bool {
  return key.byteLength == len && sameBytes(changetype<usize>(key), ptr, <usize>len);
}

function hashBytes(ptr: usize, len: i32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < len; i++) {
    h = (h ^ (<u32>load<u8>(ptr + <usize>i))) * 0x01000193;
  }
  return h;
}

/**
 * A set of byte strings, each mapped to its insertion index. Open addressing
 * with FNV-1a; lookups take raw (ptr, len) so request bytes are never copied.
 * Built at configuration time, read-only afterwards.
 */
export class ByteKeyIndex {
  private keys: ArrayBuffer[] = [];
  private slots: StaticArray<i32>; // insertion index + 1; 0 = empty
  private mask: u32;

  constructor(expectedKeys: i32) {
    let capacity = 8;
    while (capacity < expectedKeys * 2) capacity <<= 1;
    this.slots = new StaticArray<i32>(capacity);
    this.mask = <u32>(capacity - 1);
  }

  get size(): i32 {
    return this.keys.length;
  }

  /** Index of the key, or -1. */
  find(ptr: usize, len: i32): i32 {
    const keys = this.keys;
    if (keys.length <= SCANNED_KEYS) {
      for (let i = 0; i < keys.length; i++) if (bytesEqual(unchecked(keys[i]), ptr, len)) return i;
      return -1;
    }
    let slot = hashBytes(ptr, len) & this.mask;
    while (true) {
      const entry = unchecked(this.slots[slot]);
      if (entry == 0) return -1;
      if (bytesEqual(unchecked(keys[entry - 1]), ptr, len)) return entry - 1;
      slot = (slot + 1) & this.mask;
    }
  }

  findBuffer(key: ArrayBuffer): i32 {
    return this.find(changetype<usize>(key), key.byteLength);
  }

  /** Adds the key unless present; returns its index (the first insertion wins). */
  add(key: ArrayBuffer): i32 {
    const existing = this.findBuffer(key);
    if (existing >= 0) return existing;
    if ((this.keys.length + 1) * 2 > this.slots.length) this.grow();
    this.keys.push(key);
    this.place(this.keys.length - 1);
    return this.keys.length - 1;
  }

  private place(index: i32): void {
    const key = this.keys[index];
    let slot = hashBytes(changetype<usize>(key), key.byteLength) & this.mask;
    while (unchecked(this.slots[slot]) != 0) slot = (slot + 1) & this.mask;
    unchecked((this.slots[slot] = index + 1));
  }

  private grow(): void {
    this.slots = new StaticArray<i32>(this.slots.length * 2);
    this.mask = <u32>(this.slots.length - 1);
    for (let i = 0; i < this.keys.length; i++) this.place(i);
  }
}
