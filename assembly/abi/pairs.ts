// Wire formats the host reads (docs/abi.md, "Wire formats"; little-endian):
//   header pairs: u32 count, count × (u32 nameLen, u32 valueLen), then per pair name, 0x00, value, 0x00
//                 (lengths exclude the NULs) — used for sendLocalResponse headers;
//   property path: UTF-8 segments joined by 0x00, no trailing NUL — used for get/setProperty.

import { utf8Into } from "./utf8";

export class HeaderPair {
  constructor(
    public name: ArrayBuffer,
    public value: ArrayBuffer,
  ) {}
}

export function serializePairs(pairs: HeaderPair[]): ArrayBuffer {
  const count = pairs.length;
  let size = 4 + 8 * count;
  for (let i = 0; i < count; i++) size += pairs[i].name.byteLength + pairs[i].value.byteLength + 2;
  const out = new ArrayBuffer(size); // zero-filled: the NUL terminators are already there
  const base = changetype<usize>(out);
  store<u32>(base, count);
  let data = base + 4 + 8 * count;
  for (let i = 0; i < count; i++) {
    const name = pairs[i].name;
    const value = pairs[i].value;
    store<u32>(base + 4 + 8 * i, name.byteLength);
    store<u32>(base + 8 + 8 * i, value.byteLength);
    memory.copy(data, changetype<usize>(name), name.byteLength);
    data += name.byteLength + 1;
    memory.copy(data, changetype<usize>(value), value.byteLength);
    data += value.byteLength + 1;
  }
  return out;
}

export function propertyPath(segments: string[]): ArrayBuffer {
  const count = segments.length;
  let size = count > 0 ? count - 1 : 0;
  for (let i = 0; i < count; i++) size += String.UTF8.byteLength(segments[i]);
  const out = new ArrayBuffer(size); // zero-filled: the separators are already there
  let data = changetype<usize>(out);
  for (let i = 0; i < count; i++) {
    const segment = segments[i];
    data += utf8Into(segment, data) + 1;
  }
  return out;
}
