/**
 * A connection's history string (Z: src/session/Session.cc `CheckHistory`,
 * `ScaledHistoryEntry`): letters kept inline in the table, at most once per
 * direction for the flag letters (`seen` bits), on the 1st, 10th, 100th …
 * occurrence for the counted ones (C, G, T, W). Upper case is the
 * originator, lower case the responder, `^` and `X` have no direction.
 *
 * @module
 */

import {
  CF_COUNTER_OVERFLOW,
  CF_LONG_HISTORY,
  type ConnTable,
  HISTORY_INLINE,
} from "./conn_table.ts";

/** `seen` bits, originator's; the responder's are the same shifted left by 8. */
export const HIST_SYN = 0x01;
export const HIST_FIN = 0x02;
export const HIST_RST = 0x04;
export const HIST_FIN_RST = 0x08;
export const HIST_DATA = 0x10;
export const HIST_ACK = 0x20;
export const HIST_MULTI_FLAG = 0x40;
/** A letter without a direction (`X`), set on both halves so a flip keeps it. */
export const HIST_UNDIRECTED = 0x80;

/** Counter indices of the logarithmic letters. */
export const COUNT_CHECKSUM = 0;
export const COUNT_GAP = 1;
export const COUNT_RXMIT = 2;
export const COUNT_ZERO_WINDOW = 3;

const LOWER = 0x20;

/** History strings of a table's connections. */
export class HistoryStore {
  readonly #t: ConnTable;
  readonly #long = new Map<number, string>();
  readonly #overflow = new Map<number, number>();

  constructor(table: ConnTable) {
    this.#t = table;
  }

  /** Appends one letter (a char code) as it is. */
  append(slot: number, code: number): void {
    const t = this.#t;
    const len = t.historyLen[slot]!;
    if (len < HISTORY_INLINE) {
      t.history[slot * HISTORY_INLINE + len] = code;
      t.historyLen[slot] = len + 1;
      return;
    }
    t.flags[slot]! |= CF_LONG_HISTORY;
    this.#long.set(slot, (this.#long.get(slot) ?? "") + String.fromCharCode(code));
  }

  /**
   * Records `upper` (lower-cased for the responder, `side` 1) unless this
   * direction already has `mask`; returns whether it had it.
   */
  check(slot: number, side: number, mask: number, upper: number): boolean {
    const t = this.#t;
    const bit = side === 0 ? mask : mask << 8;
    const seen = t.historySeen[slot]!;
    if ((seen & bit) !== 0) return true;
    t.historySeen[slot] = seen | bit;
    this.append(slot, side === 0 ? upper : upper | LOWER);
    return false;
  }

  /** Appends `upper` for `side`, lower-cased for the responder. */
  add(slot: number, side: number, upper: number): void {
    this.append(slot, side === 0 ? upper : upper | LOWER);
  }

  /**
   * Counts one occurrence of a logarithmic letter for `side` and records
   * it on the 1st, 10th, 100th … occurrence; returns whether it did.
   */
  scaled(slot: number, side: number, counter: number, upper: number): boolean {
    const t = this.#t;
    const at = (slot * 2 + side) * 4 + counter;
    let n = t.counters[at]!;
    if (n < 0xffff) t.counters[at] = ++n;
    else {
      t.flags[slot]! |= CF_COUNTER_OVERFLOW;
      n = (this.#overflow.get(at) ?? 0xffff) + 1;
      this.#overflow.set(at, n);
    }
    if (!isPowerOfTen(n)) return false;
    this.add(slot, side, upper);
    return true;
  }

  /** The history as text. */
  text(slot: number): string {
    const t = this.#t;
    const len = t.historyLen[slot]!;
    let s = "";
    for (let i = 0; i < len; i++) s += String.fromCharCode(t.history[slot * HISTORY_INLINE + i]!);
    return len === HISTORY_INLINE ? s + (this.#long.get(slot) ?? "") : s;
  }

  /** Whether the history is exactly the one letter `code`. */
  isExactly(slot: number, code: number): boolean {
    const t = this.#t;
    return t.historyLen[slot] === 1 && t.history[slot * HISTORY_INLINE] === code;
  }

  /** Replaces the history (the `H` → `^h` rewrite of a late flip). */
  replace(slot: number, text: string): void {
    const t = this.#t;
    t.historyLen[slot] = 0;
    this.#long.delete(slot);
    for (let i = 0; i < text.length; i++) this.append(slot, text.charCodeAt(i));
  }

  /** Swaps the counters kept beyond 0xffff between the two endpoints of a flipped connection. */
  flip(slot: number): void {
    if ((this.#t.flags[slot]! & CF_COUNTER_OVERFLOW) === 0) return;
    for (let k = 0; k < 4; k++) {
      const a = slot * 8 + k;
      const b = a + 4;
      const va = this.#overflow.get(a);
      const vb = this.#overflow.get(b);
      this.#overflow.delete(a);
      this.#overflow.delete(b);
      if (va !== undefined) this.#overflow.set(b, va);
      if (vb !== undefined) this.#overflow.set(a, vb);
    }
  }

  /** Forgets what lives outside the table for a slot about to be freed. */
  release(slot: number): void {
    const f = this.#t.flags[slot]!;
    if ((f & CF_LONG_HISTORY) !== 0) this.#long.delete(slot);
    if ((f & CF_COUNTER_OVERFLOW) !== 0) {
      for (let k = 0; k < 8; k++) this.#overflow.delete(slot * 8 + k);
    }
  }
}

function isPowerOfTen(n: number): boolean {
  while (n >= 10 && n % 10 === 0) n /= 10;
  return n === 1;
}
