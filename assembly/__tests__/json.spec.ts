import { MAX_JSON_DEPTH as MAX_DEPTH } from "../../src/config/constants";
import { JsonDocument, JsonKind } from "../filter/json/document";
import { parseJson } from "../filter/json/parser";

/** "ok" or "<offset>: <message>" for a UTF-8 text */
function outcome(text: string): string {
  return outcomeOf(String.UTF8.encode(text));
}

function outcomeOf(buffer: ArrayBuffer): string {
  const result = parseJson(buffer);
  if (result.document != null) return "ok";
  return result.offset.toString() + ": " + (result.error as string);
}

function bytes(values: u8[]): ArrayBuffer {
  const buffer = new ArrayBuffer(values.length);
  for (let i = 0; i < values.length; i++) store<u8>(changetype<usize>(buffer) + <usize>i, values[i]);
  return buffer;
}

/** `"` + UTF-8 bytes + `"` as a JSON document */
function quoted(values: u8[]): ArrayBuffer {
  const all: u8[] = [0x22];
  for (let i = 0; i < values.length; i++) all.push(values[i]);
  all.push(0x22);
  return bytes(all);
}

function parse(text: string): JsonDocument {
  return parseJson(String.UTF8.encode(text)).document as JsonDocument;
}

function nested(depth: i32): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

describe("JSON values", () => {
  it("parses scalars of every kind", () => {
    let d = parse("null");
    expect(d.kind(d.root)).toBe(JsonKind.Null);
    d = parse("true");
    expect(d.kind(d.root)).toBe(JsonKind.True);
    d = parse(" false ");
    expect(d.kind(d.root)).toBe(JsonKind.False);
    d = parse('"abc"');
    expect(d.text(d.root)).toBe("abc");
    d = parse("-12.5e+3");
    expect(d.kind(d.root)).toBe(JsonKind.Number);
    expect(d.text(d.root)).toBe("-12.5e+3");
  });

  it("accepts every number form of the grammar", () => {
    const good = ["0", "-0", "7", "-19", "0.5", "1e9", "1E-9", "2.50e+01", "123456789012345678901234567890"];
    for (let i = 0; i < good.length; i++) expect(outcome(good[i])).toBe("ok", good[i]);
  });

  it("keeps object members in order with their values", () => {
    const d = parse(' { "a" : [1, {"b": null}], "c": "d" } ');
    const v = d.root;
    expect(d.kind(v)).toBe(JsonKind.Object);
    expect(d.length(v)).toBe(2);
    expect(d.key(v, 0)).toBe("a");
    expect(d.key(v, 1)).toBe("c");
    const list = d.item(v, 0);
    expect(d.length(list)).toBe(2);
    expect(d.text(d.item(list, 0))).toBe("1");
    expect(d.key(d.item(list, 1), 0)).toBe("b");
    expect(d.kind(d.item(d.item(list, 1), 0))).toBe(JsonKind.Null);
    expect(d.text(d.item(v, 1))).toBe("d");
    expect(d.duplicateKey(v)).toBeNull();
  });

  it("parses empty containers", () => {
    let d = parse("{}");
    expect(d.kind(d.root)).toBe(JsonKind.Object);
    expect(d.length(d.root)).toBe(0);
    d = parse("[ ]");
    expect(d.kind(d.root)).toBe(JsonKind.Array);
    d = parse("[{}, []]");
    expect(d.length(d.root)).toBe(2);
    expect(d.length(d.item(d.root, 1))).toBe(0);
  });

  it("decodes every escape", () => {
    let d = parse('"\\"\\\\\\/\\b\\f\\n\\r\\t"');
    expect(d.text(d.root)).toBe('"\\/\b\f\n\r\t');
    d = parse('"\\u0041\\u00e9\\u20AC"');
    expect(d.text(d.root)).toBe("Aé€");
    d = parse('"\\u0000"');
    expect(d.text(d.root)).toBe("\0");
  });

  it("joins a surrogate pair escape into one code point", () => {
    const d = parse('"x\\uD83D\\uDE00y"');
    expect(d.text(d.root)).toBe("x😀y");
    expect(d.text(d.root).codePointAt(1)).toBe(0x1f600);
  });

  it("decodes multi-byte UTF-8 of 2, 3 and 4 bytes", () => {
    let d = parse('"é€😀 ok"');
    expect(d.text(d.root)).toBe("é€😀 ok");
    d = parse('{"ключ": "значение"}');
    expect(d.key(d.root, 0)).toBe("ключ");
    expect(d.text(d.item(d.root, 0))).toBe("значение");
  });

  it("keeps the raw offset of plain strings only", () => {
    const d = parse('["ab", "a\\u0062", "é"]');
    expect(d.rawOffset(d.item(d.root, 0))).toBe(2);
    expect(d.rawOffset(d.item(d.root, 1))).toBe(-1);
    expect(d.rawOffset(d.item(d.root, 2))).toBe(-1);
  });

  it("shares repeated short strings without mixing different ones", () => {
    const d = parse('["version", "stage", "version", "versioN"]');
    expect(d.item(d.root, 0)).toBe(d.item(d.root, 2));
    expect(d.text(d.item(d.root, 3))).toBe("versioN");
    expect(d.text(d.item(d.root, 1))).toBe("stage");
  });

  it("keeps the first value of a repeated member name and records the name", () => {
    const d = parse('{"a": 1, "b": 2, "a": {"x": [3]}, "a": 4}');
    expect(d.length(d.root)).toBe(2);
    expect(d.text(d.item(d.root, 0))).toBe("1");
    expect(d.text(d.item(d.root, 1))).toBe("2");
    expect(d.duplicateKey(d.root)).toBe("a");
  });

  it("finds repeated names in large objects too", () => {
    let text = "{";
    for (let i = 0; i < 40; i++) text += '"k' + i.toString() + '": ' + i.toString() + ", ";
    text += '"k17": 0, "k40": 40}';
    const d = parse(text);
    expect(d.length(d.root)).toBe(41);
    expect(d.duplicateKey(d.root)).toBe("k17");
    expect(d.key(d.root, 40)).toBe("k40");
  });

  it("records repeated names per object", () => {
    const d = parse('[{"a": 1}, {"b": 1, "b": 2}]');
    expect(d.duplicateKey(d.item(d.root, 0))).toBeNull();
    expect(d.duplicateKey(d.item(d.root, 1))).toBe("b");
  });
});

describe("JSON syntax errors name the byte offset", () => {
  it("reports structural errors", () => {
    expect(outcome("")).toBe("0: unexpected end of input");
    expect(outcome("   ")).toBe("3: unexpected end of input");
    expect(outcome('{"a": 1,}')).toBe("8: expected a string (object member name)");
    expect(outcome('{"a" 1}')).toBe("5: expected ':'");
    expect(outcome('{"a": 1 "b": 2}')).toBe("8: expected ',' or '}'");
    expect(outcome("[1 2]")).toBe("3: expected ',' or ']'");
    expect(outcome("[1,]")).toBe("3: expected a value");
    expect(outcome('{"a": }')).toBe("6: expected a value");
    expect(outcome('{"a": 1')).toBe("7: unexpected end of input");
    expect(outcome("[")).toBe("1: unexpected end of input");
    expect(outcome('{"a"')).toBe("4: unexpected end of input");
    expect(outcome("{} {}")).toBe("3: unexpected data after the JSON value");
    expect(outcome("{'a': 1}")).toBe("1: expected a string (object member name)");
    expect(outcome("[1] x")).toBe("4: unexpected data after the JSON value");
  });

  it("rejects bad literals", () => {
    expect(outcome("tru")).toBe("3: invalid literal (expected 'true')");
    expect(outcome("[nul]")).toBe("4: invalid literal (expected 'null')");
    expect(outcome("True")).toBe("0: expected a value");
    expect(outcome("undefined")).toBe("0: expected a value");
  });

  it("rejects numbers outside the grammar", () => {
    expect(outcome("01")).toBe("1: unexpected data after the JSON value");
    expect(outcome("-")).toBe("1: invalid number: expected a digit");
    expect(outcome("1.")).toBe("2: invalid number: expected a digit after '.'");
    expect(outcome("[.5]")).toBe("1: expected a value");
    expect(outcome("1e")).toBe("2: invalid number: expected a digit in the exponent");
    expect(outcome("+1")).toBe("0: expected a value");
    expect(outcome("NaN")).toBe("0: expected a value");
    expect(outcome("0x10")).toBe("1: unexpected data after the JSON value");
  });

  it("rejects bad strings", () => {
    expect(outcome('"abc')).toBe("0: unterminated string");
    expect(outcome('["a\\x"]')).toBe("3: invalid escape");
    expect(outcome('"\\u12G4"')).toBe("1: invalid \\u escape");
    expect(outcome('"\\u12"')).toBe("1: invalid \\u escape");
    expect(outcome('"tab\there"')).toBe("4: control character in string");
    expect(outcome('"line\nbreak"')).toBe("5: control character in string");
    expect(outcome('"\\')).toBe("1: unexpected end of input");
  });

  it("rejects NUL bytes inside and outside strings", () => {
    expect(outcomeOf(quoted([0x61, 0x00, 0x62]))).toBe("2: control character in string");
    expect(outcomeOf(bytes([0x7b, 0x7d, 0x00]))).toBe("2: unexpected data after the JSON value");
    expect(outcomeOf(bytes([0x00]))).toBe("0: expected a value");
  });

  it("rejects lone surrogates in escapes", () => {
    expect(outcome('"\\uD800"')).toBe("1: lone surrogate in \\u escape");
    expect(outcome('"ab\\uDC00"')).toBe("3: lone surrogate in \\u escape");
    expect(outcome('"\\uD83D\\u0041"')).toBe("1: lone surrogate in \\u escape");
    expect(outcome('"\\uD83Dx"')).toBe("1: lone surrogate in \\u escape");
    expect(outcome('"\\uD83D\\uD83D"')).toBe("1: lone surrogate in \\u escape");
  });

  it("rejects invalid UTF-8 at the first byte of the bad sequence", () => {
    expect(outcomeOf(quoted([0xff]))).toBe("1: invalid UTF-8");
    expect(outcomeOf(quoted([0x61, 0x80]))).toBe("2: invalid UTF-8"); // stray continuation
    expect(outcomeOf(quoted([0xc0, 0x80]))).toBe("1: invalid UTF-8"); // overlong NUL
    expect(outcomeOf(quoted([0xe0, 0x80, 0xaf]))).toBe("1: invalid UTF-8"); // overlong '/'
    expect(outcomeOf(quoted([0xed, 0xa0, 0x80]))).toBe("1: invalid UTF-8"); // encoded surrogate
    expect(outcomeOf(quoted([0xf4, 0x90, 0x80, 0x80]))).toBe("1: invalid UTF-8"); // > U+10FFFF
    expect(outcomeOf(quoted([0xe2, 0x82]))).toBe("1: invalid UTF-8"); // truncated by the quote
    expect(outcomeOf(bytes([0x22, 0xe2, 0x82]))).toBe("1: invalid UTF-8"); // truncated by the end
    expect(outcomeOf(quoted([0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]))).toBe("ok");
  });

  it("rejects a byte order mark and bytes outside strings that are not JSON", () => {
    expect(outcomeOf(bytes([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toBe("0: expected a value");
    expect(outcomeOf(bytes([0x5b, 0xc3, 0xa9, 0x5d]))).toBe("1: expected a value");
  });
});

describe("JSON nesting", () => {
  it("accepts " + MAX_DEPTH.toString() + " levels", () => {
    expect(outcome(nested(MAX_DEPTH))).toBe("ok");
    expect(outcome('{"a":' + nested(MAX_DEPTH - 1) + "}")).toBe("ok");
  });

  it("rejects level " + (MAX_DEPTH + 1).toString() + " at its opening bracket", () => {
    expect(outcome(nested(MAX_DEPTH + 1))).toBe("32: nesting deeper than 32 levels");
    expect(outcome('{"a":' + nested(MAX_DEPTH))).toBe("36: nesting deeper than 32 levels");
  });

  it("rejects 100000 levels without trapping", () => {
    expect(outcome("[".repeat(100000))).toBe("32: nesting deeper than 32 levels");
    expect(outcome('{"a":'.repeat(100000))).toBe("160: nesting deeper than 32 levels");
  });

  it("can parse again after a failure", () => {
    expect(outcome(nested(40))).not.toBe("ok");
    expect(outcome(nested(MAX_DEPTH))).toBe("ok");
  });
});
