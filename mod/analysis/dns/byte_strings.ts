/**
 * DNS carries bytes, not text: names and character strings are kept as
 * "byte strings", JS strings with one char (0–255) per byte, so they can
 * be compared, lower-cased and concatenated like Zeek's `string` values.
 * Two conversions leave that form: Zeek's `fmt("%s", s)` (what the script
 * layer uses to build most `answers` elements), which renders bytes outside
 * 0x20–0x7e as `\xNN` text, and the log value, where a byte string with
 * bytes ≥ 0x80 must reach the writer as raw bytes (a `Uint8Array`) so it
 * prints `\xff` for a lone 0xff and passes valid UTF-8 through, as Zeek's
 * ASCII writer does.
 *
 * @module
 */

import { latin1LogValue, latin1String } from "../../../zeek/mod.ts";

/** `bytes[from..to)` as a byte string. */
export const byteString = latin1String;

/** What Zeek's `fmt("%s", s)` makes of a string (`String::Render(EXPANDED_STRING)`). */
export function fmtString(s: string): string {
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) break;
    i++;
  }
  if (i === n) return s;
  let out = s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    out += c < 0x20 || c > 0x7e ? `\\x${c.toString(16).padStart(2, "0")}` : s[i];
  }
  return out;
}

/** A byte string as a log value: itself when ASCII, else its raw bytes. */
export const logString: (s: string) => string | Uint8Array = latin1LogValue;

/** ASCII `tolower` on a byte string (C's `isupper` in the C locale: A–Z only). */
export function asciiLower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  }
  return s;
}

const HEX = "0123456789abcdef";

/** Zeek's `bytestring_to_hexstr`: lower-case hex of `bytes[from..to)`. */
export function hexString(bytes: Uint8Array, from: number, to: number): string {
  let out = "";
  for (let i = from; i < to; i++) out += HEX[bytes[i]! >> 4]! + HEX[bytes[i]! & 15]!;
  return out;
}
