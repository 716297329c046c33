import assert from "node:assert/strict";
import { T, type ZeekType, type ZeekValue } from "../../zeek/types.ts";
import { RowBuffer } from "./ascii_values.ts";
import { AsciiWriter, type AsciiWriterOptions } from "./ascii_writer.ts";
import { ByteWriter } from "../../zeek/bytes.ts";
import { LogDecodeError } from "./log_batch_format.ts";
import { encodeLogBatch } from "./log_batch_encoder.ts";
import { type LogBatchLayout, readLogBatchLayout } from "./log_batch_layout.ts";
import { decodeLogRows } from "./log_batch_decoder.ts";
import type { LogColumn } from "./stream.ts";

const HEADER = {
  streamId: "Test::LOG",
  writerName: "Log::WRITER_ASCII",
  filterName: "default",
  path: "test",
};
const TEXT = new TextDecoder("utf-8", { ignoreBOM: true });

/** A small deterministic generator, so a failure names its seed. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

const ATOMIC: readonly ZeekType[] = [
  T.bool,
  T.int,
  T.count,
  T.double,
  T.time,
  T.interval,
  T.string,
  T.enum("transport_proto"),
  T.port,
  T.addr,
  T.subnet,
];

const STRINGS = [
  "",
  "-",
  "(empty)",
  "#fields",
  "a\tb",
  "a,b",
  "back\\slash",
  "line\nbreak",
  "bell\x07",
  "del\x7f",
  "caf\u00e9",
  "\u{1F600} smile",
  "c1 \u0085 control",
  "private \ue000",
  "\ufeffBOM first",
  "\ufff5 specials",
  "NULL",
  "EMPTY",
  "plain-ascii_text.example.com",
];
const RAW_STRINGS = [
  new Uint8Array([0xff, 0xfe, 0x41]),
  new Uint8Array([0x41, 0xc3]),
  new Uint8Array([0xed, 0xa0, 0x80]),
  new Uint8Array([0xe2, 0x82, 0xac, 0x80]),
];
const ADDRS = [
  "10.0.0.1",
  "0.0.0.0",
  "255.255.255.255",
  "::1",
  "2001:db8::1",
  "fe80::1:2:3:4",
  "::",
];
const SUBNETS = [
  "10.0.0.0/8",
  "0.0.0.0/0",
  "192.168.1.0/24",
  "2001:db8::/32",
  "::/0",
  "1.2.3.4/32",
];
const PORTS = ["80/tcp", "53/udp", "0/unknown", "65535/tcp", "3/icmp", 443];

function valueOf(type: ZeekType, rand: () => number): ZeekValue {
  const pick = <V>(list: readonly V[]): V => list[Math.floor(rand() * list.length)]!;
  switch (type.kind) {
    case "bool":
      return rand() < 0.5;
    case "int":
      return pick([
        0,
        -1,
        1,
        2 ** 31,
        -(2 ** 31),
        2 ** 53 - 1,
        -(2 ** 52),
        -(2n ** 63n),
        2n ** 62n,
      ]);
    case "count":
      return pick([0, 1, 42, 2 ** 32, 2 ** 32 - 1, 2 ** 53 - 1, 2n ** 53n, 2n ** 64n - 1n]) ??
        0;
    case "double":
    case "time":
    case "interval":
      return pick([
        0,
        1,
        -1,
        0.5,
        1e-7,
        123.4567891,
        1300475167.096535,
        2 ** 31,
        -(2 ** 40) - 0.25,
        1e21,
        NaN,
        Infinity,
        -Infinity,
        rand() * 1e6,
        -rand(),
      ]);
    case "string":
    case "enum":
      return rand() < 0.1 ? pick(RAW_STRINGS) : pick(STRINGS);
    case "port":
      return pick(PORTS);
    case "addr":
      return pick(ADDRS);
    case "subnet":
      return pick(SUBNETS);
    case "set": {
      const n = Math.floor(rand() * 4);
      return Array.from({ length: n }, () => valueOf(type.of, rand));
    }
    case "vector": {
      const n = Math.floor(rand() * 4);
      return Array.from({ length: n }, () => (rand() < 0.2 ? undefined : valueOf(type.of, rand)));
    }
    default:
      throw new Error(`no generator for ${type.kind}`);
  }
}

function randomBatch(seed: number): { fields: LogColumn[]; rows: ZeekValue[][] } {
  const rand = random(seed);
  const count = 1 + Math.floor(rand() * 12);
  const fields: LogColumn[] = [];
  for (let i = 0; i < count; i++) {
    const atom = ATOMIC[Math.floor(rand() * ATOMIC.length)]!;
    const r = rand();
    const type = r < 0.1 ? T.set(atom) : r < 0.2 ? T.vector(atom) : atom;
    fields.push({ name: `f${i}`, type, optional: rand() < 0.5 });
  }
  const rows: ZeekValue[][] = [];
  const n = Math.floor(rand() * 40);
  for (let k = 0; k < n; k++) {
    rows.push(fields.map((f) => (f.optional && rand() < 0.2 ? undefined : valueOf(f.type, rand))));
  }
  return { fields, rows };
}

/** What a logger wrote before the transcoder: decode the rows, then render them. */
function viaRows(bytes: Uint8Array, layout: LogBatchLayout, options: AsciiWriterOptions): string {
  const rows = decodeLogRows(bytes, layout);
  const writer = new AsciiWriter(layout.fields, options);
  const buf = new RowBuffer(256);
  for (const row of rows) writer.appendRow(buf, row);
  return TEXT.decode(buf.view());
}

function viaTranscoder(
  bytes: Uint8Array,
  layout: LogBatchLayout,
  options: AsciiWriterOptions,
): string {
  const writer = new AsciiWriter(layout.fields, options);
  const buf = new RowBuffer(256);
  writer.appendEncodedRows(buf, bytes, layout);
  return TEXT.decode(buf.view());
}

const STYLES: readonly AsciiWriterOptions[] = [
  {},
  { separator: "|", setSeparator: ";", unsetField: "NULL", emptyField: "EMPTY", utf8: false },
];

Deno.test("transcoder: random batches render exactly as decode + AsciiWriter", () => {
  const writer = new ByteWriter();
  for (let seed = 1; seed <= 400; seed++) {
    const { fields, rows } = randomBatch(seed);
    const bytes = encodeLogBatch(writer, HEADER, fields, rows).slice();
    const layout = readLogBatchLayout(bytes);
    for (const style of STYLES) {
      assert.equal(
        viaTranscoder(bytes, layout, style),
        viaRows(bytes, layout, style),
        `seed ${seed}, style ${JSON.stringify(style)}`,
      );
    }
  }
});

Deno.test("transcoder: a garbled or cut batch is refused exactly when the decoder refuses it", () => {
  const writer = new ByteWriter();
  let refused = 0;
  let accepted = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const { fields, rows } = randomBatch(seed);
    if (rows.length === 0) continue;
    const clean = encodeLogBatch(writer, HEADER, fields, rows).slice();
    const layout = readLogBatchLayout(clean);
    const rand = random(seed * 7919);
    for (let trial = 0; trial < 8; trial++) {
      const bytes = trial === 0
        ? clean.subarray(
          0,
          layout.recordsOffset + Math.floor(rand() * (clean.length - layout.recordsOffset)),
        )
        : clean.slice();
      if (trial > 0) {
        const at = layout.recordsOffset +
          Math.floor(rand() * (bytes.length - layout.recordsOffset));
        bytes[at] = Math.floor(rand() * 256);
      }
      let expected: string | LogDecodeError;
      try {
        expected = viaRows(bytes, layout, {});
      } catch (error) {
        if (!(error instanceof LogDecodeError)) throw error;
        expected = error;
      }
      const buf = new RowBuffer(256);
      buf.ascii("kept\n");
      const ascii = new AsciiWriter(layout.fields);
      if (expected instanceof LogDecodeError) {
        assert.throws(() => ascii.appendEncodedRows(buf, bytes, layout), LogDecodeError);
        assert.equal(TEXT.decode(buf.view()), "kept\n", "a refused batch leaves nothing behind");
        refused++;
      } else {
        ascii.appendEncodedRows(buf, bytes, layout);
        assert.equal(TEXT.decode(buf.view()), "kept\n" + expected, `seed ${seed} trial ${trial}`);
        accepted++;
      }
    }
  }
  // Both outcomes must have been exercised for the comparison to mean anything.
  assert(refused > 100 && accepted > 100, `refused ${refused}, accepted ${accepted}`);
});

Deno.test("transcoder: conn.log rows, a leading # and a BOM", () => {
  const fields: LogColumn[] = [
    { name: "ts", type: T.time, optional: false },
    { name: "uid", type: T.string, optional: false },
    { name: "id.orig_h", type: T.addr, optional: false },
    { name: "id.orig_p", type: T.port, optional: false },
    { name: "service", type: T.string, optional: true },
    { name: "tunnel_parents", type: T.set(T.string), optional: true },
  ];
  const rows: ZeekValue[][] = [
    [1300475167.096535, "CHhAvVGS1DHFjwGM9", "141.142.220.202", "5353/udp", "dns", undefined],
    [1.5, "#x", "::1", "80/tcp", undefined, ["a,b", "c"]],
    [2, "\ufeffz", "10.0.0.1", "0/unknown", "", []],
  ];
  const bytes = encodeLogBatch(new ByteWriter(), HEADER, fields, rows).slice();
  const layout = readLogBatchLayout(bytes);
  assert.equal(
    viaTranscoder(bytes, layout, {}),
    "1300475167.096535\tCHhAvVGS1DHFjwGM9\t141.142.220.202\t5353\tdns\t-\n" +
      "1.500000\t#x\t::1\t80\t-\ta\\x2cb,c\n" +
      "2.000000\t\ufeffz\t10.0.0.1\t0\t(empty)\t(empty)\n",
  );
});
