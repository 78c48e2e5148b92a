// Plugin configuration (docs/configuration.md): JSON bytes -> validated PluginConfig, or every problem found.
//
// Never traps on any input (docs/abi.md, "What a trap does": a trap fails the VM for good):
// the JSON parser returns errors as values and the rules only read what they have checked. Linear in the input
// size.
//
//   json/        the parser: bytes -> JsonDocument, or one problem with its byte offset
//   reader.ts    values that know their JSON path; problem lines
//   syntax.ts    what strings must look like (label keys, header names, route tokens, addresses)
//   rules/       the domain rules, one file per part of the configuration; services.ts reads the root
//
// Problem lines (the plugin logs each line as it is, Envoy prints `wasm log <root id> <vm id>: <line>`;
// templates in messages.json):
//   - malformed JSON, exactly one line: `configuration: invalid JSON at byte <0-based offset>: <reason>`
//   - otherwise one line per problem, all of them collected: `<json path>: <what is wrong>`
//   - warnings use the same format and never reject the configuration.
//
// Decisions beyond the plain shape of the configuration (an operator would want these caught):
//   errors:   two services with the same cluster or the same host (the later could never match); two
//             selectors with the same key set (the later can never be chosen); a mapped header that starts
//             with headerPrefix (reserved for the filter's own headers) or equals a catalog sessionHeader
//             (removed from every request); sessionHeader equal to the subset header; empty defaultSubset /
//             catalog subset labels; two catalog subsets with the same labels; two catalog endpoints with the
//             same address; %ip% as a catalog label (pinning uses catalog.endpoints); JSON null where a value
//             is expected.
//   warnings: a mapping key that no selector of its service uses (it cannot affect the decision);
//             a catalog in metadata mode (ignored, and not read).
//   accepted: a configuration of only whitespace (an empty configuration); a route with an empty
//             headerToDynamicSubsetKey list (that route gets no mapping); `host` may start with "*." (Istio
//             wildcard ServiceEntry hosts); lbPolicy (renderers only).

import { DEFAULT_HEADER_PREFIX } from "../../../src/config/constants";
import { decimal } from "../decimal";
import { parseJson } from "../json/parser";
import { skipWhitespace } from "../json/scanner";
import { message, Msg } from "../messages";
import { ConfigResult, Mode, PluginConfig } from "../model";
import { JsonReader } from "./reader";
import { readPluginConfig } from "./rules/services";

/** The configuration of a filter that only strips internal headers. */
export function emptyPluginConfig(): PluginConfig {
  return new PluginConfig(Mode.Metadata, DEFAULT_HEADER_PREFIX, false, []);
}

export function parseConfig(bytes: ArrayBuffer): ConfigResult {
  const ptr = changetype<usize>(bytes);
  // no configuration, or only whitespace: an empty one
  if (skipWhitespace(ptr, 0, bytes.byteLength) == bytes.byteLength) {
    return new ConfigResult(emptyPluginConfig(), [], []);
  }
  const parsed = parseJson(bytes);
  const doc = parsed.document;
  if (doc == null) {
    return new ConfigResult(null, [message(Msg.InvalidJson, [decimal(parsed.offset), parsed.error])], []);
  }
  const reader = new JsonReader(doc, ptr);
  const config = readPluginConfig(reader);
  const errors = reader.errors.report();
  return new ConfigResult(errors.length == 0 ? config : null, errors, reader.warnings.report());
}
