// The functions Envoy calls (docs/abi.md, "Exports Envoy calls"). The entry file re-exports this module
// (`export * from "./abi/exports"`) after registering its root context.
//
// Dispatch: context id -> context. Root contexts are created by proxy_on_context_create(id, 0), stream
// contexts by their root's newHttpContext (parent id = root id). An unknown id never traps: the call
// is logged at warn and answered with the pass-through value (Continue / true). proxy_on_delete drops
// the context, for streams and for roots at plugin shutdown (on_done then on_delete: docs/abi.md,
// "Shutdown").
// Garbage is collected only at the end of proxy_on_configure and proxy_on_delete (gc.ts explains when). Every
// callback begins by releasing the host-call scratch of the previous one (hostcalls.ts), and a deleted stream's
// context goes back to its root for the next stream (context.ts).

import "./abort"; // brings the abort handler into the program (asconfig "use": abort=assembly/abi/abort/proxyAbort)
import { FilterHeadersStatus, LogLevel } from "./enums";
import { createRootContext, HttpContext } from "./context";
import { ContextTable } from "./contexts";
import { collect, collectIfDue, noteAllocation, noteConfiguration, STREAM_CHARGE } from "./gc";
import { log, releaseScratch } from "./hostcalls";

export { malloc, malloc as proxy_on_memory_allocate } from "./hostcalls";

const contexts = new ContextTable();

function warnUnknown(callback: string): void {
  log(LogLevel.Warn, "proxy-wasm: " + callback + ": unknown context");
}

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {
  releaseScratch();
  if (parentContextId == 0) {
    contexts.set(contextId, createRootContext(contextId));
    return;
  }
  const root = contexts.root(parentContextId);
  if (root === null) {
    warnUnknown("proxy_on_context_create");
    return;
  }
  contexts.set(contextId, root.streamContext(contextId));
  noteAllocation(STREAM_CHARGE);
}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: u32): bool {
  releaseScratch();
  const root = contexts.root(rootContextId);
  if (root === null) {
    warnUnknown("proxy_on_vm_start");
    return false;
  }
  return root.onVmStart(vmConfigurationSize);
}

export function proxy_on_configure(rootContextId: u32, pluginConfigurationSize: u32): bool {
  releaseScratch();
  const root = contexts.root(rootContextId);
  if (root === null) {
    warnUnknown("proxy_on_configure");
    return false;
  }
  const accepted = root.onConfigure(pluginConfigurationSize);
  if (accepted) {
    noteConfiguration(root.configurationSize, pluginConfigurationSize);
    root.configurationSize = pluginConfigurationSize;
  }
  collect();
  return accepted;
}

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: u32): FilterHeadersStatus {
  releaseScratch();
  const stream = contexts.stream(contextId);
  if (stream === null) {
    warnUnknown("proxy_on_request_headers");
    return FilterHeadersStatus.Continue;
  }
  return stream.onRequestHeaders(numHeaders, endOfStream != 0);
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: u32): FilterHeadersStatus {
  releaseScratch();
  const stream = contexts.stream(contextId);
  if (stream === null) {
    warnUnknown("proxy_on_response_headers");
    return FilterHeadersStatus.Continue;
  }
  return stream.onResponseHeaders(numHeaders, endOfStream != 0);
}

export function proxy_on_log(contextId: u32): void {
  releaseScratch();
  const stream = contexts.stream(contextId);
  if (stream === null) {
    warnUnknown("proxy_on_log");
    return;
  }
  stream.onLog();
}

export function proxy_on_done(contextId: u32): bool {
  releaseScratch();
  const context = contexts.get(contextId);
  if (context instanceof HttpContext) return changetype<HttpContext>(context).onDone();
  const root = contexts.root(contextId);
  if (root === null) {
    warnUnknown("proxy_on_done");
    return true;
  }
  return root.onDone();
}

export function proxy_on_delete(contextId: u32): void {
  releaseScratch();
  const context = contexts.get(contextId);
  if (context instanceof HttpContext) {
    const stream = changetype<HttpContext>(context);
    stream.onDelete();
    contexts.delete(contextId);
    stream.root.keepSpare(stream);
    collectIfDue();
    return;
  }
  const root = contexts.root(contextId);
  if (root === null) {
    warnUnknown("proxy_on_delete");
    return;
  }
  root.onDelete();
  contexts.delete(contextId);
  noteConfiguration(root.configurationSize, 0);
  collect();
}
