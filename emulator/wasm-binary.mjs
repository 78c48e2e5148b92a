// Minimal reader of a wasm binary's type, import, function and export sections: what Envoy's loader looks at
// (proxy-wasm-cpp-host BytecodeUtil + V8::link), which Node's WebAssembly.Module.imports/exports do not give
// (no function signatures without type reflection).

const VALTYPES = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};
const KINDS = ["function", "table", "memory", "global", "tag"];
const utf8 = new TextDecoder("utf-8", { fatal: true });

class Reader {
  constructor(bytes, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }
  byte() {
    if (this.pos >= this.end) throw new Error("unexpected end of section");
    return this.bytes[this.pos++];
  }
  u32() {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new Error("bad LEB128");
    }
  }
  name() {
    const len = this.u32();
    if (this.pos + len > this.end) throw new Error("name past end of section");
    const s = utf8.decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
  valtype() {
    const b = this.byte();
    const t = VALTYPES[b];
    if (!t) throw new Error(`unknown value type 0x${b.toString(16)}`);
    return t;
  }
  limits() {
    const flags = this.byte();
    const initial = this.u32();
    return flags & 1 ? { initial, maximum: this.u32() } : { initial };
  }
}

function readImportDesc(r, kind) {
  switch (kind) {
    case 0:
      return { typeIndex: r.u32() };
    case 1: {
      const element = r.byte() === 0x6f ? "externref" : "anyfunc";
      return { element, ...r.limits() };
    }
    case 2:
      return r.limits();
    case 3:
      r.valtype();
      r.byte();
      return {};
    case 4:
      r.byte();
      r.u32();
      return {};
    default:
      throw new Error(`unknown import kind ${kind}`);
  }
}

/**
 * @param {Uint8Array} bytes
 * @returns {{imports: {module: string, name: string, kind: string, type?: {params: string[], results: string[]}, limits?: object}[],
 *            exports: {name: string, kind: string, type?: {params: string[], results: string[]}}[]}}
 * Throws on a malformed binary (Envoy: "Failed to parse corrupted Wasm module").
 */
export function readModuleInterface(bytes) {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error("not a wasm binary");
  }
  const types = [];
  const imports = [];
  const funcTypes = []; // type index of every function, imported first
  const exports = [];
  const top = new Reader(bytes, 8);
  while (top.pos < top.end) {
    const id = top.byte();
    const size = top.u32();
    const r = new Reader(bytes, top.pos, top.pos + size);
    if (r.end > bytes.length) throw new Error("section past end of module");
    top.pos = r.end;
    if (id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.byte() !== 0x60) throw new Error("unsupported type form");
        const params = Array.from({ length: r.u32() }, () => r.valtype());
        const results = Array.from({ length: r.u32() }, () => r.valtype());
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kindCode = r.byte();
        const desc = readImportDesc(r, kindCode);
        const entry = { module, name, kind: KINDS[kindCode] };
        if (kindCode === 0) {
          entry.type = types[desc.typeIndex];
          funcTypes.push(desc.typeIndex);
        } else if (kindCode === 1 || kindCode === 2) {
          entry.limits = desc;
        }
        imports.push(entry);
      }
    } else if (id === 3) {
      for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32());
    } else if (id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kindCode = r.byte();
        const index = r.u32();
        const entry = { name, kind: KINDS[kindCode] };
        if (kindCode === 0) entry.type = types[funcTypes[index]];
        exports.push(entry);
      }
    }
  }
  return { imports, exports };
}

export function formatSignature(type) {
  return `(${type.params.join(", ")}) -> (${type.results.join(", ")})`;
}
