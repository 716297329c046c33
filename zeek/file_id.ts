/**
 * Zeek's file ids (`fuid`, files.log and http.log's `*_fuids`): not random
 * but a keyed hash of the file handle a protocol script builds, so the same
 * traffic gives the same ids in every run (`Manager::HashHandle`,
 * `src/file_analysis/Manager.cc`):
 *
 * - HighwayHash-128 of the handle's bytes (`KeyedHash::StaticHash128`),
 *   keyed with the SHA-256 of the script constant `digest_salt` (default
 *   "Please change this value."), its 32 bytes read as four little-endian
 *   u64 (`src/Hash.cc`);
 * - packed as a 96-bit UID, `uid[0] = h[0] >> 32`, `uid[1] = h[1]`
 *   (`UID::Set`), and written `"F"` + each part in base 62 (`0-9a-zA-Z`),
 *   least significant digit first, unpadded (`UID::Base62`, `util::uitoa_n`).
 *
 * Handles print times as Zeek's `ODesc::Add(double)` does
 * (`formatHandleTime`). HighwayHash is Google's public algorithm; this is
 * a plain BigInt port (a handle is ~100 bytes, hashed once per file).
 *
 * @example
 * ```ts
 * import { fileId } from "./file_id.ts";
 * fileId("Analyzer::ANALYZER_HTTP1362692526.869344F11141.142.228.5:59856 > 192.150.187.43:80");
 * // "FMnxxt3xjVcWNS2141"
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;
/** Zeek's default `digest_salt` (`init-bare.zeek`). */
export const DEFAULT_DIGEST_SALT = "Please change this value.";

const INIT0 = [0xdbe6d5d5fe4cce2fn, 0xa4093822299f31d0n, 0x13198a2e03707344n, 0x243f6a8885a308d3n];
const INIT1 = [0x3bd39e10cb0ef593n, 0xc0acf169b5f18a8cn, 0xbe5466cf34e90c6cn, 0x452821e638d01377n];

/** HighwayHash with a 256-bit key, producing the 128-bit digest. */
export class HighwayHash128 {
  readonly #v0: bigint[];
  readonly #v1: bigint[];
  readonly #mul0 = [...INIT0];
  readonly #mul1 = [...INIT1];

  /** `key`: four 64-bit lanes. */
  constructor(key: readonly bigint[]) {
    if (key.length !== 4) throw new RangeError("HighwayHash needs a key of four 64-bit lanes");
    this.#v0 = INIT0.map((m, i) => m ^ key[i]!);
    this.#v1 = INIT1.map((m, i) => m ^ swap32(key[i]!));
  }

  /** Hashes all of `data` (call once) and returns the digest as two 64-bit halves. */
  digest(data: Uint8Array): [bigint, bigint] {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const full = data.length - (data.length % 32);
    for (let i = 0; i < full; i += 32) {
      this.#update([0, 8, 16, 24].map((o) => view.getBigUint64(i + o, true)));
    }
    const r = data.length % 32;
    if (r !== 0) this.#updateRemainder(data.subarray(full), r);
    for (let i = 0; i < 6; i++) {
      const v = this.#v0;
      this.#update([swap32(v[2]!), swap32(v[3]!), swap32(v[0]!), swap32(v[1]!)]);
    }
    const v0 = this.#v0, v1 = this.#v1, m0 = this.#mul0, m1 = this.#mul1;
    return [
      (v0[0]! + m0[0]! + v1[2]! + m1[2]!) & M64,
      (v0[1]! + m0[1]! + v1[3]! + m1[3]!) & M64,
    ];
  }

  #updateRemainder(tail: Uint8Array, r: number): void {
    const big = BigInt(r);
    for (let i = 0; i < 4; i++) {
      this.#v0[i] = (this.#v0[i]! + ((big << 32n) + big)) & M64;
      const v = this.#v1[i]!;
      this.#v1[i] = rot32(v & M32, r) | (rot32(v >> 32n, r) << 32n);
    }
    const packet = new Uint8Array(32);
    const k = r & ~3;
    packet.set(tail.subarray(0, k));
    if (r & 16) {
      for (let i = 0; i < 4; i++) packet[28 + i] = tail[k + i + (r & 3) - 4]!;
    } else if (r & 3) {
      packet[16] = tail[k]!;
      packet[17] = tail[k + ((r & 3) >> 1)]!;
      packet[18] = tail[k + (r & 3) - 1]!;
    }
    const view = new DataView(packet.buffer);
    this.#update([0, 8, 16, 24].map((o) => view.getBigUint64(o, true)));
  }

  #update(lanes: readonly bigint[]): void {
    const v0 = this.#v0, v1 = this.#v1, m0 = this.#mul0, m1 = this.#mul1;
    for (let i = 0; i < 4; i++) {
      v1[i] = (v1[i]! + m0[i]! + lanes[i]!) & M64;
      m0[i] = m0[i]! ^ (((v1[i]! & M32) * (v0[i]! >> 32n)) & M64);
      v0[i] = (v0[i]! + m1[i]!) & M64;
      m1[i] = m1[i]! ^ (((v0[i]! & M32) * (v1[i]! >> 32n)) & M64);
    }
    zipperMergeAndAdd(v1[1]!, v1[0]!, v0, 1, 0);
    zipperMergeAndAdd(v1[3]!, v1[2]!, v0, 3, 2);
    zipperMergeAndAdd(v0[1]!, v0[0]!, v1, 1, 0);
    zipperMergeAndAdd(v0[3]!, v0[2]!, v1, 3, 2);
  }
}

/** HighwayHash's byte shuffle of two lanes, added into `into[hi]` and `into[lo]`. */
function zipperMergeAndAdd(v1: bigint, v0: bigint, into: bigint[], hi: number, lo: number): void {
  const x0 = ((((v0 & 0xff000000n) | (v1 & 0xff00000000n)) >> 24n) |
    (((v0 & 0xff0000000000n) | (v1 & 0xff000000000000n)) >> 16n) |
    (v0 & 0xff0000n) |
    ((v0 & 0xff00n) << 32n) |
    ((v1 & 0xff00000000000000n) >> 8n) |
    (v0 << 56n)) & M64;
  const x1 = ((((v1 & 0xff000000n) | (v0 & 0xff00000000n)) >> 24n) |
    (v1 & 0xff0000n) |
    ((v1 & 0xff0000000000n) >> 16n) |
    ((v1 & 0xff00n) << 24n) |
    ((v0 & 0xff000000000000n) >> 8n) |
    ((v1 & 0xffn) << 48n) |
    (v0 & 0xff00000000000000n)) & M64;
  into[hi] = (into[hi]! + x1) & M64;
  into[lo] = (into[lo]! + x0) & M64;
}

function swap32(x: bigint): bigint {
  return ((x >> 32n) | (x << 32n)) & M64;
}

function rot32(x: bigint, c: number): bigint {
  const v = x & M32;
  if (c === 0) return v;
  return ((v << BigInt(c)) & M32) | (v >> BigInt(32 - c));
}

const BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** `v` in base 62, least significant digit first (`util::uitoa_n`). */
function base62LsbFirst(v: bigint): string {
  let s = BASE62[Number(v % 62n)]!;
  v /= 62n;
  while (v > 0n) {
    s += BASE62[Number(v % 62n)]!;
    v /= 62n;
  }
  return s;
}

const keys = new Map<string, bigint[]>();

/** The HighwayHash key Zeek derives from `digest_salt` (SHA-256, four little-endian u64). */
function keyOf(salt: string): bigint[] {
  let key = keys.get(salt);
  if (key === undefined) {
    const d = createHash("sha256").update(salt, "utf8").digest();
    key = [0, 8, 16, 24].map((o) => d.readBigUInt64LE(o));
    keys.set(salt, key);
  }
  return key;
}

/** Zeek's fuid of a file handle (`Manager::HashHandle`). */
export function fileId(
  handle: string | Uint8Array,
  digestSalt: string = DEFAULT_DIGEST_SALT,
): string {
  const bytes = typeof handle === "string" ? new TextEncoder().encode(handle) : handle;
  const [a, b] = new HighwayHash128(keyOf(digestSalt)).digest(bytes);
  return "F" + base62LsbFirst(a >> 32n) + base62LsbFirst(b);
}

/**
 * A time (or any double) as Zeek's `ODesc::Add(double)` prints it inside
 * handles: six decimals, trailing zeros and a bare `.` dropped, `.0` added
 * to an integral value (`util::double_to_str`). `1443732977.727740` →
 * `1443732977.72774`, `1700000000` → `1700000000.0`. (Zeek switches to
 * scientific notation past INT_MAX, after 2038; not done here.)
 */
export function formatHandleTime(t: number): string {
  let s = t.toFixed(6);
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s.includes(".") || s.includes("e") ? s : `${s}.0`;
}
