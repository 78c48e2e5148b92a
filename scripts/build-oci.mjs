#!/usr/bin/env node
// npm run oci: packs build/dynamic_subset.wasm into an OCI image layout at build/oci (Istio "compat" variant,
// reproducible; see src/oci/image.ts), then prints how to push it and how the WasmPlugin refers to it.
// Options: --wasm FILE (default build/dynamic_subset.wasm), --out DIR (default build/oci), --tag TAG (default latest).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { buildImage, writeLayout } from "../dist/oci/image.js";

const { values } = parseArgs({
  options: {
    wasm: { type: "string", default: "build/dynamic_subset.wasm" },
    out: { type: "string", default: "build/oci" },
    tag: { type: "string", default: "latest" },
  },
});
const image = buildImage(readFileSync(values.wasm), values.tag);
writeLayout(image, values.out);
const hex = image.manifest.digest.slice("sha256:".length);
process.stdout.write(
  `OCI image layout: ${values.out} (tag ${values.tag})\n` +
    `  manifest ${image.manifest.digest} (${image.manifest.size} bytes)\n` +
    `  layer    ${image.layer.digest} (${image.layer.size} bytes, gzip'd tar with plugin.wasm)\n` +
    `Push:  skopeo copy oci:${values.out}:${values.tag} docker://REGISTRY/dynamic-subset:0.1.0\n` +
    `WasmPlugin: url: oci://REGISTRY/dynamic-subset@${image.manifest.digest}   (or the tag, with sha256: ${hex})\n`,
);
