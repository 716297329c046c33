/**
 * Decodes the records of a `zeek-bin-serializer` payload into rows of
 * JavaScript values (the layout is in `log_batch_format.ts`). A logger
 * writing ASCII renders the bytes directly instead (`AsciiTranscoder`);
 * this is for JSON writers, tests and tools.
 *
 * @module
 */

import {
  type ByteReader,
  formatAddr,
  formatSubnet,
  IPV4_PREFIX_OFFSET,
  PORT_PROTOS,
  type ZeekValue,
} from "../../zeek/mod.ts";
import {
  asLogDecodeError,
  createLogReader,
  type DecodedLogBatch,
  failAt,
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
import { type LogBatchLayout, readLogBatchLayout } from "./log_batch_layout.ts";

const SCRATCH = new Uint8Array(16);

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

/** Decodes the records of a payload whose layout `readLogBatchLayout` read. */
export function decodeLogRows(
  bytes: Uint8Array,
  layout: LogBatchLayout,
  options: DecodeOptions = {},
): ZeekValue[][] {
  const r = createLogReader(bytes, layout.recordsOffset);
  const raw = options.strings === "bytes";
  const { fields, tags, subtags, recordCount } = layout;
  const fieldCount = fields.length;
  try {
    const rows: ZeekValue[][] = new Array(recordCount);
    for (let k = 0; k < recordCount; k++) {
      const row = new Array<ZeekValue>(fieldCount);
      for (let i = 0; i < fieldCount; i++) {
        const tag = r.readInt32();
        r.readInt32();
        const present = readLogBool(r);
        if (tag !== tags[i]) {
          failAt(r, `value of field "${fields[i]!.name}" has type ${tag}, expected ${tags[i]}`);
        }
        if (!present) {
          row[i] = undefined;
          continue;
        }
        if (tag === TAG_TABLE || tag === TAG_VECTOR) {
          const count = readCount(r);
          needBytes(r, count * 9, `${count} container elements`);
          const sub = subtags[i]!;
          const arr = new Array<ZeekValue>(count);
          for (let j = 0; j < count; j++) {
            const et = r.readInt32();
            r.readInt32();
            const ep = readLogBool(r);
            if (et !== sub) {
              failAt(r, `element of field "${fields[i]!.name}" has type ${et}, expected ${sub}`);
            }
            if (!ep && tag === TAG_TABLE) {
              failAt(r, `set element of field "${fields[i]!.name}" is unset`);
            }
            arr[j] = ep ? decodeAtomic(r, et, raw) : undefined;
          }
          row[i] = arr;
        } else {
          row[i] = decodeAtomic(r, tag, raw);
        }
      }
      rows[k] = row;
    }
    if (r.remaining !== 0) {
      failAt(r, `${r.remaining} bytes left over after ${recordCount} records`);
    }
    return rows;
  } catch (err) {
    throw asLogDecodeError(r, err);
  }
}

/** Port texts by protocol code and number, made once each: ports repeat a lot. */
const PORT_TEXT: readonly (string | undefined)[][] = PORT_PROTOS.map(() => []);
const OCTET_TEXT: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

function decodeAtomic(r: ByteReader, tag: number, raw: boolean): ZeekValue {
  switch (tag) {
    case TAG_BOOL:
      return r.readInt64() !== 0;
    case TAG_INT:
      return r.readInt64();
    case TAG_COUNT:
      return r.readUint64();
    case TAG_DOUBLE:
    case TAG_TIME:
    case TAG_INTERVAL:
      return r.readFloat64();
    case TAG_STRING:
    case TAG_ENUM:
    case TAG_FUNC:
    case TAG_FILE:
      return readText(r, raw);
    case TAG_PORT: {
      const port = r.readUint64();
      const proto = r.readInt32();
      if (typeof port !== "number" || port > 0xffff) failAt(r, `port number ${port} out of range`);
      const texts = PORT_TEXT[proto];
      if (texts === undefined) failAt(r, `port protocol ${proto} is not 0..3`);
      return texts[port] ??= `${port}/${PORT_PROTOS[proto]}`;
    }
    case TAG_ADDR:
      return readAddrText(r);
    case TAG_SUBNET: {
      const length = r.readUint8();
      const v4 = readFamilyAddr(r, SCRATCH);
      if (v4 ? length < IPV4_PREFIX_OFFSET || length > 128 : length > 128) {
        failAt(r, `subnet length ${length} is out of range for an IPv${v4 ? 4 : 6} network`);
      }
      return formatSubnet(SCRATCH, length, 0);
    }
    default:
      return failAt(r, `unsupported type tag ${tag}`);
  }
}

/** A container's i64 element count, which must be a sane non-negative number. */
function readCount(r: ByteReader): number {
  const n = r.readInt64();
  if (typeof n !== "number" || n < 0 || n > r.remaining) {
    failAt(r, `container size ${n} is impossible here`);
  }
  return n;
}

/** A string value: text when it is UTF-8 (else a copy of the raw bytes), or a view when `raw`. */
function readText(r: ByteReader, raw: boolean): string | Uint8Array {
  const max = r.remaining;
  const n = r.readUint32();
  if (n > max) failAt(r, `a string of ${n} bytes exceeds ${max}`);
  needBytes(r, n, "a string");
  if (!raw) return r.readUtf8(n);
  const at = r.advance(n);
  return r.buffer.subarray(at, at + n);
}

/** An address as text; IPv4 is built from cached octets without a scratch copy. */
function readAddrText(r: ByteReader): string {
  if (r.peekUint8() === 4) {
    r.advance(1);
    needBytes(r, 4, "an IPv4 address");
    const at = r.advance(4);
    const b = r.buffer;
    return OCTET_TEXT[b[at]!]! + "." + OCTET_TEXT[b[at + 1]!]! + "." + OCTET_TEXT[b[at + 2]!]! +
      "." + OCTET_TEXT[b[at + 3]!]!;
  }
  readFamilyAddr(r, SCRATCH);
  return formatAddr(SCRATCH, 0);
}

/** Reads family + address into `out` (16 bytes, IPv4-mapped for IPv4); true for IPv4. */
function readFamilyAddr(r: ByteReader, out: Uint8Array): boolean {
  const family = r.readUint8();
  if (family === 4) {
    needBytes(r, 4, "an IPv4 address");
    const at = r.advance(4);
    out.fill(0, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    out.set(r.buffer.subarray(at, at + 4), 12);
    return true;
  }
  if (family === 6) {
    needBytes(r, 16, "an IPv6 address");
    const at = r.advance(16);
    out.set(r.buffer.subarray(at, at + 16), 0);
    return false;
  }
  return failAt(r, `address family ${family} is not 4 or 6`);
}
