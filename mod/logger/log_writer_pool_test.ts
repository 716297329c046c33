import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { T } from "../../zeek/types.ts";
import { LogWriterPool } from "./log_writer_pool.ts";
import { ByteWriter } from "../../zeek/bytes.ts";
import { LogDecodeError } from "../log/log_batch_format.ts";
import { encodeLogBatch } from "../log/log_batch_encoder.ts";
import { readLogBatchLayout } from "../log/log_batch_layout.ts";

const N = [{ name: "n", type: T.count, optional: false }];
const NS = [...N, { name: "s", type: T.string, optional: false }];

async function archives(logDir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const day of Deno.readDir(logDir)) {
    for await (const f of Deno.readDir(`${logDir}/${day.name}`)) out.push(`${day.name}/${f.name}`);
  }
  return out.sort();
}

function rowsOf(gz: Uint8Array): string[] {
  return new TextDecoder().decode(gunzipSync(gz)).split("\n").filter((l) =>
    l && !l.startsWith("#")
  );
}

Deno.test("pool: rotateAll archives every path as zeekctl names it; rows split with none lost or doubled", async () => {
  const root = await Deno.makeTempDir({ prefix: "weir-pool-" });
  let now = Date.UTC(2026, 7, 21, 10, 0, 0) / 1000;
  const pool = new LogWriterPool({
    spoolDir: `${root}/spool`,
    archive: { logDir: `${root}/logs`, logger: "logger-2" },
    rotationIntervalSec: 0,
    utc: true,
    clock: () => now,
  });
  try {
    pool.writeRows("conn", N, [[1], [2]]);
    pool.writeRows("dns", N, [[10]]);
    await pool.flush();
    now += 3600;
    pool.rotateAll();
    pool.writeRows("conn", N, [[3]]);
    await pool.settled();
    assert.deepEqual(await archives(`${root}/logs`), [
      "2026-08-21/conn.10:00:00-11:00:00-logger-2.log.gz",
      "2026-08-21/dns.10:00:00-11:00:00-logger-2.log.gz",
    ]);
    const first = await Deno.readFile(
      `${root}/logs/2026-08-21/conn.10:00:00-11:00:00-logger-2.log.gz`,
    );
    assert.deepEqual(rowsOf(first), ["1", "2"]);
    now += 60;
    await pool.close();
    const all = await archives(`${root}/logs`);
    assert.ok(all.includes("2026-08-21/conn.11:00:00-11:01:00-logger-2.log.gz"), all.join(" "));
    const second = await Deno.readFile(
      `${root}/logs/2026-08-21/conn.11:00:00-11:01:00-logger-2.log.gz`,
    );
    assert.deepEqual(rowsOf(second), ["3"], "rotation on shutdown archives the rest");
  } finally {
    await pool.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("pool: a path whose columns change gets a new file with the new header", async () => {
  const root = await Deno.makeTempDir({ prefix: "weir-pool-" });
  const pool = new LogWriterPool({ spoolDir: root, rotationIntervalSec: 0 });
  try {
    pool.writeRows("x", N, [[1]]);
    await pool.flush();
    pool.writeRows("x", NS, [[2, "two"]]);
    await pool.flush();
    const text = await Deno.readTextFile(`${root}/x.log`);
    assert.match(text, /^#fields\tn\ts$/m);
    assert.match(text, /^2\ttwo$/m);
    const rotated = [...Deno.readDirSync(root)].map((e) => e.name).filter((n) => n !== "x.log");
    assert.equal(rotated.length, 1, "the old file was closed under its rotated name");
  } finally {
    await pool.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("pool: the schedule rotates on Zeek's aligned interval", async () => {
  const root = await Deno.makeTempDir({ prefix: "weir-pool-" });
  const pool = new LogWriterPool({
    spoolDir: `${root}/spool`,
    archive: { logDir: `${root}/logs`, compress: false },
    rotationIntervalSec: 1,
  });
  try {
    pool.writeRows("tick", N, [[1]]);
    await new Promise((r) => setTimeout(r, 2100));
    await pool.settled();
    const all = await archives(`${root}/logs`);
    assert.ok(
      all.length >= 1 && all.every((n) => /tick\.\d\d:\d\d:\d\d-\d\d:\d\d:\d\d\.log$/.test(n)),
      all.join(" "),
    );
  } finally {
    await pool.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("pool: encoded batches land as ASCII rendered from the bytes and as JSON, also while the file opens", async () => {
  const batch = (path: string, rows: (number | string)[][]) => {
    const payload = encodeLogBatch(
      new ByteWriter(),
      { streamId: "X::LOG", writerName: "Log::WRITER_ASCII", filterName: "default", path },
      NS,
      rows,
    ).slice();
    return { payload, layout: readLogBatchLayout(payload) };
  };
  for (const format of ["ascii", "json"] as const) {
    const root = await Deno.makeTempDir({ prefix: "weir-pool-" });
    const pool = new LogWriterPool({ spoolDir: root, rotationIntervalSec: 0, format });
    try {
      // The first batch arrives before the file is open, the second after.
      const first = batch("x", [[1, "one"], [2, "two"]]);
      pool.writeEncoded(first.payload, first.layout);
      first.payload.fill(0); // borrowed bytes: the pool must not keep them
      await pool.flush();
      const second = batch("x", [[3, "three"]]);
      pool.writeEncoded(second.payload, second.layout);
      const cut = batch("x", [[4, "four"]]);
      assert.throws(
        () => pool.writeEncoded(cut.payload.subarray(0, cut.payload.length - 2), cut.layout),
        LogDecodeError,
      );
      await pool.flush();
      const lines = (await Deno.readTextFile(`${root}/x.log`)).split("\n").filter((l) =>
        l && !l.startsWith("#")
      );
      assert.deepEqual(
        lines,
        format === "ascii"
          ? ["1\tone", "2\ttwo", "3\tthree"]
          : ['{"n":1,"s":"one"}', '{"n":2,"s":"two"}', '{"n":3,"s":"three"}'],
      );
      assert.equal(pool.counters.rowsWritten, 3);
    } finally {
      await pool.close();
      await Deno.remove(root, { recursive: true });
    }
  }
});
