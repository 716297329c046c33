/**
 * Encodes a batch of log records as a `zeek-bin-serializer` payload (the
 * layout is in `log_batch_format.ts`). A shipper encodes ~1.8M conn rows a
 * second through it, so the values conn-like rows are made of are written
 * straight into the writer's buffer and everything else takes the writer's
 * methods.
 *
 * @module
 */

import {
  type ByteWriter,
  isIpv4Mapped,
  parseAddrInto,
  parseIpv4Into,
  parsePortPacked,
  parseSubnetInto,
  type ZeekType,
  type ZeekValue,
} from "../../zeek/mod.ts";
import {
  LogEncodeError,
  type LogWriteHeader,
  TAG_ADDR,
  TAG_BOOL,
  TAG_COUNT,
  TAG_DOUBLE,
  TAG_ENUM,
  TAG_INT,
  TAG_INTERVAL,
  TAG_PORT,
  TAG_STRING,
  TAG_SUBNET,
  TAG_TABLE,
  TAG_TIME,
  TAG_VECTOR,
} from "./log_batch_format.ts";
import type { LogColumn } from "./stream.ts";

/** A good first capacity of a `ByteWriter` that encodes log batches. */
export const DEFAULT_LOG_BATCH_CAPACITY = 256 * 1024;

/** Room ensured before each value: a head and any fixed-size body, or a short string. */
const VALUE_ROOM = 64;
// ignoreBOM keeps a leading U+FEFF as a character: Zeek logs it like any other.
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
 * const writer = new ByteWriter(DEFAULT_LOG_BATCH_CAPACITY);
 * const payload = encodeLogBatch(writer, {
 *   streamId: "Conn::LOG", writerName: "Log::WRITER_ASCII", filterName: "default", path: "conn",
 * }, filter.fields, rows, filter.indices);
 * ```
 */
export function encodeLogBatch(
  writer: ByteWriter,
  header: LogWriteHeader,
  fields: readonly LogColumn[],
  rows: readonly (readonly ZeekValue[])[],
  indices?: Int32Array,
): Uint8Array {
  writer.reset();
  writer.writeUint32String(header.streamId);
  writer.writeUint32String(header.writerName);
  writer.writeUint32String(header.filterName);
  writer.writeUint32String(header.path);
  const n = fields.length;
  const tags = new Int32Array(n);
  const subtags = new Int32Array(n);
  writer.writeUint32(n);
  for (let i = 0; i < n; i++) {
    const f = fields[i]!;
    const t = typeTag(f.type);
    tags[i] = t.type;
    subtags[i] = t.subtype;
    writer.writeBool(false);
    writer.writeUint32String(f.name);
    writer.writeInt32(t.type);
    writer.writeInt32(t.subtype);
    writer.writeBool(f.optional);
  }
  writer.writeUint32(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let i = 0; i < n; i++) {
      const v = row[indices === undefined ? i : indices[i]!];
      const tag = tags[i]!;
      // The value's head (i32 type, i32 subtype 0, bool present) and, for
      // what conn-like rows are made of, its body go straight into the
      // buffer; everything else takes the writer's methods.
      let b = writer.buffer;
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
            // Short ASCII text: copy it; anything else takes writer.writeUint32String().
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
        writer.writeInt64(arr.length);
        for (let j = 0; j < arr.length; j++) {
          const e = arr[j];
          writer.writeInt32(sub);
          writer.writeInt32(0);
          if (e === undefined) {
            writer.writeBool(false);
          } else {
            writer.writeBool(true);
            encodeAtomic(writer, sub, e, fields[i]!.name);
          }
        }
      } else {
        encodeAtomic(writer, tag, v, fields[i]!.name);
      }
    }
  }
  return writer.bytes();
}

function encodeAtomic(writer: ByteWriter, tag: number, v: ZeekValue, column: string): void {
  switch (tag) {
    case TAG_BOOL:
      writer.writeInt64(v ? 1 : 0);
      return;
    case TAG_INT:
      writer.writeInt64(v as number | bigint);
      return;
    case TAG_COUNT:
      writer.writeUint64(v as number | bigint);
      return;
    case TAG_DOUBLE:
    case TAG_TIME:
    case TAG_INTERVAL:
      writer.writeFloat64(v as number);
      return;
    case TAG_STRING:
    case TAG_ENUM:
      writer.writeUint32String(v as string | Uint8Array);
      return;
    case TAG_PORT: {
      if (typeof v === "number") {
        writer.writeUint64(v);
        writer.writeInt32(0);
        return;
      }
      const packed = parsePortPacked(v as string);
      if (packed < 0) throw badValue(column, "port", v);
      writer.writeUint64(packed & 0xffff);
      writer.writeInt32(packed >>> 16);
      return;
    }
    case TAG_ADDR:
      if (typeof v !== "string" || !parseAddrInto(v, SCRATCH, 0)) throw badValue(column, "addr", v);
      writeFamilyAddr(writer, SCRATCH, 0);
      return;
    case TAG_SUBNET: {
      const prefix = typeof v === "string" ? parseSubnetInto(v, SCRATCH, 0) : -1;
      if (prefix < 0) throw badValue(column, "subnet", v);
      writer.writeUint8(prefix);
      writeFamilyAddr(writer, SCRATCH, 0);
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

/** The 16 address bytes at `bytes[offset]` as family + 4 or 16 bytes. */
function writeFamilyAddr(writer: ByteWriter, bytes: Uint8Array, offset: number): void {
  if (isIpv4Mapped(bytes, offset)) {
    writer.writeUint8(4);
    writer.writeBytes(bytes.subarray(offset + 12, offset + 16));
  } else {
    writer.writeUint8(6);
    writer.writeBytes(bytes.subarray(offset, offset + 16));
  }
}
