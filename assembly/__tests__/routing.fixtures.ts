// Model objects for the routing specs (tables, decision): the example of docs/configuration.md,
// i.e. the seed's helloworld deployment, built directly (no JSON parsing).

import {
  Catalog,
  CatalogEndpoint,
  CatalogSubset,
  FallbackPolicy,
  HeaderMapping,
  KeySource,
  Label,
  Mode,
  PluginConfig,
  RouteConfig,
  ServiceConfig,
  SubsetSelector,
} from "../filter/model";

export const ROUTE_TOKEN = "9f3c1a7e52d04b68";
export const PREFIX = "x-dynamic-subset-";

export function labels(stage: string, version: string): Label[] {
  return [new Label("stage", stage), new Label("version", version)];
}

export function endpoint(ip: string, stage: string, version: string): CatalogEndpoint {
  return new CatalogEndpoint(ip + ":8000", ip, labels(stage, version));
}

export function seedCatalog(): Catalog {
  return new Catalog(
    ROUTE_TOKEN,
    [
      new CatalogSubset("dev-v1", labels("dev", "v1")),
      new CatalogSubset("dev-v2", labels("dev", "v2")),
      new CatalogSubset("dev-v3", labels("dev", "v3")),
      new CatalogSubset("prod-v2", labels("prod", "v2")),
      new CatalogSubset("prod-v3", labels("prod", "v3")),
    ],
    [
      endpoint("192.168.0.5", "dev", "v1"),
      endpoint("192.168.0.1", "dev", "v2"),
      endpoint("192.168.0.252", "dev", "v3"),
      endpoint("192.168.0.103", "prod", "v2"),
      endpoint("192.168.0.104", "prod", "v3"),
      endpoint("192.168.0.6", "prod", "v3"),
    ],
    PREFIX + "host",
  );
}

export function seedRoutes(): RouteConfig[] {
  return [
    new RouteConfig("default", [
      new HeaderMapping(KeySource.Header, "x-version", "version", "v3"),
      new HeaderMapping(KeySource.Header, "x-stage", "stage", "prod"),
    ]),
    new RouteConfig("pin", [new HeaderMapping(KeySource.Header, "x-ip", "%ip%", null)]),
  ];
}

/** The example service of docs/configuration.md: [stage, version] DEFAULT_SUBSET, [%ip%], global NO_FALLBACK. */
export function seedService(mode: Mode): ServiceConfig {
  return new ServiceConfig(
    "helloworld",
    null,
    [
      new SubsetSelector(["stage", "version"], FallbackPolicy.DefaultSubset),
      new SubsetSelector(["%ip%"], FallbackPolicy.Unset),
    ],
    labels("prod", "v3"),
    FallbackPolicy.NoFallback,
    seedRoutes(),
    mode == Mode.Catalog ? seedCatalog() : null,
  );
}

export function seedConfig(mode: Mode): PluginConfig {
  return new PluginConfig(mode, PREFIX, false, [seedService(mode)]);
}

export function text(bytes: ArrayBuffer): string {
  return String.UTF8.decode(bytes);
}
