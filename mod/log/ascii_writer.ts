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

import { typeName, type ZeekValue } from "../../zeek/mod.ts";
import type { LogColumn } from "./stream.ts";
import { formatLogTimestamp } from "./rotation.ts";
import { AsciiTranscoder } from "./ascii_transcoder.ts";
import type { LogBatchLayout } from "./log_batch_layout.ts";
import {
  asciiAt,
  type AsciiStyle,
  byteClasses,
  CH_HASH,
  CH_NL,
  CH_SLASH,
  escapedStringInto,
  formatZeekDouble,
  hexInto,
  modpDtoa6Into,
  type RowBuffer,
  smallInto,
  stringBytesInto,
  uintInto,
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

/** What renders rows of one file: ASCII or JSON. */
export interface LogFormatter {
  /** Lines written when a file is opened (`""` for JSON). */
  header(path: string, openTime: number): string;
  /** Lines written when a file is closed (`""` for JSON). */
  footer(closeTime: number): string;
  /** Appends one row and its newline; `indices[i]` is the row index of field `i`. */
  appendRow(buf: RowBuffer, values: readonly ZeekValue[], indices?: Int32Array): void;
  /** Renders an encoded batch directly, when the format can (see `AsciiWriter`). */
  appendEncodedRows?(buf: RowBuffer, bytes: Uint8Array, layout: LogBatchLayout): void;
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

const ENCODER = new TextEncoder();

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
  readonly #style: AsciiStyle;
  readonly #sepText: string;
  readonly #setSepText: string;
  readonly #emptyText: string;
  readonly #unsetText: string;
  readonly #utc: boolean;
  readonly #kinds: Uint8Array;
  readonly #elemKinds: Uint8Array;
  /** Field count as a plain number: a typed array's length makes a slower loop bound in V8. */
  readonly #n: number;
  readonly #transcoder: AsciiTranscoder;

  constructor(fields: readonly LogColumn[], options: AsciiWriterOptions = {}) {
    this.#fields = fields;
    this.#sepText = options.separator ?? "\t";
    this.#setSepText = options.setSeparator ?? ",";
    const separator = singleByte("separator", this.#sepText);
    const setSeparator = singleByte("setSeparator", this.#setSepText);
    this.#emptyText = options.emptyField ?? "(empty)";
    this.#unsetText = options.unsetField ?? "-";
    this.#utc = options.utc ?? false;
    this.#style = Object.freeze({
      separator,
      setSeparator,
      empty: ENCODER.encode(this.#emptyText),
      unset: ENCODER.encode(this.#unsetText),
      utf8: options.utf8 ?? true,
      safeTop: byteClasses([separator]),
      safeElement: byteClasses([separator, setSeparator]),
    });
    this.#n = fields.length;
    this.#kinds = Uint8Array.from(fields, (f) => kindCode(f.type));
    this.#elemKinds = Uint8Array.from(
      fields,
      (f) => f.type.kind === "set" || f.type.kind === "vector" ? kindCode(f.type.of) : 0,
    );
    this.#transcoder = new AsciiTranscoder(this.#style);
  }

  /**
   * Appends one row per record of an encoded batch whose layout
   * `readLogBatchLayout` read, without decoding it into values (see
   * ascii_transcoder.ts). The batch's fields must be this writer's. Throws
   * `LogDecodeError` for a malformed batch and leaves `buf` as it was.
   */
  appendEncodedRows(buf: RowBuffer, bytes: Uint8Array, layout: LogBatchLayout): void {
    const mark = buf.length;
    try {
      this.#transcoder.appendRows(buf, bytes, layout);
    } catch (error) {
      buf.length = mark;
      throw error;
    }
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
    const style = this.#style;
    const sep = style.separator;
    const unset = style.unset;
    const unsetByte = unset.length === 1 ? unset[0]! : -1;
    const unsetText = this.#unsetText;
    const emptyText = this.#emptyText;
    const safeTop = style.safeTop;
    const utf8 = style.utf8;
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
          p = smallInto(b, p, unset, buf);
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
        case K_INTERVAL:
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
    const style = this.#style;
    if (arr.length === 0) return smallInto(buf.bytes, p, style.empty, buf);
    for (let j = 0; j < arr.length; j++) {
      if (j > 0) {
        if (p >= buf.bytes.length) {
          buf.length = p;
          buf.reserve(1);
        }
        buf.bytes[p++] = style.setSeparator;
      }
      const e = arr[j];
      p = e === undefined
        ? smallInto(buf.bytes, p, style.unset, buf)
        : this.#valueInto(buf, p, elemKind, e, style.safeElement);
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
          const style = this.#style;
          if (v.length === 0) return smallInto(b, p, style.empty, buf);
          if (v === this.#unsetText || v === this.#emptyText) {
            p = hexInto(b, p, v.charCodeAt(0));
            return escapedStringInto(b, p, v, 1, safe, style.utf8);
          }
          return escapedStringInto(b, p, v, 0, safe, style.utf8);
        }
        const bytes = v as Uint8Array;
        return stringBytesInto(buf, p, bytes, 0, bytes.length, safe, this.#style);
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
      case K_INTERVAL:
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
