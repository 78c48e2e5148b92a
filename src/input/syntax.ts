// Syntax checks shared by every input reader (docs/configuration.md; docs/behaviour.md "Routing decision").
//
//   isLabelKey(s)        Kubernetes label key: optional DNS-subdomain prefix and '/', then a name of 1-63 chars
//                        ([A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]); the filter accepts exactly these
//   isLabelValue(s)      Kubernetes label value, non-empty: <= 63 chars, ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
//   isIpLiteral(s)       IPv4 dotted quad or IPv6 literal (no brackets, no zone)
//   isHeaderToken(s)     an HTTP header-name token (RFC 9110 tchar), so no pseudo-headers; also what an RFC 6265
//                        cookie-name and a W3C baggage key are
//   isQueryParameterName(s) a query parameter name as a mapping gives it (decoded): visible ASCII except # % & + =
//   isDnsLabel(s)        RFC 1123 label (Kubernetes namespace and Service names)
//   fqdn(host, ns)       a short Kubernetes service name `name` -> `name.<ns>.svc.cluster.local`

import { isIP } from "node:net";

const NAME = "(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const DNS_LABEL = "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?";
const LABEL_KEY = new RegExp(`^(?:(?=[^/]{1,253}/)${DNS_LABEL}(?:\\.${DNS_LABEL})*/)?(?=[^/]{1,63}$)${NAME}$`);
const LABEL_VALUE = new RegExp(`^(?=.{1,63}$)${NAME}$`);
const DNS_LABEL_ONLY = new RegExp(`^(?=.{1,63}$)${DNS_LABEL}$`);
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// '#', '%', '&', '+' and '=' could only be matched in their encoded forms (the filter compares decoded names)
const QUERY_PARAMETER_NAME = /^[!-~]+$/;
const QUERY_PARAMETER_EXCLUDED = /[#%&+=]/;

export function isLabelKey(s: string): boolean {
  return LABEL_KEY.test(s);
}

export function isLabelValue(s: string): boolean {
  return LABEL_VALUE.test(s);
}

export function isIpLiteral(s: string): boolean {
  return isIP(s) !== 0;
}

export function isHeaderToken(s: string): boolean {
  return HEADER_TOKEN.test(s);
}

export function isQueryParameterName(s: string): boolean {
  return QUERY_PARAMETER_NAME.test(s) && !QUERY_PARAMETER_EXCLUDED.test(s);
}

export function isDnsLabel(s: string): boolean {
  return DNS_LABEL_ONLY.test(s);
}

/** Istio's reading of a host name in a VirtualService/DestinationRule: a name without dots is a service in `namespace`. */
export function fqdn(host: string, namespace: string | undefined): string {
  if (host.includes(".") || host.includes("*")) return host;
  return `${host}.${namespace ?? "default"}.svc.cluster.local`;
}
