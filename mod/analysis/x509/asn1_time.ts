/**
 * Zeek's `X509Common::GetTimeFromAsn1`
 * (Z: src/file_analysis/analyzer/x509/X509Common.cc), byte for byte,
 * including what it gets wrong, because x509.log's `not_valid_before` and
 * `not_valid_after` are its results:
 *
 * - UTCTime must be 11..17 bytes and end in `Z`; its year is 20YY when the
 *   first byte is below `'5'` (a signed C char: bytes ≥ 0x80 are below),
 *   else 19YY. GeneralizedTime must be 12..23 bytes.
 * - Seconds may be missing (then 00); fractional seconds are skipped.
 * - A `+hhmm`/`-hhmm` offset adds `h1*10 + h2*60 + m1*10 + m2` seconds
 *   (sic), and is not applied to a result of exactly 0.
 * - Digits are not checked: every byte counts as `byte - '0'` of a signed
 *   char, and `timegm` normalises whatever fields result.
 * - A 4-digit year at or below 1900 is taken as years since 1900.
 *
 * Errors give 0 and one of the weirds `x509_utc_length`,
 * `x509_utc_format`, `x509_gen_time_length`, `x509_invalid_time_type`,
 * `x509_time_add_char`, `x509_time_offset_underflow`,
 * `x509_time_offset_type`.
 *
 * @module
 */

import { V_ASN1_GENERALIZEDTIME, V_ASN1_UTCTIME } from "../../../ffi/mod.ts";

/** Where a file weird goes: its name and optional `addl`. */
export type X509Weird = (name: string, addl?: string) => void;

const ZERO = 0x30;
const Z = 0x5a;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const SECONDS_PER_DAY = 86400;

/** The 14 bytes `YYYYMMDDHHMMSS` Zeek assembles (`lBuffer`), reused. */
const fields = new Int8Array(14);

/** A C `char` (signed on x86-64) of a byte. */
function signed(byte: number): number {
  return (byte << 24) >> 24;
}

/**
 * Epoch seconds of an ASN.1 time (`type` is `ASN1_STRING_type`, `bytes`
 * its content) as Zeek computes them; 0 with a weird when Zeek gives up.
 */
export function timeFromAsn1(type: number, bytes: Uint8Array, weird?: X509Weird): number {
  let at = 0;
  let remaining = bytes.length;
  let out = 0;
  if (type === V_ASN1_UTCTIME) {
    if (remaining < 11 || remaining > 17) {
      weird?.("x509_utc_length");
      return 0;
    }
    if (bytes[remaining - 1] !== Z) {
      weird?.("x509_utc_format");
      return 0;
    }
    if (signed(bytes[0]!) < 0x35) {
      fields[out++] = 0x32;
      fields[out++] = ZERO;
    } else {
      fields[out++] = 0x31;
      fields[out++] = 0x39;
    }
    for (let i = 0; i < 10; i++) fields[out++] = signed(bytes[i]!);
    at += 10;
    remaining -= 10;
  } else if (type === V_ASN1_GENERALIZEDTIME) {
    if (remaining < 12 || remaining > 23) {
      weird?.("x509_gen_time_length");
      return 0;
    }
    for (let i = 0; i < 12; i++) fields[out++] = signed(bytes[i]!);
    at += 12;
    remaining -= 12;
  } else {
    weird?.("x509_invalid_time_type");
    return 0;
  }

  const next = () => bytes[at];
  if (remaining === 0 || next() === Z || next() === MINUS || next() === PLUS) {
    fields[out++] = ZERO;
    fields[out++] = ZERO;
  } else if (remaining >= 2) {
    fields[out++] = signed(bytes[at++]!);
    fields[out++] = signed(bytes[at++]!);
    remaining -= 2;
    if (remaining > 0 && next() === DOT) {
      at++;
      remaining--;
      while (remaining > 0 && next()! >= ZERO && next()! <= 0x39) {
        at++;
        remaining--;
      }
    }
  } else {
    weird?.("x509_time_add_char");
    return 0;
  }

  let offset = 0;
  if (remaining !== 0 && next() !== Z) {
    if (remaining < 5) {
      weird?.("x509_time_offset_underflow");
      return 0;
    }
    const sign = next();
    if (sign !== PLUS && sign !== MINUS) {
      weird?.("x509_time_offset_type");
      return 0;
    }
    const d = (i: number) => signed(bytes[at + i]!) - ZERO;
    offset = d(1) * 10 + d(2) * 60 + d(3) * 10 + d(4);
    if (sign === MINUS) offset = -offset;
  }

  const f = (i: number) => fields[i]! - ZERO;
  const sec = f(12) * 10 + f(13);
  const min = f(10) * 10 + f(11);
  const hour = f(8) * 10 + f(9);
  const mday = f(6) * 10 + f(7);
  const mon = f(4) * 10 + f(5) - 1;
  let year = f(0) * 1000 + f(1) * 100 + f(2) * 10 + f(3);
  if (year > 1900) year -= 1900;
  const result = timegm(year + 1900, mon, mday, hour, min, sec);
  return result === 0 ? 0 : result + offset;
}

/**
 * glibc's `timegm` of (full year, month 0-based, day, hour, min, sec):
 * every field may be out of range and is carried into the next, which is
 * what JavaScript's day arithmetic does too (proleptic Gregorian, floor
 * division of months).
 */
function timegm(year: number, mon: number, mday: number, hour: number, min: number, sec: number) {
  const day = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0..99 as 19xx.
  day.setUTCFullYear(year, mon, 1);
  return day.getTime() / 1000 + (mday - 1) * SECONDS_PER_DAY + hour * 3600 + min * 60 + sec;
}
