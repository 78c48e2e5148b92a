// The key-source parsers (assembly/filter/sources/) on their own: what they find, which occurrence wins, what
// they refuse, and that no input (hostile lengths, bytes, structure) makes them read outside what they are given.
import { findBaggageMember, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS } from "../filter/sources/baggage";
import { isTokenByte, PercentDecoder, percentDecode, Span } from "../filter/sources/bytes";
import { findCookie } from "../filter/sources/cookie";
import { findQueryParameter } from "../filter/sources/query";

const span = new Span();
const decoder = new PercentDecoder();
const NOT_FOUND = "<none>";

/**
 * Runs a finder on `text` placed at the end of a larger buffer with guard bytes before it, so that a read past
 * either end would pick up a '=' or ';' and show; returns the found value or NOT_FOUND.
 */
function find(kind: string, text: string, name: string): string {
  const bytes = String.UTF8.encode(text);
  const guarded = new ArrayBuffer(bytes.byteLength + 16);
  memory.fill(changetype<usize>(guarded), 0x3d, 16); // '=' guard
  memory.copy(changetype<usize>(guarded) + 16, changetype<usize>(bytes), <usize>bytes.byteLength);
  const ptr = changetype<usize>(guarded) + 16;
  const key = String.UTF8.encode(name);
  const keyPtr = changetype<usize>(key);
  let found = false;
  if (kind == "cookie") found = findCookie(ptr, bytes.byteLength, keyPtr, key.byteLength, span);
  else if (kind == "query") found = findQueryParameter(ptr, bytes.byteLength, keyPtr, key.byteLength, decoder, span);
  else found = findBaggageMember(ptr, bytes.byteLength, keyPtr, key.byteLength, span);
  if (!found) return NOT_FOUND;
  expect(span.ptr >= ptr && span.ptr + <usize>span.length <= ptr + <usize>bytes.byteLength).toBe(true, "in bounds");
  return String.UTF8.decodeUnsafe(span.ptr, <usize>span.length);
}

function cookie(header: string, name: string): string {
  return find("cookie", header, name);
}

function query(path: string, name: string): string {
  return find("query", path, name);
}

function baggage(header: string, key: string): string {
  return find("baggage", header, key);
}

/** percentDecode of `text` into `capacity` bytes: the decoded text, or "<too long>". */
function decoded(text: string, plusIsSpace: bool, capacity: i32 = 63): string {
  const bytes = String.UTF8.encode(text);
  span.set(changetype<usize>(bytes), bytes.byteLength);
  const out = new ArrayBuffer(capacity);
  const n = percentDecode(decoder, span, plusIsSpace, changetype<usize>(out), capacity);
  return n < 0 ? "<too long>" : String.UTF8.decodeUnsafe(changetype<usize>(out), <usize>n);
}

describe("cookie (RFC 6265 Cookie header)", () => {
  it("finds a cookie among others, with the '; ' separator of user agents and Envoy's HTTP/2 join", () => {
    expect(cookie("stage=dev", "stage")).toBe("dev");
    expect(cookie("session=abc; stage=dev; theme=dark", "stage")).toBe("dev");
    expect(cookie("a=1; b=2; stage=dev", "stage")).toBe("dev");
    expect(cookie("session=abc; theme=dark", "stage")).toBe(NOT_FOUND);
  });

  it("takes the first cookie of a name (the most specific path, RFC 6265 §5.4)", () => {
    expect(cookie("stage=dev; stage=prod", "stage")).toBe("dev");
  });

  it("matches names exactly: case-sensitive, whole names, not a suffix or prefix", () => {
    expect(cookie("Stage=dev", "stage")).toBe(NOT_FOUND);
    expect(cookie("xstage=dev; stagex=qa", "stage")).toBe(NOT_FOUND);
    expect(cookie("x_stage=dev; stage=qa", "stage")).toBe("qa");
  });

  it("drops whitespace around names and values, and one pair of quotes around a value", () => {
    expect(cookie("  stage =  dev  ;x=1", "stage")).toBe("dev");
    expect(cookie("a=1;stage=dev", "stage")).toBe("dev");
    expect(cookie('stage="dev"', "stage")).toBe("dev");
    expect(cookie('stage=""', "stage")).toBe("");
    expect(cookie('stage="dev', "stage")).toBe('"dev');
    expect(cookie('stage="', "stage")).toBe('"');
  });

  it("gives an empty value as found-but-empty (the caller then uses the default)", () => {
    expect(cookie("stage=; a=1", "stage")).toBe("");
    expect(cookie("stage=", "stage")).toBe("");
  });

  it("keeps '=' inside a value and skips pieces without '='", () => {
    expect(cookie("token=a=b; stage=dev", "token")).toBe("a=b");
    expect(cookie("stage; flag; stage=dev", "stage")).toBe("dev");
    expect(cookie("garbage;;; ;stage=qa", "stage")).toBe("qa");
  });

  it("survives hostile headers: empty, separators only, binary bytes, very long", () => {
    expect(cookie("", "stage")).toBe(NOT_FOUND);
    expect(cookie(";;;;", "stage")).toBe(NOT_FOUND);
    expect(cookie("=;=;=", "stage")).toBe(NOT_FOUND);
    expect(cookie("stage=\x00\xff\x01", "stage")).toBe("\x00\xff\x01");
    expect(cookie("a=" + "x".repeat(100000) + "; stage=dev", "stage")).toBe("dev");
    expect(cookie(";".repeat(50000) + "stage=dev", "stage")).toBe("dev");
  });
});

describe("query (parameters of :path)", () => {
  it("finds a parameter after '?', among others", () => {
    expect(query("/hello?stage=dev", "stage")).toBe("dev");
    expect(query("/hello?name=bench&stage=dev&x=1", "stage")).toBe("dev");
    expect(query("/hello", "stage")).toBe(NOT_FOUND);
    expect(query("/hello?", "stage")).toBe(NOT_FOUND);
    expect(query("/stage=dev", "stage")).toBe(NOT_FOUND);
  });

  it("takes the first parameter of a name, like URLSearchParams.get", () => {
    expect(query("/?stage=dev&stage=prod", "stage")).toBe("dev");
  });

  it("returns the value still encoded (the caller decodes it, bounded)", () => {
    expect(query("/?stage=d%65v", "stage")).toBe("d%65v");
    expect(query("/?stage=a+b", "stage")).toBe("a+b");
  });

  it("compares decoded names: %XX and '+' in a name count as what they stand for", () => {
    expect(query("/?st%61ge=dev", "stage")).toBe("dev");
    expect(query("/?%73%74%61%67%65=dev", "stage")).toBe("dev");
    expect(query("/?the+stage=dev", "the stage")).toBe("dev");
    expect(query("/?filter%5Bstage%5D=dev", "filter[stage]")).toBe("dev");
    expect(query("/?filter[stage]=dev", "filter[stage]")).toBe("dev");
    expect(query("/?Stage=dev", "stage")).toBe(NOT_FOUND);
    expect(query("/?stage%=dev", "stage")).toBe(NOT_FOUND);
    expect(query("/?stag=dev&stages=qa", "stage")).toBe(NOT_FOUND);
  });

  it("stops at '#', skips empty parameters, and reads a parameter without '=' as empty", () => {
    expect(query("/?x=1#stage=dev", "stage")).toBe(NOT_FOUND);
    expect(query("/#?stage=dev", "stage")).toBe(NOT_FOUND);
    expect(query("/?&&stage=dev&&", "stage")).toBe("dev");
    expect(query("/?stage&x=1", "stage")).toBe("");
    expect(query("/?stage=", "stage")).toBe("");
    expect(query("/?stage=a=b", "stage")).toBe("a=b");
    expect(query("/?a=1?stage=dev", "stage")).toBe(NOT_FOUND);
  });

  it("does not take ';' for a separator (WHATWG form encoding, Go since 1.17)", () => {
    expect(query("/?x=1;stage=dev", "stage")).toBe(NOT_FOUND);
  });

  it("survives hostile paths: lone '%', truncated escapes, binary bytes, very long", () => {
    expect(query("", "stage")).toBe(NOT_FOUND);
    expect(query("?", "stage")).toBe(NOT_FOUND);
    expect(query("/?%", "stage")).toBe(NOT_FOUND);
    expect(query("/?%7", "stage")).toBe(NOT_FOUND);
    expect(query("/?stage=%", "stage")).toBe("%");
    expect(query("/?\x00\xff=1&stage=\xfe", "stage")).toBe("\xfe");
    expect(query("/?" + "a=1&".repeat(20000) + "stage=dev", "stage")).toBe("dev");
    expect(query("/?" + "%".repeat(50000) + "&stage=dev", "stage")).toBe("dev");
  });
});

describe("baggage (W3C Baggage)", () => {
  it("finds a member among others, with optional whitespace", () => {
    expect(baggage("stage=dev", "stage")).toBe("dev");
    expect(baggage("userId=alice,stage=dev,isProduction=false", "stage")).toBe("dev");
    expect(baggage("userId = alice , stage =\tdev ,x=1", "stage")).toBe("dev");
    expect(baggage("userId=alice", "stage")).toBe(NOT_FOUND);
  });

  it("ignores properties after ';' (and checks them)", () => {
    expect(baggage("stage=dev;lane;ttl=3, x=1", "stage")).toBe("dev");
    expect(baggage("stage=dev ; p = v ;q", "stage")).toBe("dev");
    expect(baggage("x=1;stage=qa,stage=dev", "stage")).toBe("dev");
    expect(baggage("x=1;stage=qa", "stage")).toBe(NOT_FOUND);
  });

  it("takes the last member of a key, as OpenTelemetry SDKs keep and forward it", () => {
    expect(baggage("stage=dev,stage=prod", "stage")).toBe("prod");
    expect(baggage("stage=dev,x=1,stage=qa,y=2", "stage")).toBe("qa");
  });

  it("returns the value still encoded, '=' included", () => {
    expect(baggage("stage=d%65v", "stage")).toBe("d%65v");
    expect(baggage("stage=a=b", "stage")).toBe("a=b");
    expect(baggage("stage=", "stage")).toBe("");
  });

  it("matches keys exactly and case-sensitively", () => {
    expect(baggage("Stage=dev", "stage")).toBe(NOT_FOUND);
    expect(baggage("stages=dev,xstage=qa", "stage")).toBe(NOT_FOUND);
  });

  it("treats a malformed header as having no members, for every key", () => {
    const malformed = [
      "",
      " ",
      "stage=dev,",
      ",stage=dev",
      "stage=dev,,x=1",
      "stage",
      "stage dev",
      "=dev",
      "stage=dev x",
      'stage="dev"',
      "stage=dev\\",
      "stage=dév",
      "x=1;;stage=dev",
      "stage=dev;=v",
      "st@ge=dev",
      "stage=dev,other key=1",
      "stage=dev\x00",
      "stage=dev;p=a b",
    ];
    for (let i = 0; i < malformed.length; i++) {
      expect(baggage(malformed[i], "stage")).toBe(NOT_FOUND, malformed[i]);
      expect(baggage(malformed[i] + ",x=1", "x")).toBe(NOT_FOUND, malformed[i]);
    }
  });

  it("reads a header up to the W3C limits (64 members, 8192 bytes) and none beyond", () => {
    let members = "stage=dev";
    for (let i = 1; i < MAX_BAGGAGE_MEMBERS; i++) members += ",k" + i.toString() + "=v";
    expect(baggage(members, "stage")).toBe("dev");
    expect(baggage(members + ",k=v", "stage")).toBe(NOT_FOUND);
    const padding = "p=" + "x".repeat(MAX_BAGGAGE_BYTES - 12); // with ",stage=dev": 8192 bytes
    expect(baggage(padding + ",stage=dev", "stage")).toBe("dev");
    expect(baggage(padding + ",stage=dev2", "stage")).toBe(NOT_FOUND);
    expect(baggage("stage=dev," + "x".repeat(100000) + "=1", "stage")).toBe(NOT_FOUND);
  });
});

describe("percentDecode", () => {
  it("decodes %XX in either case, and '+' only in form encoding", () => {
    expect(decoded("d%65v", false)).toBe("dev");
    expect(decoded("%64%45%76", false)).toBe("dEv");
    expect(decoded("%4a%4A", false)).toBe("JJ");
    expect(decoded("a+b", true)).toBe("a b");
    expect(decoded("a+b", false)).toBe("a+b");
    expect(decoded("a%2Bb", true)).toBe("a+b");
  });

  it("keeps a '%' that starts no valid escape, as the WHATWG URL standard does", () => {
    expect(decoded("%", false)).toBe("%");
    expect(decoded("%4", false)).toBe("%4");
    expect(decoded("%zz1", false)).toBe("%zz1");
    expect(decoded("%%41", false)).toBe("%A");
  });

  it("stops, without writing past it, at the capacity (longer than any label value)", () => {
    expect(decoded("a".repeat(63), false)).toBe("a".repeat(63));
    expect(decoded("a".repeat(64), false)).toBe("<too long>");
    expect(decoded("%41".repeat(63), false)).toBe("A".repeat(63));
    expect(decoded("%41".repeat(64), false)).toBe("<too long>");
    expect(decoded("abc", false, 0)).toBe("<too long>");
    expect(decoded("", false, 0)).toBe("");
  });
});

describe("isTokenByte (RFC 9110 tchar)", () => {
  it("accepts letters, digits and the tchar punctuation, and nothing else", () => {
    const tchars = "!#$%&'*+-.^_`|~0123456789abcxyzABCXYZ";
    for (let i = 0; i < tchars.length; i++) expect(isTokenByte(tchars.charCodeAt(i))).toBe(true, tchars.charAt(i));
    const others = ' "(),/:;<=>?@[\\]{}\t\x00\x7f';
    for (let i = 0; i < others.length; i++) expect(isTokenByte(others.charCodeAt(i))).toBe(false, others.charAt(i));
    expect(isTokenByte(0xe9)).toBe(false);
    expect(isTokenByte(0x10000)).toBe(false);
  });
});
