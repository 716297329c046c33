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
 * This file holds what the encoder, the layout scan and the decoders share:
 * the type tags, the names and limits, the errors, and the reads every
 * part of a batch is made of.
 *
 * @module
 */

import { ByteReader, type ZeekValue } from "../../zeek/mod.ts";
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

/** The tags as constants, for the switches of the hot loops. */
export const {
  bool: TAG_BOOL,
  int: TAG_INT,
  count: TAG_COUNT,
  double: TAG_DOUBLE,
  time: TAG_TIME,
  interval: TAG_INTERVAL,
  string: TAG_STRING,
  enum: TAG_ENUM,
  port: TAG_PORT,
  addr: TAG_ADDR,
  subnet: TAG_SUBNET,
  table: TAG_TABLE,
  func: TAG_FUNC,
  file: TAG_FILE,
  vector: TAG_VECTOR,
} = ZEEK_TYPE_TAG;

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

/** A reader whose short reads are `LogDecodeError`s. */
export function createLogReader(bytes: Uint8Array, offset = 0): ByteReader {
  return new ByteReader(bytes, offset, logReadFailure);
}

function logReadFailure(offset: number, expected: string, found: string): LogDecodeError {
  return new LogDecodeError(offset, `expected ${expected}, found ${found}`);
}

/** Throws `LogDecodeError` at the reader's offset. */
export function failAt(reader: ByteReader, what: string): never {
  throw new LogDecodeError(reader.offset, what);
}

/** Refuses `n` bytes (of `what`) the payload cannot hold. */
export function needBytes(reader: ByteReader, n: number, what: string): void {
  if (n > reader.remaining) {
    failAt(reader, `${what} need at least ${n} bytes, ${reader.remaining} left`);
  }
}

/** A bool byte, which must be 0 or 1. */
export function readLogBool(reader: ByteReader): boolean {
  const b = reader.readUint8();
  if (b > 1) failAt(reader, `bool byte is ${b}, not 0 or 1`);
  return b === 1;
}

/** Any error met while decoding, as a `LogDecodeError` at the reader's offset. */
export function asLogDecodeError(reader: ByteReader, err: unknown): LogDecodeError {
  if (err instanceof LogDecodeError) return err;
  return new LogDecodeError(reader.offset, err instanceof Error ? err.message : String(err));
}
