// The constants the filter, the renderer/CLI and the JSON Schema share, in one place.
//
// The filter (AssemblyScript) imports this very file as well as the TypeScript side, so it holds only
// `export const NAME = <string or integer literal>;` lines, which both compilers read the same way (an
// integer literal is an i32 in AssemblyScript). The JSON Schema (schema/plugin-config.schema.json) cannot import
// anything: test/config/constants.test.mjs checks that it agrees with these values.

/** The filter's root id (Envoy `root_id`, Istio `pluginName`), and its filter-state key. */
export const ROOT_ID = "dynamic_subset";

/** Default `headerPrefix`: the filter owns every request header that starts with it. */
export const DEFAULT_HEADER_PREFIX = "x-dynamic-subset-";

/** Catalog mode: `headerPrefix` + this is the subset header the generated routes match. */
export const SUBSET_HEADER_SUFFIX = "subset";

/**
 * Catalog mode, a `%ip%` pin under NO_FALLBACK: the subset header value `<this>.<routeToken>` selects the generated
 * "pin" route `<route>.<this>` (strict session, no retries), docs/behaviour.md "What the filter writes". Not a DNS
 * label, so no DestinationRule subset can have this name.
 */
export const PIN_ROUTE_SEGMENT = "%ip%";

/** `headerPrefix` + this is the default `catalog.sessionHeader` (the `%ip%` session header). */
export const SESSION_HEADER_SUFFIX = "host";

/** `responseHeader: true` adds this response header, carrying the decision. */
export const DECISION_HEADER = "x-dynamic-subset";

/** The built-in subset key whose value is an endpoint's IP. */
export const IP_KEY = "%ip%";

/** At most this many distinct keys in one service's selectors and mappings (the filter's selector bit mask). */
export const MAX_KEYS_PER_SERVICE = 64;

/** `catalog.routeToken` is this many to ROUTE_TOKEN_MAX_LENGTH lower-case hex digits. */
export const ROUTE_TOKEN_MIN_LENGTH = 16;
export const ROUTE_TOKEN_MAX_LENGTH = 64;

/** A request value longer than this many bytes is unmatchable without being looked at (Envoy's header_to_metadata limit). */
export const MAX_VALUE_BYTES = 8192;

/** JSON nested deeper than this is rejected (a recursive parser overflows WAMR's 32 KiB stack near depth 100). */
export const MAX_JSON_DEPTH = 32;
