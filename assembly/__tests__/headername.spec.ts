import { keyHeaderName as keyHeaderBytes } from "../filter/headername";

function keyHeaderName(prefix: string, key: string): string {
  return String.UTF8.decode(keyHeaderBytes(prefix, key));
}

describe("keyHeaderName", () => {
  it("encodes the examples of docs/behaviour.md, What the filter writes", () => {
    expect(keyHeaderName("x-dynamic-subset-", "version")).toBe("x-dynamic-subset-version");
    expect(keyHeaderName("x-dynamic-subset-", "%ip%")).toBe("x-dynamic-subset-%25ip%25");
    expect(keyHeaderName("x-dynamic-subset-", "app.kubernetes.io/version")).toBe(
      "x-dynamic-subset-app.kubernetes.io%2fversion",
    );
    expect(keyHeaderName("x-dynamic-subset-", "Version")).toBe("x-dynamic-subset-%56ersion");
  });

  it("keeps [a-z0-9._-] and encodes every other UTF-8 byte in lower-case hex", () => {
    expect(keyHeaderName("p-", "a_b.c-9")).toBe("p-a_b.c-9");
    expect(keyHeaderName("p-", "a b:Z")).toBe("p-a%20b%3a%5a");
    expect(keyHeaderName("p-", "é")).toBe("p-%c3%a9");
  });

  it("gives distinct names to keys that differ only in case", () => {
    expect(keyHeaderName("p-", "stage")).not.toBe(keyHeaderName("p-", "Stage"));
  });
});
