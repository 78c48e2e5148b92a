// The functions Envoy calls (reference/abi.md §1.4). The entry file re-exports this module
// (`export * from "./abi/exports"`) after registering its root context.
//
// Dispatch: context id -> context. Root contexts are created by proxy_on_context_create(id, 0), stream
// contexts by their root's newHttpContext (parent id = root id). An unknown id never traps: the call
// is logged at warn and answered with the pass-through value (Continue / true). proxy_on_delete drops
// the context, for streams and for roots at plugin shutdown (on_done then on_delete, abi.md §7.3).

import "./abort"; // brings the abort handler into the program (asconfig "use": abort=assembly/abi/abort/proxyAbort)
import { FilterHeadersStatus, LogLevel } from "./enums";
import { createRootContext, HttpContext, RootContext } from "./context";
import { log } from "./hostcalls";

export { malloc, malloc as proxy_on_memory_allocate } from "./hostcalls";

const roots = new Map<u32, RootContext>();
const streams = new Map<u32, HttpContext>();

function findRoot(contextId: u32, callback: string): RootContext | null {
  if (roots.has(contextId)) return roots.get(contextId);
  log(LogLevel.Warn, callback);
  return null;
}

function findStream(contextId: u32, callback: string): HttpContext | null {
  if (streams.has(contextId)) return streams.get(contextId);
  log(LogLevel.Warn, callback);
  return null;
}

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {
  if (parentContextId == 0) {
    roots.set(contextId, createRootContext(contextId));
    return;
  }
  const root = findRoot(parentContextId, "proxy-wasm: proxy_on_context_create: unknown root context");
  if (root !== null) streams.set(contextId, root.newHttpContext(contextId));
}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: u32): bool {
  const root = findRoot(rootContextId, "proxy-wasm: proxy_on_vm_start: unknown root context");
  return root !== null && root.onVmStart(vmConfigurationSize);
}

export function proxy_on_configure(rootContextId: u32, pluginConfigurationSize: u32): bool {
  const root = findRoot(rootContextId, "proxy-wasm: proxy_on_configure: unknown root context");
  return root !== null && root.onConfigure(pluginConfigurationSize);
}

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: u32): FilterHeadersStatus {
  const stream = findStream(contextId, "proxy-wasm: proxy_on_request_headers: unknown context");
  if (stream === null) return FilterHeadersStatus.Continue;
  return stream.onRequestHeaders(numHeaders, endOfStream != 0);
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: u32): FilterHeadersStatus {
  const stream = findStream(contextId, "proxy-wasm: proxy_on_response_headers: unknown context");
  if (stream === null) return FilterHeadersStatus.Continue;
  return stream.onResponseHeaders(numHeaders, endOfStream != 0);
}

export function proxy_on_log(contextId: u32): void {
  const stream = findStream(contextId, "proxy-wasm: proxy_on_log: unknown context");
  if (stream !== null) stream.onLog();
}

export function proxy_on_done(contextId: u32): bool {
  if (streams.has(contextId)) return streams.get(contextId).onDone();
  const root = findRoot(contextId, "proxy-wasm: proxy_on_done: unknown context");
  return root === null || root.onDone();
}

export function proxy_on_delete(contextId: u32): void {
  if (streams.has(contextId)) {
    streams.get(contextId).onDelete();
    streams.delete(contextId);
    return;
  }
  const root = findRoot(contextId, "proxy-wasm: proxy_on_delete: unknown context");
  if (root === null) return;
  root.onDelete();
  roots.delete(contextId);
}
