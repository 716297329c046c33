import assert from "node:assert/strict";
import { T, type ZeekValue } from "../../zeek/mod.ts";
import { DEFAULT_LOG_FIELD_LIMITS, limitRow, type TruncationWeird } from "./field_limits.ts";
import { defineStream, type LogFilter, LogRegistry, type LogStream } from "./stream.ts";

const stream = defineStream({
  id: "Test::LOG",
  path: "test",
  columns: T.record("Test::Info", [
    ["a", T.string, "optional"],
    ["n", T.count, "optional"],
    ["names", T.vector(T.string), "optional"],
    ["b", T.string, "optional"],
    ["ports", T.set(T.count), "optional"],
  ]),
});

function limit(values: ZeekValue[]) {
  const weirds: TruncationWeird[] = [];
  const row = limitRow(stream.columns, values, DEFAULT_LOG_FIELD_LIMITS, (w) => weirds.push(w));
  return { row, weirds };
}

Deno.test("log field limits: rows within Zeek's limits are passed on as they are", () => {
  const values = ["x".repeat(1365), 7, Array(100).fill("é".repeat(400)), "short", [1, 2, 3]];
  const { row, weirds } = limit(values);
  assert.equal(row, values, "the same array, not a copy");
  assert.deepEqual(weirds, []);
});

Deno.test("log field limits: a string over 4,096 bytes is cut at a byte, inside a UTF-8 sequence too", () => {
  const { row, weirds } = limit(["a".repeat(4095) + "é" + "tail", 1, undefined, "ok", undefined]);
  const cut = row[0] as Uint8Array;
  assert.equal(cut.length, 4096);
  assert.equal(cut[4095], 0xc3, "the first byte of é stays, its second goes");
  assert.equal(row[3], "ok");
  assert.deepEqual(weirds, ["log_string_field_truncated"]);
  const raw = limit([new Uint8Array(5000), 1, undefined, undefined, undefined]);
  assert.equal((raw.row[0] as Uint8Array).length, 4096);
});

Deno.test("log field limits: containers keep 100 elements, a row 500 in all; strings 256,000 bytes in all", () => {
  const big = Array.from({ length: 10_000 }, (_, i) => `san${i}.example.com`);
  const one = limit([undefined, undefined, big, undefined, undefined]);
  assert.equal((one.row[2] as string[]).length, 100);
  assert.deepEqual((one.row[2] as string[]).slice(0, 2), ["san0.example.com", "san1.example.com"]);
  assert.deepEqual(one.weirds, ["log_container_field_truncated"]);

  // 10 bytes, then 100 strings of 4,000: the 64th string reaches 256,000 bytes; the rest are empty.
  const long = Array.from({ length: 100 }, () => "y".repeat(4000));
  const total = limit(["z".repeat(10), undefined, long, "after", undefined]);
  const names = total.row[2] as (string | Uint8Array)[];
  assert.equal(names.length, 100);
  assert.equal((names[62] as string).length, 4000);
  assert.equal((names[63] as Uint8Array).length, 256_000 - 10 - 63 * 4000);
  assert.equal((names[64] as Uint8Array).length, 0);
  assert.equal((total.row[3] as Uint8Array).length, 0, "a later string field is emptied");
  assert.ok(total.weirds.every((w) => w === "log_string_field_truncated"));
  assert.equal(total.weirds.length, 1 + 36 + 1);
});

Deno.test("log field limits: the registry cuts what writers get, tells the reporter, and the event sees it whole", () => {
  const written: ZeekValue[][] = [];
  const logs = new LogRegistry({
    sink: { write: (_s: LogStream, _f: LogFilter, values) => written.push([...values]) },
  });
  logs.add(stream);
  const reported: string[] = [];
  logs.setTruncationReporter((weird, id) => reported.push(`${weird} ${id}`));
  const names = Array.from({ length: 150 }, (_, i) => `n${i}`);
  logs.write(stream, [undefined, undefined, names, undefined, undefined]);
  assert.equal((written[0]![2] as string[]).length, 100);
  assert.deepEqual(reported, ["log_container_field_truncated Test::LOG"]);
  assert.equal(names.length, 150, "the caller's array is not changed");

  const unlimited = new LogRegistry({
    fieldLimits: false,
    sink: { write: (_s: LogStream, _f: LogFilter, values) => written.push([...values]) },
  });
  unlimited.add(stream);
  unlimited.write(stream, [undefined, undefined, names, undefined, undefined]);
  assert.equal((written[1]![2] as string[]).length, 150);
});
