import assert from "node:assert/strict";
import { T, type ZeekType, type ZeekValue } from "../../zeek/types.ts";
import {
  ByteWriter,
  decodeData,
  decodeValue,
  encodeEventToBytes,
  encodeValue,
  UNKNOWN_ENUM,
} from "./mod.ts";
import {
  dataToJson,
  decodeJsonEvent,
  encodeJsonEvent,
  eventToJsonData,
  formatJsonTimespan,
  formatJsonTimestamp,
  jsonToData,
  jsonToEvent,
  jsonToValue,
  parseBrokerJson,
  parseJsonTimespan,
  parseJsonTimestamp,
  valueToJson,
} from "./broker_json.ts";
import { BrokerDecodeError, BrokerEncodeError } from "./codec_errors.ts";
import { mulberry32 as prng } from "../../testing/prng.ts";

const PING: readonly ZeekType[] = [T.string, T.count];
const lookupPing = (name: string) => name === "ping" ? PING : undefined;

function json(value: ZeekValue, type: ZeekType): string {
  return JSON.stringify(valueToJson(value, type));
}

function fromText(text: string, type: ZeekType): ZeekValue {
  return jsonToValue(parseBrokerJson(text), type);
}

Deno.test("encodeJsonEvent() reproduces the spec's server message (example 3) byte for byte", () => {
  assert.equal(
    JSON.stringify(encodeJsonEvent("zeek.test", "hello", [3], [T.count])),
    '{"type":"data-message","topic":"zeek.test","@data-type":"vector","data":[{"@data-type":"count","data":1},' +
      '{"@data-type":"count","data":1},{"@data-type":"vector","data":[{"@data-type":"string","data":"hello"},' +
      '{"@data-type":"vector","data":[{"@data-type":"count","data":3}]},{"@data-type":"vector","data":[]}]}]}',
  );
});

const EXAMPLE_2 =
  '{"type":"data-message","topic":"/zeek/event/my_topic","@data-type":"vector","data":[' +
  '{"@data-type":"count","data":1},{"@data-type":"count","data":1},{"@data-type":"vector","data":[' +
  '{"@data-type":"string","data":"ping"},{"@data-type":"vector","data":[{"@data-type":"string","data":"Hello"},' +
  '{"@data-type":"count","data":42}]}]}]}';

Deno.test("encodeJsonEvent() with metadata null reproduces the spec's client message (example 2)", () => {
  assert.equal(
    JSON.stringify(encodeJsonEvent("/zeek/event/my_topic", "ping", ["Hello", 42], PING, null)),
    EXAMPLE_2,
  );
});

Deno.test("decodeJsonEvent() takes the spec's client message (example 2)", () => {
  assert.deepEqual(decodeJsonEvent(EXAMPLE_2, lookupPing), {
    ok: true,
    topic: "/zeek/event/my_topic",
    name: "ping",
    args: ["Hello", 42],
    metadata: [],
    declared: true,
  });
  assert.deepEqual(
    decodeJsonEvent(JSON.parse(EXAMPLE_2), lookupPing),
    decodeJsonEvent(EXAMPLE_2, lookupPing),
  );
});

Deno.test("eventToJsonData() matches Zeek's broker-json-v1 serializer test for node_status", () => {
  assert.equal(
    JSON.stringify(
      eventToJsonData("Supervisor::node_status", ["TEST", 42], PING, [{ key: 1, value: 0 }]),
    ),
    '{"@data-type":"vector","data":[{"@data-type":"count","data":1},{"@data-type":"count","data":1},' +
      '{"@data-type":"vector","data":[{"@data-type":"string","data":"Supervisor::node_status"},' +
      '{"@data-type":"vector","data":[{"@data-type":"string","data":"TEST"},{"@data-type":"count","data":42}]},' +
      '{"@data-type":"vector","data":[{"@data-type":"vector","data":[{"@data-type":"count","data":1},' +
      '{"@data-type":"timestamp","data":"1970-01-01T00:00:00.000"}]}]}]}]}',
  );
});

Deno.test("valueToJson() spells every type as the spec's table says", () => {
  const cases: [ZeekValue, ZeekType, string][] = [
    [42, T.count, '{"@data-type":"count","data":42}'],
    [2n ** 64n - 1n, T.count, '{"@data-type":"count","data":18446744073709551615}'],
    [-(2n ** 63n), T.int, '{"@data-type":"integer","data":-9223372036854775808}'],
    [-5, T.int, '{"@data-type":"integer","data":-5}'],
    [3, T.double, '{"@data-type":"real","data":3.0}'],
    [-0, T.double, '{"@data-type":"real","data":-0.0}'],
    [0.1, T.double, '{"@data-type":"real","data":0.1}'],
    [1e21, T.double, '{"@data-type":"real","data":1e+21}'],
    [1e-7, T.double, '{"@data-type":"real","data":1e-7}'],
    [true, T.bool, '{"@data-type":"boolean","data":true}'],
    ['say "hi"\n', T.string, '{"@data-type":"string","data":"say \\"hi\\"\\n"}'],
    [new Uint8Array([0x61, 0xff]), T.string, '{"@data-type":"string","data":"a\ufffd"}'],
    ["10.0.0.1", T.addr, '{"@data-type":"address","data":"10.0.0.1"}'],
    ["2001:DB8:0:0::1", T.addr, '{"@data-type":"address","data":"2001:db8::1"}'],
    ["10.0.0.0/8", T.subnet, '{"@data-type":"subnet","data":"10.0.0.0/8"}'],
    ["2001:db8::/32", T.subnet, '{"@data-type":"subnet","data":"2001:db8::/32"}'],
    ["80/tcp", T.port, '{"@data-type":"port","data":"80/tcp"}'],
    ["53/udp", T.port, '{"@data-type":"port","data":"53/udp"}'],
    ["3/icmp", T.port, '{"@data-type":"port","data":"3/icmp"}'],
    ["0/unknown", T.port, '{"@data-type":"port","data":"0/?"}'],
    [1598975922.372, T.time, '{"@data-type":"timestamp","data":"2020-09-01T15:58:42.372"}'],
    [1.001, T.time, '{"@data-type":"timestamp","data":"1970-01-01T00:00:01.001"}'],
    [0, T.interval, '{"@data-type":"timespan","data":"0s"}'],
    [42, T.interval, '{"@data-type":"timespan","data":"42s"}'],
    [1.5, T.interval, '{"@data-type":"timespan","data":"1500ms"}'],
    [0.000002, T.interval, '{"@data-type":"timespan","data":"2us"}'],
    [-1e-9, T.interval, '{"@data-type":"timespan","data":"-1ns"}'],
    [
      "Cluster::WORKER",
      T.enum("Cluster::NodeType"),
      '{"@data-type":"enum-value","data":"Cluster::WORKER"}',
    ],
    [["a"], T.set(T.string), '{"@data-type":"set","data":[{"@data-type":"string","data":"a"}]}'],
    [[], T.vector(T.count), '{"@data-type":"vector","data":[]}'],
    [
      new Map([["k", 1]]),
      T.table(T.string, T.count),
      '{"@data-type":"table","data":[{"key":{"@data-type":"string","data":"k"},' +
      '"value":{"@data-type":"count","data":1}}]}',
    ],
    [undefined, T.any, '{"@data-type":"none","data":{}}'],
    [{ type: T.port, value: "22/tcp" }, T.any, '{"@data-type":"port","data":"22/tcp"}'],
    [
      "^?(a)$?",
      T.pattern,
      '{"@data-type":"vector","data":[{"@data-type":"string","data":"^?(a)$?"},' +
      '{"@data-type":"string","data":"^?(.|\\\\n)*(a)"}]}',
    ],
  ];
  for (const [value, type, expected] of cases) assert.equal(json(value, type), expected, expected);
});

Deno.test("records are vectors in JSON with none for unset fields", () => {
  const type = T.record("R", [["a", T.count], ["b", T.string, "optional"]]);
  assert.equal(
    json({ a: 1, b: undefined }, type),
    '{"@data-type":"vector","data":[{"@data-type":"count","data":1},{"@data-type":"none","data":{}}]}',
  );
  assert.deepEqual(fromText(json({ a: 1, b: undefined }, type), type), { a: 1, b: undefined });
  assert.deepEqual(fromText(json({ a: 1, b: "x" }, type), type), { a: 1, b: "x" });
  assert.throws(
    () => json({ b: "x" }, type),
    (error: unknown) => error instanceof BrokerEncodeError && error.path === "a",
  );
});

Deno.test("valueToJson() refuses values that do not fit, naming the position", () => {
  assert.throws(() => json(Number.NaN, T.double), /finite double/);
  assert.throws(() => json(Number.POSITIVE_INFINITY, T.double), BrokerEncodeError);
  assert.throws(() => json(-1, T.count), BrokerEncodeError);
  assert.throws(() => json(2n ** 64n, T.count), BrokerEncodeError);
  assert.throws(() => json(1.5, T.int), BrokerEncodeError);
  assert.throws(() => json("300.1.1.1", T.addr), BrokerEncodeError);
  assert.throws(() => json(1e12, T.time), BrokerEncodeError);
  assert.throws(
    () => json([["80/tcp", "nope"]], T.vector(T.set(T.port))),
    (error: unknown) => error instanceof BrokerEncodeError && error.path === "[0][1]",
  );
  assert.throws(
    () => encodeJsonEvent("t", "ping", ["a"], PING),
    (error: unknown) =>
      error instanceof BrokerEncodeError && /expected 2 arguments/.test(error.message),
  );
  assert.throws(() => json(3, T.any), /TypedValue/);
});

Deno.test("counts must be non-negative JSON integers without a decimal point", () => {
  assert.equal(fromText('{"@data-type":"count","data":0}', T.count), 0);
  assert.equal(
    fromText('{"@data-type":"count","data":9007199254740993}', T.count),
    9007199254740993n,
  );
  assert.equal(
    fromText('{"@data-type":"count","data":18446744073709551615}', T.count),
    2n ** 64n - 1n,
  );
  for (const data of ["3.0", "1e3", "-1", "18446744073709551616", '"3"', "true", "null"]) {
    assert.throws(
      () => fromText(`{"@data-type":"count","data":${data}}`, T.count),
      (error: unknown) => error instanceof BrokerDecodeError && error.format === "broker-json-v1",
      data,
    );
  }
  assert.equal(
    fromText('{"@data-type":"integer","data":-9223372036854775808}', T.int),
    -(2n ** 63n),
  );
  assert.throws(
    () => fromText('{"@data-type":"integer","data":9223372036854775808}', T.int),
    BrokerDecodeError,
  );
  assert.throws(() => fromText('{"@data-type":"integer","data":-2.5}', T.int), BrokerDecodeError);
  assert.equal(jsonToValue({ "@data-type": "count", data: 5 }, T.count), 5);
  assert.throws(
    () => jsonToValue({ "@data-type": "count", data: 2 ** 60 }, T.count),
    BrokerDecodeError,
  );
});

Deno.test("reals round-trip through JSON text exactly", () => {
  const random = prng(99);
  const specials = [0, -0, 1, -1, 3, 1e21, 1e-300, 5e-324, Number.MAX_VALUE, 2 ** 53, 0.1 + 0.2];
  const values = [
    ...specials,
    ...Array.from({ length: 2000 }, () => (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20)),
  ];
  for (const value of values) {
    assert.equal(Object.is(fromText(json(value, T.double), T.double), value), true, `${value}`);
  }
  assert.equal(fromText('{"@data-type":"real","data":3}', T.double), 3);
  assert.equal(fromText('{"@data-type":"real","data":0.123456}', T.double), 0.123456);
  assert.throws(() => fromText('{"@data-type":"real","data":"3"}', T.double), BrokerDecodeError);
});

Deno.test("timestamps: milliseconds out, also seconds and nanoseconds in", () => {
  assert.equal(formatJsonTimestamp(1700000000.9994), "2023-11-14T22:13:20.999");
  assert.equal(formatJsonTimestamp(1700000000.9996), "2023-11-14T22:13:21.000");
  assert.equal(formatJsonTimestamp(1598975922.372), "2020-09-01T15:58:42.372");
  assert.equal(formatJsonTimestamp(-0.5), "1969-12-31T23:59:59.500");
  assert.equal(parseJsonTimestamp("2020-09-01T15:58:42.372"), 1598975922.372);
  assert.equal(parseJsonTimestamp("2020-09-01T15:58:42"), 1598975922);
  assert.equal(parseJsonTimestamp("2020-09-01T15:58:42.5"), 1598975922.5);
  assert.equal(parseJsonTimestamp("2020-09-01T15:58:42.123456789"), 1598975922.123456789);
  assert.equal(parseJsonTimestamp("2020-09-01T15:58:42.1234567891"), 1598975922.123456789);
  assert.equal(parseJsonTimestamp("2020-09-01T15:58:42.372Z"), 1598975922.372);
  assert.equal(parseJsonTimestamp("2024-02-29T00:00:00"), 1709164800);
  for (
    const bad of [
      "2023-02-29T00:00:00",
      "2020-13-01T00:00:00",
      "2020-00-01T00:00:00",
      "2020-01-01T24:00:00",
      "2020-01-01T00:60:00",
      "2020-01-01T00:00:60",
      "2020-01-01 00:00:00",
      "2020-01-01T00:00:00.",
      "2020-01-01T00:00:00+01:00",
      "20-01-01T00:00:00",
      "2300-01-01T00:00:00",
      "",
    ]
  ) {
    assert.equal(parseJsonTimestamp(bad), undefined, bad);
    assert.throws(
      () => fromText(`{"@data-type":"timestamp","data":${JSON.stringify(bad)}}`, T.time),
      BrokerDecodeError,
    );
  }
  const random = prng(5);
  for (let i = 0; i < 500; i++) {
    const millis = Math.floor(random() * 4e12);
    const text = formatJsonTimestamp(millis / 1000);
    assert.equal(formatJsonTimestamp(parseJsonTimestamp(text)!), text);
    assert.equal(parseJsonTimestamp(text), millis / 1000);
  }
});

Deno.test("timespans: coarsest exact unit out, min/h/d also in", () => {
  assert.equal(formatJsonTimespan(0), "0s");
  assert.equal(formatJsonTimespan(-0), "0s");
  assert.equal(formatJsonTimespan(60), "60s");
  assert.equal(formatJsonTimespan(0.001), "1ms");
  assert.equal(formatJsonTimespan(1.000001), "1000001us");
  assert.equal(formatJsonTimespan(1.000000002), "1000000002ns");
  assert.equal(formatJsonTimespan(-2.5), "-2500ms");
  const inputs: [string, number][] = [
    ["0s", 0],
    ["42s", 42],
    ["1500ms", 1.5],
    ["2us", 0.000002],
    ["-7ns", -7e-9],
    ["3min", 180],
    ["2h", 7200],
    ["1d", 86400],
    ["0ns", 0],
  ];
  for (const [text, seconds] of inputs) {
    assert.equal(parseJsonTimespan(text), seconds, text);
    assert.equal(fromText(`{"@data-type":"timespan","data":"${text}"}`, T.interval), seconds);
  }
  for (const bad of ["", "5", "s", "1.5s", "5 s", "+5s", "5sec", "5S", "99999999999d"]) {
    assert.equal(parseJsonTimespan(bad), undefined, bad);
  }
});

Deno.test("addresses, subnets and ports are checked and normalised on input", () => {
  assert.equal(fromText('{"@data-type":"address","data":"2001:DB8::0:1"}', T.addr), "2001:db8::1");
  assert.equal(fromText('{"@data-type":"address","data":"::ffff:10.1.2.3"}', T.addr), "10.1.2.3");
  assert.equal(fromText('{"@data-type":"subnet","data":"10.1.2.3/8"}', T.subnet), "10.0.0.0/8");
  assert.equal(fromText('{"@data-type":"port","data":"0/?"}', T.port), "0/unknown");
  assert.equal(fromText('{"@data-type":"port","data":"8/icmp"}', T.port), "8/icmp");
  for (
    const bad of [
      '{"@data-type":"address","data":"1.2.3"}',
      '{"@data-type":"address","data":5}',
      '{"@data-type":"subnet","data":"10.0.0.0/40"}',
      '{"@data-type":"port","data":"80"}',
      '{"@data-type":"port","data":"70000/tcp"}',
    ]
  ) {
    assert.throws(() => jsonToData(parseBrokerJson(bad)), BrokerDecodeError, bad);
  }
});

Deno.test("jsonToValue() checks declared types and names the position", () => {
  const type = T.table(T.string, T.vector(T.count));
  const text = json(new Map([["k", [1, 2]]]), type);
  assert.deepEqual(fromText(text, type), new Map([["k", [1, 2]]]));
  assert.throws(
    () => fromText(text, T.table(T.string, T.vector(T.int))),
    (error: unknown) =>
      error instanceof BrokerDecodeError && error.path === "[0].value[0]" &&
      error.expected === "int" &&
      error.found === "count",
  );
  assert.throws(
    () =>
      fromText(
        '{"@data-type":"vector","data":[{"@data-type":"money","data":0}]}',
        T.vector(T.count),
      ),
    (error: unknown) =>
      error instanceof BrokerDecodeError && error.path === "[0]" &&
      /known @data-type/.test(error.message),
  );
  assert.throws(
    () => fromText('{"@data-type":"table","data":[{"key":{}}]}', T.table(T.any, T.any)),
    BrokerDecodeError,
  );
  assert.throws(
    () => fromText('{"@data-type":"vector","data":{}}', T.vector(T.any)),
    BrokerDecodeError,
  );
  assert.throws(() => jsonToValue([], T.any), BrokerDecodeError);
  assert.throws(() => jsonToValue(null, T.any), BrokerDecodeError);
});

Deno.test("JSON and binary decode to the same values", () => {
  const types: ZeekType[] = [
    T.string,
    T.count,
    T.int,
    T.double,
    T.time,
    T.interval,
    T.addr,
    T.subnet,
    T.port,
    T.enum("E"),
    T.table(T.string, T.set(T.addr)),
    T.vector(T.any),
    T.pattern,
    T.bool,
    T.record("R", [["x", T.count], ["y", T.port, "optional"]]),
  ];
  const values: ZeekValue[] = [
    "naïve",
    2n ** 63n,
    -7,
    Math.PI,
    1700000000.25,
    -0.5,
    "2001:db8::1",
    "10.0.0.0/8",
    "443/tcp",
    "E::A",
    new Map<ZeekValue, ZeekValue>([["k", ["1.2.3.4", "::2"]]]),
    [{ type: T.count, value: 1 }, undefined, { type: T.vector(T.any), value: [] }],
    "^?(x)$?",
    true,
    { x: 1, y: undefined },
  ];
  const writer = new ByteWriter();
  for (let i = 0; i < types.length; i++) {
    const type = types[i]!;
    writer.reset();
    encodeValue(writer, values[i], type);
    const fromBinary = decodeValue(writer.bytes(), type);
    assert.deepEqual(fromText(json(values[i], type), type), fromBinary, type.kind);
    assert.equal(
      JSON.stringify(dataToJson(decodeData(writer.bytes()))),
      json(values[i], type),
      type.kind,
    );
  }
  const bytes = encodeEventToBytes("ev", values, types, [{ key: 1, value: 1.5 }]);
  const eventJson = JSON.stringify(eventToJsonData("ev", values, types, [{ key: 1, value: 1.5 }]));
  assert.equal(JSON.stringify(dataToJson(decodeData(bytes))), eventJson);
  assert.deepEqual(jsonToEvent(parseBrokerJson(eventJson), () => types).args, values);
  assert.deepEqual(jsonToEvent(parseBrokerJson(eventJson), () => undefined).args[9], {
    type: UNKNOWN_ENUM,
    value: "E::A",
  });
});

/** A ping data message; `topic` is JSON text, or null to leave the topic out. */
function dataMessage(
  args: string,
  topic: string | null = '"/zeek/event/my_topic"',
  name = "ping",
): string {
  return `{"type":"data-message",${
    topic === null ? "" : `"topic":${topic},`
  }"@data-type":"vector","data":[` +
    `{"@data-type":"count","data":1},{"@data-type":"count","data":1},{"@data-type":"vector","data":[` +
    `{"@data-type":"string","data":"${name}"},{"@data-type":"vector","data":${args}}]}]}`;
}

function contextOf(message: unknown): string | undefined {
  const result = decodeJsonEvent(message, lookupPing);
  if (result.ok) return undefined;
  assert.equal(result.error.type, "error");
  assert.equal(result.error.code, "deserialization_failed");
  assert.ok(result.reason.length > 0);
  return result.error.context;
}

Deno.test("decodeJsonEvent() gives Zeek's errors for Zeek's bad-event-args test", () => {
  const decodeFailed = "failed to decode JSON object";
  const createFailed = "failed to create Zeek event";
  assert.equal(contextOf(dataMessage("42")), decodeFailed);
  assert.equal(contextOf(dataMessage('[{"@data-type":"string","data":"Hello"}]')), createFailed);
  assert.equal(
    contextOf(
      dataMessage('[{"@data-type":"count","data":42},{"@data-type":"string","data":"Hello"}]'),
    ),
    createFailed,
  );
  assert.equal(
    contextOf(
      dataMessage('[{"@data-type":"string","data":"Hello"},{"@data-type":"count","data":42}]'),
    ),
    undefined,
  );
  assert.equal(contextOf(dataMessage('[{"@data-type":"money","data":0}]')), decodeFailed);
  const result = decodeJsonEvent(dataMessage("[]"), lookupPing);
  assert.ok(!result.ok);
  assert.equal(
    JSON.stringify(result.error),
    '{"type":"error","code":"deserialization_failed","context":"failed to create Zeek event"}',
  );
});

Deno.test("decodeJsonEvent() reports every error context", () => {
  const good = '[{"@data-type":"string","data":"Hello"},{"@data-type":"count","data":42}]';
  const cases: [unknown, string][] = [
    ["{not json", "failed to decode JSON object"],
    ["", "failed to decode JSON object"],
    ["[1,2]", "failed to decode JSON object"],
    ['"text"', "failed to decode JSON object"],
    [null, "failed to decode JSON object"],
    [42, "failed to decode JSON object"],
    ['{"type":"data-message","topic":"t"}', "failed to decode JSON object"],
    [dataMessage('[{"@data-type":"count","data":4.5}]'), "failed to decode JSON object"],
    [dataMessage(good, null), "no topic in top-level JSON object"],
    [dataMessage(good, "7"), "no topic in top-level JSON object"],
    [dataMessage(good, "null"), "no topic in top-level JSON object"],
    [dataMessage(good, '"t"', "pong"), "failed to create Zeek event"],
    [
      dataMessage(`[${good.slice(1, -1)},{"@data-type":"count","data":1}]`),
      "failed to create Zeek event",
    ],
    ['{"topic":"t","@data-type":"count","data":1}', "failed to create Zeek event"],
    [
      '{"topic":"t","@data-type":"vector","data":[{"@data-type":"count","data":2},{"@data-type":"count","data":1},' +
      `{"@data-type":"vector","data":[{"@data-type":"string","data":"ping"},{"@data-type":"vector","data":${good}}]}]}`,
      "failed to create Zeek event",
    ],
    [
      '{"topic":"t","@data-type":"vector","data":[{"@data-type":"count","data":1},{"@data-type":"count","data":1},' +
      `{"@data-type":"vector","data":[{"@data-type":"string","data":"ping"},{"@data-type":"vector","data":${good}},` +
      '{"@data-type":"vector","data":[{"@data-type":"vector","data":[{"@data-type":"count","data":1},' +
      '{"@data-type":"string","data":"not a time"}]}]}]}]}',
      "failed to create Zeek event",
    ],
  ];
  for (const [message, context] of cases) {
    assert.equal(contextOf(message), context, String(message));
  }
});

Deno.test("decodeJsonEvent() reads metadata and keeps 64-bit integers exact", () => {
  const message = JSON.stringify(
    encodeJsonEvent("t", "big", [2n ** 64n - 1n, 1.0], [T.count, T.double], [{
      key: 1,
      value: 1700000000.5,
    }]),
  );
  assert.match(message, /"data":18446744073709551615\}/);
  assert.match(message, /"data":1\.0\}/);
  const result = decodeJsonEvent(message, () => [T.count, T.double]);
  assert.deepEqual(result, {
    ok: true,
    topic: "t",
    name: "big",
    args: [2n ** 64n - 1n, 1],
    metadata: [{ key: 1, value: 1700000000.5 }],
    declared: true,
  });
});

Deno.test("decodeJsonEvent() never throws, whatever the text", () => {
  const random = prng(4242);
  const alphabet = '{}[]",:0123456789.-eE@ abcdefghijklmnopqrstuvwxyz\\/';
  for (let n = 0; n < 2000; n++) {
    const chars = EXAMPLE_2.split("");
    const edits = 1 + Math.floor(random() * 5);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * chars.length);
      const roll = random();
      if (roll < 0.4) chars[at] = alphabet[Math.floor(random() * alphabet.length)]!;
      else if (roll < 0.7) chars.splice(at, 1);
      else chars.splice(at, 0, alphabet[Math.floor(random() * alphabet.length)]!);
    }
    const result = decodeJsonEvent(chars.join(""), lookupPing);
    assert.equal(typeof result.ok, "boolean");
  }
  let deep = '{"@data-type":"count","data":1}';
  for (let i = 0; i < 5000; i++) deep = `{"@data-type":"vector","data":[${deep}]}`;
  assert.equal(contextOf(`{"topic":"t",${deep.slice(1)}`), "failed to decode JSON object");
});

Deno.test("parseBrokerJson() keeps number source text and reports bad JSON as BrokerDecodeError", () => {
  const parsed = parseBrokerJson('{"a":1,"b":1.0,"c":12345678901234567890,"d":[2e3]}') as Record<
    string,
    unknown
  >;
  assert.equal(parsed["a"], 1);
  assert.equal(JSON.stringify(parsed), '{"a":1,"b":1.0,"c":12345678901234567890,"d":[2e3]}');
  assert.throws(() => parseBrokerJson("{"), BrokerDecodeError);
});
