/**
 * File magic against what Zeek answers (research note §2.5 and check 7.3),
 * the DFA against V8's RegExp on every signature (where backtracking is
 * cheap enough to ask it), and the generated module against the generator
 * when `ZEEK_SRC` names a Zeek checkout or bare mirror.
 */

import assert from "node:assert/strict";
import {
  forBofBuffer,
  generateMagicModule,
  parseZeekRegex,
  readMagicSource,
  toRegExpSource,
  translateSignatures,
  UntranslatablePatternError,
} from "../../../scripts/gen_magic.ts";
import { createMagicMatcher, detectMime, matchingMimes, type MimeMatch } from "./magic.ts";
import {
  MAGIC_SIGNATURES,
  MAGIC_SIGNATURES_ZEEK_COMMIT,
  type MagicSignature,
} from "./magic_signatures.ts";
import { mulberry32 as prng } from "../../../testing/prng.ts";

/** One byte per char, as Zeek's string literals in the research note mean them. */
function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function latin1(data: Uint8Array): string {
  let s = "";
  for (const b of data) s += String.fromCharCode(b);
  return s;
}

function randomBytes(seed: number, length: number): Uint8Array {
  const next = prng(seed);
  return Uint8Array.from({ length }, () => Math.floor(next() * 256));
}

const COMPILED = MAGIC_SIGNATURES.map((s) => ({ ...s, re: new RegExp(s.pattern, "s") }));

/** What V8's backtracking RegExps say: each signature tried on its own. */
function regexpMatches(data: Uint8Array): MimeMatch[] {
  const text = latin1(data);
  const seen = new Map<string, MimeMatch>();
  for (const s of COMPILED) {
    if (s.re.test(text)) {
      seen.set(`${s.strength} ${s.mime}`, { strength: s.strength, mime: s.mime });
    }
  }
  return [...seen.values()].sort((a, b) =>
    b.strength - a.strength || (a.mime < b.mime ? -1 : a.mime > b.mime ? 1 : 0)
  );
}

Deno.test("the research note's examples get Zeek's types", () => {
  const cases: [string, string | undefined][] = [
    ["<html><body>", "text/html"],
    ['<?xml version="1.0"?><root/>', "application/xml"],
    ['{"a":1}', "text/json"],
    ["{}", undefined],
    ["%PDF-1.4\n%..", "application/pdf"],
    ["ok", undefined],
    ["abcdefghi", undefined],
    ["abcdefghij", "text/plain"],
    ["hello MZ world", "text/plain"],
    ["MZ\x90\x00\x03\x00\x00\x00", "application/x-dosexec"],
    ["\x1f\x8b\x08\x00\x00\x00\x00\x00", "application/x-gzip"],
    ["ab\x1f\x8b\x08\x00", undefined],
    ["\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"],
    ["\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"],
    ["GIF89a\x01\x00\x01\x00", "image/gif"],
    ["GIF87a", "image/gif"],
    ["gif8a", undefined],
    ["PK\x03\x04\x0a\x00\x00\x00", "application/zip"],
    ["-----BEGIN CERTIFICATE-----\nMIIB", "application/x-pem"],
  ];
  for (const [input, want] of cases) {
    assert.equal(detectMime(bytes(input)), want, JSON.stringify(input));
  }
});

Deno.test("every matching signature counts, best first, as in the note", () => {
  assert.deepEqual(matchingMimes(bytes("<html><body>")), [
    { strength: 100, mime: "text/html" },
    { strength: 20, mime: "text/html" },
    { strength: -20, mime: "text/plain" },
  ]);
  assert.deepEqual(matchingMimes(bytes("%PDF-1.4\n%..")), [
    { strength: 80, mime: "application/pdf" },
    { strength: -20, mime: "text/plain" },
  ]);
  assert.deepEqual(matchingMimes(bytes("{}")), []);
  assert.deepEqual(matchingMimes(new Uint8Array(0)), []);
  assert.equal(detectMime(new Uint8Array(0)), undefined);
});

Deno.test("check 7.3 of the research note prints Zeek's line", () => {
  const inputs = [
    "{}",
    '{"a":1}',
    "abcdefghi",
    "abcdefghij",
    "hello MZ world",
    "MZ\x90\x00",
    "<html><body>",
    "\x89PNG\x0d\x0a",
    "ab\x1f\x8b\x08",
  ];
  const line = inputs.map((s) => detectMime(bytes(s)) ?? "<unknown>").join(", ");
  assert.equal(
    line,
    "<unknown>, text/json, <unknown>, text/plain, text/plain, application/x-dosexec, " +
      "text/html, image/png, <unknown>",
  );
});

Deno.test("office containers: the generic OOXML prefix, and a docx beats zip", () => {
  const header = (name: string, flags = "\x14\x00\x06\x00") =>
    // Local file header: 26 bytes between the signature and the name.
    "PK\x03\x04" + flags + "\x08\x00" + "\x00".repeat(16) + String.fromCharCode(name.length) +
    "\x00\x00\x00" + name;
  const ooxml = header("[Content_Types].xml");
  assert.equal(detectMime(bytes(ooxml)), "application/vnd.openxmlformats-officedocument");
  const docx = ooxml + "<Types/>" + header("word/document.xml");
  assert.equal(
    detectMime(bytes(docx)),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  );
  assert.deepEqual(matchingMimes(bytes(docx)).map((m) => m.strength), [80, 50, 10]);
  const xlsx = header("[Content_Types].xml", "\x0a\x00\x00\x00") + header("xl/workbook.xml");
  assert.equal(
    detectMime(bytes(xlsx)),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  );
});

Deno.test("blank runs that make V8 backtrack for minutes are linear here", () => {
  const page = new Uint8Array(4096).fill(0x20);
  page.set(bytes("<html>"), 4000);
  assert.equal(detectMime(page), "text/html");
  page.set(bytes("x"), 4000);
  assert.equal(detectMime(page), "text/plain");
  const comments = bytes(" <!-- --> ".repeat(400) + "<?xml version='1.0'?>");
  assert.equal(detectMime(comments), "application/xml");
});

Deno.test("signatures that can never match in Zeek are not in the module", () => {
  const ids = new Set(MAGIC_SIGNATURES.map((s) => s.id));
  for (const id of ["file-json3", "file-magic-auto83", "file-magic-auto477"]) {
    assert.ok(!ids.has(id), id);
  }
  assert.ok(ids.has("file-plaintext") && ids.has("file-pe") && ids.has("file-magic-auto189"));
});

/**
 * A random string the RegExp source matches (at most three turns of an open
 * loop), followed by a random tail: positives for every signature.
 */
function sample(pattern: string, next: () => number): string {
  let i = 1;
  const pick = (n: number) => Math.floor(next() * n);
  const oneOf = (set: number[]) => String.fromCharCode(set[pick(set.length)]!);
  const byte = (): number => {
    if (pattern[i] !== "\\") return pattern.charCodeAt(i++);
    if (pattern[i + 1] === "x") {
      i += 4;
      return parseInt(pattern.slice(i - 2, i), 16);
    }
    i += 2;
    return pattern.charCodeAt(i - 1);
  };
  const atom = (): () => string => {
    if (pattern.startsWith("(?:", i)) {
      i += 3;
      const inner = alternation();
      i++;
      return inner;
    }
    if (pattern[i] === ".") {
      i++;
      return () => String.fromCharCode(pick(256));
    }
    if (pattern[i] === "[") {
      i++;
      const negated = pattern[i] === "^";
      if (negated) i++;
      const inSet = new Uint8Array(256);
      while (pattern[i] !== "]") {
        const lo = byte();
        let hi = lo;
        if (pattern[i] === "-" && pattern[i + 1] !== "]") {
          i++;
          hi = byte();
        }
        inSet.fill(1, lo, hi + 1);
      }
      i++;
      const members = [...Array(256).keys()].filter((b) => (inSet[b] === 1) !== negated);
      return () => oneOf(members);
    }
    const c = String.fromCharCode(byte());
    return () => c;
  };
  const repeat = (inner: () => string, min: number, max: number) => () => {
    let s = "";
    for (let n = min + pick(max - min + 1); n > 0; n--) s += inner();
    return s;
  };
  const quantified = (): () => string => {
    let gen = atom();
    for (;;) {
      const q = /^(?:\*|\+|\?|\{(\d+)(,(\d*))?\})/.exec(pattern.slice(i));
      if (q === null) return gen;
      i += q[0].length;
      // Open loops turn at most twice: V8 needs seconds for the HTML signatures' nested
      // stars once a failing input has a dozen blanks.
      let min = 0;
      let max = 2;
      if (q[0] === "+") min = 1;
      else if (q[0] === "?") max = 1;
      else if (q[1] !== undefined) {
        min = Number(q[1]);
        max = q[2] === undefined ? min : q[3] === "" ? min + 2 : Number(q[3]);
      }
      gen = repeat(gen, min, max);
    }
  };
  const alternation = (): () => string => {
    const branches: (() => string)[][] = [[]];
    while (i < pattern.length && pattern[i] !== ")") {
      if (pattern[i] === "|") {
        i++;
        branches.push([]);
      } else {
        branches.at(-1)!.push(quantified());
      }
    }
    return () => branches[pick(branches.length)]!.map((g) => g()).join("");
  };
  const gen = alternation();
  let tail = "";
  for (let n = pick(12); n > 0; n--) tail += String.fromCharCode(pick(256));
  return gen() + tail;
}

Deno.test("the DFA agrees with V8's RegExp on samples of every signature", () => {
  const next = prng(7);
  let checked = 0;
  for (const s of MAGIC_SIGNATURES) {
    for (let k = 0; k < 8; k++) {
      const text = sample(s.pattern, next);
      assert.ok(new RegExp(s.pattern, "s").test(text), `${s.id} sample must match`);
      const variants = [text, text.slice(0, Math.floor(next() * text.length))];
      const at = Math.floor(next() * text.length);
      variants.push(
        text.slice(0, at) + String.fromCharCode(Math.floor(next() * 256)) +
          text.slice(at + 1),
      );
      for (const v of variants) {
        const data = bytes(v);
        const want = regexpMatches(data);
        assert.deepEqual(matchingMimes(data), want, `${s.id}: ${JSON.stringify(v)}`);
        assert.equal(detectMime(data), want[0]?.mime, `${s.id}: ${JSON.stringify(v)}`);
        checked++;
      }
    }
  }
  assert.equal(checked, MAGIC_SIGNATURES.length * 8 * 3);
});

Deno.test("4096 random bytes, 2,000 seeds: an answer every time, V8's on the first 200", () => {
  const known = new Set(MAGIC_SIGNATURES.map((s) => s.mime));
  for (let seed = 1; seed <= 2000; seed++) {
    const data = randomBytes(seed, 4096);
    const mime = detectMime(data);
    assert.ok(mime === undefined || known.has(mime), `seed ${seed}: ${mime}`);
    if (seed <= 200) assert.equal(mime, regexpMatches(data)[0]?.mime, `seed ${seed}`);
  }
});

Deno.test("a DFA cache that starts over gives the same answers", () => {
  const small = createMagicMatcher(MAGIC_SIGNATURES, { maxDfaStates: 16 });
  const inputs = [
    bytes("<html><body>"),
    bytes(" ".repeat(300) + "<?php echo 1;"),
    ...Array.from({ length: 40 }, (_, k) => randomBytes(1000 + k, 600)),
  ];
  for (const data of inputs) {
    assert.equal(small.detect(data), detectMime(data));
    assert.deepEqual(small.matches(data), matchingMimes(data));
    assert.ok(small.dfaStates <= 16 + data.length + 1);
  }
});

Deno.test("a matcher over custom signatures: ties go to the smallest MIME type", () => {
  const sigs: MagicSignature[] = [
    { id: "b", mime: "b/b", strength: 5, pattern: "^ab" },
    { id: "a", mime: "a/a", strength: 5, pattern: "^a" },
    { id: "c", mime: "c/c", strength: 9, pattern: "^.*z" },
    { id: "e", mime: "e/e", strength: -1, pattern: "^(?:x|)" },
  ];
  const m = createMagicMatcher(sigs);
  assert.equal(m.detect(bytes("ab")), "a/a");
  assert.equal(m.detect(bytes("abz")), "c/c");
  assert.equal(m.detect(bytes("")), "e/e");
  assert.deepEqual(m.matches(bytes("abz")).map((x) => x.mime), ["c/c", "a/a", "b/b", "e/e"]);
  assert.throws(
    () => createMagicMatcher([{ id: "bad", mime: "x/x", strength: 0, pattern: "^a(?=b)" }]),
    /Cannot compile magic signature bad: only \(\?:…\) groups/,
  );
});

/** A Zeek pattern as the module would hold it, or undefined when it can never match. */
function translate(zeek: string): string | undefined {
  const node = forBofBuffer(parseZeekRegex(zeek));
  if (node.kind === "never") return undefined;
  const src = toRegExpSource(node);
  return "^" + (node.kind === "alt" ? `(?:${src})` : src);
}

Deno.test("Zeek's regex dialect: anchoring, classes, escapes, quotes, counts", () => {
  assert.equal(translate("MZ"), "^MZ");
  assert.equal(translate("^\\x1f\\x8b"), "^\\x1f\\x8b");
  assert.equal(translate("a$"), undefined);
  assert.equal(translate("(a|b$)c"), "^ac");
  assert.equal(translate("x(^a)"), undefined);
  assert.equal(translate("(^a|b)c"), "^(?:ac|bc)");
  assert.equal(translate("[[:space:]]"), "^[\\x09-\\x0d\\x20]");
  assert.equal(translate("[[:blank:]\\x00]"), "^[\\x00\\x09\\x20]");
  assert.equal(translate("[^\\n]"), "^[^\\x0a]");
  assert.equal(translate("a.b"), "^a.b");
  assert.equal(translate('"a.b"'), "^a\\.b");
  assert.equal(translate("\\101\\x42\\."), "^AB\\.");
  assert.equal(translate("x{0}y{2,}z{1,3}"), "^y{2,}z{1,3}");
  assert.equal(translate("(F|C|Z)WS"), "^[CFZ]WS");
  assert.equal(translate("[]a]"), "^[\\]a]");
  assert.equal(translate("(?i:ab)"), "^[Aa][Bb]");
  assert.equal(translate("\\`(;)"), "^`;");
  for (const bad of ["a{", "[z-a]", "a|", "(a", "\\xg1", "{x}"]) {
    assert.throws(() => parseZeekRegex(bad), UntranslatablePatternError, bad);
  }
});

Deno.test("timing of detectMime (printed, not asserted)", () => {
  const html = bytes(
    '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>t</title></head>\n' +
      "<body>\n" + "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n".repeat(70),
  ).subarray(0, 4096);
  const randoms = Array.from({ length: 500 }, (_, k) => randomBytes(5000 + k, 4096));
  const time = (f: (k: number) => unknown, n: number) => {
    for (let k = 0; k < n; k++) f(k);
    const t0 = performance.now();
    for (let k = 0; k < n; k++) f(k);
    return ((performance.now() - t0) * 1000 / n).toFixed(2);
  };
  const htmlUs = time(() => detectMime(html), 20_000);
  const randomUs = time((k) => detectMime(randoms[k % randoms.length]!), 20_000);
  console.log(`detectMime: 4 KB HTML ${htmlUs} µs/call, 4 KB random ${randomUs} µs/call`);
});

const zeekSource = Deno.env.get("ZEEK_SRC");

Deno.test({
  name: "magic_signatures.ts is what gen_magic.ts makes of $ZEEK_SRC",
  ignore: zeekSource === undefined,
  async fn() {
    const source = await readMagicSource(zeekSource!);
    const checkedIn = await Deno.readTextFile(new URL("./magic_signatures.ts", import.meta.url));
    const fresh = generateMagicModule({ ...source, commit: MAGIC_SIGNATURES_ZEEK_COMMIT });
    assert.ok(
      fresh === checkedIn,
      `magic_signatures.ts differs from Zeek ${source.commit}'s signatures; run ` +
        `deno run --allow-read --allow-write --allow-run=git scripts/gen_magic.ts ${zeekSource}`,
    );
    assert.equal(translateSignatures(source).signatures.length, MAGIC_SIGNATURES.length);
  },
});
