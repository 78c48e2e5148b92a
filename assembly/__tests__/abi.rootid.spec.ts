// Several root ids registered in one module: the plugin's "plugin_root_id" property chooses.
import { LogLevel } from "../abi/enums";
import { registerRootContext, RootContext } from "../abi/context";
import { malloc } from "../abi/hostcalls";
import { proxy_on_configure, proxy_on_context_create } from "../abi/exports";
import { b, host } from "./abi.testhost";

export { malloc }; // the stub host returns the property through it

let created = "";

class NamedRoot extends RootContext {
  constructor(
    contextId: u32,
    public name: string,
  ) {
    super(contextId);
  }
  onConfigure(pluginConfigurationSize: u32): bool {
    created = this.name;
    return true;
  }
}

registerRootContext("alpha", (contextId: u32): RootContext => new NamedRoot(contextId, "alpha"));
registerRootContext("beta", (contextId: u32): RootContext => new NamedRoot(contextId, "beta"));

let nextId: u32 = 1;

function createAndConfigure(): bool {
  const rootId = nextId++;
  proxy_on_context_create(rootId, 0);
  return proxy_on_configure(rootId, 1);
}

describe("choosing the root context by plugin_root_id", () => {
  beforeEach(() => {
    host.reset();
    created = "";
  });

  it("creates the root registered under the plugin's root id", () => {
    host.setProperty(b("plugin_root_id"), b("beta"));
    expect(createAndConfigure()).toBe(true);
    expect(created).toBe("beta");
    host.setProperty(b("plugin_root_id"), b("alpha"));
    createAndConfigure();
    expect(created).toBe("alpha");
  });

  it("falls back to a pass-through root, with an error log, for an unregistered root id", () => {
    host.setProperty(b("plugin_root_id"), b("alphabet"));
    expect(createAndConfigure()).toBe(true);
    expect(created).toBe("");
    expect(host.logCount()).toBe(1);
    expect(host.logLevel(0)).toBe(LogLevel.Error);
  });

  it("does the same when the host cannot tell the root id", () => {
    expect(createAndConfigure()).toBe(true);
    expect(created).toBe("");
    expect(host.logCount()).toBe(1);
  });
});
