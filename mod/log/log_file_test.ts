import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { T, type ZeekValue } from "../../zeek/types.ts";
import type { LogColumn } from "./stream.ts";
import { LogFile, LogFileClosedError, type LogFileOptions } from "./log_file.ts";

const FIELDS: LogColumn[] = [
  { name: "ts", type: T.time, optional: false },
  { name: "n", type: T.count, optional: false },
  { name: "s", type: T.string, optional: true },
];

const T0 = Date.UTC(2026, 7, 21, 10) / 1000;

/** A clock the test moves by hand. */
function manualClock(start: number): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (v: number) => (t = v) };
}

function rows(from: number, count: number): ZeekValue[][] {
  return Array.from({ length: count }, (_, i) => [T0 + from + i, from + i, `row ${from + i}`]);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weir-logfile-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function options(
  dir: string,
  clock: () => number,
  extra: Partial<LogFileOptions> = {},
): LogFileOptions {
  return {
    dir: `${dir}/spool`,
    path: "conn",
    fields: FIELDS,
    utc: true,
    clock,
    flushIntervalMs: 0,
    ...extra,
  };
}

const HEADER = (open: string) =>
  "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
  `#open\t${open}\n#fields\tts\tn\ts\n#types\ttime\tcount\tstring\n`;

Deno.test("a log file gets Zeek's header, the rows, and #close; close is idempotent", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0);
    const file = await LogFile.open(options(dir, clock.now));
    assert.equal(file.filePath, `${dir}/spool/conn.log`);
    file.write(rows(0, 2));
    file.writeRow([T0 + 0.5, 7, undefined]);
    await file.flush();
    assert.equal(file.rows, 3);
    assert.equal(
      await Deno.readTextFile(file.filePath),
      HEADER("2026-08-21-10-00-00") +
        "1787306400.000000\t0\trow 0\n1787306401.000000\t1\trow 1\n1787306400.500000\t7\t-\n",
    );
    clock.set(T0 + 61);
    assert.equal(await file.close(), undefined);
    assert.equal(await file.close(), undefined);
    assert.match(await Deno.readTextFile(file.filePath), /\n#close\t2026-08-21-10-01-01\n$/);
    assert.throws(() => file.write(rows(0, 1)), LogFileClosedError);
  });
});

Deno.test("rotation cycle: archives are valid gzip holding exactly the rows written, named as zeekctl does", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0);
    const file = await LogFile.open(
      options(dir, clock.now, { archive: { logDir: `${dir}/logs`, compress: true } }),
    );
    file.write(rows(0, 1000));
    clock.set(T0 + 3600);
    const first = await file.rotate();
    assert.equal(first.rotatedPath, `${dir}/spool/conn-26-08-21_10.00.00.log`);
    assert.equal(first.archivePath, `${dir}/logs/2026-08-21/conn.10:00:00-11:00:00.log.gz`);
    assert.equal(first.rows, 1000);
    assert.equal(file.openTime, T0 + 3600);
    file.write(rows(1000, 500));
    clock.set(T0 + 7200);
    const last = await file.close({ archive: true });
    assert.equal(last!.archivePath, `${dir}/logs/2026-08-21/conn.11:00:00-12:00:00.log.gz`);
    assert.equal(last!.rows, 500);
    // Nothing is left in the spool directory.
    assert.deepEqual([...Deno.readDirSync(`${dir}/spool`)], []);

    const a = new TextDecoder().decode(gunzipSync(await Deno.readFile(first.archivePath!)));
    const b = new TextDecoder().decode(gunzipSync(await Deno.readFile(last!.archivePath!)));
    assert.ok(a.startsWith(HEADER("2026-08-21-10-00-00")));
    assert.ok(a.endsWith("#close\t2026-08-21-11-00-00\n"));
    assert.ok(b.startsWith(HEADER("2026-08-21-11-00-00")));
    assert.ok(b.endsWith("#close\t2026-08-21-12-00-00\n"));
    const data = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    const ns = [...data(a), ...data(b)].map((l) => Number(l.split("\t")[1]));
    assert.deepEqual(ns, Array.from({ length: 1500 }, (_, i) => i));
  });
});

Deno.test("rows written while rotations are in flight land in exactly one file, in order", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0);
    const file = await LogFile.open(
      options(dir, clock.now, {
        archive: { logDir: `${dir}/logs`, compress: true },
        bufferBytes: 4096,
      }),
    );
    const rotations: Promise<unknown>[] = [];
    let next = 0;
    for (let batch = 0; batch < 60; batch++) {
      file.write(rows(next, 97));
      next += 97;
      if (batch % 7 === 3) {
        clock.set(clock.now() + 2);
        rotations.push(file.rotate()); // not awaited: archiving overlaps the writes that follow
      }
      await file.ready();
      await new Promise((r) => setTimeout(r, 0));
    }
    clock.set(clock.now() + 2);
    await file.close({ archive: true });
    await Promise.all(rotations);
    const day = `${dir}/logs/2026-08-21`;
    const names = [...Deno.readDirSync(day)].map((e) => e.name).sort();
    assert.equal(names.length, rotations.length + 1);
    for (const n of names) assert.match(n, /^conn\.10:00:\d\d-10:00:\d\d\.log\.gz$/);
    const seen: number[] = [];
    for (const n of names) {
      const text = new TextDecoder().decode(gunzipSync(await Deno.readFile(`${day}/${n}`)));
      assert.ok(text.startsWith("#separator"));
      assert.ok(text.endsWith("\n") && text.includes("\n#close\t"));
      for (const l of text.split("\n")) {
        if (l !== "" && !l.startsWith("#")) seen.push(Number(l.split("\t")[1]));
      }
    }
    assert.deepEqual(seen, Array.from({ length: next }, (_, i) => i));
  });
});

Deno.test("without archive options rotated files stay in the spool directory", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0);
    const file = await LogFile.open(options(dir, clock.now));
    file.write(rows(0, 3));
    clock.set(T0 + 10);
    const r = await file.rotate();
    assert.equal(r.archivePath, undefined);
    assert.equal(r.rotatedPath, `${dir}/spool/conn-26-08-21_10.00.00.log`);
    const text = await Deno.readTextFile(r.rotatedPath);
    assert.equal(text.split("\n").filter((l) => l.startsWith("1787")).length, 3);
    // A second rotation within the same second does not overwrite the first.
    file.write(rows(3, 1));
    const again = await file.rotate(T0 + 10);
    assert.equal(again.rotatedPath, `${dir}/spool/conn-26-08-21_10.00.10.log`);
    file.write(rows(4, 1));
    const third = await file.rotate(T0 + 10);
    assert.equal(third.rotatedPath, `${dir}/spool/conn-26-08-21_10.00.10-2.log`);
    await file.close();
  });
});

Deno.test("a leftover file from a crash is archived before the new one starts", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/spool`, { recursive: true });
    const leftover = HEADER("2026-08-21-09-00-00") + "1787302800.000000\t42\tlost?\n";
    await Deno.writeTextFile(`${dir}/spool/conn.log`, leftover);
    await Deno.utime(`${dir}/spool/conn.log`, T0 - 60, T0 - 60);
    const clock = manualClock(T0);
    const file = await LogFile.open(
      options(dir, clock.now, { archive: { logDir: `${dir}/logs`, compress: false } }),
    );
    const archived = [...Deno.readDirSync(`${dir}/logs/2026-08-21`)].map((e) => e.name);
    assert.equal(archived.length, 1);
    assert.match(archived[0]!, /^conn\.\d\d:\d\d:\d\d-09:59:00\.log$/);
    assert.equal(await Deno.readTextFile(`${dir}/logs/2026-08-21/${archived[0]}`), leftover);
    await file.close();
    assert.ok((await Deno.readTextFile(file.filePath)).startsWith(HEADER("2026-08-21-10-00-00")));
  });
});

Deno.test("JSON files have no header or trailer", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0);
    const file = await LogFile.open(
      options(dir, clock.now, { format: "json", json: { timestamps: "JSON::TS_ISO8601" } }),
    );
    file.write(rows(0, 2));
    await file.close();
    assert.equal(
      await Deno.readTextFile(file.filePath),
      `{"ts":"2026-08-21T10:00:00.000000Z","n":0,"s":"row 0"}\n{"ts":"2026-08-21T10:00:01.000000Z","n":1,"s":"row 1"}\n`,
    );
  });
});

Deno.test("large writes go out in chunks and ready() waits for the queue to drain", async () => {
  await withDir(async (dir) => {
    const clock = manualClock(T0);
    const file = await LogFile.open(
      options(dir, clock.now, { bufferBytes: 1024, maxPendingBytes: 4096 }),
    );
    const many = rows(0, 5000);
    file.write(many);
    assert.ok(file.pendingBytes > 4096);
    await file.ready();
    assert.ok(file.pendingBytes < 4096);
    await file.flush();
    assert.equal(file.pendingBytes, 0);
    await file.close();
    const lines = (await Deno.readTextFile(file.filePath)).split("\n").filter((l) =>
      l.startsWith("1787")
    );
    assert.equal(lines.length, 5000);
    assert.equal(lines[4999], "1787311399.000000\t4999\trow 4999");
  });
});

Deno.test("the automatic flush writes buffered rows without an explicit flush()", async () => {
  await withDir(async (dir) => {
    const file = await LogFile.open(options(dir, () => T0, { flushIntervalMs: 20 }));
    file.write(rows(0, 1));
    let text = "";
    for (let i = 0; i < 100 && !text.includes("row 0"); i++) {
      await new Promise((r) => setTimeout(r, 10));
      text = await Deno.readTextFile(file.filePath);
    }
    assert.ok(text.includes("row 0"));
    await file.close();
  });
});

Deno.test("await using closes the file", async () => {
  await withDir(async (dir) => {
    let path = "";
    {
      await using file = await LogFile.open(options(dir, () => T0));
      path = file.filePath;
      file.write(rows(0, 1));
    }
    assert.match(await Deno.readTextFile(path), /row 0\n#close\t/);
  });
});

Deno.test("a row that fails to render leaves nothing behind; rows before it are kept", async () => {
  await withDir(async (dir) => {
    const file = await LogFile.open(options(dir, () => T0));
    const broken = [T0, Object.create(null) as ZeekValue, "half"];
    assert.throws(() => file.write([...rows(0, 2), broken, ...rows(2, 1)]), TypeError);
    assert.equal(file.rows, 2);
    file.write(rows(5, 1));
    await file.close();
    const data = (await Deno.readTextFile(file.filePath)).split("\n").filter((l) =>
      l.startsWith("1787")
    );
    assert.deepEqual(data.map((l) => l.split("\t")[2]), ["row 0", "row 1", "row 5"]);
    assert.throws(() => file.rotate(), LogFileClosedError);
  });
});
