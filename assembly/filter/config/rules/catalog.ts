// services[].catalog (catalog mode): the route token, the DestinationRule subsets and the pinnable endpoints.

import {
  ROUTE_TOKEN_MAX_LENGTH,
  ROUTE_TOKEN_MIN_LENGTH,
  SESSION_HEADER_SUFFIX,
  SUBSET_HEADER_SUFFIX,
} from "../../../../src/config/constants";
import { decimal } from "../../decimal";
import { Msg } from "../../messages";
import { Catalog, CatalogEndpoint, CatalogSubset, Label } from "../../model";
import { ABSENT, JsonReader, quote, Value } from "../reader";
import { endpointIp, isDns1123Label, isRouteToken } from "../syntax";
import { LabelRules, labelSetText } from "./labels";
import { lowerCaseHeaderName } from "./routes";

const CATALOG_FIELDS: StaticArray<string> = ["routeToken", "subsets", "endpoints", "sessionHeader"];
const SUBSET_FIELDS: StaticArray<string> = ["name", "labels"];
const ENDPOINT_FIELDS: StaticArray<string> = ["address", "labels"];

export class CatalogRules {
  constructor(
    private r: JsonReader,
    private labels: LabelRules,
    private headerPrefix: string,
  ) {}

  catalog(value: Value): Catalog | null {
    const r = this.r;
    if (!r.object(value, CATALOG_FIELDS)) return null;
    const before = r.errorCount;
    let routeToken: string | null = null;
    const tokenValue = r.required(value, "routeToken");
    if (tokenValue != ABSENT) {
      const token = r.string(tokenValue);
      if (token != null) {
        if (isRouteToken(token)) routeToken = token;
        else {
          const min = decimal(ROUTE_TOKEN_MIN_LENGTH);
          r.error(tokenValue, Msg.NotRouteToken, quote(token), min, decimal(ROUTE_TOKEN_MAX_LENGTH));
        }
      }
    }
    const subsets: CatalogSubset[] = [];
    const subsetsValue = r.required(value, "subsets");
    if (subsetsValue != ABSENT) this.subsets(subsetsValue, subsets);
    const endpoints: CatalogEndpoint[] = [];
    const endpointsValue = r.member(value, "endpoints");
    if (endpointsValue != ABSENT) this.endpoints(endpointsValue, endpoints);
    let sessionHeader: string | null = this.headerPrefix + SESSION_HEADER_SUFFIX;
    const sessionValue = r.member(value, "sessionHeader");
    if (sessionValue != ABSENT) sessionHeader = this.sessionHeader(sessionValue);
    if (r.errorCount > before || routeToken == null || sessionHeader == null) return null;
    return new Catalog(routeToken, subsets, endpoints, sessionHeader);
  }

  private sessionHeader(value: Value): string | null {
    const s = this.r.nonEmptyString(value);
    if (s == null) return null;
    const header = lowerCaseHeaderName(this.r, value, s);
    if (header == null) return null;
    if (header == this.headerPrefix + SUBSET_HEADER_SUFFIX) {
      this.r.error(value, Msg.IsSubsetHeader, quote(s));
      return null;
    }
    return header;
  }

  private subsets(list: Value, out: CatalogSubset[]): void {
    const n = this.r.list(list);
    const names = new Map<string, i32>();
    const labelSets = new Map<string, i32>();
    for (let i = 0; i < n; i++) {
      const subset = this.subset(this.r.item(list, i), i, names, labelSets);
      if (subset != null) out.push(subset);
    }
  }

  private subset(value: Value, index: i32, names: Map<string, i32>, labelSets: Map<string, i32>): CatalogSubset | null {
    const r = this.r;
    if (!r.object(value, SUBSET_FIELDS)) return null;
    let name: string | null = null;
    const nameValue = r.required(value, "name");
    if (nameValue != ABSENT) {
      const text = r.string(nameValue);
      if (text != null) {
        if (!isDns1123Label(text)) {
          r.error(nameValue, Msg.NotSubsetName, quote(text));
        } else {
          name = text;
          r.distinct(nameValue, names, text, index, Msg.DuplicateSubsetName);
        }
      }
    }
    let labels: Label[] | null = null;
    const labelsValue = r.required(value, "labels");
    if (labelsValue != ABSENT) {
      labels = this.labels.map(labelsValue, false);
      if (labels != null) labels = this.distinctLabelSet(labelsValue, labels, index, labelSets);
    }
    return name == null || labels == null ? null : new CatalogSubset(name, labels);
  }

  /** The labels of subsets[index] unless empty or an earlier subset (index in `labelSets`) has the same. */
  private distinctLabelSet(at: Value, labels: Label[], index: i32, labelSets: Map<string, i32>): Label[] | null {
    if (labels.length == 0) {
      this.r.error(at, Msg.MustNotBeEmpty);
      return null;
    }
    const text = labelSetText(labels);
    if (labelSets.has(text)) {
      this.r.error(at, Msg.SameLabels, decimal(labelSets.get(text)));
      return null;
    }
    labelSets.set(text, index);
    return labels;
  }

  private endpoints(list: Value, out: CatalogEndpoint[]): void {
    const n = this.r.list(list);
    const addresses = new Map<string, i32>();
    for (let i = 0; i < n; i++) {
      const endpoint = this.endpoint(this.r.item(list, i), i, addresses);
      if (endpoint != null) out.push(endpoint);
    }
  }

  private endpoint(value: Value, index: i32, addresses: Map<string, i32>): CatalogEndpoint | null {
    const r = this.r;
    if (!r.object(value, ENDPOINT_FIELDS)) return null;
    let address: string | null = null;
    let ip: string | null = null;
    const addressValue = r.required(value, "address");
    if (addressValue != ABSENT) {
      address = r.string(addressValue);
      if (address != null) {
        ip = endpointIp(address);
        if (ip == null) r.error(addressValue, Msg.NotEndpointAddress, quote(address));
        else r.distinct(addressValue, addresses, address, index, Msg.DuplicateAddress);
      }
    }
    let labels: Label[] | null = null;
    const labelsValue = r.required(value, "labels");
    if (labelsValue != ABSENT) labels = this.labels.map(labelsValue, false);
    if (address == null || ip == null || labels == null) return null;
    return new CatalogEndpoint(address, ip, labels);
  }
}
