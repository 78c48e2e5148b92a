// Warnings for rendered Kubernetes objects that approach what the API server accepts. The catalog grows with the
// pods (a %ip% selector lists every pod), and so do the DestinationRule subsets and the generated routes.
//
//   objectSizeWarnings(objects): string[]
//
// Limits, by the object's size as compact JSON (what kubectl sends):
//   - 256 KiB of annotations per object (Kubernetes, staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go,
//     TotalAnnotationSizeLimitB). Client-side `kubectl apply` copies the whole object into the annotation
//     kubectl.kubernetes.io/last-applied-configuration, so larger objects fail with "metadata.annotations: Too long".
//     Remedy: `kubectl apply --server-side`, which keeps no such copy.
//   - 1.5 MiB per request to etcd by default (etcd --max-request-bytes; https://etcd.io/docs/v3.5/dev-guide/limit/):
//     the API server cannot store a larger object, whatever the client does.
// A warning is given from 75% of a limit, so that the next pods do not break the next apply.

import { isObj, type Obj } from "../input/object.js";

const KiB = 1024;
const ANNOTATIONS_LIMIT = 256 * KiB;
const ETCD_REQUEST_LIMIT = 1.5 * KiB * KiB;
const WARN_FROM = 0.75;

const size = (bytes: number) =>
  bytes >= KiB * KiB ? `${(bytes / KiB / KiB).toFixed(2)} MiB` : `${Math.ceil(bytes / KiB)} KiB`;

function objectName(o: Obj): string {
  const md = isObj(o.metadata) ? o.metadata : {};
  return `${String(o.kind)} ${String(md.namespace ?? "default")}/${String(md.name)}`;
}

export function objectSizeWarnings(objects: Obj[]): string[] {
  return objects.flatMap((o) => {
    const bytes = Buffer.byteLength(JSON.stringify(o));
    const what = `${objectName(o)} is ${size(bytes)} as JSON`;
    if (bytes >= WARN_FROM * ETCD_REQUEST_LIMIT)
      return [
        `${what}; etcd stores at most ${size(ETCD_REQUEST_LIMIT)} per object by default (--max-request-bytes), so the API server may refuse it: render fewer services or pods into one object (a %ip% selector lists every pod)`,
      ];
    if (bytes >= WARN_FROM * ANNOTATIONS_LIMIT)
      return [
        `${what}; client-side kubectl apply copies it into the annotation kubectl.kubernetes.io/last-applied-configuration, and Kubernetes allows ${size(ANNOTATIONS_LIMIT)} of annotations per object: apply with kubectl apply --server-side`,
      ];
    return [];
  });
}
