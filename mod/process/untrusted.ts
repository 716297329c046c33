/**
 * Reporting what others sent: text from the bus or a client is quoted with
 * its control characters escaped and cut to a length, so a report stays
 * one line that cannot steer a terminal; and reports a sender can cause
 * are rate-limited per kind, so a flood of bad input is a few lines and a
 * count, not a flood of stderr.
 *
 * @module
 */

import type { Reporter } from "./reporter.ts";

/** Characters of an untrusted string kept in a report. */
export const DEFAULT_QUOTE_MAX = 120;

/**
 * `text` in double quotes, C0/C1 controls, DEL, line and paragraph
 * separators and bidirectional overrides escaped (`\x1b`, `\u202e`),
 * quotes and backslashes escaped, cut after `max` characters with the
 * full length noted.
 */
export function quoteUntrusted(text: string, max = DEFAULT_QUOTE_MAX): string {
  let out = "";
  let n = 0;
  for (const ch of text) {
    if (n === max) return `"${out}…" (${text.length} chars)`;
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) {
      out += `\\x${c.toString(16).padStart(2, "0")}`;
    } else if (
      (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c === 0x200e || c === 0x200f
    ) {
      out += `\\u${c.toString(16).padStart(4, "0")}`;
    } else if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else out += ch;
    n++;
  }
  return `"${out}"`;
}

/** Options of a `ReportLimiter`. */
export interface ReportLimiterOptions {
  /** Reports of one kind per interval (default 10). */
  readonly burst?: number;
  /** The interval, ms (default 60 s). */
  readonly intervalMs?: number;
  /** The clock (tests). */
  readonly now?: () => number;
}

/**
 * At most `burst` warnings of one kind per interval; the rest are counted
 * and summed up in one line when the kind next reports in a later
 * interval. The message is built only when it is written.
 */
export class ReportLimiter {
  readonly #reporter: Reporter;
  readonly #burst: number;
  readonly #interval: number;
  readonly #now: () => number;
  readonly #kinds = new Map<string, { start: number; sent: number; suppressed: number }>();

  constructor(reporter: Reporter, options: ReportLimiterOptions = {}) {
    this.#reporter = reporter;
    this.#burst = options.burst ?? 10;
    this.#interval = options.intervalMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** A warning of `kind` (a few words naming what went wrong, e.g. "malformed bus events"). */
  warning(kind: string, message: () => string): void {
    const now = this.#now();
    let k = this.#kinds.get(kind);
    if (k === undefined) {
      if (this.#kinds.size >= 1024) this.#kinds.clear();
      k = { start: now, sent: 0, suppressed: 0 };
      this.#kinds.set(kind, k);
    }
    if (now - k.start >= this.#interval) {
      if (k.suppressed > 0) {
        this.#reporter.warning(
          `${k.suppressed} more ${kind} not reported in the last ${
            Math.round((now - k.start) / 1000)
          } s`,
        );
      }
      k.start = now;
      k.sent = 0;
      k.suppressed = 0;
    }
    if (k.sent >= this.#burst) {
      k.suppressed++;
      return;
    }
    k.sent++;
    const text = message();
    this.#reporter.warning(
      k.sent === this.#burst
        ? `${text} (further ${kind} are counted, not reported, for ${this.#interval / 1000} s)`
        : text,
    );
  }
}
