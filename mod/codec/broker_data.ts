/**
 * broker-bin-v1's data model without declared types: the tag bytes, the
 * `BrokerData` tree a value decodes to when nobody says its type, and the
 * conversions of such a tree to typed values (as `brokerDataToValue`
 * checks them against a declaration, or as `any` with the types its tags
 * imply). broker-json-v1 decodes into the same tree.
 *
 * Every value on the wire is a tag byte and a body; numbers are big-endian;
 * a varint holds 7 bits per byte, low group first, 0x80 marking
 * continuation:
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
 * @module
 */

import { T, type TypedValue, typeName, type ZeekType, type ZeekValue } from "../../zeek/mod.ts";
import { BrokerDecodeError, rethrowWithPath } from "./codec_errors.ts";

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
/** Deepest nesting of containers the decoders accept (the event envelope counts 3). */
export const MAX_NESTING_DEPTH = 64;

/** The type of enum values decoded without a declaration (the wire has no enum type name). */
export const UNKNOWN_ENUM: ZeekType = T.enum("");
const VECTOR_OF_ANY = T.vector(T.any);
const SET_OF_ANY = T.set(T.any);
const TABLE_OF_ANY = T.table(T.any, T.any);

/** The tags of values that are not containers. */
export type ScalarDataTag = Exclude<BrokerDataTag, "none" | "set" | "table" | "vector">;

/**
 * The Zeek type each scalar tag stands for. A scalar tree node is encoded,
 * in either format, as its value of this type, and `brokerDataToAny` types
 * it so.
 */
export const SCALAR_TAG_TYPE: Readonly<Record<ScalarDataTag, ZeekType>> = Object.freeze({
  boolean: T.bool,
  count: T.count,
  integer: T.int,
  real: T.double,
  string: T.string,
  address: T.addr,
  subnet: T.subnet,
  port: T.port,
  timestamp: T.time,
  timespan: T.interval,
  "enum-value": UNKNOWN_ENUM,
});

/** A tag byte's name, or what it is when no tag has that number. */
export function tagName(tag: number): string {
  return TAG_NAMES[tag] ?? `unknown tag 0x${tag.toString(16).padStart(2, "0")}`;
}

/** The none value (shared, frozen). */
export const NONE_DATA: BrokerData = Object.freeze({ tag: "none", value: undefined });

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
    case "set":
      return { type: SET_OF_ANY, value: data.value.map(brokerDataToAny) };
    case "vector":
      return { type: VECTOR_OF_ANY, value: data.value.map(brokerDataToAny) };
    case "table": {
      const map = new Map<ZeekValue, ZeekValue>();
      for (const [key, item] of data.value) map.set(brokerDataToAny(key), brokerDataToAny(item));
      return { type: TABLE_OF_ANY, value: map } satisfies TypedValue;
    }
    default:
      return { type: SCALAR_TAG_TYPE[data.tag], value: data.value };
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
export function brokerDataToValue(data: BrokerData, type: ZeekType, depth = 1): ZeekValue {
  return dataToValue(data, type, depth);
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
