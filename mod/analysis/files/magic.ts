/**
 * Zeek's file magic: the MIME type of a file from its first bytes, with
 * Zeek's signatures (`magic_signatures.ts`) and Zeek's way of running them
 * (`RuleMatcher::Match`, `File::InferMetadata`, research note §2.5). Every
 * signature whose pattern matches a prefix of the buffer contributes its
 * (strength, MIME type); the highest strength wins, a tie goes to the
 * lexicographically smallest type, and no match leaves the type unset.
 *
 * Zeek compiles all the patterns into one DFA and feeds it the buffer once;
 * this module does the same, building the DFA lazily from the patterns'
 * position automaton. Running the patterns as JavaScript RegExps instead is
 * not an option: V8 backtracks, and the HTML/XML signatures' nested stars
 * (`(?:[ \t\r\n]*(?:<!--.*-->)?[ \t\r\n]*)*`) take a minute on 18 blanks and
 * a letter, and never finish on a page of blanks. The DFA costs one table
 * lookup per byte, skips runs of bytes a state loops on (the `.*` of
 * `^.*<\?php`), and stops as soon as no signature still alive could beat the
 * best match so far. The buffer is taken as given: Zeek's is the first
 * `default_file_bof_buffer_size` (4096) bytes of the file.
 *
 * @module
 */

import { MAGIC_SIGNATURES, type MagicSignature } from "./magic_signatures.ts";

/** One (strength, MIME type) that matched, as Zeek's `file_magic()` lists them. */
export interface MimeMatch {
  readonly strength: number;
  readonly mime: string;
}

/** Zeek's pick among the signatures that match `data`, or undefined when none does. */
export function detectMime(data: Uint8Array): string | undefined {
  return defaultMatcher().detect(data);
}

/** Every distinct (strength, MIME type) that matches `data`, best first (Zeek's order). */
export function matchingMimes(data: Uint8Array): MimeMatch[] {
  return defaultMatcher().matches(data);
}

let shared: MagicMatcher | undefined;

function defaultMatcher(): MagicMatcher {
  return shared ??= createMagicMatcher(MAGIC_SIGNATURES);
}

/** Options of createMagicMatcher. */
export interface MagicMatcherOptions {
  /** Above this many DFA states the cache starts over; default DEFAULT_MAX_DFA_STATES. */
  readonly maxDfaStates?: number;
}

/** A matcher for a list of signatures; the patterns are parsed here, the DFA grows on use. */
export function createMagicMatcher(
  signatures: readonly MagicSignature[],
  options: MagicMatcherOptions = {},
): MagicMatcher {
  return new MagicMatcher(signatures, options.maxDfaStates ?? DEFAULT_MAX_DFA_STATES);
}

/** A pattern outside the RegExp subset that gen_magic.ts emits. */
export class MagicPatternError extends Error {
  override name = "MagicPatternError";
}

/**
 * Above this many DFA states the cache starts over (a state takes about 1 KB;
 * Zeek's cache has no bound). Random data builds some 2,400 states.
 */
export const DEFAULT_MAX_DFA_STATES = 8192;

/** "No signature" in the rank arrays: worse than every real rank. */
const NO_RANK = 0x7fffffff;

/** Zeek's file-magic matcher over a fixed set of signatures. */
export class MagicMatcher {
  /** Rank of each distinct (strength, MIME type); 0 is Zeek's first choice. */
  readonly #ranked: readonly MimeMatch[];
  /** Rank of each signature. */
  readonly #rankOf: Int32Array;
  readonly #nfa: PositionAutomaton;
  /** Byte -> equivalence class: bytes no class of any position tells apart. */
  readonly #byteClass: Uint8Array;
  readonly #classCount: number;
  /** [position class * classCount + byte class] -> whether the position takes the byte. */
  readonly #takes: Uint8Array;

  /** Row width of #table: a transition per byte class, then the two ranks. */
  readonly #stride: number;
  /**
   * The DFA, one row per state at offset state * stride: the row offset each
   * byte class leads to (-1 until built), then the best rank the state
   * accepts and the best rank any signature still alive in it could reach.
   */
  #table = new Int32Array(0);
  #accepts: (readonly number[])[] = [];
  #positions: Int32Array[] = [];
  /** Per state: the bytes known to lead back to it (made with the first such transition). */
  #stay: (Uint8Array | undefined)[] = [];
  #stateIds = new Map<string, number>();
  #stateCount = 0;
  /** Scratch: positions seen in the transition being built. */
  readonly #mark: Int32Array;
  #markGeneration = 0;

  readonly #maxStates: number;

  constructor(signatures: readonly MagicSignature[], maxDfaStates: number) {
    this.#maxStates = maxDfaStates;
    const pairs = new Map<string, MimeMatch>();
    for (const s of signatures) pairs.set(`${s.strength} ${s.mime}`, s);
    this.#ranked = [...pairs.values()]
      .map(({ strength, mime }) => ({ strength, mime }))
      .sort((a, b) => b.strength - a.strength || (a.mime < b.mime ? -1 : a.mime > b.mime ? 1 : 0));
    const rankByPair = new Map(this.#ranked.map((m, r) => [`${m.strength} ${m.mime}`, r]));
    this.#rankOf = Int32Array.from(signatures, (s) => rankByPair.get(`${s.strength} ${s.mime}`)!);

    this.#nfa = buildPositionAutomaton(signatures);
    const { byteClass, classCount, takes } = byteClasses(this.#nfa.classes);
    this.#byteClass = byteClass;
    this.#classCount = classCount;
    this.#stride = classCount + 2;
    this.#takes = takes;
    this.#mark = new Int32Array(this.#nfa.signatureOf.length);
    this.#reset();
  }

  /** How many DFA states are built now (the cache starts over above its bound). */
  get dfaStates(): number {
    return this.#stateCount;
  }

  /** The MIME type Zeek would pick for this buffer, or undefined. */
  detect(data: Uint8Array): string | undefined {
    if (this.#stateCount > this.#maxStates) this.#reset();
    const byteClass = this.#byteClass;
    const accept = this.#classCount;
    const alive = accept + 1;
    let table = this.#table;
    let row = 0;
    let best = table[accept]!;
    // Stop when nothing still alive can beat what matched (or nothing is alive).
    if (best > table[alive]!) {
      for (let i = 0; i < data.length; i++) {
        const cls = byteClass[data[i]!]!;
        let to = table[row + cls]!;
        if (to < 0) {
          to = this.#addTransition(row, cls);
          table = this.#table;
        }
        if (to === row) {
          // A state that loops on this byte (a `.*` waiting for its literal) loops on the
          // whole run of such bytes: skip it without walking the table.
          const stay = this.#stay[row / this.#stride]!;
          while (i + 1 < data.length && stay[data[i + 1]!] === 1) i++;
          continue;
        }
        row = to;
        const rank = table[row + accept]!;
        if (rank < best) best = rank;
        if (best <= table[row + alive]!) break;
      }
    }
    return best === NO_RANK ? undefined : this.#ranked[best]!.mime;
  }

  /** Every distinct (strength, MIME type) that matches, best first. */
  matches(data: Uint8Array): MimeMatch[] {
    if (this.#stateCount > this.#maxStates) this.#reset();
    const stride = this.#stride;
    const alive = this.#classCount + 1;
    const ranks = new Set<number>(this.#accepts[0]!.map((sig) => this.#rankOf[sig]!));
    let row = 0;
    for (let i = 0; i < data.length && this.#table[row + alive] !== NO_RANK; i++) {
      const cls = this.#byteClass[data[i]!]!;
      const to = this.#table[row + cls]!;
      row = to < 0 ? this.#addTransition(row, cls) : to;
      for (const sig of this.#accepts[row / stride]!) ranks.add(this.#rankOf[sig]!);
    }
    return [...ranks].sort((a, b) => a - b).map((r) => this.#ranked[r]!);
  }

  /** Forgets the DFA and starts it again from the start state. */
  #reset(): void {
    this.#table = new Int32Array(64 * this.#stride).fill(-1);
    this.#accepts = [];
    this.#positions = [];
    this.#stay = [];
    this.#stateIds.clear();
    this.#stateCount = 0;
    const nfa = this.#nfa;
    const start = [...new Set(nfa.first.flatMap((f) => [...f]))].sort((a, b) => a - b);
    const nullable: number[] = [];
    nfa.nullable.forEach((n, sig) => n && nullable.push(sig));
    this.#rowFor(Int32Array.from(start), nullable);
  }

  /** The row of the state for these next positions and accepted signatures, made if new. */
  #rowFor(positions: Int32Array, accepted: readonly number[]): number {
    const key = `${positions.join(",")}/${accepted.join(",")}`;
    const known = this.#stateIds.get(key);
    if (known !== undefined) return known * this.#stride;
    const id = this.#stateCount++;
    const row = id * this.#stride;
    if (row + this.#stride > this.#table.length) {
      const table = new Int32Array(this.#table.length * 2).fill(-1);
      table.set(this.#table);
      this.#table = table;
    }
    let acceptRank = NO_RANK;
    for (const sig of accepted) acceptRank = Math.min(acceptRank, this.#rankOf[sig]!);
    let aliveRank = NO_RANK;
    for (const p of positions) {
      aliveRank = Math.min(aliveRank, this.#rankOf[this.#nfa.signatureOf[p]!]!);
    }
    this.#table[row + this.#classCount] = acceptRank;
    this.#table[row + this.#classCount + 1] = aliveRank;
    this.#accepts[id] = accepted;
    this.#positions[id] = positions;
    this.#stateIds.set(key, id);
    return row;
  }

  /** Subset construction of one transition: the positions that take the byte, and their follows. */
  #addTransition(row: number, cls: number): number {
    const nfa = this.#nfa;
    const generation = ++this.#markGeneration;
    const next: number[] = [];
    const accepted: number[] = [];
    for (const p of this.#positions[row / this.#stride]!) {
      if (this.#takes[nfa.classOf[p]! * this.#classCount + cls] === 0) continue;
      if (nfa.isLast[p] === 1) accepted.push(nfa.signatureOf[p]!);
      for (const q of nfa.follow[p]!) {
        if (this.#mark[q] !== generation) {
          this.#mark[q] = generation;
          next.push(q);
        }
      }
    }
    const unique = [...new Set(accepted)].sort((a, b) => a - b);
    const to = this.#rowFor(Int32Array.from(next).sort(), unique);
    this.#table[row + cls] = to;
    if (to === row) {
      const id = row / this.#stride;
      const stay = this.#stay[id] ??= new Uint8Array(256);
      for (let b = 0; b < 256; b++) if (this.#byteClass[b] === cls) stay[b] = 1;
    }
    return to;
  }
}

type Node =
  | { readonly kind: "bytes"; readonly set: Uint8Array }
  | { readonly kind: "seq"; readonly items: readonly Node[] }
  | { readonly kind: "alt"; readonly items: readonly Node[] }
  | { readonly kind: "repeat"; readonly item: Node; readonly min: number; readonly max: number };

/**
 * Every byte-consuming leaf of every pattern is a position; a DFA state is a
 * set of positions that may take the next byte.
 */
interface PositionAutomaton {
  /** Per signature: the positions a match can start with. */
  readonly first: readonly Int32Array[];
  /** Per signature: whether it matches the empty prefix (it then matches every buffer). */
  readonly nullable: readonly boolean[];
  /** Per position. */
  readonly signatureOf: Int32Array;
  readonly classOf: Int32Array;
  readonly isLast: Uint8Array;
  readonly follow: readonly Int32Array[];
  /** The distinct byte sets of the positions, indexed by classOf. */
  readonly classes: readonly Uint8Array[];
}

interface Fragment {
  readonly nullable: boolean;
  readonly first: readonly number[];
  readonly last: readonly number[];
}

function buildPositionAutomaton(signatures: readonly MagicSignature[]): PositionAutomaton {
  const signatureOf: number[] = [];
  const classOf: number[] = [];
  const follow: number[][] = [];
  const classes: Uint8Array[] = [];
  const classIds = new Map<string, number>();
  let current = 0;

  const position = (set: Uint8Array): number => {
    const key = set.join("");
    let cls = classIds.get(key);
    if (cls === undefined) {
      cls = classes.push(set) - 1;
      classIds.set(key, cls);
    }
    signatureOf.push(current);
    classOf.push(cls);
    follow.push([]);
    return signatureOf.length - 1;
  };
  const link = (from: readonly number[], to: readonly number[]) => {
    for (const p of from) follow[p]!.push(...to);
  };
  const concat = (a: Fragment, b: Fragment): Fragment => {
    link(a.last, b.first);
    return {
      nullable: a.nullable && b.nullable,
      first: a.nullable ? [...a.first, ...b.first] : a.first,
      last: b.nullable ? [...a.last, ...b.last] : b.last,
    };
  };
  const EMPTY: Fragment = { nullable: true, first: [], last: [] };
  const optional = (f: Fragment): Fragment => ({ ...f, nullable: true });
  const build = (n: Node): Fragment => {
    switch (n.kind) {
      case "bytes": {
        const p = position(n.set);
        return { nullable: false, first: [p], last: [p] };
      }
      case "seq":
        return n.items.reduce((acc, item) => concat(acc, build(item)), EMPTY);
      case "alt": {
        const parts = n.items.map(build);
        return {
          nullable: parts.some((f) => f.nullable),
          first: parts.flatMap((f) => f.first),
          last: parts.flatMap((f) => f.last),
        };
      }
      case "repeat": {
        // x{m,n} is m copies of x, then x* or (x(x(…)?)?)? for the optional rest.
        let f = EMPTY;
        for (let k = 0; k < n.min; k++) f = concat(f, build(n.item));
        if (n.max === Infinity) {
          const loop = build(n.item);
          link(loop.last, loop.first);
          return concat(f, optional(loop));
        }
        const rest = (left: number): Fragment =>
          left === 0 ? EMPTY : optional(concat(build(n.item), rest(left - 1)));
        return concat(f, rest(n.max - n.min));
      }
    }
  };

  const first: Int32Array[] = [];
  const nullable: boolean[] = [];
  const isLast: number[] = [];
  signatures.forEach((s, sig) => {
    current = sig;
    const f = build(parsePattern(s));
    first.push(Int32Array.from(new Set(f.first)));
    nullable.push(f.nullable);
    for (const p of f.last) isLast[p] = 1;
  });
  return {
    first,
    nullable,
    signatureOf: Int32Array.from(signatureOf),
    classOf: Int32Array.from(classOf),
    isLast: Uint8Array.from({ length: signatureOf.length }, (_, p) => isLast[p] ?? 0),
    follow: follow.map((f) => Int32Array.from(new Set(f))),
    classes,
  };
}

/** Groups the 256 byte values by which position classes hold them. */
function byteClasses(classes: readonly Uint8Array[]): {
  byteClass: Uint8Array;
  classCount: number;
  takes: Uint8Array;
} {
  const byteClass = new Uint8Array(256);
  const ids = new Map<string, number>();
  const representative: number[] = [];
  for (let b = 0; b < 256; b++) {
    const key = classes.map((c) => c[b]).join("");
    let id = ids.get(key);
    if (id === undefined) {
      id = representative.push(b) - 1;
      ids.set(key, id);
    }
    byteClass[b] = id;
  }
  const classCount = representative.length;
  const takes = new Uint8Array(classes.length * classCount);
  classes.forEach((c, i) => {
    representative.forEach((b, e) => takes[i * classCount + e] = c[b]!);
  });
  return { byteClass, classCount, takes };
}

function parsePattern(signature: MagicSignature): Node {
  const src = signature.pattern;
  let i = 0;
  const fail = (why: string): never => {
    throw new MagicPatternError(
      `Cannot compile magic signature ${signature.id}: ${why} at offset ${i} of /${src}/; ` +
        "regenerate magic_signatures.ts with scripts/gen_magic.ts",
    );
  };
  const hexByte = (): number => {
    const m = /^x([0-9a-fA-F]{2})/.exec(src.slice(i));
    if (m === null) return fail("expected \\xNN");
    i += 3;
    return parseInt(m[1]!, 16);
  };
  /** The byte of a literal or escape at i (not "\\" followed by a class escape). */
  const byte = (): number => {
    const c = src.charCodeAt(i);
    if (c !== 0x5c) {
      if (c > 0xff) return fail("non-latin1 character");
      i++;
      return c;
    }
    i++;
    if (src[i] === "x") return hexByte();
    const e = src[i];
    if (e === undefined || /[0-9A-Za-z]/.test(e)) return fail(`unsupported escape \\${e ?? ""}`);
    i++;
    return e.charCodeAt(0);
  };
  const charClass = (): Uint8Array => {
    const set = new Uint8Array(256);
    const negated = src[i] === "^";
    if (negated) i++;
    while (src[i] !== "]") {
      if (i >= src.length) return fail("unterminated class");
      const lo = byte();
      let hi = lo;
      if (src[i] === "-" && src[i + 1] !== "]") {
        i++;
        hi = byte();
      }
      if (lo > hi) return fail("reversed range");
      set.fill(1, lo, hi + 1);
    }
    i++;
    if (negated) { for (let b = 0; b < 256; b++) set[b] = set[b]! ^ 1; }
    return set;
  };
  const atom = (): Node => {
    const c = src[i];
    if (c === "(") {
      if (!src.startsWith("(?:", i)) return fail("only (?:…) groups are supported");
      i += 3;
      const inner = alternation();
      if (src[i] !== ")") return fail("missing )");
      i++;
      return inner;
    }
    if (c === "[") {
      i++;
      return { kind: "bytes", set: charClass() };
    }
    if (c === ".") {
      i++;
      return { kind: "bytes", set: new Uint8Array(256).fill(1) };
    }
    if (c !== undefined && "^$|)*+?{}]".includes(c)) return fail(`unexpected ${c}`);
    const set = new Uint8Array(256);
    set[byte()] = 1;
    return { kind: "bytes", set };
  };
  const quantified = (): Node => {
    let node = atom();
    for (;;) {
      const c = src[i];
      let min: number;
      let max: number;
      if (c === "*") [min, max] = [0, Infinity];
      else if (c === "+") [min, max] = [1, Infinity];
      else if (c === "?") [min, max] = [0, 1];
      else if (c === "{") {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
        if (m === null) return fail("bad {…}");
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
        if (min > max) return fail("bad {…} bounds");
        i += m[0].length - 1;
      } else {
        return node;
      }
      i++;
      node = { kind: "repeat", item: node, min, max };
    }
  };
  const alternation = (): Node => {
    const branches: Node[] = [];
    for (;;) {
      const items: Node[] = [];
      while (i < src.length && src[i] !== "|" && src[i] !== ")") items.push(quantified());
      branches.push({ kind: "seq", items });
      if (src[i] !== "|") break;
      i++;
    }
    return branches.length === 1 ? branches[0]! : { kind: "alt", items: branches };
  };

  if (src[0] !== "^") fail("the pattern must start with ^");
  i = 1;
  const node = alternation();
  if (i < src.length) fail(`unexpected ${src[i]}`);
  return node;
}
