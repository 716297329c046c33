/**
 * P1-tls, for `deno task bench tls` (issue 16): what TLS analysis costs on
 * TLS-heavy traffic. One generated trace of TLS alone, as
 * `GenerateOptions.tls: DEFAULT_TLS_TRAFFIC` makes it (full TLS 1.2
 * handshakes with the certificate chain, TLS 1.3 handshakes, TLS 1.2
 * resumptions by session id and by session ticket, 1 to 8 exchanges a
 * connection, a tenth of the connections ending in a stream of up to
 * 8 MiB in 16 KiB records, so most bytes are ciphertext), goes through
 * `tcpdump -r F -w /dev/null`, `weir -r` with the analyzers off (conn.log
 * only) and `weir -r` with the SSL analyzer alone (ssl.log, and x509.log
 * where certificates are parsed), in the same run, interleaved, best of a
 * few rounds each, in packets/s and MB/s of trace file. Target: TLS
 * analysis takes at most 1.5 × the time of the conn-only run, since the
 * encrypted data after the handshake should cost next to nothing.
 *
 * @module
 */

import { DEFAULT_TLS_TRAFFIC, generateTrace, generateTraceBytes } from "../testing/mod.ts";
import type { TlsHandshake } from "../testing/mod.ts";
import { fmt, peakRss, percent, speed } from "./_figures.ts";
import { interleavedRounds, timeTraceRun, type TraceRun } from "./_trace_run.ts";

/** Packets of the default trace (about 4.5 GB of pcap): the whole run takes about a minute on two cores. */
export const DEFAULT_TLS_PACKETS = 4_500_000;
/** Rounds of each measurement; the best counts. */
export const DEFAULT_TLS_ROUNDS = 3;
/** TLS analysis may take this many times as long as the conn-only run. */
export const TLS_TARGET_RATIO = 1.5;

const TRACE_OPTIONS = {
  applications: { tls: 1 },
  tls: DEFAULT_TLS_TRAFFIC,
  ipv6Share: 0.2,
  vlanShare: 0.1,
  concurrency: 256,
  rate: 100_000,
};

/**
 * Flows of the sample that sizes the trace: enough for a steady average
 * over the streams' heavy tail, few enough to hold in memory (the
 * streams make a flow some 400 packets on average).
 */
const SAMPLE_FLOWS = 400;

/** One configuration's best round. */
export interface TlsRun extends TraceRun {
  /** Trace-file bytes per second. */
  readonly bytesPerSecond: number;
  /** Rows of ssl.log, those of them with `resumed` T, and rows of x509.log (0 when not written). */
  readonly sslRows: number;
  readonly sslResumed: number;
  readonly x509Rows: number;
}

/** What P1-tls measured. */
export interface TlsBenchResult {
  readonly packets: number;
  readonly flows: number;
  /** TLS flows by handshake. */
  readonly handshakes: Readonly<Record<TlsHandshake, number>>;
  readonly traceBytes: number;
  readonly rounds: number;
  /** Undefined when tcpdump is missing. */
  readonly tcpdump:
    | { readonly seconds: number; readonly pps: number; readonly bytesPerSecond: number }
    | undefined;
  /** Analyzers off: conn.log only. */
  readonly connOnly: TlsRun;
  /** The SSL analyzer alone. */
  readonly ssl: TlsRun;
  /** Seconds of the SSL run over seconds of the conn-only run. */
  readonly ratio: number;
}

/** Options of `measureTlsThroughput`. */
export interface TlsBenchOptions {
  readonly packets?: number;
  readonly rounds?: number;
}

/**
 * Flows that give about `packets` packets: TLS-heavy flows run as long
 * as their exchanges and streams, so a small in-memory sample with the
 * same options gives the average.
 */
async function flowsFor(packets: number): Promise<number> {
  const sample = await generateTraceBytes({ ...TRACE_OPTIONS, flows: SAMPLE_FLOWS, seed: 2 });
  return Math.max(1, Math.ceil(packets / (sample.truth.packets / SAMPLE_FLOWS)));
}

/** The rows of a Zeek ASCII log (lines other than the `#` header and footer), split into columns. */
async function rowsOf(path: string | undefined): Promise<string[][]> {
  if (path === undefined) return [];
  const rows: string[][] = [];
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    if (line !== "" && !line.startsWith("#")) rows.push(line.split("\t"));
  }
  return rows;
}

/** The position of `name` in a Zeek ASCII log's `#fields` line. */
async function columnOf(path: string, name: string): Promise<number> {
  const text = await Deno.readTextFile(path);
  const fields = text.split("\n").find((l) => l.startsWith("#fields\t"));
  const at = fields?.split("\t").indexOf(name) ?? -1;
  if (at < 1) {
    throw new Error(`Cannot count ${name} in ${path}: its #fields line has no such column`);
  }
  return at - 1;
}

/** One timed run, with the figures only P1-tls prints. */
async function runWeir(
  path: string,
  dir: string,
  traceBytes: number,
  ssl: boolean,
): Promise<TlsRun> {
  const run = await timeTraceRun(path, dir, ssl ? ["SSL"] : "none", async (logPaths) => {
    const sslPath = logPaths.get("ssl");
    const sslRows = await rowsOf(sslPath);
    const resumed = sslPath === undefined ? 0 : await columnOf(sslPath, "resumed");
    return {
      sslRows: sslRows.length,
      sslResumed: sslRows.filter((row) => row[resumed] === "T").length,
      x509Rows: (await rowsOf(logPaths.get("x509"))).length,
    };
  });
  return { ...run, bytesPerSecond: traceBytes / run.seconds };
}

/** Runs P1-tls: generates the trace, then tcpdump, conn only and SSL, interleaved. */
export async function measureTlsThroughput(
  options: TlsBenchOptions = {},
): Promise<TlsBenchResult> {
  const rounds = options.rounds ?? DEFAULT_TLS_ROUNDS;
  const dir = await Deno.makeTempDir({ prefix: "weir-bench-tls-" });
  try {
    const path = `${dir}/trace.pcap`;
    const flows = await flowsFor(options.packets ?? DEFAULT_TLS_PACKETS);
    const truth = await generateTrace(path, { ...TRACE_OPTIONS, flows, seed: 1 });
    const traceBytes = (await Deno.stat(path)).size;
    const { tcpdumpSeconds: tcpdump, off: connOnly, on: ssl } = await interleavedRounds({
      name: "P1-tls",
      path,
      packets: truth.packets,
      rounds,
      off: () => runWeir(path, dir, traceBytes, false),
      on: () => runWeir(path, dir, traceBytes, true),
    });
    const handshakes = { "full-1.2": 0, "full-1.3": 0, "resumed-id": 0, "resumed-ticket": 0 };
    for (const f of truth.flows) handshakes[f.tlsHandshake!]++;
    return Object.freeze({
      packets: truth.packets,
      flows: truth.flows.length,
      handshakes: Object.freeze(handshakes),
      traceBytes,
      rounds,
      tcpdump: tcpdump === undefined ? undefined : Object.freeze({
        seconds: tcpdump,
        pps: truth.packets / tcpdump,
        bytesPerSecond: traceBytes / tcpdump,
      }),
      connOnly,
      ssl,
      ratio: ssl.seconds / connOnly.seconds,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** P1-tls's figures as printable rows. */
export function formatTlsBench(r: TlsBenchResult): string[] {
  const t = DEFAULT_TLS_TRAFFIC;
  const h = r.handshakes;
  const vsTcpdump = (run: TlsRun): string =>
    r.tcpdump === undefined ? "" : ` (${(run.pps / r.tcpdump.pps).toFixed(2)} × tcpdump)`;
  const row = (name: string, run: TlsRun): string =>
    `P1-tls weir -r, analyzers ${name}: ${speed(run.seconds, run.pps, run.bytesPerSecond)}${
      vsTcpdump(run)
    }${peakRss(run.peakRssBytes)}; logs ${run.logs.join(", ") || "none"}`;
  return [
    `P1-tls trace: ${fmt(r.packets)} packets, ${fmt(r.traceBytes / 1e6)} MB, ${
      fmt(r.flows)
    } TLS flows (${fmt(h["full-1.2"])} full 1.2, ${fmt(h["full-1.3"])} 1.3, ${
      fmt(h["resumed-id"])
    } resumed by id, ${
      fmt(h["resumed-ticket"])
    } by ticket); 1–${t.exchangesPerConnection} exchanges, ${
      percent(t.streamShare)
    } ending in a stream of up to ${
      (t.streamMax / 1048576).toFixed(0)
    } MiB in 16 KiB records; best of ${r.rounds}`,
    r.tcpdump === undefined
      ? "P1-tls reference: tcpdump not available"
      : `P1-tls reference tcpdump -r F -w /dev/null: ${
        speed(r.tcpdump.seconds, r.tcpdump.pps, r.tcpdump.bytesPerSecond)
      }`,
    row("none (conn only)", r.connOnly),
    `${row("SSL", r.ssl)}; ssl.log ${fmt(r.ssl.sslRows)} rows (${fmt(r.flows)} flows), ${
      fmt(r.ssl.sslResumed)
    } resumed (${fmt(h["resumed-id"] + h["resumed-ticket"])}), x509.log ${
      fmt(r.ssl.x509Rows)
    } rows`,
    `P1-tls SSL / conn only: ${r.ratio.toFixed(2)} × the time (target ≤ ${TLS_TARGET_RATIO}: ${
      r.ratio <= TLS_TARGET_RATIO ? "met" : "missed"
    })`,
  ];
}

/** P1-tls as printable rows. */
export async function benchTls(
  packets = DEFAULT_TLS_PACKETS,
  rounds = DEFAULT_TLS_ROUNDS,
): Promise<string[]> {
  return formatTlsBench(await measureTlsThroughput({ packets, rounds }));
}
