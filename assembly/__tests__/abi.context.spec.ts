// Context dispatch as Envoy drives it (docs/abi.md, "Call order" and "Exports Envoy calls"),
// one registered root context.
import { FilterHeadersStatus, LogLevel } from "../abi/enums";
import { HttpContext, registerRootContext, RootContext } from "../abi/context";
import {
  proxy_on_configure,
  proxy_on_context_create,
  proxy_on_delete,
  proxy_on_done,
  proxy_on_log,
  proxy_on_request_headers,
  proxy_on_response_headers,
  proxy_on_vm_start,
} from "../abi/exports";
import { host } from "./abi.testhost";

const events = new Array<string>();

class TestRoot extends RootContext {
  configuration: string = "";
  doneAnswer: bool = true;

  onVmStart(vmConfigurationSize: u32): bool {
    events.push(`root ${this.contextId} vm_start ${vmConfigurationSize}`);
    return true;
  }
  onConfigure(pluginConfigurationSize: u32): bool {
    events.push(`root ${this.contextId} configure ${pluginConfigurationSize}`);
    this.configuration = `size ${pluginConfigurationSize}`;
    return pluginConfigurationSize != 13; // 13: a configuration this root rejects
  }
  newHttpContext(contextId: u32): HttpContext {
    return new TestStream(contextId, this);
  }
  onDone(): bool {
    events.push(`root ${this.contextId} done`);
    return this.doneAnswer;
  }
  onDelete(): void {
    events.push(`root ${this.contextId} delete`);
  }
}

class TestStream extends HttpContext {
  requests: i32 = 0;

  reset(): void {
    events.push(this.describe(`reset after ${this.requests} requests`));
    this.requests = 0;
  }
  private describe(callback: string): string {
    return `stream ${this.contextId} of root ${this.root.contextId} (${changetype<TestRoot>(this.root).configuration}) ${callback}`;
  }
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    this.requests++;
    events.push(this.describe(`request_headers ${numHeaders} ${endOfStream}`));
    return numHeaders == 7 ? FilterHeadersStatus.StopIteration : FilterHeadersStatus.Continue;
  }
  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    events.push(this.describe(`response_headers ${numHeaders} ${endOfStream}`));
    return FilterHeadersStatus.Continue;
  }
  onLog(): void {
    events.push(this.describe("log"));
  }
  onDone(): bool {
    events.push(this.describe("done"));
    return true;
  }
  onDelete(): void {
    events.push(this.describe("delete"));
  }
}

let lastRoot: TestRoot | null = null;

registerRootContext("dynamic_subset", (contextId: u32): RootContext => {
  const root = new TestRoot(contextId);
  lastRoot = root;
  return root;
});

let nextId: u32 = 1;

/** Envoy's start of one plugin configuration: root context, vm_start, configure. Returns the root id. */
function startRoot(configurationSize: u32): u32 {
  const rootId = nextId++;
  proxy_on_context_create(rootId, 0);
  expect(proxy_on_vm_start(rootId, 0)).toBe(true);
  expect(proxy_on_configure(rootId, configurationSize)).toBe(true);
  return rootId;
}

function lastLogIsWarning(): bool {
  return host.logCount() > 0 && host.logLevel(host.logCount() - 1) == LogLevel.Warn;
}

describe("root contexts", () => {
  beforeEach(() => {
    host.reset();
    events.length = 0;
  });

  it("creates the registered root without asking the host anything, then delivers vm_start and configure", () => {
    const rootId = nextId++;
    proxy_on_context_create(rootId, 0);
    expect(host.calls()).toBe(0);
    expect(proxy_on_vm_start(rootId, 5)).toBe(true);
    expect(proxy_on_configure(rootId, 42)).toBe(true);
    expect(events.join("|")).toBe(`root ${rootId} vm_start 5|root ${rootId} configure 42`);
  });

  it("passes a rejected configuration back to the host as false", () => {
    const rootId = nextId++;
    proxy_on_context_create(rootId, 0);
    expect(proxy_on_configure(rootId, 13)).toBe(false);
  });

  it("answers vm_start and configure for an unknown root with false and a warning", () => {
    expect(proxy_on_vm_start(9999, 0)).toBe(false);
    expect(lastLogIsWarning()).toBe(true);
    expect(proxy_on_configure(9999, 10)).toBe(false);
    expect(lastLogIsWarning()).toBe(true);
  });

  it("shuts a root down with on_done then on_delete; streams for it are then refused without trapping", () => {
    const rootId = startRoot(10);
    events.length = 0;
    expect(proxy_on_done(rootId)).toBe(true);
    proxy_on_delete(rootId);
    expect(events.join("|")).toBe(`root ${rootId} done|root ${rootId} delete`);
    const streamId = nextId++;
    proxy_on_context_create(streamId, rootId);
    expect(lastLogIsWarning()).toBe(true);
    expect(proxy_on_request_headers(streamId, 3, 1)).toBe(FilterHeadersStatus.Continue);
    expect(proxy_on_done(rootId)).toBe(true);
  });

  it("passes a root's wish to delay shutdown (on_done false) to the host", () => {
    const rootId = startRoot(10);
    lastRoot!.doneAnswer = false;
    expect(proxy_on_done(rootId)).toBe(false);
  });
});

describe("HTTP streams", () => {
  beforeEach(() => {
    host.reset();
    events.length = 0;
  });

  it("runs one stream in Envoy's order with its root's state", () => {
    const rootId = startRoot(10);
    events.length = 0;
    const id = nextId++;
    proxy_on_context_create(id, rootId);
    expect(proxy_on_request_headers(id, 5, 0)).toBe(FilterHeadersStatus.Continue);
    expect(proxy_on_response_headers(id, 3, 1)).toBe(FilterHeadersStatus.Continue);
    proxy_on_log(id);
    expect(proxy_on_done(id)).toBe(true);
    proxy_on_delete(id);
    const prefix = `stream ${id} of root ${rootId} (size 10) `;
    expect(events.join("|")).toBe(
      prefix +
        "request_headers 5 false|" +
        prefix +
        "response_headers 3 true|" +
        prefix +
        "log|" +
        prefix +
        "done|" +
        prefix +
        "delete",
    );
    expect(host.logCount()).toBe(0);
  });

  it("returns the stream's header status to the host", () => {
    const rootId = startRoot(10);
    const id = nextId++;
    proxy_on_context_create(id, rootId);
    expect(proxy_on_request_headers(id, 7, 1)).toBe(FilterHeadersStatus.StopIteration);
  });

  it("keeps two plugin configurations in one VM apart", () => {
    const first = startRoot(10);
    const second = startRoot(20);
    const a = nextId++;
    const b = nextId++;
    proxy_on_context_create(a, first);
    proxy_on_context_create(b, second);
    events.length = 0;
    proxy_on_request_headers(b, 1, 1);
    proxy_on_request_headers(a, 1, 1);
    expect(events.join("|")).toBe(
      `stream ${b} of root ${second} (size 20) request_headers 1 true|` +
        `stream ${a} of root ${first} (size 10) request_headers 1 true`,
    );
  });

  it("deletes a stream: it gets no more callbacks, and its id is then unknown", () => {
    const rootId = startRoot(10);
    const id = nextId++;
    proxy_on_context_create(id, rootId);
    proxy_on_delete(id);
    events.length = 0;
    expect(proxy_on_request_headers(id, 1, 1)).toBe(FilterHeadersStatus.Continue);
    proxy_on_delete(id);
    expect(events.length).toBe(0);
    expect(lastLogIsWarning()).toBe(true);
  });

  it("gives a deleted stream's context to its root's next stream, reset, under the new id", () => {
    const first = startRoot(10);
    const second = startRoot(20);
    const a = nextId++;
    proxy_on_context_create(a, first);
    proxy_on_request_headers(a, 1, 1);
    proxy_on_delete(a);
    events.length = 0;
    const b = nextId++;
    proxy_on_context_create(b, second); // another root: a context of its own
    const c = nextId++;
    proxy_on_context_create(c, first);
    proxy_on_request_headers(c, 2, 1);
    expect(events.join("|")).toBe(
      `stream ${c} of root ${first} (size 10) reset after 1 requests|` +
        `stream ${c} of root ${first} (size 10) request_headers 2 true`,
    );
    expect(proxy_on_request_headers(a, 1, 1)).toBe(FilterHeadersStatus.Continue); // the old id stays unknown
    expect(lastLogIsWarning()).toBe(true);
  });

  it("answers every callback for an unknown context with the pass-through value and a warning", () => {
    const unknown: u32 = 4242;
    expect(proxy_on_request_headers(unknown, 1, 1)).toBe(FilterHeadersStatus.Continue);
    expect(proxy_on_response_headers(unknown, 1, 1)).toBe(FilterHeadersStatus.Continue);
    proxy_on_log(unknown);
    expect(proxy_on_done(unknown)).toBe(true);
    proxy_on_delete(unknown);
    expect(host.logCount()).toBe(5);
    expect(lastLogIsWarning()).toBe(true);
    expect(events.length).toBe(0);
  });

  it("refuses a stream whose parent is not a root, without trapping", () => {
    const id = nextId++;
    proxy_on_context_create(id, 31337);
    expect(lastLogIsWarning()).toBe(true);
    expect(proxy_on_request_headers(id, 1, 1)).toBe(FilterHeadersStatus.Continue);
    expect(events.length).toBe(0);
  });
});
