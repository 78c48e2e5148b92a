// services[].routes: which request values (headers, cookies, query parameters, baggage members) become subset
// keys on which route.

import { decimal } from "../../decimal";
import { Msg } from "../../messages";
import { HeaderMapping, KeySource, RouteConfig, sourceHeader } from "../../model";
import { ABSENT, JsonReader, quote, Value } from "../reader";
import { asciiLowerCase, hasUpperCase, isHeaderToken, isQueryParameterName } from "../syntax";
import { LabelRules, Passed } from "./labels";

const ROUTE_FIELDS: StaticArray<string> = ["name", "headerToDynamicSubsetKey"];
// the key sources, in KeySource order: a mapping names exactly one of them
const SOURCES: StaticArray<string> = ["header", "cookie", "query", "baggage"];
const MAPPING_FIELDS: StaticArray<string> = ["header", "cookie", "query", "baggage", "key", "defaultValue"];

/** The header name `s` (found at `at`) lower-cased, or null after reporting that it is not a header-name token. */
export function lowerCaseHeaderName(r: JsonReader, at: Value, s: string): string | null {
  if (!isHeaderToken(s)) {
    r.error(at, Msg.NotHeaderName, quote(s));
    return null;
  }
  return hasUpperCase(s) ? asciiLowerCase(s) : s;
}

/** The valid routes of a service, and where the source and the key of each of their mappings are. */
export class Routes {
  configs: RouteConfig[] = [];
  // in the order of configs[].mappings[]: checks across a service or the whole configuration report there
  sourcePlaces: Value[] = [];
  keyPlaces: Value[] = [];
}

export class RouteRules {
  constructor(
    private r: JsonReader,
    private labels: LabelRules,
    private headerPrefix: string,
  ) {}

  /** One service's `routes` list. */
  routes(list: Value): Routes {
    const r = this.r;
    const out = new Routes();
    const n = r.list(list);
    const names = new Map<string, i32>();
    let unnamed = -1; // the first route without name
    for (let i = 0; i < n; i++) {
      const item = r.item(list, i);
      if (!r.object(item, ROUTE_FIELDS)) continue;
      const name = r.member(item, "name");
      if (name == ABSENT) {
        if (unnamed >= 0) r.error(item, Msg.SecondUnnamedRoute, decimal(unnamed));
        else unnamed = i;
      }
      const route = this.route(item, name, i, names, out);
      if (route != null) out.configs.push(route);
    }
    return out;
  }

  private route(value: Value, nameValue: Value, index: i32, names: Map<string, i32>, out: Routes): RouteConfig | null {
    const r = this.r;
    let name: string | null = null;
    let valid = true;
    if (nameValue != ABSENT) {
      name = r.nonEmptyString(nameValue);
      valid = name != null;
      if (name != null) r.distinct(nameValue, names, name, index, Msg.DuplicateRouteName);
    }
    const list = r.required(value, "headerToDynamicSubsetKey");
    if (list == ABSENT) return null;
    const n = r.list(list);
    if (n < 0) return null;
    const placesBefore = out.sourcePlaces.length;
    const mappings: HeaderMapping[] = [];
    for (let i = 0; i < n; i++) {
      const mapping = this.mapping(r.item(list, i), out);
      if (mapping != null) mappings.push(mapping);
    }
    if (mappings.length == n && valid) return new RouteConfig(name, mappings);
    // the places of an invalid route's mappings are never reported on
    out.sourcePlaces.length = placesBefore;
    out.keyPlaces.length = placesBefore;
    return null;
  }

  private mapping(value: Value, out: Routes): HeaderMapping | null {
    const r = this.r;
    if (!r.object(value, MAPPING_FIELDS)) return null;
    const source = this.source(value);
    const sourceValue = source >= 0 ? r.member(value, SOURCES[source]) : ABSENT;
    const name = sourceValue != ABSENT ? this.sourceName(<KeySource>source, sourceValue) : null;
    const keyValue = r.required(value, "key");
    const key = keyValue != ABSENT && this.labels.subsetKey(keyValue) ? r.text(keyValue) : null;
    let defaultValue: string | null = null;
    let valid = true;
    const defaultValueValue = r.member(value, "defaultValue");
    if (defaultValueValue != ABSENT) {
      // which rule applies depends on the key; with an invalid key, the label-value rule
      valid = this.labels.value(defaultValueValue, key != null ? key : "");
      defaultValue = r.text(defaultValueValue);
    }
    if (name == null || key == null || !valid) return null;
    out.sourcePlaces.push(sourceValue);
    out.keyPlaces.push(keyValue);
    return new HeaderMapping(<KeySource>source, name, key, defaultValue);
  }

  /** The index in SOURCES of the one source a mapping names; -1 after reporting none or several. */
  private source(mapping: Value): i32 {
    const r = this.r;
    let found = -1;
    let count = 0;
    for (let i = 0; i < SOURCES.length; i++) {
      if (!r.hasMember(mapping, SOURCES[i])) continue;
      found = i;
      count++;
    }
    if (count == 1) return found;
    if (count == 0) r.error(mapping, Msg.SourceRequired);
    else r.error(mapping, Msg.SourcesExclusive, this.sourcesGiven(mapping));
    return -1;
  }

  /** The sources a mapping names, "header, cookie" (for a problem line). */
  private sourcesGiven(mapping: Value): string {
    const given: string[] = [];
    for (let i = 0; i < SOURCES.length; i++) if (this.r.hasMember(mapping, SOURCES[i])) given.push(SOURCES[i]);
    return given.join(", ");
  }

  /** The name a mapping reads from its source (lower-cased for a header), or null after reporting what is wrong. */
  private sourceName(source: KeySource, value: Value): string | null {
    if (source == KeySource.Header) return this.mappedHeader(value);
    const r = this.r;
    const name = r.nonEmptyString(value);
    if (name == null) return null;
    if (source == KeySource.Query) {
      if (isQueryParameterName(name)) return name;
      r.error(value, Msg.NotQueryParameter, quote(name));
      return null;
    }
    if (!isHeaderToken(name)) {
      r.error(value, source == KeySource.Cookie ? Msg.NotCookieName : Msg.NotBaggageKey, quote(name));
      return null;
    }
    // the filter owns every header under its prefix: a source read from one would be its own
    const header = sourceHeader(source, name);
    if (!header.startsWith(this.headerPrefix)) return name;
    r.error(value, Msg.ReservedSourceHeader, quote(header), quote(this.headerPrefix));
    return null;
  }

  /** A request header to read: an ordinary header-name token outside the filter's prefix; lower-cased. */
  private mappedHeader(value: Value): string | null {
    const r = this.r;
    // a header that passed before is a lower-case token outside the prefix: itself
    const s = r.text(value);
    if (r.hasPassed(value, Passed.LowerCaseHeader)) return s;
    if (r.nonEmptyString(value) == null) return null;
    if (s.startsWith(":")) {
      r.error(value, Msg.PseudoHeader, quote(s));
      return null;
    }
    const header = lowerCaseHeaderName(r, value, s);
    if (header == null) return null;
    if (header.startsWith(this.headerPrefix)) {
      r.error(value, Msg.ReservedPrefix, quote(s), quote(this.headerPrefix));
      return null;
    }
    if (header == s) r.markPassed(value, Passed.LowerCaseHeader);
    return header;
  }
}
