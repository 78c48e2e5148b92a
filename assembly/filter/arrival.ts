// Which configured service and route entry a request is for, from the two properties Envoy gives the filter
// (xds.cluster_name, xds.route_name). Pure: plugin.ts reads the properties and hands them over.
//
// A client that knows the route token can send the subset header itself, so that Envoy's first route match (made
// before any filter runs) picks a generated route (docs/behaviour.md "The route token"). Such a request arrives
//   - on a generated subset route: cluster "outbound|<port>|<subset>|<host>" with <subset> in that service's
//     catalog, route "<route>.<subset>" (or "<route>.<subset>.<match name>" for a named match), or
//   - on a generated pin route: the service's own cluster, route "<route>.%ip%" (or "<route>.%ip%.<match name>").
// It is taken for <route> (<route>.<match name>) of that service, decided from its own headers like any other, and
// marked `onGeneratedRoute` (counted, and the route is always matched again after the filter). A subset cluster
// reached on a route without that segment is a user route naming the subset itself: passed through.

import { RouteTable, ServiceTable, Tables, IstioClusterName } from "./tables/runtime";

export class Arrival {
  service: ServiceTable | null = null;
  route: RouteTable | null = null;
  /** A client sent the subset header with the route token: the request arrived on a generated route. */
  onGeneratedRoute: bool = false;
  // The catalog subset whose generated cluster the request arrived on: its route name must carry ".<subset>".
  private arrivedSubset: ArrayBuffer | null = null;
  private parts: IstioClusterName = new IstioClusterName();
  private shortened: ArrayBuffer; // scratch: a route name without its generated segment

  constructor(private tables: Tables) {
    this.shortened = new ArrayBuffer(max(tables.maxRouteNameBytes, 1));
  }

  /** From xds.cluster_name; false: no configured service (the request passes through). */
  fromCluster(ptr: usize, len: i32): bool {
    this.route = null;
    this.onGeneratedRoute = false;
    this.arrivedSubset = null;
    const tables = this.tables;
    let index = tables.findService(ptr, len);
    if (index < 0) index = this.subsetCluster(ptr, len);
    if (index < 0 || index >= tables.services.length) {
      this.service = null;
      return false;
    }
    const service = unchecked(tables.services[index]);
    this.service = service;
    this.route = service.unnamedRoute;
    return true;
  }

  /** Whether xds.route_name must be read (then call fromRouteName). */
  get needsRouteName(): bool {
    const service = this.service;
    return service != null && (service.needsRouteName || this.arrivedSubset != null);
  }

  /**
   * From xds.route_name (empty: Envoy gave none). Named entry, else the unnamed one (docs/behaviour.md "Routing
   * decision"). Returns false when the request turns out not to be the service's (see the top of this file).
   */
  fromRouteName(ptr: usize, len: i32): bool {
    const service = this.service;
    if (service == null) return false;
    const subset = this.arrivedSubset;
    if (subset != null) {
      if (!this.lookUpWithout(service, ptr, len, subset)) {
        this.service = null;
        return false;
      }
      this.onGeneratedRoute = true;
      return true;
    }
    const exact = service.routesByName.find(ptr, len);
    if (exact >= 0 && exact < service.routes.length) {
      this.route = unchecked(service.routes[exact]);
      return true;
    }
    const pin = service.pinSegment;
    if (pin != null && this.lookUpWithout(service, ptr, len, pin)) this.onGeneratedRoute = true;
    return true;
  }

  /** A generated subset cluster of a `host` entry, -1: none. */
  private subsetCluster(ptr: usize, len: i32): i32 {
    const parts = this.parts;
    if (!parts.parse(ptr, len) || parts.subsetLen == 0) return -1;
    const index = this.tables.serviceOfHost(ptr, len, parts);
    if (index < 0 || index >= this.tables.services.length) return -1;
    const service = unchecked(this.tables.services[index]);
    const subset = service.subsetIndex.find(ptr + <usize>parts.subsetStart, parts.subsetLen);
    if (subset < 0 || subset >= service.subsetNames.length) return -1;
    this.arrivedSubset = unchecked(service.subsetNames[subset]);
    return index;
  }

  /** The route entry named `name` without its segment ".<segment>" (the unnamed one if none); false: no segment. */
  private lookUpWithout(service: ServiceTable, ptr: usize, len: i32, segment: ArrayBuffer): bool {
    const out = this.shortened;
    const shortLen = withoutSegment(ptr, len, segment, out);
    if (shortLen < 0) return false;
    const named = shortLen <= out.byteLength ? service.routesByName.find(changetype<usize>(out), shortLen) : -1;
    this.route = named >= 0 && named < service.routes.length ? unchecked(service.routes[named]) : service.unnamedRoute;
    return true;
  }
}

/**
 * The length of `name` (ptr, len) without its first segment ".<segment>" that ends the name or is followed by ".",
 * -1 if it has none. The shortened name is written to `out` when it fits (a longer one names no configured route).
 */
export function withoutSegment(ptr: usize, len: i32, segment: ArrayBuffer, out: ArrayBuffer): i32 {
  const segmentLen = segment.byteLength;
  const segmentPtr = changetype<usize>(segment);
  for (let dot = 0; dot + segmentLen < len; dot++) {
    if (load<u8>(ptr + <usize>dot) != 0x2e) continue; // '.'
    const end = dot + 1 + segmentLen;
    if (end < len && load<u8>(ptr + <usize>end) != 0x2e) continue;
    if (memory.compare(ptr + <usize>(dot + 1), segmentPtr, <usize>segmentLen) != 0) continue;
    const shortLen = len - segmentLen - 1;
    if (shortLen <= out.byteLength) {
      const outPtr = changetype<usize>(out);
      memory.copy(outPtr, ptr, <usize>dot);
      memory.copy(outPtr + <usize>dot, ptr + <usize>end, <usize>(len - end));
    }
    return shortLen;
  }
  return -1;
}
