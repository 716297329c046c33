/**
 * The event codecs of Zeek's cluster: broker-bin-v1, the binary encoding
 * in the payload frame of every event message, and broker-json-v1, what
 * the WebSocket API speaks. Events are declared once with their argument
 * types; both codecs write and check values by those types.
 *
 * JavaScript values follow `zeek/types.ts`: counts and ints are numbers, or
 * bigints beyond 2^53; times and intervals are seconds as floats, rounded
 * to the nearest nanosecond on the wire. Hot paths write into a reusable
 * `ByteWriter`. Malformed input of any kind ends in a `BrokerDecodeError`.
 *
 * @example
 * ```ts
 * import { ByteWriter, decodeEvent, encodeEvent } from "./mod.ts";
 * import { T } from "../../zeek/types.ts";
 *
 * const writer = new ByteWriter();
 * encodeEvent(writer, "Supervisor::node_status", ["TEST", 42], [T.string, T.count]);
 * const event = decodeEvent(writer.bytes(), () => [T.string, T.count]);
 * event.args; // ["TEST", 42]
 * ```
 *
 * @module
 */

export { ByteReader, ByteWriter, DEFAULT_WRITER_CAPACITY } from "../../zeek/mod.ts";
export {
  BROKER_TAG,
  type BrokerData,
  type BrokerDataTag,
  brokerDataToAny,
  brokerDataToValue,
  MAX_NESTING_DEPTH,
  UNKNOWN_ENUM,
} from "./broker_data.ts";
export { nanosToSeconds, secondsToNanos } from "./nanos.ts";
export { isRecordValue, patternAnywhereText } from "./typed_values.ts";
export { encodeData, encodeValue } from "./broker_bin_encode.ts";
export { decodeData, decodeValue } from "./broker_bin_decode.ts";
export {
  brokerDataToEvent,
  type DecodedEvent,
  decodeEvent,
  encodeEvent,
  encodeEventToBytes,
  type EventMetadata,
  type EventTypesLookup,
  FORMAT_VERSION,
  MESSAGE_TYPE_EVENT,
  METADATA_NETWORK_TIMESTAMP,
} from "./broker_event.ts";
export {
  dataToJson,
  type DecodedJsonEvent,
  decodeJsonEvent,
  encodeJsonEvent,
  eventToJsonData,
  formatJsonTimespan,
  formatJsonTimestamp,
  type JsonBody,
  type JsonData,
  type JsonDataMessage,
  type JsonEventDecoding,
  type JsonEventErrorContext,
  type JsonTableEntry,
  jsonToData,
  jsonToEvent,
  jsonToValue,
  parseBrokerJson,
  parseJsonTimespan,
  parseJsonTimestamp,
  type RawJson,
  valueToJson,
  type WebSocketErrorMessage,
} from "./broker_json.ts";
export {
  BrokerDecodeError,
  type BrokerDecodeErrorDetail,
  BrokerEncodeError,
  type BrokerFormat,
} from "./codec_errors.ts";
