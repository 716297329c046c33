/**
 * Renders the records of a `zeek-bin-serializer` log batch straight into
 * Zeek ASCII rows, reading the payload bytes once and creating no JS value
 * per column. A logger spends most of its time here: decoding a batch into
 * rows and rendering those costs about three times as much.
 *
 * The output is byte for byte what `decodeLogRows` followed by
 * `AsciiWriter.appendRow` produces (a property test holds the two
 * together), and the checks are the decoder's: every value carries its
 * field's type, bool bytes are 0 or 1, ports, families and prefix lengths
 * are in range, counts fit the bytes left, and the payload ends right after
 * the last record. A batch that fails any check throws `LogDecodeError`;
 * the caller discards what was rendered of it.
 *
 * @module
 */

import { formatAddr, formatSubnet, IPV4_PREFIX_OFFSET } from "../../zeek/mod.ts";
import {
  asciiAt,
  type AsciiStyle,
  C_SAFE,
  CH_HASH,
  CH_NL,
  formatZeekDouble,
  hexInto,
  isMarker,
  modpDtoa6Into,
  type RowBuffer,
  smallInto,
  stringBytesInto,
  uintInto,
} from "./ascii_values.ts";
import { LogDecodeError, ZEEK_TYPE_TAG as TAG } from "./log_batch_format.ts";
import type { LogBatchLayout } from "./log_batch_layout.ts";

/** Room ensured before each field: any fixed-size value fits (an IPv6 subnet is 43 bytes). */
const ROOM = 64;
const TWO_32 = 0x1_0000_0000;
const CH_DOT = 0x2e;
const ADDR = new Uint8Array(16);

/** Renders the records of batches for one ASCII writer's style. */
export class AsciiTranscoder {
  readonly #style: AsciiStyle;
  #bytes: Uint8Array = new Uint8Array(0);
  #view: DataView = new DataView(new ArrayBuffer(0));
  #at = 0;

  constructor(style: AsciiStyle) {
    this.#style = style;
  }

  /**
   * Appends one row per record of `bytes` (a payload whose layout
   * `readLogBatchLayout` read) to `buf`. Throws `LogDecodeError` on any
   * malformed value; `buf` then holds part of the batch, which the caller
   * cuts off.
   */
  appendRows(buf: RowBuffer, bytes: Uint8Array, layout: LogBatchLayout): void {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#at = layout.recordsOffset;
    try {
      this.#rows(buf, layout);
    } finally {
      this.#bytes = new Uint8Array(0);
    }
  }

  #rows(buf: RowBuffer, layout: LogBatchLayout): void {
    const style = this.#style;
    const sep = style.separator;
    const unset = style.unset;
    const unsetByte = unset.length === 1 ? unset[0]! : -1;
    const safe = style.safeTop;
    const tags = layout.tags;
    const n = tags.length;
    const src = this.#bytes;
    const view = this.#view;
    const end = src.length;
    let b = buf.reserve(ROOM);
    let p = buf.length;
    for (let k = 0; k < layout.recordCount; k++) {
      const start = p;
      for (let i = 0; i < n; i++) {
        if (b.length - p < ROOM) {
          buf.length = p;
          b = buf.reserve(ROOM);
        }
        if (i > 0) b[p++] = sep;
        let at = this.#at;
        if (end - at < 9) this.#fail(at, `record ${k} is cut short`);
        const tag = view.getInt32(at);
        const present = src[at + 8]!;
        if (tag !== tags[i]) {
          this.#fail(
            at,
            `value of field "${layout.fields[i]!.name}" has type ${tag}, expected ${tags[i]}`,
          );
        }
        if (present > 1) this.#fail(at + 8, `bool byte is ${present}, not 0 or 1`);
        at += 9;
        this.#at = at;
        if (present === 0) {
          if (unsetByte >= 0) b[p++] = unsetByte;
          else p = smallInto(b, p, unset, buf);
          b = buf.bytes;
          continue;
        }
        // Inline fast paths for what conn-like rows are made of; the rest takes #valueInto.
        switch (tag) {
          case TAG.count: {
            if (end - at < 8) break;
            const hi = view.getUint32(at);
            if (hi !== 0) break;
            p = uintInto(b, p, view.getUint32(at + 4));
            this.#at = at + 8;
            continue;
          }
          case TAG.time:
          case TAG.interval:
            if (end - at < 8) break;
            p = modpDtoa6Into(b, p, view.getFloat64(at));
            this.#at = at + 8;
            continue;
          case TAG.addr:
            if (end - at < 5 || src[at] !== 4) break;
            p = octetInto(b, p, src[at + 1]!);
            b[p++] = CH_DOT;
            p = octetInto(b, p, src[at + 2]!);
            b[p++] = CH_DOT;
            p = octetInto(b, p, src[at + 3]!);
            b[p++] = CH_DOT;
            p = octetInto(b, p, src[at + 4]!);
            this.#at = at + 5;
            continue;
          case TAG.string:
          case TAG.enum: {
            // Short plain ASCII, as most strings in logs are: copy it as it is.
            if (end - at < 4) break;
            const len = view.getUint32(at);
            if (len === 0 || len > ROOM - 1 || len > end - at - 4) break;
            const from = at + 4;
            let j = 0;
            for (; j < len; j++) {
              const c = src[from + j]!;
              if (c >= 0x80 || safe[c] !== C_SAFE) break;
              b[p + j] = c;
            }
            if (j < len || isMarker(src, from, len, style)) break;
            p += len;
            this.#at = from + len;
            continue;
          }
        }
        p = this.#valueInto(buf, p, tag, layout.subtags[i]!, safe, i, layout);
        b = buf.bytes;
      }
      if (p >= b.length) {
        buf.length = p;
        b = buf.reserve(1);
      }
      b[p++] = CH_NL;
      if (b[start] === CH_HASH) {
        // Zeek escapes a data line's leading meta prefix so readers never take it for a header.
        buf.length = p;
        b = buf.reserve(3);
        b.copyWithin(start + 4, start + 1, p);
        hexInto(b, start, CH_HASH);
        p += 3;
      }
    }
    buf.length = p;
    if (this.#at !== end) {
      this.#fail(this.#at, `${end - this.#at} bytes left over after ${layout.recordCount} records`);
    }
  }

  /** Renders one present value whose 9-byte head was read; returns the new end. */
  #valueInto(
    buf: RowBuffer,
    p: number,
    tag: number,
    subtag: number,
    safe: Uint8Array,
    field: number,
    layout: LogBatchLayout,
  ): number {
    if (tag !== TAG.table && tag !== TAG.vector) return this.#atomicInto(buf, p, tag, safe);
    const style = this.#style;
    const count = this.#count();
    if (count === 0) return smallInto(buf.bytes, p, style.empty, buf);
    for (let j = 0; j < count; j++) {
      if (j > 0) {
        if (p >= buf.bytes.length) {
          buf.length = p;
          buf.reserve(1);
        }
        buf.bytes[p++] = style.setSeparator;
      }
      const at = this.#need(9, "a container element");
      const et = this.#view.getInt32(at);
      const present = this.#bytes[at + 8]!;
      const name = layout.fields[field]!.name;
      if (et !== subtag) {
        this.#fail(at, `element of field "${name}" has type ${et}, expected ${subtag}`);
      }
      if (present > 1) this.#fail(at + 8, `bool byte is ${present}, not 0 or 1`);
      if (present === 0) {
        if (tag === TAG.table) this.#fail(at, `set element of field "${name}" is unset`);
        p = smallInto(buf.bytes, p, style.unset, buf);
        continue;
      }
      p = this.#atomicInto(buf, p, et, style.safeElement);
    }
    return p;
  }

  /** Renders one atomic value body at `this.#at`; returns the new end. */
  #atomicInto(buf: RowBuffer, p: number, tag: number, safe: Uint8Array): number {
    const view = this.#view;
    switch (tag) {
      case TAG.string:
      case TAG.enum:
      case TAG.func:
      case TAG.file:
        return this.#stringInto(buf, p, safe);
      case TAG.double: {
        const at = this.#need(8, "an f64");
        return asciiAt(buf, p, formatZeekDouble(view.getFloat64(at)));
      }
    }
    let b = buf.bytes;
    if (b.length - p < ROOM) {
      buf.length = p;
      b = buf.reserve(ROOM);
    }
    switch (tag) {
      case TAG.bool: {
        const at = this.#need(8, "an i64");
        b[p] = view.getUint32(at) !== 0 || view.getUint32(at + 4) !== 0 ? 0x54 : 0x46;
        return p + 1;
      }
      case TAG.count: {
        const at = this.#need(8, "a u64");
        const hi = view.getUint32(at);
        const lo = view.getUint32(at + 4);
        if (hi < 0x200000) return uintInto(b, p, hi * TWO_32 + lo);
        return asciiAt(buf, p, ((BigInt(hi) << 32n) | BigInt(lo)).toString());
      }
      case TAG.int: {
        const at = this.#need(8, "an i64");
        const hi = view.getInt32(at);
        const lo = view.getUint32(at + 4);
        if (hi >= 0 && hi < 0x200000) return uintInto(b, p, hi * TWO_32 + lo);
        if (hi >= -0x200000 && hi < 0) return asciiAt(buf, p, String(hi * TWO_32 + lo));
        return asciiAt(buf, p, ((BigInt(hi) << 32n) | BigInt(lo)).toString());
      }
      case TAG.time:
      case TAG.interval: {
        const at = this.#need(8, "an f64");
        return modpDtoa6Into(b, p, view.getFloat64(at));
      }
      case TAG.port: {
        const at = this.#need(12, "a port");
        const hi = view.getUint32(at);
        const number = view.getUint32(at + 4);
        const proto = view.getInt32(at + 8);
        if (hi !== 0 || number > 0xffff) {
          this.#fail(at, `port number ${hi * TWO_32 + number} out of range`);
        }
        if (proto < 0 || proto > 3) this.#fail(at + 8, `port protocol ${proto} is not 0..3`);
        return uintInto(b, p, number);
      }
      case TAG.addr: {
        const v4 = this.#addr();
        if (v4) {
          p = octetInto(b, p, ADDR[12]!);
          b[p++] = CH_DOT;
          p = octetInto(b, p, ADDR[13]!);
          b[p++] = CH_DOT;
          p = octetInto(b, p, ADDR[14]!);
          b[p++] = CH_DOT;
          return octetInto(b, p, ADDR[15]!);
        }
        return asciiAt(buf, p, formatAddr(ADDR, 0));
      }
      case TAG.subnet: {
        const at = this.#need(1, "a subnet length");
        const length = this.#bytes[at]!;
        const v4 = this.#addr();
        if (v4 ? length < IPV4_PREFIX_OFFSET || length > 128 : length > 128) {
          this.#fail(at, `subnet length ${length} is out of range for an IPv${v4 ? 4 : 6} network`);
        }
        return asciiAt(buf, p, formatSubnet(ADDR, length, 0));
      }
    }
    return this.#fail(this.#at, `unsupported type tag ${tag}`);
  }

  #stringInto(buf: RowBuffer, p: number, safe: Uint8Array): number {
    const at = this.#need(4, "a string length");
    const len = this.#view.getUint32(at);
    const from = this.#need(len, "a string");
    return stringBytesInto(buf, p, this.#bytes, from, from + len, safe, this.#style);
  }

  /** Reads family + address into `ADDR` (IPv4 in its last 4 bytes); true for IPv4. */
  #addr(): boolean {
    const at = this.#need(1, "an address family");
    const family = this.#bytes[at]!;
    if (family === 4) {
      const from = this.#need(4, "an IPv4 address");
      ADDR.fill(0, 0, 10);
      ADDR[10] = 0xff;
      ADDR[11] = 0xff;
      ADDR.set(this.#bytes.subarray(from, from + 4), 12);
      return true;
    }
    if (family === 6) {
      const from = this.#need(16, "an IPv6 address");
      ADDR.set(this.#bytes.subarray(from, from + 16), 0);
      return false;
    }
    return this.#fail(at, `address family ${family} is not 4 or 6`);
  }

  /** A container's i64 element count, checked against the bytes left. */
  #count(): number {
    const at = this.#need(8, "a container size");
    const hi = this.#view.getInt32(at);
    const lo = this.#view.getUint32(at + 4);
    const left = this.#bytes.length - this.#at;
    if (hi !== 0 || lo * 9 > left) {
      this.#fail(at, `container size ${hi * TWO_32 + lo} is impossible here`);
    }
    return lo;
  }

  /** Claims `n` bytes at the read position and returns where they start. */
  #need(n: number, what: string): number {
    const at = this.#at;
    const left = this.#bytes.length - at;
    if (n > left) this.#fail(at, `${what} need at least ${n} bytes, ${left} left`);
    this.#at = at + n;
    return at;
  }

  #fail(at: number, what: string): never {
    throw new LogDecodeError(at, what);
  }
}

/** IPv4 octet texts: at `4 * octet`, the digit count and up to 3 digits. */
const OCTETS = (() => {
  const t = new Uint8Array(256 * 4);
  for (let o = 0; o < 256; o++) {
    const text = String(o);
    t[o * 4] = text.length;
    for (let k = 0; k < text.length; k++) t[o * 4 + 1 + k] = text.charCodeAt(k);
  }
  return t;
})();

function octetInto(b: Uint8Array, p: number, octet: number): number {
  const at = octet << 2;
  const len = OCTETS[at]!;
  b[p] = OCTETS[at + 1]!;
  if (len > 1) b[p + 1] = OCTETS[at + 2]!;
  if (len > 2) b[p + 2] = OCTETS[at + 3]!;
  return p + len;
}
