/**
 * Typed encoding of broker-bin-v1: a JavaScript value written as a value of
 * its declared Zeek type, as Zeek's `src/broker/Data.cc` maps types onto
 * Broker data: a record is a vector of all its fields in declaration order
 * with unset fields as none, a composite index (a record key) is a vector,
 * a pattern is `vector[exact, anywhere]`, and `any` carries whatever its
 * `TypedValue` says. Times and intervals are seconds, rounded to the
 * nearest nanosecond on the wire.
 *
 * @module
 */

import {
  type ByteWriter,
  parseAddrInto,
  parsePortPacked,
  parseSubnetInto,
  type ZeekType,
  type ZeekValue,
} from "../../zeek/mod.ts";
import { BROKER_TAG, type BrokerData, SCALAR_TAG_TYPE } from "./broker_data.ts";
import { rethrowWithPath } from "./codec_errors.ts";
import { writeSecondsAsNanos } from "./nanos.ts";
import {
  anyContent,
  encodeMismatch,
  isRecordValue,
  patternAnywhereText,
  recordFieldValue,
} from "./typed_values.ts";

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_64 = 18446744073709551616;
const TWO_63 = 9223372036854775808;

/** Writes the body of a count (the tag is the caller's). */
export function writeCount(writer: ByteWriter, value: ZeekValue, type: ZeekType): void {
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
  if (typeof value !== "number" || !writeSecondsAsNanos(writer, value)) {
    throw encodeMismatch(type, value);
  }
}

/** Writes a string value with its tag. */
export function writeString(writer: ByteWriter, value: string | Uint8Array): void {
  writer.writeUint8(BROKER_TAG.string);
  if (typeof value === "string") {
    writer.writeVarintString(value);
  } else {
    writer.writeVarint(value.length);
    writer.writeBytes(value);
  }
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
        const item = recordFieldValue(value, field);
        if (item === undefined) {
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
    case "any": {
      const content = anyContent(value);
      if (content === undefined) return writer.writeUint8(BROKER_TAG.none);
      return encodeValue(writer, content.value, content.type);
    }
  }
}

/** Writes a decoded tree back in broker-bin-v1 (the inverse of `decodeData`). */
export function encodeData(writer: ByteWriter, data: BrokerData): void {
  switch (data.tag) {
    case "none":
      return writer.writeUint8(BROKER_TAG.none);
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
    default:
      return encodeValue(writer, data.value, SCALAR_TAG_TYPE[data.tag]);
  }
}
