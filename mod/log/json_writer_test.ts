import assert from "node:assert/strict";
import { T, type ZeekType, type ZeekValue } from "../../zeek/types.ts";
import type { LogColumn } from "./stream.ts";
import { RowBuffer } from "./ascii_values.ts";
import { formatIso8601, formatJsonDouble, type JsonTimestamps, JsonWriter } from "./json_writer.ts";

const DECODER = new TextDecoder();

function col(name: string, type: ZeekType, optional = true): LogColumn {
  return { name, type, optional };
}

function render(
  fields: readonly LogColumn[],
  rows: readonly (readonly ZeekValue[])[],
  options: ConstructorParameters<typeof JsonWriter>[1] = {},
): string[] {
  const w = new JsonWriter(fields, options);
  const buf = new RowBuffer(64);
  for (const r of rows) w.appendRow(buf, r);
  const text = DECODER.decode(buf.view());
  assert.ok(text.endsWith("\n"));
  return text.slice(0, -1).split("\n");
}

function bytes(latin1: string): Uint8Array {
  return Uint8Array.from(latin1, (c) => c.charCodeAt(0));
}

Deno.test("golden: a record with every column type, as in Zeek's ascii-json baseline", () => {
  const fields = [
    col("b", T.bool),
    col("i", T.int),
    col("e", T.enum("Log::ID")),
    col("c", T.count),
    col("p", T.port),
    col("sn", T.subnet),
    col("a", T.addr),
    col("d", T.double),
    col("t", T.time),
    col("iv", T.interval),
    col("s", T.string),
    col("sc", T.set(T.count)),
    col("ss", T.set(T.string)),
    col("se", T.set(T.string)),
    col("vc", T.vector(T.count)),
    col("ve", T.vector(T.string)),
  ];
  const row: ZeekValue[] = [
    true,
    -42,
    "SSH::LOG",
    21,
    "123/tcp",
    "10.0.0.0/24",
    "1.2.3.4",
    3.14,
    1215620010.54321,
    100,
    "hurz",
    [2, 4, 1, 3],
    ["CC", "AA", "BB"],
    [],
    [10, 20, 30],
    [],
  ];
  assert.deepEqual(render(fields, [row]), [
    `{"b":true,"i":-42,"e":"SSH::LOG","c":21,"p":123,"sn":"10.0.0.0/24","a":"1.2.3.4","d":3.14,` +
    `"t":1215620010.54321,"iv":100.0,"s":"hurz","sc":[2,4,1,3],"ss":["CC","AA","BB"],"se":[],` +
    `"vc":[10,20,30],"ve":[]}`,
  ]);
  const w = new JsonWriter(fields);
  assert.equal(w.header("ssh", 0), "");
  assert.equal(w.footer(0), "");
});

Deno.test("conn-like rows: dotted keys, unset columns left out, or null when asked", () => {
  const fields = [
    col("ts", T.time, false),
    col("id.orig_h", T.addr, false),
    col("id.orig_p", T.port, false),
    col("service", T.string),
    col("tunnel_parents", T.set(T.string)),
  ];
  const row: ZeekValue[] = [1300475167.096535, "2001:db8::1", "47808/udp", undefined, undefined];
  assert.deepEqual(render(fields, [row]), [
    `{"ts":1300475167.096535,"id.orig_h":"2001:db8::1","id.orig_p":47808}`,
  ]);
  assert.deepEqual(render(fields, [row], { includeUnsetFields: true }), [
    `{"ts":1300475167.096535,"id.orig_h":"2001:db8::1","id.orig_p":47808,"service":null,"tunnel_parents":null}`,
  ]);
  assert.deepEqual(render(fields, [[undefined, undefined, undefined, "x", []]]), [
    `{"service":"x","tunnel_parents":[]}`,
  ]);
  assert.deepEqual(render([col("v", T.vector(T.int))], [[[1, undefined, 2n ** 63n - 1n]]]), [
    `{"v":[1,null,9223372036854775807]}`,
  ]);
  assert.deepEqual(render([col('we"ird', T.count)], [[1]]), [`{"we\\"ird":1}`]);
});

Deno.test("golden: doubles as in Zeek's ascii-double json baseline", () => {
  const dmax = 1.79e308;
  const inputs = [
    2153226000.0,
    2153226000.1,
    2153226000.123456789,
    1.0,
    1.1,
    1.123456789,
    -1.123456789,
    1.1234,
    .1234,
    5e4,
    -5e4,
    3.14e15,
    -3.14e15,
    dmax,
    -dmax,
    1.23456789e-5,
    2.23e-308,
    -2.23e-308,
    Infinity,
    -Infinity,
    -0.0,
    NaN,
  ];
  assert.deepEqual(render([col("d", T.double)], inputs.map((d) => [d])), [
    `{"d":2153226000.0}`,
    `{"d":2153226000.1}`,
    `{"d":2153226000.123457}`,
    `{"d":1.0}`,
    `{"d":1.1}`,
    `{"d":1.123456789}`,
    `{"d":-1.123456789}`,
    `{"d":1.1234}`,
    `{"d":0.1234}`,
    `{"d":50000.0}`,
    `{"d":-50000.0}`,
    `{"d":3140000000000000.0}`,
    `{"d":-3140000000000000.0}`,
    `{"d":1.79e308}`,
    `{"d":-1.79e308}`,
    `{"d":0.0000123456789}`,
    `{"d":2.23e-308}`,
    `{"d":-2.23e-308}`,
    `{"d":null}`,
    `{"d":null}`,
    `{"d":-0.0}`,
    `{"d":null}`,
  ]);
  assert.equal(formatJsonDouble(1e21), "1e21");
  assert.equal(formatJsonDouble(1.5e-7), "1.5e-7");
  assert.equal(formatJsonDouble(0), "0.0");
});

Deno.test("golden: json_timestamps epoch, millis, millis_unsigned and ISO 8601", () => {
  const f = [col("t", T.time)];
  const ts = (t: number, timestamps: JsonTimestamps) => render(f, [[t]], { timestamps })[0];
  assert.equal(ts(1300475167.096535, "JSON::TS_EPOCH"), `{"t":1300475167.096535}`);
  assert.equal(ts(1300475167.096535, "JSON::TS_MILLIS"), `{"t":1300475167096}`);
  assert.equal(ts(1300475167.096535, "JSON::TS_MILLIS_UNSIGNED"), `{"t":1300475167096}`);
  assert.equal(ts(1300475167.096535, "JSON::TS_ISO8601"), `{"t":"2011-03-18T19:06:07.096535Z"}`);
  // Zeek's ascii-json-iso-timestamps baseline.
  assert.equal(formatIso8601(1215620010.005432), "2008-07-09T16:13:30.005432Z");
  assert.equal(formatIso8601(533782861.9), "1986-12-01T01:01:01.900000Z");
  // A time before 1970, as in Zeek's issue #4494 test.
  assert.equal(ts(-315619200, "JSON::TS_EPOCH"), `{"t":-315619200.0}`);
  assert.equal(ts(-315619200, "JSON::TS_MILLIS"), `{"t":-315619200000}`);
  assert.equal(ts(-315619200, "JSON::TS_MILLIS_UNSIGNED"), `{"t":18446743758090351616}`);
  assert.equal(ts(-315619200, "JSON::TS_ISO8601"), `{"t":"1960-01-01T00:00:00.000000Z"}`);
  assert.equal(formatIso8601(-0.25), "1969-12-31T23:59:59.750000Z");
  // Intervals are doubles whatever the timestamp format.
  assert.deepEqual(render([col("iv", T.interval)], [[300]], { timestamps: "JSON::TS_ISO8601" }), [
    `{"iv":300.0}`,
  ]);
  assert.throws(
    () => new JsonWriter(f, { timestamps: "JSON::TS_NANOS" as JsonTimestamps }),
    /TS_EPOCH/,
  );
});

Deno.test("golden: strings escaped as Zeek's JSON writer does by default (STRING_ESCAPE_POLICY_HEX)", () => {
  // Inputs and lines of Zeek's scripts.base.frameworks.logging.ascii-json-utf8 baseline (ssh.log.hex).
  const cases: [string, string][] = [
    ["a", String.raw`a`],
    ["\b\f\n\r\t\x00\x15", String.raw`\b\f\n\r\t\\x00\\x15`],
    ["\xc3\xb1", "ñ"],
    ["\xc3\x28", String.raw`\\xc3(`],
    ["\xc0\x81", String.raw`\\xc0\\x81`],
    ["\xc1\x81", String.raw`\\xc1\\x81`],
    ["\xc2\xcf", String.raw`\\xc2\\xcf`],
    ["\xa0\xa1", String.raw`\\xa0\\xa1`],
    ["\xe2\x82\xa1", "₡"],
    ["\xe0\xa3\xa1", "\u08e1"],
    ["\xe0\x80\xa1", String.raw`\\xe0\\x80\\xa1`],
    ["\xe2\x28\xa1", String.raw`\\xe2(\\xa1`],
    ["\xed\xa0\xa1", String.raw`\\xed\\xa0\\xa1`],
    ["\xe2\x82\x28", String.raw`\\xe2\\x82(`],
    ["\xf0\x90\x8c\xbc", "𐌼"],
    ["\xf1\x80\x8c\xbc", "\u{4033c}"],
    ["\xf4\x80\x8c\xbc", "\u{10033c}"],
    ["\xf0\x80\x8c\xbc", String.raw`\\xf0\\x80\\x8c\\xbc`],
    ["\xf2\x28\x8c\xbc", String.raw`\\xf2(\\x8c\\xbc`],
    ["\xf4\x90\x8c\xbc", String.raw`\\xf4\\x90\\x8c\\xbc`],
    ["\xf0\x90\x28\xbc", String.raw`\\xf0\\x90(\\xbc`],
    ["\xf0\x28\x8c\x28", String.raw`\\xf0(\\x8c(`],
    ["\xf4\x80\x8c", String.raw`\\xf4\\x80\\x8c`],
    ["\xf0", String.raw`\\xf0`],
    ["\\\\", String.raw`\\\\`],
    ["\t\\t\t", String.raw`\t\\t\t`],
    ["\v\\v\v", String.raw`\\x0b\\v\\x0b`],
    ["\n\\n\n", String.raw`\n\\n\n`],
    ["\\x", String.raw`\\x`],
    ["\x00", String.raw`\\x00`],
    ["\x01", String.raw`\\x01`],
    ["\x09", String.raw`\t`],
    ["\x0d", String.raw`\r`],
    ["\x80", String.raw`\\x80`],
    ["\xf9", String.raw`\\xf9`],
    ["\xff", String.raw`\\xff`],
    ["\\\\x\\abc\\x.exe", String.raw`\\\\x\\abc\\x.exe`],
    ["\xf9\xf9", String.raw`\\xf9\\xf9`],
    [
      "byte 9f vs literal backslash x9f: \xf9 vs \\xf9",
      String.raw`byte 9f vs literal backslash x9f: \\xf9 vs \\xf9`,
    ],
    ["a rocket \xf0\x9f\x9a\x80!", "a rocket 🚀!"],
    [
      "a rocket \xf0\x9f\x9a\x80!\x00 NUL\x00",
      String.raw`a rocket \\xf0\\x9f\\x9a\\x80!\\x00 NUL\\x00`,
    ],
    ["half-a-rocket rocket \xf0\x9f!", String.raw`half-a-rocket rocket \\xf0\\x9f!`],
    [
      "half-a-rocket rocket \xf0\x9f!\x00 NUL\x00",
      String.raw`half-a-rocket rocket \\xf0\\x9f!\\x00 NUL\\x00`,
    ],
    [
      "half-a-rocket rocket \xf0\x9f and a rocket\xf0\x9f\x9a\x80!",
      String.raw`half-a-rocket rocket \\xf0\\x9f and a rocket\\xf0\\x9f\\x9a\\x80!`,
    ],
    [
      "half-a-rocket rocket \xf0\x9f and a rocket\xf0\x9f\x9a\x80!\x00 NUL\x00",
      String.raw`half-a-rocket rocket \\xf0\\x9f and a rocket\\xf0\\x9f\\x9a\\x80!\\x00 NUL\\x00`,
    ],
    ["\x07\b", String.raw`\\x07\b`],
    ["\\a=\x07 \\b=\b \\t=\t \\n=\n", String.raw`\\a=\\x07 \\b=\b \\t=\t \\n=\n`],
  ];
  const f = [col("s", T.string)];
  const expected = cases.map(([, out]) => `{"s":"${out}"}`);
  assert.deepEqual(render(f, cases.map(([input]) => [bytes(input)])), expected, "raw bytes");
  // The same content given as JS text where it is valid UTF-8.
  const asText = cases.map(([input]) => {
    const raw = bytes(input);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } catch {
      return raw;
    }
  });
  assert.deepEqual(render(f, asText.map((s) => [s])), expected, "text");
});

Deno.test("every line is valid JSON that reads back to the written text", () => {
  const f = [col("s", T.string), col("e", T.enum("X")), col("ss", T.set(T.string))];
  const lines = render(f, [['quote " and \\ and é', "A::B", ["x\u0001", "ok"]]]);
  const back = JSON.parse(lines[0]!);
  assert.deepEqual(back, { s: 'quote " and \\ and é', e: "A::B", ss: ["x\\x01", "ok"] });
});
