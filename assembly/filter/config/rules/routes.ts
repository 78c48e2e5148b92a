// services[].routes: which request headers become subset keys on which route.

import { decimal } from "../../decimal";
import { Msg } from "../../messages";
import { HeaderMapping, RouteConfig } from "../../model";
import { ABSENT, JsonReader, quote, Value } from "../reader";
import { asciiLowerCase, hasUpperCase, isHeaderToken } from "../syntax";
import { LabelRules, Passed } from "./labels";

const ROUTE_FIELDS: StaticArray<string> = ["name", "headerToDynamicSubsetKey"];
const MAPPING_FIELDS: StaticArray<string> = ["header", "key", "defaultValue"];

/** The header name `s` (found at `at`) lower-cased, or null after reporting that it is not a header-name token. */
export function lowerCaseHeaderName(r: JsonReader, at: Value, s: string): string | null {
  if (!isHeaderToken(s)) {
    r.error(at, Msg.NotHeaderName, quote(s));
    return null;
  }
  return hasUpperCase(s) ? asciiLowerCase(s) : s;
}

/** The valid routes of a service, and where the header and the key of each of their mappings are. */
export class Routes {
  configs: RouteConfig[] = [];
  // in the order of configs[].mappings[]: checks across a service or the whole configuration report there
  headerPlaces: Value[] = [];
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
    const placesBefore = out.headerPlaces.length;
    const mappings: HeaderMapping[] = [];
    for (let i = 0; i < n; i++) {
      const mapping = this.mapping(r.item(list, i), out);
      if (mapping != null) mappings.push(mapping);
    }
    if (mappings.length == n && valid) return new RouteConfig(name, mappings);
    // the places of an invalid route's mappings are never reported on
    out.headerPlaces.length = placesBefore;
    out.keyPlaces.length = placesBefore;
    return null;
  }

  private mapping(value: Value, out: Routes): HeaderMapping | null {
    const r = this.r;
    if (!r.object(value, MAPPING_FIELDS)) return null;
    const headerValue = r.required(value, "header");
    const header = headerValue != ABSENT ? this.mappedHeader(headerValue) : null;
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
    if (header == null || key == null || !valid) return null;
    out.headerPlaces.push(headerValue);
    out.keyPlaces.push(keyValue);
    return new HeaderMapping(header, key, defaultValue);
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
