// Subset keys and label values, wherever the configuration names them: selector keys, mapping keys and default
// values, defaultSubset, catalog subset and endpoint labels.

import { IP_KEY } from "../../../../src/config/constants";
import { isIpLiteral, isLabelValue } from "../../labels";
import { Label } from "../../model";
import { JsonReader, quote, Value } from "../reader";
import { isLabelKey } from "../syntax";
import { Msg } from "../../messages";
import { StringSet } from "../../json/document";

// The checks a string value passed, remembered per distinct value (JsonReader.markPassed): a configuration
// repeats the same few keys and values many times.
export const enum Passed {
  SubsetKey = 1, // a label key or %ip%
  LabelValue = 2,
  Ip = 4,
  LowerCaseHeader = 8, // a mapped header name that is already lower-case (routes.ts)
}

export class LabelRules {
  // label keys already found valid, whatever value they came from
  private knownKeys: StringSet = new Map<string, i32>();

  constructor(private r: JsonReader) {}

  /** A subset key given as a JSON string: a Kubernetes label key, or %ip%. */
  subsetKey(value: Value): bool {
    if (this.r.hasPassed(value, Passed.SubsetKey)) return true;
    const text = this.r.nonEmptyString(value);
    if (text == null || !this.key(value, text, true)) return false;
    this.r.markPassed(value, Passed.SubsetKey);
    return true;
  }

  /** Whether `key`, found at `at`, is a label key, or %ip% where `ipAllowed`; reports why not. */
  key(at: Value, key: string, ipAllowed: bool): bool {
    if (key == IP_KEY) {
      if (!ipAllowed) this.r.error(at, Msg.IpIsNotALabel);
      return ipAllowed;
    }
    if (key.length >= 2 && key.startsWith("%") && key.endsWith("%")) {
      this.r.error(at, Msg.UnknownBuiltInKey, quote(key));
      return false;
    }
    if (this.knownKeys.has(key)) return true;
    if (isLabelKey(key)) {
      this.knownKeys.set(key, 0);
      return true;
    }
    this.r.error(at, Msg.NotLabelKey, quote(key));
    return false;
  }

  /** A label value, or an IP literal when the key is %ip%. */
  value(value: Value, key: string): bool {
    const ip = key == IP_KEY;
    const check = ip ? Passed.Ip : Passed.LabelValue;
    if (this.r.hasPassed(value, check)) return true;
    const text = this.r.nonEmptyString(value);
    if (text == null) return false;
    if (!this.r.bytesSatisfy(value, ip ? isIpLiteral : isLabelValue)) {
      this.r.error(value, ip ? Msg.NotIp : Msg.NotLabelValue, quote(text));
      return false;
    }
    this.r.markPassed(value, check);
    return true;
  }

  /** A map of label key -> label value; %ip% allowed as a key where `ipAllowed`. Null when invalid. */
  map(value: Value, ipAllowed: bool): Label[] | null {
    const r = this.r;
    const n = r.members(value, Msg.MustBeLabelObject);
    if (n < 0) return null;
    const labels: Label[] = [];
    let valid = !r.hasDuplicateMember(value);
    for (let i = 0; i < n; i++) {
      const key = r.memberName(value, i);
      const item = r.memberAt(value, i);
      if (key.length == 0) {
        r.error(item, Msg.EmptyLabelKey);
        valid = false;
      } else if (!this.key(item, key, ipAllowed) || !this.value(item, key)) {
        valid = false;
      } else {
        labels.push(new Label(key, r.text(item)));
      }
    }
    return valid ? labels : null;
  }
}

/**
 * The strings of `items` in code-unit order, joined by newlines: a canonical text of a set, independent
 * of the order it was written in. A bottom-up merge sort (O(n log n) for hostile sizes) written out here
 * because Array#sort<string> linked ~1.5 KB of generic sort code for these two uses (measured).
 */
export function sortedText(items: string[]): string {
  const n = items.length;
  let from = items.slice(0);
  let to = new Array<string>(n);
  for (let width = 1; width < n; width <<= 1) {
    for (let start = 0; start < n; start += width << 1) {
      const middle = min(start + width, n);
      const end = min(start + (width << 1), n);
      let i = start;
      let j = middle;
      for (let k = start; k < end; k++) {
        const takeLeft = j >= end || (i < middle && unchecked(from[i]) <= unchecked(from[j]));
        unchecked((to[k] = takeLeft ? unchecked(from[i++]) : unchecked(from[j++])));
      }
    }
    const swap = from;
    from = to;
    to = swap;
  }
  return from.join("\n");
}

/** Canonical text of a label set, independent of order: "k=v" lines sorted. */
export function labelSetText(labels: Label[]): string {
  const parts = new Array<string>(labels.length);
  for (let i = 0; i < labels.length; i++) unchecked((parts[i] = labels[i].key + "=" + labels[i].value));
  return sortedText(parts);
}
