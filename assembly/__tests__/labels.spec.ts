import { isLabelValue, isIpLiteral } from "../filter/labels";

function label(s: string): bool {
  const b = String.UTF8.encode(s);
  return isLabelValue(changetype<usize>(b), b.byteLength);
}

function ip(s: string): bool {
  const b = String.UTF8.encode(s);
  return isIpLiteral(changetype<usize>(b), b.byteLength);
}

function bytesOf(values: u8[]): ArrayBuffer {
  const b = new ArrayBuffer(values.length);
  for (let i = 0; i < values.length; i++) store<u8>(changetype<usize>(b) + <usize>i, values[i]);
  return b;
}

describe("isLabelValue", () => {
  it("accepts Kubernetes label values", () => {
    expect(label("v1")).toBe(true);
    expect(label("a")).toBe(true);
    expect(label("7")).toBe(true);
    expect(label("prod")).toBe(true);
    expect(label("My_Value-1.2")).toBe(true);
    expect(label("a".repeat(63))).toBe(true);
  });

  it("rejects empty, too long, bad first/last and bad middle bytes", () => {
    expect(label("")).toBe(false);
    expect(label("a".repeat(64))).toBe(false);
    expect(label("-a")).toBe(false);
    expect(label("a-")).toBe(false);
    expect(label("_a")).toBe(false);
    expect(label("a.")).toBe(false);
    expect(label("a b")).toBe(false);
    expect(label("a/b")).toBe(false);
    expect(label("~invalid~")).toBe(false);
    expect(label("dev,prod")).toBe(false);
    expect(label("ümlaut")).toBe(false);
  });

  it("rejects binary bytes without reading past the value", () => {
    const b = bytesOf([0x61, 0x00, 0x62]);
    expect(isLabelValue(changetype<usize>(b), b.byteLength)).toBe(false);
    const invalidUtf8 = bytesOf([0x61, 0xff, 0xfe, 0x62]);
    expect(isLabelValue(changetype<usize>(invalidUtf8), invalidUtf8.byteLength)).toBe(false);
    // Only the first `len` bytes count.
    const longer = String.UTF8.encode("ab-");
    expect(isLabelValue(changetype<usize>(longer), 2)).toBe(true);
  });
});

describe("isIpLiteral", () => {
  it("accepts IPv4 dotted quads", () => {
    expect(ip("192.168.0.6")).toBe(true);
    expect(ip("0.0.0.0")).toBe(true);
    expect(ip("255.255.255.255")).toBe(true);
    expect(ip("10.0.100.1")).toBe(true);
  });

  it("rejects malformed IPv4, including leading zeros (ambiguous octal)", () => {
    expect(ip("256.1.1.1")).toBe(false);
    expect(ip("1.2.3")).toBe(false);
    expect(ip("1.2.3.4.5")).toBe(false);
    expect(ip("1.2.3.4.")).toBe(false);
    expect(ip(".1.2.3.4")).toBe(false);
    expect(ip("1..2.3")).toBe(false);
    expect(ip("01.2.3.4")).toBe(false);
    expect(ip("1.2.3.004")).toBe(false);
    expect(ip("1.2.3.1000")).toBe(false);
    expect(ip("1.2.3.4:80")).toBe(false);
    expect(ip("1.2.3.a")).toBe(false);
    expect(ip(" 1.2.3.4")).toBe(false);
    expect(ip("")).toBe(false);
  });

  it("accepts IPv6 with :: compression and embedded IPv4", () => {
    expect(ip("::")).toBe(true);
    expect(ip("::1")).toBe(true);
    expect(ip("1::")).toBe(true);
    expect(ip("fe80::1")).toBe(true);
    expect(ip("2001:db8::8a2e:370:7334")).toBe(true);
    expect(ip("2001:0db8:0000:0000:0000:ff00:0042:8329")).toBe(true);
    expect(ip("2001:DB8::1")).toBe(true);
    expect(ip("1:2:3:4:5:6:7::")).toBe(true);
    expect(ip("::ffff:192.168.0.6")).toBe(true);
    expect(ip("1:2:3:4:5:6:1.2.3.4")).toBe(true);
    expect(ip("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")).toBe(true);
  });

  it("rejects malformed IPv6, zone ids and brackets", () => {
    expect(ip(":")).toBe(false);
    expect(ip(":::")).toBe(false);
    expect(ip(":1")).toBe(false);
    expect(ip("1:")).toBe(false);
    expect(ip("1:::2")).toBe(false);
    expect(ip("1::2::3")).toBe(false);
    expect(ip("1:2:3:4:5:6:7")).toBe(false);
    expect(ip("1:2:3:4:5:6:7:8:9")).toBe(false);
    expect(ip("1::2:3:4:5:6:7:8")).toBe(false);
    expect(ip("12345::1")).toBe(false);
    expect(ip("g::1")).toBe(false);
    expect(ip("fe80::1%eth0")).toBe(false);
    expect(ip("[::1]")).toBe(false);
    expect(ip("1:2:3:4:5:6:7:1.2.3.4")).toBe(false);
    expect(ip("::1.2.3")).toBe(false);
    expect(ip("::1.2.3.4:5")).toBe(false);
    expect(ip("::01.2.3.4")).toBe(false);
    expect(ip("1:2:3:4:5:6:7:8".repeat(4))).toBe(false);
  });

  it("never reads past the value on hostile bytes", () => {
    const b = bytesOf([0x3a, 0x3a, 0x00, 0xff]);
    expect(isIpLiteral(changetype<usize>(b), b.byteLength)).toBe(false);
    const prefix = String.UTF8.encode("::1:zz");
    expect(isIpLiteral(changetype<usize>(prefix), 3)).toBe(true);
  });
});
