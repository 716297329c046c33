/**
 * Connection uids in Zeek's format: `C` followed by two words in base 62
 * (alphabet `0-9a-zA-Z`, least significant digit first, no padding), the
 * first word 32 bits wide and the second 64, as `bits_per_uid = 96` makes
 * them (Z: src/UID.cc, src/util.cc `uitoa_n`).
 *
 * A uid is a pure function of the connection's creation ordinal (the k-th
 * object that draws an id) and a per-process key, so the tracker stores one
 * number per connection and renders the text only when the row is written.
 * The 64-bit word is a keyed Feistel permutation of the ordinal, so two
 * ordinals can never share a uid within one process.
 *
 * Zeek's seeded sequence (btest's `random.seed`) hashes a counter through
 * its HighwayHash-based `calculate_unique_id`; the seed file is not part of
 * the conformance corpus, so the sequence cannot be recomputed here. A
 * caller that has the sequence (the corpus lists it in creation order) can
 * pass it as `sequence`: ordinal k then gets its k-th entry.
 *
 * @module
 */

const DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const TWO_32 = 4294967296;

/** How uids are drawn. */
export interface UidOptions {
  /** A fixed key, for repeatable uids (tests); default: random per generator. */
  readonly seed?: number;
  /** Uids for the first ordinals, in creation order (Zeek's seeded sequence). */
  readonly sequence?: readonly string[];
}

/** Renders the uid of a creation ordinal. */
export class UidGenerator {
  readonly #keys: Uint32Array;
  readonly #sequence: readonly string[];

  constructor(options: UidOptions = {}) {
    this.#keys = new Uint32Array(6);
    if (options.seed === undefined) crypto.getRandomValues(this.#keys);
    else {
      let s = (options.seed >>> 0) ^ 0x9e3779b9;
      for (let i = 0; i < 6; i++) {
        s = mix32(s + 0x6d2b79f5 * (i + 1));
        this.#keys[i] = s;
      }
    }
    this.#sequence = options.sequence ?? [];
  }

  /** The uid (`C…`) of the connection or tunnel created as number `ordinal` (0-based). */
  uid(ordinal: number): string {
    const listed = this.#sequence[ordinal];
    if (listed !== undefined) return listed;
    const k = this.#keys;
    let left = Math.floor(ordinal / TWO_32) >>> 0;
    let right = ordinal >>> 0;
    for (let round = 0; round < 4; round++) {
      const next = (left ^ mix32(right ^ k[round]!)) >>> 0;
      left = right;
      right = next;
    }
    const first = mix32(left ^ k[4]!) ^ mix32(right ^ k[5]!);
    return "C" + base62(0, first >>> 0) + base62(left, right);
  }
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The 64-bit value `hi·2^32 + lo` in base 62, least significant digit
 * first, as Zeek's `uitoa_n` writes it (zero is `0`).
 */
export function base62(hi: number, lo: number): string {
  let out = "";
  do {
    const qHi = Math.floor(hi / 62);
    const cur = (hi - qHi * 62) * TWO_32 + lo;
    const qLo = Math.floor(cur / 62);
    out += DIGITS[cur - qLo * 62];
    hi = qHi;
    lo = qLo;
  } while (hi !== 0 || lo !== 0);
  return out;
}
