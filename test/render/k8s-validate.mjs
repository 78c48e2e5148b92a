// Validation of Kubernetes and Istio manifests against their published schemas, strictly:
//   - the schemas: Istio 1.29 CRDs (@kubernetes-models/istio) and the Kubernetes API (kubernetes-models), through
//     each model's validate() (types, enums, required fields, formats);
//   - unknown fields: those compiled validators accept them (a CRD's structural schema prunes them silently, and
//     a misspelt field would vanish), so every object the validator walks is watched through a Proxy: the
//     validator reads each property its schema declares; a field it never read is unknown, as with
//     `kubectl apply --validate=strict`. Objects whose schema declares no properties (google.protobuf.Struct such
//     as WasmPlugin pluginConfig, x-kubernetes-preserve-unknown-fields) are read by no one and stay free-form; maps
//     (labels) are enumerated by the validator and so accept any key.
// Not covered: the CRDs' CEL rules (x-kubernetes-validations, e.g. WasmPlugin url schemes) and istiod's own
// semantic checks; tests of rendered output check the ones that matter (subset names, subset references).
//
//   validateManifest(doc): string[]     problems, "" path = document; [] when valid
//   manifestFiles(root): string[]       the repository's YAML files that hold Kubernetes/Istio manifests

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { WasmPlugin } from "@kubernetes-models/istio/extensions.istio.io/v1alpha1/WasmPlugin";
import * as v1 from "@kubernetes-models/istio/networking.istio.io/v1";
import * as v1beta1 from "@kubernetes-models/istio/networking.istio.io/v1beta1";
import * as v1alpha3 from "@kubernetes-models/istio/networking.istio.io/v1alpha3";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";

const MODELS = new Map(
  [
    WasmPlugin,
    ...[v1, v1beta1, v1alpha3].flatMap((m) => [m.DestinationRule, m.VirtualService]),
    v1alpha3.EnvoyFilter,
    Deployment,
    Service,
    ServiceAccount,
  ].map((M) => [`${M.apiVersion}/${M.kind}`, M]),
);

export const knownKinds = () => [...MODELS.keys()];

/** Wraps `value` so that every property read and every key enumeration is recorded per object. */
function watched(value, path, log) {
  if (value === null || typeof value !== "object") return value;
  const rec = { path, value, read: new Set(), enumerated: false };
  log.push(rec);
  const children = new Map();
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== "string") return v;
      rec.read.add(key);
      if (v === null || typeof v !== "object") return v;
      if (!children.has(key)) children.set(key, watched(v, `${path}/${key}`, log));
      return children.get(key);
    },
    has(target, key) {
      if (typeof key === "string") rec.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      rec.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

export function validateManifest(doc) {
  const id = `${doc?.apiVersion}/${doc?.kind}`;
  const Model = MODELS.get(id);
  if (!Model) return [`no schema for ${id}`];
  const log = [];
  try {
    Model.prototype.validate.call(watched(doc, "", log));
  } catch (e) {
    return e.message
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
  }
  const problems = [];
  for (const rec of log) {
    if (Array.isArray(rec.value) || rec.enumerated || rec.read.size === 0) continue;
    for (const key of Object.keys(rec.value))
      if (!rec.read.has(key)) problems.push(`${rec.path}/${key}: unknown field`);
  }
  return problems;
}

// fixtures/ and examples/ hold ASM-flavoured inputs (dynamicSubset, headerToDynamicSubsetKey), not upstream Istio:
// the renderer reads and checks those.
const SKIP_DIRS = new Set(["node_modules", ".git", "dist", "build", "fixtures", "examples"]);

/** YAML files under root (fixtures excluded: ASM input is not upstream Istio) with at least one known manifest. */
export function manifestFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith(".")) walk(join(dir, e.name));
      } else if (/\.ya?ml$/.test(e.name)) {
        const docs = parseAllDocuments(readFileSync(join(dir, e.name), "utf8"));
        const list = Array.isArray(docs) ? docs : [docs];
        if (list.some((d) => MODELS.has(`${d.get?.("apiVersion")}/${d.get?.("kind")}`)))
          out.push(relative(root, join(dir, e.name)));
      }
    }
  };
  walk(root);
  return out.sort();
}
