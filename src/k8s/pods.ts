// Live endpoints for the istio target, from `kubectl get pods -o json` (a List, a PodList or one Pod; YAML too) and
// the Services that front them (`kubectl get service NAME -o yaml`, or the manifests).
//
// Exported API:
//
//   parsePods(text, file): PodInfo[]          every pod of the file, with why it can or cannot serve
//   parseServices(text, file): ServiceInfo[]  every `kind: Service` object of a YAML/JSON stream (lists expanded)
//   parseService(text, file): ServiceInfo     the first of them
//   servingEndpoints(pods, service, opts): { endpoints, warnings, problems }
//       the pods that Kubernetes would list as ready endpoints of the Service, with the port traffic reaches;
//       problems: what makes the Service unroutable (no such port).
//   Malformed input throws InputError, every problem as `<file>#<doc> <path>: <problem>`.
//
// Objects are accepted as kubectl prints them from a live cluster: list items without kind, server-populated
// metadata and status. Label values may be empty, as in Kubernetes.
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

import { InputError } from "../input/errors.js";
import { isListKind, parseKubeText } from "../input/kube.js";
import { isObj, type Obj } from "../input/object.js";
import { child, DocReader, LABEL_KEY_RULE, type Node } from "../input/reader.js";
import { isIpLiteral, isLabelKey, isLabelValue } from "../input/syntax.js";

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
  document: Obj;
}

export interface Endpoint {
  pod: string;
  ip: string;
  port: number;
  labels: Labels;
}

const SIDECAR = "istio-proxy";
const node = (v: unknown, path = ""): Node => ({ v, raw: v, path });
const isPort = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= 65535;

/** Kubernetes labels: valid keys, valid or empty values. */
function readLabels(r: DocReader, n: Node): Labels {
  if (n.v === undefined || n.v === null) return {};
  if (!r.object(n)) return {};
  const labels: Labels = {};
  for (const [k, v] of Object.entries(n.v as Obj)) {
    const at = child(n, k);
    if (!isLabelKey(k)) r.fail(at, `"${k}" is not a valid label key (${LABEL_KEY_RULE})`);
    else if (typeof v !== "string") r.fail(at, "must be a string");
    else if (v !== "" && !isLabelValue(v))
      r.fail(
        at,
        `"${v}" is not a valid label value (at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric)`,
      );
    else labels[k] = v;
  }
  return labels;
}

function whyNotServing(status: Obj, meta: Obj): string | undefined {
  if (meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null)
    return "terminating (metadata.deletionTimestamp is set)";
  if (status.phase !== "Running") return `status.phase is ${String(status.phase ?? "missing")}`;
  if (typeof status.podIP !== "string" || status.podIP === "") return "no status.podIP";
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const ready = conditions.find((c) => isObj(c) && c.type === "Ready");
  if (!isObj(ready) || ready.status !== "True") return "condition Ready is not True";
  return undefined;
}

function containerPorts(r: DocReader, spec: Node): ContainerPort[] {
  const containers = child(spec, "containers");
  if (!Array.isArray(containers.v)) return [];
  return containers.v.flatMap((c, i) => {
    if (!isObj(c) || c.name === SIDECAR || !Array.isArray(c.ports)) return [];
    return c.ports.flatMap((p, j) => {
      if (!isObj(p) || (p.protocol ?? "TCP") !== "TCP") return [];
      if (!isPort(p.containerPort)) {
        r.fail(
          child(child(child(child(containers, i), "ports"), j), "containerPort"),
          "must be a port number (1-65535)",
        );
        return [];
      }
      return [
        typeof p.name === "string"
          ? { name: p.name, containerPort: p.containerPort }
          : { containerPort: p.containerPort },
      ];
    });
  });
}

function readPod(r: DocReader, n: Node): PodInfo | undefined {
  if (!isObj(n.v) || n.v.kind !== "Pod" || !isObj(n.v.metadata))
    return r.fail(n, `not a Pod (give the output of kubectl get pods -o json)`);
  const meta = child(n, "metadata");
  const name = r.plainString(child(meta, "name"));
  const namespace = r.optional(child(meta, "namespace"), (x) => r.plainString(x)) ?? "default";
  const labels = readLabels(r, child(meta, "labels"));
  const ports = containerPorts(r, child(n, "spec"));
  const status = isObj(n.v.status) ? n.v.status : {};
  if (name === undefined) return undefined;
  const pod: PodInfo = { name, namespace, labels, ports };
  if (typeof status.podIP === "string" && status.podIP !== "") {
    if (isIpLiteral(status.podIP)) pod.ip = status.podIP;
    else r.fail(child(child(n, "status"), "podIP"), `must be an IPv4 or IPv6 literal, got "${status.podIP}"`);
  }
  const reason = whyNotServing(status, n.v.metadata);
  if (reason) pod.notServing = reason;
  return pod;
}

/** The objects of a kubectl output file (lists expanded; an item without kind takes `itemKind`). */
function kubeObjects(text: string, file: string, itemKind: string, problems: string[]): [DocReader, Node][] {
  const parsed = parseKubeText(text);
  if ("errors" in parsed) {
    problems.push(...parsed.errors.map((e) => `${file}${e}`));
    return [];
  }
  return parsed.documents.flatMap((doc, i): [DocReader, Node][] => {
    const r = new DocReader(`${file}#${i}`, problems, []);
    if (doc === null || doc === undefined) return [];
    if (!isObj(doc) || !isListKind(doc.kind)) return [[r, node(doc)]];
    if (!Array.isArray(doc.items)) {
      r.fail("items", "must be a list");
      return [];
    }
    return doc.items.map((item, j) => [
      r,
      node(isObj(item) && item.kind === undefined ? { kind: itemKind, ...item } : item, `items[${j}]`),
    ]);
  });
}

export function parsePods(text: string, file: string): PodInfo[] {
  const problems: string[] = [];
  const pods = kubeObjects(text, file, "Pod", problems).map(([r, n]) => readPod(r, n));
  if (problems.length > 0) throw new InputError(problems);
  return pods as PodInfo[];
}

function readService(r: DocReader, n: Node): ServiceInfo | undefined {
  const meta = child(n, "metadata");
  const spec = child(n, "spec");
  if (!r.object(meta) || !r.object(spec)) return undefined;
  const name = r.plainString(child(meta, "name"));
  const namespace = r.optional(child(meta, "namespace"), (x) => r.plainString(x)) ?? "default";
  const selector = readLabels(r, child(spec, "selector"));
  const portsNode = child(spec, "ports");
  const ports = (r.optional(portsNode, (p) => r.list(p)) ?? []).flatMap((p) => {
    const port = child(p, "port").v;
    const target = child(p, "targetPort").v ?? port;
    if (!isPort(port)) r.fail(child(p, "port"), "must be a port number (1-65535)");
    else if (!isPort(target) && (typeof target !== "string" || target === ""))
      r.fail(child(p, "targetPort"), "must be a port number or a container port name");
    else return [{ port, targetPort: target as number | string }];
    return [];
  });
  if (ports.length === 0) r.fail(portsNode, "the Service has no ports");
  if (name === undefined || ports.length === 0) return undefined;
  return { name, namespace, selector, ports, document: n.v as Obj };
}

export function parseServices(text: string, file: string): ServiceInfo[] {
  const problems: string[] = [];
  const services = kubeObjects(text, file, "Service", problems)
    .filter(([, n]) => isObj(n.v) && n.v.kind === "Service")
    .map(([r, n]) => readService(r, n));
  if (problems.length === 0 && services.length === 0)
    problems.push(`${file}: no kind: Service document with metadata and spec`);
  if (problems.length > 0) throw new InputError(problems);
  return services as ServiceInfo[];
}

export function parseService(text: string, file: string): ServiceInfo {
  return parseServices(text, file)[0];
}

const selects = (selector: Labels, labels: Labels) => Object.entries(selector).every(([k, v]) => labels[k] === v);

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

export interface ServingEndpoints {
  endpoints: Endpoint[];
  warnings: string[];
  problems: string[];
}

export function servingEndpoints(
  pods: PodInfo[],
  service: ServiceInfo | undefined,
  opts: EndpointOptions,
): ServingEndpoints {
  const out: ServingEndpoints = { endpoints: [], warnings: [], problems: [] };
  const selector = service?.selector ?? { app: opts.name };
  if (!service)
    out.warnings.push(`no --service given: pods selected by app=${opts.name} in namespace ${opts.namespace}`);
  const servicePort = service
    ? (service.ports.find((p) => p.port === opts.destinationPort) ??
      (service.ports.length === 1 ? service.ports[0] : undefined))
    : undefined;
  if (service && !servicePort) {
    out.problems.push(
      `Service ${service.namespace}/${service.name} has no port ${opts.destinationPort ?? "(the VirtualService names none)"}; give the destination port`,
    );
    return out;
  }
  const target = servicePort?.targetPort;
  for (const pod of pods) {
    if (pod.namespace !== opts.namespace || !selects(selector, pod.labels)) continue;
    if (pod.notServing) {
      out.warnings.push(`pod ${pod.namespace}/${pod.name} skipped: ${pod.notServing}`);
      continue;
    }
    const port = podPort(pod, target, opts.destinationPort);
    if (port === undefined) {
      out.warnings.push(
        `pod ${pod.namespace}/${pod.name} skipped: no port ${target === undefined ? "" : `named ${target} `}to send traffic to`,
      );
      continue;
    }
    if (!service && pod.ports.length === 0)
      out.warnings.push(
        `pod ${pod.namespace}/${pod.name} declares no container port: using the destination port ${port}`,
      );
    out.endpoints.push({ pod: pod.name, ip: pod.ip as string, port, labels: pod.labels });
  }
  return out;
}

/** Why a Service has no endpoints among `pods`, for the refusal message. */
export function noEndpointsReason(pods: PodInfo[], service: ServiceInfo | undefined, opts: EndpointOptions): string {
  const selector = service?.selector ?? { app: opts.name };
  const selected = pods.filter((p) => selects(selector, p.labels));
  const here = selected.filter((p) => p.namespace === opts.namespace);
  const shown = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  if (here.length > 0)
    return `none of the ${here.length} pods selected by ${shown} in namespace ${opts.namespace} is ready and reachable`;
  const elsewhere = [...new Set(selected.map((p) => p.namespace))];
  if (elsewhere.length > 0)
    return `the pods selected by ${shown} are in namespace ${elsewhere.join(", ")}, not in the service's namespace ${opts.namespace}`;
  return `no pod in the pods file is selected by ${shown}`;
}
