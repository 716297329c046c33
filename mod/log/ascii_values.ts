/**
 * The byte-level pieces of Zeek's text rendering, shared by the ASCII
 * writer, the JSON writer and the batch transcoder: the row buffer, string
 * escaping (Z: src/threading/formatters/Ascii.cc, src/Desc.cc), decimal
 * integers, and modp_dtoa's time and double formats.
 *
 * Every `…Into(b, p, …)` writes at `b[p]` into room the caller reserved and
 * returns the new end.
 *
 * @module
 */

/** Default row buffer size; files are written in chunks of at least this. */
export const DEFAULT_ROW_BUFFER_BYTES = 256 * 1024;

/**
 * A growable byte buffer rows are appended to. Hot code calls
 * `reserve(n)`, writes into the returned array from `length` on, and stores
 * the new length back.
 */
export class RowBuffer {
  #bytes: Uint8Array;
  #length = 0;

  constructor(capacity = DEFAULT_ROW_BUFFER_BYTES) {
    this.#bytes = new Uint8Array(Math.max(256, capacity));
  }

  /** The backing array; valid up to `length`, replaced when it grows. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  get length(): number {
    return this.#length;
  }

  set length(n: number) {
    this.#length = n;
  }

  /** Makes room for `extra` more bytes and returns the (possibly new) backing array. */
  reserve(extra: number): Uint8Array {
    const need = this.#length + extra;
    if (need > this.#bytes.length) {
      let size = this.#bytes.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = next;
    }
    return this.#bytes;
  }

  /** A view of the bytes written so far. */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /**
   * Hands the written bytes to the caller and starts over on `next` (or a
   * fresh array of the same size), so the caller may keep the returned view.
   */
  detach(next?: Uint8Array): Uint8Array {
    const out = this.#bytes.subarray(0, this.#length);
    this.#bytes = next ?? new Uint8Array(this.#bytes.length);
    this.#length = 0;
    return out;
  }

  /** Forgets the written bytes, keeping the backing array. */
  clear(): void {
    this.#length = 0;
  }

  /** Appends text that is known to be ASCII. */
  ascii(text: string): void {
    const b = this.reserve(text.length);
    let p = this.#length;
    for (let i = 0; i < text.length; i++) b[p++] = text.charCodeAt(i);
    this.#length = p;
  }
}

export const CH_NL = 0x0a;
export const CH_HASH = 0x23;
const CH_DOT = 0x2e;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
export const CH_SLASH = 0x2f;
const CH_BACKSLASH = 0x5c;
const CH_x = 0x78;
const HEX = new TextEncoder().encode("0123456789abcdef");

/** Byte classes for strings; 0 is a control character. */
export const C_SAFE = 1;
const C_BACKSLASH = 2;
const C_SEPARATOR = 3;

export function byteClasses(seps: readonly number[]): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0x20; c < 0x7f; c++) t[c] = C_SAFE;
  t[CH_BACKSLASH] = C_BACKSLASH;
  for (const s of seps) t[s] = C_SEPARATOR;
  return t;
}

/** Copies a short constant (unset/empty marker) to `p`, growing `buf` when it does not fit. */
export function smallInto(b: Uint8Array, p: number, bytes: Uint8Array, buf: RowBuffer): number {
  const n = bytes.length;
  if (b.length - p < n) {
    buf.length = p;
    b = buf.reserve(n);
  }
  for (let i = 0; i < n; i++) b[p + i] = bytes[i]!;
  return p + n;
}

export function asciiAt(buf: RowBuffer, p: number, text: string): number {
  let b = buf.bytes;
  if (b.length - p < text.length) {
    buf.length = p;
    b = buf.reserve(text.length);
  }
  for (let i = 0; i < text.length; i++) b[p++] = text.charCodeAt(i);
  return p;
}

/** The resolved byte-level settings of one ASCII writer (`AsciiWriter` builds them from its options). */
export interface AsciiStyle {
  readonly separator: number;
  readonly setSeparator: number;
  readonly empty: Uint8Array;
  readonly unset: Uint8Array;
  readonly utf8: boolean;
  /** Byte classes of a top-level string (escapes the separator). */
  readonly safeTop: Uint8Array;
  /** Byte classes of a set or vector element (escapes the set separator too). */
  readonly safeElement: Uint8Array;
}

/** Whether `src[from..from+len)` is the unset or the empty marker (a value that must not read as one). */
export function isMarker(src: Uint8Array, from: number, len: number, style: AsciiStyle): boolean {
  return spanEquals(src, from, len, style.unset) || spanEquals(src, from, len, style.empty);
}

function spanEquals(src: Uint8Array, from: number, len: number, marker: Uint8Array): boolean {
  if (len !== marker.length) return false;
  for (let i = 0; i < len; i++) if (src[from + i] !== marker[i]) return false;
  return true;
}

/**
 * A string value given as bytes, `src[from..to)`, rendered as a field at
 * `p`, growing `buf` as needed: the empty marker when empty, the first byte
 * as `\xNN` when the value reads as the unset or empty marker, and Zeek's
 * escaping throughout. Returns the new end.
 */
export function stringBytesInto(
  buf: RowBuffer,
  p: number,
  src: Uint8Array,
  from: number,
  to: number,
  classes: Uint8Array,
  style: AsciiStyle,
): number {
  const len = to - from;
  let b = buf.bytes;
  if (b.length - p < len * 4 + 8) {
    buf.length = p;
    b = buf.reserve(len * 4 + 8);
  }
  if (len === 0) return smallInto(b, p, style.empty, buf);
  if (isMarker(src, from, len, style)) {
    p = hexInto(b, p, src[from]!);
    return escapedBytesInto(b, p, src, from + 1, to, classes, style.utf8);
  }
  return escapedBytesInto(b, p, src, from, to, classes, style.utf8);
}

function isPrintableControl(c: number): boolean {
  return c === 8 || c === 9 || c === 10 || c === 12 || c === 13;
}

/** True for code points Zeek lets through unescaped when UTF-8 output is on (c >= 0x80). */
export function isLoggableCodePoint(cp: number): boolean {
  return !((cp >= 0x80 && cp <= 0x9f) || (cp >= 0xe000 && cp <= 0xf8ff) ||
    (cp >= 0xfff0 && cp <= 0xffff) ||
    (cp >= 0xd800 && cp <= 0xdfff));
}

/**
 * Writes `s[from..]` at `p` with Zeek's TSV escaping (room for 12 bytes per
 * UTF-16 unit must be reserved). Writes optimistically and, when a stretch
 * between escapes turns out to hold something that forces escaping, rewinds
 * to the start of that stretch and writes it again escaped.
 */
export function escapedStringInto(
  b: Uint8Array,
  p: number,
  s: string,
  from: number,
  classes: Uint8Array,
  utf8: boolean,
): number {
  const n = s.length;
  let i = from;
  let spanOut = p;
  let spanIn = i;
  let escaping = !utf8;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      const k = classes[c]!;
      if (k === C_SAFE) {
        b[p++] = c;
        i++;
        continue;
      }
      if (k === C_BACKSLASH) {
        b[p++] = CH_BACKSLASH;
        b[p++] = CH_BACKSLASH;
      } else if (k === C_SEPARATOR) {
        p = hexInto(b, p, c);
      } else if (escaping || isPrintableControl(c)) {
        p = hexInto(b, p, c);
        i++;
        continue;
      } else {
        escaping = true;
        p = spanOut;
        i = spanIn;
        continue;
      }
      i++;
      spanOut = p;
      spanIn = i;
      escaping = !utf8;
      continue;
    }
    let cp = s.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // a lone surrogate, as TextEncoder encodes it
    if (!escaping && !isLoggableCodePoint(cp)) {
      escaping = true;
      p = spanOut;
      i = spanIn;
      continue;
    }
    p = escaping ? utf8HexInto(b, p, cp) : utf8Into(b, p, cp);
    i += units;
  }
  return p;
}

/**
 * `escapedStringInto` for the raw bytes `s[from..end)` (room for 4 bytes per
 * byte), validating UTF-8 strictly.
 */
export function escapedBytesInto(
  b: Uint8Array,
  p: number,
  s: Uint8Array,
  from: number,
  end: number,
  classes: Uint8Array,
  utf8: boolean,
): number {
  const n = end;
  let i = from;
  let spanOut = p;
  let spanIn = i;
  let escaping = !utf8;
  while (i < n) {
    const c = s[i]!;
    if (c < 0x80) {
      const k = classes[c]!;
      if (k === C_SAFE) {
        b[p++] = c;
        i++;
        continue;
      }
      if (k === C_BACKSLASH) {
        b[p++] = CH_BACKSLASH;
        b[p++] = CH_BACKSLASH;
      } else if (k === C_SEPARATOR) {
        p = hexInto(b, p, c);
      } else if (escaping || isPrintableControl(c)) {
        p = hexInto(b, p, c);
        i++;
        continue;
      } else {
        escaping = true;
        p = spanOut;
        i = spanIn;
        continue;
      }
      i++;
      spanOut = p;
      spanIn = i;
      escaping = !utf8;
      continue;
    }
    if (escaping) {
      p = hexInto(b, p, c);
      i++;
      continue;
    }
    const len = utf8SequenceLength(s, i, n);
    if (len === 0) {
      escaping = true;
      p = spanOut;
      i = spanIn;
      continue;
    }
    for (let k = 0; k < len; k++) b[p++] = s[i + k]!;
    i += len;
  }
  return p;
}

/**
 * Length of the valid, loggable UTF-8 sequence at `s[i]` (lead byte >= 0x80),
 * or 0 when it is invalid (overlong, surrogate, beyond U+10FFFF, truncated)
 * or a code point Zeek escapes.
 */
export function utf8SequenceLength(s: Uint8Array, i: number, end = s.length): number {
  const c = s[i]!;
  let len: number;
  let cp: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + len > end) return 0;
  for (let k = 1; k < len; k++) {
    const cc = s[i + k]!;
    if (k === 1 ? (cc < lo || cc > hi) : (cc < 0x80 || cc > 0xbf)) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  return isLoggableCodePoint(cp) ? len : 0;
}

export function hexInto(b: Uint8Array, p: number, byte: number): number {
  b[p] = CH_BACKSLASH;
  b[p + 1] = CH_x;
  b[p + 2] = HEX[byte >> 4]!;
  b[p + 3] = HEX[byte & 15]!;
  return p + 4;
}

/** Writes a code point as UTF-8. */
export function utf8Into(b: Uint8Array, p: number, cp: number): number {
  if (cp < 0x80) {
    b[p] = cp;
    return p + 1;
  }
  if (cp < 0x800) {
    b[p] = 0xc0 | (cp >> 6);
    b[p + 1] = 0x80 | (cp & 0x3f);
    return p + 2;
  }
  if (cp < 0x10000) {
    b[p] = 0xe0 | (cp >> 12);
    b[p + 1] = 0x80 | ((cp >> 6) & 0x3f);
    b[p + 2] = 0x80 | (cp & 0x3f);
    return p + 3;
  }
  b[p] = 0xf0 | (cp >> 18);
  b[p + 1] = 0x80 | ((cp >> 12) & 0x3f);
  b[p + 2] = 0x80 | ((cp >> 6) & 0x3f);
  b[p + 3] = 0x80 | (cp & 0x3f);
  return p + 4;
}

function utf8HexInto(b: Uint8Array, p: number, cp: number): number {
  if (cp < 0x80) return hexInto(b, p, cp);
  if (cp < 0x800) {
    p = hexInto(b, p, 0xc0 | (cp >> 6));
    return hexInto(b, p, 0x80 | (cp & 0x3f));
  }
  if (cp < 0x10000) {
    p = hexInto(b, p, 0xe0 | (cp >> 12));
    p = hexInto(b, p, 0x80 | ((cp >> 6) & 0x3f));
    return hexInto(b, p, 0x80 | (cp & 0x3f));
  }
  p = hexInto(b, p, 0xf0 | (cp >> 18));
  p = hexInto(b, p, 0x80 | ((cp >> 12) & 0x3f));
  p = hexInto(b, p, 0x80 | ((cp >> 6) & 0x3f));
  return hexInto(b, p, 0x80 | (cp & 0x3f));
}

function decimalDigits(n: number): number {
  if (n < 1e5) return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 1e4 ? 4 : 5;
  if (n < 1e10) return n < 1e6 ? 6 : n < 1e7 ? 7 : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;
  let d = 10;
  let x = 1e10;
  while (n >= x) {
    d++;
    x *= 10;
  }
  return d;
}

/** "00" to "99" as pairs of digit bytes. */
const DIGIT_PAIRS = Uint8Array.from(
  { length: 200 },
  (_, i) => CH_0 + (i & 1 ? (i >> 1) % 10 : ((i >> 1) / 10) | 0),
);

/** Writes a non-negative safe integer in decimal; returns the new position. */
export function uintInto(b: Uint8Array, p: number, n: number): number {
  if (n < 10) {
    b[p] = CH_0 + n;
    return p + 1;
  }
  const len = decimalDigits(n);
  let q = p + len;
  let v = n;
  while (v > 0x7fffffff) {
    const d = Math.floor(v / 10);
    b[--q] = CH_0 + (v - d * 10);
    v = d;
  }
  let w = v | 0;
  while (w >= 100) {
    const d = (w / 100) | 0;
    const pair = (w - d * 100) << 1;
    b[--q] = DIGIT_PAIRS[pair + 1]!;
    b[--q] = DIGIT_PAIRS[pair]!;
    w = d;
  }
  if (w >= 10) {
    b[--q] = DIGIT_PAIRS[(w << 1) + 1]!;
    b[--q] = DIGIT_PAIRS[w << 1]!;
  } else {
    b[--q] = CH_0 + w;
  }
  return p + len;
}

/** Appends a count or int (number or bigint) in decimal. */
export function appendInteger(buf: RowBuffer, v: number | bigint): void {
  if (typeof v === "number" && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
    const b = buf.reserve(16);
    buf.length = uintInto(b, buf.length, v);
    return;
  }
  buf.ascii(v.toString());
}

const INT_MAX = 2147483647;

/**
 * Writes `value` at `p` as Zeek renders time and interval (modp_dtoa,
 * precision 6): fixed six decimals with modp's own rounding on the double
 * value, and `%.16e` with trailing zeros stripped at or above 2^31-1. At
 * most 24 bytes.
 */
export function modpDtoa6Into(b: Uint8Array, p: number, value: number): number {
  if (value !== value) return p + asciiInto(b, p, "nan");
  const neg = value < 0;
  const v = neg ? -value : value;
  if (v >= INT_MAX) return p + asciiInto(b, p, cExponent16(value));
  let whole = v | 0;
  const tmp = (v - whole) * 1e6;
  let frac = tmp >>> 0;
  const diff = tmp - frac;
  if (diff > 0.5) {
    frac++;
    if (frac >= 1e6) {
      frac = 0;
      whole++;
    }
  } else if (diff === 0.5 && (frac === 0 || (frac & 1) !== 0)) {
    frac++;
  }
  if (neg) b[p++] = CH_MINUS;
  p = uintInto(b, p, whole);
  b[p++] = CH_DOT;
  const digits = frac >= 1e6 ? 7 : 6;
  for (let k = digits - 1; k >= 0; k--) {
    const d = (frac / 10) | 0;
    b[p + k] = CH_0 + frac - d * 10;
    frac = d;
  }
  return p + digits;
}

function asciiInto(b: Uint8Array, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) b[p + i] = text.charCodeAt(i);
  return text.length;
}

/** C's `%.16e` with modp's `sn_strip_trailing_zeros`; `inf`/`-inf` for infinities. */
function cExponent16(value: number): string {
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  // Half-way cases at the 17th digit round up here and to even in C; such doubles are vanishingly rare.
  const s = value.toExponential(16);
  const e = s.indexOf("e");
  let mantissa = s.slice(0, e);
  const sign = s[e + 1]!;
  const digits = s.slice(e + 2).padStart(2, "0");
  const dot = mantissa.indexOf(".");
  if (dot >= 0) {
    let end = mantissa.length;
    while (end > dot + 1 && mantissa.charCodeAt(end - 1) === CH_0) end--;
    if (end === dot + 1) end = dot;
    mantissa = mantissa.slice(0, end);
  }
  return `${mantissa}e${sign}${digits}`;
}

/**
 * A double as Zeek's ASCII writer prints it (modp_dtoa3 with precision 6,
 * then `.0` for values within 1e-9 of an integer): `1.0`, `0.1234`,
 * `1.123457`, `3140000000000000.0`, `0.000012`, `nan`, `inf`.
 */
export function formatZeekDouble(d: number): string {
  if (d !== d) return "nan";
  if (!Number.isFinite(d)) return d > 0 ? "inf" : "-inf";
  const neg = d < 0;
  const v = neg ? -d : d;
  let s: string;
  if (v >= INT_MAX) {
    s = stripFraction(fixed6(v));
  } else {
    let whole = v | 0;
    const tmp = (v - whole) * 1e6;
    let frac = tmp >>> 0;
    const diff = tmp - frac;
    if (diff > 0.5) {
      frac++;
      if (frac >= 1e6) {
        frac = 0;
        whole++;
      }
    } else if (diff === 0.5 && (frac === 0 || (frac & 1) !== 0)) {
      frac++;
    }
    if (frac === 0) {
      s = String(whole);
    } else {
      let count = 6;
      while (frac % 10 === 0) {
        count--;
        frac /= 10;
      }
      const fd = String(frac);
      // modp pads with zeros up to the remaining count; a rolled-over 1000000 leaves it negative.
      s = `${whole}.${count > fd.length ? "0".repeat(count - fd.length) : ""}${fd}`;
    }
  }
  if (neg) s = "-" + s;
  if (Math.abs(d - Math.round(d)) < 1e-9) s += ".0";
  return s;
}

/** Exact `%.6f` of a non-negative double, with C's round-half-even on exact ties. */
function fixed6(v: number): string {
  if (v >= 1e21) return BigInt(v).toString() + ".000000";
  const t = v * 128;
  if (Number.isInteger(t) && t % 2 === 1) {
    // v has exactly seven binary fraction digits, so its 7th decimal is an exact 5:
    // toFixed rounds such ties up, C rounds them to even.
    let q = (BigInt(t) * 15625n) >> 1n;
    if (q % 2n === 1n) q += 1n;
    return `${q / 1000000n}.${(q % 1000000n).toString().padStart(6, "0")}`;
  }
  return v.toFixed(6);
}

function stripFraction(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === CH_0) end--;
  if (s.charCodeAt(end - 1) === CH_DOT) end--;
  return s.slice(0, end);
}
