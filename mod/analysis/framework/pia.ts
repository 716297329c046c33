/**
 * Zeek's protocol identification analyzer (PIA, dynamic protocol
 * detection): a connection's first bytes are buffered and matched against
 * the loaded analyzers' DPD signatures; a match attaches the analyzer and
 * replays the buffer to it (Z: src/analyzer/protocol/pia/PIA.cc).
 *
 * - TCP: a signature's pattern is anchored at the start of its direction's
 *   reassembled stream; UDP: at the start of each datagram.
 * - Buffering stops, and with it matching (`dpd_match_only_beginning`),
 *   once the buffer holds more than `dpd_buffer_size` bytes or
 *   `dpd_max_packets` chunks; the chunk that crosses a limit is still
 *   matched. Content gaps count as chunks.
 * - The replay is the buffer in arrival order, both directions, gaps
 *   included; an analyzer already attached is not attached twice.
 * - A signature with a `reverse` one (`requires-reverse-signature`) fires
 *   when its own pattern matched one direction and the reverse pattern
 *   the other, in either order (Zeek's rule matcher re-checks the
 *   dependent rule when the one it requires matches).
 *
 * @module
 */

import { latin1String } from "../../../zeek/mod.ts";
import type { AnalyzerSpec, DpdSignature } from "./analyzer.ts";

/** `dpd_buffer_size`: bytes buffered per connection, both directions together. */
export const DEFAULT_DPD_BUFFER_SIZE = 1024;
/** `dpd_max_packets`: chunks (datagrams, stream deliveries, gaps) buffered. */
export const DEFAULT_DPD_MAX_PACKETS = 100;

/** A signature and the analyzer it attaches. */
export interface DpdRule {
  readonly spec: AnalyzerSpec;
  readonly signature: DpdSignature;
}

/** One buffered chunk: bytes (copied), or a gap of `len` bytes at `seq`. */
interface Chunk {
  readonly isOrig: boolean;
  readonly data: Uint8Array | undefined;
  readonly seq: number;
  readonly len: number;
}

/** Where a replay goes: the analyzer a match attached. */
export interface PiaReplayTarget {
  data(data: Uint8Array, isOrig: boolean): void;
  gap(seq: number, len: number, isOrig: boolean): void;
}

/** The PIA of one connection. */
export class Pia {
  readonly #rules: readonly DpdRule[];
  readonly #stream: boolean;
  readonly #onMatch: (spec: AnalyzerSpec, replay: (target: PiaReplayTarget) => void) => void;
  #chunks: Chunk[] = [];
  #bytes = 0;
  #skipping = false;
  /** Rules that matched already: a signature fires once per connection, as in Zeek's rule matcher. */
  readonly #fired = new Set<DpdRule>();
  /**
   * Per rule with a `reverse` signature: the directions (1 originator, 2
   * responder) its own pattern matched, and those the reverse one matched.
   */
  readonly #own: Uint8Array;
  readonly #rev: Uint8Array;
  /** TCP: each direction's bytes so far, one char per byte, for the anchored patterns. */
  readonly #text = ["", ""];

  /**
   * `stream` is true for TCP (patterns anchored at each direction's stream
   * start), false for UDP (at each datagram). `onMatch` attaches the
   * analyzer and replays the buffer into it through `replay`.
   */
  constructor(
    rules: readonly DpdRule[],
    stream: boolean,
    onMatch: (spec: AnalyzerSpec, replay: (target: PiaReplayTarget) => void) => void,
  ) {
    this.#rules = rules;
    this.#stream = stream;
    this.#onMatch = onMatch;
    this.#own = new Uint8Array(rules.length);
    this.#rev = new Uint8Array(rules.length);
  }

  /** Whether the PIA still buffers and matches. */
  get active(): boolean {
    return !this.#skipping;
  }

  /** The next bytes of a direction (TCP) or one datagram (UDP); borrowed. */
  data(data: Uint8Array, isOrig: boolean): void {
    if (this.#skipping) return;
    this.#bytes += data.length;
    const crossed = this.#bytes > DEFAULT_DPD_BUFFER_SIZE ||
      this.#chunks.length + 1 > DEFAULT_DPD_MAX_PACKETS;
    // The chunk that ends the buffering is dropped before this call returns
    // (a replay it causes happens now): no copy of it is needed.
    this.#chunks.push({ isOrig, data: crossed ? data : data.slice(), seq: 0, len: data.length });
    let text = latin1String(data, 0, data.length);
    if (this.#stream) text = this.#text[isOrig ? 0 : 1] += text;
    this.#match(text, isOrig);
    if (crossed) this.#skip();
  }

  /** A content gap of a direction (TCP): a chunk without bytes. */
  gap(seq: number, len: number, isOrig: boolean): void {
    if (this.#skipping) return;
    this.#chunks.push({ isOrig, data: undefined, seq, len });
    if (this.#chunks.length > DEFAULT_DPD_MAX_PACKETS) this.#skip();
  }

  #match(text: string, isOrig: boolean): void {
    const side = isOrig ? 1 : 2;
    for (let i = 0; i < this.#rules.length; i++) {
      const rule = this.#rules[i]!;
      if (this.#fired.has(rule)) continue;
      const signature = rule.signature;
      const reverse = signature.reverse;
      const own = applies(signature.direction, isOrig) && (this.#own[i]! & side) === 0 &&
        signature.payload.test(text);
      if (reverse === undefined) {
        if (!own) continue;
      } else {
        if (own) this.#own[i]! |= side;
        if (
          applies(reverse.direction, isOrig) && (this.#rev[i]! & side) === 0 &&
          reverse.payload.test(text)
        ) this.#rev[i]! |= side;
        const o = this.#own[i]!;
        const r = this.#rev[i]!;
        if (!((o & 1) !== 0 && (r & 2) !== 0) && !((o & 2) !== 0 && (r & 1) !== 0)) continue;
      }
      this.#fired.add(rule);
      this.#onMatch(rule.spec, (target) => this.#replay(target));
    }
  }

  #replay(target: PiaReplayTarget): void {
    for (const c of this.#chunks) {
      if (c.data !== undefined) target.data(c.data, c.isOrig);
      else target.gap(c.seq, c.len, c.isOrig);
    }
  }

  #skip(): void {
    this.#skipping = true;
    this.#chunks = [];
    this.#text[0] = this.#text[1] = "";
  }
}

function applies(direction: DpdSignature["direction"], isOrig: boolean): boolean {
  return direction === "any" || (direction === "originator") === isOrig;
}
