import { LogLevel } from "../abi/enums";
import { DynamicSubsetRoot } from "../filter/plugin";
import { host } from "./abi.testhost";

// The root context against the stub host, for what the emulator cannot make Envoy do. The rest of plugin.ts
// runs against the compiled filter in test/filter/.

describe("a host that withholds the plugin configuration", () => {
  it("rejects it with one error line", () => {
    host.reset(); // the stub answers proxy_get_buffer_bytes with NotFound
    expect(new DynamicSubsetRoot(1).onConfigure(12)).toBe(false);
    let errors = "";
    for (let i = 0; i < host.logCount(); i++) {
      if (host.logLevel(i) == LogLevel.Error) errors += host.logMessage(i);
    }
    expect(errors).toBe("configuration: the host did not hand over the plugin configuration");
  });

  it("treats an empty one as an empty configuration", () => {
    host.reset();
    expect(new DynamicSubsetRoot(2).onConfigure(0)).toBe(true);
    expect(host.logMessage(host.logCount() - 1)).toBe(
      "configured: mode=metadata services=0 routes=0 selectors=0 internal_headers=2",
    );
  });
});
