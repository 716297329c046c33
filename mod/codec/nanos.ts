/**
 * Time maths of the wire: Broker carries times and intervals as i64
 * nanoseconds, weir holds them as seconds in doubles. The conversions are
 * exact integer arithmetic in doubles, without bigints on the hot path.
 *
 * @example
 * ```ts
 * secondsToNanos(1700000000.5); // 1700000000500000000n
 * nanosToSeconds(1700000000500000000n); // 1700000000.5
 * ```
 *
 * @module
 */

import type { ByteWriter } from "../../zeek/mod.ts";

const TWO_32 = 0x1_0000_0000;

let nanosHi = 0;
let nanosLo = 0;

/**
 * Splits `seconds` rounded to the nearest nanosecond into the signed high
 * and unsigned low 32 bits of an i64 (in `nanosHi`, `nanosLo`). Exact
 * integer arithmetic in doubles: a product like seconds * 1e9 would lose
 * the low bits of present-day timestamps. False when out of i64 range.
 */
function splitNanos(seconds: number): boolean {
  if (!(seconds > -9223372037 && seconds < 9223372037)) return false;
  let whole = Math.floor(seconds);
  let fraction = Math.round((seconds - whole) * 1e9);
  if (fraction === 1e9) {
    whole += 1;
    fraction = 0;
  }
  const a = Math.floor(whole / 65536);
  const bigPart = a * 1e9;
  const smallPart = (whole - a * 65536) * 1e9 + fraction;
  const hi16 = Math.floor(bigPart / 65536);
  const low = (bigPart - hi16 * 65536) * 65536 + smallPart;
  const carry = Math.floor(low / TWO_32);
  nanosLo = low - carry * TWO_32;
  nanosHi = hi16 + carry;
  return nanosHi >= -2147483648 && nanosHi <= 2147483647;
}

/** The double nearest to (hi·2^32 + lo) / 1e9, by exact long division. */
export function nanosPartsToSeconds(hi: number, lo: number): number {
  const direct = hi * TWO_32 + lo;
  if (Number.isSafeInteger(direct)) return direct / 1e9;
  let high = hi;
  let low = lo;
  const negative = high < 0;
  if (negative) {
    if (low === 0) {
      high = -high;
    } else {
      high = -high - 1;
      low = TWO_32 - low;
    }
  }
  const q0 = Math.floor(high / 1e9);
  const r0 = high - q0 * 1e9;
  const x1 = r0 * 65536 + (low >>> 16);
  const q1 = Math.floor(x1 / 1e9);
  const r1 = x1 - q1 * 1e9;
  const x2 = r1 * 65536 + (low & 0xffff);
  const q2 = Math.floor(x2 / 1e9);
  const r2 = x2 - q2 * 1e9;
  const seconds = q0 * TWO_32 + q1 * 65536 + q2 + r2 / 1e9;
  return negative ? -seconds : seconds;
}

/** Seconds rounded to whole nanoseconds as the wire carries them; `RangeError` beyond i64. */
export function secondsToNanos(seconds: number): bigint {
  if (!splitNanos(seconds)) {
    throw new RangeError(`Cannot convert ${seconds} s to nanoseconds: outside the i64 range`);
  }
  return (BigInt(nanosHi) << 32n) | BigInt(nanosLo);
}

/** The seconds nearest to `nanos` (an i64). */
export function nanosToSeconds(nanos: bigint): number {
  const wrapped = BigInt.asIntN(64, nanos);
  return nanosPartsToSeconds(Number(wrapped >> 32n), Number(wrapped & 0xffffffffn));
}

/**
 * Writes `seconds` rounded to the nearest nanosecond as an i64; false (and
 * nothing written) when it is outside the i64 range or not a number.
 */
export function writeSecondsAsNanos(writer: ByteWriter, seconds: number): boolean {
  if (!splitNanos(seconds)) return false;
  writer.writeInt64Parts(nanosHi, nanosLo);
  return true;
}
