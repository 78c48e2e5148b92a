// Context base classes and root-context registration.
//
//   class Context(contextId)                    what the dispatcher keeps per id (exports.ts)
//   class RootContext(contextId)                one per plugin configuration; holds all its state
//     onVmStart(vmConfigurationSize: u32): bool       default true
//     onConfigure(pluginConfigurationSize: u32): bool default true; read the configuration with
//                                                     getBufferBytes(BufferType.PluginConfiguration, 0, size)
//     newHttpContext(contextId: u32): HttpContext     default: a pass-through HttpContext
//     onDone(): bool                                  default true (false = Envoy waits for proxy_done)
//     onDelete(): void
//   class HttpContext(contextId, root)          one per live HTTP stream; `root` created it
//     onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus   default Continue
//     onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus  default Continue
//     onLog(): void
//     onDone(): bool                                  default true (Envoy ignores it for streams)
//     onDelete(): void
//     reset(): void                                   restore the state a new stream starts with (below)
//   registerRootContext(rootId: string, factory: (contextId: u32) => RootContext): void
//     call once per root id from the entry file's top level (runs in _initialize: no host call).
//
// Several plugin configurations may share one VM, each with its own root context: keep state in the
// RootContext subclass, never in module globals. Envoy does not pass the root id when it creates a
// root context. With one registration, every root context is created from it (whatever root_id the
// plugin configuration names); with several, the property "plugin_root_id" is read to choose — at
// proxy_on_context_create, never during _initialize.
//
// Stream contexts are reused: after a stream's onDelete its root keeps the context, and the root's next stream
// gets it back (new contextId, then reset()) instead of a newHttpContext, so a stream allocates nothing. A
// subclass with per-stream fields sets them back in reset().

import { FilterHeadersStatus, LogLevel } from "./enums";
import { getProperty, log } from "./hostcalls";
import { utf8 } from "./utf8";

/** What the dispatcher keeps per context id (exports.ts). */
export class Context {
  constructor(public contextId: u32) {}
}

export class RootContext extends Context {
  /** Size of the plugin configuration in force (set by the dispatcher; gc.ts estimates live memory from it). */
  configurationSize: usize = 0;
  /** Contexts of ended streams, linked by HttpContext.nextSpare, for the next streams. */
  private spareStreams: HttpContext | null = null;

  /** The context for a new stream: a spare one, reset for `contextId`, else a newHttpContext. */
  streamContext(contextId: u32): HttpContext {
    const spare = this.spareStreams;
    if (spare === null) return this.newHttpContext(contextId);
    this.spareStreams = spare.nextSpare;
    spare.nextSpare = null;
    spare.contextId = contextId;
    spare.reset();
    return spare;
  }

  /** Keeps the context of a deleted stream for a later one. */
  keepSpare(stream: HttpContext): void {
    stream.nextSpare = this.spareStreams;
    this.spareStreams = stream;
  }

  onVmStart(vmConfigurationSize: u32): bool {
    return true;
  }

  onConfigure(pluginConfigurationSize: u32): bool {
    return true;
  }

  newHttpContext(contextId: u32): HttpContext {
    return new HttpContext(contextId, this);
  }

  onDone(): bool {
    return true;
  }

  onDelete(): void {}
}

export class HttpContext extends Context {
  /** The next spare context of the root (RootContext.keepSpare). */
  nextSpare: HttpContext | null = null;

  constructor(
    contextId: u32,
    readonly root: RootContext,
  ) {
    super(contextId);
  }

  /** Restores the state a new stream starts with: this context is being reused (see the top of this file). */
  reset(): void {}

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    return FilterHeadersStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    return FilterHeadersStatus.Continue;
  }

  onLog(): void {}

  onDone(): bool {
    return true;
  }

  onDelete(): void {}
}

export type RootContextFactory = (contextId: u32) => RootContext;

class Registration {
  constructor(
    readonly rootId: ArrayBuffer,
    readonly factory: RootContextFactory,
  ) {}
}

const registrations = new Array<Registration>();

export function registerRootContext(rootId: string, factory: RootContextFactory): void {
  registrations.push(new Registration(utf8(rootId), factory));
}

/** The root context for a new plugin configuration; a pass-through one if no registration matches. */
export function createRootContext(contextId: u32): RootContext {
  const registration = findRegistration();
  if (registration === null) {
    log(LogLevel.Error, "proxy-wasm: no root context registered for this plugin's root_id; it passes traffic through");
    return new RootContext(contextId);
  }
  const factory = registration.factory;
  return factory(contextId);
}

function findRegistration(): Registration | null {
  const count = registrations.length;
  if (count == 1) return registrations[0];
  if (count == 0) return null;
  const rootId = getProperty(utf8("plugin_root_id"));
  if (rootId === null) return null;
  for (let i = 0; i < count; i++) {
    const candidate = registrations[i].rootId;
    if (
      candidate.byteLength == rootId.byteLength &&
      memory.compare(changetype<usize>(candidate), changetype<usize>(rootId), rootId.byteLength) == 0
    ) {
      return registrations[i];
    }
  }
  return null;
}
