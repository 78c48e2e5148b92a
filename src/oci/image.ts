// OCI image of the filter, built without Docker (README "OCI image"; docs/istio.md, OCI image): an OCI image layout directory
// (oci-layout, index.json, blobs/sha256/...) holding one image in Istio's "compat" variant:
//
//   layer   gzip(ustar{ plugin.wasm }), media type application/vnd.oci.image.layer.v1.tar+gzip
//   config  {"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[sha256 of the tar]},"config":{}}
//   manifest annotations {"module.wasm.image/variant": "compat"}
//
// istio-agent takes the last layer of such an image, gunzips and untars it, and uses the entry named plugin.wasm.
// Reproducible byte for byte: the tar header is written here (mtime 0, uid/gid 0, no user/group names, mode
// 0644), and the gzip wrapper too (mtime 0, no file name, OS byte 255 = unknown) around zlib's raw deflate at a
// fixed level, so the same plugin.wasm and the same zlib give the same digests on every machine and every run.
//
// Exported API:
//   ustar(name, data): Buffer             a one-file tar archive
//   gzipFixed(data): Buffer               gzip with a fixed header
//   buildImage(wasm, tag): Image          every blob and the index, in memory
//   writeLayout(image, dir): void         writes the layout (replacing a previous one in dir)
//   MEDIA_TYPES

import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { constants, deflateRawSync } from "node:zlib";

export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

export const WASM_ENTRY = "plugin.wasm";
const BLOCK = 512;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Image {
  blobs: Map<string, Uint8Array>; // digest -> content
  index: Uint8Array; // index.json
  manifest: Descriptor;
  layer: Descriptor;
  config: Descriptor;
  diffId: string;
}

const digestOf = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** An octal header field of `width` bytes: digits, zero-padded, then NUL. */
function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const ascii = (s: string) => new TextEncoder().encode(s);

export function ustar(name: string, data: Uint8Array): Uint8Array {
  if (!/^[\x21-\x7e]{1,100}$/.test(name))
    throw new Error(`tar entry name must be 1-100 printable ASCII characters: ${name}`);
  if (data.length > 0o77777777777) throw new Error("tar entry too large for a ustar header");
  const header = new Uint8Array(BLOCK);
  const put = (text: string, offset: number) => header.set(ascii(text), offset);
  put(name, 0); // name[100]
  put(octal(0o644, 8), 100); // mode
  put(octal(0, 8), 108); // uid
  put(octal(0, 8), 116); // gid
  put(octal(data.length, 12), 124); // size
  put(octal(0, 12), 136); // mtime
  put(" ".repeat(8), 148); // chksum: spaces while summing
  put("0", 156); // typeflag: regular file
  put("ustar\0", 257); // magic
  put("00", 263); // version
  put(octal(0, 8), 329); // devmajor
  put(octal(0, 8), 337); // devminor
  const sum = header.reduce((n, byte) => n + byte, 0);
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  const padding = new Uint8Array((BLOCK - (data.length % BLOCK)) % BLOCK);
  return concat([header, data, padding, new Uint8Array(2 * BLOCK)]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 of gzip's trailer (zlib.crc32 is newer than Node 20.15, this project's floor is Node 20). */
function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function gzipFixed(data: Uint8Array): Uint8Array {
  // RFC 1952: ID1 ID2 CM=8 FLG=0 MTIME=0 XFL=2 (maximum compression) OS=255
  const header = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
  const body = new Uint8Array(deflateRawSync(data, { level: constants.Z_BEST_COMPRESSION }));
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc32(data), true);
  view.setUint32(4, data.length % 2 ** 32, true);
  return concat([header, body, trailer]);
}

function blob(
  blobs: Map<string, Uint8Array>,
  mediaType: string,
  content: Uint8Array,
  annotations?: Record<string, string>,
): Descriptor {
  const digest = digestOf(content);
  blobs.set(digest, content);
  return annotations
    ? { mediaType, digest, size: content.length, annotations }
    : { mediaType, digest, size: content.length };
}

const json = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export function buildImage(wasm: Uint8Array, tag: string): Image {
  if (wasm.length < 8 || WASM_MAGIC.some((b, i) => wasm[i] !== b))
    throw new Error("not a WebAssembly module (no \\0asm magic)");
  const blobs = new Map<string, Uint8Array>();
  const tar = ustar(WASM_ENTRY, wasm);
  const diffId = digestOf(tar);
  const layer = blob(blobs, MEDIA_TYPES.layer, gzipFixed(tar));
  const config = blob(
    blobs,
    MEDIA_TYPES.config,
    json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [diffId] }, config: {} }),
  );
  const manifest = blob(
    blobs,
    MEDIA_TYPES.manifest,
    json({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config,
      layers: [layer],
      annotations: { "module.wasm.image/variant": "compat" },
    }),
  );
  const refd = { ...manifest, annotations: { "org.opencontainers.image.ref.name": tag } };
  const index = json({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [refd] });
  return { blobs, index, manifest, layer, config, diffId };
}

export function writeLayout(image: Image, dir: string): void {
  for (const stale of ["blobs", "index.json", "oci-layout"]) rmSync(join(dir, stale), { recursive: true, force: true });
  const blobDir = join(dir, "blobs", "sha256");
  mkdirSync(blobDir, { recursive: true });
  for (const [digest, content] of image.blobs) writeFileSync(join(blobDir, digest.slice("sha256:".length)), content);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), image.index);
}
