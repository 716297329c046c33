import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  archiveLogFile,
  archiveName,
  expireArchives,
  formatLogTimestamp,
  formatRotationTimestamp,
  LogArchiveError,
  nextRotationTime,
  rotatedFileName,
} from "./rotation.ts";

const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) =>
  Date.UTC(y, mo - 1, d, h, mi, s) / 1000;

Deno.test("timestamps in Zeek's two spellings", () => {
  const t = utc(2026, 8, 21, 9, 5, 7) + 0.9;
  assert.equal(formatLogTimestamp(t, true), "2026-08-21-09-05-07");
  assert.equal(formatRotationTimestamp(t, true), "26-08-21_09.05.07");
  assert.equal(formatLogTimestamp(utc(1999, 12, 31, 23, 59, 59), true), "1999-12-31-23-59-59");
  const local = new Date(2026, 0, 2, 3, 4, 5).getTime() / 1000;
  assert.equal(formatLogTimestamp(local), "2026-01-02-03-04-05");
});

Deno.test("rotated file names carry the open time", () => {
  assert.equal(
    rotatedFileName("conn", utc(2026, 8, 21, 10), { utc: true }),
    "conn-26-08-21_10.00.00.log",
  );
  assert.equal(
    rotatedFileName("dns", utc(2009, 1, 2, 3, 4, 5), { utc: true }),
    "dns-09-01-02_03.04.05.log",
  );
});

Deno.test("archive names as zeekctl's make-archive-name builds them", () => {
  const open = utc(2026, 8, 21, 10);
  assert.equal(
    archiveName("conn", open, open + 3600, { utc: true, compress: true }),
    "2026-08-21/conn.10:00:00-11:00:00.log.gz",
  );
  assert.equal(
    archiveName("conn", open, open + 3600, { utc: true }),
    "2026-08-21/conn.10:00:00-11:00:00.log",
  );
  assert.equal(
    archiveName("dns", utc(2015, 1, 20, 15, 48, 23), utc(2015, 1, 20, 16), {
      utc: true,
      logger: "logger-1",
    }),
    "2015-01-20/dns.15:48:23-16:00:00-logger-1.log",
  );
  // The day folder is the open time's day, also across midnight.
  assert.equal(
    archiveName("conn", utc(2026, 8, 21, 23), utc(2026, 8, 22, 0), { utc: true, compress: true }),
    "2026-08-21/conn.23:00:00-00:00:00.log.gz",
  );
  assert.equal(
    archiveName("conn", open, open + 1, { utc: true, logger: "" }),
    "2026-08-21/conn.10:00:00-10:00:01.log",
  );
});

Deno.test("next rotation is aligned to the interval from midnight, as calc_next_rotate does", () => {
  const day = utc(2026, 8, 21);
  const at = (h: number, m = 0, s = 0) => day + h * 3600 + m * 60 + s;
  assert.equal(nextRotationTime(at(10, 17, 3), 3600, { utc: true }), at(11));
  assert.equal(nextRotationTime(at(10, 17, 3) + 0.5, 3600, { utc: true }), at(11));
  // Exactly on a boundary: one interval later.
  assert.equal(nextRotationTime(at(11), 3600, { utc: true }), at(12));
  assert.equal(nextRotationTime(at(10, 0, 1), 2, { utc: true }), at(10, 0, 2));
  assert.equal(nextRotationTime(at(10, 0, 0) + 0.25, 2, { utc: true }), at(10, 0, 2));
  // An interval that does not divide a day counts from the midnight before `now`:
  // 21:00 -> 04:00 the next day, and from there 07:00 (counted from the new midnight).
  assert.equal(nextRotationTime(at(23, 59, 58), 7 * 3600, { utc: true }), at(28));
  assert.equal(nextRotationTime(at(21), 7 * 3600, { utc: true }), at(28));
  assert.equal(nextRotationTime(at(28), 7 * 3600, { utc: true }), at(31));
  assert.equal(nextRotationTime(at(1), 7 * 3600, { utc: true }), at(7));
  assert.equal(nextRotationTime(at(0, 10), 86400, { utc: true }), at(24));
  // log_rotate_base_time = "0:30"
  assert.equal(nextRotationTime(at(10, 17), 3600, { utc: true, baseSec: 1800 }), at(10, 30));
  assert.throws(() => nextRotationTime(at(1), 0), /must be positive/);
});

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "weir-rotation-test-" });
}

Deno.test("archiving gzips the file into the day folder (streamed) and removes the source", async () => {
  const dir = await tempDir();
  try {
    const src = `${dir}/conn-26-08-21_10.00.00.log`;
    const content = "#separator \\x09\nrow\n".repeat(50_000);
    await Deno.writeTextFile(src, content);
    const open = utc(2026, 8, 21, 10);
    const dest = await archiveLogFile(src, "conn", open, open + 3600, {
      logDir: `${dir}/logs`,
      compress: true,
      utc: true,
    });
    assert.equal(dest, `${dir}/logs/2026-08-21/conn.10:00:00-11:00:00.log.gz`);
    const gz = await Deno.readFile(dest);
    assert.deepEqual([gz[0], gz[1]], [0x1f, 0x8b]);
    assert.equal(new TextDecoder().decode(gunzipSync(gz)), content);
    await assert.rejects(Deno.stat(src), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(`${dir}/logs/2026-08-21`)].map((e) => e.name), [
      "conn.10:00:00-11:00:00.log.gz",
    ]);

    // Same name again: never overwritten.
    await Deno.writeTextFile(src, "second\n");
    const dest2 = await archiveLogFile(src, "conn", open, open + 3600, {
      logDir: `${dir}/logs`,
      compress: true,
      utc: true,
    });
    assert.equal(dest2, `${dir}/logs/2026-08-21/conn.10:00:00-11:00:00-2.log.gz`);
    assert.equal(new TextDecoder().decode(gunzipSync(await Deno.readFile(dest2))), "second\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("archiving without compression moves the file, with the logger suffix when given", async () => {
  const dir = await tempDir();
  try {
    const src = `${dir}/dns-26-08-21_10.00.00.log`;
    await Deno.writeTextFile(src, "x\n");
    const open = utc(2026, 8, 21, 10);
    const dest = await archiveLogFile(src, "dns", open, open + 60, {
      logDir: dir,
      compress: false,
      logger: "logger-2",
      utc: true,
    });
    assert.equal(dest, `${dir}/2026-08-21/dns.10:00:00-10:01:00-logger-2.log`);
    assert.equal(await Deno.readTextFile(dest), "x\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("archiving a missing file says what failed and leaves nothing half-written", async () => {
  const dir = await tempDir();
  try {
    await assert.rejects(
      archiveLogFile(`${dir}/nope.log`, "conn", 0, 1, { logDir: dir, compress: true, utc: true }),
      (e: unknown) =>
        e instanceof LogArchiveError && /Cannot archive log .*nope\.log/.test(e.message),
    );
    assert.deepEqual([...Deno.readDirSync(`${dir}/1970-01-01`)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("expiry deletes archived files older than the interval, then emptied day folders", async () => {
  const dir = await tempDir();
  try {
    const now = utc(2026, 8, 21, 12);
    const put = async (name: string, age: number) => {
      const path = `${dir}/${name}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, "x");
      await Deno.utime(path, now - age, now - age);
    };
    await put("2026-08-10/conn.00:00:00-01:00:00.log.gz", 11 * 86400);
    await put("2026-08-10/dns.00:00:00-01:00:00.log.gz", 11 * 86400);
    await put("2026-08-19/conn.00:00:00-01:00:00.log.gz", 2 * 86400 + 3600);
    await put("2026-08-19/stats.log", 3 * 86400);
    await put("2026-08-19/conn.23:00:00-00:00:00.log.gz", 3600);
    await put("2026-08-21/conn.10:00:00-11:00:00.log.gz", 3600);
    await put("current-ish/conn.log", 30 * 86400);
    await put("old-file.log", 30 * 86400);

    assert.deepEqual(await expireArchives(dir, 0, now), { removedFiles: [], removedDirs: [] });

    const r = await expireArchives(dir, 2 * 86400, now, { keep: ["stats*"] });
    assert.deepEqual([...r.removedFiles].sort(), [
      `${dir}/2026-08-10/conn.00:00:00-01:00:00.log.gz`,
      `${dir}/2026-08-10/dns.00:00:00-01:00:00.log.gz`,
      `${dir}/2026-08-19/conn.00:00:00-01:00:00.log.gz`,
    ]);
    assert.deepEqual(r.removedDirs, [`${dir}/2026-08-10`]);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left, ["2026-08-19", "2026-08-21", "current-ish", "old-file.log"]);
    assert.deepEqual([...Deno.readDirSync(`${dir}/2026-08-19`)].map((e) => e.name).sort(), [
      "conn.23:00:00-00:00:00.log.gz",
      "stats.log",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
