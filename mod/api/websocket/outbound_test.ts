import assert from "node:assert/strict";
import { encodeEventToBytes } from "../../codec/mod.ts";
import { T } from "../../../zeek/types.ts";
import { DataMessageEncoder } from "./outbound.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("DataMessageEncoder turns broker-bin-v1 and broker-json-v1 payloads into the same text", () => {
  const encoder = new DataMessageEncoder();
  const payload = encodeEventToBytes("hello", [3], [T.count]);
  const expected = '{"type":"data-message","topic":"zeek.test","@data-type":"vector","data":[' +
    '{"@data-type":"count","data":1},{"@data-type":"count","data":1},' +
    '{"@data-type":"vector","data":[{"@data-type":"string","data":"hello"},' +
    '{"@data-type":"vector","data":[{"@data-type":"count","data":3}]},' +
    '{"@data-type":"vector","data":[]}]}]}';
  const message = { topic: "zeek.test", sender: "s", format: "broker-bin-v1", payload };
  assert.equal(decode(encoder.encode(message)), expected);
  const jsonPayload = new TextEncoder().encode(
    expected.replace('{"type":"data-message","topic":"zeek.test",', "{"),
  );
  assert.equal(
    decode(encoder.encode({ ...message, format: "broker-json-v1", payload: jsonPayload })),
    expected,
  );
});

Deno.test("DataMessageEncoder refuses unknown formats and broken payloads", () => {
  const encoder = new DataMessageEncoder();
  const message = {
    topic: "t",
    sender: "s",
    format: "zeek-bin-serializer",
    payload: new Uint8Array(1),
  };
  assert.throws(
    () => encoder.encode(message),
    /Cannot forward a message in format "zeek-bin-serializer"/,
  );
  assert.throws(() => encoder.encode({ ...message, format: "broker-bin-v1" }));
});

Deno.test("DataMessageEncoder grows its buffer for large events", () => {
  const encoder = new DataMessageEncoder();
  const big = "é".repeat(100_000);
  const payload = encodeEventToBytes("e", [big], [T.string]);
  const text = decode(
    encoder.encode({ topic: "t", sender: "s", format: "broker-bin-v1", payload }),
  );
  assert.ok(text.includes(big));
});
