import assert from "node:assert/strict";
import { T, type ZeekType, type ZeekValue } from "../../zeek/types.ts";
import { ByteWriter } from "../../zeek/bytes.ts";
import { UNKNOWN_ENUM } from "./broker_data.ts";
import { decodeData } from "./broker_bin_decode.ts";
import { brokerDataToEvent, decodeEvent, encodeEvent, encodeEventToBytes } from "./broker_event.ts";
import { BrokerDecodeError, BrokerEncodeError } from "./codec_errors.ts";
import { bytesOf, u64 } from "./_testing.ts";

const NODE_STATUS: readonly ZeekType[] = [T.string, T.count];
const TIMESTAMP = 1700000000.5;
const TIMESTAMP_NANOS = 1700000000500000000n;

Deno.test("encodeEvent() reproduces Zeek's Supervisor::node_status byte test", () => {
  const expected = bytesOf(
    [0x0e, 0x03],
    [0x02, ...u64(1n)],
    [0x02, ...u64(1n)],
    [0x0e, 0x03],
    [0x05, 0x17],
    "Supervisor::node_status",
    [0x0e, 0x02],
    [0x05, 0x04],
    "TEST",
    [0x02, ...u64(42n)],
    [0x0e, 0x01, 0x0e, 0x02],
    [0x02, ...u64(1n)],
    [0x09, ...u64(TIMESTAMP_NANOS)],
  );
  const writer = new ByteWriter();
  encodeEvent(writer, "Supervisor::node_status", ["TEST", 42], NODE_STATUS, [
    { key: 1, value: TIMESTAMP },
  ]);
  assert.deepEqual(writer.bytes(), expected);

  // Zeek's own test uses the epoch as network time.
  writer.reset();
  encodeEvent(writer, "Supervisor::node_status", ["TEST", 42], NODE_STATUS, [{ key: 1, value: 0 }]);
  assert.deepEqual(writer.bytes().subarray(-8), new Uint8Array(8));

  const event = decodeEvent(
    expected,
    (name) => name === "Supervisor::node_status" ? NODE_STATUS : undefined,
  );
  assert.deepEqual(event, {
    name: "Supervisor::node_status",
    args: ["TEST", 42],
    metadata: [{ key: 1, value: TIMESTAMP }],
    declared: true,
  });
});

Deno.test("encodeEvent() writes an empty metadata vector by default and none for null", () => {
  const withEmpty = encodeEventToBytes("e", [], []);
  assert.deepEqual(
    withEmpty.subarray(20),
    bytesOf(0x0e, 0x03, 0x05, 0x01, "e", 0x0e, 0x00, 0x0e, 0x00),
  );
  const without = encodeEventToBytes("e", [], [], null);
  assert.deepEqual(without.subarray(20), bytesOf(0x0e, 0x02, 0x05, 0x01, "e", 0x0e, 0x00));
  for (const bytes of [withEmpty, without]) {
    assert.deepEqual(decodeEvent(bytes, () => []), {
      name: "e",
      args: [],
      metadata: [],
      declared: true,
    });
  }
});

Deno.test("encodeEvent() carries non-timestamp metadata as TypedValues", () => {
  const metadata = [
    { key: 1, value: 12.25 },
    { key: 200, value: { type: T.string, value: "site-a" } },
  ];
  const event = decodeEvent(encodeEventToBytes("e", [true], [T.bool], metadata), () => [T.bool]);
  assert.deepEqual(event.metadata, metadata);
});

Deno.test("encodeEvent() refuses a wrong argument count and leaves the writer as it was", () => {
  const writer = new ByteWriter();
  writer.writeUint8(0x99);
  assert.throws(
    () => encodeEvent(writer, "ping", ["only one"], NODE_STATUS),
    (error: unknown) => {
      assert.ok(error instanceof BrokerEncodeError);
      assert.match(error.message, /expected 2 arguments \(string, count\), found 1/);
      return true;
    },
  );
  assert.throws(
    () => encodeEvent(writer, "ping", ["a", "not a count"], NODE_STATUS),
    (error: unknown) => {
      assert.ok(error instanceof BrokerEncodeError);
      assert.equal(error.path, "args[1]");
      assert.equal(error.expected, "count");
      assert.equal(error.found, 'string "not a count"');
      return true;
    },
  );
  assert.deepEqual(writer.bytes(), new Uint8Array([0x99]));
});

Deno.test("decodeEvent() decodes unknown events untyped as TypedValues", () => {
  const bytes = encodeEventToBytes(
    "Site::thing",
    [3, -4, "s", ["a"], new Map([["k", true]]), undefined, "Site::A"],
    [
      T.count,
      T.int,
      T.string,
      T.set(T.string),
      T.table(T.string, T.bool),
      T.any,
      T.enum("Site::Kind"),
    ],
  );
  const event = decodeEvent(bytes, () => undefined);
  assert.equal(event.declared, false);
  const expected: ZeekValue[] = [
    { type: T.count, value: 3 },
    { type: T.int, value: -4 },
    { type: T.string, value: "s" },
    { type: T.set(T.any), value: [{ type: T.string, value: "a" }] },
    {
      type: T.table(T.any, T.any),
      value: new Map<ZeekValue, ZeekValue>([[{ type: T.string, value: "k" }, {
        type: T.bool,
        value: true,
      }]]),
    },
    undefined,
    { type: UNKNOWN_ENUM, value: "Site::A" },
  ];
  assert.deepEqual(event.args, expected);
  // Forwarding the untyped arguments as `any` reproduces the bytes.
  assert.deepEqual(
    encodeEventToBytes("Site::thing", event.args, event.args.map(() => T.any)),
    bytes,
  );
});

Deno.test("brokerDataToEvent() applies decodeEvent()'s rules to a tree", () => {
  const bytes = encodeEventToBytes("Supervisor::node_status", ["TEST", 42], NODE_STATUS, [{
    key: 1,
    value: 5,
  }]);
  const lookup = () => NODE_STATUS;
  assert.deepEqual(brokerDataToEvent(decodeData(bytes), lookup), decodeEvent(bytes, lookup));
  assert.throws(
    () => brokerDataToEvent(decodeData(bytes), () => [T.count, T.count]),
    (error: unknown) => error instanceof BrokerDecodeError && error.path === "args[0]",
  );
  assert.throws(
    () => brokerDataToEvent({ tag: "vector", value: [] }, lookup),
    (error: unknown) =>
      error instanceof BrokerDecodeError && /an event message/.test(error.message),
  );
});

Deno.test("envelope errors: version, message type, trailing bytes", () => {
  const good = encodeEventToBytes("e", [], []);
  const wrongVersion = good.slice();
  wrongVersion[10] = 2;
  assert.throws(
    () => decodeEvent(wrongVersion, () => []),
    /expected format version count 1, found count 2/,
  );
  const logWrite = good.slice();
  logWrite[19] = 3;
  assert.throws(
    () => decodeEvent(logWrite, () => []),
    /expected message type count 1 \(event\), found count 3/,
  );
  assert.throws(
    () => decodeEvent(bytesOf(Array.from(good), 0), () => []),
    /expected the end of the data, found 1 more bytes/,
  );
  assert.throws(() => decodeEvent(bytesOf(5, 0), () => []), BrokerDecodeError);
});
