/**
 * Turns an event message from the bus into the data-message text a
 * WebSocket client receives. The payload is re-encoded from its wire tree,
 * so no declaration is needed and nothing is lost: a count stays a count,
 * a record stays the positional vector Zeek sends.
 *
 * @module
 */

import {
  dataToJson,
  decodeData,
  type JsonData,
  jsonToData,
  parseBrokerJson,
} from "../../codec/mod.ts";
import { type BusMessage, FORMAT_BROKER_BIN } from "../../bus/mod.ts";

const FORMAT_BROKER_JSON = "broker-json-v1";
const MIN_SCRATCH_BYTES = 64 * 1024;

/**
 * Encodes data messages into one reused buffer: the bytes returned are
 * borrowed until the next call, which is all the fan-out needs (every
 * client copies them into its own send queue).
 */
export class DataMessageEncoder {
  #encoder = new TextEncoder();
  #scratch = new Uint8Array(MIN_SCRATCH_BYTES);

  /**
   * The UTF-8 text of the data message for `message`. Throws
   * `BrokerDecodeError` when the payload does not decode and `RangeError`
   * when it is not a vector or in a format other than broker-bin-v1 or
   * broker-json-v1.
   */
  encode(message: BusMessage): Uint8Array {
    let event: JsonData;
    if (message.format === FORMAT_BROKER_BIN) {
      event = dataToJson(decodeData(message.payload));
    } else if (message.format === FORMAT_BROKER_JSON) {
      event = dataToJson(jsonToData(parseBrokerJson(new TextDecoder().decode(message.payload))));
    } else {
      throw new RangeError(
        `Cannot forward a message in format "${message.format}" to WebSocket clients; ` +
          `expected ${FORMAT_BROKER_BIN} or ${FORMAT_BROKER_JSON}`,
      );
    }
    if (event["@data-type"] !== "vector") {
      throw new RangeError(
        `Cannot forward a ${
          event["@data-type"]
        } payload to WebSocket clients; an event is a vector`,
      );
    }
    const text = JSON.stringify({
      type: "data-message",
      topic: message.topic,
      "@data-type": "vector",
      data: event.data,
    });
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (text.length * 3 > this.#scratch.length) {
      this.#scratch = new Uint8Array(Math.max(text.length * 3, this.#scratch.length * 2));
    }
    const { written } = this.#encoder.encodeInto(text, this.#scratch);
    return this.#scratch.subarray(0, written);
  }
}
