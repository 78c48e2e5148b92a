import { DEFAULT_HEADER_PREFIX } from "../../src/config/constants";
import { parseConfig } from "../filter/config/index";
import { MAX_REPORTED_PROBLEMS, quote } from "../filter/config/reader";
import {
  endpointIp,
  isDns1123Label,
  isDns1123Subdomain,
  isHeaderToken,
  isLabelKey,
  isRouteToken,
} from "../filter/config/syntax";
import {
  Catalog,
  ConfigResult,
  FallbackPolicy,
  KeySource,
  Mode,
  PluginConfig,
  RouteConfig,
  ServiceConfig,
} from "../filter/model";

// The full table of malformed configurations (test/fixtures/bad-configs.json) runs against the compiled
// filter in Node; the cases here pin the rules and the validated model, one behaviour per test.

function parse(text: string): ConfigResult {
  return parseConfig(String.UTF8.encode(text));
}

function accepted(text: string): PluginConfig {
  const result = parse(text);
  expect(result.errors.join("\n")).toBe("", text);
  expect(result.config).not.toBeNull();
  return result.config as PluginConfig;
}

/** the problem lines, joined; asserts the configuration was rejected */
function problems(text: string): string {
  const result = parse(text);
  expect(result.config).toBeNull(text);
  return result.errors.join("\n");
}

function warnings(text: string): string {
  return parse(text).warnings.join("\n");
}

/** One service with the given dynamicSubset and routes JSON, in metadata mode. */
function service(dynamicSubset: string, routes: string = "[]"): string {
  return '{"services": [{"cluster": "helloworld", "dynamicSubset": ' + dynamicSubset + ', "routes": ' + routes + "}]}";
}

const STAGE_VERSION = '{"subsetSelectors": [{"keys": ["stage", "version"]}]}';

function mapping(fields: string): string {
  return '[{"name": "default", "headerToDynamicSubsetKey": [' + fields + "]}]";
}

// The seed's step 3 (DEFAULT_SUBSET) configuration, as the renderer produces it for Envoy.
const SEED_STEP_3 = `{
  "services": [{
    "host": "helloworld.default.svc.cluster.local",
    "dynamicSubset": {
      "defaultSubset": {"stage": "prod", "version": "v3"},
      "subsetSelectors": [{"fallbackPolicy": "DEFAULT_SUBSET", "keys": ["stage", "version"]}]
    },
    "routes": [{"name": "default", "headerToDynamicSubsetKey": [
      {"header": "x-version", "key": "version", "defaultValue": "v3"},
      {"header": "x-stage", "key": "stage", "defaultValue": "prod"}
    ]}]
  }]
}`;

// The seed's step 4 (%ip%) configuration.
const SEED_STEP_4 = `{
  "services": [{
    "host": "helloworld.default.svc.cluster.local",
    "dynamicSubset": {
      "defaultSubset": {"stage": "prod", "version": "v3"},
      "subsetSelectors": [{"keys": ["%ip%"]}]
    },
    "routes": [{"name": "default", "headerToDynamicSubsetKey": [{"header": "x-ip", "key": "%ip%"}]}]
  }]
}`;

// The example of docs/configuration.md, in catalog mode.
const CATALOG_EXAMPLE = `{
  "mode": "catalog",
  "headerPrefix": "x-dynamic-subset-",
  "responseHeader": true,
  "services": [{
    "cluster": "helloworld",
    "dynamicSubset": {
      "subsetSelectors": [{"keys": ["stage", "version"], "fallbackPolicy": "DEFAULT_SUBSET"}, {"keys": ["%ip%"]}],
      "defaultSubset": {"stage": "prod", "version": "v3"},
      "fallbackPolicy": "NO_FALLBACK",
      "lbPolicy": "ROUND_ROBIN"
    },
    "routes": [
      {"name": "default", "headerToDynamicSubsetKey": [
        {"header": "x-version", "key": "version", "defaultValue": "v3"},
        {"header": "x-stage", "key": "stage", "defaultValue": "prod"}]},
      {"name": "pin", "headerToDynamicSubsetKey": [{"header": "x-ip", "key": "%ip%"}]}
    ],
    "catalog": {
      "routeToken": "9f3c1a7e52d04b68",
      "subsets": [{"name": "dev-v1", "labels": {"stage": "dev", "version": "v1"}}],
      "endpoints": [
        {"address": "192.168.0.6:8000", "labels": {"stage": "prod", "version": "v3"}},
        {"address": "[fd00::6]:8000", "labels": {}}
      ]
    }
  }]
}`;

/** One service in `mode` with the given catalog JSON. */
function withCatalog(mode: string, catalog: string): string {
  const dynamicSubset = '"dynamicSubset": ' + STAGE_VERSION;
  return '{"mode": "' + mode + '", "services": [{"cluster": "a", ' + dynamicSubset + ', "catalog": ' + catalog + "}]}";
}

function onlyService(config: PluginConfig): ServiceConfig {
  expect(config.services.length).toBe(1);
  return config.services[0];
}

describe("configuration defaults", () => {
  it("treats an empty buffer as an empty configuration", () => {
    const result = parseConfig(new ArrayBuffer(0));
    expect(result.errors.length).toBe(0);
    const config = result.config as PluginConfig;
    expect(config.mode).toBe(Mode.Metadata);
    expect(config.headerPrefix).toBe(DEFAULT_HEADER_PREFIX);
    expect(config.responseHeader).toBe(false);
    expect(config.services.length).toBe(0);
  });

  it("treats a configuration of only whitespace as an empty configuration", () => {
    const blanks = [" ", "\n", " \t\r\n  "];
    for (let i = 0; i < blanks.length; i++) {
      const config = accepted(blanks[i]);
      expect(config.mode).toBe(Mode.Metadata);
      expect(config.headerPrefix).toBe(DEFAULT_HEADER_PREFIX);
      expect(config.services.length).toBe(0);
      expect(parse(blanks[i]).warnings.length).toBe(0);
    }
    // other invisible bytes are not JSON whitespace
    expect(problems("\u00a0")).toBe("configuration: invalid JSON at byte 0: expected a value");
    expect(problems(" \f ")).toBe("configuration: invalid JSON at byte 1: expected a value");
  });

  it("gives {} the same defaults", () => {
    const config = accepted("{}");
    expect(config.mode).toBe(Mode.Metadata);
    expect(config.headerPrefix).toBe("x-dynamic-subset-");
    expect(config.responseHeader).toBe(false);
    expect(config.services.length).toBe(0);
  });

  it("defaults the global policy to NO_FALLBACK and leaves selector policies unset", () => {
    const s = onlyService(accepted(service(STAGE_VERSION)));
    expect(s.fallbackPolicy).toBe(FallbackPolicy.NoFallback);
    expect(s.selectors[0].fallbackPolicy).toBe(FallbackPolicy.Unset);
    expect(s.defaultSubset).toBeNull();
    expect(s.catalog).toBeNull();
    expect(s.routes.length).toBe(0);
  });
});

describe("the seed's configurations", () => {
  it("step 3: stage/version with defaults and DEFAULT_SUBSET", () => {
    const s = onlyService(accepted(SEED_STEP_3));
    expect(s.cluster).toBeNull();
    expect(s.host).toBe("helloworld.default.svc.cluster.local");
    expect(s.selectors.length).toBe(1);
    expect(s.selectors[0].keys.join(",")).toBe("stage,version");
    expect(s.selectors[0].fallbackPolicy).toBe(FallbackPolicy.DefaultSubset);
    const defaults = s.defaultSubset!;
    expect(defaults.length).toBe(2);
    expect(defaults[0].key + "=" + defaults[0].value).toBe("stage=prod");
    expect(defaults[1].key + "=" + defaults[1].value).toBe("version=v3");
    const route: RouteConfig = s.routes[0];
    expect(route.name).toBe("default");
    expect(route.mappings.length).toBe(2);
    expect(route.mappings[0].header).toBe("x-version");
    expect(route.mappings[0].key).toBe("version");
    expect(route.mappings[0].defaultValue).toBe("v3");
    expect(route.mappings[1].header).toBe("x-stage");
    expect(route.mappings[1].defaultValue).toBe("prod");
    expect(parse(SEED_STEP_3).warnings.length).toBe(0);
  });

  it("step 4: %ip% selector and a mapping without default", () => {
    const s = onlyService(accepted(SEED_STEP_4));
    expect(s.selectors[0].keys[0]).toBe("%ip%");
    const m = s.routes[0].mappings[0];
    expect(m.header).toBe("x-ip");
    expect(m.key).toBe("%ip%");
    expect(m.defaultValue).toBeNull();
  });

  it("the catalog-mode example of docs/configuration.md, with the catalog defaults filled in", () => {
    const config = accepted(CATALOG_EXAMPLE);
    expect(config.mode).toBe(Mode.Catalog);
    expect(config.responseHeader).toBe(true);
    const s = onlyService(config);
    expect(s.selectors.length).toBe(2);
    expect(s.selectors[1].fallbackPolicy).toBe(FallbackPolicy.Unset);
    expect(s.routes[1].name).toBe("pin");
    const catalog = s.catalog as Catalog;
    expect(catalog.routeToken).toBe("9f3c1a7e52d04b68");
    expect(catalog.sessionHeader).toBe("x-dynamic-subset-host");
    expect(catalog.subsets[0].name).toBe("dev-v1");
    expect(catalog.subsets[0].labels.length).toBe(2);
    expect(catalog.endpoints[0].ip).toBe("192.168.0.6");
    expect(catalog.endpoints[0].address).toBe("192.168.0.6:8000");
    expect(catalog.endpoints[1].ip).toBe("fd00::6");
    expect(catalog.endpoints[1].labels.length).toBe(0);
  });
});

describe("normalisation", () => {
  it("lower-cases mapped header names and keeps keys and values as written", () => {
    const s = onlyService(
      accepted(service(STAGE_VERSION, mapping('{"header": "X-Stage", "key": "stage", "defaultValue": "Prod_1"}'))),
    );
    expect(s.routes[0].mappings[0].header).toBe("x-stage");
    expect(s.routes[0].mappings[0].defaultValue).toBe("Prod_1");
  });

  it("derives the session header from headerPrefix and lower-cases a given one", () => {
    const catalog = '"catalog": {"routeToken": "0123456789abcdef", "subsets": []';
    const withPrefix =
      '{"mode": "catalog", "headerPrefix": "x-ds-", "services": [{"cluster": "a", "dynamicSubset": ' +
      STAGE_VERSION +
      ", " +
      catalog +
      "}}]}";
    expect(onlyService(accepted(withPrefix)).catalog!.sessionHeader).toBe("x-ds-host");
    const given =
      '{"mode": "catalog", "services": [{"cluster": "a", "dynamicSubset": ' +
      STAGE_VERSION +
      ", " +
      catalog +
      ', "sessionHeader": "X-Pin"}}]}';
    expect(onlyService(accepted(given)).catalog!.sessionHeader).toBe("x-pin");
  });

  it("accepts a route without name once, and an empty mapping list", () => {
    const routes = '[{"headerToDynamicSubsetKey": []}, {"name": "b", "headerToDynamicSubsetKey": []}]';
    const s = onlyService(accepted(service(STAGE_VERSION, routes)));
    expect(s.routes[0].name).toBeNull();
    expect(s.routes[0].mappings.length).toBe(0);
    expect(s.routes[1].name).toBe("b");
  });
});

describe("key sources", () => {
  it("reads a cookie, a query parameter and a baggage member, names kept as written", () => {
    const fields =
      '{"cookie": "Stage", "key": "stage", "defaultValue": "prod"}, {"query": "filter[version]", "key": "version"},' +
      ' {"baggage": "lane.Stage", "key": "stage"}, {"header": "X-Stage", "key": "stage"}';
    const m = onlyService(accepted(service(STAGE_VERSION, mapping(fields)))).routes[0].mappings;
    expect(m[0].source).toBe(KeySource.Cookie);
    expect(m[0].name).toBe("Stage");
    expect(m[0].header).toBe("cookie");
    expect(m[0].defaultValue).toBe("prod");
    expect(m[1].source).toBe(KeySource.Query);
    expect(m[1].name).toBe("filter[version]");
    expect(m[1].header).toBe(":path");
    expect(m[2].source).toBe(KeySource.Baggage);
    expect(m[2].name).toBe("lane.Stage");
    expect(m[2].header).toBe("baggage");
    expect(m[3].source).toBe(KeySource.Header);
    expect(m[3].name).toBe("x-stage");
    expect(m[3].header).toBe("x-stage");
  });

  it("accepts query parameter names of visible ASCII but # % & + =", () => {
    accepted(service(STAGE_VERSION, mapping('{"query": "a!\\"$\'()*,-./:;<>?@[\\\\]^_`{|}~z", "key": "stage"}')));
    for (let i = 0; i < 5; i++) {
      const name = "a" + "#%&+=".charAt(i);
      expect(problems(service(STAGE_VERSION, mapping('{"query": "' + name + '", "key": "stage"}')))).toBe(
        "services[0].routes[0].headerToDynamicSubsetKey[0].query: " +
          quote(name) +
          " is not a valid query parameter name (visible ASCII except # % & + =)",
      );
    }
  });

  it("reports the source problem and the key problem of one mapping together", () => {
    expect(problems(service(STAGE_VERSION, mapping('{"cookie": "a b", "key": "-stage"}')))).toBe(
      [
        'services[0].routes[0].headerToDynamicSubsetKey[0].cookie: "a b" is not a valid cookie name (RFC 6265 cookie-name: an RFC 9110 token)',
        "services[0].routes[0].headerToDynamicSubsetKey[0].key: \"-stage\" is not a valid label key (Kubernetes qualified name: optional DNS subdomain and '/', then 1-63 characters of [-A-Za-z0-9_.], alphanumeric at both ends)",
      ].join("\n"),
    );
  });

  it("lets a mapping source share nothing with headerPrefix except where it reads a header under it", () => {
    const withPrefix = (prefix: string, fields: string): string =>
      '{"headerPrefix": "' + prefix + '", ' + service(STAGE_VERSION, mapping(fields)).substring(1);
    accepted(withPrefix("cookie-", '{"cookie": "stage", "key": "stage"}'));
    accepted(withPrefix("s", '{"query": "stage", "key": "stage"}'));
    accepted(withPrefix("s", '{"baggage": "stage", "key": "stage"}'));
    expect(problems(withPrefix("cookie", '{"cookie": "stage", "key": "stage"}'))).toBe(
      'services[0].routes[0].headerToDynamicSubsetKey[0].cookie: reads the "cookie" header, but headerPrefix "cookie" reserves it for the filter\'s own headers',
    );
  });
});

describe("warnings", () => {
  it("ignores a catalog in metadata mode, with a warning", () => {
    const text = CATALOG_EXAMPLE.replace('"mode": "catalog"', '"mode": "metadata"');
    expect(onlyService(accepted(text)).catalog).toBeNull();
    expect(warnings(text)).toBe("services[0].catalog: ignored in metadata mode");
  });

  it("does not read a catalog it ignores: one that catalog mode would reject is accepted, with the warning", () => {
    // a bad route token, no route token at all, a catalog that is not even an object
    const catalogs = ['{"routeToken": "nothex", "subsets": []}', '{"subsets": []}', "42"];
    for (let i = 0; i < catalogs.length; i++) {
      const metadata = withCatalog("metadata", catalogs[i]);
      expect(onlyService(accepted(metadata)).catalog).toBeNull();
      expect(warnings(metadata)).toBe("services[0].catalog: ignored in metadata mode");
      expect(parse(withCatalog("catalog", catalogs[i])).config).toBeNull(catalogs[i]);
    }
  });

  it("reads the catalog for its problems when the mode itself is not valid", () => {
    const text = CATALOG_EXAMPLE.replace('"mode": "catalog"', '"mode": "catalogue"').replace(
      "9f3c1a7e52d04b68",
      "nothex",
    );
    expect(problems(text)).toBe(
      [
        'mode: must be one of metadata, catalog, got "catalogue"',
        'services[0].catalog.routeToken: "nothex" is not a route token (16-64 lower-case hex digits)',
      ].join("\n"),
    );
    expect(warnings(text)).toBe("");
  });

  it("warns about a mapping key that no selector uses", () => {
    const text = service(STAGE_VERSION, mapping('{"header": "x-zone", "key": "zone"}'));
    accepted(text);
    expect(warnings(text)).toBe(
      'services[0].routes[0].headerToDynamicSubsetKey[0].key: "zone" is used by no subset selector of this service; the mapping has no effect',
    );
  });
});

describe("problems", () => {
  it("collects every problem of a configuration, in document order", () => {
    const text = `{"mode": "x", "services": [
      {"cluster": "a", "dynamicSubset": {"subsetSelectors": [{"keys": ["ok"]}, {"keys": []}]}},
      {"cluster": "a", "host": "b", "dynamicSubset": {"subsetSelectors": [{"keys": ["%port%"]}]}}
    ]}`;
    expect(problems(text)).toBe(
      [
        'mode: must be one of metadata, catalog, got "x"',
        "services[0].dynamicSubset.subsetSelectors[1].keys: must be a non-empty list of distinct strings",
        "services[1]: cluster and host are mutually exclusive; give exactly one",
        'services[1].cluster: duplicate cluster "a" (also in services[0]); this entry could never match',
        'services[1].dynamicSubset.subsetSelectors[0].keys[0]: unknown built-in key "%port%" (the only built-in key is %ip%)',
      ].join("\n"),
    );
  });

  it("rejects repeated selector keys and a repeated selector key set", () => {
    expect(problems(service('{"subsetSelectors": [{"keys": ["stage", "stage"]}]}'))).toBe(
      'services[0].dynamicSubset.subsetSelectors[0].keys: must be a non-empty list of distinct strings; "stage" appears twice',
    );
    expect(problems(service('{"subsetSelectors": [{"keys": ["a", "b"]}, {"keys": ["b", "a"]}]}'))).toBe(
      "services[0].dynamicSubset.subsetSelectors[1].keys: same key set as subsetSelectors[0]; it could never be chosen",
    );
  });

  it("compares key sets and catalog label sets independent of order, for longer sets too", () => {
    // seven keys (not a power of two) in two orders: one set; one key changed: a different set
    expect(
      problems(
        service(
          '{"subsetSelectors": [{"keys": ["g", "c", "e", "a", "f", "b", "d"]}, {"keys": ["a", "b", "c", "d", "e", "f", "g"]},' +
            ' {"keys": ["a", "b", "c", "d", "e", "f", "h"]}]}',
        ),
      ),
    ).toBe(
      "services[0].dynamicSubset.subsetSelectors[1].keys: same key set as subsetSelectors[0]; it could never be chosen",
    );
    const subsets =
      '[{"name": "s0", "labels": {"e": "5", "a": "1", "d": "4", "b": "2", "c": "3"}},' +
      ' {"name": "s1", "labels": {"a": "1", "b": "2", "c": "3", "d": "4", "e": "6"}},' +
      ' {"name": "s2", "labels": {"c": "3", "b": "2", "e": "5", "d": "4", "a": "1"}}]';
    expect(
      problems(
        '{"mode": "catalog", "services": [{"cluster": "c", "dynamicSubset": {"subsetSelectors": [{"keys": ["a"]}]},' +
          ' "catalog": {"routeToken": "0123456789abcdef", "subsets": ' +
          subsets +
          "}}]}",
      ),
    ).toBe("services[0].catalog.subsets[2].labels: same labels as subsets[0]");
  });

  it("rejects two routes without name and repeated route names", () => {
    const routes =
      '[{"headerToDynamicSubsetKey": []}, {"name": "a", "headerToDynamicSubsetKey": []}, ' +
      '{"headerToDynamicSubsetKey": []}, {"name": "a", "headerToDynamicSubsetKey": []}]';
    expect(problems(service(STAGE_VERSION, routes))).toBe(
      [
        "services[0].routes[2]: only one route may omit name (routes[0] has none)",
        'services[0].routes[3].name: duplicate route name "a" (also in routes[1])',
      ].join("\n"),
    );
  });

  it("reports a repeated JSON member name at its object", () => {
    expect(problems(service('{"subsetSelectors": [{"keys": ["a"], "keys": ["b"]}]}'))).toBe(
      'services[0].dynamicSubset.subsetSelectors[0]: duplicate key "keys"',
    );
  });

  it("reports malformed JSON as one line with the byte offset", () => {
    const result = parse('{"services": [}');
    expect(result.errors.length).toBe(1);
    expect(result.errors[0]).toBe("configuration: invalid JSON at byte 14: expected a value");
  });

  it("quotes member names that are not identifiers in paths", () => {
    const text = service(
      '{"subsetSelectors": [{"keys": ["v"]}], "defaultSubset": {"app.kubernetes.io/version": "v 1"}}',
    );
    expect(problems(text)).toBe(
      'services[0].dynamicSubset.defaultSubset["app.kubernetes.io/version"]: "v 1" is not a valid label value (1-63 characters of [-A-Za-z0-9_.], alphanumeric at both ends)',
    );
  });

  it("escapes and shortens echoed values", () => {
    expect(quote('a"b\\c\n')).toBe('"a\\"b\\\\c\\u000a"');
    expect(quote("x".repeat(70))).toBe('"' + "x".repeat(64) + '"...');
  });

  it("reports a selector's DEFAULT_SUBSET even when its keys are wrong too", () => {
    const text = service('{"subsetSelectors": [{"keys": [""], "fallbackPolicy": "DEFAULT_SUBSET"}]}');
    expect(problems(text)).toBe(
      [
        "services[0].dynamicSubset.subsetSelectors[0].keys[0]: must not be empty",
        "services[0].dynamicSubset.subsetSelectors[0].fallbackPolicy: DEFAULT_SUBSET requires dynamicSubset.defaultSubset",
      ].join("\n"),
    );
  });

  it("rejects a mapped header equal to a catalog's session header", () => {
    const text = CATALOG_EXAMPLE.replace('"x-ip"', '"x-pin"').replace(
      '"9f3c1a7e52d04b68",',
      '"9f3c1a7e52d04b68", "sessionHeader": "x-pin",',
    );
    expect(problems(text)).toBe(
      'services[0].routes[1].headerToDynamicSubsetKey[0].header: "x-pin" is the catalog.sessionHeader of services[0], which the filter removes from every request',
    );
  });

  it("accepts 64 distinct keys per service and rejects a selector with 65", () => {
    let keys64 = "";
    for (let i = 0; i < 64; i++) keys64 += (i > 0 ? ", " : "") + '"k' + i.toString() + '"';
    accepted(service('{"subsetSelectors": [{"keys": [' + keys64 + "]}]}"));
    expect(problems(service('{"subsetSelectors": [{"keys": [' + keys64 + ', "k64"]}]}'))).toBe(
      "services[0].dynamicSubset.subsetSelectors[0].keys: has 65 keys; at most 64 are supported",
    );
  });

  it("caps the report at " + MAX_REPORTED_PROBLEMS.toString() + " lines and says how many more there were", () => {
    let text = '{"services": [';
    for (let i = 0; i < 150; i++) text += (i > 0 ? ", " : "") + "1";
    const errors = parse(text + "]}").errors;
    expect(errors.length).toBe(MAX_REPORTED_PROBLEMS + 1);
    expect(errors[0]).toBe("services[0]: must be an object, got number");
    expect(errors[MAX_REPORTED_PROBLEMS]).toBe("configuration: 50 more problems not shown");
  });

  it("never traps on hostile bytes", () => {
    const hostile: string[] = ["[".repeat(100000), '{"services": ' + "[".repeat(5000), "\0\0\0", '{"a":'.repeat(2000)];
    for (let i = 0; i < hostile.length; i++) {
      const result = parse(hostile[i]);
      expect(result.config).toBeNull();
      expect(result.errors.length).toBe(1);
    }
    // every byte value as a one-byte document: an error or a value, never a trap
    for (let b = 0; b < 256; b++) {
      const one = new ArrayBuffer(1);
      store<u8>(changetype<usize>(one), <u8>b);
      const result = parseConfig(one);
      expect(result.config != null || result.errors.length == 1).toBe(true);
    }
  });
});

describe("predicates", () => {
  it("label keys: Kubernetes qualified names", () => {
    const good = ["version", "a", "app.kubernetes.io/version", "Stage_1", "example.com/a-b.c", "x".repeat(63)];
    for (let i = 0; i < good.length; i++) expect(isLabelKey(good[i])).toBe(true, good[i]);
    const bad = ["", "-a", "a-", "a b", "/a", "a/", "Example.com/a", "a/b/c", "x".repeat(64), "%ip%", "ä"];
    for (let i = 0; i < bad.length; i++) expect(isLabelKey(bad[i])).toBe(false, bad[i]);
  });

  it("DNS names and labels", () => {
    expect(isDns1123Subdomain("helloworld.default.svc.cluster.local")).toBe(true);
    expect(isDns1123Subdomain("a..b")).toBe(false);
    expect(isDns1123Subdomain("a." + "b".repeat(64))).toBe(false);
    expect(isDns1123Label("dev-v1")).toBe(true);
    expect(isDns1123Label("dev.v1")).toBe(false);
    expect(isDns1123Label("-dev")).toBe(false);
  });

  it("header-name tokens", () => {
    expect(isHeaderToken("x-version")).toBe(true);
    expect(isHeaderToken("X_Odd!#$%&'*+.^`|~1")).toBe(true);
    expect(isHeaderToken("x version")).toBe(false);
    expect(isHeaderToken(":authority")).toBe(false);
    expect(isHeaderToken("x-é")).toBe(false);
    expect(isHeaderToken("")).toBe(false);
  });

  it("route tokens: 16-64 lower-case hex digits", () => {
    expect(isRouteToken("0123456789abcdef")).toBe(true);
    expect(isRouteToken("0".repeat(64))).toBe(true);
    expect(isRouteToken("0123456789abcde")).toBe(false);
    expect(isRouteToken("0".repeat(65))).toBe(false);
    expect(isRouteToken("0123456789ABCDEF")).toBe(false);
  });

  it("endpoint addresses: ip:port and [ipv6]:port", () => {
    expect(endpointIp("10.0.0.1:1")).toBe("10.0.0.1");
    expect(endpointIp("[::1]:65535")).toBe("::1");
    const bad = [
      "10.0.0.1",
      "10.0.0.1:0",
      "10.0.0.1:65536",
      "10.0.0.1:080",
      "::1:80",
      "[10.0.0.1]:80",
      "[::1]80",
      "h:80",
      "10.0.0.01:80",
    ];
    for (let i = 0; i < bad.length; i++) expect(endpointIp(bad[i])).toBeNull(bad[i]);
  });
});
