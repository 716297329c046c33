import assert from "node:assert/strict";
import { T, type TypedValue, type ZeekType, type ZeekValue } from "../../zeek/types.ts";
import { ByteReader, ByteWriter } from "../../zeek/bytes.ts";
import {
  BROKER_TAG,
  type BrokerData,
  brokerDataToAny,
  brokerDataToValue,
  MAX_NESTING_DEPTH,
} from "./broker_data.ts";
import { encodeData, encodeValue } from "./broker_bin_encode.ts";
import { decodeData, decodeValue } from "./broker_bin_decode.ts";
import { decodeEvent, encodeEventToBytes } from "./broker_event.ts";
import { nanosToSeconds, secondsToNanos } from "./nanos.ts";
import { BrokerDecodeError, BrokerEncodeError } from "./codec_errors.ts";
import { bytesOf, u64 } from "./_testing.ts";
import { mulberry32 as prng } from "../../testing/prng.ts";

function encoded(value: ZeekValue, type: ZeekType): Uint8Array {
  const writer = new ByteWriter(16);
  encodeValue(writer, value, type);
  return writer.bytes().slice();
}

function roundTrip(value: ZeekValue, type: ZeekType): ZeekValue {
  return decodeValue(encoded(value, type), type);
}

const NODE_STATUS: readonly ZeekType[] = [T.string, T.count];
const TIMESTAMP = 1700000000.5;
const TIMESTAMP_NANOS = 1700000000500000000n;

Deno.test("scalar values encode with the documented tags and bodies", () => {
  assert.deepEqual(encoded(true, T.bool), bytesOf(1, 1));
  assert.deepEqual(encoded(false, T.bool), bytesOf(1, 0));
  assert.deepEqual(encoded(42, T.count), bytesOf(2, u64(42n)));
  assert.deepEqual(encoded(-2, T.int), bytesOf(3, u64(-2n)));
  assert.deepEqual(encoded(1.5, T.double), bytesOf(4, [0x3f, 0xf8, 0, 0, 0, 0, 0, 0]));
  assert.deepEqual(encoded("hé", T.string), bytesOf(5, 3, "hé"));
  assert.deepEqual(
    encoded("10.0.0.1", T.addr),
    bytesOf(6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]),
  );
  assert.deepEqual(
    encoded("10.0.0.0/8", T.subnet),
    bytesOf(7, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0], 104),
  );
  assert.deepEqual(encoded("80/tcp", T.port), bytesOf(8, 0, 80, 1));
  assert.deepEqual(encoded("53/udp", T.port), bytesOf(8, 0, 53, 2));
  assert.deepEqual(encoded("8/icmp", T.port), bytesOf(8, 0, 8, 3));
  assert.deepEqual(encoded("0/unknown", T.port), bytesOf(8, 0, 0, 0));
  assert.deepEqual(encoded(1.5, T.time), bytesOf(9, u64(1_500_000_000n)));
  assert.deepEqual(encoded(-0.25, T.interval), bytesOf(10, u64(-250_000_000n)));
  assert.deepEqual(
    encoded("Cluster::WORKER", T.enum("Cluster::NodeType")),
    bytesOf(11, 15, "Cluster::WORKER"),
  );
  assert.deepEqual(encoded(["a"], T.set(T.string)), bytesOf(12, 1, 5, 1, "a"));
  assert.deepEqual(
    encoded(new Map([["k", 1]]), T.table(T.string, T.count)),
    bytesOf(13, 1, 5, 1, "k", 2, u64(1n)),
  );
  assert.deepEqual(encoded([], T.vector(T.count)), bytesOf(14, 0));
  assert.deepEqual(encoded(undefined, T.any), bytesOf(0));
});

Deno.test("every type round-trips through encodeValue() and decodeValue()", () => {
  const cases: [ZeekValue, ZeekType][] = [
    [true, T.bool],
    [false, T.bool],
    [0, T.count],
    [Number.MAX_SAFE_INTEGER, T.count],
    [2n ** 53n, T.count],
    [2n ** 64n - 1n, T.count],
    [0, T.int],
    [-1, T.int],
    [-Number.MAX_SAFE_INTEGER, T.int],
    [Number.MAX_SAFE_INTEGER, T.int],
    [-(2n ** 63n), T.int],
    [2n ** 63n - 1n, T.int],
    [-(2n ** 53n), T.int],
    [0.1, T.double],
    [-1e308, T.double],
    [Number.NaN, T.double],
    [Number.POSITIVE_INFINITY, T.double],
    [5e-324, T.double],
    [1700000000.123456, T.time],
    [0, T.time],
    [-86400.5, T.time],
    [0.000000001, T.interval],
    [-3600, T.interval],
    ["", T.string],
    ["plain", T.string],
    ["ünïcödé ✓ 𝄞", T.string],
    ["x".repeat(300), T.string],
    ["é".repeat(200), T.string],
    [new Uint8Array([0xff, 0xfe, 0x00]), T.string],
    ["192.168.1.1", T.addr],
    ["::", T.addr],
    ["2001:db8::ff00:42:8329", T.addr],
    ["fe80::1", T.addr],
    ["10.0.0.0/8", T.subnet],
    ["192.168.1.128/25", T.subnet],
    ["0.0.0.0/0", T.subnet],
    ["2001:db8::/32", T.subnet],
    ["::/0", T.subnet],
    ["::1/128", T.subnet],
    ["80/tcp", T.port],
    ["53/udp", T.port],
    ["8/icmp", T.port],
    ["0/unknown", T.port],
    ["65535/tcp", T.port],
    ["Cluster::WORKER", T.enum("Cluster::NodeType")],
    ["^?(foo)$?", T.pattern],
    [["a", "b"], T.set(T.string)],
    [[1, 2, 3], T.vector(T.count)],
    [[[1], [], [2, 3]], T.vector(T.vector(T.int))],
    [
      new Map<ZeekValue, ZeekValue>([["10.0.0.1", ["80/tcp", "53/udp"]]]),
      T.table(T.addr, T.set(T.port)),
    ],
    [new Map<ZeekValue, ZeekValue>(), T.table(T.string, T.string)],
    [["::1", "1.2.3.4"], T.set(T.addr)],
  ];
  for (const [value, type] of cases) {
    assert.deepEqual(roundTrip(value, type), value, `${type.kind} ${String(value)}`);
  }
});

Deno.test("records encode as vectors of all fields with unset fields as none", () => {
  const endpoint = T.record("Cluster::EndpointInfo", [
    ["id", T.string],
    ["network", T.record("Cluster::NetworkInfo", [["address", T.string], ["bound_port", T.port]])],
    ["application_name", T.string, "optional"],
  ]);
  const value = {
    id: "node-1",
    network: { address: "127.0.0.1", bound_port: "27759/tcp" },
    application_name: undefined,
  };
  const bytes = encoded(value, endpoint);
  assert.deepEqual(
    bytes,
    bytesOf(14, 3, 5, 6, "node-1", 14, 2, 5, 9, "127.0.0.1", 8, 0x6c, 0x6f, 1, 0),
  );
  assert.deepEqual(decodeValue(bytes, endpoint), value);
  assert.deepEqual(roundTrip({ ...value, application_name: "app" }, endpoint), {
    ...value,
    application_name: "app",
  });
  assert.throws(
    () => encoded({ id: "x", network: { address: "a" } }, endpoint),
    (error: unknown) => error instanceof BrokerEncodeError && error.path === "network.bound_port",
  );
});

Deno.test("composite table keys (record keys) travel as vectors", () => {
  const key = T.record("conn_key", [["orig", T.addr], ["resp_p", T.port]]);
  const type = T.table(key, T.count);
  const value = new Map<ZeekValue, ZeekValue>([[{ orig: "10.0.0.1", resp_p: "443/tcp" }, 7]]);
  const bytes = encoded(value, type);
  assert.equal(bytes[0], BROKER_TAG.table);
  assert.equal(bytes[2], BROKER_TAG.vector);
  assert.deepEqual(decodeValue(bytes, type), value);
});

Deno.test("patterns travel as [exact, anywhere]", () => {
  const bytes = encoded("^?(foo|bar)$?", T.pattern);
  assert.deepEqual(bytes, bytesOf(14, 2, 5, 13, "^?(foo|bar)$?", 5, 18, "^?(.|\\n)*(foo|bar)"));
  assert.deepEqual(decodeData(encoded("x", T.pattern)), {
    tag: "vector",
    value: [{ tag: "string", value: "x" }, { tag: "string", value: "^?(.|\\n)*(x)" }],
  });
});

Deno.test("any slots carry TypedValues, also nested", () => {
  const type = T.vector(T.any);
  const value: ZeekValue = [
    { type: T.count, value: 1 },
    { type: T.string, value: "two" },
    undefined,
    { type: T.vector(T.any), value: [{ type: T.addr, value: "::1" }] },
  ];
  assert.deepEqual(roundTrip(value, type), value);
  assert.deepEqual(roundTrip({ type: T.set(T.port), value: ["1/udp"] }, T.any), {
    type: T.set(T.any),
    value: [{ type: T.port, value: "1/udp" }],
  });
  assert.throws(() => encoded([3], type), BrokerEncodeError);
});

Deno.test("IPv4-mapped addresses decode to dotted quads and subnets to their network", () => {
  const mapped = bytesOf(6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
  assert.equal(decodeValue(mapped, T.addr), "192.0.2.1");
  const hostBits = bytesOf(7, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3], 104);
  assert.equal(decodeValue(hostBits, T.subnet), "10.0.0.0/8");
});

Deno.test("counts and ints become bigints exactly when beyond 2^53", () => {
  assert.equal(decodeValue(bytesOf(2, u64(2n ** 53n - 1n)), T.count), Number.MAX_SAFE_INTEGER);
  assert.equal(decodeValue(bytesOf(2, u64(2n ** 53n)), T.count), 2n ** 53n);
  assert.equal(decodeValue(bytesOf(3, u64(-(2n ** 53n) + 1n)), T.int), -Number.MAX_SAFE_INTEGER);
  assert.equal(decodeValue(bytesOf(3, u64(-(2n ** 53n))), T.int), -(2n ** 53n));
  assert.equal(decodeValue(bytesOf(3, u64(-(2n ** 63n))), T.int), -(2n ** 63n));
  assert.deepEqual(encoded(2 ** 60, T.count), bytesOf(2, u64(2n ** 60n)));
  for (const bad of [-1, 1.5, 2 ** 64, -1n, 2n ** 64n, "1", Number.NaN]) {
    assert.throws(() => encoded(bad, T.count), BrokerEncodeError, String(bad));
  }
  for (const bad of [0.5, 2 ** 63, 2n ** 63n, -(2n ** 63n) - 1n]) {
    assert.throws(() => encoded(bad, T.int), BrokerEncodeError, String(bad));
  }
});

function decimalSeconds(nanos: bigint): string {
  const digits = (nanos < 0n ? -nanos : nanos).toString().padStart(10, "0");
  return `${nanos < 0n ? "-" : ""}${digits.slice(0, -9)}.${digits.slice(-9)}`;
}

Deno.test("times round to the nearest nanosecond and back to the nearest double", () => {
  assert.equal(secondsToNanos(1.001), 1_001_000_000n);
  assert.equal(secondsToNanos(-0.5), -500_000_000n);
  assert.equal(secondsToNanos(1e-10), 0n);
  assert.equal(secondsToNanos(6e-10), 1n);
  assert.equal(nanosToSeconds(TIMESTAMP_NANOS), TIMESTAMP);
  assert.equal(nanosToSeconds(-(2n ** 63n)), -9223372036.854776);
  assert.throws(() => secondsToNanos(1e10), RangeError);
  assert.throws(() => encoded(Number.NaN, T.time), BrokerEncodeError);
  assert.throws(() => encoded(1e12, T.interval), BrokerEncodeError);
  const random = prng(1);
  for (let i = 0; i < 20000; i++) {
    const scale = [1, 1e3, 1e6, 1e9, 2e9, 9e9][i % 6]!;
    const seconds = (random() - 0.3) * scale;
    const nanos = secondsToNanos(seconds);
    // The exact decimal value of the double, rounded to ns, is the reference.
    const [whole, fraction = ""] = Math.abs(seconds).toFixed(20).split(".");
    const digits = BigInt(whole!) * 1_000_000_000n + BigInt(fraction.slice(0, 9));
    const rounded = digits + (Number(fraction[9]) >= 5 ? 1n : 0n);
    assert.equal(nanos, seconds < 0 ? -rounded : rounded, `${seconds}`);
    // parseFloat rounds correctly, so it is the reference for ns → s.
    assert.equal(nanosToSeconds(nanos), Number.parseFloat(decimalSeconds(nanos)), `${nanos}`);
    // Beyond 2^24 s a double is coarser than 1 ns, so present-day times survive the wire unchanged.
    if (Math.abs(seconds) >= 2 ** 24) {
      assert.equal(roundTrip(seconds, T.time), seconds, `${seconds}`);
    }
  }
});

Deno.test("decodeData(), encodeData() and brokerDataToValue() agree with the typed decoder", () => {
  const type = T.record("R", [
    ["n", T.count],
    ["t", T.time],
    ["s", T.set(T.subnet)],
    ["m", T.table(T.port, T.vector(T.double))],
    ["e", T.enum("E")],
    ["o", T.interval, "optional"],
    ["p", T.pattern],
    ["a", T.any],
  ]);
  const value = {
    n: 2n ** 60n,
    t: 1234567890.987654,
    s: ["10.0.0.0/8", "2001:db8::/48"],
    m: new Map<ZeekValue, ZeekValue>([["22/tcp", [0.5, -2]]]),
    e: "E::X",
    o: undefined,
    p: "^?(a)$?",
    a: { type: T.string, value: "any" } as TypedValue,
  };
  const bytes = encoded(value, type);
  const data = decodeData(bytes);
  assert.deepEqual(brokerDataToValue(data, type), decodeValue(bytes, type));
  assert.deepEqual(brokerDataToValue(data, type), value);
  const writer = new ByteWriter();
  encodeData(writer, data);
  assert.deepEqual(writer.bytes(), bytes);
  assert.deepEqual(encoded(brokerDataToAny(data), T.any), bytes);
});

Deno.test("type mismatches name the offset, the position, the expected and the found type", () => {
  const bytes = encodeEventToBytes("ping", ["Hello", 42], NODE_STATUS);
  assert.throws(
    () => decodeEvent(bytes, () => [T.string, T.string]),
    (error: unknown) => {
      assert.ok(error instanceof BrokerDecodeError);
      assert.equal(error.format, "broker-bin-v1");
      assert.equal(error.offset, 37);
      assert.equal(error.path, "args[1]");
      assert.equal(error.expected, "string");
      assert.equal(error.found, "count");
      assert.equal(
        error.message,
        "Cannot decode broker-bin-v1 data at byte 37 (args[1]): expected string, found count; " +
          "the sender's declaration differs from ours or the payload is damaged",
      );
      return true;
    },
  );
  assert.throws(
    () => decodeEvent(bytes, () => [T.string]),
    (error: unknown) =>
      error instanceof BrokerDecodeError && error.path === "args" &&
      error.expected === "1 argument of ping (string)" && error.found === "2",
  );
  const nested = encoded(
    [new Map([["k", [1, 2]]])],
    T.vector(T.table(T.string, T.vector(T.count))),
  );
  assert.throws(
    () => decodeValue(nested, T.vector(T.table(T.string, T.vector(T.int)))),
    (error: unknown) => error instanceof BrokerDecodeError && error.path === "[0][0].value[0]",
  );
  const record = T.record("R", [["a", T.count]]);
  assert.throws(
    () => decodeValue(bytesOf(14, 1, 0), record),
    (error: unknown) =>
      error instanceof BrokerDecodeError && error.path === "a" && /not optional/.test(error.found),
  );
  assert.throws(
    () => decodeValue(bytesOf(14, 2, 0, 0), record),
    (error: unknown) =>
      error instanceof BrokerDecodeError && error.expected === "1 fields of record R",
  );
});

function assertOnlyDecodeErrors(bytes: Uint8Array, context: string): void {
  const attempts: (() => unknown)[] = [
    () => decodeEvent(bytes, () => undefined),
    () => decodeEvent(bytes, () => NODE_STATUS),
    () => decodeData(bytes),
    () => decodeValue(bytes, T.vector(T.any)),
    () => decodeValue(bytes, T.table(T.addr, T.set(T.subnet))),
  ];
  for (const attempt of attempts) {
    try {
      attempt();
    } catch (error) {
      if (!(error instanceof BrokerDecodeError)) {
        assert.fail(`${context}: ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
  }
}

const RICH_TYPES: readonly ZeekType[] = [
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
];
const RICH_ARGS: ZeekValue[] = [
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
];

Deno.test("every truncation of a valid event fails with BrokerDecodeError only", () => {
  const bytes = encodeEventToBytes("Site::rich", RICH_ARGS, RICH_TYPES, [{ key: 1, value: 1.5 }]);
  assert.deepEqual(decodeEvent(bytes, () => RICH_TYPES).args, RICH_ARGS);
  for (let length = 0; length < bytes.length; length++) {
    const prefix = bytes.subarray(0, length);
    assert.throws(
      () => decodeEvent(prefix, () => RICH_TYPES),
      BrokerDecodeError,
      `prefix ${length}`,
    );
    assert.throws(() => decodeData(prefix), BrokerDecodeError, `prefix ${length}`);
    assertOnlyDecodeErrors(prefix, `prefix ${length}`);
  }
});

Deno.test("random garbage and mutated events fail with BrokerDecodeError only", () => {
  const random = prng(20260821);
  const valid = encodeEventToBytes("Site::rich", RICH_ARGS, RICH_TYPES, [{ key: 1, value: 1.5 }]);
  for (let n = 0; n < 3000; n++) {
    const garbage = new Uint8Array(Math.floor(random() * 96));
    for (let i = 0; i < garbage.length; i++) {
      // Bias towards valid tags so the decoders get past the first byte.
      garbage[i] = random() < 0.5 ? Math.floor(random() * 16) : Math.floor(random() * 256);
    }
    assertOnlyDecodeErrors(garbage, `garbage ${n}`);
    const mutated = valid.slice();
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) {
      mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
    }
    assertOnlyDecodeErrors(mutated, `mutation ${n}`);
  }
});

Deno.test("nesting deeper than MAX_NESTING_DEPTH is refused", () => {
  const nest = (depth: number) => {
    const bytes = new Uint8Array(2 * depth + 1);
    for (let i = 0; i < depth; i++) bytes.set([0x0e, 0x01], 2 * i);
    return bytes;
  };
  decodeData(nest(MAX_NESTING_DEPTH - 1));
  for (const depth of [MAX_NESTING_DEPTH, MAX_NESTING_DEPTH + 1, 100_000]) {
    assert.throws(
      () => decodeData(nest(depth)),
      (error: unknown) => error instanceof BrokerDecodeError && error.found === "deeper nesting",
    );
    assertOnlyDecodeErrors(nest(depth), `depth ${depth}`);
  }
  let deepType: ZeekType = T.count;
  for (let i = 0; i < MAX_NESTING_DEPTH + 2; i++) deepType = T.vector(deepType);
  assert.throws(() => decodeValue(nest(MAX_NESTING_DEPTH + 2), deepType), /deeper nesting/);
});

Deno.test("absurd lengths and counts are refused before anything is allocated", () => {
  const huge = [0xff, 0xff, 0xff, 0xff, 0x0f];
  const cases: [Uint8Array, RegExp][] = [
    [bytesOf(5, huge, "abc"), /expected at most 3 bytes of text, found a length of 4294967295/],
    [
      bytesOf(14, huge, 0),
      /expected at most 1 elements in the 1 bytes left, found a count of 4294967295/,
    ],
    [bytesOf(12, 0x80, 0x80, 0x01), /found a count of 16384/],
    [bytesOf(13, 2, 0, 0, 0), /expected at most 1 elements in the 3 bytes left/],
    [bytesOf(11, 0x85, 0x80, 0x80, 0x80, 0x10), /varint below 2\^32/],
    [bytesOf(5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), /varint below 2\^32/],
    [bytesOf(7, new Array(16).fill(0), 129), /prefix length of at most 128, found 129/],
    [bytesOf(8, 0, 80, 4), /port protocol of 0 to 3, found 4/],
    [bytesOf(15), /expected a tag of 0 to 14, found unknown tag 0x0f/],
    [bytesOf(11, 1, 0xff), /an enum name in UTF-8, found invalid UTF-8/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => decodeData(bytes), (error: unknown) => {
      assert.ok(error instanceof BrokerDecodeError);
      assert.match(error.message, pattern);
      return true;
    });
  }
});

Deno.test("invalid UTF-8 in a string stays bytes; ByteWriter grows and resets", () => {
  assert.deepEqual(decodeValue(bytesOf(5, 2, 0xc3, 0x28), T.string), new Uint8Array([0xc3, 0x28]));
  assert.equal(decodeValue(bytesOf(5, 3, 0xef, 0xbb, 0xbf), T.string), "\ufeff");
  const writer = new ByteWriter(16);
  const long = "ß".repeat(100_000);
  encodeValue(writer, long, T.string);
  assert.equal(writer.length, 1 + 3 + 200_000);
  assert.equal(decodeValue(writer.bytes(), T.string), long);
  writer.reset();
  assert.equal(writer.length, 0);
  encodeValue(writer, "a".repeat(127), T.string);
  assert.deepEqual(writer.bytes().subarray(0, 2), bytesOf(5, 127));
  writer.reset();
  encodeValue(writer, "é".repeat(43), T.string);
  // 43 chars reserve a 2-byte length (up to 129 bytes) but need 1: the body moves back.
  assert.deepEqual(writer.bytes().subarray(0, 3), bytesOf(5, 86, 0xc3));
  assert.equal(decodeValue(writer.bytes(), T.string), "é".repeat(43));
  const reader = new ByteReader(bytesOf(0x81, 0x01, 0x7f));
  assert.equal(reader.readVarint(), 129);
  assert.equal(reader.readVarint(), 127);
  assert.equal(reader.remaining, 0);
});

Deno.test("decoded values of every BrokerData tag convert to TypedValues", () => {
  const data: BrokerData = {
    tag: "vector",
    value: [
      { tag: "none", value: undefined },
      { tag: "real", value: 2.5 },
      { tag: "timestamp", value: 10 },
      { tag: "timespan", value: 1 },
      { tag: "address", value: "::1" },
      { tag: "subnet", value: "::/0" },
      { tag: "port", value: "1/tcp" },
    ],
  };
  assert.deepEqual(brokerDataToAny(data), {
    type: T.vector(T.any),
    value: [
      undefined,
      { type: T.double, value: 2.5 },
      { type: T.time, value: 10 },
      { type: T.interval, value: 1 },
      { type: T.addr, value: "::1" },
      { type: T.subnet, value: "::/0" },
      { type: T.port, value: "1/tcp" },
    ],
  });
});
