/**
 * The `zeek-bin-serializer` payload of a `log-write` message: one batch of
 * records for one filter/path, exactly as Zeek's
 * BinarySerializationFormatLogSerializer writes it (Z:
 * src/cluster/serializer/binary-serialization-format/Serializer.cc,
 * src/SerializationFormat.cc, src/threading/SerialTypes.cc).
 *
 * Everything is big-endian; a string is a u32 length and its bytes; a bool
 * is one byte (1 or 0). In order:
 * 1. stream id (`Conn::LOG`), writer (`Log::WRITER_ASCII`), filter name, path;
 * 2. u32 field count, then per field: bool has-secondary-name,
 *    [secondary name], name, i32 type, i32 subtype, bool optional;
 * 3. u32 record count, then every record's values in field order, each:
 *    i32 type, i32 subtype, bool present, and when present a body:
 *    bool and int → i64 · count → u64 · port → u64 number + i32 protocol ·
 *    addr → u8 family (4 or 6) + 4 or 16 bytes · subnet → u8 length +
 *    u8 family + 4 or 16 bytes · double, time, interval → f64 ·
 *    enum, string, file, func → string · set, vector → i64 n + n values.
 *
 * Choices where the byte layout alone is ambiguous, taken from Zeek's code:
 * - A field's subtype is the element type for sets (type 14, TYPE_TABLE)
 *   and vectors, and 0 (TYPE_VOID) otherwise. Every value, containers
 *   included, carries subtype 0: Zeek's `threading::Value(tag)` constructor
 *   leaves it at TYPE_VOID.
 * - The port protocol is Zeek's TransportProto: 0 unknown, 1 tcp, 2 udp,
 *   3 icmp.
 * - A subnet's length is Zeek's internal IPv6-bit length: an IPv4 `/8` is
 *   sent as 104 (IPPrefix::ConvertToThreadingValue copies `length`, and the
 *   ASCII formatter subtracts 96 for IPv4).
 * - Fields of type func (17) and file (18) decode as strings.
 *
 * Decoding is strict where Zeek would trust its peer: bool bytes must be 0
 * or 1, every value must carry its field's type, and the payload must end
 * exactly after the last record.
 *
 * @module
 */

import { T, type ZeekType, type ZeekValue } from "../../zeek/types.ts";
import {
  formatAddr,
  formatSubnet,
  IPV4_PREFIX_OFFSET,
  isIpv4Mapped,
  parseAddrInto,
  parseIpv4Into,
  parsePortPacked,
  parseSubnetInto,
  PORT_PROTOS,
} from "../../zeek/addr.ts";
import type { LogColumn } from "./stream.ts";

/** Zeek's `TypeTag` numbers (Z: src/Type.h) as they travel in log batches. */
export const ZEEK_TYPE_TAG = Object.freeze({
  void: 0,
  bool: 1,
  int: 2,
  count: 3,
  double: 4,
  time: 5,
  interval: 6,
  string: 7,
  enum: 9,
  port: 10,
  addr: 11,
  subnet: 12,
  table: 14,
  func: 17,
  file: 18,
  vector: 19,
});

/** Message frame naming this payload format. */
export const LOG_SERIALIZER_FORMAT = "zeek-bin-serializer";

/** The first part of a batch: whose records these are and where they go. */
export interface LogWriteHeader {
  /** `Conn::LOG` */
  readonly streamId: string;
  /** `Log::WRITER_ASCII` */
  readonly writerName: string;
  readonly filterName: string;
  readonly path: string;
}

/** A decoded batch. */
export interface DecodedLogBatch extends LogWriteHeader {
  readonly fields: readonly LogColumn[];
  readonly rows: ZeekValue[][];
}

/** Options of `decodeLogBatch`. */
export interface DecodeOptions {
  /**
   * `text` (default): string values become JS strings (raw bytes that are
   * not UTF-8 stay `Uint8Array`). `bytes`: every string value is a
   * `Uint8Array` view into the payload, with no copy or string creation:
   * much faster for a logger that only writes them out, but the views are
   * borrowed and go stale when the payload buffer is reused.
   */
  readonly strings?: "text" | "bytes";
}

/** Thrown for any payload that is truncated, garbled or out of bounds. */
export class LogDecodeError extends Error {
  override readonly name = "LogDecodeError";
  constructor(readonly offset: number, what: string) {
    super(
      `Cannot decode zeek-bin-serializer log batch at byte ${offset}: ${what}; ` +
        `drop the message (the sender is not speaking this format, or it was cut short)`,
    );
  }
}

/** Thrown when a value cannot be put into a batch. */
export class LogEncodeError extends Error {
  override readonly name = "LogEncodeError";
}

/** Most fields a decoded batch may declare. */
export const MAX_LOG_FIELDS = 4096;
/** Longest name (stream, writer, filter, path, field) a decoded batch may carry. */
export const MAX_LOG_NAME_BYTES = 4096;

const TAG_BOOL = 1;
const TAG_INT = 2;
const TAG_COUNT = 3;
const TAG_DOUBLE = 4;
const TAG_TIME = 5;
const TAG_INTERVAL = 6;
const TAG_STRING = 7;
const TAG_ENUM = 9;
const TAG_PORT = 10;
const TAG_ADDR = 11;
const TAG_SUBNET = 12;
const TAG_TABLE = 14;
const TAG_FUNC = 17;
const TAG_FILE = 18;
const TAG_VECTOR = 19;

const TWO_32 = 0x1_0000_0000;

/**
 * A growable big-endian byte writer reused across batches, so steady-state
 * encoding allocates nothing.
 */
export class LogBatchWriter {
  #bytes: Uint8Array;
  #view: DataView;
  #length = 0;

  constructor(capacity = 256 * 1024) {
    this.#bytes = new Uint8Array(Math.max(64, capacity));
    this.#view = new DataView(this.#bytes.buffer);
  }

  get length(): number {
    return this.#length;
  }

  /** Sets the end after writing into `bytes` directly (hot loops). */
  set length(n: number) {
    this.#length = n;
  }

  /** Starts a new message, keeping the buffer. */
  reset(): void {
    this.#length = 0;
  }

  /** The bytes written since `reset()`; valid until the next write. */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** The backing array, valid up to `length`; replaced when it grows. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** A DataView of `bytes`. */
  get dataView(): DataView {
    return this.#view;
  }

  /** Makes room for `extra` more bytes; returns the (possibly new) backing array. */
  reserve(extra: number): Uint8Array {
    const need = this.#length + extra;
    if (need <= this.#bytes.length) return this.#bytes;
    let size = this.#bytes.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = next;
    this.#view = new DataView(next.buffer);
    return next;
  }

  u8(v: number): void {
    this.reserve(1);
    this.#bytes[this.#length++] = v;
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }

  u32(v: number): void {
    this.reserve(4);
    this.#view.setUint32(this.#length, v);
    this.#length += 4;
  }

  i32(v: number): void {
    this.reserve(4);
    this.#view.setInt32(this.#length, v);
    this.#length += 4;
  }

  /** An i64 from a safe integer or a bigint. */
  i64(v: number | bigint): void {
    this.reserve(8);
    if (typeof v === "bigint") {
      this.#view.setBigInt64(this.#length, v);
    } else {
      const hi = Math.floor(v / TWO_32);
      this.#view.setInt32(this.#length, hi);
      this.#view.setUint32(this.#length + 4, v - hi * TWO_32);
    }
    this.#length += 8;
  }

  /** A u64 from a non-negative safe integer or a bigint. */
  u64(v: number | bigint): void {
    this.reserve(8);
    if (typeof v === "bigint") {
      this.#view.setBigUint64(this.#length, v);
    } else {
      const hi = Math.floor(v / TWO_32);
      this.#view.setUint32(this.#length, hi);
      this.#view.setUint32(this.#length + 4, v - hi * TWO_32);
    }
    this.#length += 8;
  }

  f64(v: number): void {
    this.reserve(8);
    this.#view.setFloat64(this.#length, v);
    this.#length += 8;
  }

  /** Raw bytes without a length. */
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** u32 length + UTF-8 bytes of a JS string, or the bytes of a Uint8Array. */
  string(s: string | Uint8Array): void {
    if (typeof s !== "string") {
      this.u32(s.length);
      this.raw(s);
      return;
    }
    const n = s.length;
    this.reserve(4 + n * 3);
    const at = this.#length;
    let p = at + 4;
    const b = this.#bytes;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      b[p++] = c;
    }
    if (i < n) p += ENCODER.encodeInto(s.slice(i), b.subarray(p)).written;
    this.#view.setUint32(at, p - at - 4);
    this.#length = p;
  }

  /** The 16 address bytes at `bytes[offset]` as family + 4 or 16 bytes. */
  addrBytes(bytes: Uint8Array, offset: number): void {
    if (isIpv4Mapped(bytes, offset)) {
      this.u8(4);
      this.raw(bytes.subarray(offset + 12, offset + 16));
    } else {
      this.u8(6);
      this.raw(bytes.subarray(offset, offset + 16));
    }
  }
}

const ENCODER = new TextEncoder();
/** Room ensured before each value: a head and any fixed-size body, or a short string. */
const VALUE_ROOM = 64;
// ignoreBOM keeps a leading U+FEFF as a character: Zeek logs it like any other.
const DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const SCRATCH = new Uint8Array(16);

/** The type tag and field subtype Zeek sends for a column type. */
export function typeTag(type: ZeekType): { readonly type: number; readonly subtype: number } {
  switch (type.kind) {
    case "set":
      return { type: TAG_TABLE, subtype: atomicTag(type.of) };
    case "vector":
      return { type: TAG_VECTOR, subtype: atomicTag(type.of) };
    default:
      return { type: atomicTag(type), subtype: 0 };
  }
}

function atomicTag(type: ZeekType): number {
  switch (type.kind) {
    case "bool":
      return TAG_BOOL;
    case "int":
      return TAG_INT;
    case "count":
      return TAG_COUNT;
    case "double":
      return TAG_DOUBLE;
    case "time":
      return TAG_TIME;
    case "interval":
      return TAG_INTERVAL;
    case "string":
      return TAG_STRING;
    case "enum":
      return TAG_ENUM;
    case "port":
      return TAG_PORT;
    case "addr":
      return TAG_ADDR;
    case "subnet":
      return TAG_SUBNET;
    default:
      throw new LogEncodeError(
        `Cannot send a log column of type ${type.kind}; Zeek logs only atomic types and sets/vectors of them`,
      );
  }
}

/**
 * Encodes one batch into `writer` (after resetting it) and returns a view of
 * the payload, valid until the writer's next use. `indices[i]`, when given,
 * is the row index of field `i`, so full stream rows can be sent through a
 * filter without copying.
 *
 * @example
 * ```ts
 * const writer = new LogBatchWriter();
 * const payload = encodeLogBatch(writer, {
 *   streamId: "Conn::LOG", writerName: "Log::WRITER_ASCII", filterName: "default", path: "conn",
 * }, filter.fields, rows, filter.indices);
 * ```
 */
export function encodeLogBatch(
  writer: LogBatchWriter,
  header: LogWriteHeader,
  fields: readonly LogColumn[],
  rows: readonly (readonly ZeekValue[])[],
  indices?: Int32Array,
): Uint8Array {
  writer.reset();
  writer.string(header.streamId);
  writer.string(header.writerName);
  writer.string(header.filterName);
  writer.string(header.path);
  const n = fields.length;
  const tags = new Int32Array(n);
  const subtags = new Int32Array(n);
  writer.u32(n);
  for (let i = 0; i < n; i++) {
    const f = fields[i]!;
    const t = typeTag(f.type);
    tags[i] = t.type;
    subtags[i] = t.subtype;
    writer.bool(false);
    writer.string(f.name);
    writer.i32(t.type);
    writer.i32(t.subtype);
    writer.bool(f.optional);
  }
  writer.u32(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let i = 0; i < n; i++) {
      const v = row[indices === undefined ? i : indices[i]!];
      const tag = tags[i]!;
      // The value's head (i32 type, i32 subtype 0, bool present) and, for
      // what conn-like rows are made of, its body go straight into the
      // buffer; everything else takes the writer's methods.
      let b = writer.bytes;
      let p = writer.length;
      if (b.length - p < VALUE_ROOM) b = writer.reserve(VALUE_ROOM);
      b[p] = 0;
      b[p + 1] = 0;
      b[p + 2] = 0;
      b[p + 3] = tag;
      b[p + 4] = 0;
      b[p + 5] = 0;
      b[p + 6] = 0;
      b[p + 7] = 0;
      if (v === undefined) {
        b[p + 8] = 0;
        writer.length = p + 9;
        continue;
      }
      b[p + 8] = 1;
      p += 9;
      writer.length = p;
      switch (tag) {
        case TAG_COUNT:
          if (typeof v === "number" && v >= 0 && v <= 0xffffffff) {
            b[p] = 0;
            b[p + 1] = 0;
            b[p + 2] = 0;
            b[p + 3] = 0;
            writer.dataView.setUint32(p + 4, v);
            writer.length = p + 8;
            continue;
          }
          break;
        case TAG_TIME:
        case TAG_INTERVAL:
        case TAG_DOUBLE:
          if (typeof v === "number") {
            writer.dataView.setFloat64(p, v);
            writer.length = p + 8;
            continue;
          }
          break;
        case TAG_ADDR:
          if (typeof v === "string" && parseIpv4Into(v, b, p + 1)) {
            b[p] = 4;
            writer.length = p + 5;
            continue;
          }
          break;
        case TAG_STRING:
        case TAG_ENUM:
          if (typeof v === "string" && v.length < VALUE_ROOM - 4) {
            // Short ASCII text: copy it; anything else takes writer.string().
            const len = v.length;
            let k = 0;
            for (; k < len; k++) {
              const c = v.charCodeAt(k);
              if (c >= 0x80) break;
              b[p + 4 + k] = c;
            }
            if (k < len) break;
            writer.dataView.setUint32(p, len);
            writer.length = p + 4 + len;
            continue;
          }
          break;
      }
      if (tag === TAG_TABLE || tag === TAG_VECTOR) {
        const arr = v as readonly ZeekValue[];
        const sub = subtags[i]!;
        writer.i64(arr.length);
        for (let j = 0; j < arr.length; j++) {
          const e = arr[j];
          writer.i32(sub);
          writer.i32(0);
          if (e === undefined) {
            writer.bool(false);
          } else {
            writer.bool(true);
            encodeAtomic(writer, sub, e, fields[i]!.name);
          }
        }
      } else {
        encodeAtomic(writer, tag, v, fields[i]!.name);
      }
    }
  }
  return writer.view();
}

function encodeAtomic(writer: LogBatchWriter, tag: number, v: ZeekValue, column: string): void {
  switch (tag) {
    case TAG_BOOL:
      writer.i64(v ? 1 : 0);
      return;
    case TAG_INT:
      writer.i64(v as number | bigint);
      return;
    case TAG_COUNT:
      writer.u64(v as number | bigint);
      return;
    case TAG_DOUBLE:
    case TAG_TIME:
    case TAG_INTERVAL:
      writer.f64(v as number);
      return;
    case TAG_STRING:
    case TAG_ENUM:
      writer.string(v as string | Uint8Array);
      return;
    case TAG_PORT: {
      if (typeof v === "number") {
        writer.u64(v);
        writer.i32(0);
        return;
      }
      const packed = parsePortPacked(v as string);
      if (packed < 0) throw badValue(column, "port", v);
      writer.u64(packed & 0xffff);
      writer.i32(packed >>> 16);
      return;
    }
    case TAG_ADDR:
      if (typeof v !== "string" || !parseAddrInto(v, SCRATCH, 0)) throw badValue(column, "addr", v);
      writer.addrBytes(SCRATCH, 0);
      return;
    case TAG_SUBNET: {
      const prefix = typeof v === "string" ? parseSubnetInto(v, SCRATCH, 0) : -1;
      if (prefix < 0) throw badValue(column, "subnet", v);
      writer.u8(prefix);
      writer.addrBytes(SCRATCH, 0);
      return;
    }
  }
}

function badValue(column: string, type: string, v: ZeekValue): LogEncodeError {
  return new LogEncodeError(
    `Cannot encode log column "${column}": ${JSON.stringify(String(v))} is not a valid ${type}; ` +
      `write it as Zeek spells it (validate rows to catch this earlier)`,
  );
}

/**
 * The part of a batch before its records: the header, the fields, and
 * where the records start. A logger reads it first and then either decodes
 * the records (`decodeLogRows`) or renders them straight to text.
 */
export interface LogBatchLayout extends LogWriteHeader {
  readonly fields: readonly LogColumn[];
  /** Zeek type tag of each field (`ZEEK_TYPE_TAG`). */
  readonly tags: Int32Array;
  /** Element type tag of each set or vector field, else 0. */
  readonly subtags: Int32Array;
  readonly recordCount: number;
  /** Byte offset of the first record in the payload. */
  readonly recordsOffset: number;
}

/**
 * Decodes a payload. Any truncated, garbled or oversized input raises
 * `LogDecodeError` and nothing else: counts are checked against the bytes
 * left, names are bounded, containers cannot nest, and every value must
 * carry its field's type.
 */
export function decodeLogBatch(bytes: Uint8Array, options: DecodeOptions = {}): DecodedLogBatch {
  const layout = readLogBatchLayout(bytes);
  const { streamId, writerName, filterName, path, fields } = layout;
  return {
    streamId,
    writerName,
    filterName,
    path,
    fields,
    rows: decodeLogRows(bytes, layout, options),
  };
}

/**
 * Reads a payload up to its records. The record count is checked against
 * the bytes left (each value takes at least 9), so a caller may size
 * things by it.
 */
export function readLogBatchLayout(bytes: Uint8Array): LogBatchLayout {
  const r = new Reader(bytes, false);
  try {
    const streamId = r.name("stream id");
    const writerName = r.name("writer name");
    const filterName = r.name("filter name");
    const path = r.name("path");
    const fieldCount = r.u32();
    if (fieldCount > MAX_LOG_FIELDS) r.fail(`field count ${fieldCount} exceeds ${MAX_LOG_FIELDS}`);
    // Smallest field: bool, empty name, two i32 and a bool.
    r.need(fieldCount * 14, `${fieldCount} fields`);
    const fields: LogColumn[] = [];
    const tags = new Int32Array(fieldCount);
    const subtags = new Int32Array(fieldCount);
    for (let i = 0; i < fieldCount; i++) {
      if (r.bool()) r.name("secondary name");
      const name = r.name("field name");
      const tag = r.i32();
      const sub = r.i32();
      const optional = r.bool();
      const type = fieldType(r, tag, sub);
      tags[i] = tag;
      subtags[i] = tag === TAG_TABLE || tag === TAG_VECTOR ? sub : 0;
      fields.push(Object.freeze({ name, type, optional }));
    }
    const recordCount = r.u32();
    // Smallest value: i32 type, i32 subtype, bool present.
    r.need(recordCount * fieldCount * 9, `${recordCount} records`);
    if (fieldCount === 0 && recordCount > 0) r.fail(`${recordCount} records without fields`);
    return {
      streamId,
      writerName,
      filterName,
      path,
      fields,
      tags,
      subtags,
      recordCount,
      recordsOffset: r.offset,
    };
  } catch (err) {
    if (err instanceof LogDecodeError) throw err;
    throw new LogDecodeError(r.offset, err instanceof Error ? err.message : String(err));
  }
}

/** Decodes the records of a payload whose layout `readLogBatchLayout` read. */
export function decodeLogRows(
  bytes: Uint8Array,
  layout: LogBatchLayout,
  options: DecodeOptions = {},
): ZeekValue[][] {
  const r = new Reader(bytes, options.strings === "bytes", layout.recordsOffset);
  const { fields, tags, subtags, recordCount } = layout;
  const fieldCount = fields.length;
  try {
    const rows: ZeekValue[][] = new Array(recordCount);
    for (let k = 0; k < recordCount; k++) {
      const row = new Array<ZeekValue>(fieldCount);
      for (let i = 0; i < fieldCount; i++) {
        const tag = r.i32();
        r.i32();
        const present = r.bool();
        if (tag !== tags[i]) {
          r.fail(`value of field "${fields[i]!.name}" has type ${tag}, expected ${tags[i]}`);
        }
        if (!present) {
          row[i] = undefined;
          continue;
        }
        if (tag === TAG_TABLE || tag === TAG_VECTOR) {
          const count = r.i64Count();
          r.need(count * 9, `${count} container elements`);
          const sub = subtags[i]!;
          const arr = new Array<ZeekValue>(count);
          for (let j = 0; j < count; j++) {
            const et = r.i32();
            r.i32();
            const ep = r.bool();
            if (et !== sub) {
              r.fail(`element of field "${fields[i]!.name}" has type ${et}, expected ${sub}`);
            }
            if (!ep && tag === TAG_TABLE) {
              r.fail(`set element of field "${fields[i]!.name}" is unset`);
            }
            arr[j] = ep ? decodeAtomic(r, et) : undefined;
          }
          row[i] = arr;
        } else {
          row[i] = decodeAtomic(r, tag);
        }
      }
      rows[k] = row;
    }
    if (r.remaining() !== 0) {
      r.fail(`${r.remaining()} bytes left over after ${recordCount} records`);
    }
    return rows;
  } catch (err) {
    if (err instanceof LogDecodeError) throw err;
    throw new LogDecodeError(r.offset, err instanceof Error ? err.message : String(err));
  }
}

function fieldType(r: Reader, tag: number, sub: number): ZeekType {
  if (tag === TAG_TABLE) return T.set(atomicType(r, sub));
  if (tag === TAG_VECTOR) return T.vector(atomicType(r, sub));
  return atomicType(r, tag);
}

const ENUM_TYPE = T.enum("");

/** Port texts by protocol code and number, made once each: ports repeat a lot. */
const PORT_TEXT: readonly (string | undefined)[][] = PORT_PROTOS.map(() => []);
const OCTET_TEXT: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

function atomicType(r: Reader, tag: number): ZeekType {
  switch (tag) {
    case TAG_BOOL:
      return T.bool;
    case TAG_INT:
      return T.int;
    case TAG_COUNT:
      return T.count;
    case TAG_DOUBLE:
      return T.double;
    case TAG_TIME:
      return T.time;
    case TAG_INTERVAL:
      return T.interval;
    case TAG_STRING:
    case TAG_FUNC:
    case TAG_FILE:
      return T.string;
    case TAG_ENUM:
      return ENUM_TYPE;
    case TAG_PORT:
      return T.port;
    case TAG_ADDR:
      return T.addr;
    case TAG_SUBNET:
      return T.subnet;
    default:
      return r.fail(`unsupported type tag ${tag}`);
  }
}

function decodeAtomic(r: Reader, tag: number): ZeekValue {
  switch (tag) {
    case TAG_BOOL:
      return r.i64() !== 0;
    case TAG_INT:
      return r.i64();
    case TAG_COUNT:
      return r.u64();
    case TAG_DOUBLE:
    case TAG_TIME:
    case TAG_INTERVAL:
      return r.f64();
    case TAG_STRING:
    case TAG_ENUM:
    case TAG_FUNC:
    case TAG_FILE:
      return r.text();
    case TAG_PORT: {
      const port = r.u64();
      const proto = r.i32();
      if (typeof port !== "number" || port > 0xffff) r.fail(`port number ${port} out of range`);
      const texts = PORT_TEXT[proto];
      if (texts === undefined) r.fail(`port protocol ${proto} is not 0..3`);
      return texts[port] ??= `${port}/${PORT_PROTOS[proto]}`;
    }
    case TAG_ADDR:
      return r.addrText();
    case TAG_SUBNET: {
      const length = r.u8();
      const v4 = r.addr(SCRATCH);
      if (v4 ? length < IPV4_PREFIX_OFFSET || length > 128 : length > 128) {
        r.fail(`subnet length ${length} is out of range for an IPv${v4 ? 4 : 6} network`);
      }
      return formatSubnet(SCRATCH, length, 0);
    }
    default:
      return r.fail(`unsupported type tag ${tag}`);
  }
}

class Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #rawStrings: boolean;
  #at = 0;

  constructor(bytes: Uint8Array, rawStrings: boolean, at = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#rawStrings = rawStrings;
    this.#at = at;
  }

  get offset(): number {
    return this.#at;
  }

  remaining(): number {
    return this.#bytes.length - this.#at;
  }

  fail(what: string): never {
    throw new LogDecodeError(this.#at, what);
  }

  need(n: number, what: string): void {
    if (n > this.remaining()) {
      this.fail(`${what} need at least ${n} bytes, ${this.remaining()} left`);
    }
  }

  u8(): number {
    this.need(1, "a byte");
    return this.#bytes[this.#at++]!;
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) this.fail(`bool byte is ${b}, not 0 or 1`);
    return b === 1;
  }

  u32(): number {
    this.need(4, "a u32");
    const v = this.#view.getUint32(this.#at);
    this.#at += 4;
    return v;
  }

  i32(): number {
    this.need(4, "an i32");
    const v = this.#view.getInt32(this.#at);
    this.#at += 4;
    return v;
  }

  /** An i64 as a number when safe, else a bigint. */
  i64(): number | bigint {
    this.need(8, "an i64");
    const hi = this.#view.getInt32(this.#at);
    const lo = this.#view.getUint32(this.#at + 4);
    this.#at += 8;
    if (hi >= -0x200000 && hi < 0x200000) return hi * TWO_32 + lo;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A u64 as a number when safe, else a bigint. */
  u64(): number | bigint {
    this.need(8, "a u64");
    const hi = this.#view.getUint32(this.#at);
    const lo = this.#view.getUint32(this.#at + 4);
    this.#at += 8;
    if (hi < 0x200000) return hi * TWO_32 + lo;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A container's i64 element count, which must be a sane non-negative number. */
  i64Count(): number {
    const n = this.i64();
    if (typeof n !== "number" || n < 0 || n > this.remaining()) {
      this.fail(`container size ${n} is impossible here`);
    }
    return n;
  }

  f64(): number {
    this.need(8, "an f64");
    const v = this.#view.getFloat64(this.#at);
    this.#at += 8;
    return v;
  }

  #span(what: string, max: number): Uint8Array {
    const n = this.u32();
    if (n > max) this.fail(`${what} of ${n} bytes exceeds ${max}`);
    this.need(n, what);
    const out = this.#bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  /** A bounded name, which must be UTF-8. */
  name(what: string): string {
    const bytes = this.#span(what, MAX_LOG_NAME_BYTES);
    try {
      return DECODER.decode(bytes);
    } catch {
      return this.fail(`${what} is not UTF-8`);
    }
  }

  /** A string value: text when it is UTF-8 (else a copy of the raw bytes), or a view in raw mode. */
  text(): string | Uint8Array {
    const bytes = this.#span("a string", this.remaining());
    if (this.#rawStrings) return bytes;
    const n = bytes.length;
    if (n <= 64) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (bytes[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      // fromCharCode.apply is several times faster than TextDecoder for short strings (and than spreading).
      if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
    }
    try {
      return DECODER.decode(bytes);
    } catch {
      return bytes.slice();
    }
  }

  /** An address as text; IPv4 is built from cached octets without a scratch copy. */
  addrText(): string {
    const family = this.u8();
    if (family === 4) {
      this.need(4, "an IPv4 address");
      const b = this.#bytes;
      const at = this.#at;
      this.#at += 4;
      return OCTET_TEXT[b[at]!]! + "." + OCTET_TEXT[b[at + 1]!]! + "." + OCTET_TEXT[b[at + 2]!]! +
        "." +
        OCTET_TEXT[b[at + 3]!]!;
    }
    this.#at--;
    this.addr(SCRATCH);
    return formatAddr(SCRATCH, 0);
  }

  /** Reads family + address into `out` (16 bytes, IPv4-mapped for IPv4); true for IPv4. */
  addr(out: Uint8Array): boolean {
    const family = this.u8();
    if (family === 4) {
      this.need(4, "an IPv4 address");
      out.fill(0, 0, 10);
      out[10] = 0xff;
      out[11] = 0xff;
      out.set(this.#bytes.subarray(this.#at, this.#at + 4), 12);
      this.#at += 4;
      return true;
    }
    if (family === 6) {
      this.need(16, "an IPv6 address");
      out.set(this.#bytes.subarray(this.#at, this.#at + 16), 0);
      this.#at += 16;
      return false;
    }
    return this.fail(`address family ${family} is not 4 or 6`);
  }
}
