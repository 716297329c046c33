/**
 * Logging benchmark: conn-like records (22 columns) from one sender process
 * through the shipper and a logger process into its file, against the same
 * records written by the same writer inside one process, measured in the
 * same run; and the acknowledged path (numbered batches, acknowledged once
 * written, the logger's ledger) against Zeek's unacknowledged PUSH/PULL,
 * interleaved round by round. The logger's peak RSS is sampled while it
 * runs.
 *
 *   deno run -A bench/logging.ts                 # prints the table
 *   deno run -A bench/logging.ts logger|sender push|acked ENDPOINT N DIR   (internal)
 */

import { fmt, median } from "./_figures.ts";
import { lineReader } from "./_lines.ts";
import { type CurveKeyPair, ZmqContext } from "../ffi/mod.ts";
import { defineConnStream } from "../mod/analysis/conn/mod.ts";
import { benchAsciiWriter, connLikeRows } from "./log_writer.ts";
import { LogLedger, LogReceiver, LogWriterPool } from "../mod/logger/mod.ts";
import { AckedDelivery, LogRegistry, LogShipper } from "../mod/log/mod.ts";
import { createStderrReporter } from "../mod/process/mod.ts";
import { residentKiB } from "../mod/supervisor/mod.ts";

/** Records per round (`WEIR_BENCH_RECORDS` in `deno task bench`). */
export const DEFAULT_RECORDS = 1_000_000;
/** Interleaved rounds whose medians are reported (`WEIR_BENCH_ROUNDS`). */
export const DEFAULT_ROUNDS = 3;
/** Distinct rows cycled through; building a million row objects would measure the generator. */
const DISTINCT_ROWS = 10_000;

/**
 * A logger's receiving half writing its files into `dir`: binds `endpoint`,
 * calls `onReady` with the bound endpoint, and resolves once `n` records
 * arrived (or two minutes passed) with how many, and the seconds from the
 * first to the last one written.
 */
export async function receiveRecords(options: {
  readonly zmq: ZmqContext;
  readonly endpoint: string;
  readonly n: number;
  readonly dir: string;
  readonly curveSecretKey?: string;
  /** Also take acknowledged batches on this endpoint (with a ledger); `onReady` gets its address. */
  readonly ackEndpoint?: string;
  readonly onReady: (endpoint: string) => void;
  /**
   * Called with the figures once `n` records are written; the receiver (and
   * its acknowledgements) stays open until the promise it returns settles,
   * so the sender gets the last acknowledgements before the logger goes.
   */
  readonly onDone?: (result: { records: number; seconds: number }) => Promise<void>;
}): Promise<{ records: number; seconds: number }> {
  const { zmq, endpoint, n, dir } = options;
  const reporter = createStderrReporter("bench-logger");
  const ledger = options.ackEndpoint === undefined ? undefined : LogLedger.open(dir, reporter);
  const pool = new LogWriterPool({
    spoolDir: dir,
    rotationIntervalSec: 0,
    reporter,
    ...(ledger === undefined ? {} : { journal: ledger }),
  });
  const receiver = new LogReceiver({
    zmq,
    endpoint,
    pool,
    reporter,
    ...(options.curveSecretKey === undefined ? {} : { curveSecretKey: options.curveSecretKey }),
    ...(ledger === undefined ? {} : { acks: { endpoint: options.ackEndpoint!, ledger } }),
  });
  options.onReady(receiver.ackEndpoint ?? receiver.endpoint);
  let first = 0;
  const deadline = Date.now() + 120_000;
  while (receiver.counters.records < n && Date.now() < deadline) {
    if (first === 0 && receiver.counters.records > 0) first = performance.now();
    await new Promise((r) => setTimeout(r, 1));
  }
  await pool.flush();
  const last = performance.now();
  const result = { records: receiver.counters.records, seconds: (last - first) / 1000 };
  await options.onDone?.(result);
  await receiver.close();
  await pool.close();
  receiver.closeAcks();
  return result;
}

/** A worker's shipper sending `n` conn.log records to `endpoint`, as weir's nodes ship them. */
export async function shipRecords(options: {
  readonly zmq: ZmqContext;
  readonly endpoint: string;
  readonly n: number;
  readonly curve?: { readonly keys: CurveKeyPair; readonly serverKeys: readonly string[] };
  /** `endpoint` is a logger's acknowledgement endpoint: ship acknowledged batches. */
  readonly acked?: boolean;
}): Promise<void> {
  const { zmq, endpoint, n } = options;
  const shipper = options.acked
    ? new LogShipper({
      delivery: new AckedDelivery({
        zmq,
        nodeId: "bench-worker",
        nodeName: "bench-worker",
        writers: [{ name: "bench-logger", endpoint }],
      }),
    })
    : new LogShipper({
      zmq,
      nodeId: "bench-worker",
      endpoints: [endpoint],
      ...(options.curve === undefined ? {} : { curve: options.curve }),
    });
  const registry = new LogRegistry({ sink: shipper, validate: false });
  const stream = registry.add(defineConnStream());
  const rows = connLikeRows(DISTINCT_ROWS);
  let sent = 0;
  while (sent < n) {
    const end = Math.min(n, sent + 10_000);
    for (; sent < end; sent++) registry.write(stream, rows[sent % DISTINCT_ROWS]!);
    // Let the retry timer and libzmq breathe when the logger is behind; the
    // acknowledged path holds the sender until its window has room (a node
    // would spool instead, which this benchmark does not measure).
    if (shipper.counters.queuedBatches > 0) await new Promise((r) => setTimeout(r, 1));
    else await new Promise((r) => setTimeout(r, 0));
    while (options.acked && shipper.counters.queuedBatches > 0) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  await shipper.close(60_000);
  if (shipper.counters.recordsDropped > 0) {
    console.error(`bench sender: ${shipper.counters.recordsDropped} records dropped`);
  }
}

type Path = "push" | "acked";

async function logger(path: Path, endpoint: string, n: number, dir: string): Promise<void> {
  await using zmq = new ZmqContext();
  await receiveRecords({
    zmq,
    endpoint,
    n,
    dir,
    ...(path === "acked" ? { ackEndpoint: "tcp://127.0.0.1:*" } : {}),
    onReady: (bound) => console.log(JSON.stringify({ endpoint: bound })),
    // Acknowledging goes on until the parent closes stdin (the sender has ended).
    onDone: async (figures) => {
      console.log(JSON.stringify(figures));
      for await (const _ of Deno.stdin.readable) { /* until closed */ }
    },
  });
}

async function sender(path: Path, endpoint: string, n: number): Promise<void> {
  await using zmq = new ZmqContext();
  await shipRecords({ zmq, endpoint, n, acked: path === "acked" });
}

/** One end-to-end run: a fresh logger and sender process; records/s at the logger and its peak RSS. */
async function endToEndOnce(
  dir: string,
  n: number,
  path: Path = "push",
): Promise<{ rate: number; records: number; peakKiB: number }> {
  const self = new URL(import.meta.url).pathname;
  const run = (role: string, endpoint: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", self, role, path, endpoint, String(n), dir],
      stdin: role === "logger" ? "piped" : "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  const loggerProc = run("logger", "tcp://127.0.0.1:*");
  const nextLine = lineReader(loggerProc.stdout, "the bench logger");
  const { endpoint } = JSON.parse(await nextLine());
  let peakKiB = 0;
  const sampler = setInterval(
    () => (peakKiB = Math.max(peakKiB, residentKiB(loggerProc.pid) ?? 0)),
    50,
  );
  try {
    const senderProc = run("sender", endpoint);
    const result = JSON.parse(await nextLine()) as { records: number; seconds: number };
    await senderProc.status;
    await loggerProc.stdin.close();
    await loggerProc.status;
    return { rate: result.records / result.seconds, records: result.records, peakKiB };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Runs the logging benchmark and returns its table rows. Both figures are
 * the median of `rounds` interleaved runs (in-process, then end to end), so
 * disk writeback or a noisy neighbour hits both alike.
 */
export async function benchLogging(
  n = DEFAULT_RECORDS,
  rounds = DEFAULT_ROUNDS,
): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "weir-bench-log-" });
  try {
    const inProcess: number[] = [];
    const endToEnd: number[] = [];
    const acked: number[] = [];
    let peakKiB = 0;
    let records = 0;
    const clean = async () => {
      for await (const entry of Deno.readDir(dir)) {
        await Deno.remove(`${dir}/${entry.name}`, { recursive: true });
      }
    };
    for (let round = 0; round < rounds; round++) {
      inProcess.push((await benchAsciiWriter(n)).rowsPerSec);
      const e2e = await endToEndOnce(dir, n);
      endToEnd.push(e2e.rate);
      peakKiB = Math.max(peakKiB, e2e.peakKiB);
      records = e2e.records;
      await clean();
      acked.push((await endToEndOnce(dir, n, "acked")).rate);
      await clean();
    }
    const local = median(inProcess);
    const shipped = median(endToEnd);
    const withAcks = median(acked);
    const ackRatio = withAcks / shipped;
    const ratio = shipped / local;
    const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");
    const range = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
    return [
      `${"log: same writer in one process".padEnd(50)} ${
        fmt(local)
      } records/s (median of ${rounds}: ${range(inProcess)})`,
      `${"log: worker → PUSH/PULL → logger file".padEnd(50)} ${
        fmt(shipped)
      } records/s (median of ${rounds}: ${range(endToEnd)}; ${fmt(records)} records each)  ${
        ratio.toFixed(2)
      } × in-process  [target ≥ 500,000/s: ${verdict(shipped >= 500_000)}; ≥ 0.5 ×: ${
        verdict(ratio >= 0.5)
      }]`,
      `${"log: worker → acknowledged → logger file".padEnd(50)} ${
        fmt(withAcks)
      } records/s (median of ${rounds}: ${range(acked)})  ${
        ackRatio.toFixed(2)
      } × PUSH/PULL  [target ≥ 800,000/s: ${verdict(withAcks >= 800_000)}; ≥ 0.8 ×: ${
        verdict(ackRatio >= 0.8)
      }]`,
      `${"log: logger peak RSS".padEnd(50)} ${(peakKiB / 1024).toFixed(0)} MiB`,
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const [role, path, endpoint, n, dir] = Deno.args;
  if (role === "logger") await logger(path as Path, endpoint!, Number(n), dir!);
  else if (role === "sender") await sender(path as Path, endpoint!, Number(n));
  else for (const row of await benchLogging()) console.log(row);
}
