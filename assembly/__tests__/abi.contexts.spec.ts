// The dispatcher's id -> context table: every live id is found, deleted ids are gone, whatever the
// order of creation and deletion (deletion shifts entries back, so a wrong shift loses contexts).
import { Context } from "../abi/context";
import { ContextTable } from "../abi/contexts";

function liveIds(table: ContextTable, upTo: u32): string {
  let out = "";
  for (let id: u32 = 0; id <= upTo; id++) {
    const context = table.get(id);
    if (context !== null) out += `${id}:${context.contextId} `;
  }
  return out;
}

describe("ContextTable", () => {
  it("finds what was set, not what was deleted, across growth and wrap-around", () => {
    const table = new ContextTable();
    let expected = new Set<u32>();
    let seed: u32 = 12345;
    for (let step = 0; step < 5000; step++) {
      seed = seed * 1103515245 + 12345;
      const id = ((seed >> 8) % 3000) + 1;
      if (expected.has(id)) {
        table.delete(id);
        expected.delete(id);
      } else {
        table.set(id, new Context(id));
        expected.add(id);
      }
    }
    let want = "";
    for (let id: u32 = 0; id <= 3000; id++) if (expected.has(id)) want += `${id}:${id} `;
    expect(liveIds(table, 3000)).toBe(want);
  });

  it("keeps a run of sequential ids intact when one in the middle goes (Envoy numbers contexts 1, 2, 3, ...)", () => {
    const table = new ContextTable();
    for (let id: u32 = 1; id <= 40; id++) table.set(id, new Context(id));
    table.delete(17);
    table.delete(16 + 16);
    expect(table.get(17)).toBeNull();
    expect(table.get(32)).toBeNull();
    expect(table.get(33)!.contextId).toBe(33);
    expect(table.get(48)).toBeNull();
  });

  it("ignores id 0 (the no-parent value) and deleting an absent id", () => {
    const table = new ContextTable();
    table.set(0, new Context(0));
    table.delete(5);
    expect(table.get(0)).toBeNull();
    expect(liveIds(table, 64)).toBe("");
  });
});
