// Parsed YAML/JSON values as the readers and renderers handle them.

export type Obj = Record<string, unknown>;

export const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);

export const clone = <T>(x: T): T => structuredClone(x);
