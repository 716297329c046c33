/**
 * The layout scan of a `zeek-bin-serializer` payload: the header and the
 * fields, up to where the records start. A logger reads it first and then
 * either decodes the records (`decodeLogRows`) or renders them straight to
 * text (`AsciiTranscoder`).
 *
 * @module
 */

import { type ByteReader, T, type ZeekType } from "../../zeek/mod.ts";
import {
  asLogDecodeError,
  createLogReader,
  failAt,
  type LogWriteHeader,
  MAX_LOG_FIELDS,
  MAX_LOG_NAME_BYTES,
  needBytes,
  readLogBool,
  TAG_ADDR,
  TAG_BOOL,
  TAG_COUNT,
  TAG_DOUBLE,
  TAG_ENUM,
  TAG_FILE,
  TAG_FUNC,
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

const ENUM_TYPE = T.enum("");

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
 * Reads a payload up to its records. The record count is checked against
 * the bytes left (each value takes at least 9), so a caller may size
 * things by it.
 */
export function readLogBatchLayout(bytes: Uint8Array): LogBatchLayout {
  const r = createLogReader(bytes);
  try {
    const streamId = readName(r, "stream id");
    const writerName = readName(r, "writer name");
    const filterName = readName(r, "filter name");
    const path = readName(r, "path");
    const fieldCount = r.readUint32();
    if (fieldCount > MAX_LOG_FIELDS) {
      failAt(r, `field count ${fieldCount} exceeds ${MAX_LOG_FIELDS}`);
    }
    // Smallest field: bool, empty name, two i32 and a bool.
    needBytes(r, fieldCount * 14, `${fieldCount} fields`);
    const fields: LogColumn[] = [];
    const tags = new Int32Array(fieldCount);
    const subtags = new Int32Array(fieldCount);
    for (let i = 0; i < fieldCount; i++) {
      if (readLogBool(r)) readName(r, "secondary name");
      const name = readName(r, "field name");
      const tag = r.readInt32();
      const sub = r.readInt32();
      const optional = readLogBool(r);
      const type = fieldType(r, tag, sub);
      tags[i] = tag;
      subtags[i] = tag === TAG_TABLE || tag === TAG_VECTOR ? sub : 0;
      fields.push(Object.freeze({ name, type, optional }));
    }
    const recordCount = r.readUint32();
    // Smallest value: i32 type, i32 subtype, bool present.
    needBytes(r, recordCount * fieldCount * 9, `${recordCount} records`);
    if (fieldCount === 0 && recordCount > 0) failAt(r, `${recordCount} records without fields`);
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
    throw asLogDecodeError(r, err);
  }
}

function fieldType(r: ByteReader, tag: number, sub: number): ZeekType {
  if (tag === TAG_TABLE) return T.set(atomicType(r, sub));
  if (tag === TAG_VECTOR) return T.vector(atomicType(r, sub));
  return atomicType(r, tag);
}

function atomicType(r: ByteReader, tag: number): ZeekType {
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
      return failAt(r, `unsupported type tag ${tag}`);
  }
}

/** A bounded name, which must be UTF-8. */
function readName(r: ByteReader, what: string): string {
  const n = r.readUint32();
  if (n > MAX_LOG_NAME_BYTES) failAt(r, `${what} of ${n} bytes exceeds ${MAX_LOG_NAME_BYTES}`);
  needBytes(r, n, what);
  const text = r.readUtf8(n);
  if (typeof text !== "string") failAt(r, `${what} is not UTF-8`);
  return text;
}
