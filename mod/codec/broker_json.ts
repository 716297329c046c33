/**
 * broker-json-v1, the JSON encoding of Broker values that Zeek's WebSocket
 * API (`/v1/messages/json`) speaks, and that `Cluster::event_serializer`
 * can select instead of broker-bin-v1.
 *
 * Every value is `{"@data-type": T, "data": D}`:
 *
 * | Zeek type | `@data-type` | `data` |
 * |---|---|---|
 * | count | `count` | JSON integer ≥ 0 (no decimal point) |
 * | int | `integer` | JSON integer |
 * | double | `real` | JSON number |
 * | bool | `boolean` | `true` / `false` |
 * | string | `string` | string |
 * | addr | `address` | `"10.0.0.1"`, `"2001:db8::1"` |
 * | subnet | `subnet` | `"10.0.0.0/8"` |
 * | port | `port` | `"80/tcp"` (`"0/?"` when unknown) |
 * | time | `timestamp` | `"2026-08-21T10:00:00.123"`: UTC, nearest millisecond, no `Z` |
 * | interval | `timespan` | `"1500ms"`: integer in the coarsest exact unit of ns, us, ms, s; zero is `"0s"` |
 * | enum | `enum-value` | `"Cluster::WORKER"` |
 * | vector, record, pattern | `vector` | array of values |
 * | set | `set` | array of values |
 * | table | `table` | array of `{"key": …, "value": …}` |
 * | unset | `none` | `{}` |
 *
 * Two choices differ from Zeek's own output and are deliberate: a real is
 * printed so that it round-trips (Zeek prints `%f`, six decimals), always
 * with a decimal point or exponent because Zeek's parser takes only those as
 * reals; and the unit timestamps are rendered in is UTC (Zeek uses the
 * server's local time zone, which is UTC on the machines it runs on).
 * Numbers that `JSON.stringify` cannot spell that way (integral reals,
 * integers beyond 2^53) are `JSON.rawJSON` values in the objects built here.
 *
 * Strings that are not UTF-8 go out with U+FFFD in place of the bad bytes,
 * which is what a UTF-8 client makes of the raw bytes Zeek sends.
 *
 * On input, timestamps may omit the milliseconds or carry up to nanoseconds,
 * timespans may also use `min`, `h` and `d`, ports may say `unknown` for
 * `?`. `parseBrokerJson` keeps every number's source text, so a count
 * written `3.0` is refused and a 64-bit count keeps all its digits; an
 * object parsed with plain `JSON.parse` is accepted too, minus that
 * precision.
 *
 * A data message adds `"type": "data-message"` and `"topic"` to the event
 * vector. Errors for WebSocket clients are exactly Zeek's: code
 * `deserialization_failed` with the contexts `failed to decode JSON object`
 * (bad JSON or a value that is not valid broker-json-v1), `no topic in
 * top-level JSON object`, and `failed to create Zeek event` (not an event,
 * an unknown event, or arguments that do not match the declaration).
 *
 * @example
 * ```ts
 * const message = encodeJsonEvent("zeek.test", "hello", [3], [T.count]);
 * JSON.stringify(message); // {"type":"data-message","topic":"zeek.test",…}
 * const result = decodeJsonEvent(JSON.stringify(message), () => [T.count]);
 * if (result.ok) result.args; // [3]
 * ```
 *
 * @module
 */

import {
  formatAddr,
  formatPort,
  formatSubnet,
  parseAddrInto,
  parsePortPacked,
  parseSubnetInto,
  PORT_PROTOS,
  T,
  typeName,
  type ZeekType,
  type ZeekValue,
} from "../../zeek/mod.ts";
import {
  type BrokerData,
  type BrokerDataTag,
  brokerDataToValue,
  MAX_NESTING_DEPTH,
  SCALAR_TAG_TYPE,
} from "./broker_data.ts";
import {
  brokerDataToEvent,
  type DecodedEvent,
  type EventMetadata,
  type EventTypesLookup,
  FORMAT_VERSION,
  MESSAGE_TYPE_EVENT,
  METADATA_NETWORK_TIMESTAMP,
} from "./broker_event.ts";
import { nanosToSeconds, secondsToNanos } from "./nanos.ts";
import {
  anyContent,
  encodeMismatch,
  isRecordValue,
  patternAnywhereText,
  recordFieldValue,
} from "./typed_values.ts";
import {
  BrokerDecodeError,
  BrokerEncodeError,
  describeValue,
  rethrowWithPath,
} from "./codec_errors.ts";

/** A number spelled exactly as given when serialized (`JSON.rawJSON`). */
export interface RawJson {
  readonly rawJSON: string;
}

/** The body of a JSON value: what `data` holds for each `@data-type`. */
export type JsonBody =
  | boolean
  | number
  | string
  | RawJson
  | readonly JsonData[]
  | readonly JsonTableEntry[]
  | Readonly<Record<string, never>>;

/** One Broker value in JSON. */
export interface JsonData {
  readonly "@data-type": BrokerDataTag;
  readonly data: JsonBody;
}

/** One table entry in JSON. */
export interface JsonTableEntry {
  readonly key: JsonData;
  readonly value: JsonData;
}

/** A WebSocket data message carrying one event. */
export interface JsonDataMessage {
  readonly type: "data-message";
  readonly topic: string;
  readonly "@data-type": "vector";
  readonly data: readonly JsonData[];
}

/** The `context` of Zeek's errors for data messages it cannot take. */
export type JsonEventErrorContext =
  | "failed to decode JSON object"
  | "no topic in top-level JSON object"
  | "failed to create Zeek event";

/** The error message a WebSocket client gets; `JSON.stringify` it as is. */
export interface WebSocketErrorMessage {
  readonly type: "error";
  readonly code: "deserialization_failed";
  readonly context: JsonEventErrorContext;
}

/** An event taken from a data message, with its topic. */
export interface DecodedJsonEvent extends DecodedEvent {
  readonly topic: string;
}

/** The outcome of `decodeJsonEvent`: the event, or the error to send back and why. */
export type JsonEventDecoding =
  | ({ readonly ok: true } & DecodedJsonEvent)
  | { readonly ok: false; readonly error: WebSocketErrorMessage; readonly reason: string };

interface JsonWithRaw {
  rawJSON(text: string): RawJson;
  isRawJSON(value: unknown): value is RawJson;
  parse(
    text: string,
    reviver: (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown,
  ): unknown;
}

// Deno's TypeScript library does not describe JSON.rawJSON and source-text access yet; V8 has both.
const JSON_RAW = JSON as unknown as JsonWithRaw;

const FORMAT = "broker-json-v1";
const NONE: JsonData = Object.freeze({ "@data-type": "none", data: Object.freeze({}) });
const INTEGER_REGEXP = /^-?(?:0|[1-9][0-9]*)$/;
const TIMESTAMP_REGEXP =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?Z?$/;
const TIMESPAN_REGEXP = /^(-?[0-9]+)(ns|us|ms|s|min|h|d)$/;
const TIMESPAN_UNITS: Readonly<Record<string, bigint>> = Object.freeze({
  ns: 1n,
  us: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  min: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
});
const MIN_I64 = -0x8000000000000000n;
const MAX_I64 = 0x7fffffffffffffffn;
const MAX_U64 = 0xffffffffffffffffn;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

const lossyUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const addrScratch = new Uint8Array(16);

function keepNumberSource(
  this: unknown,
  _key: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  if (typeof value !== "number" || context?.source === undefined) return value;
  const source = context.source;
  if (Number.isSafeInteger(value) && INTEGER_REGEXP.test(source)) return value;
  return JSON_RAW.rawJSON(source);
}

/**
 * Parses JSON text keeping what plain `JSON.parse` loses: numbers that are
 * not plain safe integers stay `RawJson` with their source text. Throws
 * `BrokerDecodeError` for text that is not JSON.
 */
export function parseBrokerJson(text: string): unknown {
  try {
    return JSON_RAW.parse(text, keepNumberSource);
  } catch (error) {
    throw new BrokerDecodeError({
      format: FORMAT,
      expected: "JSON text",
      found: error instanceof Error ? error.message : String(error),
    });
  }
}

function wrap(tag: BrokerDataTag, data: JsonBody): JsonData {
  return { "@data-type": tag, data };
}

function integerJson(value: ZeekValue, min: bigint, max: bigint): number | RawJson | undefined {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return value >= Number(min) ? value : undefined;
    if (!Number.isInteger(value)) return undefined;
    return integerJson(BigInt(value), min, max);
  }
  if (typeof value === "bigint" && value >= min && value <= max) {
    return value >= -MAX_SAFE_BIG && value <= MAX_SAFE_BIG
      ? Number(value)
      : JSON_RAW.rawJSON(`${value}`);
  }
  return undefined;
}

/** A real spelled so that it parses back to the same double and reads as a real to Zeek. */
function realJson(value: number): number | RawJson {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) {
    return JSON_RAW.rawJSON(Object.is(value, -0) ? "-0.0" : `${value}.0`);
  }
  return value;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

/**
 * `"YYYY-MM-DDThh:mm:ss.sss"` in UTC for seconds since the epoch, rounded to
 * the nearest millisecond. Zeek truncates instead, but a double such as
 * 1598975922.372 is 1598975922.371999979 s, which truncation would print
 * as `.371`.
 */
export function formatJsonTimestamp(seconds: number): string {
  const millis = Number(floorDiv(secondsToNanos(seconds) + 500_000n, 1_000_000n));
  return new Date(millis).toISOString().slice(0, -1);
}

/** The integer-and-unit text of an interval in the coarsest exact unit (`"0s"` for zero). */
export function formatJsonTimespan(seconds: number): string {
  let nanos = secondsToNanos(seconds);
  if (nanos === 0n) return "0s";
  for (const unit of ["ns", "us", "ms"]) {
    if (nanos % 1000n !== 0n) return `${nanos}${unit}`;
    nanos /= 1000n;
  }
  return `${nanos}s`;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Seconds since the epoch from timestamp text, or undefined when it is not one. */
export function parseJsonTimestamp(text: string): number | undefined {
  const match = TIMESTAMP_REGEXP.exec(text);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s, fraction] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = Date.UTC(year, month - 1, day, hour, minute, second);
  const nanosOfSecond = fraction === undefined ? 0n : BigInt(fraction.slice(0, 9).padEnd(9, "0"));
  const nanos = BigInt(millis) * 1_000_000n + nanosOfSecond;
  if (nanos < MIN_I64 || nanos > MAX_I64) return undefined;
  return nanosToSeconds(nanos);
}

/** Seconds from timespan text (`"1500ms"`, `"-3s"`, `"2h"`), or undefined when it is not one. */
export function parseJsonTimespan(text: string): number | undefined {
  const match = TIMESPAN_REGEXP.exec(text);
  if (match === null) return undefined;
  const [, digits, unit] = match;
  const nanos = BigInt(digits ?? "") * (TIMESPAN_UNITS[unit ?? ""] ?? 0n);
  if (nanos < MIN_I64 || nanos > MAX_I64) return undefined;
  return nanosToSeconds(nanos);
}

/**
 * The JSON of `value` as a value of Zeek type `type`. Throws
 * `BrokerEncodeError` (naming the position) when it does not fit, including
 * a real that is NaN or infinite, which JSON cannot carry.
 */
export function valueToJson(value: ZeekValue, type: ZeekType): JsonData {
  switch (type.kind) {
    case "bool":
      if (typeof value !== "boolean") throw encodeMismatch(type, value);
      return wrap("boolean", value);
    case "count": {
      const data = integerJson(value, 0n, MAX_U64);
      if (data === undefined) throw encodeMismatch(type, value);
      return wrap("count", data);
    }
    case "int": {
      const data = integerJson(value, MIN_I64, MAX_I64);
      if (data === undefined) throw encodeMismatch(type, value);
      return wrap("integer", data);
    }
    case "double":
      if (typeof value !== "number") throw encodeMismatch(type, value);
      if (!Number.isFinite(value)) {
        throw new BrokerEncodeError(
          "a finite double (JSON has no NaN or Infinity)",
          describeValue(value),
        );
      }
      return wrap("real", realJson(value));
    case "time":
    case "interval":
      if (typeof value !== "number") throw encodeMismatch(type, value);
      try {
        return type.kind === "time"
          ? wrap("timestamp", formatJsonTimestamp(value))
          : wrap("timespan", formatJsonTimespan(value));
      } catch {
        throw encodeMismatch(type, value);
      }
    case "string":
      if (typeof value === "string") return wrap("string", value);
      if (value instanceof Uint8Array) return wrap("string", lossyUtf8.decode(value));
      throw encodeMismatch(type, value);
    case "addr":
      if (typeof value !== "string" || !parseAddrInto(value, addrScratch, 0)) {
        throw encodeMismatch(type, value);
      }
      return wrap("address", formatAddr(addrScratch));
    case "subnet": {
      const prefix = typeof value === "string" ? parseSubnetInto(value, addrScratch, 0) : -1;
      if (prefix < 0) throw encodeMismatch(type, value);
      return wrap("subnet", formatSubnet(addrScratch, prefix));
    }
    case "port": {
      const packed = typeof value === "string" ? parsePortPacked(value) : -1;
      if (packed < 0) throw encodeMismatch(type, value);
      const code = packed >>> 16;
      return wrap("port", `${packed & 0xffff}/${code === 0 ? "?" : PORT_PROTOS[code]}`);
    }
    case "enum":
      if (typeof value !== "string") throw encodeMismatch(type, value);
      return wrap("enum-value", value);
    case "pattern":
      if (typeof value !== "string") throw encodeMismatch(type, value);
      return wrap("vector", [wrap("string", value), wrap("string", patternAnywhereText(value))]);
    case "set":
    case "vector": {
      if (!Array.isArray(value)) throw encodeMismatch(type, value);
      const items: JsonData[] = [];
      for (let i = 0; i < value.length; i++) {
        try {
          items.push(valueToJson(value[i], type.of));
        } catch (error) {
          rethrowWithPath(error, `[${i}]`);
        }
      }
      return wrap(type.kind, items);
    }
    case "table": {
      if (!(value instanceof Map)) throw encodeMismatch(type, value);
      const entries: JsonTableEntry[] = [];
      let i = 0;
      for (const [key, item] of value) {
        let keyJson: JsonData;
        try {
          keyJson = valueToJson(key, type.key);
        } catch (error) {
          rethrowWithPath(error, `[${i}].key`);
        }
        try {
          entries.push({ key: keyJson, value: valueToJson(item, type.value) });
        } catch (error) {
          rethrowWithPath(error, `[${i}].value`);
        }
        i++;
      }
      return wrap("table", entries);
    }
    case "record": {
      if (!isRecordValue(value)) throw encodeMismatch(type, value);
      const items: JsonData[] = [];
      for (const field of type.fields) {
        const item = recordFieldValue(value, field);
        if (item === undefined) {
          items.push(NONE);
          continue;
        }
        try {
          items.push(valueToJson(item, field.type));
        } catch (error) {
          rethrowWithPath(error, field.name);
        }
      }
      return wrap("vector", items);
    }
    case "any": {
      const content = anyContent(value);
      if (content === undefined) return NONE;
      return valueToJson(content.value, content.type);
    }
  }
}

/** The JSON of a decoded tree (e.g. from `decodeData`), with no declared types needed. */
export function dataToJson(data: BrokerData): JsonData {
  switch (data.tag) {
    case "none":
      return NONE;
    case "set":
    case "vector":
      return wrap(data.tag, data.value.map(dataToJson));
    case "table":
      return wrap(
        "table",
        data.value.map(([key, item]) => ({ key: dataToJson(key), value: dataToJson(item) })),
      );
    default:
      return valueToJson(data.value, SCALAR_TAG_TYPE[data.tag]);
  }
}

function decodeMismatch(expected: string, found: unknown): BrokerDecodeError {
  return new BrokerDecodeError({ format: FORMAT, expected, found: describeJson(found) });
}

function describeJson(value: unknown): string {
  if (JSON_RAW.isRawJSON(value)) return `number ${value.rawJSON}`;
  if (value === null) return "null";
  if (typeof value === "object" && !Array.isArray(value)) return "object";
  return describeValue(value);
}

/** A JSON integer as number (safe) or bigint, or undefined when `data` is not an integer. */
function readInteger(data: unknown): number | bigint | undefined {
  if (typeof data === "number") return Number.isSafeInteger(data) ? data : undefined;
  if (!JSON_RAW.isRawJSON(data) || !INTEGER_REGEXP.test(data.rawJSON)) return undefined;
  const big = BigInt(data.rawJSON);
  return big >= -MAX_SAFE_BIG && big <= MAX_SAFE_BIG ? Number(big) : big;
}

function readString(data: unknown, tag: string): string {
  if (typeof data !== "string") throw decodeMismatch(`a string for ${tag}`, data);
  return data;
}

function isJsonObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !JSON_RAW.isRawJSON(value);
}

/**
 * Reads a broker-json-v1 value into a tree, checking only that it is valid
 * broker-json-v1 (the declared types are `brokerDataToValue`'s business).
 * Throws `BrokerDecodeError` naming the position.
 */
export function jsonToData(json: unknown): BrokerData {
  return readJson(json, 1);
}

function readJson(json: unknown, depth: number): BrokerData {
  if (!isJsonObject(json)) throw decodeMismatch(`an object with "@data-type" and "data"`, json);
  const tag = json["@data-type"];
  const data = json["data"];
  switch (tag) {
    case "none":
      return { tag: "none", value: undefined };
    case "boolean":
      if (typeof data !== "boolean") throw decodeMismatch("true or false for boolean", data);
      return { tag, value: data };
    case "count": {
      const value = readInteger(data);
      if (value === undefined || value < 0 || value > MAX_U64) {
        throw decodeMismatch("an integer from 0 to 2^64-1 without a decimal point for count", data);
      }
      return { tag, value };
    }
    case "integer": {
      const value = readInteger(data);
      if (value === undefined || value < MIN_I64 || value > MAX_I64) {
        throw decodeMismatch("a 64-bit integer without a decimal point for integer", data);
      }
      return { tag, value };
    }
    case "real": {
      const value = typeof data === "number"
        ? data
        : JSON_RAW.isRawJSON(data)
        ? Number(data.rawJSON)
        : NaN;
      if (Number.isNaN(value)) throw decodeMismatch("a number for real", data);
      return { tag, value };
    }
    case "string":
      return { tag, value: readString(data, tag) };
    case "address": {
      const text = readString(data, tag);
      if (!parseAddrInto(text, addrScratch, 0)) {
        throw decodeMismatch("an IPv4 or IPv6 address", data);
      }
      return { tag, value: formatAddr(addrScratch) };
    }
    case "subnet": {
      const prefix = parseSubnetInto(readString(data, tag), addrScratch, 0);
      if (prefix < 0) throw decodeMismatch("a subnet such as 10.0.0.0/8", data);
      return { tag, value: formatSubnet(addrScratch, prefix) };
    }
    case "port": {
      const packed = parsePortPacked(readString(data, tag));
      if (packed < 0) throw decodeMismatch("a port such as 80/tcp", data);
      return { tag, value: formatPort(packed & 0xffff, packed >>> 16) };
    }
    case "timestamp": {
      const value = parseJsonTimestamp(readString(data, tag));
      if (value === undefined) {
        throw decodeMismatch("a timestamp such as 2026-08-21T10:00:00.000", data);
      }
      return { tag, value };
    }
    case "timespan": {
      const value = parseJsonTimespan(readString(data, tag));
      if (value === undefined) throw decodeMismatch("a timespan such as 1500ms", data);
      return { tag, value };
    }
    case "enum-value":
      return { tag, value: readString(data, tag) };
    case "set":
    case "vector": {
      if (!Array.isArray(data)) throw decodeMismatch(`an array for ${tag}`, data);
      if (depth >= MAX_NESTING_DEPTH) {
        throw decodeMismatch(`at most ${MAX_NESTING_DEPTH} nested containers`, data);
      }
      const items: BrokerData[] = [];
      for (let i = 0; i < data.length; i++) {
        try {
          items.push(readJson(data[i], depth + 1));
        } catch (error) {
          rethrowWithPath(error, `[${i}]`);
        }
      }
      return { tag, value: items };
    }
    case "table": {
      if (!Array.isArray(data)) throw decodeMismatch("an array of {key, value} for table", data);
      if (depth >= MAX_NESTING_DEPTH) {
        throw decodeMismatch(`at most ${MAX_NESTING_DEPTH} nested containers`, data);
      }
      const entries: (readonly [BrokerData, BrokerData])[] = [];
      for (let i = 0; i < data.length; i++) {
        const entry: unknown = data[i];
        if (!isJsonObject(entry)) {
          throw decodeMismatch("a {key, value} object", entry).prependPath(`[${i}]`);
        }
        let key: BrokerData;
        try {
          key = readJson(entry["key"], depth + 1);
        } catch (error) {
          rethrowWithPath(error, `[${i}].key`);
        }
        try {
          entries.push([key, readJson(entry["value"], depth + 1)]);
        } catch (error) {
          rethrowWithPath(error, `[${i}].value`);
        }
      }
      return { tag, value: entries };
    }
    default:
      throw decodeMismatch("a known @data-type", tag);
  }
}

/**
 * Reads a broker-json-v1 value as Zeek type `type`. Throws
 * `BrokerDecodeError` when it is not valid broker-json-v1 or does not fit.
 */
export function jsonToValue(json: unknown, type: ZeekType): ZeekValue {
  return brokerDataToValue(jsonToData(json), type);
}

function metadataJson(metadata: readonly EventMetadata[]): JsonData {
  const entries: JsonData[] = [];
  for (let i = 0; i < metadata.length; i++) {
    const { key, value } = metadata[i]!;
    try {
      entries.push(
        wrap("vector", [
          valueToJson(key, T.count),
          valueToJson(value, key === METADATA_NETWORK_TIMESTAMP ? T.time : T.any),
        ]),
      );
    } catch (error) {
      rethrowWithPath(error, `metadata[${i}]`);
    }
  }
  return wrap("vector", entries);
}

/**
 * The event vector `[count 1, count 1, vector[name, vector args,
 * vector metadata]]`, i.e. a broker-json-v1 event payload. `metadata`
 * omitted writes an empty vector (what Zeek sends); `null` leaves the
 * element out (what clients usually send).
 */
export function eventToJsonData(
  name: string,
  args: readonly ZeekValue[],
  argTypes: readonly ZeekType[],
  metadata?: readonly EventMetadata[] | null,
): JsonData {
  if (args.length !== argTypes.length) {
    throw new BrokerEncodeError(
      `${argTypes.length} argument${argTypes.length === 1 ? "" : "s"} (${
        argTypes.map(typeName).join(", ")
      })`,
      `${args.length}`,
      `event ${name}`,
    );
  }
  const argsJson: JsonData[] = [];
  for (let i = 0; i < args.length; i++) {
    try {
      argsJson.push(valueToJson(args[i], argTypes[i]!));
    } catch (error) {
      rethrowWithPath(error, `args[${i}]`);
    }
  }
  const content = [wrap("string", name), wrap("vector", argsJson)];
  if (metadata !== null) content.push(metadataJson(metadata ?? []));
  return wrap("vector", [
    wrap("count", FORMAT_VERSION),
    wrap("count", MESSAGE_TYPE_EVENT),
    wrap("vector", content),
  ]);
}

/**
 * A whole WebSocket data message for one event. `JSON.stringify` of the
 * result is the text to send.
 */
export function encodeJsonEvent(
  topic: string,
  name: string,
  args: readonly ZeekValue[],
  argTypes: readonly ZeekType[],
  metadata?: readonly EventMetadata[] | null,
): JsonDataMessage {
  const event = eventToJsonData(name, args, argTypes, metadata);
  return {
    type: "data-message",
    topic,
    "@data-type": "vector",
    data: event.data as readonly JsonData[],
  };
}

/**
 * Reads a broker-json-v1 event payload (no topic) with `brokerDataToEvent`'s
 * rules. Throws `BrokerDecodeError`.
 */
export function jsonToEvent(json: unknown, lookup: EventTypesLookup): DecodedEvent {
  return brokerDataToEvent(jsonToData(json), lookup);
}

function failure(context: JsonEventErrorContext, reason: string): JsonEventDecoding {
  return {
    ok: false,
    error: { type: "error", code: "deserialization_failed", context },
    reason,
  };
}

/**
 * Takes a data message from a WebSocket client, as text or as already
 * parsed JSON, and checks it the way Zeek does: broker-json-v1 first, then
 * the topic, then the event against its declaration. Events the lookup
 * does not know are refused, as Zeek refuses them.
 */
export function decodeJsonEvent(message: unknown, lookup: EventTypesLookup): JsonEventDecoding {
  let data: BrokerData;
  let parsed: unknown;
  try {
    parsed = typeof message === "string" ? parseBrokerJson(message) : message;
    data = jsonToData(parsed);
  } catch (error) {
    return failure(
      "failed to decode JSON object",
      error instanceof Error ? error.message : String(error),
    );
  }
  const topic = (parsed as Readonly<Record<string, unknown>>)["topic"];
  if (typeof topic !== "string") {
    return failure(
      "no topic in top-level JSON object",
      `the message has ${describeJson(topic)} as its topic`,
    );
  }
  let event: DecodedEvent;
  try {
    event = brokerDataToEvent(data, lookup);
  } catch (error) {
    return failure(
      "failed to create Zeek event",
      error instanceof Error ? error.message : String(error),
    );
  }
  if (!event.declared) {
    return failure(
      "failed to create Zeek event",
      `Cannot create event "${event.name}": it is not declared here`,
    );
  }
  return { ok: true, topic, ...event };
}
