// The abort handler Envoy builds use instead of env.abort (asconfig "use": abort=...).
import { proxyAbort } from "../abi/abort";
import { LogLevel } from "../abi/enums";
import { host } from "./abi.testhost";

describe("proxyAbort", () => {
  beforeEach(() => host.reset());

  it("logs one critical line naming the message and the place, then traps", () => {
    expect(() => {
      proxyAbort("Map key not found", "~lib/map.ts", 105, 17);
    }).toThrow();
    expect(host.logCount()).toBe(1);
    expect(host.logLevel(0)).toBe(LogLevel.Critical);
    expect(host.logMessage(0)).toBe("abort: Map key not found at ~lib/map.ts:105:17");
  });

  it("copes with no message and no file name", () => {
    expect(() => {
      proxyAbort(null, null, 0, 0);
    }).toThrow();
    expect(host.logMessage(0)).toBe("abort: ");
  });

  it("writes non-ASCII as '?' and cuts the line at 255 bytes", () => {
    expect(() => {
      proxyAbort("é" + "x".repeat(400), "f.ts", 1, 2);
    }).toThrow();
    const line = host.logMessage(0);
    expect(line.length).toBe(255);
    expect(line.startsWith("abort: ?xxx")).toBe(true);
  });
});
