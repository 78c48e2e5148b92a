// The docs stay honest: every relative link and #anchor in the repository's markdown (README.md, docs/, the
// READMEs of envoy/, emulator/, examples/) resolves as GitHub renders it, and every citation of a heading in code,
// tests and docs (`docs/behaviour.md "Routing decision"`, `README "Istio", "Who loads the filter"`,
// `docs/configuration.md#key-sources`) names a heading that exists, none cites a section number (`SPEC §4`), and
// none names a path of one machine. A renamed heading or a moved section fails here, naming the file and line that
// still point at it. The checker itself is tested first, on texts with known answers, so a checker that finds
// nothing cannot pass.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  anchorCitationsOf,
  anchorsOf,
  citationsOf,
  citesHeading,
  headingsOf,
  linksOf,
  sectionNumberCitationsOf,
  slugOf,
} from "./markdown.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SKIPPED_DIRS = new Set(["node_modules", "dist", "build"]);
const CODE = /\.(ts|mjs|js|cjs|json|ya?ml|sh|c|lua)$/;

/** Repository files (relative paths) whose name passes `keep`, outside hidden, installed and built folders. */
function filesOf(keep, dir = "") {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory())
      return entry.name.startsWith(".") || SKIPPED_DIRS.has(entry.name) ? [] : filesOf(keep, rel);
    return keep(entry.name) && entry.name !== "package-lock.json" ? [rel] : [];
  });
}

const read = (rel) => readFileSync(path.join(ROOT, rel), "utf8");
const markdownFiles = filesOf((name) => name.endsWith(".md"));
// This suite's own files hold broken citations on purpose (the checker's tests).
const codeFiles = filesOf((name) => CODE.test(name)).filter((f) => !f.startsWith(`test${path.sep}docs${path.sep}`));

/** Problems with one link of `from` (a repository path): [] when it resolves. */
function linkProblems(from, target) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return []; // https:, mailto:, ...: not this repository's
  const [rawPath, anchor] = target.split("#", 2);
  const file = rawPath === "" ? from : path.normalize(path.join(path.dirname(from), decodeURIComponent(rawPath)));
  if (file.startsWith("..")) return [`${target}: outside the repository`];
  if (!existsSync(path.join(ROOT, file))) return [`${target}: no file ${file}`];
  if (anchor === undefined) return [];
  if (statSync(path.join(ROOT, file)).isDirectory() || !file.endsWith(".md"))
    return [`${target}: an anchor into ${file}, which is not a markdown file`];
  return anchorsOf(read(file)).has(anchor) ? [] : [`${target}: ${file} has no heading with anchor #${anchor}`];
}

/** Problems with one `<file> "Heading"` citation: [] when the file has that heading. */
function citationProblems({ file, heading }) {
  if (!existsSync(path.join(ROOT, file))) return [`${file} "${heading}": no file ${file}`];
  return citesHeading(read(file), heading) ? [] : [`${file} "${heading}": ${file} has no heading "${heading}"`];
}

function anchorCitationProblems({ file, anchor }) {
  if (!existsSync(path.join(ROOT, file))) return [`${file}#${anchor}: no file ${file}`];
  return anchorsOf(read(file)).has(anchor) ? [] : [`${file}#${anchor}: ${file} has no heading with that anchor`];
}

// ---- the checker, on texts with known answers -------------------------------------------------------------------

test("checker: GitHub's anchors for headings with code, punctuation, symbols and repeats", () => {
  const text = [
    "# Title",
    "## Exit codes, and what is refused",
    "### `catalog` (catalog mode)",
    "### Strict %ip% pins",
    "## metadata_fallback_policy and fallback_list",
    "**Step 1 — resolve keys.** not a heading",
    "## Step 2 — validate [values](x.md)",
    "```sh",
    "# a comment in code, not a heading",
    "```",
    "## Title",
  ].join("\n");
  assert.deepEqual(headingsOf(text), [
    "Title",
    "Exit codes, and what is refused",
    "catalog (catalog mode)",
    "Strict %ip% pins",
    "metadata_fallback_policy and fallback_list",
    "Step 2 — validate values",
    "Title",
  ]);
  assert.deepEqual(
    [...anchorsOf(text)],
    [
      "title",
      "exit-codes-and-what-is-refused",
      "catalog-catalog-mode",
      "strict-ip-pins",
      "metadata_fallback_policy-and-fallback_list",
      "step-2--validate-values",
      "title-1",
    ],
  );
  assert.equal(slugOf("Envoy ≥ 1.33: what changed"), "envoy--133-what-changed");
});

test("checker: finds links outside code, and reports a missing file, a missing anchor and a missing heading", () => {
  const text = "See [a](docs/x.md#y), `[not](a-link.md)`, [b](https://example.com).\n```\n[c](in-code.md)\n```\n";
  assert.deepEqual(
    linksOf(text).map((l) => l.target),
    ["docs/x.md#y", "https://example.com"],
  );
  assert.deepEqual(linkProblems("README.md", "docs/no-such-file.md"), [
    "docs/no-such-file.md: no file docs/no-such-file.md",
  ]);
  assert.deepEqual(linkProblems("docs/README.md", "behaviour.md#no-such-heading"), [
    "behaviour.md#no-such-heading: docs/behaviour.md has no heading with anchor #no-such-heading",
  ]);
  assert.deepEqual(linkProblems("docs/README.md", "behaviour.md#routing-decision"), []);
  assert.deepEqual(linkProblems("envoy/README.md", "../docs/configuration.md#key-sources"), []);
  const cited = citationsOf(
    '// docs/behaviour.md "Routing decision"; README "Istio", "No such heading" (x), read(README, "utf8")\n' +
      '// (docs/abi.md, "Call order" and "What a trap\n// does"), shBlock("README.md", "**Key sources.**")',
  );
  assert.deepEqual(
    cited.map((c) => `${c.line}: ${c.file} ${c.heading}`),
    [
      "1: docs/behaviour.md Routing decision",
      "1: README.md Istio",
      "1: README.md No such heading",
      "2: docs/abi.md Call order",
      "2: docs/abi.md What a trap does",
    ],
  );
  assert.deepEqual(cited.flatMap(citationProblems), [
    'README.md "No such heading": README.md has no heading "No such heading"',
  ]);
  assert.deepEqual(
    anchorCitationsOf("see docs/configuration.md#key-sources and docs/envoy.md#nowhere").flatMap(
      anchorCitationProblems,
    ),
    ["docs/envoy.md#nowhere: docs/envoy.md has no heading with that anchor"],
  );
});

test("checker: citations by section number are found, RFC sections are not", () => {
  const text = '// (SPEC §10\'s bar), see abi.md §1.2.7 and envoy.md, §3\n// RFC 6265 §5.4, docs/abi.md "Metrics"';
  assert.deepEqual(
    sectionNumberCitationsOf(text).map((c) => `${c.line}: ${c.text}`),
    ["1: SPEC §10", "1: abi.md §1.2.7", "1: envoy.md, §3"],
  );
});

test("checker: a heading is cited by its text, by its text before a colon, or by a bold lead-in", () => {
  const text = "### Key sources: cookies, query parameters, baggage\n\n**Thirty seconds.** An example.\n";
  assert.ok(citesHeading(text, "Key sources: cookies, query parameters, baggage"));
  assert.ok(citesHeading(text, "Key sources"));
  assert.ok(citesHeading(text, "Thirty seconds"));
  assert.ok(!citesHeading(text, "Key"));
  assert.ok(!citesHeading(text, "An example"));
  assert.ok(!citesHeading("**The route token** guards the routes.", "The route token"), "bold text is no label");
});

// ---- the repository -------------------------------------------------------------------------------------------------

test("the repository's markdown is found: README.md, docs/, the example and emulator READMEs", () => {
  for (const f of ["README.md", "docs/README.md", "docs/behaviour.md", "envoy/README.md", "emulator/README.md"])
    assert.ok(markdownFiles.includes(f), f);
  assert.ok(markdownFiles.some((f) => f.startsWith("examples/")));
  assert.ok(codeFiles.includes("src/cli/usage.ts") && codeFiles.includes("assembly/filter/plugin.ts"));
});

for (const file of markdownFiles)
  test(`${file}: every relative link and #anchor resolves`, () => {
    const problems = linksOf(read(file)).flatMap(({ target, line }) =>
      linkProblems(file, target).map((p) => `${file}:${line}: ${p}`),
    );
    assert.deepEqual(problems, []);
  });

test('every citation of a heading (`docs/<file>.md "Heading"`, `README "Heading"`) names one that exists', () => {
  const problems = [...codeFiles, ...markdownFiles].flatMap((file) =>
    citationsOf(read(file)).flatMap((c) => citationProblems(c).map((p) => `${file}:${c.line}: ${p}`)),
  );
  assert.deepEqual(problems, []);
});

test("every `<file>.md#anchor` written in code names a heading that exists", () => {
  const problems = codeFiles.flatMap((file) =>
    anchorCitationsOf(read(file)).flatMap((c) => anchorCitationProblems(c).map((p) => `${file}:${c.line}: ${p}`)),
  );
  assert.deepEqual(problems, []);
});

test("nothing cites a section number (`SPEC §n`, `<file>.md §n`): the docs are cited by heading", () => {
  const problems = [...codeFiles, ...markdownFiles].flatMap((file) =>
    sectionNumberCitationsOf(read(file)).map((c) => `${file}:${c.line}: ${c.text}`),
  );
  assert.deepEqual(problems, []);
});

test("no path of one machine (/work/, /home/, /Users/) in code or docs: a clone must be able to follow every one", () => {
  const problems = [...codeFiles, ...markdownFiles].flatMap((file) =>
    read(file)
      .split("\n")
      .flatMap((line, i) =>
        /(^|[\s("'`=])\/(work|home|Users)\//.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [],
      ),
  );
  assert.deepEqual(problems, []);
});
