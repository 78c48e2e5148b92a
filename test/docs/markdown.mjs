// What the docs check (links.test.mjs) reads in markdown and in code, as GitHub renders and a reader follows it:
//
//   headingsOf(text)              the headings of a markdown text (ATX `#`, outside fenced code), as rendered text
//   anchorsOf(text)               the `#anchor`s GitHub gives those headings (duplicates get -1, -2, ...)
//   slugOf(heading)               GitHub's anchor for one heading's rendered text
//   linksOf(text)                 the inline links [text](target) outside code: [{ target, line }]
//   citationsOf(text)             citations of headings by name, e.g. `docs/behaviour.md "Routing decision"`:
//                                 [{ file, heading, line }] (a citation may run across comment lines)
//   anchorCitationsOf(text)       `<path>.md#anchor` written in code or prose: [{ file, anchor, line }]
//   citesHeading(text, heading)   whether a cited heading names a heading of the text, or a bold lead-in (**X.**)
//   sectionNumberCitationsOf(text) citations by section number (`SPEC §4`, `abi.md §7.1`): [{ text, line }]

/** The lines of a markdown text with fenced code blocks blanked (kept as "" so line numbers stay). */
function proseLines(text) {
  let fence = null;
  return text.split("\n").map((line) => {
    const open = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (open && open[1][0] === fence[0] && open[1].length >= fence.length) fence = null;
      return "";
    }
    if (open) {
      fence = open[1];
      return "";
    }
    return line;
  });
}

/** A heading's or a label's markdown as GitHub renders it to text: code spans, links and emphasis unwrapped. */
function renderedText(markdown) {
  return markdown
    .replace(/`([^`]*)`/g, "$1")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/(\*\*|__)(.+?)\1/g, "$2")
    .replace(/(^|\W)[*_](.+?)[*_](?=\W|$)/g, "$1$2")
    .trim();
}

export function headingsOf(text) {
  return proseLines(text)
    .map((line) => /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+\s*)?$/.exec(line))
    .filter(Boolean)
    .map((m) => renderedText(m[1]));
}

/** GitHub's slug (github-slugger): lower case, everything but letters, digits, marks, `-`, `_` and spaces
 * dropped, each space a `-`. */
export function slugOf(heading) {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

export function anchorsOf(text) {
  const seen = new Map();
  const anchors = new Set();
  for (const heading of headingsOf(text)) {
    const slug = slugOf(heading);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  for (const m of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(m[1]);
  return anchors;
}

export function linksOf(text) {
  const links = [];
  proseLines(text).forEach((line, i) => {
    const prose = line.replace(/`[^`]*`/g, (code) => " ".repeat(code.length));
    for (const m of prose.matchAll(/!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      links.push({ target: m[1], line: i + 1 });
  });
  return links;
}

// `docs/behaviour.md "Routing decision"`, `docs/abi.md, "Call order" and "Shutdown"`, `README "Istio", "Who loads
// the filter"`: a markdown file of the repository, then one or more quoted headings separated by commas or `and`.
const CITATION = /(?:((?:[\w.-]+\/)*[\w.-]+\.md),?|\b(README))(\s+"[^"\n]+"(?:(?:,\s*|\s+and\s+)"[^"\n]+")*)/g;

/** The text with comment continuations joined (`// `, ` * `, `# ` at a line's start), so that a citation broken
 * across comment lines is read whole; `lineAt(offset)` maps back to the 1-based line. */
function joinedComments(text) {
  const lines = text.split("\n");
  const starts = [];
  let joined = "";
  for (const line of lines) {
    starts.push(joined.length);
    joined += line.replace(/^\s*(?:\/\/|\*|#)?\s*/, "") + " ";
  }
  const lineAt = (offset) => starts.findLastIndex((s) => s <= offset) + 1;
  return { joined, lineAt };
}

export function citationsOf(text) {
  const { joined, lineAt } = joinedComments(text);
  const citations = [];
  for (const m of joined.matchAll(CITATION)) {
    const file = m[2] === "README" ? "README.md" : m[1];
    // a heading inside a string literal may carry escapes (`Envoy\'s`)
    for (const q of m[3].matchAll(/"([^"]+)"/g))
      citations.push({ file, heading: q[1].replace(/\\(.)/g, "$1"), line: lineAt(m.index) });
  }
  return citations;
}

export function anchorCitationsOf(text) {
  const citations = [];
  text.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(/((?:[\w.-]+\/)*[\w.-]+\.md)#([\w%-]+)/g))
      citations.push({ file: m[1], anchor: m[2], line: i + 1 });
  });
  return citations;
}

/** A cited heading exists: a heading with that text (or that text then `:`), or a paragraph labelled **text.** (or
 * **text:**), the way README.md labels its first-screen paragraphs. */
export function citesHeading(text, heading) {
  if (headingsOf(text).some((h) => h === heading || h.startsWith(`${heading}:`))) return true;
  return proseLines(text).some((line) => {
    const lead = /^\s*(?:[-*]\s+)?\*\*(.+?)[.:]\*\*/.exec(line);
    return lead !== null && renderedText(lead[1]) === heading;
  });
}

/** The project's docs have no numbered sections: a `SPEC §n` or `<file>.md §n` citation points nowhere. */
export function sectionNumberCitationsOf(text) {
  const citations = [];
  text.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(/\b(?:SPEC|[\w./-]+\.md)(?:'s)?,?\s+§\s*\d[\d.]*/g))
      citations.push({ text: m[0], line: i + 1 });
  });
  return citations;
}
