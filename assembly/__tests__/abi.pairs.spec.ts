import { HeaderPair, propertyPath, serializePairs } from "../abi/pairs";
import { b, hex, raw } from "./abi.testhost";

describe("serializePairs (the header-pairs format Envoy's PairsUtil reads)", () => {
  it("writes count, the length table, then NUL-terminated names and values", () => {
    const bytes = serializePairs([new HeaderPair(b("a"), b("1")), new HeaderPair(b("bc"), b("23"))]);
    expect(hex(bytes)).toBe(
      "02000000" + // count 2
        "01000000" +
        "01000000" + // "a" / "1"
        "02000000" +
        "02000000" + // "bc" / "23"
        "6100" +
        "3100" +
        "626300" +
        "323300",
    );
  });

  it("keeps binary values byte for byte, NULs and invalid UTF-8 included", () => {
    const bytes = serializePairs([new HeaderPair(b("x"), raw([0xff, 0x00, 0xfe]))]);
    expect(hex(bytes)).toBe("01000000" + "01000000" + "03000000" + "7800" + "ff00fe00");
  });

  it("writes an empty value as length 0 followed by its NUL", () => {
    const bytes = serializePairs([new HeaderPair(b("x-empty"), new ArrayBuffer(0))]);
    expect(hex(bytes)).toBe("01000000" + "07000000" + "00000000" + hex(b("x-empty")) + "00" + "00");
  });

  it("serializes no pairs as a bare zero count", () => {
    expect(hex(serializePairs([]))).toBe("00000000");
  });

  it("uses little-endian lengths above 255", () => {
    const value = new ArrayBuffer(300);
    const bytes = serializePairs([new HeaderPair(b("k"), value)]);
    expect(hex(bytes.slice(0, 12))).toBe("01000000" + "01000000" + "2c010000");
    expect(bytes.byteLength).toBe(12 + 2 + 301);
  });
});

describe("propertyPath (NUL-separated segments, no trailing NUL)", () => {
  it("joins segments with a single NUL", () => {
    expect(hex(propertyPath(["xds", "route_name"]))).toBe(hex(b("xds")) + "00" + hex(b("route_name")));
  });

  it("encodes a single segment as itself", () => {
    expect(hex(propertyPath(["dynamic_subset"]))).toBe(hex(b("dynamic_subset")));
  });

  it("encodes segments as UTF-8", () => {
    expect(hex(propertyPath(["request", "headers", "x-é"]))).toBe(
      hex(b("request")) + "00" + hex(b("headers")) + "00" + "782dc3a9",
    );
  });

  it("keeps empty segments as separators", () => {
    expect(hex(propertyPath(["a", "", "b"]))).toBe("61" + "00" + "00" + "62");
  });

  it("gives no bytes for no segments", () => {
    expect(propertyPath([]).byteLength).toBe(0);
  });
});
