import { base64Encode as base64Bytes } from "../filter/base64";

function base64Encode(text: string): string {
  return String.UTF8.decode(base64Bytes(text));
}

describe("base64Encode", () => {
  it("encodes Envoy's header session-state example", () => {
    expect(base64Encode("1.2.3.4:80")).toBe("MS4yLjMuNDo4MA==");
  });

  it("pads to a multiple of four (RFC 4648 test vectors)", () => {
    expect(base64Encode("")).toBe("");
    expect(base64Encode("f")).toBe("Zg==");
    expect(base64Encode("fo")).toBe("Zm8=");
    expect(base64Encode("foo")).toBe("Zm9v");
    expect(base64Encode("foob")).toBe("Zm9vYg==");
    expect(base64Encode("fooba")).toBe("Zm9vYmE=");
    expect(base64Encode("foobar")).toBe("Zm9vYmFy");
  });

  it("encodes an IPv6 endpoint and bytes that use + and /", () => {
    expect(base64Encode("[::1]:8000")).toBe("Wzo6MV06ODAwMA==");
    expect(base64Encode("\u00fb\u00ff")).toBe("w7vDvw==");
  });
});
