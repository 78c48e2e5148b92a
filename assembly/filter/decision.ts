// The routing decision of docs/behaviour.md ("Routing decision"), as a pure computation over the compiled
// tables and the request's mapped header values. No host calls here: the
// caller reads the headers into `Decider.setHeader`, calls `decide`, then
// carries out what the outputs say (header writes, clear_route_cache, 503,
// filter state, counters).
//
// A mapping's value is its header's value, or what sources/ finds in it: a cookie, a query parameter of :path,
// a baggage member (docs/configuration.md, "Key sources"). Query and baggage values are percent-decoded.
//
// One Decider per root context, built with its tables; it owns fixed-size
// scratch sized at configuration time, so a request allocates nothing. Values are (pointer, length) views of
// the header buffers the caller set (kept until the next request), of the tables' constants, or of the
// scratch a decoded value is written to (at most MAX_LABEL_VALUE bytes per key: a longer one is no label value).
//
// Outcomes (one counter per request, docs/behaviour.md "Observability"):
// - no selector applies            -> NoSelector, in both modes, whatever global fallback
//                                     follows (catalog mode records it in the decision string:
//                                     "fallback:<policy>"); so both modes count the same outcome
// - the chosen selector has an unmatchable value -> Unmatchable (over the fallback it leads to)
// - metadata mode, selector with valid values    -> Subset (Envoy's subset LB decides the rest:
//                                     its own lb_subsets_* stats count fallbacks)
// - catalog mode: found -> Subset; miss -> FallbackAny / FallbackDefault / NoFallback
//   (a DEFAULT_SUBSET fallback whose subset is not in the catalog is a 503: NoFallback)

import { MAX_KEYS_PER_SERVICE, MAX_VALUE_BYTES } from "../../src/config/constants";
import { copyBytes } from "./bytes";
import { isIpLiteral, isLabelValue, MAX_LABEL_VALUE } from "./labels";
import { FallbackPolicy, KeySource, Mode } from "./model";
import { findBaggageMember } from "./sources/baggage";
import { PercentDecoder, percentDecode, Span } from "./sources/bytes";
import { findCookie } from "./sources/cookie";
import { findQueryParameter } from "./sources/query";
import { INVALID_VALUE, MappingTable, RouteTable, SelectorTable, ServiceTable, Tables, Target } from "./tables/runtime";
import { Arrival } from "./arrival";
import { utf8 } from "../abi/utf8";

export const enum Outcome {
  Subset = 0,
  FallbackAny = 1,
  FallbackDefault = 2,
  NoFallback = 3,
  NoSelector = 4,
  Unmatchable = 5,
}
export const OUTCOME_COUNT: i32 = 6;

/** Counter-name suffixes, indexed by Outcome. */
export const OUTCOME_NAMES: string[] = [
  "subset",
  "fallback_any",
  "fallback_default",
  "no_fallback",
  "no_selector",
  "unmatchable",
];

const enum KeyState {
  Unset = 0,
  Valid = 1,
  Unmatchable = 2,
}

const INVALID_BYTES = utf8(INVALID_VALUE);
const NONE_DECISION = utf8("none");
const ANY_ENDPOINT_DECISION = utf8("fallback:ANY_ENDPOINT");
const NO_FALLBACK_DECISION = utf8("fallback:NO_FALLBACK");

export class Decider {
  // Inputs: one value per RouteTable.headers slot, where its bytes are (length -1: absent).
  private headerPtr: StaticArray<usize>;
  private headerLength: StaticArray<i32>;
  // Resolved keys of the current request, indexed like ServiceTable.keys: where their bytes are.
  private keyPtr: StaticArray<usize>;
  private keyLength: StaticArray<i32>;
  private keyState: StaticArray<u8>;
  // Decoded values (query, baggage): MAX_LABEL_VALUE bytes per key.
  private decoded: ArrayBuffer;
  private decoder: PercentDecoder = new PercentDecoder();
  // The raw value of the mapping being resolved.
  private found: Span = new Span();
  // Tables.strip entries written by the current decision: stripStamp[i] == stamp.
  private stripStamp: StaticArray<u32>;
  private stamp: u32 = 0;
  private tuple: ArrayBuffer;
  private decisionBuffer: ArrayBuffer;
  // A buffer the decision points into (keeps it alive), and its length.
  private decisionSource: ArrayBuffer = NONE_DECISION;

  // Outputs of decide().
  outcome: Outcome = Outcome.NoSelector;
  selector: SelectorTable | null = null;
  /** Headers to write with replace: index into Tables.strip, value (valid until the next decide()). */
  writeCount: i32 = 0;
  writeStrip: StaticArray<i32>;
  writePtr: StaticArray<usize>;
  writeLength: StaticArray<i32>;
  /**
   * Catalog mode: the route must be matched again: the subset header was written, or the request arrived on a
   * generated route (docs/behaviour.md "The route token"), so Envoy re-matches from what the filter wrote.
   */
  clearRouteCache: bool = false;
  /** Catalog mode: answer 503 "no healthy upstream" locally. */
  localReply: bool = false;
  decisionLen: i32 = 0;

  /** Which service and route a request is for (filled by the caller from the xds properties). */
  readonly arrival: Arrival;

  constructor(public tables: Tables) {
    this.arrival = new Arrival(tables);
    const headers = max(tables.maxRouteHeaders, 1);
    const keys = max(tables.maxServiceKeys, 1);
    this.headerPtr = new StaticArray<usize>(headers);
    this.headerLength = new StaticArray<i32>(headers);
    this.keyPtr = new StaticArray<usize>(keys);
    this.keyLength = new StaticArray<i32>(keys);
    this.keyState = new StaticArray<u8>(keys);
    this.decoded = new ArrayBuffer(keys * MAX_LABEL_VALUE);
    this.stripStamp = new StaticArray<u32>(tables.strip.length);
    const writes = max(keys, 2); // metadata mode: one per key; catalog mode: at most two (a strict pin)
    this.writeStrip = new StaticArray<i32>(writes);
    this.writePtr = new StaticArray<usize>(writes);
    this.writeLength = new StaticArray<i32>(writes);
    this.tuple = new ArrayBuffer(max(tables.maxTupleBytes, 1));
    this.decisionBuffer = new ArrayBuffer(tables.maxDecisionBytes);
  }

  /** The decision string (docs/behaviour.md, "Observability"): valid until the next decide(). */
  get decisionPtr(): usize {
    return changetype<usize>(this.decisionSource);
  }

  /**
   * Sets the value of RouteTable.headers[slot] for the next decide(): `length` bytes at `ptr`, which must stay
   * readable until then (empty = absent).
   */
  setHeader(slot: i32, ptr: usize, length: i32): void {
    if (slot >= 0 && slot < this.headerLength.length) {
      unchecked((this.headerPtr[slot] = ptr));
      unchecked((this.headerLength[slot] = length));
    }
  }

  /** Clears the header inputs (call before the setHeader calls of a request). */
  clearHeaders(): void {
    for (let i = 0; i < this.headerLength.length; i++) unchecked((this.headerLength[i] = -1));
  }

  /** Whether Tables.strip[index] is written by the current decision (so needs no separate remove). */
  isWritten(index: i32): bool {
    return <u32>index < <u32>this.stripStamp.length && unchecked(this.stripStamp[index]) == this.stamp;
  }

  private nextStamp(): void {
    this.stamp++;
    if (this.stamp == 0) {
      // Wrapped: stale marks could equal the new stamp.
      memory.fill(changetype<usize>(this.stripStamp), 0, (<usize>this.stripStamp.length) << 2);
      this.stamp = 1;
    }
  }

  /**
   * Decides the request for `service` on `route` (null: no mapping) from the headers set. onGeneratedRoute: a client
   * steered it onto a generated route (arrival.ts); decided the same, and the route is always matched again.
   */
  decide(service: ServiceTable, route: RouteTable | null, onGeneratedRoute: bool = false): void {
    this.decideOnce(service, route);
    if (onGeneratedRoute && !this.localReply) this.clearRouteCache = true;
  }

  private decideOnce(service: ServiceTable, route: RouteTable | null): void {
    this.nextStamp();
    this.writeCount = 0;
    this.clearRouteCache = false;
    this.localReply = false;
    if (route == null) {
      // No mapping resolves no key, and every selector has a key at least (configuration rules): none applies.
      this.noSelector(service);
      return;
    }
    this.resolveKeys(service, route);
    const selector = this.chooseSelector(service);
    if (selector == null) {
      this.noSelector(service);
      return;
    }
    this.selector = selector;
    const catalog = this.tables.mode == Mode.Catalog;
    const unmatchable = this.hasUnmatchable(selector);
    if (!catalog) {
      this.writeKeys(selector);
      this.outcome = unmatchable ? Outcome.Unmatchable : Outcome.Subset;
      return;
    }
    const target = unmatchable ? -1 : this.lookUp(selector);
    if (target >= 0) {
      this.route(unchecked(selector.targets[target]));
      this.outcome = Outcome.Subset;
      return;
    }
    this.fallBack(service, selector.policy);
    if (unmatchable) this.outcome = Outcome.Unmatchable;
  }

  /** Routing decision, step 3, when no selector applies: catalog mode falls back on the global policy. */
  private noSelector(service: ServiceTable): void {
    this.selector = null;
    if (this.tables.mode == Mode.Catalog) {
      this.fallBack(service, service.globalPolicy);
    } else {
      this.setDecision(NONE_DECISION, NONE_DECISION.byteLength);
    }
    this.outcome = Outcome.NoSelector;
  }

  /**
   * Routing decision, steps 1 and 2: for each mapping in order, the request's value if present and
   * non-empty, else its defaultValue, else nothing (which leaves an earlier value
   * of the key in place). Values are validated here; one over 8 KiB is
   * unmatchable without being looked at (nor decoded).
   */
  private resolveKeys(service: ServiceTable, route: RouteTable): void {
    // a loop: a handful of keys, and V8 runs memory.fill as a call into C
    for (let k = 0; k < service.keys.length; k++) unchecked((this.keyState[k] = <u8>KeyState.Unset));
    const mappings = route.mappings;
    const found = this.found;
    for (let i = 0; i < mappings.length; i++) {
      const mapping = unchecked(mappings[i]);
      const key = mapping.key;
      let state = KeyState.Valid;
      if (this.find(mapping) && found.length > 0) {
        if (found.length > MAX_VALUE_BYTES || !this.decodeValid(mapping, key, unchecked(service.keys[key]).isIp)) {
          state = KeyState.Unmatchable;
        }
      } else {
        const value = mapping.defaultValue;
        if (value == null) continue; // unset: does not clear an earlier value
        found.set(changetype<usize>(value), value.byteLength);
      }
      unchecked((this.keyState[key] = <u8>state));
      unchecked((this.keyPtr[key] = found.ptr));
      unchecked((this.keyLength[key] = found.length));
    }
  }

  /** The request's raw value for a mapping, into `found`; false when the request has none. */
  private find(mapping: MappingTable): bool {
    const slot = mapping.headerSlot;
    const length = slot >= 0 && slot < this.headerLength.length ? unchecked(this.headerLength[slot]) : -1;
    if (length < 0) return false;
    const ptr = unchecked(this.headerPtr[slot]);
    const name = changetype<usize>(mapping.name);
    const nameLength = mapping.name.byteLength;
    switch (mapping.source) {
      case KeySource.Cookie:
        return findCookie(ptr, length, name, nameLength, this.found);
      case KeySource.Query:
        return findQueryParameter(ptr, length, name, nameLength, this.decoder, this.found);
      case KeySource.Baggage:
        return findBaggageMember(ptr, length, name, nameLength, this.found);
    }
    return this.found.set(ptr, length);
  }

  /**
   * Whether the value in `found` is one a label (or, for %ip%, an IP) can have, after percent-decoding it into
   * the key's scratch for the sources that encode; `found` then shows the decoded bytes.
   */
  private decodeValid(mapping: MappingTable, key: i32, isIp: bool): bool {
    const found = this.found;
    if (mapping.source == KeySource.Query || mapping.source == KeySource.Baggage) {
      const out = changetype<usize>(this.decoded) + <usize>(key * MAX_LABEL_VALUE);
      const plusIsSpace = mapping.source == KeySource.Query;
      const length = percentDecode(this.decoder, found, plusIsSpace, out, MAX_LABEL_VALUE);
      if (length < 0) return false; // longer than any label value
      found.set(out, length);
    }
    return isValidValue(isIp, found.ptr, found.length);
  }

  /**
   * Routing decision, step 3: the selector with the most keys that are all resolved, ties
   * to configuration order. An exact key-set match is always such a selector, so
   * this one rule covers both cases (and is Envoy's allow_redundant_keys rule).
   */
  private chooseSelector(service: ServiceTable): SelectorTable | null {
    // Resolved keys are selector keys, which come first in ServiceTable.keys, at most
    // MAX_KEYS_PER_SERVICE (64, the bits of the mask) of them: the configuration rules enforce it.
    let present: u64 = 0;
    const keyCount = min(service.keys.length, MAX_KEYS_PER_SERVICE);
    for (let k = 0; k < keyCount; k++) {
      if (unchecked(this.keyState[k]) != KeyState.Unset) present |= (<u64>1) << k;
    }
    let best: SelectorTable | null = null;
    let bestCount = 0;
    const selectors = service.selectors;
    for (let i = 0; i < selectors.length; i++) {
      const selector = unchecked(selectors[i]);
      if ((selector.mask & ~present) != 0) continue;
      if (selector.keys.length > bestCount) {
        best = selector;
        bestCount = selector.keys.length;
      }
    }
    return best;
  }

  private hasUnmatchable(selector: SelectorTable): bool {
    const keys = selector.keys;
    for (let i = 0; i < keys.length; i++) {
      if (unchecked(this.keyState[unchecked(keys[i])]) == KeyState.Unmatchable) return true;
    }
    return false;
  }

  /** Metadata mode: one header per selector key, "~invalid~" for an unmatchable value. */
  private writeKeys(selector: SelectorTable): void {
    const keys = selector.keys;
    const out = this.decisionBuffer;
    let pos = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = unchecked(keys[i]);
      const valid = unchecked(this.keyState[k]) == KeyState.Valid;
      const ptr = valid ? unchecked(this.keyPtr[k]) : changetype<usize>(INVALID_BYTES);
      const length = valid ? unchecked(this.keyLength[k]) : INVALID_BYTES.byteLength;
      this.write(i, unchecked(selector.keyStrips[i]), ptr, length);
      const part = unchecked(selector.decisionParts[i]); // "subset:<key>=" or ",<key>="
      pos = appendBytes(out, pos, changetype<usize>(part), part.byteLength);
      pos = appendBytes(out, pos, ptr, length);
    }
    this.writeCount = keys.length;
    this.setDecision(this.decisionBuffer, pos);
  }

  private write(i: i32, stripIndex: i32, ptr: usize, length: i32): void {
    unchecked((this.writeStrip[i] = stripIndex));
    unchecked((this.writePtr[i] = ptr));
    unchecked((this.writeLength[i] = length));
    if (stripIndex >= 0 && stripIndex < this.stripStamp.length) unchecked((this.stripStamp[stripIndex] = this.stamp));
  }

  /** Catalog lookup of the selector's value tuple; index into selector.targets or -1. */
  private lookUp(selector: SelectorTable): i32 {
    const keys = selector.keys;
    const out = this.tuple;
    let pos = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = unchecked(keys[i]);
      if (i > 0) pos = appendByte(out, pos, 0);
      pos = appendBytes(out, pos, unchecked(this.keyPtr[k]), unchecked(this.keyLength[k]));
    }
    return selector.tuples.find(changetype<usize>(out), pos);
  }

  /** Routing decision, step 4, catalog mode, on a miss (or with no selector: the global policy). */
  private fallBack(service: ServiceTable, policy: FallbackPolicy): void {
    if (policy == FallbackPolicy.AnyEndpoint) {
      this.setDecision(ANY_ENDPOINT_DECISION, ANY_ENDPOINT_DECISION.byteLength);
      this.outcome = Outcome.FallbackAny;
      return;
    }
    const defaultTarget = service.defaultTarget;
    if (policy == FallbackPolicy.DefaultSubset && defaultTarget != null) {
      this.route(defaultTarget);
      this.outcome = Outcome.FallbackDefault;
      return;
    }
    this.localReply = true;
    this.setDecision(NO_FALLBACK_DECISION, NO_FALLBACK_DECISION.byteLength);
    this.outcome = Outcome.NoFallback;
  }

  private route(target: Target): void {
    this.write(0, target.stripIndex, changetype<usize>(target.value), target.value.byteLength);
    this.writeCount = 1;
    const strictPin = target.strictPin;
    if (strictPin != null) {
      this.write(1, target.pinStrip, changetype<usize>(strictPin), strictPin.byteLength);
      this.writeCount = 2;
    }
    this.clearRouteCache = target.changesRoute;
    this.setDecision(target.decision, target.decision.byteLength);
  }

  private setDecision(source: ArrayBuffer, len: i32): void {
    this.decisionSource = source;
    this.decisionLen = len;
  }
}

function isValidValue(isIp: bool, ptr: usize, len: i32): bool {
  return isIp ? isIpLiteral(ptr, len) : isLabelValue(ptr, len);
}

// Appends into scratch sized at configuration time for the largest selector (values written
// here are valid label values, IPs or "~invalid~"); the bounds checks only guard that invariant.

function appendBytes(out: ArrayBuffer, pos: i32, ptr: usize, length: i32): i32 {
  const len = min(length, out.byteLength - pos);
  if (len > 0) copyBytes(changetype<usize>(out) + <usize>pos, ptr, <usize>len);
  return pos + max(len, 0);
}

function appendByte(out: ArrayBuffer, pos: i32, byte: u8): i32 {
  if (pos >= out.byteLength) return pos;
  store<u8>(changetype<usize>(out) + <usize>pos, byte);
  return pos + 1;
}
