/**
 * Zeek's ASCII log format (Z: src/logging/writers/ascii/Ascii.cc,
 * src/threading/formatters/Ascii.cc, src/Desc.cc): the `#separator …`
 * header, tab-separated rows, `#close` at the end, and Zeek's escaping.
 *
 * Rows are rendered straight into a reusable byte buffer (`RowBuffer`); a
 * row of typical conn.log values allocates nothing.
 *
 * Value rendering, as Zeek 9 does it:
 * - unset `-`; empty string, set or vector `(empty)`; bool `T`/`F`;
 * - count/int in decimal, port as the bare number;
 * - time and interval through modp_dtoa with 6 digits (`0.000100`), which
 *   switches to `%.16e` with trailing zeros stripped at or above 2^31-1;
 * - double through modp_dtoa3: 6 digits, trailing zeros dropped, `.0`
 *   appended to integral values, never an exponent (`%.6f` at or above
 *   2^31-1), `nan`, `inf`, `-inf`;
 * - strings: `\` becomes `\\`, the separator (and inside a set or vector
 *   the set separator) becomes `\xNN`; with `LogAscii::enable_utf_8=T` (the
 *   default) each stretch between such escapes passes valid UTF-8 through
 *   unless it holds a control character or a code point Zeek refuses (C1
 *   controls, private use, U+FFF0–U+FFFF, invalid UTF-8): then every byte
 *   of that stretch outside printable ASCII is written as `\xNN`. `\b \f \n
 *   \r` are always `\xNN`. A string that is exactly `-` or `(empty)` gets its
 *   first byte escaped (`\x2d`), and a line starting with `#` gets `\x23`.
 *
 * @module
 */

import { typeName, type ZeekType, type ZeekValue } from "../zeek/types.ts";
import type { LogColumn } from "./stream.ts";
import { formatLogTimestamp } from "./rotation.ts";

/** What renders rows of one file: ASCII or JSON. */
export interface LogFormatter {
  /** Lines written when a file is opened (`""` for JSON). */
  header(path: string, openTime: number): string;
  /** Lines written when a file is closed (`""` for JSON). */
  footer(closeTime: number): string;
  /** Appends one row and its newline; `indices[i]` is the row index of field `i`. */
  appendRow(buf: RowBuffer, values: readonly ZeekValue[], indices?: Int32Array): void;
}

/** Options of the ASCII writer, named after Zeek's `LogAscii::*`. */
export interface AsciiWriterOptions {
  /** One ASCII byte; default tab. */
  readonly separator?: string;
  /** One ASCII byte; default `,`. */
  readonly setSeparator?: string;
  readonly emptyField?: string;
  readonly unsetField?: string;
  /** `LogAscii::enable_utf_8`; default true. */
  readonly utf8?: boolean;
  /** Print `#open`/`#close` in UTC instead of the process's local time. */
  readonly utc?: boolean;
}

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

const ENCODER = new TextEncoder();

const CH_NL = 0x0a;
const CH_HASH = 0x23;
const CH_DOT = 0x2e;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
const CH_SLASH = 0x2f;
const CH_BACKSLASH = 0x5c;
const CH_x = 0x78;
const HEX = new TextEncoder().encode("0123456789abcdef");

/**
 * Zeek's ASCII writer for the columns of one filter: renders the header,
 * rows and the `#close` trailer.
 *
 * @example
 * ```ts
 * const w = new AsciiWriter(filter.fields, { utc: true });
 * const buf = new RowBuffer();
 * buf.ascii(w.header("conn", Date.now() / 1000));
 * w.appendRow(buf, row, filter.indices);
 * ```
 */
export class AsciiWriter implements LogFormatter {
  readonly #fields: readonly LogColumn[];
  readonly #sep: number;
  readonly #setSep: number;
  readonly #sepText: string;
  readonly #setSepText: string;
  readonly #empty: Uint8Array;
  readonly #unset: Uint8Array;
  readonly #emptyText: string;
  readonly #unsetText: string;
  readonly #utf8: boolean;
  readonly #utc: boolean;
  readonly #kinds: Uint8Array;
  readonly #elemKinds: Uint8Array;
  readonly #safeTop: Uint8Array;
  /** Field count as a plain number: a typed array's length makes a slower loop bound in V8. */
  readonly #n: number;
  /** The unset marker when it is one byte (`-`), else -1. */
  readonly #unsetByte: number;
  readonly #safeElem: Uint8Array;

  constructor(fields: readonly LogColumn[], options: AsciiWriterOptions = {}) {
    this.#fields = fields;
    this.#sepText = options.separator ?? "\t";
    this.#setSepText = options.setSeparator ?? ",";
    this.#sep = singleByte("separator", this.#sepText);
    this.#setSep = singleByte("setSeparator", this.#setSepText);
    this.#emptyText = options.emptyField ?? "(empty)";
    this.#unsetText = options.unsetField ?? "-";
    this.#empty = ENCODER.encode(this.#emptyText);
    this.#unset = ENCODER.encode(this.#unsetText);
    this.#unsetByte = this.#unset.length === 1 ? this.#unset[0]! : -1;
    this.#utf8 = options.utf8 ?? true;
    this.#utc = options.utc ?? false;
    this.#safeTop = byteClasses([this.#sep]);
    this.#safeElem = byteClasses([this.#sep, this.#setSep]);
    this.#n = fields.length;
    this.#kinds = Uint8Array.from(fields, (f) => kindCode(f.type));
    this.#elemKinds = Uint8Array.from(
      fields,
      (f) => f.type.kind === "set" || f.type.kind === "vector" ? kindCode(f.type.of) : 0,
    );
  }

  header(path: string, openTime: number): string {
    const s = this.#sepText;
    const names = this.#fields.map((f) => f.name).join(s);
    const types = this.#fields.map((f) => typeName(f.type)).join(s);
    return `#separator ${headerEscape(s)}\n` +
      `#set_separator${s}${headerEscape(this.#setSepText)}\n` +
      `#empty_field${s}${headerEscape(this.#emptyText)}\n` +
      `#unset_field${s}${headerEscape(this.#unsetText)}\n` +
      `#path${s}${headerEscape(path)}\n` +
      `#open${s}${formatLogTimestamp(openTime, this.#utc)}\n` +
      `#fields${s}${names}\n` +
      `#types${s}${types}\n`;
  }

  footer(closeTime: number): string {
    return `#close${this.#sepText}${formatLogTimestamp(closeTime, this.#utc)}\n`;
  }

  appendRow(buf: RowBuffer, values: readonly ZeekValue[], indices?: Int32Array): void {
    const kinds = this.#kinds;
    const n = this.#n;
    const sep = this.#sep;
    const unsetByte = this.#unsetByte;
    const unsetText = this.#unsetText;
    const emptyText = this.#emptyText;
    const safeTop = this.#safeTop;
    const utf8 = this.#utf8;
    const start = buf.length;
    let b = buf.reserve(FIELD_ROOM);
    let p = start;
    for (let i = 0; i < n; i++) {
      if (b.length - p < FIELD_ROOM) {
        buf.length = p;
        b = buf.reserve(FIELD_ROOM);
      }
      if (i > 0) b[p++] = sep;
      const v = values[indices === undefined ? i : indices[i]!];
      if (v === undefined) {
        if (unsetByte >= 0) {
          b[p++] = unsetByte;
        } else {
          p = smallInto(b, p, this.#unset, buf);
          b = buf.bytes;
        }
        continue;
      }
      const kind = kinds[i]!;
      // Inline fast paths for what conn-like rows are made of; everything else takes #valueInto.
      switch (kind) {
        case K_COUNT:
          if (typeof v === "number" && v >= 0 && v <= 0x7fffffff) {
            p = uintInto(b, p, v);
            continue;
          }
          break;
        case K_TIME:
          p = modpDtoa6Into(b, p, v as number);
          continue;
        case K_BOOL:
          b[p++] = v ? 0x54 : 0x46;
          continue;
        case K_PORT:
          if (typeof v === "string") {
            p = portNumberInto(b, p, v);
            continue;
          }
          break;
        case K_ADDR: {
          const text = v as string;
          const len = text.length;
          if (len < FIELD_ROOM - 1) {
            for (let k = 0; k < len; k++) b[p + k] = text.charCodeAt(k);
            p += len;
            continue;
          }
          break;
        }
        case K_STRING:
          if (typeof v === "string" && v.length > 0 && v !== unsetText && v !== emptyText) {
            const need = v.length * 12 + 8;
            if (b.length - p < need) {
              buf.length = p;
              b = buf.reserve(need);
            }
            p = escapedStringInto(b, p, v, 0, safeTop, utf8);
            continue;
          }
          break;
      }
      p = kind === K_SET
        ? this.#containerInto(buf, p, this.#elemKinds[i]!, v)
        : this.#valueInto(buf, p, kind, v, safeTop);
      b = buf.bytes;
    }
    if (p >= b.length) {
      buf.length = p;
      b = buf.reserve(1);
    }
    b[p++] = CH_NL;
    buf.length = p;
    if (b[start] === CH_HASH) {
      // Zeek escapes a data line's leading meta prefix so readers never take it for a header.
      const bb = buf.reserve(3);
      bb.copyWithin(start + 4, start + 1, p);
      hexInto(bb, start, CH_HASH);
      buf.length = p + 3;
    }
  }

  #containerInto(buf: RowBuffer, p: number, elemKind: number, v: ZeekValue): number {
    const arr = v as readonly ZeekValue[];
    if (arr.length === 0) return smallInto(buf.bytes, p, this.#empty, buf);
    for (let j = 0; j < arr.length; j++) {
      if (j > 0) {
        if (p >= buf.bytes.length) {
          buf.length = p;
          buf.reserve(1);
        }
        buf.bytes[p++] = this.#setSep;
      }
      const e = arr[j];
      p = e === undefined
        ? smallInto(buf.bytes, p, this.#unset, buf)
        : this.#valueInto(buf, p, elemKind, e, this.#safeElem);
    }
    return p;
  }

  /** Renders one atomic value at `p`, growing the buffer as needed; returns the new end. */
  #valueInto(buf: RowBuffer, p: number, kind: number, v: ZeekValue, safe: Uint8Array): number {
    let b = buf.bytes;
    switch (kind) {
      case K_STRING: {
        if (typeof v === "string") {
          const need = v.length * 12 + 8;
          if (b.length - p < need) {
            buf.length = p;
            b = buf.reserve(need);
          }
          if (v.length === 0) return smallInto(b, p, this.#empty, buf);
          if (v === this.#unsetText || v === this.#emptyText) {
            p = hexInto(b, p, v.charCodeAt(0));
            return escapedStringInto(b, p, v, 1, safe, this.#utf8);
          }
          return escapedStringInto(b, p, v, 0, safe, this.#utf8);
        }
        const bytes = v as Uint8Array;
        const need = bytes.length * 4 + 8;
        if (b.length - p < need) {
          buf.length = p;
          b = buf.reserve(need);
        }
        if (bytes.length === 0) return smallInto(b, p, this.#empty, buf);
        if (bytesEqual(bytes, this.#unset) || bytesEqual(bytes, this.#empty)) {
          p = hexInto(b, p, bytes[0]!);
          return escapedBytesInto(b, p, bytes, 1, safe, this.#utf8);
        }
        return escapedBytesInto(b, p, bytes, 0, safe, this.#utf8);
      }
      case K_ADDR: {
        const text = v as string;
        if (b.length - p < text.length) {
          buf.length = p;
          b = buf.reserve(text.length);
        }
        for (let i = 0; i < text.length; i++) b[p++] = text.charCodeAt(i);
        return p;
      }
      case K_DOUBLE:
        return asciiAt(buf, p, formatZeekDouble(v as number));
    }
    if (b.length - p < FIELD_ROOM) {
      buf.length = p;
      b = buf.reserve(FIELD_ROOM);
    }
    switch (kind) {
      case K_COUNT:
      case K_INT:
        if (typeof v === "number" && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
          return uintInto(b, p, v);
        }
        return asciiAt(buf, p, (v as number | bigint).toString());
      case K_TIME:
        return modpDtoa6Into(b, p, v as number);
      case K_BOOL:
        b[p] = v ? 0x54 : 0x46;
        return p + 1;
      case K_PORT:
        if (typeof v === "number") return uintInto(b, p, v);
        return portNumberInto(b, p, v as string);
    }
    return p;
  }
}

/** Room ensured before rendering a fixed-size value (numbers, times, ports, bools). */
const FIELD_ROOM = 64;

/** Byte classes for strings; 0 is a control character. */
const C_SAFE = 1;
const C_BACKSLASH = 2;
const C_SEPARATOR = 3;

function byteClasses(seps: readonly number[]): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0x20; c < 0x7f; c++) t[c] = C_SAFE;
  t[CH_BACKSLASH] = C_BACKSLASH;
  for (const s of seps) t[s] = C_SEPARATOR;
  return t;
}

/** Copies a short constant (unset/empty marker) to `p`, growing `buf` when it does not fit. */
function smallInto(b: Uint8Array, p: number, bytes: Uint8Array, buf: RowBuffer): number {
  const n = bytes.length;
  if (b.length - p < n) {
    buf.length = p;
    b = buf.reserve(n);
  }
  for (let i = 0; i < n; i++) b[p + i] = bytes[i]!;
  return p + n;
}

function asciiAt(buf: RowBuffer, p: number, text: string): number {
  let b = buf.bytes;
  if (b.length - p < text.length) {
    buf.length = p;
    b = buf.reserve(text.length);
  }
  for (let i = 0; i < text.length; i++) b[p++] = text.charCodeAt(i);
  return p;
}

const K_STRING = 1; // string, enum
const K_COUNT = 2;
const K_INT = 3;
const K_TIME = 4; // time, interval
const K_DOUBLE = 5;
const K_BOOL = 6;
const K_PORT = 7;
const K_ADDR = 8; // addr, subnet: canonical text as given
const K_SET = 9; // set, vector

function kindCode(type: ZeekType): number {
  switch (type.kind) {
    case "string":
    case "enum":
      return K_STRING;
    case "count":
      return K_COUNT;
    case "int":
      return K_INT;
    case "time":
    case "interval":
      return K_TIME;
    case "double":
      return K_DOUBLE;
    case "bool":
      return K_BOOL;
    case "port":
      return K_PORT;
    case "addr":
    case "subnet":
      return K_ADDR;
    case "set":
    case "vector":
      return K_SET;
    default:
      throw new TypeError(
        `Cannot write a log column of type ${
          typeName(type)
        }; declare the stream with defineStream()`,
      );
  }
}

function singleByte(option: string, text: string): number {
  const c = text.charCodeAt(0);
  if (text.length !== 1 || c > 0x7f) {
    throw new RangeError(
      `Cannot use ${
        JSON.stringify(text)
      } as the ASCII writer's ${option}: it must be one ASCII character`,
    );
  }
  return c;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Header values are escaped like Zeek's `get_escaped_string(…, false)`: spaces and non-printables as `\xNN`. */
function headerEscape(text: string): string {
  let out = "";
  for (const byte of ENCODER.encode(text)) {
    out += byte > 0x20 && byte < 0x7f
      ? String.fromCharCode(byte)
      : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
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
function escapedStringInto(
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
    let cp = c;
    let units = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        units = 2;
      }
    }
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

/** `escapedStringInto` for raw bytes (room for 4 bytes per byte), validating UTF-8 strictly. */
function escapedBytesInto(
  b: Uint8Array,
  p: number,
  s: Uint8Array,
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
    const len = utf8SequenceLength(s, i);
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
export function utf8SequenceLength(s: Uint8Array, i: number): number {
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
  if (i + len > s.length) return 0;
  for (let k = 1; k < len; k++) {
    const cc = s[i + k]!;
    if (k === 1 ? (cc < lo || cc > hi) : (cc < 0x80 || cc > 0xbf)) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  return isLoggableCodePoint(cp) ? len : 0;
}

function hexInto(b: Uint8Array, p: number, byte: number): number {
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

/** Writes a non-negative safe integer in decimal; returns the new position. */
export function uintInto(b: Uint8Array, p: number, n: number): number {
  const len = decimalDigits(n);
  let q = p + len;
  if (n <= 0x7fffffff) {
    let v = n | 0;
    while (v >= 10) {
      const d = (v / 10) | 0;
      b[--q] = CH_0 + v - d * 10;
      v = d;
    }
    b[--q] = CH_0 + v;
  } else {
    let v = n;
    while (v >= 10) {
      const d = Math.floor(v / 10);
      b[--q] = CH_0 + (v - d * 10);
      v = d;
    }
    b[--q] = CH_0 + v;
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

/** Writes a port's number at `p`: the digits of `"80/tcp"` (at most 5). */
function portNumberInto(b: Uint8Array, p: number, v: string): number {
  const n = v.length < 6 ? v.length : 6;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c === CH_SLASH) break;
    b[p++] = c;
  }
  return p;
}

const INT_MAX = 2147483647;

/**
 * Writes `value` at `p` as Zeek renders time and interval (modp_dtoa,
 * precision 6): fixed six decimals with modp's own rounding on the double
 * value, and `%.16e` with trailing zeros stripped at or above 2^31-1. At
 * most 24 bytes.
 */
function modpDtoa6Into(b: Uint8Array, p: number, value: number): number {
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
