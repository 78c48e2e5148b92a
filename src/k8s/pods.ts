// Live endpoints for the istio target, from `kubectl get pods -o json` (a List, a PodList or one Pod) and,
// optionally, the Service that fronts them (`kubectl get service NAME -o yaml`, or the manifest).
//
// Exported API:
//
//   parsePods(text, file): PodInfo[]          every pod of the document, with why it can or cannot serve
//   parseService(text, file): ServiceInfo     the first `kind: Service` document of a YAML/JSON stream
//   servingEndpoints(pods, service, opts): { endpoints: Endpoint[]; warnings: string[] }
//       the pods that Kubernetes would list as ready endpoints of the Service, with the port traffic reaches.
//
// A pod is an endpoint when it is selected by the Service, is in the Service's namespace, has status.phase
// Running, a status.podIP, condition Ready=True, and no metadata.deletionTimestamp (terminating pods leave the
// EndpointSlice's ready set; Istio stops sending them new requests). Anything else is skipped, with a reason.
//
// The port of an endpoint is the one Kubernetes would put in the EndpointSlice (and so the one in Envoy's host
// address, which the %ip% session header must match):
//   1. with a Service: the targetPort of the service port whose `port` is the VirtualService destination port
//      (or its only port); a named targetPort is resolved in each pod's own containerPorts;
//   2. without a Service: the pod's only container port outside the istio-proxy sidecar; if it has several,
//      the one equal to the destination port;
//   3. else the destination port itself (Service port == targetPort), with a warning.
// Without a Service, pods are selected by `app: <service name>` (the Istio samples' convention), with a warning.

import { parseAllDocuments } from "yaml";

export type Labels = Record<string, string>;

export interface ContainerPort {
  name?: string;
  containerPort: number;
}

export interface PodInfo {
  name: string;
  namespace: string;
  labels: Labels;
  ip?: string;
  ports: ContainerPort[]; // of the application containers (the istio-proxy sidecar's are left out)
  notServing?: string; // why the pod is not a ready endpoint; undefined = it is
}

export interface ServiceInfo {
  name: string;
  namespace: string;
  selector: Labels;
  ports: { port: number; targetPort: number | string }[];
  document: Record<string, unknown>;
}

export interface Endpoint {
  pod: string;
  ip: string;
  port: number;
  labels: Labels;
}

export class K8sInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "K8sInputError";
  }
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const SIDECAR = "istio-proxy";

function stringMap(x: unknown, where: string): Labels {
  if (x === undefined) return {};
  if (!isObj(x) || Object.values(x).some((v) => typeof v !== "string"))
    throw new K8sInputError(`${where}: must be a map of strings`);
  return x as Labels;
}

function whyNotServing(status: Obj, meta: Obj): string | undefined {
  if (meta.deletionTimestamp !== undefined) return "terminating (metadata.deletionTimestamp is set)";
  if (status.phase !== "Running") return `status.phase is ${String(status.phase ?? "missing")}`;
  if (typeof status.podIP !== "string" || status.podIP === "") return "no status.podIP";
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const ready = conditions.find((c) => isObj(c) && c.type === "Ready");
  if (!isObj(ready) || ready.status !== "True") return "condition Ready is not True";
  return undefined;
}

function containerPorts(spec: Obj): ContainerPort[] {
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  return containers
    .filter((c): c is Obj => isObj(c) && c.name !== SIDECAR)
    .flatMap((c) => (Array.isArray(c.ports) ? c.ports : []))
    .filter((p): p is Obj => isObj(p) && typeof p.containerPort === "number" && (p.protocol ?? "TCP") === "TCP")
    .map((p) =>
      typeof p.name === "string"
        ? { name: p.name, containerPort: p.containerPort as number }
        : { containerPort: p.containerPort as number },
    );
}

function readPod(x: unknown, where: string): PodInfo {
  if (!isObj(x) || x.kind !== "Pod" || !isObj(x.metadata)) throw new K8sInputError(`${where}: not a Pod`);
  const meta = x.metadata;
  if (typeof meta.name !== "string") throw new K8sInputError(`${where}.metadata.name: must be a string`);
  const status = isObj(x.status) ? x.status : {};
  const pod: PodInfo = {
    name: meta.name,
    namespace: typeof meta.namespace === "string" ? meta.namespace : "default",
    labels: stringMap(meta.labels, `${where}.metadata.labels`),
    ports: containerPorts(isObj(x.spec) ? x.spec : {}),
  };
  if (typeof status.podIP === "string" && status.podIP !== "") pod.ip = status.podIP;
  const reason = whyNotServing(status, meta);
  if (reason) pod.notServing = reason;
  return pod;
}

function parseDocuments(text: string, file: string): unknown[] {
  const docs = parseAllDocuments(text); // JSON is YAML
  const list = Array.isArray(docs) ? docs : [docs];
  for (const [i, d] of list.entries())
    if (d.errors.length > 0) throw new K8sInputError(`${file}#${i}: ${d.errors[0].message.split("\n")[0]}`);
  return list.map((d) => d.toJS()).filter((d) => d !== null && d !== undefined);
}

export function parsePods(text: string, file: string): PodInfo[] {
  return parseDocuments(text, file).flatMap((doc, i) => {
    const where = `${file}#${i}`;
    if (isObj(doc) && Array.isArray(doc.items)) return doc.items.map((p, j) => readPod(p, `${where} items[${j}]`));
    return [readPod(doc, where)];
  });
}

export function parseService(text: string, file: string): ServiceInfo {
  const doc = parseDocuments(text, file).find((d) => isObj(d) && d.kind === "Service");
  if (!isObj(doc) || !isObj(doc.metadata) || !isObj(doc.spec))
    throw new K8sInputError(`${file}: no kind: Service document with metadata and spec`);
  const { metadata, spec } = doc;
  const ports = (Array.isArray(spec.ports) ? spec.ports : []).filter(isObj).map((p, i) => {
    if (typeof p.port !== "number") throw new K8sInputError(`${file} spec.ports[${i}].port: must be a number`);
    const t = p.targetPort;
    return { port: p.port, targetPort: typeof t === "number" || typeof t === "string" ? t : p.port };
  });
  if (ports.length === 0) throw new K8sInputError(`${file} spec.ports: the Service has no ports`);
  return {
    name: String(metadata.name),
    namespace: typeof metadata.namespace === "string" ? metadata.namespace : "default",
    selector: stringMap(spec.selector, `${file} spec.selector`),
    ports,
    document: doc,
  };
}

const selects = (selector: Labels, labels: Labels) => Object.entries(selector).every(([k, v]) => labels[k] === v);

function targetPortOf(service: ServiceInfo, destinationPort: number | undefined): number | string {
  const sp =
    service.ports.find((p) => p.port === destinationPort) ??
    (service.ports.length === 1 ? service.ports[0] : undefined);
  if (!sp)
    throw new K8sInputError(
      `Service ${service.name} has no port ${destinationPort ?? "(the VirtualService names none)"}; give the destination port`,
    );
  return sp.targetPort;
}

function podPort(
  pod: PodInfo,
  target: number | string | undefined,
  destinationPort: number | undefined,
): number | undefined {
  if (typeof target === "number") return target;
  if (typeof target === "string") return pod.ports.find((p) => p.name === target)?.containerPort;
  if (pod.ports.length === 1) return pod.ports[0].containerPort;
  return pod.ports.find((p) => p.containerPort === destinationPort)?.containerPort ?? destinationPort;
}

export interface EndpointOptions {
  name: string; // the service's short name
  namespace: string;
  destinationPort?: number; // the VirtualService route's destination port
}

export function servingEndpoints(
  pods: PodInfo[],
  service: ServiceInfo | undefined,
  opts: EndpointOptions,
): { endpoints: Endpoint[]; warnings: string[] } {
  const warnings: string[] = [];
  const selector = service?.selector ?? { app: opts.name };
  if (!service) warnings.push(`no --service given: pods selected by app=${opts.name} in namespace ${opts.namespace}`);
  const target = service ? targetPortOf(service, opts.destinationPort) : undefined;
  const endpoints: Endpoint[] = [];
  for (const pod of pods) {
    if (pod.namespace !== opts.namespace || !selects(selector, pod.labels)) continue;
    if (pod.notServing) {
      warnings.push(`pod ${pod.namespace}/${pod.name} skipped: ${pod.notServing}`);
      continue;
    }
    const port = podPort(pod, target, opts.destinationPort);
    if (port === undefined) {
      warnings.push(
        `pod ${pod.namespace}/${pod.name} skipped: no port ${target === undefined ? "" : `named ${target} `}to send traffic to`,
      );
      continue;
    }
    if (!service && pod.ports.length === 0)
      warnings.push(`pod ${pod.namespace}/${pod.name} declares no container port: using the destination port ${port}`);
    endpoints.push({ pod: pod.name, ip: pod.ip as string, port, labels: pod.labels });
  }
  return { endpoints, warnings };
}
