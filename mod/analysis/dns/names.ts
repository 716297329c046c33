/**
 * Domain names in DNS messages, decoded as Zeek's `DNS_Interpreter::
 * ExtractName`/`ExtractLabel` do (Z: src/analyzer/protocol/dns/DNS.cc),
 * including their quirks: labels are copied raw and joined with `.`, each
 * compression level drops its own trailing dot and lower-cases its own
 * part, a pointer must point strictly before itself and may only read the
 * bytes up to itself, and a chain deeper than the limit cuts the name
 * there without failing it.
 *
 * Zeek recurses once per compression pointer; here one loop walks the
 * chain and a small array remembers where each level's output started, so
 * input cannot deepen the JS stack.
 *
 * @module
 */

import { byteString } from "./byte_strings.ts";

/** Zeek's `u_char name[513]`: 512 usable bytes per decoded name. */
export const NAME_CAPACITY = 512;
/** TSIG's algorithm name buffer (`u_char alg_name[1024]`). */
export const TSIG_NAME_CAPACITY = 1023;
/** `dns_max_compression_chain_depth`. */
export const DEFAULT_MAX_COMPRESSION_DEPTH = 20;

/** Where name weirds go. */
export interface NameProblems {
  weird(name: string, addl?: string): void;
  /** `LimitReachedWeird`: a weird with the value as addl, and conn history `X`. */
  limitReached(name: string, value: number): void;
}

/**
 * One decode buffer for every reader: `read` runs start to end without
 * yielding, so connections can share it (and a new connection allocates
 * nothing).
 */
const SHARED_BUF = new Uint8Array(TSIG_NAME_CAPACITY + 1);
const SHARED_STARTS = new Int32Array(DEFAULT_MAX_COMPRESSION_DEPTH + 2);

/** Decodes names of one connection's messages. */
export class NameReader {
  readonly #buf = SHARED_BUF;
  readonly #starts: Int32Array;
  readonly #maxDepth: number;
  readonly #problems: NameProblems;
  /** Labels longer than 63 bytes are allowed (NetBIOS name service, responder port 137). */
  longLabels = false;
  /** The name decoded by the last successful `read`, as a byte string. */
  name = "";

  constructor(problems: NameProblems, maxDepth = DEFAULT_MAX_COMPRESSION_DEPTH) {
    this.#problems = problems;
    this.#maxDepth = Math.max(0, Math.floor(maxDepth));
    this.#starts = this.#maxDepth + 2 <= SHARED_STARTS.length
      ? SHARED_STARTS
      : new Int32Array(this.#maxDepth + 2);
  }

  /**
   * Decodes the name at `msg[pos]` (the message is `msg[0..end)`), into
   * `this.name`. Returns the position after the name, or -1 on a parse
   * error (a weird was raised). `downcase` lower-cases the labels read at
   * the top level; those reached through pointers always are.
   */
  read(
    msg: Uint8Array,
    pos: number,
    end: number,
    downcase: boolean,
    capacity = NAME_CAPACITY,
  ): number {
    const buf = this.#buf;
    const starts = this.#starts;
    const problems = this.#problems;
    let out = 0;
    let depth = 0;
    let p = pos;
    let limit = end;
    let top = pos;
    starts[0] = 0;
    for (;;) {
      if (p >= limit) {
        problems.weird("dns_invalid_name");
        return -1;
      }
      const at = p;
      const len = msg[p++]!;
      if (len === 0) {
        if (depth === 0) top = p;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        if (p >= limit) {
          problems.weird("dns_invalid_name");
          return -1;
        }
        const offset = ((len & 0x3f) << 8) | msg[p++]!;
        if (depth === 0) top = p;
        if (offset >= at) {
          problems.weird("DNS_label_forward_compress_offset");
          return -1;
        }
        if (depth + 1 > this.#maxDepth) {
          // The level past the limit contributes nothing and is not finished.
          problems.limitReached("DNS_max_compression_chain_depth_exceeded", depth + 1);
          break;
        }
        depth++;
        starts[depth] = out;
        p = offset;
        limit = at;
        continue;
      }
      if (len > limit - p) {
        problems.weird("DNS_label_len_gt_pkt");
        return -1;
      }
      if (len > 63 && !this.longLabels) {
        problems.weird("DNS_label_too_long");
        return -1;
      }
      if (len >= capacity - out) {
        problems.weird("DNS_label_len_gt_name_len");
        return -1;
      }
      // Labels are short: a plain loop beats creating a subarray for `set`.
      for (let i = 0; i < len; i++) buf[out + i] = msg[p + i]!;
      buf[out + len] = 0x2e;
      out += len + 1;
      p += len;
      if (depth === 0) top = p;
    }
    for (let k = depth; k >= 0; k--) {
      const start = starts[k]!;
      const n = out - start;
      if (n >= 255) problems.weird("DNS_NAME_too_long");
      if (n >= 2 && buf[out - 1] === 0x2e) out--;
      if (k > 0 || downcase) {
        for (let i = start; i < out; i++) {
          const c = buf[i]!;
          if (c >= 0x41 && c <= 0x5a) buf[i] = c + 32;
        }
      }
    }
    this.name = byteString(buf, 0, out);
    return top;
  }
}
