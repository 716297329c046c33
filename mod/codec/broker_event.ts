/**
 * The event envelope of broker-bin-v1, the payload frame of every event
 * message of Zeek's cluster backends (ZeroMQ frame 4, format
 * `"broker-bin-v1"`).
 *
 * An event is `vector[count 1 (format), count 1 (event), vector[string name,
 * vector args, vector metadata]]`; metadata is a vector of `[count key,
 * value]` pairs, key 1 being the network timestamp (a timestamp). Zeek 8
 * sends the metadata vector even when it is empty; Broker's two-field form
 * (no metadata element) is accepted on input and written when asked for
 * with `metadata: null`.
 *
 * @module
 */

import {
  type ByteReader,
  ByteWriter,
  T,
  typeName,
  type ZeekType,
  type ZeekValue,
} from "../../zeek/mod.ts";
import {
  BROKER_TAG,
  type BrokerData,
  brokerDataToAny,
  brokerDataToValue,
  NONE_DATA,
  tagName,
} from "./broker_data.ts";
import {
  createBrokerReader,
  decodeMismatch,
  expectEnd,
  readData,
  readElementCount,
  readTyped,
} from "./broker_bin_decode.ts";
import { encodeValue, writeCount, writeString } from "./broker_bin_encode.ts";
import { BrokerDecodeError, BrokerEncodeError, rethrowWithPath } from "./codec_errors.ts";

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
  const reader = createBrokerReader(bytes);
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
        types === undefined
          ? brokerDataToAny(items[i]!)
          : brokerDataToValue(items[i]!, types[i]!, 4),
      );
    } catch (error) {
      rethrowWithPath(error, `args[${i}]`);
    }
  }
  const metadata = metadataData === undefined ? [] : dataToMetadata(metadataData);
  return { name, args, metadata, declared: types !== undefined };
}
