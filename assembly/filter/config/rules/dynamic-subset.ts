// services[].dynamicSubset: the subset selectors, the default subset and the fallback policies.

import { MAX_KEYS_PER_SERVICE } from "../../../../src/config/constants";
import { decimal } from "../../decimal";
import { StringSet } from "../../json/document";
import { Msg } from "../../messages";
import { FallbackPolicy, Label, SubsetSelector } from "../../model";
import { ABSENT, JsonReader, quote, Value } from "../reader";
import { LabelRules, sortedText } from "./labels";

const DYNAMIC_SUBSET_FIELDS: StaticArray<string> = ["subsetSelectors", "defaultSubset", "fallbackPolicy", "lbPolicy"];
const SELECTOR_FIELDS: StaticArray<string> = ["keys", "fallbackPolicy"];
// in FallbackPolicy order (index + 1)
const FALLBACK_POLICIES: StaticArray<string> = ["NO_FALLBACK", "ANY_ENDPOINT", "DEFAULT_SUBSET"];
const LB_POLICIES: StaticArray<string> = ["RANDOM", "ROUND_ROBIN", "LEAST_REQUEST"];

/** What dynamicSubset yields for its service. */
export class DynamicSubset {
  selectors: SubsetSelector[] = [];
  defaultSubset: Label[] | null = null;
  fallbackPolicy: FallbackPolicy = FallbackPolicy.NoFallback;
  // every key of every valid selector
  selectorKeys: StringSet = new Map<string, i32>();
}

export class DynamicSubsetRules {
  constructor(
    private r: JsonReader,
    private labels: LabelRules,
  ) {}

  dynamicSubset(value: Value): DynamicSubset | null {
    const r = this.r;
    if (!r.object(value, DYNAMIC_SUBSET_FIELDS)) return null;
    const part = new DynamicSubset();
    // the fallbackPolicy values that ask for DEFAULT_SUBSET: selectors' first, then the global one
    const wantsDefault: Value[] = [];
    const selectors = r.required(value, "subsetSelectors");
    if (selectors != ABSENT) this.selectors(selectors, part, wantsDefault);
    const defaultSubset = r.member(value, "defaultSubset");
    if (defaultSubset != ABSENT) {
      const labels = this.labels.map(defaultSubset, true);
      if (labels != null && labels.length == 0) r.error(defaultSubset, Msg.MustNotBeEmpty);
      part.defaultSubset = labels;
    }
    const policy = this.fallbackPolicy(value, wantsDefault);
    if (policy > 0) part.fallbackPolicy = <FallbackPolicy>policy;
    const lbPolicy = r.member(value, "lbPolicy");
    if (lbPolicy != ABSENT) r.oneOf(lbPolicy, LB_POLICIES);
    if (defaultSubset == ABSENT) {
      for (let i = 0; i < wantsDefault.length; i++) r.error(unchecked(wantsDefault[i]), Msg.DefaultSubsetRequired);
    }
    return part;
  }

  private selectors(list: Value, part: DynamicSubset, wantsDefault: Value[]): void {
    const r = this.r;
    const n = r.list(list);
    if (n == 0) r.error(list, Msg.MustBeNonEmptyList);
    const keySets = new Map<string, i32>();
    for (let i = 0; i < n; i++) {
      const selector = this.selector(r.item(list, i), i, keySets, wantsDefault);
      if (selector == null) continue;
      for (let k = 0; k < selector.keys.length; k++) part.selectorKeys.set(unchecked(selector.keys[k]), 0);
      part.selectors.push(selector);
    }
  }

  private selector(value: Value, index: i32, keySets: Map<string, i32>, wantsDefault: Value[]): SubsetSelector | null {
    const r = this.r;
    if (!r.object(value, SELECTOR_FIELDS)) return null;
    const policy = this.fallbackPolicy(value, wantsDefault);
    const keysValue = r.required(value, "keys");
    if (keysValue == ABSENT) return null;
    const keys = this.keys(keysValue, index, keySets);
    return keys == null || policy < 0 ? null : new SubsetSelector(keys, <FallbackPolicy>policy);
  }

  /**
   * The fallbackPolicy member of a dynamicSubset or a selector: Unset when absent, -1 (reported) when not a
   * policy. Where it asks for DEFAULT_SUBSET goes into `wantsDefault`.
   */
  private fallbackPolicy(object: Value, wantsDefault: Value[]): i32 {
    const value = this.r.member(object, "fallbackPolicy");
    if (value == ABSENT) return FallbackPolicy.Unset;
    const index = this.r.oneOf(value, FALLBACK_POLICIES);
    if (index < 0) return -1;
    if (index + 1 == FallbackPolicy.DefaultSubset) wantsDefault.push(value);
    return index + 1;
  }

  /** A selector's keys: distinct subset keys, a key set no earlier selector (index in `keySets`) has. */
  private keys(value: Value, index: i32, keySets: Map<string, i32>): string[] | null {
    const r = this.r;
    const n = r.list(value, Msg.MustBeKeyList);
    if (n < 0) return null;
    if (n == 0) {
      r.error(value, Msg.EmptyKeyList);
      return null;
    }
    if (n > MAX_KEYS_PER_SERVICE) {
      r.error(value, Msg.TooManySelectorKeys, decimal(n), decimal(MAX_KEYS_PER_SERVICE));
      return null;
    }
    const keys: string[] = [];
    for (let i = 0; i < n; i++) {
      const item = r.item(value, i);
      if (this.labels.subsetKey(item)) keys.push(r.text(item));
    }
    if (keys.length < n) return null;
    for (let i = 0; i < keys.length; i++) {
      if (keys.indexOf(unchecked(keys[i])) != i) {
        r.error(value, Msg.KeyTwice, quote(unchecked(keys[i])));
        return null;
      }
    }
    const text = sortedText(keys);
    if (keySets.has(text)) {
      r.error(value, Msg.SameKeySet, decimal(keySets.get(text)));
      return null;
    }
    keySets.set(text, index);
    return keys;
  }
}
