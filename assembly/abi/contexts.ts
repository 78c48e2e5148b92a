// Live contexts by id, for the dispatcher (exports.ts): roots and streams in one table. Replaces
// two Map<u32, T> (smaller code, one lookup per call). Open addressing with linear probing on the
// id itself: Envoy numbers contexts 1, 2, 3, ... per VM, so the live ones sit in consecutive slots. Deletion shifts the following
// entries back (no tombstones), so a lookup never probes past the run its id belongs to. Id 0 is
// never a context (it is the "no parent" value) and marks an empty slot.

import { Context, HttpContext, RootContext } from "./context";

export class ContextTable {
  private ids: StaticArray<u32> = new StaticArray<u32>(16);
  private values: StaticArray<Context | null> = new StaticArray<Context | null>(16);
  private mask: u32 = 15; // ids.length - 1
  private count: i32 = 0;

  // The common cases are inlined into the callbacks (a call would cost more than the work): Envoy numbers
  // contexts in sequence, so an id is nearly always in its home slot (id & mask) and the next slot is free.

  /** The context with this id, or null. */
  // @ts-ignore: decorator
  @inline get(id: u32): Context | null {
    const home = id & this.mask;
    if (unchecked(this.ids[home]) == id) return unchecked(this.values[home]);
    return this.probe(id);
  }

  /** The stream context with this id, or null. */
  // @ts-ignore: decorator
  @inline stream(id: u32): HttpContext | null {
    const context = this.get(id);
    return context instanceof HttpContext ? changetype<HttpContext>(context) : null;
  }

  /** The root context with this id, or null. */
  // @ts-ignore: decorator
  @inline root(id: u32): RootContext | null {
    const context = this.get(id);
    return context instanceof RootContext ? changetype<RootContext>(context) : null;
  }

  private probe(id: u32): Context | null {
    const slot = this.slotOf(id);
    return unchecked(this.ids[slot]) == id ? unchecked(this.values[slot]) : null;
  }

  /** Adds or replaces; id 0 is ignored. Inlined: the id's home slot is nearly always free. */
  // @ts-ignore: decorator
  @inline set(id: u32, value: Context): void {
    const home = id & this.mask;
    if (id != 0 && unchecked(this.ids[home]) == 0 && (this.count + 1) * 2 <= <i32>this.mask + 1) {
      unchecked((this.ids[home] = id));
      unchecked((this.values[home] = value));
      this.count++;
    } else {
      this.place(id, value);
    }
  }

  private place(id: u32, value: Context): void {
    if (id == 0) return;
    if ((this.count + 1) * 2 > this.ids.length) this.grow();
    const slot = this.slotOf(id);
    if (unchecked(this.ids[slot]) != id) this.count++;
    unchecked((this.ids[slot] = id));
    unchecked((this.values[slot] = value));
  }

  /** Inlined: the slot after the id's is nearly always free, so nothing moves. */
  // @ts-ignore: decorator
  @inline delete(id: u32): void {
    const home = id & this.mask;
    if (id != 0 && unchecked(this.ids[home]) == id && unchecked(this.ids[(home + 1) & this.mask]) == 0) {
      unchecked((this.ids[home] = 0));
      unchecked((this.values[home] = null));
      this.count--;
    } else {
      this.remove(id);
    }
  }

  private remove(id: u32): void {
    const mask = this.mask;
    let hole = this.slotOf(id);
    if (id == 0 || unchecked(this.ids[hole]) != id) return;
    this.count--;
    for (let next = (hole + 1) & mask; unchecked(this.ids[next]) != 0; next = (next + 1) & mask) {
      const home = unchecked(this.ids[next]) & mask;
      // The entry at `next` may fill the hole unless its home slot lies cyclically in (hole, next].
      if (((next - home) & mask) < ((next - hole) & mask)) continue;
      unchecked((this.ids[hole] = this.ids[next]));
      unchecked((this.values[hole] = this.values[next]));
      hole = next;
    }
    unchecked((this.ids[hole] = 0));
    unchecked((this.values[hole] = null));
  }

  /** The slot holding `id`, else the empty slot where it would go. */
  private slotOf(id: u32): u32 {
    const mask = this.mask;
    let slot = id & mask;
    while (true) {
      const at = unchecked(this.ids[slot]);
      if (at == id || at == 0) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const ids = this.ids;
    const values = this.values;
    this.ids = new StaticArray<u32>(ids.length << 1);
    this.values = new StaticArray<Context | null>(ids.length << 1);
    this.mask = <u32>this.ids.length - 1;
    this.count = 0;
    for (let i = 0; i < ids.length; i++) {
      const value = unchecked(values[i]);
      if (unchecked(ids[i]) != 0 && value !== null) this.place(unchecked(ids[i]), value);
    }
  }
}
