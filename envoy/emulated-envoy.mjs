// A plain Envoy serving rendered metadata-mode configuration, played in Node: the route table picks the route,
// the compiled filter runs in the proxy-wasm emulator (emulator/), then header_to_metadata and the subset
// load balancer run as the Envoy models (emulator/models). Answers which endpoints a request can reach, or the 503.
// Used by the seed end-to-end test, the mode-equivalence test and the demo.

import { readFileSync } from "node:fs";
import { ProxyWasmHost } from "../emulator/index.mjs";
import { routeThroughEnvoy } from "../emulator/models/envoy.mjs";
import { readAsmFiles, parseAsm } from "../dist/asm/index.js";
import { parseEndpoints } from "../dist/endpoints/index.js";
import { renderEnvoy } from "../dist/render/envoy.js";

export const WASM = new URL("../build/dynamic_subset.wasm", import.meta.url).pathname;

const typedConfig = (filters, name) => filters.find((f) => f.name === name)?.typed_config;

/** The rendered parts of one variant: plugin configuration, http_filters, route_config, clusters. */
function variantParts(documents) {
  const [plugin, httpFilters, routeConfig, ...clusters] = documents.map((d) => d.value);
  return { plugin, httpFilters, routeConfig, clusters };
}

export class MetadataModeEnvoy {
  /** @param host a started ProxyWasmHost running the filter with parts.plugin */
  constructor(host, parts) {
    this.host = host;
    this.plugin = parts.plugin;
    this.routeConfig = parts.routeConfig;
    this.clusters = new Map(parts.clusters.map((c) => [c.name, c]));
    this.headerToMetadata = typedConfig(parts.httpFilters, "envoy.filters.http.header_to_metadata");
  }

  /** Renders ASM YAML texts + an endpoints YAML text through the envoy target and loads the filter with it. */
  static async fromYaml(asmSources, endpointsYaml, options = {}) {
    const input = parseAsm(asmSources);
    const { services } = parseEndpoints({ file: "endpoints.yaml", text: endpointsYaml });
    return MetadataModeEnvoy.fromInput(input, services, options);
  }

  static async fromFiles(asmFiles, endpointsFile, options = {}) {
    const { services } = parseEndpoints({ file: endpointsFile, text: readFileSync(endpointsFile, "utf8") });
    return MetadataModeEnvoy.fromInput(readAsmFiles(asmFiles), services, options);
  }

  /** options.allowed: the renderer's refusals to override (src/input/errors.ts ALLOWANCES). */
  static async fromInput(input, endpoints, { wasm = WASM, allowed } = {}) {
    const { documents } = renderEnvoy([{ input }], { output: "parts", endpoints, allowed });
    const parts = variantParts(documents);
    const host = await ProxyWasmHost.load(wasm, {
      pluginConfig: JSON.stringify(parts.plugin),
      rootId: "dynamic_subset",
    });
    if (!host.start())
      throw new Error(`the filter rejected the rendered configuration: ${host.logsAt("error").join("; ")}`);
    return new MetadataModeEnvoy(host, parts);
  }

  /** Envoy's route match, for what the renderer emits: the first route of the first virtual host whose prefix matches. */
  route(path = "/") {
    for (const vh of this.routeConfig.virtual_hosts) {
      for (const r of vh.routes) {
        if (Object.keys(r.match).some((k) => k !== "prefix"))
          throw new Error(`route ${r.name}: only prefix matches are modelled`);
        if (path.startsWith(r.match.prefix)) return r;
      }
    }
    return undefined;
  }

  /**
   * One request: `headers` as [name, value] pairs. Returns { status, body, decision, addresses ("ip:port" that
   * may answer, sorted), hosts (their IPs), upstreamHeaders }; with `response: true` also the answer's headers
   * after the filter (`responseHeaders`: the filter's own reply as it sent it, else Envoy's or the upstream's).
   */
  request(headers, path = "/", { response = false } = {}) {
    const route = this.route(path);
    if (!route) return { status: 404, body: "" };
    const cluster = this.clusters.get(route.route.cluster);
    const s = this.host.newStream({
      properties: { "xds.route_name": route.name ?? "", "xds.cluster_name": route.route.cluster },
    });
    try {
      s.requestHeaders(headers, { endOfStream: true });
      const decision = s.filterState.get("wasm.dynamic_subset");
      if (this.host.failed) throw new Error(`the filter trapped: ${this.host.failure}`);
      const answer = (status) => {
        if (!response) return {};
        s.responseHeaders([[":status", String(status)]]);
        return { responseHeaders: s.responseHeaderMap };
      };
      if (s.localResponse) {
        const local = response ? { responseHeaders: s.localResponse.headers } : {};
        return { status: s.localResponse.status, body: s.localResponse.body, decision, upstreamHeaders: [], ...local };
      }
      const out = routeThroughEnvoy({ headerToMetadata: this.headerToMetadata, cluster }, s.requestHeaderMap);
      if (out.noHost) return { status: out.status, body: out.body, decision, upstreamHeaders: [], ...answer(503) };
      const addresses = [...out.hosts].sort();
      const hosts = addresses.map((a) => a.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1")).sort();
      return { status: 200, addresses, hosts, decision, upstreamHeaders: out.headers, ...answer(200) };
    } finally {
      s.complete();
    }
  }
}
