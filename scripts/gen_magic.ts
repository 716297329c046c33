/**
 * Writes `mod/analysis/files/magic_signatures.ts`, Zeek's file-magic
 * signatures (`scripts/base/frameworks/files/magic/*.sig`) as JavaScript
 * RegExp sources, from a Zeek checkout or a bare mirror of one.
 *
 *   deno run --allow-read --allow-write --allow-run=git scripts/gen_magic.ts \
 *     <zeek-checkout-or-bare-git-dir> [--rev <commit-ish>] [--out <file>]
 *
 * A pattern is parsed as Zeek's own scanner and parser read it
 * (`src/re-scan.l`, `src/re-parse.y`) and rewritten for the way Zeek runs
 * file magic (`Specific_RE_Matcher::CompileSet`, `RuleMatcher::Match`): the
 * signatures form one DFA behind an implicit `^?`, fed the begin-of-line
 * symbol once and then the bytes, never the end-of-line symbol, and every
 * accepting state seen counts. So a pattern matches when it matches a prefix
 * of the buffer, `^` is the single begin-of-line symbol in front of byte 0,
 * and `$` never matches. The RegExp source spells this out: it starts with
 * `^`, holds no other anchor, and runs with the `s` flag on a string of one
 * char per byte. A signature whose pattern can then never match is left out
 * and named in the generated header, as is one Zeek would refuse to compile.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the signature files live in a Zeek tree. */
const MAGIC_DIR = "scripts/base/frameworks/files/magic";

/** The module this script writes, relative to the repository root. */
const DEFAULT_OUT = "mod/analysis/files/magic_signatures.ts";

/** The Zeek sources the generator reads. */
export interface MagicSource {
  /** The commit the files were read at (full hash). */
  readonly commit: string;
  /** Zeek's COPYING file. */
  readonly license: string;
  /** The `.sig` files in `__load__.zeek` order: name without `.sig`, and text. */
  readonly files: readonly { readonly name: string; readonly text: string }[];
}

/** A pattern Zeek would not compile, or one this translator does not handle. */
export class UntranslatablePatternError extends Error {
  override name = "UntranslatablePatternError";
}

/** A `.sig` file this generator cannot read. */
export class SignatureSyntaxError extends Error {
  override name = "SignatureSyntaxError";
}

async function git(args: readonly string[]): Promise<string> {
  const out = await new Deno.Command("git", { args: [...args], stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`Cannot run git ${args.join(" ")}: ${why}`);
  }
  return latin1(out.stdout);
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Reads the signature files of a Zeek checkout (its work tree as it is) or of
 * a bare git mirror (at `rev`, HEAD by default).
 */
export async function readMagicSource(path: string, rev?: string): Promise<MagicSource> {
  const names = (text: string) =>
    [...text.matchAll(/^@load-sigs\s+\.\/(\S+)/gm)].map((m) => m[1]!.replace(/\.sig$/, ""));
  const workTree = await exists(join(path, MAGIC_DIR, "__load__.zeek"));
  if (!workTree && !(await exists(join(path, "HEAD")))) {
    throw new Error(
      `Cannot read Zeek's signatures from ${path}: it is neither a Zeek checkout (no ${MAGIC_DIR}) ` +
        "nor a bare git repository; pass the top of a Zeek tree or its mirror",
    );
  }
  if (workTree && rev !== undefined) {
    throw new Error(`Cannot read revision ${rev} of the work tree ${path}; check it out instead`);
  }
  const commit = workTree
    ? (await git(["-C", path, "rev-parse", "HEAD"]).catch(() => "unknown")).trim()
    : (await git(["--git-dir", path, "rev-parse", `${rev ?? "HEAD"}^{commit}`])).trim();
  const read = workTree
    ? async (p: string) => latin1(await Deno.readFile(join(path, p)))
    : (p: string) => git(["--git-dir", path, "show", `${commit}:${p}`]);
  const files = [];
  for (const name of names(await read(`${MAGIC_DIR}/__load__.zeek`))) {
    files.push({ name, text: await read(`${MAGIC_DIR}/${name}.sig`) });
  }
  return { commit, license: await read("COPYING"), files };
}

/** One `signature` block of a `.sig` file. */
export interface SignatureSpec {
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly mime: string;
  readonly strength: number;
  readonly pattern: string;
}

type SigToken =
  | { readonly t: "ident"; readonly v: string; readonly line: number }
  | { readonly t: "string"; readonly v: string; readonly line: number }
  | { readonly t: "pattern"; readonly v: string; readonly line: number }
  | { readonly t: "int"; readonly n: number; readonly line: number }
  | { readonly t: "punct"; readonly v: string; readonly line: number };

function tokenizeSig(file: string, text: string): SigToken[] {
  const tokens: SigToken[] = [];
  let line = 1;
  let i = 0;
  const fail = (why: string): never => {
    throw new SignatureSyntaxError(`${file}.sig:${line}: ${why}`);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === "\n") {
      line++;
      i++;
    } else if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/") {
      // rule-scan.l's RE: up to the first "/" that no backslash escapes.
      let j = i + 1;
      while (j < text.length && text[j] !== "/") {
        if (text[j] === "\n") fail("pattern runs past the end of the line");
        j += text[j] === "\\" ? 2 : 1;
      }
      if (j >= text.length) fail("unterminated pattern");
      if (text[j + 1] === "i") fail("case-insensitive /…/i patterns are not handled");
      tokens.push({ t: "pattern", v: text.slice(i + 1, j), line });
      i = j + 1;
    } else if (c === '"') {
      const m = /^"((?:[^\r\n"]|\\")*)"/.exec(text.slice(i));
      if (m === null) return fail("unterminated string");
      tokens.push({ t: "string", v: m[1]!, line });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^(?:0x[0-9a-fA-F]+|[0-9]+)/.exec(text.slice(i))!;
      tokens.push({ t: "int", n: Number(m[0]), line });
      i += m[0].length;
    } else if (/[a-zA-Z_]/.test(c)) {
      const m = /^[a-zA-Z_][0-9a-zA-Z_-]*(?:::[a-zA-Z_][0-9a-zA-Z_-]*)*/.exec(text.slice(i))!;
      tokens.push({ t: "ident", v: m[0], line });
      i += m[0].length;
    } else if ("{},-".includes(c)) {
      tokens.push({ t: "punct", v: c, line });
      i++;
    } else {
      fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }
  return tokens;
}

/** The signatures of one `.sig` file; only `file-mime` and `file-magic` conditions are accepted. */
export function parseSignatureFile(file: string, text: string): SignatureSpec[] {
  const tokens = tokenizeSig(file, text);
  const specs: SignatureSpec[] = [];
  let k = 0;
  const fail = (why: string): never => {
    const line = tokens[Math.min(k, tokens.length - 1)]?.line ?? 0;
    throw new SignatureSyntaxError(`${file}.sig:${line}: ${why}`);
  };
  const take = <T extends SigToken["t"]>(t: T, what: string): Extract<SigToken, { t: T }> => {
    const token = tokens[k++];
    if (token?.t !== t) return fail(`expected ${what}`);
    return token as Extract<SigToken, { t: T }>;
  };
  const punct = (v: string): boolean => {
    const token = tokens[k];
    if (token?.t !== "punct" || token.v !== v) return false;
    k++;
    return true;
  };
  while (k < tokens.length) {
    if (take("ident", '"signature"').v !== "signature") fail('expected "signature"');
    const id = take("ident", "a signature id");
    if (!punct("{")) fail('expected "{"');
    let mime: string | undefined;
    let strength = 0;
    const patterns: string[] = [];
    while (!punct("}")) {
      const condition = take("ident", "file-mime, file-magic or }").v;
      if (condition === "file-mime") {
        if (mime !== undefined) fail("more than one file-mime");
        mime = take("string", "a quoted MIME type").v;
        if (punct(",")) {
          const sign = punct("-") ? -1 : 1;
          strength = sign * take("int", "an integer strength").n;
        }
      } else if (condition === "file-magic") {
        patterns.push(take("pattern", "a /pattern/").v);
      } else {
        fail(`unsupported condition ${condition} (only file-mime and file-magic)`);
      }
    }
    if (mime === undefined) return fail(`signature ${id.v} has no file-mime`);
    if (patterns.length !== 1) fail(`signature ${id.v} needs exactly one file-magic pattern`);
    specs.push({ id: id.v, file, line: id.line, mime, strength, pattern: patterns[0]! });
  }
  return specs;
}

/** A regular expression over the symbols Zeek feeds its DFA: bytes 0-255, BOL and EOL. */
export type Node =
  | { readonly kind: "bytes"; readonly set: Uint8Array }
  | { readonly kind: "bol" }
  | { readonly kind: "eol" }
  | { readonly kind: "empty" }
  | { readonly kind: "never" }
  | { readonly kind: "seq"; readonly items: readonly Node[] }
  | { readonly kind: "alt"; readonly items: readonly Node[] }
  | { readonly kind: "repeat"; readonly item: Node; readonly min: number; readonly max: number };

const EMPTY: Node = { kind: "empty" };
const NEVER: Node = { kind: "never" };

function byteSet(...bytes: number[]): Uint8Array {
  const set = new Uint8Array(256);
  for (const b of bytes) set[b] = 1;
  return set;
}

/** The POSIX classes of re-scan.l, in the C locale; re-parse.y keeps only ASCII members. */
const POSIX_CLASSES: Readonly<Record<string, (c: number) => boolean>> = {
  alnum: (c) => isAlpha(c) || isDigit(c),
  alpha: (c) => isAlpha(c),
  blank: (c) => c === 0x20 || c === 0x09,
  cntrl: (c) => c < 0x20 || c === 0x7f,
  digit: (c) => isDigit(c),
  graph: (c) => c > 0x20 && c < 0x7f,
  print: (c) => c >= 0x20 && c < 0x7f,
  punct: (c) => c > 0x20 && c < 0x7f && !isAlpha(c) && !isDigit(c),
  space: (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d),
  xdigit: (c) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66),
  lower: (c) => c >= 0x61 && c <= 0x7a,
  upper: (c) => c >= 0x41 && c <= 0x5a,
};

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function otherCase(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c + 0x20;
  if (c >= 0x61 && c <= 0x7a) return c - 0x20;
  return c;
}

/**
 * Parses a file-magic pattern the way Zeek's RE scanner and parser do. Throws
 * UntranslatablePatternError where Zeek reports a syntax error.
 */
export function parseZeekRegex(pattern: string): Node {
  let i = 0;
  let caseInsensitive = false;
  const fail = (why: string): never => {
    throw new UntranslatablePatternError(`${why} at offset ${i} of /${pattern}/`);
  };
  const peek = (ahead = 0) => pattern[i + ahead];

  /** re-scan.l's ESCSEQ at pattern[i] === "\\": `\\([^\n]|[0-7]+|x[[:xdigit:]]{2})`, longest match. */
  const escape = (): number => {
    const rest = pattern.slice(i + 1);
    const octal = /^[0-7]+/.exec(rest);
    if (octal !== null) {
      i += 1 + octal[0].length;
      // expand_escape reads at most three digits of what the scanner took.
      const code = parseInt(octal[0].slice(0, 3), 8);
      return code > 0xff ? fail(`bad symbol ${code}`) : code;
    }
    const hex = /^[xX][0-9a-fA-F]{2}/.exec(rest);
    if (hex !== null) {
      i += 4;
      // The scanner is caseless, so it takes "\X41" whole; expand_escape then sees only 'X'.
      return hex[0][0] === "x" ? parseInt(hex[0].slice(1), 16) : 0x58;
    }
    const c = rest[0];
    if (c === undefined || c === "\n") return fail("trailing backslash");
    i += 2;
    switch (c) {
      case "b":
        return 0x08;
      case "f":
        return 0x0c;
      case "n":
        return 0x0a;
      case "r":
        return 0x0d;
      case "t":
        return 0x09;
      case "a":
        return 0x07;
      case "v":
        return 0x0b;
      case "x":
        return fail("bad hexadecimal escape");
      default:
        return plainChar(c);
    }
  };

  const plainChar = (c: string): number => {
    const code = c.charCodeAt(0);
    // re-parse.y takes yytext[0], a signed char: bytes >= 0x80 are "bad symbol".
    if (code > 0x7f) return fail(`bad symbol (byte 0x${code.toString(16)} in the pattern text)`);
    return code;
  };

  /** A class after its "[" (re-scan.l's SC_FIRST_CCL, SC_CCL; re-parse.y's ccl). */
  const charClass = (): Node => {
    const set = new Uint8Array(256);
    const add = (c: number) => {
      set[c] = 1;
      if (caseInsensitive && isAlpha(c)) set[otherCase(c)] = 1;
    };
    let negated = false;
    if (peek() === "^") {
      const after = peek(1);
      if (after !== undefined && after !== "\n") {
        negated = true;
        i++;
      }
    }
    let first = true;
    for (;;) {
      const c = peek();
      if (c === undefined || c === "\n") return fail("unterminated character class");
      if (c === "]" && !first) {
        i++;
        break;
      }
      const expr = /^\[:([a-zA-Z]+):\]/.exec(pattern.slice(i));
      if (expr !== null) {
        const name = expr[1]!.toLowerCase();
        let test = POSIX_CLASSES[name];
        if (test === undefined) return fail("bad character class expression");
        if (caseInsensitive && (name === "lower" || name === "upper")) test = isAlpha;
        for (let b = 0; b < 0x80; b++) if (test(b)) set[b] = 1;
        i += expr[0].length;
        first = false;
        if (peek() === "-" && peek(1) !== "]" && peek(1) !== undefined) {
          return fail("range after a character class expression");
        }
        continue;
      }
      let lo: number;
      if (c === "\\") {
        lo = escape();
      } else if (c === "-" && !first && peek(1) !== "]" && peek(1) !== undefined) {
        return fail("'-' without a range start");
      } else {
        lo = plainChar(c);
        i++;
      }
      first = false;
      if (peek() === "-" && peek(1) !== "]" && peek(1) !== undefined && peek(1) !== "\n") {
        i++;
        const hc = peek()!;
        let hi: number;
        if (hc === "\\") hi = escape();
        else if (/^\[:[a-zA-Z]+:\]/.test(pattern.slice(i))) return fail("range ends in a class");
        else {
          hi = plainChar(hc);
          i++;
        }
        if (lo > hi) return fail("negative range in character class");
        if (caseInsensitive && (isAlpha(lo) || isAlpha(hi))) {
          if (!(isAlpha(lo) && isAlpha(hi) && (lo < 0x61) === (hi < 0x61))) {
            return fail("ambiguous case-insensitive character class");
          }
        }
        for (let b = lo; b <= hi; b++) add(b);
        if (peek() === "-" && peek(1) !== "]" && peek(1) !== undefined) {
          return fail("'-' right after a range");
        }
      } else {
        add(lo);
      }
    }
    if (negated) { for (let b = 0; b < 256; b++) set[b] = set[b] ? 0 : 1; }
    return { kind: "bytes", set };
  };

  /** `singleton` without its postfix operators. */
  const atom = (): Node => {
    const c = peek()!;
    if (c === "^") {
      i++;
      return { kind: "bol" };
    }
    if (c === "$") {
      i++;
      return { kind: "eol" };
    }
    if (c === ".") {
      i++;
      return { kind: "bytes", set: new Uint8Array(256).fill(1) };
    }
    if (c === "[") {
      i++;
      return charClass();
    }
    if (c === '"') {
      i++;
      const items: Node[] = [];
      for (;;) {
        const q = peek();
        if (q === undefined || q === "\n") return fail("missing quote");
        if (q === '"') break;
        items.push({ kind: "bytes", set: byteSet(q === "\\" ? escape() : (i++, plainChar(q))) });
      }
      i++;
      return { kind: "seq", items };
    }
    if (c === "(") {
      if (pattern.startsWith("(?i:", i) || pattern.startsWith("(?s:", i)) {
        const insensitive = pattern[i + 2] === "i";
        i += 4;
        if (insensitive) caseInsensitive = true;
        const inner = alternation();
        if (peek() !== ")") return fail("missing )");
        i++;
        if (insensitive) caseInsensitive = false;
        return inner;
      }
      i++;
      const inner = alternation();
      if (peek() !== ")") return fail("missing )");
      i++;
      return inner;
    }
    if (c === "{") {
      return fail(/^\{[a-zA-Z_]/.test(pattern.slice(i)) ? "undefined definition" : "stray {");
    }
    if ("|*+?)}".includes(c)) return fail(`unexpected ${c}`);
    if (c === "\\") return { kind: "bytes", set: byteSet(escape()) };
    i++;
    const code = plainChar(c);
    if (caseInsensitive && isAlpha(code)) {
      return { kind: "bytes", set: byteSet(code, otherCase(code)) };
    }
    return { kind: "bytes", set: byteSet(code) };
  };

  const singleton = (): Node => {
    let node = atom();
    for (;;) {
      const c = peek();
      if (c === "*") node = { kind: "repeat", item: node, min: 0, max: Infinity };
      else if (c === "+") node = { kind: "repeat", item: node, min: 1, max: Infinity };
      else if (c === "?") node = { kind: "repeat", item: node, min: 0, max: 1 };
      else if (c === "{" && /[0-9]/.test(peek(1) ?? "")) {
        const m = /^\{([0-9]+)(,([0-9]*))?\}/.exec(pattern.slice(i));
        if (m === null) return fail("bad character inside {}'s");
        const lo = Number(m[1]);
        const hi = m[2] === undefined ? lo : m[3] === "" ? Infinity : Number(m[3]);
        if (lo > hi) return fail("bad iteration values");
        node = hi === 0 ? EMPTY : { kind: "repeat", item: node, min: lo, max: hi };
        i += m[0].length - 1;
      } else {
        return node;
      }
      i++;
    }
  };

  /** `re`: series separated by "|"; only the first may be empty, as in re-parse.y. */
  const alternation = (): Node => {
    const branches: Node[] = [];
    for (;;) {
      const items: Node[] = [];
      while (i < pattern.length && peek() !== "|" && peek() !== ")" && peek() !== "\n") {
        items.push(singleton());
      }
      if (items.length === 0 && branches.length > 0) return fail("empty alternative");
      branches.push({ kind: "seq", items });
      if (peek() !== "|") break;
      i++;
    }
    return branches.length === 1 ? branches[0]! : { kind: "alt", items: branches };
  };

  const node = alternation();
  if (i < pattern.length && peek() !== "\n") fail(`unexpected ${peek()}`);
  return node;
}

/** Whether the node matches the empty string (BOL and EOL are symbols, not empty). */
export function nullable(n: Node): boolean {
  switch (n.kind) {
    case "bytes":
    case "bol":
    case "eol":
    case "never":
      return false;
    case "empty":
      return true;
    case "seq":
      return n.items.every(nullable);
    case "alt":
      return n.items.some(nullable);
    case "repeat":
      return n.min === 0 || nullable(n.item);
  }
}

/** What is left of the node after it consumed the BOL symbol (a Brzozowski derivative). */
function afterBol(n: Node): Node {
  switch (n.kind) {
    case "bol":
      return EMPTY;
    case "bytes":
    case "eol":
    case "empty":
    case "never":
      return NEVER;
    case "seq": {
      const [head, ...rest] = n.items;
      if (head === undefined) return NEVER;
      const tail: Node = { kind: "seq", items: rest };
      const viaHead: Node = { kind: "seq", items: [afterBol(head), tail] };
      return nullable(head) ? { kind: "alt", items: [viaHead, afterBol(tail)] } : viaHead;
    }
    case "alt":
      return { kind: "alt", items: n.items.map(afterBol) };
    case "repeat": {
      if (n.max === 0) return NEVER;
      // A nullable item can spend iterations on nothing: x{m,n} is then x{0,n}.
      const min = nullable(n.item) ? 0 : Math.max(n.min - 1, 0);
      const rest: Node = { kind: "repeat", item: n.item, min, max: n.max - 1 };
      return { kind: "seq", items: [afterBol(n.item), rest] };
    }
  }
}

/** The node with BOL and EOL replaced by "never": symbols that cannot occur there. */
function withoutAnchors(n: Node): Node {
  switch (n.kind) {
    case "bol":
    case "eol":
      return NEVER;
    case "seq":
    case "alt":
      return { kind: n.kind, items: n.items.map(withoutAnchors) };
    case "repeat":
      return { ...n, item: withoutAnchors(n.item) };
    default:
      return n;
  }
}

function sameSet(a: Uint8Array, b: Uint8Array): boolean {
  for (let k = 0; k < 256; k++) if (a[k] !== b[k]) return false;
  return true;
}

function sameNode(a: Node, b: Node): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case "bytes":
      return sameSet(a.set, (b as typeof a).set);
    case "seq":
    case "alt": {
      const bi = (b as typeof a).items;
      return a.items.length === bi.length && a.items.every((x, k) => sameNode(x, bi[k]!));
    }
    case "repeat": {
      const r = b as typeof a;
      return a.min === r.min && a.max === r.max && sameNode(a.item, r.item);
    }
    default:
      return true;
  }
}

/** Removes "never" and "empty" where the language allows, flattens, merges one-byte alternatives. */
export function simplify(n: Node): Node {
  switch (n.kind) {
    case "seq": {
      const items: Node[] = [];
      for (const item of n.items.map(simplify)) {
        if (item.kind === "never") return NEVER;
        if (item.kind === "empty") continue;
        if (item.kind === "seq") items.push(...item.items);
        else items.push(item);
      }
      if (items.length === 0) return EMPTY;
      return items.length === 1 ? items[0]! : { kind: "seq", items };
    }
    case "alt": {
      const items: Node[] = [];
      let bytes: Uint8Array | undefined;
      let hasEmpty = false;
      const flat = n.items.map(simplify).flatMap((x) => x.kind === "alt" ? x.items : [x]);
      for (const item of flat) {
        if (item.kind === "never") continue;
        if (item.kind === "empty") hasEmpty = true;
        else if (item.kind === "bytes") {
          bytes ??= new Uint8Array(256);
          for (let k = 0; k < 256; k++) bytes[k]! |= item.set[k]!;
        } else if (!items.some((x) => sameNode(x, item))) items.push(item);
      }
      if (bytes !== undefined) items.unshift({ kind: "bytes", set: bytes });
      let out: Node = items.length === 0
        ? (hasEmpty ? EMPTY : NEVER)
        : items.length === 1
        ? items[0]!
        : { kind: "alt", items };
      if (hasEmpty && out.kind !== "empty" && !nullable(out)) {
        out = { kind: "repeat", item: out, min: 0, max: 1 };
      }
      return out;
    }
    case "repeat": {
      const item = simplify(n.item);
      if (n.max === 0) return EMPTY;
      if (item.kind === "never") return n.min === 0 ? EMPTY : NEVER;
      if (item.kind === "empty") return EMPTY;
      if (n.min === 1 && n.max === 1) return item;
      return { kind: "repeat", item, min: n.min, max: n.max };
    }
    default:
      return n;
  }
}

/**
 * The pattern as Zeek runs it on a file's first bytes: behind the implicit
 * `^?` of CompileSet, with BOL fed once before byte 0 and EOL never. The
 * result has no anchors left; it matches a buffer iff it matches a prefix.
 */
export function forBofBuffer(pattern: Node): Node {
  return simplify({
    kind: "alt",
    items: [withoutAnchors(afterBol(pattern)), withoutAnchors(pattern)],
  });
}

function hex(b: number): string {
  return "\\x" + b.toString(16).padStart(2, "0");
}

function literal(b: number): string {
  if (/[A-Za-z0-9 !#%&',/:;<=>@_`~-]/.test(String.fromCharCode(b))) {
    return String.fromCharCode(b);
  }
  if (b > 0x20 && b < 0x7f && "\\^$.|?*+()[]{}".includes(String.fromCharCode(b))) {
    return "\\" + String.fromCharCode(b);
  }
  return hex(b);
}

function classMember(b: number): string {
  if (b > 0x20 && b < 0x7f && b !== 0x22) {
    const c = String.fromCharCode(b);
    return "\\]^-[".includes(c) ? "\\" + c : c;
  }
  return hex(b);
}

function ranges(set: Uint8Array, want: number): string {
  let out = "";
  for (let b = 0; b < 256; b++) {
    if (set[b] !== want) continue;
    let e = b;
    while (e + 1 < 256 && set[e + 1] === want) e++;
    if (e === b) out += classMember(b);
    else if (e === b + 1) out += classMember(b) + classMember(e);
    else out += classMember(b) + "-" + classMember(e);
    b = e;
  }
  return out;
}

/** A character class (or single character) for a set of bytes, in the shorter of the two forms. */
export function byteClass(set: Uint8Array): string {
  let count = 0;
  for (let b = 0; b < 256; b++) count += set[b]!;
  if (count === 256) return ".";
  if (count === 1) return literal(set.indexOf(1));
  const plain = "[" + ranges(set, 1) + "]";
  const negated = "[^" + ranges(set, 0) + "]";
  return negated.length < plain.length ? negated : plain;
}

function quantifier(min: number, max: number): string {
  if (min === 0 && max === Infinity) return "*";
  if (min === 1 && max === Infinity) return "+";
  if (min === 0 && max === 1) return "?";
  if (max === Infinity) return `{${min},}`;
  if (min === max) return `{${min}}`;
  return `{${min},${max}}`;
}

/** The node as RegExp source (flag `s`; strings of one char per byte). */
export function toRegExpSource(n: Node): string {
  switch (n.kind) {
    case "bytes":
      return byteClass(n.set);
    case "empty":
      return "";
    case "seq":
      return n.items.map((x) => x.kind === "alt" ? `(?:${toRegExpSource(x)})` : toRegExpSource(x))
        .join("");
    case "alt":
      return n.items.map(toRegExpSource).join("|");
    case "repeat": {
      const inner = toRegExpSource(n.item);
      const atomic = n.item.kind === "bytes";
      return (atomic ? inner : `(?:${inner})`) + quantifier(n.min, n.max);
    }
    case "never":
    case "bol":
    case "eol":
      throw new Error(`internal: ${n.kind} left in a pattern after forBofBuffer`);
  }
}

/** The node with every EOL replaced by "empty", to tell which anchor makes a pattern unmatchable. */
function withoutEol(n: Node): Node {
  switch (n.kind) {
    case "eol":
      return EMPTY;
    case "seq":
    case "alt":
      return { kind: n.kind, items: n.items.map(withoutEol) };
    case "repeat":
      return { ...n, item: withoutEol(n.item) };
    default:
      return n;
  }
}

function neverReason(pattern: Node): string {
  return forBofBuffer(withoutEol(pattern)).kind === "never"
    ? "never matches: it needs a `^` after byte 0 (Zeek feeds begin-of-line once, before byte 0)"
    : "never matches: it needs `$` (Zeek never signals end of data to file magic)";
}

/** One signature as the generated module holds it. */
export interface TranslatedSignature {
  readonly id: string;
  readonly mime: string;
  readonly strength: number;
  /** RegExp source, `^`-anchored, for the `s` flag on a string of one char per byte. */
  readonly pattern: string;
}

/** A signature left out of the module, and why. */
export interface SkippedSignature {
  readonly id: string;
  readonly file: string;
  readonly reason: string;
}

/** Translates every signature of the source; those that cannot match or compile are skipped. */
export function translateSignatures(source: MagicSource): {
  readonly signatures: readonly TranslatedSignature[];
  readonly skipped: readonly SkippedSignature[];
} {
  const signatures: TranslatedSignature[] = [];
  const skipped: SkippedSignature[] = [];
  const seen = new Set<string>();
  for (const { name, text } of source.files) {
    for (const spec of parseSignatureFile(name, text)) {
      if (seen.has(spec.id)) {
        throw new SignatureSyntaxError(
          `${name}.sig:${spec.line}: signature ${spec.id} defined twice`,
        );
      }
      seen.add(spec.id);
      let node: Node;
      try {
        node = forBofBuffer(parseZeekRegex(spec.pattern));
      } catch (e) {
        if (!(e instanceof UntranslatablePatternError)) throw e;
        skipped.push({ id: spec.id, file: name, reason: `Zeek cannot compile it: ${e.message}` });
        continue;
      }
      if (node.kind === "never") {
        skipped.push({
          id: spec.id,
          file: name,
          reason: neverReason(parseZeekRegex(spec.pattern)),
        });
        continue;
      }
      signatures.push({
        id: spec.id,
        mime: spec.mime,
        strength: spec.strength,
        pattern: "^" + (node.kind === "alt" ? `(?:${toRegExpSource(node)})` : toRegExpSource(node)),
      });
    }
  }
  return { signatures, skipped };
}

function quote(s: string): string {
  // Sources are ASCII without '"' (see literal/classMember); JSON.stringify doubles backslashes.
  return JSON.stringify(s);
}

/** The text of `magic_signatures.ts` for these sources. */
export function generateMagicModule(source: MagicSource): string {
  const { signatures, skipped } = translateSignatures(source);
  const license = source.license.trimEnd().split("\n").map((l) => (" * " + l).trimEnd());
  const lines = [
    "/**",
    ` * Zeek's file-magic signatures, generated by scripts/gen_magic.ts, do not edit.`,
    " *",
    ` * Source: zeek/zeek commit ${source.commit},`,
    ` * ${MAGIC_DIR}/{${source.files.map((f) => f.name).join(",")}}.sig`,
    " * in __load__.zeek order. Regenerate with:",
    " *",
    " *   deno run --allow-read --allow-write --allow-run=git scripts/gen_magic.ts <zeek>",
    " *",
    ` * ${signatures.length} signatures translated, ${skipped.length} left out:`,
    ...skipped.map((s) => ` * - ${s.id} (${s.file}.sig): ${s.reason}`),
    " *",
    " * Each pattern is a RegExp source for the `s` flag, over the buffer as a",
    " * string of one char per byte (latin1). It is anchored at byte 0 and needs",
    " * to match only a prefix, as in Zeek's DFA; `$` and a `^` after byte 0 are",
    " * gone because they never match there. The sources use only `^` (first),",
    " * literals, `\\xNN`, `.`, classes, `(?:…)`, `|` and `* + ? {n} {n,} {n,m}`,",
    " * the subset magic.ts compiles into its own automaton.",
    " *",
    " * The signatures are Zeek's, under Zeek's license:",
    " *",
    ...license,
    " *",
    " * @module",
    " */",
    "",
    "/** One file-magic signature: a MIME type, its strength, and its pattern. */",
    "export interface MagicSignature {",
    "  /** The signature's name in Zeek's .sig file. */",
    "  readonly id: string;",
    "  readonly mime: string;",
    "  /** Higher wins; ties go to the smallest MIME string. */",
    "  readonly strength: number;",
    "  /** RegExp source (flag `s`), anchored with `^`, for a latin1 string of the buffer. */",
    "  readonly pattern: string;",
    "}",
    "",
    "/** Commit of zeek/zeek the signatures were read from. */",
    `export const MAGIC_SIGNATURES_ZEEK_COMMIT = ${quote(source.commit)};`,
    "",
    "/** Zeek's file-magic signatures, in load order. */",
    "export const MAGIC_SIGNATURES: readonly MagicSignature[] = [",
  ];
  for (const s of signatures) {
    lines.push("  {");
    lines.push(`    id: ${quote(s.id)},`);
    lines.push(`    mime: ${quote(s.mime)},`);
    lines.push(`    strength: ${s.strength},`);
    // Laid out as deno fmt would (lineWidth 100), so the checked-in file passes fmt --check.
    const pattern = `    pattern: ${quote(s.pattern)},`;
    if (pattern.length <= 100) lines.push(pattern);
    else lines.push("    pattern:", `      ${quote(s.pattern)},`);
    lines.push("  },");
  }
  lines.push("];", "");
  return lines.join("\n");
}

if (import.meta.main) {
  const args = [...Deno.args];
  const option = (name: string): string | undefined => {
    const at = args.indexOf(name);
    if (at < 0) return undefined;
    const value = args[at + 1];
    if (value === undefined) throw new Error(`${name} needs a value`);
    args.splice(at, 2);
    return value;
  };
  const rev = option("--rev");
  const out = option("--out") ??
    fileURLToPath(new URL(`../${DEFAULT_OUT}`, import.meta.url));
  if (args.length !== 1) {
    console.error(
      "usage: gen_magic.ts <zeek-checkout-or-bare-git-dir> [--rev <commit-ish>] [--out <file>]",
    );
    Deno.exit(2);
  }
  const source = await readMagicSource(args[0]!, rev);
  const text = generateMagicModule(source);
  await Deno.writeTextFile(out, text);
  const { signatures, skipped } = translateSignatures(source);
  console.log(`${out}: ${signatures.length} signatures, ${skipped.length} left out`);
  for (const s of skipped) console.log(`  ${s.id}: ${s.reason}`);
}
