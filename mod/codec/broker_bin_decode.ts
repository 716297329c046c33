/**
 * Decoding of broker-bin-v1, straight from the bytes: typed (`decodeValue`,
 * checked against the declared type as it goes) or untyped (`decodeData`,
 * a `BrokerData` tree). Records are positional on the wire, which is why
 * typed decoding needs the declared types.
 *
 * Scalars are read without allocating. Malformed input of any kind ends in
 * a `BrokerDecodeError`, never another exception, a hang or an allocation
 * larger than the input: counts are checked against the bytes left and
 * nesting is bounded by `MAX_NESTING_DEPTH`.
 *
 * @module
 */

import {
  ByteReader,
  formatAddr,
  formatPort,
  formatSubnet,
  maskAddr,
  T,
  typeName,
  type ZeekType,
  type ZeekValue,
} from "../../zeek/mod.ts";
import {
  BROKER_TAG,
  type BrokerData,
  brokerDataToAny,
  MAX_NESTING_DEPTH,
  NONE_DATA,
  tagName,
} from "./broker_data.ts";
import { BrokerDecodeError, rethrowWithPath } from "./codec_errors.ts";
import { nanosPartsToSeconds } from "./nanos.ts";

const FORMAT = "broker-bin-v1";

/** A broker-bin-v1 value at `offset` is not what was expected. */
export function decodeMismatch(offset: number, expected: string, found: string): BrokerDecodeError {
  return new BrokerDecodeError({ format: FORMAT, offset, expected, found });
}

/** A reader whose short reads and overlong varints are `BrokerDecodeError`s. */
export function createBrokerReader(bytes: Uint8Array): ByteReader {
  return new ByteReader(bytes, 0, decodeMismatch);
}

function wrongTag(offset: number, type: ZeekType, tag: number): BrokerDecodeError {
  return decodeMismatch(offset, typeName(type), tagName(tag));
}

function tooDeep(offset: number): BrokerDecodeError {
  return decodeMismatch(offset, `at most ${MAX_NESTING_DEPTH} nested containers`, "deeper nesting");
}

/** Reads an element count and refuses counts the remaining bytes cannot hold. */
export function readElementCount(reader: ByteReader, bytesPerElement: number): number {
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
export function readTyped(reader: ByteReader, type: ZeekType, depth: number): ZeekValue {
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

/** Decodes the next value without declared types. */
export function readData(reader: ByteReader, depth: number): BrokerData {
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

/** Refuses bytes after the value. */
export function expectEnd(reader: ByteReader): void {
  if (reader.remaining !== 0) {
    throw decodeMismatch(reader.offset, "the end of the data", `${reader.remaining} more bytes`);
  }
}

/** Decodes a whole buffer holding one value of Zeek type `type`. */
export function decodeValue(bytes: Uint8Array, type: ZeekType): ZeekValue {
  const reader = createBrokerReader(bytes);
  const value = readTyped(reader, type, 1);
  expectEnd(reader);
  return value;
}

/** Decodes a whole buffer holding one value, without declared types. */
export function decodeData(bytes: Uint8Array): BrokerData {
  const reader = createBrokerReader(bytes);
  const data = readData(reader, 1);
  expectEnd(reader);
  return data;
}
