import assert from "node:assert/strict";
import { T, type ZeekValue } from "../../zeek/types.ts";
import {
  createFilter,
  defineStream,
  type LogEvents,
  type LogFilter,
  LogRegistry,
  LogSchemaError,
  type LogStream,
  LogValueError,
  validateRow,
} from "./stream.ts";

const connId = T.record("conn_id", [
  ["orig_h", T.addr],
  ["orig_p", T.port],
  ["resp_h", T.addr],
  ["resp_p", T.port],
]);

function connStream(): LogStream {
  return defineStream({
    id: "Conn::LOG",
    path: "conn",
    columns: T.record("Conn::Info", [
      ["ts", T.time],
      ["uid", T.string],
      ["id", connId],
      ["proto", T.enum("transport_proto")],
      ["service", T.string, "optional"],
      ["tunnel_parents", T.set(T.string), "optional"],
    ]),
  });
}

const ROW: ZeekValue[] = [
  1300475167.096535,
  "CHhAvVGS1DHFjwGM9",
  "10.0.0.1",
  "47808/udp",
  "10.0.0.2",
  "53/udp",
  "udp",
  "dns",
  [
    "Cx",
  ],
];

Deno.test("defineStream flattens nested records with dots, in declaration order", () => {
  const s = connStream();
  assert.deepEqual(s.columns.map((c) => c.name), [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "tunnel_parents",
  ]);
  assert.equal(s.module, "Conn");
  assert.equal(s.columns[2]!.type.kind, "addr");
  assert.equal(s.columns[7]!.optional, true);
  assert.equal(s.columns[0]!.optional, false);
  assert.equal(s.indexOf("id.resp_p"), 5);
  assert.equal(s.indexOf("nope"), -1);
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.columns) && Object.isFrozen(s.columns[0]));
});

Deno.test("defineStream accepts a field list and marks columns under an optional record optional", () => {
  const s = defineStream({
    id: "Foo::LOG",
    path: "foo",
    columns: [
      { name: "a", type: T.count, optional: false },
      {
        name: "sub",
        type: T.record("Sub", [["x", T.bool], ["y", T.double, "optional"]]),
        optional: true,
      },
    ],
  });
  assert.deepEqual(s.columns.map((c) => [c.name, c.optional]), [["a", false], ["sub.x", true], [
    "sub.y",
    true,
  ]]);
});

Deno.test("defineStream reports every column Zeek cannot log, and bad ids and paths", () => {
  assert.throws(
    () =>
      defineStream({
        id: "Bad::LOG",
        path: "bad",
        columns: T.record("R", [["t", T.table(T.string, T.count)], ["p", T.pattern], [
          "v",
          T.vector(T.set(T.count)),
        ]]),
      }),
    (e: unknown) =>
      e instanceof LogSchemaError && /"t" has type table\[string\] of count/.test(e.message) &&
      /"p" has type pattern/.test(e.message) &&
      /"v" has type vector\[set\[count\]\]/.test(e.message),
  );
  assert.throws(() => defineStream({ id: "not an id", path: "x", columns: [] }), LogSchemaError);
  assert.throws(
    () =>
      defineStream({
        id: "X::LOG",
        path: "../etc",
        columns: [{ name: "a", type: T.count, optional: false }],
      }),
    /plain file name/,
  );
  assert.throws(
    () =>
      defineStream({
        id: "X::LOG",
        path: "x",
        columns: [{ name: "a", type: T.count, optional: false }, {
          name: "a",
          type: T.int,
          optional: false,
        }],
      }),
    /"a" appears twice/,
  );
});

Deno.test("row() flattens a nested record object; a missing parent leaves its columns unset", () => {
  const s = connStream();
  const row = s.row({
    ts: 1.5,
    uid: "C1",
    id: { orig_h: "10.0.0.1", orig_p: "1/tcp", resp_h: "10.0.0.2", resp_p: "2/tcp" },
    proto: "tcp",
  });
  assert.deepEqual(row, [
    1.5,
    "C1",
    "10.0.0.1",
    "1/tcp",
    "10.0.0.2",
    "2/tcp",
    "tcp",
    undefined,
    undefined,
  ]);
  assert.deepEqual(s.row({ ts: 2 }).slice(0, 4), [2, undefined, undefined, undefined]);
});

Deno.test("createFilter selects columns by include/exclude and refuses unknown names", () => {
  const s = connStream();
  const all = createFilter(s);
  assert.equal(all.name, "default");
  assert.equal(all.path, "conn");
  assert.equal(all.writer, "Log::WRITER_ASCII");
  assert.deepEqual([...all.indices], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  const some = createFilter(s, {
    name: "short",
    path: "conn-short",
    include: ["ts", "id.orig_h", "uid"],
  });
  assert.deepEqual(some.fields.map((f) => f.name), ["ts", "uid", "id.orig_h"]);
  assert.deepEqual([...some.indices], [0, 1, 2]);
  const ex = createFilter(s, { exclude: ["service", "tunnel_parents"] });
  assert.deepEqual([...ex.indices], [0, 1, 2, 3, 4, 5, 6]);
  assert.throws(() => createFilter(s, { include: ["id.orig_hh"] }), /no column named "id.orig_hh"/);
  assert.throws(() => createFilter(s, { include: ["ts"], exclude: ["ts"] }), /leave no column/);
});

Deno.test("validateRow accepts a good row and names the column, value and fix for a bad one", () => {
  const s = connStream();
  validateRow(s, ROW);
  validateRow(s, ROW.with(7, undefined).with(8, undefined));
  const bad = (at: number, v: ZeekValue, re: RegExp) =>
    assert.throws(
      () => validateRow(s, ROW.with(at, v)),
      (e: unknown) => e instanceof LogValueError && re.test(e.message),
    );
  bad(0, "now", /column "ts" \(time\) got "now", expected a number/);
  bad(1, undefined, /column "uid" \(string\) got no value, but the column is not optional/);
  bad(2, "10.0.0.256", /column "id.orig_h" \(addr\).*expected an address/);
  bad(3, "80/tpc", /expected a port such as "80\/tcp"/);
  bad(8, ["a", 3], /element 1: expected a string/);
  bad(8, [undefined], /element 0 is unset/);
  assert.throws(() => validateRow(s, ROW.slice(1)), /needs 9 values in column order, got 8/);
});

Deno.test("validation covers every loggable type and the 64-bit ranges", () => {
  const s = defineStream({
    id: "All::LOG",
    path: "all",
    columns: T.record("All", [
      ["b", T.bool],
      ["i", T.int],
      ["c", T.count],
      ["d", T.double],
      ["iv", T.interval],
      ["sn", T.subnet],
      ["e", T.enum("X")],
      ["vs", T.vector(T.string)],
    ]),
  });
  validateRow(s, [true, -(5n ** 20n), 2n ** 64n - 1n, NaN, -1.5, "10.0.0.0/8", "X::Y", [
    "a",
    undefined,
  ]]);
  assert.throws(
    () => validateRow(s, [true, 1, -1, 0, 0, "10.0.0.0/8", "X", []]),
    /"c".*non-negative/,
  );
  assert.throws(
    () => validateRow(s, [true, 1, 2n ** 64n, 0, 0, "10.0.0.0/8", "X", []]),
    /0..2\^64-1/,
  );
  assert.throws(
    () => validateRow(s, [true, 2n ** 63n, 1, 0, 0, "10.0.0.0/8", "X", []]),
    /64-bit signed/,
  );
  assert.throws(() => validateRow(s, [true, 1.5, 1, 0, 0, "10.0.0.0/8", "X", []]), /"i".*integer/);
  assert.throws(() => validateRow(s, [true, 1, 1, 0, 0, "10.0.0.0/33", "X", []]), /"sn".*subnet/);
  assert.throws(() => validateRow(s, ["T", 1, 1, 0, 0, "10.0.0.0/8", "X", []]), /"b".*boolean/);
});

class RecordingSink {
  readonly seen: [string, string, readonly ZeekValue[]][] = [];
  write(stream: LogStream, filter: LogFilter, values: readonly ZeekValue[]): void {
    this.seen.push([stream.id, filter.name, values]);
  }
}

Deno.test("LogRegistry hands each write to every filter and counts per stream and per writer", () => {
  const sink = new RecordingSink();
  const reg = new LogRegistry({ validate: true, sink });
  const s = reg.defineStream({ id: "Conn::LOG", path: "conn", columns: connStream().columns });
  reg.addFilter(s, { name: "short", path: "conn-short", include: ["ts", "uid"] });
  reg.write(s, ROW);
  reg.write(s, ROW);
  assert.deepEqual(sink.seen.map(([id, f]) => `${id}/${f}`), [
    "Conn::LOG/default",
    "Conn::LOG/short",
    "Conn::LOG/default",
    "Conn::LOG/short",
  ]);
  assert.equal(sink.seen[0]![2], ROW, "the row is passed through, not copied");
  assert.deepEqual(reg.counters(), [
    {
      name: "zeek_log_stream_writes_total",
      labels: { module: "Conn", stream: "Conn::LOG" },
      value: 2,
    },
    {
      name: "zeek_log_writer_writes_total",
      labels: {
        writer: "Log::WRITER_ASCII",
        module: "Conn",
        stream: "Conn::LOG",
        filter_name: "default",
        path: "conn",
      },
      value: 2,
    },
    {
      name: "zeek_log_writer_writes_total",
      labels: {
        writer: "Log::WRITER_ASCII",
        module: "Conn",
        stream: "Conn::LOG",
        filter_name: "short",
        path: "conn-short",
      },
      value: 2,
    },
  ]);
});

Deno.test("LogRegistry keeps counts across filter replacement and removal", () => {
  const reg = new LogRegistry({ validate: false });
  const s = reg.add(connStream());
  reg.write(s, ROW);
  reg.addFilter(s, { include: ["ts"] }); // replaces "default", same labels
  reg.write(s, ROW);
  assert.equal(reg.filters(s).length, 1);
  assert.deepEqual(reg.filters(s)[0]!.fields.map((f) => f.name), ["ts"]);
  assert.equal(reg.removeFilter(s, "default"), true);
  assert.equal(reg.removeFilter(s, "default"), false);
  reg.write(s, ROW);
  const writer = reg.counters().filter((c) => c.name === "zeek_log_writer_writes_total");
  assert.deepEqual(writer.map((c) => c.value), [2]);
  assert.equal(reg.counters()[0]!.value, 3);
});

Deno.test("LogRegistry rejects a bad row before counting it and refuses unknown or duplicate streams", () => {
  const sink = new RecordingSink();
  const reg = new LogRegistry({ validate: true, sink });
  const s = reg.add(connStream());
  assert.throws(() => reg.write(s, ROW.with(0, "x")), LogValueError);
  assert.equal(sink.seen.length, 0);
  assert.equal(reg.counters()[0]!.value, 0);
  assert.throws(() => reg.add(connStream()), /already registered/);
  assert.throws(() => reg.write(connStream(), ROW), /not registered here/);
  const lax = new LogRegistry({ validate: false, sink });
  const s2 = lax.add(connStream());
  lax.write(s2, ROW.with(0, "x"));
  assert.equal(sink.seen.length, 1);
});

Deno.test("writeRecord flattens and writes", () => {
  const sink = new RecordingSink();
  const reg = new LogRegistry({ sink });
  assert.equal(reg.validating, false, "off by default, from source as in the binary");
  const s = reg.add(connStream());
  reg.writeRecord(s, {
    ts: 1,
    uid: "C1",
    id: { orig_h: "::1", orig_p: "1/tcp", resp_h: "::2", resp_p: "2/tcp" },
    proto: "tcp",
  });
  assert.deepEqual(sink.seen[0]![2], [
    1,
    "C1",
    "::1",
    "1/tcp",
    "::2",
    "2/tcp",
    "tcp",
    undefined,
    undefined,
  ]);
});

Deno.test("column names must be printable ASCII; already flattened names are fine", () => {
  const s = defineStream({ id: "A::LOG", path: "a", columns: connStream().columns });
  assert.equal(s.columns[2]!.name, "id.orig_h");
  assert.throws(
    () =>
      defineStream({
        id: "A::LOG",
        path: "a",
        columns: [{ name: "a b", type: T.count, optional: false }],
      }),
    /"a b" must be printable ASCII/,
  );
});

Deno.test("a stream's log event carries each written record, nested; a filter policy can veto a row", () => {
  const seen: unknown[] = [];
  const events = {
    hasHandlers: (name: string) => name === "Site::log_site",
    dispatch: (_name: string, args: readonly unknown[]) => seen.push(args[0]),
  };
  const logs = new LogRegistry();
  logs.setEvents(events as unknown as LogEvents);
  const stream = logs.defineStream({
    id: "Site::LOG",
    path: "site",
    event: "Site::log_site",
    columns: T.record("Site::Info", [
      ["ts", T.time],
      ["id", T.record("conn_id", [["orig_h", T.addr], ["orig_p", T.port]])],
      ["note", T.string, "optional"],
    ]),
  });
  const written: unknown[][] = [];
  logs.setSink({ write: (_s, _f, values) => void written.push([...values]) });
  logs.addFilter(stream, { policy: (rec) => rec.note !== "secret" });
  logs.write(stream, [1.5, "10.0.0.1", 80, "hello"]);
  logs.write(stream, [2.5, "10.0.0.2", 81, "secret"]);
  logs.write(stream, [3.5, "10.0.0.3", 82, undefined]);
  assert.deepEqual(seen, [
    { ts: 1.5, id: { orig_h: "10.0.0.1", orig_p: 80 }, note: "hello" },
    { ts: 2.5, id: { orig_h: "10.0.0.2", orig_p: 81 }, note: "secret" },
    { ts: 3.5, id: { orig_h: "10.0.0.3", orig_p: 82 } },
  ]);
  assert.deepEqual(written.map((r) => r[3]), ["hello", undefined]);
});
