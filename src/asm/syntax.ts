// Syntax checks shared by the ASM parser and the endpoints file parser (SPEC §3, §4 step 2).
//
//   isLabelValue(s)      Kubernetes label value, non-empty: <= 63 chars, ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
//   isIpLiteral(s)       IPv4 dotted quad or IPv6 literal (no brackets, no zone)
//   isHeaderToken(s)     an HTTP header-name token (RFC 9110 tchar), so no pseudo-headers
//   fqdn(host, ns)       a short Kubernetes service name `name` -> `name.<ns>.svc.cluster.local`

import { isIP } from "node:net";

const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isLabelValue(s: string): boolean {
  return LABEL_VALUE.test(s);
}

export function isIpLiteral(s: string): boolean {
  return isIP(s) !== 0;
}

export function isHeaderToken(s: string): boolean {
  return HEADER_TOKEN.test(s);
}

/** Istio's reading of a host name in a VirtualService/DestinationRule: a name without dots is a service in `namespace`. */
export function fqdn(host: string, namespace: string | undefined): string {
  if (host.includes(".") || host.includes("*")) return host;
  return `${host}.${namespace ?? "default"}.svc.cluster.local`;
}
