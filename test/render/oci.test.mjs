// The OCI image of the filter (src/oci/image.ts, scripts/build-oci.mjs): what istio-agent reads from it
// (docs/istio.md, OCI image: the last layer, gzip'd tar, entry plugin.wasm; OCI media types; compat annotation),
// that every digest and size in it is right, and that it is reproducible byte for byte.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { buildImage, gzipFixed, ustar } from "../../dist/oci/image.js";

const WASM = "build/dynamic_subset.wasm";
const sha = (b) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
// A valid module (magic + version + empty type section) for when the filter is not built.
const TINY_WASM = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 1, 0]);

/** Reads a tar archive the way Go's archive/tar does for plain ustar files: [{name, mode, uid, gid, mtime, data}]. */
function untar(buf) {
  const entries = [];
  for (let at = 0; at + 512 <= buf.length; ) {
    const h = buf.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const str = (o, n) =>
      h
        .subarray(o, o + n)
        .toString("latin1")
        .replace(/\0.*$/s, "");
    const oct = (o, n) => parseInt(str(o, n).trim() || "0", 8);
    const sum = h.reduce((n, b, i) => n + (i >= 148 && i < 156 ? 32 : b), 0);
    assert.equal(oct(148, 8), sum, "tar header checksum");
    assert.equal(str(257, 6), "ustar", "ustar magic");
    const size = oct(124, 12);
    entries.push({
      name: str(0, 100),
      type: str(156, 1),
      mode: oct(100, 8),
      uid: oct(108, 8),
      gid: oct(116, 8),
      mtime: oct(136, 12),
      data: buf.subarray(at + 512, at + 512 + size),
    });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

function checkImage(layoutDir, wasm, tag) {
  const blob = (digest) => readFileSync(join(layoutDir, "blobs", "sha256", digest.slice("sha256:".length)));
  const described = (d) => {
    const b = blob(d.digest);
    assert.equal(sha(b), d.digest, `digest of ${d.mediaType}`);
    assert.equal(b.length, d.size, `size of ${d.mediaType}`);
    return b;
  };
  assert.deepEqual(JSON.parse(readFileSync(join(layoutDir, "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
  const index = JSON.parse(readFileSync(join(layoutDir, "index.json"), "utf8"));
  assert.equal(index.schemaVersion, 2);
  assert.equal(index.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.equal(index.manifests.length, 1);
  assert.equal(index.manifests[0].annotations["org.opencontainers.image.ref.name"], tag);
  assert.equal(index.manifests[0].mediaType, "application/vnd.oci.image.manifest.v1+json");
  const manifest = JSON.parse(described(index.manifests[0]));
  assert.equal(manifest.schemaVersion, 2);
  assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
  assert.deepEqual(manifest.annotations, { "module.wasm.image/variant": "compat" });
  assert.equal(manifest.config.mediaType, "application/vnd.oci.image.config.v1+json");
  assert.equal(manifest.layers.length, 1, "compat variant: one layer");
  const layerDesc = manifest.layers.at(-1); // istio-agent reads the last layer
  assert.equal(layerDesc.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
  const gz = described(layerDesc);
  assert.deepEqual(
    [...gz.subarray(0, 10)],
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255],
    "gzip header: no name, mtime 0, OS 255",
  );
  const tar = gunzipSync(gz); // also checks CRC-32 and length in the trailer
  const config = JSON.parse(described(manifest.config));
  assert.deepEqual(
    config.rootfs,
    { type: "layers", diff_ids: [sha(tar)] },
    "diff_ids = digest of the uncompressed tar",
  );
  assert.equal(config.os, "linux");
  const entries = untar(tar);
  assert.deepEqual(
    entries.map((e) => e.name),
    ["plugin.wasm"],
  );
  const [e] = entries;
  assert.deepEqual(
    { type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime },
    { type: "0", mode: 0o644, uid: 0, gid: 0, mtime: 0 },
  );
  assert.ok(e.data.equals(wasm), "plugin.wasm is the module, byte for byte");
  assert.deepEqual(
    readdirSync(join(layoutDir, "blobs", "sha256")).sort(),
    [manifest.config.digest, layerDesc.digest, index.manifests[0].digest].map((d) => d.slice(7)).sort(),
    "no stray blobs",
  );
  return index.manifests[0].digest;
}

function buildWithScript(wasmPath, out) {
  execFileSync(process.execPath, ["scripts/build-oci.mjs", "--wasm", wasmPath, "--out", out], { encoding: "utf8" });
}

test("ustar + fixed gzip: a standard tar and gzip that other tools read", () => {
  const tar = ustar("plugin.wasm", TINY_WASM);
  assert.equal(tar.length % 512, 0);
  assert.equal(tar.length, 512 + 512 + 1024);
  const [e] = untar(Buffer.from(tar));
  assert.equal(e.name, "plugin.wasm");
  assert.ok(e.data.equals(TINY_WASM));
  assert.ok(Buffer.from(gunzipSync(gzipFixed(tar))).equals(Buffer.from(tar)));
  assert.throws(() => ustar("x".repeat(101), TINY_WASM), /1-100 printable ASCII/);
  assert.throws(() => buildImage(Buffer.from("not wasm"), "latest"), /WebAssembly/);
});

test("a layout built twice is identical byte for byte, and every digest and size checks out (synthetic module)", () => {
  const dir = mkdtempSync(join(tmpdir(), "oci-"));
  try {
    const wasmPath = join(dir, "tiny.wasm");
    execFileSync(process.execPath, [
      "-e",
      `require("fs").writeFileSync(${JSON.stringify(wasmPath)}, Buffer.from(${JSON.stringify([...TINY_WASM])}))`,
    ]);
    buildWithScript(wasmPath, join(dir, "a"));
    buildWithScript(wasmPath, join(dir, "b"));
    const da = checkImage(join(dir, "a"), TINY_WASM, "latest");
    const db = checkImage(join(dir, "b"), TINY_WASM, "latest");
    assert.equal(da, db);
    const files = (d) =>
      execFileSync("find", [d, "-type", "f"], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean)
        .map((f) => f.slice(d.length))
        .sort();
    assert.deepEqual(files(join(dir, "a")), files(join(dir, "b")));
    for (const f of files(join(dir, "a")))
      assert.ok(readFileSync(join(dir, "a", f)).equals(readFileSync(join(dir, "b", f))), f);
    // rebuilding into the same directory replaces the old blobs
    buildWithScript(wasmPath, join(dir, "a"));
    checkImage(join(dir, "a"), TINY_WASM, "latest");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  "the image of build/dynamic_subset.wasm (npm run oci)",
  { skip: existsSync(WASM) ? false : `skipped: ${WASM} not built (npm run build:wasm)` },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "oci-"));
    try {
      buildWithScript(WASM, join(dir, "a"));
      buildWithScript(WASM, join(dir, "b"));
      const wasm = readFileSync(WASM);
      assert.equal(checkImage(join(dir, "a"), wasm, "latest"), checkImage(join(dir, "b"), wasm, "latest"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
