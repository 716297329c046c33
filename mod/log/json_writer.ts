/**
 * Zeek's JSON log lines (`LogAscii::use_json=T`; Z:
 * src/threading/formatters/JSON.cc): one object per line, no header, keys
 * are the dotted column names, unset columns left out.
 *
 * Values, as Zeek 9 writes them:
 * - bool `true`/`false`; int, count and port as numbers; addr and subnet as
 *   strings; set and vector as arrays (`[]` when empty);
 * - double and interval as rapidjson writes doubles: the shortest digits
 *   that read back to the same value, `.0` on integral values
 *   (`100.0`), exponents without `+` beyond 1e21 (`1.79e308`), `-0.0`,
 *   `null` for NaN and infinities;
 * - time per `LogAscii::json_timestamps`: `JSON::TS_EPOCH` like a double
 *   (`1300475167.096535`), `JSON::TS_MILLIS` as `int64(t*1000)`,
 *   `JSON::TS_MILLIS_UNSIGNED` as that cast to uint64, `JSON::TS_ISO8601`
 *   as `2011-03-18T19:06:07.096535Z` (UTC, microseconds rounded);
 * - strings with the default `JSON::STRING_ESCAPE_POLICY_HEX`: valid UTF-8
 *   passes through; a string holding a control character other than
 *   `\b \f \n \r \t`, DEL, a C1 control, a private-use or U+FFF0–U+FFFF
 *   code point, or invalid UTF-8 has every byte outside printable ASCII
 *   written as `\xNN`, which JSON then shows as `\\xNN`; `"` and `\` are
 *   escaped as JSON requires. (Zeek 8.1 alone wrote `\u00NN` for controls.)
 *
 * rapidjson prints doubles with Grisu2, which in rare cases picks a longer
 * digit string than the shortest one used here; both read back to the same
 * double.
 *
 * @module
 */

import type { ZeekValue } from "../../zeek/mod.ts";
import type { LogColumn } from "./stream.ts";
import type { LogFormatter } from "./ascii_writer.ts";
import {
  appendInteger,
  isLoggableCodePoint,
  type RowBuffer,
  uintInto,
  utf8Into,
  utf8SequenceLength,
} from "./ascii_values.ts";
import {
  K_ADDR,
  K_BOOL,
  K_COUNT,
  K_DOUBLE,
  K_INT,
  K_INTERVAL,
  K_PORT,
  K_SET,
  K_STRING,
  K_TIME,
  kindCode,
} from "./kinds.ts";

/** Zeek's `JSON::TimestampFormat` values. */
export type JsonTimestamps =
  | "JSON::TS_EPOCH"
  | "JSON::TS_MILLIS"
  | "JSON::TS_MILLIS_UNSIGNED"
  | "JSON::TS_ISO8601";

/** Options of the JSON writer, named after Zeek's `LogAscii::json_*`. */
export interface JsonWriterOptions {
  /** `LogAscii::json_timestamps`; default `JSON::TS_EPOCH`. */
  readonly timestamps?: JsonTimestamps;
  /** `LogAscii::json_include_unset_fields`: write unset columns as `null`; default false. */
  readonly includeUnsetFields?: boolean;
}

const ENCODER = new TextEncoder();
const HEX = ENCODER.encode("0123456789abcdef");
const HEX_UPPER = ENCODER.encode("0123456789ABCDEF");
const CH_QUOTE = 0x22;
const CH_BACKSLASH = 0x5c;
const CH_COMMA = 0x2c;

const TS_EPOCH = 0;
const TS_MILLIS = 1;
const TS_MILLIS_UNSIGNED = 2;
const TS_ISO8601 = 3;

/**
 * Zeek's JSON writer for the columns of one filter.
 *
 * @example
 * ```ts
 * const w = new JsonWriter(filter.fields, { timestamps: "JSON::TS_ISO8601" });
 * w.appendRow(buf, row, filter.indices); // {"ts":"2011-03-18T19:06:07.096535Z",…}\n
 * ```
 */
export class JsonWriter implements LogFormatter {
  readonly #keys: readonly Uint8Array[];
  readonly #kinds: Uint8Array;
  readonly #elemKinds: Uint8Array;
  readonly #ts: number;
  readonly #includeUnset: boolean;

  constructor(fields: readonly LogColumn[], options: JsonWriterOptions = {}) {
    this.#keys = fields.map((f) => ENCODER.encode(`${jsonQuote(f.name)}:`));
    this.#kinds = Uint8Array.from(fields, (f) => kindCode(f.type));
    this.#elemKinds = Uint8Array.from(
      fields,
      (f) => f.type.kind === "set" || f.type.kind === "vector" ? kindCode(f.type.of) : 0,
    );
    const ts = options.timestamps ?? "JSON::TS_EPOCH";
    const code = ({
      "JSON::TS_EPOCH": TS_EPOCH,
      "JSON::TS_MILLIS": TS_MILLIS,
      "JSON::TS_MILLIS_UNSIGNED": TS_MILLIS_UNSIGNED,
      "JSON::TS_ISO8601": TS_ISO8601,
    } as Record<string, number>)[ts];
    if (code === undefined) {
      throw new RangeError(
        `Cannot use json_timestamps ${JSON.stringify(ts)}: use JSON::TS_EPOCH, JSON::TS_MILLIS, ` +
          `JSON::TS_MILLIS_UNSIGNED or JSON::TS_ISO8601`,
      );
    }
    this.#ts = code;
    this.#includeUnset = options.includeUnsetFields ?? false;
  }

  header(_path: string, _openTime: number): string {
    return "";
  }

  footer(_closeTime: number): string {
    return "";
  }

  appendRow(buf: RowBuffer, values: readonly ZeekValue[], indices?: Int32Array): void {
    let b = buf.reserve(1);
    b[buf.length++] = 0x7b;
    let first = true;
    const n = this.#kinds.length;
    for (let i = 0; i < n; i++) {
      const v = values[indices === undefined ? i : indices[i]!];
      if (v === undefined && !this.#includeUnset) continue;
      const key = this.#keys[i]!;
      b = buf.reserve(key.length + 1);
      if (!first) b[buf.length++] = CH_COMMA;
      first = false;
      b.set(key, buf.length);
      buf.length += key.length;
      if (v === undefined) {
        buf.ascii("null");
        continue;
      }
      const kind = this.#kinds[i]!;
      if (kind === K_SET) this.#array(buf, this.#elemKinds[i]!, v);
      else this.#atomic(buf, kind, v);
    }
    b = buf.reserve(2);
    b[buf.length++] = 0x7d;
    b[buf.length++] = 0x0a;
  }

  #array(buf: RowBuffer, elemKind: number, v: ZeekValue): void {
    const arr = v as readonly ZeekValue[];
    let b = buf.reserve(1);
    b[buf.length++] = 0x5b;
    for (let j = 0; j < arr.length; j++) {
      if (j > 0) {
        b = buf.reserve(1);
        b[buf.length++] = CH_COMMA;
      }
      const e = arr[j];
      if (e === undefined) buf.ascii("null");
      else this.#atomic(buf, elemKind, e);
    }
    b = buf.reserve(1);
    b[buf.length++] = 0x5d;
  }

  #atomic(buf: RowBuffer, kind: number, v: ZeekValue): void {
    switch (kind) {
      case K_STRING:
        if (typeof v === "string") appendJsonString(buf, v);
        else appendJsonBytes(buf, v as Uint8Array);
        return;
      case K_COUNT:
      case K_INT:
        appendInteger(buf, v as number | bigint);
        return;
      case K_DOUBLE:
      case K_INTERVAL:
        buf.ascii(formatJsonDouble(v as number));
        return;
      case K_TIME:
        this.#time(buf, v as number);
        return;
      case K_BOOL:
        buf.ascii(v ? "true" : "false");
        return;
      case K_PORT: {
        if (typeof v === "number") {
          const b = buf.reserve(16);
          buf.length = uintInto(b, buf.length, v);
        } else {
          const s = v as string;
          const slash = s.indexOf("/");
          buf.ascii(slash < 0 ? s : s.slice(0, slash));
        }
        return;
      }
      case K_ADDR: {
        const s = v as string;
        const b = buf.reserve(s.length + 2);
        let p = buf.length;
        b[p++] = CH_QUOTE;
        for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
        b[p++] = CH_QUOTE;
        buf.length = p;
        return;
      }
    }
  }

  #time(buf: RowBuffer, t: number): void {
    switch (this.#ts) {
      case TS_EPOCH:
        buf.ascii(formatJsonDouble(t));
        return;
      case TS_MILLIS:
        buf.ascii(String(int64Truncate(t * 1000)));
        return;
      case TS_MILLIS_UNSIGNED:
        buf.ascii(BigInt.asUintN(64, int64Truncate(t * 1000)).toString());
        return;
      default:
        buf.ascii(`"${formatIso8601(t)}"`);
    }
  }
}

/** C's `(int64_t)` of a double, as a bigint (truncation toward zero). */
function int64Truncate(x: number): bigint {
  if (!Number.isFinite(x)) return 0n;
  return BigInt.asIntN(64, BigInt(Math.trunc(x)));
}

/**
 * A double as rapidjson's writer prints it: shortest round-trip digits,
 * `.0` on integers below 1e21, exponent without `+`, `null` when not finite.
 */
export function formatJsonDouble(d: number): string {
  if (!Number.isFinite(d)) return "null";
  if (d === 0) return Object.is(d, -0) ? "-0.0" : "0.0";
  const s = String(d);
  if (Number.isInteger(d) && Math.abs(d) < 1e21) return `${s}.0`;
  const e = s.indexOf("e+");
  return e < 0 ? s : s.slice(0, e + 1) + s.slice(e + 2);
}

/**
 * `TS_ISO8601`: `strftime("%Y-%m-%dT%H:%M:%S")` of `floor(t)` in UTC, then
 * `.%06.0f` of the fraction in microseconds and `Z`.
 */
export function formatIso8601(t: number): string {
  const whole = Math.floor(t);
  const d = new Date(whole * 1000);
  let frac = t - Math.trunc(t);
  if (frac < 0) frac += 1;
  const micros = roundHalfEven(Math.abs(frac) * 1000000);
  const two = (n: number) => (n < 10 ? `0${n}` : String(n));
  return `${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}T${
    two(d.getUTCHours())
  }:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(micros).padStart(6, "0")}Z`;
}

/** printf's `%.0f` rounding of a non-negative double: ties to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function jsonQuote(text: string): string {
  return JSON.stringify(text);
}

/** JSON short escapes by control byte; 0 where `\u00NN` is needed. */
const SHORT_ESCAPE = new Uint8Array(32);
SHORT_ESCAPE[8] = 0x62; // b
SHORT_ESCAPE[9] = 0x74; // t
SHORT_ESCAPE[10] = 0x6e; // n
SHORT_ESCAPE[12] = 0x66; // f
SHORT_ESCAPE[13] = 0x72; // r

function controlInto(b: Uint8Array, p: number, c: number): number {
  b[p++] = CH_BACKSLASH;
  const short = SHORT_ESCAPE[c]!;
  if (short !== 0) {
    b[p++] = short;
    return p;
  }
  b[p++] = 0x75;
  b[p++] = 0x30;
  b[p++] = 0x30;
  b[p++] = HEX_UPPER[c >> 4]!;
  b[p++] = HEX_UPPER[c & 15]!;
  return p;
}

/** Zeek's `\xNN` for one byte, as it reads inside a JSON string: `\\xNN`. */
function hexByteInto(b: Uint8Array, p: number, byte: number): number {
  b[p] = CH_BACKSLASH;
  b[p + 1] = CH_BACKSLASH;
  b[p + 2] = 0x78;
  b[p + 3] = HEX[byte >> 4]!;
  b[p + 4] = HEX[byte & 15]!;
  return p + 5;
}

function isJsonPassControl(c: number): boolean {
  return c === 8 || c === 9 || c === 10 || c === 12 || c === 13;
}

/** Appends a quoted JSON string with Zeek's HEX escape policy. */
export function appendJsonString(buf: RowBuffer, s: string): void {
  const n = s.length;
  const b = buf.reserve(n * 15 + 2);
  const start = buf.length;
  let p = start;
  b[p++] = CH_QUOTE;
  let escaping = false;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) {
      if (c === CH_QUOTE || c === CH_BACKSLASH) b[p++] = CH_BACKSLASH;
      b[p++] = c;
      i++;
      continue;
    }
    if (c < 0x80) {
      if (isJsonPassControl(c)) p = controlInto(b, p, c);
      else if (escaping) p = hexByteInto(b, p, c);
      else {
        escaping = true;
        p = start + 1;
        i = 0;
        continue;
      }
      i++;
      continue;
    }
    let cp = s.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (escaping) {
      const q = utf8Into(SCRATCH, 0, cp);
      for (let k = 0; k < q; k++) p = hexByteInto(b, p, SCRATCH[k]!);
    } else if (isLoggableCodePoint(cp)) {
      p = utf8Into(b, p, cp);
    } else {
      escaping = true;
      p = start + 1;
      i = 0;
      continue;
    }
    i += units;
  }
  b[p++] = CH_QUOTE;
  buf.length = p;
}

const SCRATCH = new Uint8Array(4);

/** `appendJsonString` for raw bytes. */
export function appendJsonBytes(buf: RowBuffer, s: Uint8Array): void {
  const n = s.length;
  const b = buf.reserve(n * 6 + 2);
  const start = buf.length;
  let p = start;
  b[p++] = CH_QUOTE;
  let escaping = false;
  let i = 0;
  while (i < n) {
    const c = s[i]!;
    if (c >= 0x20 && c < 0x7f) {
      if (c === CH_QUOTE || c === CH_BACKSLASH) b[p++] = CH_BACKSLASH;
      b[p++] = c;
      i++;
      continue;
    }
    if (c < 0x80 && isJsonPassControl(c)) {
      p = controlInto(b, p, c);
      i++;
      continue;
    }
    if (escaping) {
      p = hexByteInto(b, p, c);
      i++;
      continue;
    }
    const len = c < 0x80 ? 0 : utf8SequenceLength(s, i);
    if (len === 0) {
      escaping = true;
      p = start + 1;
      i = 0;
      continue;
    }
    for (let k = 0; k < len; k++) b[p++] = s[i + k]!;
    i += len;
  }
  b[p++] = CH_QUOTE;
  buf.length = p;
}
