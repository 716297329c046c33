import assert from "node:assert/strict";
import { T, type ZeekType, type ZeekValue } from "../../zeek/types.ts";
import type { LogColumn } from "./stream.ts";
import { ByteWriter } from "../../zeek/bytes.ts";
import {
  LogDecodeError,
  LogEncodeError,
  type LogWriteHeader,
  ZEEK_TYPE_TAG,
} from "./log_batch_format.ts";
import { encodeLogBatch, typeTag } from "./log_batch_encoder.ts";
import { decodeLogBatch } from "./log_batch_decoder.ts";

const HEADER: LogWriteHeader = Object.freeze({
  streamId: "Conn::LOG",
  writerName: "Log::WRITER_ASCII",
  filterName: "default",
  path: "conn",
});

function col(name: string, type: ZeekType, optional = false): LogColumn {
  return { name, type, optional };
}

/** Big-endian bytes from a list of numbers (bytes) and strings (their ASCII bytes). */
function be(...parts: (number | string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "string") { for (const c of p) out.push(c.charCodeAt(0)); }
    else if (Array.isArray(p)) out.push(...p);
    else out.push(p);
  }
  return Uint8Array.from(out);
}
const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const str = (s: string) => [...u32(s.length), ...[...s].map((c) => c.charCodeAt(0))];

/** The batch header every test below shares, written out by hand from the spec. */
const HEADER_BYTES = [
  ...str("Conn::LOG"),
  ...str("Log::WRITER_ASCII"),
  ...str("default"),
  ...str("conn"),
];

Deno.test("layout pinned: 2 fields, 1 record (addr, port) matches hand-built bytes", () => {
  const expected = be(
    HEADER_BYTES,
    [0, 0, 0, 2], // u32 field count
    // field 1: no secondary name, "id.orig_h", type 11 (addr), subtype 0, not optional
    0x00,
    [0, 0, 0, 9],
    "id.orig_h",
    [0, 0, 0, 11],
    [0, 0, 0, 0],
    0x00,
    // field 2: "id.resp_p", type 10 (port), subtype 0, optional
    0x00,
    [0, 0, 0, 9],
    "id.resp_p",
    [0, 0, 0, 10],
    [0, 0, 0, 0],
    0x01,
    [0, 0, 0, 1], // u32 record count
    // value 1: type 11, subtype 0, present, family 4, 10.0.0.1
    [0, 0, 0, 11],
    [0, 0, 0, 0],
    0x01,
    0x04,
    [10, 0, 0, 1],
    // value 2: type 10, subtype 0, present, u64 80, i32 proto 1 (tcp)
    [0, 0, 0, 10],
    [0, 0, 0, 0],
    0x01,
    [0, 0, 0, 0, 0, 0, 0, 80],
    [0, 0, 0, 1],
  );
  const fields = [col("id.orig_h", T.addr), col("id.resp_p", T.port, true)];
  const got = encodeLogBatch(new ByteWriter(16), HEADER, fields, [["10.0.0.1", "80/tcp"]]);
  assert.deepEqual([...got], [...expected]);
  const back = decodeLogBatch(expected);
  assert.equal(back.streamId, "Conn::LOG");
  assert.equal(back.writerName, "Log::WRITER_ASCII");
  assert.equal(back.filterName, "default");
  assert.equal(back.path, "conn");
  assert.deepEqual(back.fields, fields);
  assert.deepEqual(back.rows, [["10.0.0.1", "80/tcp"]]);
});

Deno.test("layout pinned: subnet length in IPv6 bits, set with element type as field subtype, unset value", () => {
  const expected = be(
    HEADER_BYTES,
    [0, 0, 0, 3],
    0x00,
    str("sn"),
    [0, 0, 0, 12],
    [0, 0, 0, 0],
    0x01,
    0x00,
    str("tags"),
    [0, 0, 0, 14], // TYPE_TABLE
    [0, 0, 0, 7], // of string
    0x01,
    0x00,
    str("c"),
    [0, 0, 0, 3],
    [0, 0, 0, 0],
    0x01,
    [0, 0, 0, 1],
    // 10.0.0.0/8: length 104 (8 + 96), family 4, address
    [0, 0, 0, 12],
    [0, 0, 0, 0],
    0x01,
    104,
    0x04,
    [10, 0, 0, 0],
    // set of 2: the container value carries subtype 0, i64 count, then typed elements
    [0, 0, 0, 14],
    [0, 0, 0, 0],
    0x01,
    [0, 0, 0, 0, 0, 0, 0, 2],
    [0, 0, 0, 7],
    [0, 0, 0, 0],
    0x01,
    str("a"),
    [0, 0, 0, 7],
    [0, 0, 0, 0],
    0x01,
    str("b"),
    // unset count: type, subtype, not present, no body
    [0, 0, 0, 3],
    [0, 0, 0, 0],
    0x00,
  );
  const fields = [
    col("sn", T.subnet, true),
    col("tags", T.set(T.string), true),
    col("c", T.count, true),
  ];
  const got = encodeLogBatch(new ByteWriter(), HEADER, fields, [[
    "10.0.0.0/8",
    ["a", "b"],
    undefined,
  ]]);
  assert.deepEqual([...got], [...expected]);
  assert.deepEqual(decodeLogBatch(expected).rows, [["10.0.0.0/8", ["a", "b"], undefined]]);
});

Deno.test("layout pinned: bool/int as i64, count u64, double f64, IPv6 address, enum as string", () => {
  const fields = [
    col("b", T.bool),
    col("i", T.int),
    col("c", T.count),
    col("d", T.interval),
    col("a", T.addr),
    col("e", T.enum("transport_proto")),
  ];
  const got = encodeLogBatch(new ByteWriter(), HEADER, fields, [[
    true,
    -2,
    2n ** 64n - 1n,
    1.5,
    "2001:db8::1",
    "tcp",
  ]]);
  const values = be(
    [0, 0, 0, 1],
    [0, 0, 0, 0],
    1,
    [0, 0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 2],
    [0, 0, 0, 0],
    1,
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe],
    [0, 0, 0, 3],
    [0, 0, 0, 0],
    1,
    [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    [0, 0, 0, 6],
    [0, 0, 0, 0],
    1,
    [0x3f, 0xf8, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 11],
    [0, 0, 0, 0],
    1,
    6,
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 9],
    [0, 0, 0, 0],
    1,
    str("tcp"),
  );
  assert.deepEqual([...got.subarray(got.length - values.length)], [...values]);
  assert.deepEqual(decodeLogBatch(got).rows, [[
    true,
    -2,
    2n ** 64n - 1n,
    1.5,
    "2001:db8::1",
    "tcp",
  ]]);
});

Deno.test("type tags follow Zeek's TypeTag numbers", () => {
  assert.deepEqual(ZEEK_TYPE_TAG, {
    void: 0,
    bool: 1,
    int: 2,
    count: 3,
    double: 4,
    time: 5,
    interval: 6,
    string: 7,
    enum: 9,
    port: 10,
    addr: 11,
    subnet: 12,
    table: 14,
    func: 17,
    file: 18,
    vector: 19,
  });
  assert.deepEqual(typeTag(T.vector(T.addr)), { type: 19, subtype: 11 });
  assert.deepEqual(typeTag(T.time), { type: 5, subtype: 0 });
  assert.throws(() => typeTag(T.pattern), LogEncodeError);
});

const ALL_FIELDS = [
  col("ts", T.time),
  col("uid", T.string),
  col("id.orig_h", T.addr),
  col("id.orig_p", T.port),
  col("id.resp_h", T.addr),
  col("id.resp_p", T.port),
  col("proto", T.enum("transport_proto")),
  col("service", T.string, true),
  col("duration", T.interval, true),
  col("orig_bytes", T.count, true),
  col("local_orig", T.bool, true),
  col("delta", T.int, true),
  col("ratio", T.double, true),
  col("net", T.subnet, true),
  col("tunnel_parents", T.set(T.string), true),
  col("ports", T.vector(T.port), true),
  col("hosts", T.vector(T.addr), true),
];

const ALL_ROWS: ZeekValue[][] = [
  [
    1300475167.096535,
    "CHhAvVGS1DHFjwGM9",
    "10.0.0.1",
    "47808/udp",
    "224.2.127.254",
    "9875/udp",
    "udp",
    undefined,
    0.000139,
    552,
    false,
    -7,
    -0.25,
    "2001:db8::/32",
    [],
    ["8/icmp", "0/unknown"],
    ["::1", undefined, "192.168.0.1"],
  ],
  [
    1e9,
    new Uint8Array([0x41, 0xff, 0x00]),
    "fe80::1",
    "65535/tcp",
    "0.0.0.0",
    "0/tcp",
    "unknown_transport",
    "dns,ntp",
    undefined,
    2n ** 60n,
    true,
    -(2n ** 62n),
    NaN,
    "0.0.0.0/0",
    ["CHhAvVGS1DHFjwGM9", "ClEkJM2Vm5giqnMf4h"],
    undefined,
    [],
  ],
];

Deno.test("round trip of every loggable type, through filter indices", () => {
  const writer = new ByteWriter(8);
  const bytes = encodeLogBatch(writer, HEADER, ALL_FIELDS, ALL_ROWS);
  const back = decodeLogBatch(bytes.slice());
  assert.deepEqual(
    back.fields.map((f) => [f.name, f.type.kind, f.optional]),
    ALL_FIELDS.map((f) => [f.name, f.type.kind, f.optional]),
  );
  assert.deepEqual(back.rows, ALL_ROWS);
  // A filter that keeps three columns in a different row layout.
  const picked = encodeLogBatch(
    writer,
    { ...HEADER, filterName: "short", path: "conn-short" },
    [
      ALL_FIELDS[1]!,
      ALL_FIELDS[9]!,
    ],
    ALL_ROWS,
    Int32Array.from([1, 9]),
  );
  const b2 = decodeLogBatch(picked);
  assert.equal(b2.path, "conn-short");
  assert.deepEqual(b2.rows, ALL_ROWS.map((r) => [r[1], r[9]]));
});

Deno.test("an empty batch and names beyond ASCII survive", () => {
  const bytes = encodeLogBatch(new ByteWriter(), { ...HEADER, path: "könig" }, [
    col("s", T.string),
  ], []);
  const back = decodeLogBatch(bytes);
  assert.equal(back.path, "könig");
  assert.deepEqual(back.rows, []);
});

Deno.test("encoding refuses values that cannot be sent, naming the column", () => {
  const w = new ByteWriter();
  assert.throws(
    () => encodeLogBatch(w, HEADER, [col("a", T.addr)], [["10.0.0.300"]]),
    (e: unknown) => e instanceof LogEncodeError && /column "a".*not a valid addr/.test(e.message),
  );
  assert.throws(
    () => encodeLogBatch(w, HEADER, [col("p", T.port)], [["80/sctp"]]),
    /not a valid port/,
  );
  assert.throws(
    () => encodeLogBatch(w, HEADER, [col("n", T.subnet)], [["10.0.0.0"]]),
    /not a valid subnet/,
  );
});

Deno.test("decoding: every truncation of a valid batch raises LogDecodeError", () => {
  const bytes = encodeLogBatch(new ByteWriter(), HEADER, ALL_FIELDS, ALL_ROWS).slice();
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(
      () => decodeLogBatch(bytes.subarray(0, n)),
      LogDecodeError,
      `prefix of ${n} bytes`,
    );
  }
  assert.throws(() => decodeLogBatch(Uint8Array.from([...bytes, 0])), /1 bytes left over/);
});

Deno.test("decoding: garbled bytes never raise anything but LogDecodeError", () => {
  const valid = encodeLogBatch(new ByteWriter(), HEADER, ALL_FIELDS, ALL_ROWS).slice();
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  let decoded = 0;
  for (let i = 0; i < 3000; i++) {
    const bytes = valid.slice();
    const flips = 1 + (rand() % 4);
    for (let k = 0; k < flips; k++) bytes[rand() % bytes.length] = rand() & 0xff;
    try {
      decodeLogBatch(bytes);
      decoded++;
    } catch (err) {
      if (!(err instanceof LogDecodeError)) throw err;
    }
  }
  assert.ok(decoded < 3000);
  for (let i = 0; i < 500; i++) {
    const junk = Uint8Array.from({ length: rand() % 200 }, () => rand() & 0xff);
    try {
      decodeLogBatch(junk);
    } catch (err) {
      if (!(err instanceof LogDecodeError)) throw err;
    }
  }
});

Deno.test("decoding: huge counts and bad tags are refused before any allocation", () => {
  const head = [...HEADER_BYTES];
  const cases: [number[], RegExp][] = [
    [[...head, 0xff, 0xff, 0xff, 0xff], /field count 4294967295 exceeds 4096/],
    [[...head, 0, 0, 0x0f, 0xff], /4095 fields need at least/],
    [
      [...head, 0, 0, 0, 1, 0, ...str("x"), 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      /unsupported type tag 8/,
    ],
    [
      [...head, 0, 0, 0, 1, 0, ...str("x"), 0, 0, 0, 3, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
      /records need at least/,
    ],
    [[...head, 0, 0, 0, 1, 2, ...new Array(16).fill(0)], /bool byte is 2/],
    [[0xff, 0xff, 0xff, 0xff], /exceeds 4096/],
    [
      [
        ...head,
        0,
        0,
        0,
        1,
        0,
        ...str("x"),
        0,
        0,
        0,
        14,
        0,
        0,
        0,
        7,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        14,
        0,
        0,
        0,
        0,
        1,
        0x7f,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
      ],
      /container size .* is impossible/,
    ],
    [
      [
        ...head,
        0,
        0,
        0,
        1,
        0,
        ...str("x"),
        0,
        0,
        0,
        11,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        11,
        0,
        0,
        0,
        0,
        1,
        5,
        1,
        2,
        3,
        4,
      ],
      /address family 5/,
    ],
    [
      [
        ...head,
        0,
        0,
        0,
        1,
        0,
        ...str("x"),
        0,
        0,
        0,
        11,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        7,
        0,
        0,
        0,
        0,
        0,
      ],
      /has type 7, expected 11/,
    ],
    [
      [
        ...head,
        0,
        0,
        0,
        1,
        0,
        ...str("x"),
        0,
        0,
        0,
        10,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        10,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        80,
        0,
        0,
        0,
        9,
      ],
      /port protocol 9/,
    ],
    [
      [
        ...head,
        0,
        0,
        0,
        1,
        0,
        ...str("x"),
        0,
        0,
        0,
        12,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        12,
        0,
        0,
        0,
        0,
        1,
        8,
        4,
        10,
        0,
        0,
        0,
      ],
      /subnet length 8 is out of range for an IPv4 network/,
    ],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(
      () => decodeLogBatch(Uint8Array.from(bytes)),
      (e: unknown) => e instanceof LogDecodeError && re.test(e.message),
      String(re),
    );
  }
});

Deno.test("the batch writer is reused without reallocating once grown", () => {
  const w = new ByteWriter(16);
  const first = encodeLogBatch(w, HEADER, ALL_FIELDS, ALL_ROWS);
  const buffer = first.buffer;
  const second = encodeLogBatch(w, HEADER, ALL_FIELDS, ALL_ROWS);
  assert.equal(second.buffer, buffer);
  assert.equal(second.length, first.length);
});

Deno.test("strings: 'bytes' decodes string values as views into the payload, same bytes as the text", () => {
  const bytes = encodeLogBatch(new ByteWriter(), HEADER, ALL_FIELDS, ALL_ROWS).slice();
  const text = decodeLogBatch(bytes);
  const raw = decodeLogBatch(bytes, { strings: "bytes" });
  const enc = new TextEncoder();
  const asBytes = (v: ZeekValue): ZeekValue =>
    typeof v === "string" ? enc.encode(v) : Array.isArray(v) ? v.map(asBytes) : v;
  raw.rows.forEach((row, r) =>
    row.forEach((v, i) => {
      const type = ALL_FIELDS[i]!.type;
      const kind = type.kind;
      if (kind === "string" || kind === "enum") {
        assert.ok(
          v === undefined || (v instanceof Uint8Array && v.buffer === bytes.buffer),
          `row ${r} field ${i}`,
        );
        assert.deepEqual(v, asBytes(text.rows[r]![i]));
      } else if (type.kind === "set" && type.of.kind === "string") {
        assert.deepEqual(v, asBytes(text.rows[r]![i]));
      } else {
        assert.deepEqual(v, text.rows[r]![i]);
      }
    })
  );
  // Field names and the header stay text.
  assert.equal(raw.streamId, "Conn::LOG");
  assert.equal(raw.fields[1]!.name, "uid");
});
