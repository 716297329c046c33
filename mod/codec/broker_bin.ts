/**
 * broker-bin-v1, the binary value encoding Zeek's cluster backends put in the
 * payload frame of every event message (ZeroMQ frame 4, format
 * `"broker-bin-v1"`).
 *
 * Every value is a tag byte and a body; numbers are big-endian; a varint
 * holds 7 bits per byte, low group first, 0x80 marking continuation:
 *
 * | tag | type | body |
 * |---|---|---|
 * | 0 | none | — |
 * | 1 | boolean | u8 |
 * | 2 | count | u64 |
 * | 3 | integer | i64 |
 * | 4 | real | f64 |
 * | 5 | string | varint length + bytes |
 * | 6 | address | 16 bytes, IPv4 as `::ffff:a.b.c.d` |
 * | 7 | subnet | 16-byte address + u8 prefix length in IPv6 bits |
 * | 8 | port | u16 number + u8 protocol (0 unknown, 1 tcp, 2 udp, 3 icmp) |
 * | 9 | timestamp | i64 nanoseconds since the epoch |
 * | 10 | timespan | i64 nanoseconds |
 * | 11 | enum-value | varint length + name (`"Cluster::WORKER"`) |
 * | 12 / 14 | set / vector | varint n + n values |
 * | 13 | table | varint n + n key, value pairs |
 *
 * An event is `vector[count 1 (format), count 1 (event), vector[string name,
 * vector args, vector metadata]]`; metadata is a vector of `[count key,
 * value]` pairs, key 1 being the network timestamp (a timestamp). Zeek 8
 * sends the metadata vector even when it is empty; Broker's two-field form
 * (no metadata element) is accepted on input and written when asked for
 * with `metadata: null`.
 *
 * Zeek types map onto these as Zeek's `src/broker/Data.cc` does: a record
 * is a vector of all its fields in declaration order with unset fields as
 * none, a composite index (a record key) is a vector, a pattern is
 * `vector[exact, anywhere]`, and `any` carries whatever its `TypedValue`
 * says. Records are positional, which is why decoding needs the declared
 * types; `decodeData` and `brokerDataToAny` decode without them.
 *
 * JavaScript values follow `mod/zeek/types.ts`: counts and ints are numbers,
 * or bigints beyond 2^53; times and intervals are seconds as floats,
 * rounded to the nearest nanosecond on the wire.
 *
 * Hot paths write into a reusable `ByteWriter` and read through a
 * `ByteReader` without allocating for scalars. Malformed input of any kind
 * ends in a `BrokerDecodeError`, never another exception, a hang or an
 * allocation larger than the input.
 *
 * @example
 * ```ts
 * const writer = new ByteWriter();
 * encodeEvent(writer, "Supervisor::node_status", ["TEST", 42], [T.string, T.count]);
 * const event = decodeEvent(writer.bytes(), () => [T.string, T.count]);
 * event.args; // ["TEST", 42]
 * ```
 *
 * @module
 */

import {
  isTypedValue,
  T,
  type TypedValue,
  typeName,
  type ZeekType,
  type ZeekValue,
} from "../../zeek/types.ts";
import {
  formatAddr,
  formatPort,
  formatSubnet,
  maskAddr,
  parseAddrInto,
  parsePortPacked,
  parseSubnetInto,
} from "../../zeek/addr.ts";
import {
  BrokerDecodeError,
  BrokerEncodeError,
  describeValue,
  rethrowWithPath,
} from "./codec_errors.ts";

/** Tag bytes of broker-bin-v1. */
export const BROKER_TAG = Object.freeze({
  none: 0,
  boolean: 1,
  count: 2,
  integer: 3,
  real: 4,
  string: 5,
  address: 6,
  subnet: 7,
  port: 8,
  timestamp: 9,
  timespan: 10,
  "enum-value": 11,
  set: 12,
  table: 13,
  vector: 14,
});

/** A tag's name; the same names are the `@data-type` of the JSON encoding. */
export type BrokerDataTag = keyof typeof BROKER_TAG;

const TAG_NAMES: readonly BrokerDataTag[] = Object.freeze([
  "none",
  "boolean",
  "count",
  "integer",
  "real",
  "string",
  "address",
  "subnet",
  "port",
  "timestamp",
  "timespan",
  "enum-value",
  "set",
  "table",
  "vector",
]);

/**
 * A decoded value without declared types, shaped like the wire. Times are
 * seconds; addresses, subnets and ports are text as in `mod/zeek/types.ts`.
 */
export type BrokerData =
  | { readonly tag: "none"; readonly value: undefined }
  | { readonly tag: "boolean"; readonly value: boolean }
  | { readonly tag: "count"; readonly value: number | bigint }
  | { readonly tag: "integer"; readonly value: number | bigint }
  | { readonly tag: "real"; readonly value: number }
  | { readonly tag: "string"; readonly value: string | Uint8Array }
  | { readonly tag: "address"; readonly value: string }
  | { readonly tag: "subnet"; readonly value: string }
  | { readonly tag: "port"; readonly value: string }
  | { readonly tag: "timestamp"; readonly value: number }
  | { readonly tag: "timespan"; readonly value: number }
  | { readonly tag: "enum-value"; readonly value: string }
  | { readonly tag: "set"; readonly value: readonly BrokerData[] }
  | { readonly tag: "table"; readonly value: readonly (readonly [BrokerData, BrokerData])[] }
  | { readonly tag: "vector"; readonly value: readonly BrokerData[] };

/**
 * One event metadata entry. Key 1 holds the network timestamp (seconds);
 * other values are `TypedValue`s.
 */
export interface EventMetadata {
  readonly key: number;
  readonly value: ZeekValue;
}

/** An event as decoded from the wire. */
export interface DecodedEvent {
  readonly name: string;
  readonly args: ZeekValue[];
  readonly metadata: EventMetadata[];
  /** False when the lookup did not know the event; `args` are then `TypedValue`s or `undefined`. */
  readonly declared: boolean;
}

/** Maps an event name to its declared argument types, or `undefined` when unknown. */
export type EventTypesLookup = (name: string) => readonly ZeekType[] | undefined;

/** The format version in an event's first element. */
export const FORMAT_VERSION = 1;
/** The message type of an event in its second element. */
export const MESSAGE_TYPE_EVENT = 1;
/** Metadata key of the network timestamp. */
export const METADATA_NETWORK_TIMESTAMP = 1;
/** Deepest nesting of containers the decoders accept (the event envelope counts 3). */
export const MAX_NESTING_DEPTH = 64;
/** Initial capacity of a `ByteWriter`. */
export const DEFAULT_WRITER_CAPACITY = 4096;

/** The type of enum values decoded without a declaration (the wire has no enum type name). */
export const UNKNOWN_ENUM: ZeekType = T.enum("");
const VECTOR_OF_ANY = T.vector(T.any);
const SET_OF_ANY = T.set(T.any);
const TABLE_OF_ANY = T.table(T.any, T.any);

const TWO_32 = 4294967296;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_64 = 18446744073709551616;
const TWO_63 = 9223372036854775808;
const MAX_VARINT_BYTES = 5;
const SHORT_ASCII = 32;
const ANYWHERE_PREFIX = "^?(.|\\n)*(";
const FORMAT = "broker-bin-v1";

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * A growable big-endian byte buffer, meant to be reused: `reset()` between
 * messages, `bytes()` to borrow what was written.
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(capacity = DEFAULT_WRITER_CAPACITY) {
    this.#buf = new Uint8Array(Math.max(16, capacity));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  /** The underlying buffer; valid until the next write that grows it. */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Forgets everything written; the capacity stays. */
  reset(): void {
    this.#pos = 0;
  }

  /** Drops everything after the first `length` bytes (to undo a failed write). */
  truncate(length: number): void {
    if (length < this.#pos) this.#pos = Math.max(0, length);
  }

  /** What was written, as a view borrowed until the next write or `reset()`. */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.#pos + n > this.#buf.length) this.#grow(n);
  }

  /** Reserves `n` bytes for the caller to fill in `buffer` and returns their offset. */
  claim(n: number): number {
    this.reserve(n);
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  writeUint8(value: number): void {
    if (this.#pos >= this.#buf.length) this.#grow(1);
    this.#buf[this.#pos++] = value;
  }

  writeUint16(value: number): void {
    this.reserve(2);
    this.#view.setUint16(this.#pos, value);
    this.#pos += 2;
  }

  writeUint32(value: number): void {
    this.reserve(4);
    this.#view.setUint32(this.#pos, value);
    this.#pos += 4;
  }

  writeInt32(value: number): void {
    this.reserve(4);
    this.#view.setInt32(this.#pos, value);
    this.#pos += 4;
  }

  /** Writes a u64 from a safe non-negative integer or a bigint (not checked here). */
  writeUint64(value: number | bigint): void {
    this.reserve(8);
    if (typeof value === "bigint") {
      this.#view.setBigUint64(this.#pos, value);
    } else {
      this.#view.setUint32(this.#pos, Math.floor(value / TWO_32));
      this.#view.setUint32(this.#pos + 4, value >>> 0);
    }
    this.#pos += 8;
  }

  /** Writes an i64 from a safe integer or a bigint (not checked here). */
  writeInt64(value: number | bigint): void {
    this.reserve(8);
    if (typeof value === "bigint") {
      this.#view.setBigInt64(this.#pos, value);
    } else {
      const hi = Math.floor(value / TWO_32);
      this.#view.setInt32(this.#pos, hi);
      this.#view.setUint32(this.#pos + 4, value - hi * TWO_32);
    }
    this.#pos += 8;
  }

  /** Writes an i64 given as its signed high and unsigned low 32 bits. */
  writeInt64Parts(hi: number, lo: number): void {
    this.reserve(8);
    this.#view.setInt32(this.#pos, hi);
    this.#view.setUint32(this.#pos + 4, lo);
    this.#pos += 8;
  }

  writeFloat64(value: number): void {
    this.reserve(8);
    this.#view.setFloat64(this.#pos, value);
    this.#pos += 8;
  }

  /** Writes a varint of a value in 0..2^32-1. */
  writeVarint(value: number): void {
    this.reserve(MAX_VARINT_BYTES);
    const buf = this.#buf;
    let pos = this.#pos;
    let rest = value >>> 0;
    while (rest >= 0x80) {
      buf[pos++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    buf[pos++] = rest;
    this.#pos = pos;
  }

  writeBytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  /** Writes `text` as UTF-8 without a length and returns the byte count. */
  writeUtf8(text: string): number {
    this.reserve(text.length * 3);
    const { written } = utf8Encoder.encodeInto(text, this.#buf.subarray(this.#pos));
    this.#pos += written;
    return written;
  }

  /** Writes `text` as a varint byte length and its UTF-8 bytes (Broker's string body). */
  writeVarintString(text: string): void {
    const length = text.length;
    this.reserve(MAX_VARINT_BYTES + length * 3);
    const buf = this.#buf;
    const start = this.#pos;
    this.writeVarint(length);
    let pos = this.#pos;
    for (let i = 0; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        this.#pos = start;
        this.#writeVarintUtf8(text);
        return;
      }
      buf[pos++] = c;
    }
    this.#pos = pos;
  }

  /** Overwrites a u32 at `offset` (e.g. a count known only after the items). */
  setUint32At(offset: number, value: number): void {
    this.#view.setUint32(offset, value);
  }

  #writeVarintUtf8(text: string): void {
    const start = this.#pos;
    const room = varintSize(text.length * 3);
    const { written } = utf8Encoder.encodeInto(text, this.#buf.subarray(start + room));
    const needed = varintSize(written);
    if (needed !== room) {
      this.#buf.copyWithin(start + needed, start + room, start + room + written);
    }
    this.writeVarint(written);
    this.#pos = start + needed + written;
  }

  #grow(n: number): void {
    const capacity = Math.max(this.#buf.length * 2, this.#pos + n);
    const next = new Uint8Array(capacity);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
}

function varintSize(value: number): number {
  let size = 1;
  for (let rest = value >>> 7; rest !== 0; rest >>>= 7) size++;
  return size;
}

/**
 * A bounds-checked big-endian cursor over a byte array. Every read past the
 * end throws `BrokerDecodeError` naming the offset.
 */
export class ByteReader {
  #buf: Uint8Array;
  #view: DataView;
  #pos: number;
  #end: number;

  constructor(bytes: Uint8Array) {
    this.#buf = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = 0;
    this.#end = bytes.length;
  }

  /** Offset of the next byte. */
  get offset(): number {
    return this.#pos;
  }

  /** Bytes left. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  /** The bytes being read (for in-place decoding after `advance`). */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** A view of the same bytes (offsets as in `buffer`). */
  get view(): DataView {
    return this.#view;
  }

  /** Consumes `n` bytes and returns the offset of the first. */
  advance(n: number): number {
    const at = this.#pos;
    if (n > this.#end - at) throw this.#truncated(n);
    this.#pos = at + n;
    return at;
  }

  /** The next byte without consuming it, or -1 at the end. */
  peekUint8(): number {
    return this.#pos < this.#end ? this.#buf[this.#pos] ?? -1 : -1;
  }

  readUint8(): number {
    if (this.#pos >= this.#end) throw this.#truncated(1);
    return this.#buf[this.#pos++] ?? 0;
  }

  readUint16(): number {
    return this.#view.getUint16(this.advance(2));
  }

  readUint32(): number {
    return this.#view.getUint32(this.advance(4));
  }

  readInt32(): number {
    return this.#view.getInt32(this.advance(4));
  }

  /** A u64: a number when it is at most 2^53-1, else a bigint. */
  readUint64(): number | bigint {
    const at = this.advance(8);
    const hi = this.#view.getUint32(at);
    if (hi < 0x200000) return hi * TWO_32 + this.#view.getUint32(at + 4);
    return this.#view.getBigUint64(at);
  }

  /** An i64: a number when it is a safe integer, else a bigint. */
  readInt64(): number | bigint {
    const at = this.advance(8);
    const value = this.#view.getInt32(at) * TWO_32 + this.#view.getUint32(at + 4);
    return Number.isSafeInteger(value) ? value : this.#view.getBigInt64(at);
  }

  readFloat64(): number {
    return this.#view.getFloat64(this.advance(8));
  }

  /** A varint of at most 5 bytes and 2^32-1. */
  readVarint(): number {
    const start = this.#pos;
    let value = 0;
    let shift = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const byte = this.readUint8();
      value += (byte & 0x7f) * shift;
      if (byte < 0x80) {
        if (value >= TWO_32) break;
        return value;
      }
      shift *= 128;
    }
    throw new BrokerDecodeError({
      format: FORMAT,
      offset: start,
      expected: "a varint below 2^32 (at most 5 bytes)",
      found: "a longer one",
    });
  }

  /** `n` bytes as text: a string when they are UTF-8, else a copy of the bytes. */
  readUtf8(n: number): string | Uint8Array {
    const start = this.advance(n);
    const buf = this.#buf;
    const end = start + n;
    if (n <= SHORT_ASCII) {
      let text = "";
      let i = start;
      for (; i < end; i++) {
        const byte = buf[i] ?? 0;
        if (byte >= 0x80) break;
        text += String.fromCharCode(byte);
      }
      if (i === end) return text;
    }
    try {
      return utf8Decoder.decode(buf.subarray(start, end));
    } catch {
      return buf.slice(start, end);
    }
  }

  #truncated(n: number): BrokerDecodeError {
    return new BrokerDecodeError({
      format: FORMAT,
      offset: this.#pos,
      expected: `${n} more byte${n === 1 ? "" : "s"}`,
      found: this.#pos >= this.#end ? "the end of the data" : `only ${this.#end - this.#pos}`,
    });
  }
}

let nanosHi = 0;
let nanosLo = 0;

/**
 * Splits `seconds` rounded to the nearest nanosecond into the signed high
 * and unsigned low 32 bits of an i64 (in `nanosHi`, `nanosLo`). Exact
 * integer arithmetic in doubles: a product like seconds * 1e9 would lose
 * the low bits of present-day timestamps. False when out of i64 range.
 */
function splitNanos(seconds: number): boolean {
  if (!(seconds > -9223372037 && seconds < 9223372037)) return false;
  let whole = Math.floor(seconds);
  let fraction = Math.round((seconds - whole) * 1e9);
  if (fraction === 1e9) {
    whole += 1;
    fraction = 0;
  }
  const a = Math.floor(whole / 65536);
  const bigPart = a * 1e9;
  const smallPart = (whole - a * 65536) * 1e9 + fraction;
  const hi16 = Math.floor(bigPart / 65536);
  const low = (bigPart - hi16 * 65536) * 65536 + smallPart;
  const carry = Math.floor(low / TWO_32);
  nanosLo = low - carry * TWO_32;
  nanosHi = hi16 + carry;
  return nanosHi >= -2147483648 && nanosHi <= 2147483647;
}

/** The double nearest to (hi·2^32 + lo) / 1e9, by exact long division. */
function nanosPartsToSeconds(hi: number, lo: number): number {
  const direct = hi * TWO_32 + lo;
  if (Number.isSafeInteger(direct)) return direct / 1e9;
  let high = hi;
  let low = lo;
  const negative = high < 0;
  if (negative) {
    if (low === 0) {
      high = -high;
    } else {
      high = -high - 1;
      low = TWO_32 - low;
    }
  }
  const q0 = Math.floor(high / 1e9);
  const r0 = high - q0 * 1e9;
  const x1 = r0 * 65536 + (low >>> 16);
  const q1 = Math.floor(x1 / 1e9);
  const r1 = x1 - q1 * 1e9;
  const x2 = r1 * 65536 + (low & 0xffff);
  const q2 = Math.floor(x2 / 1e9);
  const r2 = x2 - q2 * 1e9;
  const seconds = q0 * TWO_32 + q1 * 65536 + q2 + r2 / 1e9;
  return negative ? -seconds : seconds;
}

/** Seconds rounded to whole nanoseconds as the wire carries them; `RangeError` beyond i64. */
export function secondsToNanos(seconds: number): bigint {
  if (!splitNanos(seconds)) {
    throw new RangeError(`Cannot convert ${seconds} s to nanoseconds: outside the i64 range`);
  }
  return (BigInt(nanosHi) << 32n) | BigInt(nanosLo);
}

/** The seconds nearest to `nanos` (an i64). */
export function nanosToSeconds(nanos: bigint): number {
  const wrapped = BigInt.asIntN(64, nanos);
  return nanosPartsToSeconds(Number(wrapped >> 32n), Number(wrapped & 0xffffffffn));
}

function encodeMismatch(type: ZeekType, value: unknown): BrokerEncodeError {
  return new BrokerEncodeError(typeName(type), describeValue(value));
}

function writeCount(writer: ByteWriter, value: ZeekValue, type: ZeekType): void {
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 0) {
      if (value <= MAX_SAFE) return writer.writeUint64(value);
      if (value < TWO_64) return writer.writeUint64(BigInt(value));
    }
  } else if (typeof value === "bigint" && value >= 0n && value < 0x10000000000000000n) {
    return writer.writeUint64(value);
  }
  throw encodeMismatch(type, value);
}

function writeInteger(writer: ByteWriter, value: ZeekValue, type: ZeekType): void {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return writer.writeInt64(value);
    if (Number.isInteger(value) && value >= -TWO_63 && value < TWO_63) {
      return writer.writeInt64(BigInt(value));
    }
  } else if (
    typeof value === "bigint" && value >= -0x8000000000000000n && value < 0x8000000000000000n
  ) {
    return writer.writeInt64(value);
  }
  throw encodeMismatch(type, value);
}

function writeNanos(writer: ByteWriter, value: ZeekValue, type: ZeekType): void {
  if (typeof value !== "number" || !splitNanos(value)) throw encodeMismatch(type, value);
  writer.writeInt64Parts(nanosHi, nanosLo);
}

function writeString(writer: ByteWriter, value: string | Uint8Array): void {
  writer.writeUint8(BROKER_TAG.string);
  if (typeof value === "string") {
    writer.writeVarintString(value);
  } else {
    writer.writeVarint(value.length);
    writer.writeBytes(value);
  }
}

/**
 * The pattern text Zeek pairs with an exact pattern for matching anywhere
 * in the input: `^?(X)$?` goes with `^?(.|\n)*(X)`.
 */
export function patternAnywhereText(exact: string): string {
  const inner = exact.startsWith("^?(") && exact.endsWith(")$?") && exact.length >= 6
    ? exact.slice(3, -3)
    : exact;
  return `${ANYWHERE_PREFIX}${inner})`;
}

/** True when `value` is a plain object, i.e. can be a record value. */
export function isRecordValue(
  value: ZeekValue,
): value is { [field: string]: ZeekValue | undefined } {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Map) && !(value instanceof Uint8Array);
}

/**
 * Writes `value` as a value of Zeek type `type`. Throws `BrokerEncodeError`
 * (naming the position inside `value`) when it does not fit; the writer then
 * holds a partial value, which `encodeEvent` undoes.
 */
export function encodeValue(writer: ByteWriter, value: ZeekValue, type: ZeekType): void {
  switch (type.kind) {
    case "bool":
      if (typeof value !== "boolean") throw encodeMismatch(type, value);
      writer.writeUint8(BROKER_TAG.boolean);
      writer.writeUint8(value ? 1 : 0);
      return;
    case "count":
      writer.writeUint8(BROKER_TAG.count);
      return writeCount(writer, value, type);
    case "int":
      writer.writeUint8(BROKER_TAG.integer);
      return writeInteger(writer, value, type);
    case "double":
      if (typeof value !== "number") throw encodeMismatch(type, value);
      writer.writeUint8(BROKER_TAG.real);
      return writer.writeFloat64(value);
    case "time":
      writer.writeUint8(BROKER_TAG.timestamp);
      return writeNanos(writer, value, type);
    case "interval":
      writer.writeUint8(BROKER_TAG.timespan);
      return writeNanos(writer, value, type);
    case "string":
      if (typeof value !== "string" && !(value instanceof Uint8Array)) {
        throw encodeMismatch(type, value);
      }
      return writeString(writer, value);
    case "addr": {
      if (typeof value !== "string") throw encodeMismatch(type, value);
      const at = writer.claim(17);
      writer.buffer[at] = BROKER_TAG.address;
      if (!parseAddrInto(value, writer.buffer, at + 1)) throw encodeMismatch(type, value);
      return;
    }
    case "subnet": {
      if (typeof value !== "string") throw encodeMismatch(type, value);
      const at = writer.claim(18);
      const buffer = writer.buffer;
      buffer[at] = BROKER_TAG.subnet;
      const prefix = parseSubnetInto(value, buffer, at + 1);
      if (prefix < 0) throw encodeMismatch(type, value);
      buffer[at + 17] = prefix;
      return;
    }
    case "port": {
      const packed = typeof value === "string" ? parsePortPacked(value) : -1;
      if (packed < 0) throw encodeMismatch(type, value);
      writer.writeUint8(BROKER_TAG.port);
      writer.writeUint16(packed & 0xffff);
      writer.writeUint8(packed >>> 16);
      return;
    }
    case "enum":
      if (typeof value !== "string") throw encodeMismatch(type, value);
      writer.writeUint8(BROKER_TAG["enum-value"]);
      return writer.writeVarintString(value);
    case "pattern":
      if (typeof value !== "string") throw encodeMismatch(type, value);
      writer.writeUint8(BROKER_TAG.vector);
      writer.writeVarint(2);
      writeString(writer, value);
      return writeString(writer, patternAnywhereText(value));
    case "set":
    case "vector": {
      if (!Array.isArray(value)) throw encodeMismatch(type, value);
      writer.writeUint8(type.kind === "set" ? BROKER_TAG.set : BROKER_TAG.vector);
      writer.writeVarint(value.length);
      const of = type.of;
      for (let i = 0; i < value.length; i++) {
        try {
          encodeValue(writer, value[i], of);
        } catch (error) {
          rethrowWithPath(error, `[${i}]`);
        }
      }
      return;
    }
    case "table": {
      if (!(value instanceof Map)) throw encodeMismatch(type, value);
      writer.writeUint8(BROKER_TAG.table);
      writer.writeVarint(value.size);
      let i = 0;
      for (const [key, item] of value) {
        try {
          encodeValue(writer, key, type.key);
        } catch (error) {
          rethrowWithPath(error, `[${i}].key`);
        }
        try {
          encodeValue(writer, item, type.value);
        } catch (error) {
          rethrowWithPath(error, `[${i}].value`);
        }
        i++;
      }
      return;
    }
    case "record": {
      if (!isRecordValue(value)) throw encodeMismatch(type, value);
      const fields = type.fields;
      writer.writeUint8(BROKER_TAG.vector);
      writer.writeVarint(fields.length);
      for (let i = 0; i < fields.length; i++) {
        const field = fields[i]!;
        const item = value[field.name];
        if (item === undefined) {
          if (!field.optional) {
            throw new BrokerEncodeError(
              typeName(field.type),
              "undefined (the field is not optional)",
              field.name,
            );
          }
          writer.writeUint8(BROKER_TAG.none);
          continue;
        }
        try {
          encodeValue(writer, item, field.type);
        } catch (error) {
          rethrowWithPath(error, field.name);
        }
      }
      return;
    }
    case "any":
      if (value === undefined) return writer.writeUint8(BROKER_TAG.none);
      if (!isTypedValue(value)) {
        throw new BrokerEncodeError(
          "a TypedValue ({ type, value }) in an any slot",
          describeValue(value),
        );
      }
      return encodeValue(writer, value.value, value.type);
  }
}

function writeMetadata(writer: ByteWriter, metadata: readonly EventMetadata[]): void {
  writer.writeUint8(BROKER_TAG.vector);
  writer.writeVarint(metadata.length);
  for (let i = 0; i < metadata.length; i++) {
    const entry = metadata[i]!;
    writer.writeUint8(BROKER_TAG.vector);
    writer.writeVarint(2);
    try {
      writer.writeUint8(BROKER_TAG.count);
      writeCount(writer, entry.key, T.count);
      encodeValue(writer, entry.value, entry.key === METADATA_NETWORK_TIMESTAMP ? T.time : T.any);
    } catch (error) {
      rethrowWithPath(error, `metadata[${i}]`);
    }
  }
}

/**
 * Appends a whole event message. `metadata` omitted or empty writes an
 * empty metadata vector (what Zeek 8 sends); `null` writes none at all
 * (Broker's two-field event). On error nothing is left behind in `writer`.
 */
export function encodeEvent(
  writer: ByteWriter,
  name: string,
  args: readonly ZeekValue[],
  argTypes: readonly ZeekType[],
  metadata?: readonly EventMetadata[] | null,
): void {
  const start = writer.length;
  try {
    if (args.length !== argTypes.length) {
      throw new BrokerEncodeError(
        `${argTypes.length} argument${argTypes.length === 1 ? "" : "s"} (${
          argTypes.map(typeName).join(", ")
        })`,
        `${args.length}`,
        `event ${name}`,
      );
    }
    writer.writeUint8(BROKER_TAG.vector);
    writer.writeVarint(3);
    writer.writeUint8(BROKER_TAG.count);
    writer.writeUint64(FORMAT_VERSION);
    writer.writeUint8(BROKER_TAG.count);
    writer.writeUint64(MESSAGE_TYPE_EVENT);
    writer.writeUint8(BROKER_TAG.vector);
    writer.writeVarint(metadata === null ? 2 : 3);
    writeString(writer, name);
    writer.writeUint8(BROKER_TAG.vector);
    writer.writeVarint(args.length);
    for (let i = 0; i < args.length; i++) {
      try {
        encodeValue(writer, args[i], argTypes[i]!);
      } catch (error) {
        rethrowWithPath(error, `args[${i}]`);
      }
    }
    if (metadata !== null) writeMetadata(writer, metadata ?? []);
  } catch (error) {
    writer.truncate(start);
    throw error;
  }
}

/** `encodeEvent` into a fresh array, for callers outside hot paths. */
export function encodeEventToBytes(
  name: string,
  args: readonly ZeekValue[],
  argTypes: readonly ZeekType[],
  metadata?: readonly EventMetadata[] | null,
): Uint8Array {
  const writer = new ByteWriter(256);
  encodeEvent(writer, name, args, argTypes, metadata);
  return writer.bytes().slice();
}

function tagName(tag: number): string {
  return TAG_NAMES[tag] ?? `unknown tag 0x${tag.toString(16).padStart(2, "0")}`;
}

function decodeMismatch(offset: number, expected: string, found: string): BrokerDecodeError {
  return new BrokerDecodeError({ format: FORMAT, offset, expected, found });
}

function wrongTag(offset: number, type: ZeekType, tag: number): BrokerDecodeError {
  return decodeMismatch(offset, typeName(type), tagName(tag));
}

function tooDeep(offset: number): BrokerDecodeError {
  return decodeMismatch(offset, `at most ${MAX_NESTING_DEPTH} nested containers`, "deeper nesting");
}

/** Reads an element count and refuses counts the remaining bytes cannot hold. */
function readElementCount(reader: ByteReader, bytesPerElement: number): number {
  const at = reader.offset;
  const count = reader.readVarint();
  if (count * bytesPerElement > reader.remaining) {
    throw decodeMismatch(
      at,
      `at most ${
        Math.floor(reader.remaining / bytesPerElement)
      } elements in the ${reader.remaining} bytes left`,
      `a count of ${count}`,
    );
  }
  return count;
}

function readText(reader: ByteReader): string | Uint8Array {
  const at = reader.offset;
  const length = reader.readVarint();
  if (length > reader.remaining) {
    throw decodeMismatch(at, `at most ${reader.remaining} bytes of text`, `a length of ${length}`);
  }
  return reader.readUtf8(length);
}

function readUtf8Text(reader: ByteReader, what: string): string {
  const at = reader.offset;
  const text = readText(reader);
  if (typeof text !== "string") throw decodeMismatch(at, `${what} in UTF-8`, "invalid UTF-8");
  return text;
}

function readNanosAsSeconds(reader: ByteReader): number {
  const at = reader.advance(8);
  const view = reader.view;
  return nanosPartsToSeconds(view.getInt32(at), view.getUint32(at + 4));
}

function readAddrText(reader: ByteReader): string {
  return formatAddr(reader.buffer, reader.advance(16));
}

const subnetScratch = new Uint8Array(16);

function readSubnetText(reader: ByteReader): string {
  const at = reader.advance(17);
  const buffer = reader.buffer;
  const prefix = buffer[at + 16] ?? 0;
  if (prefix > 128) throw decodeMismatch(at + 16, "a prefix length of at most 128", `${prefix}`);
  subnetScratch.set(buffer.subarray(at, at + 16));
  maskAddr(subnetScratch, 0, prefix);
  return formatSubnet(subnetScratch, prefix);
}

function readPortText(reader: ByteReader): string {
  const at = reader.advance(3);
  const buffer = reader.buffer;
  const proto = buffer[at + 2] ?? 0;
  if (proto > 3) throw decodeMismatch(at + 2, "a port protocol of 0 to 3", `${proto}`);
  return formatPort(((buffer[at] ?? 0) << 8) | (buffer[at + 1] ?? 0), proto);
}

/** Decodes the next value for declared `type`, straight from the bytes. */
function readTyped(reader: ByteReader, type: ZeekType, depth: number): ZeekValue {
  const at = reader.offset;
  if (type.kind === "any") return brokerDataToAny(readData(reader, depth));
  const tag = reader.readUint8();
  switch (type.kind) {
    case "bool":
      if (tag !== BROKER_TAG.boolean) throw wrongTag(at, type, tag);
      return reader.readUint8() !== 0;
    case "count":
      if (tag !== BROKER_TAG.count) throw wrongTag(at, type, tag);
      return reader.readUint64();
    case "int":
      if (tag !== BROKER_TAG.integer) throw wrongTag(at, type, tag);
      return reader.readInt64();
    case "double":
      if (tag !== BROKER_TAG.real) throw wrongTag(at, type, tag);
      return reader.readFloat64();
    case "time":
      if (tag !== BROKER_TAG.timestamp) throw wrongTag(at, type, tag);
      return readNanosAsSeconds(reader);
    case "interval":
      if (tag !== BROKER_TAG.timespan) throw wrongTag(at, type, tag);
      return readNanosAsSeconds(reader);
    case "string":
      if (tag !== BROKER_TAG.string) throw wrongTag(at, type, tag);
      return readText(reader);
    case "addr":
      if (tag !== BROKER_TAG.address) throw wrongTag(at, type, tag);
      return readAddrText(reader);
    case "subnet":
      if (tag !== BROKER_TAG.subnet) throw wrongTag(at, type, tag);
      return readSubnetText(reader);
    case "port":
      if (tag !== BROKER_TAG.port) throw wrongTag(at, type, tag);
      return readPortText(reader);
    case "enum":
      if (tag !== BROKER_TAG["enum-value"]) throw wrongTag(at, type, tag);
      return readUtf8Text(reader, "an enum name");
    case "pattern": {
      if (tag !== BROKER_TAG.vector) throw wrongTag(at, type, tag);
      const countAt = reader.offset;
      const count = reader.readVarint();
      if (count !== 2) throw decodeMismatch(countAt, "2 elements (exact, anywhere)", `${count}`);
      const exact = readTyped(reader, T.string, depth + 1);
      readTyped(reader, T.string, depth + 1);
      return exact;
    }
    case "set":
    case "vector": {
      const expected = type.kind === "set" ? BROKER_TAG.set : BROKER_TAG.vector;
      if (tag !== expected) throw wrongTag(at, type, tag);
      if (depth >= MAX_NESTING_DEPTH) throw tooDeep(at);
      const count = readElementCount(reader, 1);
      const out: ZeekValue[] = [];
      for (let i = 0; i < count; i++) {
        try {
          out.push(readTyped(reader, type.of, depth + 1));
        } catch (error) {
          rethrowWithPath(error, `[${i}]`);
        }
      }
      return out;
    }
    case "table": {
      if (tag !== BROKER_TAG.table) throw wrongTag(at, type, tag);
      if (depth >= MAX_NESTING_DEPTH) throw tooDeep(at);
      const count = readElementCount(reader, 2);
      const out = new Map<ZeekValue, ZeekValue>();
      for (let i = 0; i < count; i++) {
        let key: ZeekValue;
        try {
          key = readTyped(reader, type.key, depth + 1);
        } catch (error) {
          rethrowWithPath(error, `[${i}].key`);
        }
        try {
          out.set(key, readTyped(reader, type.value, depth + 1));
        } catch (error) {
          rethrowWithPath(error, `[${i}].value`);
        }
      }
      return out;
    }
    case "record": {
      if (tag !== BROKER_TAG.vector) throw wrongTag(at, type, tag);
      if (depth >= MAX_NESTING_DEPTH) throw tooDeep(at);
      const fields = type.fields;
      const countAt = reader.offset;
      const count = reader.readVarint();
      if (count !== fields.length) {
        throw decodeMismatch(countAt, `${fields.length} fields of record ${type.name}`, `${count}`);
      }
      const out: { [field: string]: ZeekValue | undefined } = {};
      for (let i = 0; i < fields.length; i++) {
        const field = fields[i]!;
        if (reader.peekUint8() === BROKER_TAG.none) {
          if (!field.optional) {
            throw decodeMismatch(
              reader.offset,
              typeName(field.type),
              "none (the field is not optional)",
            )
              .prependPath(field.name);
          }
          reader.advance(1);
          out[field.name] = undefined;
          continue;
        }
        try {
          out[field.name] = readTyped(reader, field.type, depth + 1);
        } catch (error) {
          rethrowWithPath(error, field.name);
        }
      }
      return out;
    }
  }
}

const NONE_DATA: BrokerData = Object.freeze({ tag: "none", value: undefined });

/** Decodes the next value without declared types. */
function readData(reader: ByteReader, depth: number): BrokerData {
  const at = reader.offset;
  const tag = reader.readUint8();
  switch (tag) {
    case BROKER_TAG.none:
      return NONE_DATA;
    case BROKER_TAG.boolean:
      return { tag: "boolean", value: reader.readUint8() !== 0 };
    case BROKER_TAG.count:
      return { tag: "count", value: reader.readUint64() };
    case BROKER_TAG.integer:
      return { tag: "integer", value: reader.readInt64() };
    case BROKER_TAG.real:
      return { tag: "real", value: reader.readFloat64() };
    case BROKER_TAG.string:
      return { tag: "string", value: readText(reader) };
    case BROKER_TAG.address:
      return { tag: "address", value: readAddrText(reader) };
    case BROKER_TAG.subnet:
      return { tag: "subnet", value: readSubnetText(reader) };
    case BROKER_TAG.port:
      return { tag: "port", value: readPortText(reader) };
    case BROKER_TAG.timestamp:
      return { tag: "timestamp", value: readNanosAsSeconds(reader) };
    case BROKER_TAG.timespan:
      return { tag: "timespan", value: readNanosAsSeconds(reader) };
    case BROKER_TAG["enum-value"]:
      return { tag: "enum-value", value: readUtf8Text(reader, "an enum name") };
    case BROKER_TAG.set:
    case BROKER_TAG.vector: {
      if (depth >= MAX_NESTING_DEPTH) throw tooDeep(at);
      const count = readElementCount(reader, 1);
      const items: BrokerData[] = [];
      for (let i = 0; i < count; i++) {
        try {
          items.push(readData(reader, depth + 1));
        } catch (error) {
          rethrowWithPath(error, `[${i}]`);
        }
      }
      return tag === BROKER_TAG.set
        ? { tag: "set", value: items }
        : { tag: "vector", value: items };
    }
    case BROKER_TAG.table: {
      if (depth >= MAX_NESTING_DEPTH) throw tooDeep(at);
      const count = readElementCount(reader, 2);
      const entries: (readonly [BrokerData, BrokerData])[] = [];
      for (let i = 0; i < count; i++) {
        try {
          const key = readData(reader, depth + 1);
          entries.push([key, readData(reader, depth + 1)]);
        } catch (error) {
          rethrowWithPath(error, `[${i}]`);
        }
      }
      return { tag: "table", value: entries };
    }
    default:
      throw decodeMismatch(at, "a tag of 0 to 14", tagName(tag));
  }
}

function expectEnd(reader: ByteReader): void {
  if (reader.remaining !== 0) {
    throw decodeMismatch(reader.offset, "the end of the data", `${reader.remaining} more bytes`);
  }
}

/** Decodes a whole buffer holding one value of Zeek type `type`. */
export function decodeValue(bytes: Uint8Array, type: ZeekType): ZeekValue {
  const reader = new ByteReader(bytes);
  const value = readTyped(reader, type, 1);
  expectEnd(reader);
  return value;
}

/** Decodes a whole buffer holding one value, without declared types. */
export function decodeData(bytes: Uint8Array): BrokerData {
  const reader = new ByteReader(bytes);
  const data = readData(reader, 1);
  expectEnd(reader);
  return data;
}

/** Writes a decoded tree back in broker-bin-v1 (the inverse of `decodeData`). */
export function encodeData(writer: ByteWriter, data: BrokerData): void {
  switch (data.tag) {
    case "none":
      return writer.writeUint8(BROKER_TAG.none);
    case "boolean":
      return encodeValue(writer, data.value, T.bool);
    case "count":
      return encodeValue(writer, data.value, T.count);
    case "integer":
      return encodeValue(writer, data.value, T.int);
    case "real":
      return encodeValue(writer, data.value, T.double);
    case "string":
      return writeString(writer, data.value);
    case "address":
      return encodeValue(writer, data.value, T.addr);
    case "subnet":
      return encodeValue(writer, data.value, T.subnet);
    case "port":
      return encodeValue(writer, data.value, T.port);
    case "timestamp":
      return encodeValue(writer, data.value, T.time);
    case "timespan":
      return encodeValue(writer, data.value, T.interval);
    case "enum-value":
      return encodeValue(writer, data.value, UNKNOWN_ENUM);
    case "set":
    case "vector":
      writer.writeUint8(BROKER_TAG[data.tag]);
      writer.writeVarint(data.value.length);
      for (const item of data.value) encodeData(writer, item);
      return;
    case "table":
      writer.writeUint8(BROKER_TAG.table);
      writer.writeVarint(data.value.length);
      for (const [key, item] of data.value) {
        encodeData(writer, key);
        encodeData(writer, item);
      }
      return;
  }
}

/**
 * Gives a decoded tree the types its tags imply, as a `TypedValue` (none
 * becomes `undefined`): vectors become `vector[any]` of `TypedValue`s,
 * tables `table[any] of any`, enums an enum of unknown declaration. Encoding
 * the result as `any` writes the same tree again.
 */
export function brokerDataToAny(data: BrokerData): ZeekValue {
  switch (data.tag) {
    case "none":
      return undefined;
    case "boolean":
      return { type: T.bool, value: data.value };
    case "count":
      return { type: T.count, value: data.value };
    case "integer":
      return { type: T.int, value: data.value };
    case "real":
      return { type: T.double, value: data.value };
    case "string":
      return { type: T.string, value: data.value };
    case "address":
      return { type: T.addr, value: data.value };
    case "subnet":
      return { type: T.subnet, value: data.value };
    case "port":
      return { type: T.port, value: data.value };
    case "timestamp":
      return { type: T.time, value: data.value };
    case "timespan":
      return { type: T.interval, value: data.value };
    case "enum-value":
      return { type: UNKNOWN_ENUM, value: data.value };
    case "set":
      return { type: SET_OF_ANY, value: data.value.map(brokerDataToAny) };
    case "vector":
      return { type: VECTOR_OF_ANY, value: data.value.map(brokerDataToAny) };
    case "table": {
      const map = new Map<ZeekValue, ZeekValue>();
      for (const [key, item] of data.value) map.set(brokerDataToAny(key), brokerDataToAny(item));
      return { type: TABLE_OF_ANY, value: map } satisfies TypedValue;
    }
  }
}

function dataMismatch(type: ZeekType, data: BrokerData): BrokerDecodeError {
  return new BrokerDecodeError({ expected: typeName(type), found: data.tag });
}

/**
 * Converts a decoded tree to the JavaScript value of declared `type`, by the
 * same rules as the typed binary decoder. Throws `BrokerDecodeError` naming
 * the position when the tree does not fit.
 */
export function brokerDataToValue(data: BrokerData, type: ZeekType): ZeekValue {
  return dataToValue(data, type, 1);
}

function dataToValue(data: BrokerData, type: ZeekType, depth: number): ZeekValue {
  if (depth > MAX_NESTING_DEPTH) {
    throw new BrokerDecodeError({
      expected: `at most ${MAX_NESTING_DEPTH} nested containers`,
      found: "deeper nesting",
    });
  }
  switch (type.kind) {
    case "any":
      return brokerDataToAny(data);
    case "bool":
      if (data.tag !== "boolean") throw dataMismatch(type, data);
      return data.value;
    case "count":
      if (data.tag !== "count") throw dataMismatch(type, data);
      return data.value;
    case "int":
      if (data.tag !== "integer") throw dataMismatch(type, data);
      return data.value;
    case "double":
      if (data.tag !== "real") throw dataMismatch(type, data);
      return data.value;
    case "time":
      if (data.tag !== "timestamp") throw dataMismatch(type, data);
      return data.value;
    case "interval":
      if (data.tag !== "timespan") throw dataMismatch(type, data);
      return data.value;
    case "string":
      if (data.tag !== "string") throw dataMismatch(type, data);
      return data.value;
    case "addr":
      if (data.tag !== "address") throw dataMismatch(type, data);
      return data.value;
    case "subnet":
      if (data.tag !== "subnet") throw dataMismatch(type, data);
      return data.value;
    case "port":
      if (data.tag !== "port") throw dataMismatch(type, data);
      return data.value;
    case "enum":
      if (data.tag !== "enum-value") throw dataMismatch(type, data);
      return data.value;
    case "pattern": {
      if (data.tag !== "vector") throw dataMismatch(type, data);
      const [exact, anywhere] = data.value;
      if (data.value.length !== 2 || exact?.tag !== "string" || anywhere?.tag !== "string") {
        throw new BrokerDecodeError({
          expected: "a pattern as vector[string exact, string anywhere]",
          found: `a vector of ${data.value.length}`,
        });
      }
      return exact.value;
    }
    case "set":
    case "vector": {
      if (data.tag !== type.kind) throw dataMismatch(type, data);
      const out: ZeekValue[] = [];
      const items = data.value;
      for (let i = 0; i < items.length; i++) {
        try {
          out.push(dataToValue(items[i]!, type.of, depth + 1));
        } catch (error) {
          rethrowWithPath(error, `[${i}]`);
        }
      }
      return out;
    }
    case "table": {
      if (data.tag !== "table") throw dataMismatch(type, data);
      const out = new Map<ZeekValue, ZeekValue>();
      const entries = data.value;
      for (let i = 0; i < entries.length; i++) {
        const [key, item] = entries[i]!;
        let keyValue: ZeekValue;
        try {
          keyValue = dataToValue(key, type.key, depth + 1);
        } catch (error) {
          rethrowWithPath(error, `[${i}].key`);
        }
        try {
          out.set(keyValue, dataToValue(item, type.value, depth + 1));
        } catch (error) {
          rethrowWithPath(error, `[${i}].value`);
        }
      }
      return out;
    }
    case "record": {
      if (data.tag !== "vector") throw dataMismatch(type, data);
      const fields = type.fields;
      if (data.value.length !== fields.length) {
        throw new BrokerDecodeError({
          expected: `${fields.length} fields of record ${type.name}`,
          found: `${data.value.length}`,
        });
      }
      const out: { [field: string]: ZeekValue | undefined } = {};
      for (let i = 0; i < fields.length; i++) {
        const field = fields[i]!;
        const item = data.value[i]!;
        if (item.tag === "none") {
          if (!field.optional) {
            throw new BrokerDecodeError({
              path: field.name,
              expected: typeName(field.type),
              found: "none (the field is not optional)",
            });
          }
          out[field.name] = undefined;
          continue;
        }
        try {
          out[field.name] = dataToValue(item, field.type, depth + 1);
        } catch (error) {
          rethrowWithPath(error, field.name);
        }
      }
      return out;
    }
  }
}

function readEnvelopeVector(reader: ByteReader, minimum: number, what: string): number {
  const at = reader.offset;
  const tag = reader.readUint8();
  if (tag !== BROKER_TAG.vector) throw decodeMismatch(at, what, tagName(tag));
  const countAt = reader.offset;
  const count = readElementCount(reader, 1);
  if (count < minimum) {
    throw decodeMismatch(countAt, `${what} of at least ${minimum} elements`, `${count}`);
  }
  return count;
}

function readEnvelopeCount(reader: ByteReader, expected: number, what: string): void {
  const at = reader.offset;
  const tag = reader.readUint8();
  if (tag !== BROKER_TAG.count) throw decodeMismatch(at, what, tagName(tag));
  const value = reader.readUint64();
  if (value !== expected) throw decodeMismatch(at, what, `count ${value}`);
}

function skipData(reader: ByteReader, count: number, depth: number): void {
  for (let i = 0; i < count; i++) readData(reader, depth);
}

function readMetadata(reader: ByteReader): EventMetadata[] {
  const count = readEnvelopeVector(reader, 0, "event metadata (vector)");
  const metadata: EventMetadata[] = [];
  for (let i = 0; i < count; i++) {
    try {
      const at = reader.offset;
      const tag = reader.readUint8();
      if (tag !== BROKER_TAG.vector) {
        throw decodeMismatch(at, "a [key, value] vector", tagName(tag));
      }
      const lengthAt = reader.offset;
      const length = reader.readVarint();
      if (length !== 2) throw decodeMismatch(lengthAt, "a [key, value] vector of 2", `${length}`);
      const keyAt = reader.offset;
      const key = readTyped(reader, T.count, 4);
      if (typeof key !== "number") {
        throw decodeMismatch(keyAt, "a metadata key below 2^53", `${key}`);
      }
      const value = key === METADATA_NETWORK_TIMESTAMP
        ? readTyped(reader, T.time, 4)
        : brokerDataToAny(readData(reader, 4));
      metadata.push({ key, value });
    } catch (error) {
      rethrowWithPath(error, `metadata[${i}]`);
    }
  }
  return metadata;
}

/**
 * Decodes a whole event message. Arguments of an event `lookup` knows are
 * checked against its declared types (count and each type); those of an
 * unknown event are decoded untyped as `TypedValue`s so they can still be
 * forwarded or logged. Throws `BrokerDecodeError` on anything else.
 */
export function decodeEvent(bytes: Uint8Array, lookup: EventTypesLookup): DecodedEvent {
  const reader = new ByteReader(bytes);
  const outer = readEnvelopeVector(reader, 3, "an event message (vector)");
  readEnvelopeCount(reader, FORMAT_VERSION, `format version count ${FORMAT_VERSION}`);
  readEnvelopeCount(reader, MESSAGE_TYPE_EVENT, `message type count ${MESSAGE_TYPE_EVENT} (event)`);
  const fields = readEnvelopeVector(reader, 2, "the event's [name, args, metadata] vector");
  const nameAt = reader.offset;
  const name = readTyped(reader, T.string, 3);
  if (typeof name !== "string") {
    throw decodeMismatch(nameAt, "an event name in UTF-8", "invalid UTF-8");
  }
  const types = lookup(name);
  const argsAt = reader.offset;
  const argCount = readEnvelopeVector(reader, 0, "the event's argument vector");
  if (types !== undefined && types.length !== argCount) {
    throw decodeMismatch(
      argsAt,
      `${types.length} argument${types.length === 1 ? "" : "s"} of ${name} (${
        types.map(typeName).join(", ")
      })`,
      `${argCount}`,
    ).prependPath("args");
  }
  const args: ZeekValue[] = [];
  for (let i = 0; i < argCount; i++) {
    try {
      args.push(
        types === undefined
          ? brokerDataToAny(readData(reader, 4))
          : readTyped(reader, types[i]!, 4),
      );
    } catch (error) {
      rethrowWithPath(error, `args[${i}]`);
    }
  }
  const metadata = fields >= 3 ? readMetadata(reader) : [];
  skipData(reader, fields - 3, 3);
  skipData(reader, outer - 3, 2);
  expectEnd(reader);
  return { name, args, metadata, declared: types !== undefined };
}

function envelopeMismatch(
  path: string,
  expected: string,
  data: BrokerData | undefined,
): BrokerDecodeError {
  const found = data === undefined
    ? "nothing"
    : data.tag === "vector" || data.tag === "set" || data.tag === "table"
    ? `${data.tag} of ${data.value.length}`
    : data.tag === "count"
    ? `count ${data.value}`
    : data.tag;
  return new BrokerDecodeError({ path, expected, found });
}

function envelopeVector(
  data: BrokerData | undefined,
  minimum: number,
  path: string,
  what: string,
): readonly BrokerData[] {
  if (data?.tag !== "vector" || data.value.length < minimum) {
    throw envelopeMismatch(path, `${what} (a vector of at least ${minimum})`, data);
  }
  return data.value;
}

function dataToMetadata(data: BrokerData | undefined): EventMetadata[] {
  const entries = envelopeVector(data, 0, "metadata", "event metadata");
  const metadata: EventMetadata[] = [];
  for (let i = 0; i < entries.length; i++) {
    const path = `metadata[${i}]`;
    const entry = entries[i];
    if (entry?.tag !== "vector" || entry.value.length !== 2) {
      throw envelopeMismatch(path, "a [key, value] vector of 2", entry);
    }
    const [key, value] = entry.value;
    if (key?.tag !== "count" || typeof key.value !== "number") {
      throw envelopeMismatch(path, "a count key below 2^53", key);
    }
    if (key.value === METADATA_NETWORK_TIMESTAMP) {
      if (value?.tag !== "timestamp") throw envelopeMismatch(path, "a network timestamp", value);
      metadata.push({ key: key.value, value: value.value });
    } else {
      metadata.push({ key: key.value, value: brokerDataToAny(value ?? NONE_DATA) });
    }
  }
  return metadata;
}

/**
 * `decodeEvent` for an already decoded tree (e.g. one that came as JSON):
 * the same envelope checks and the same typing of the arguments.
 */
export function brokerDataToEvent(data: BrokerData, lookup: EventTypesLookup): DecodedEvent {
  const outer = envelopeVector(data, 3, "", "an event message");
  const [version, messageType, content] = outer;
  if (version?.tag !== "count" || version.value !== FORMAT_VERSION) {
    throw envelopeMismatch("[0]", `format version count ${FORMAT_VERSION}`, version);
  }
  if (messageType?.tag !== "count" || messageType.value !== MESSAGE_TYPE_EVENT) {
    throw envelopeMismatch("[1]", `message type count ${MESSAGE_TYPE_EVENT} (event)`, messageType);
  }
  const fields = envelopeVector(content, 2, "[2]", "the event's [name, args, metadata]");
  const [nameData, argsData, metadataData] = fields;
  if (nameData?.tag !== "string" || typeof nameData.value !== "string") {
    throw envelopeMismatch("name", "an event name (a UTF-8 string)", nameData);
  }
  const name = nameData.value;
  const items = envelopeVector(argsData, 0, "args", "the argument vector");
  const types = lookup(name);
  if (types !== undefined && types.length !== items.length) {
    throw new BrokerDecodeError({
      path: "args",
      expected: `${types.length} argument${types.length === 1 ? "" : "s"} of ${name} ` +
        `(${types.map(typeName).join(", ")})`,
      found: `${items.length}`,
    });
  }
  const args: ZeekValue[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      args.push(
        types === undefined ? brokerDataToAny(items[i]!) : dataToValue(items[i]!, types[i]!, 4),
      );
    } catch (error) {
      rethrowWithPath(error, `args[${i}]`);
    }
  }
  const metadata = metadataData === undefined ? [] : dataToMetadata(metadataData);
  return { name, args, metadata, declared: types !== undefined };
}
