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

const M32 = 0xffffffffn;
/** Zeek's default `digest_salt` (`init-bare.zeek`). */
export const DEFAULT_DIGEST_SALT = "Please change this value.";

const INIT0 = [0xdbe6d5d5fe4cce2fn, 0xa4093822299f31d0n, 0x13198a2e03707344n, 0x243f6a8885a308d3n];
const INIT1 = [0x3bd39e10cb0ef593n, 0xc0acf169b5f18a8cn, 0xbe5466cf34e90c6cn, 0x452821e638d01377n];

/**
 * HighwayHash with a 256-bit key, producing the 128-bit digest. The state
 * is eight 64-bit lanes kept as 32-bit halves (index `2i` low, `2i + 1`
 * high): BigInt arithmetic cost a file 10 % of an HTTP run.
 */
export class HighwayHash128 {
  readonly #v0 = new Uint32Array(8);
  readonly #v1 = new Uint32Array(8);
  readonly #mul0 = new Uint32Array(8);
  readonly #mul1 = new Uint32Array(8);
  readonly #lanes = new Uint32Array(8);

  /** `key`: four 64-bit lanes, or a fresh instance whose initial state is copied. */
  constructor(key: readonly bigint[] | HighwayHash128) {
    if (key instanceof HighwayHash128) {
      this.#v0.set(key.#v0);
      this.#v1.set(key.#v1);
      this.#mul0.set(key.#mul0);
      this.#mul1.set(key.#mul1);
      return;
    }
    if (key.length !== 4) throw new RangeError("HighwayHash needs a key of four 64-bit lanes");
    for (let i = 0; i < 4; i++) {
      const k = key[i]!;
      const klo = Number(k & M32), khi = Number(k >> 32n);
      setLane(this.#mul0, i, INIT0[i]!);
      setLane(this.#mul1, i, INIT1[i]!);
      this.#v0[2 * i] = (this.#mul0[2 * i]! ^ klo) >>> 0;
      this.#v0[2 * i + 1] = (this.#mul0[2 * i + 1]! ^ khi) >>> 0;
      // The key's halves swapped.
      this.#v1[2 * i] = (this.#mul1[2 * i]! ^ khi) >>> 0;
      this.#v1[2 * i + 1] = (this.#mul1[2 * i + 1]! ^ klo) >>> 0;
    }
  }

  /** Hashes all of `data` (call once) and returns the digest as two 64-bit halves. */
  digest(data: Uint8Array): [bigint, bigint] {
    const w = this.digestWords(data);
    return [(BigInt(w[1]) << 32n) | BigInt(w[0]), (BigInt(w[3]) << 32n) | BigInt(w[2])];
  }

  /** `digest` as four u32, least significant first (no BigInt on the way to a fuid). */
  digestWords(data: Uint8Array): [number, number, number, number] {
    const lanes = this.#lanes;
    const full = data.length - (data.length % 32);
    for (let i = 0; i < full; i += 32) {
      for (let w = 0; w < 8; w++) lanes[w] = word(data, i + 4 * w);
      this.#update(lanes);
    }
    const r = data.length % 32;
    if (r !== 0) this.#updateRemainder(data.subarray(full), r);
    const v0 = this.#v0;
    for (let i = 0; i < 6; i++) {
      // Permute: lanes 2, 3, 0, 1 with their halves swapped.
      lanes[0] = v0[5]!, lanes[1] = v0[4]!, lanes[2] = v0[7]!, lanes[3] = v0[6]!;
      lanes[4] = v0[1]!, lanes[5] = v0[0]!, lanes[6] = v0[3]!, lanes[7] = v0[2]!;
      this.#update(lanes);
    }
    const [lo0, hi0] = this.#finalLane(0);
    const [lo1, hi1] = this.#finalLane(1);
    return [lo0, hi0, lo1, hi1];
  }

  /** `v0[i] + mul0[i] + v1[i + 2] + mul1[i + 2]`, as its low and high u32. */
  #finalLane(i: number): [number, number] {
    const v0 = this.#v0, v1 = this.#v1, m0 = this.#mul0, m1 = this.#mul1;
    const j = i + 2;
    let lo = v0[2 * i]! + m0[2 * i]!;
    let hi = v0[2 * i + 1]! + m0[2 * i + 1]! + (lo > M32N ? 1 : 0);
    lo >>>= 0;
    let lo2 = lo + v1[2 * j]!;
    hi = (hi >>> 0) + v1[2 * j + 1]! + (lo2 > M32N ? 1 : 0);
    lo2 >>>= 0;
    let lo3 = lo2 + m1[2 * j]!;
    hi = (hi >>> 0) + m1[2 * j + 1]! + (lo3 > M32N ? 1 : 0);
    lo3 >>>= 0;
    return [lo3, hi >>> 0];
  }

  #updateRemainder(tail: Uint8Array, r: number): void {
    const v0 = this.#v0, v1 = this.#v1;
    for (let i = 0; i < 4; i++) {
      addInto(v0, i, r, r);
      v1[2 * i] = rotl32(v1[2 * i]!, r);
      v1[2 * i + 1] = rotl32(v1[2 * i + 1]!, r);
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
    const lanes = this.#lanes;
    for (let w = 0; w < 8; w++) lanes[w] = word(packet, 4 * w);
    this.#update(lanes);
  }

  #update(lanes: Uint32Array): void {
    const v0 = this.#v0, v1 = this.#v1, m0 = this.#mul0, m1 = this.#mul1;
    for (let i = 0; i < 4; i++) {
      const lo = 2 * i, hi = lo + 1;
      // v1 += mul0 + lanes
      addInto(v1, i, m0[lo]!, m0[hi]!);
      addInto(v1, i, lanes[lo]!, lanes[hi]!);
      // mul0 ^= (v1 & 0xffffffff) * (v0 >> 32)
      mulXor(m0, i, v1[lo]!, v0[hi]!);
      // v0 += mul1
      addInto(v0, i, m1[lo]!, m1[hi]!);
      // mul1 ^= (v0 & 0xffffffff) * (v1 >> 32)
      mulXor(m1, i, v0[lo]!, v1[hi]!);
    }
    zipperMergeAndAdd(v1, 1, 0, v0);
    zipperMergeAndAdd(v1, 3, 2, v0);
    zipperMergeAndAdd(v0, 1, 0, v1);
    zipperMergeAndAdd(v0, 3, 2, v1);
  }
}

const M32N = 0xffffffff;

function setLane(lanes: Uint32Array, i: number, value: bigint): void {
  lanes[2 * i] = Number(value & M32);
  lanes[2 * i + 1] = Number(value >> 32n);
}

/** A little-endian u32 at `at`. */
function word(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** `lanes[i] += (hi, lo)` modulo 2^64. */
function addInto(lanes: Uint32Array, i: number, lo: number, hi: number): void {
  const sum = lanes[2 * i]! + lo;
  lanes[2 * i] = sum >>> 0;
  lanes[2 * i + 1] = (lanes[2 * i + 1]! + hi + (sum > M32N ? 1 : 0)) >>> 0;
}

/** `lanes[i] ^= a * b` (two u32, the full 64-bit product). */
function mulXor(lanes: Uint32Array, i: number, a: number, b: number): void {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const lo = ((mid << 16) | (p00 & 0xffff)) >>> 0;
  const hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
  lanes[2 * i] = (lanes[2 * i]! ^ lo) >>> 0;
  lanes[2 * i + 1] = (lanes[2 * i + 1]! ^ hi) >>> 0;
}

/** HighwayHash's byte shuffle of lanes `hiLane` and `loLane` of `from`, added into `into`. */
function zipperMergeAndAdd(
  from: Uint32Array,
  hiLane: number,
  loLane: number,
  into: Uint32Array,
): void {
  // a: the bytes of v0 (the low lane), b: of v1 (the high lane), least significant first.
  const a0 = from[2 * loLane]!, a1 = from[2 * loLane + 1]!;
  const b0 = from[2 * hiLane]!, b1 = from[2 * hiLane + 1]!;
  // x0 = [a3 b4 a2 a5 b6 a1 b7 a0], x1 = [b3 a4 b2 b5 b1 a6 b0 a7] (byte 0 first).
  const x0lo = ((a0 >>> 24) | ((b1 & 0xff) << 8) | (a0 & 0xff0000) | ((a1 & 0xff00) << 16)) >>> 0;
  const x0hi = (((b1 >>> 16) & 0xff) | (a0 & 0xff00) | ((b1 >>> 24) << 16) | (a0 << 24)) >>> 0;
  const x1lo = ((b0 >>> 24) | ((a1 & 0xff) << 8) | (b0 & 0xff0000) | ((b1 & 0xff00) << 16)) >>> 0;
  const x1hi =
    (((b0 >>> 8) & 0xff) | (a1 & 0xff0000) >>> 8 | ((b0 & 0xff) << 16) | ((a1 >>> 24) << 24)) >>> 0;
  addInto(into, hiLane, x1lo, x1hi);
  addInto(into, loLane, x0lo, x0hi);
}

function rotl32(x: number, c: number): number {
  return c === 0 ? x : ((x << c) | (x >>> (32 - c))) >>> 0;
}

const BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/**
 * The 64-bit value `hi:lo` in base 62, least significant digit first
 * (`util::uitoa_n`); long division on the two u32 halves, exact in doubles.
 */
function base62LsbFirst(hi: number, lo: number): string {
  let s = "";
  do {
    const qHi = Math.floor(hi / 62);
    const rest = (hi - qHi * 62) * 0x100000000 + lo;
    const qLo = Math.floor(rest / 62);
    s += BASE62[rest - qLo * 62]!;
    hi = qHi;
    lo = qLo;
  } while (hi > 0 || lo > 0);
  return s;
}

/** Per salt: a hasher keyed with it, never fed, whose state starts every hash. */
const keyed = new Map<string, HighwayHash128>();

/** A HighwayHash keyed as Zeek keys it for `digest_salt` (SHA-256, four little-endian u64). */
function hasherFor(salt: string): HighwayHash128 {
  let start = keyed.get(salt);
  if (start === undefined) {
    const d = createHash("sha256").update(salt, "utf8").digest();
    start = new HighwayHash128([0, 8, 16, 24].map((o) => d.readBigUInt64LE(o)));
    keyed.set(salt, start);
  }
  return new HighwayHash128(start);
}

/** Zeek's fuid of a file handle (`Manager::HashHandle`). */
export function fileId(
  handle: string | Uint8Array,
  digestSalt: string = DEFAULT_DIGEST_SALT,
): string {
  const bytes = typeof handle === "string" ? new TextEncoder().encode(handle) : handle;
  const [, aHi, bLo, bHi] = hasherFor(digestSalt).digestWords(bytes);
  // `UID::Set(96, h, 2)`: the first part is the high half of h[0], the second all of h[1].
  return "F" + base62LsbFirst(0, aHi) + base62LsbFirst(bHi, bLo);
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
