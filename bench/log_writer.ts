/**
 * In-process writer throughput: conn-like rows (22 columns, Zeek's conn.log
 * schema) through `LogFile` into a temporary file, the figure the logging
 * benchmark compares shipping against.
 *
 * @module
 */

import type { ZeekValue } from "../zeek/mod.ts";
import { defineConnStream } from "../mod/analysis/conn/mod.ts";
import { LogFile } from "../mod/log/mod.ts";

/** Result of one benchmark run. */
export interface WriterBenchResult {
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSec: number;
}

const UID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `n` varied conn-like rows in the column order of `defineConnStream()`. */
export function connLikeRows(n: number): ZeekValue[][] {
  const rows: ZeekValue[][] = [];
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  for (let i = 0; i < n; i++) {
    let uid = "C";
    for (let k = 0; k < 17; k++) uid += UID_CHARS[Math.floor(rand() * 62)];
    const tcp = rand() < 0.7;
    const short = rand() < 0.2;
    rows.push([
      1300475167.096535 + i * 0.013 + rand(),
      uid,
      `10.${i & 255}.${(i >> 8) & 255}.${1 + Math.floor(rand() * 250)}`,
      `${1024 + Math.floor(rand() * 60000)}/${tcp ? "tcp" : "udp"}`,
      `192.168.${Math.floor(rand() * 255)}.${1 + Math.floor(rand() * 250)}`,
      tcp ? "443/tcp" : "53/udp",
      tcp ? "tcp" : "udp",
      tcp ? (rand() < 0.5 ? "ssl" : undefined) : "dns",
      short ? undefined : rand() * 30,
      short ? undefined : Math.floor(rand() * 100000),
      short ? undefined : Math.floor(rand() * 2000000),
      tcp ? "SF" : "S0",
      true,
      false,
      0,
      tcp ? "ShADadFf" : "D",
      Math.floor(rand() * 200),
      Math.floor(rand() * 200000),
      Math.floor(rand() * 200),
      Math.floor(rand() * 2000000),
      rand() < 0.05 ? ["CHhAvVGS1DHFjwGM9"] : undefined,
      tcp ? 6 : 17,
    ]);
  }
  return rows;
}

/**
 * Writes `rows` conn-like rows with the ASCII writer into a temporary file
 * (in batches of 1000, as a logger receives them) and reports the rate.
 */
export async function benchAsciiWriter(rows: number): Promise<WriterBenchResult> {
  const stream = defineConnStream();
  const sample = connLikeRows(4096);
  const dir = await Deno.makeTempDir({ prefix: "weir-log-bench-" });
  try {
    const file = await LogFile.open({
      dir,
      path: stream.path,
      fields: stream.columns,
      flushIntervalMs: 0,
    });
    const batch: ZeekValue[][] = new Array(1000);
    const started = performance.now();
    let written = 0;
    while (written < rows) {
      const n = Math.min(1000, rows - written);
      batch.length = n;
      for (let i = 0; i < n; i++) batch[i] = sample[(written + i) & 4095]!;
      file.write(batch);
      written += n;
      await file.ready();
    }
    await file.close();
    const seconds = (performance.now() - started) / 1000;
    return { rows, seconds, rowsPerSec: rows / seconds };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 1_000_000);
  const r = await benchAsciiWriter(n);
  console.log(
    `ascii writer: ${r.rows} rows in ${r.seconds.toFixed(3)} s = ${
      Math.round(r.rowsPerSec)
    } rows/s`,
  );
}
