/**
 * P1-http, for `deno task bench http` (issue 15): what HTTP analysis costs
 * on HTTP-heavy traffic. One generated trace of HTTP alone, as
 * `GenerateOptions.http: DEFAULT_HTTP_TRAFFIC` makes it (keep-alive
 * connections of 1 to 10 requests and one-request connections, bodies
 * from 0 B to 1 MiB, a fifth gzip-encoded, a fifth of the text chunked),
 * goes through `tcpdump -r F -w /dev/null`, `weir -r` with the analyzers
 * off (conn.log only) and `weir -r` with the HTTP analyzer alone (http.log
 * and files.log too), in the same run, interleaved, best of a few rounds
 * each, in packets/s and MB/s of trace file. Target: HTTP analysis takes
 * at most 2 × the time of the conn-only run.
 *
 * @module
 */

import { DEFAULT_HTTP_TRAFFIC, generateTrace, generateTraceBytes } from "../testing/mod.ts";
import { fmt, peakRss, percent, speed } from "./_figures.ts";
import { interleavedRounds, timeTraceRun, type TraceRun } from "./_trace_run.ts";

/** Packets of the default trace (about 1.6 GB of pcap): the whole run takes about a minute on two cores. */
export const DEFAULT_HTTP_PACKETS = 1_800_000;
/** Rounds of each measurement; the best counts. */
export const DEFAULT_HTTP_ROUNDS = 3;
/** HTTP analysis may take this many times as long as the conn-only run. */
export const HTTP_TARGET_RATIO = 2;

const TRACE_OPTIONS = {
  applications: { http: 1 },
  http: DEFAULT_HTTP_TRAFFIC,
  ipv6Share: 0.2,
  vlanShare: 0.1,
  concurrency: 256,
  rate: 100_000,
};

/** Flows of the sample that sizes the trace: enough for a steady average over the heavy tail. */
const SAMPLE_FLOWS = 1000;

/** One configuration's best round. */
export interface HttpRun extends TraceRun {
  /** Trace-file bytes per second. */
  readonly bytesPerSecond: number;
  /** Rows of http.log and of files.log (0 when not written). */
  readonly httpRows: number;
  readonly filesRows: number;
}

/** What P1-http measured. */
export interface HttpBenchResult {
  readonly packets: number;
  readonly flows: number;
  /** HTTP requests in the trace (every one answered). */
  readonly requests: number;
  readonly traceBytes: number;
  readonly rounds: number;
  /** Undefined when tcpdump is missing. */
  readonly tcpdump:
    | { readonly seconds: number; readonly pps: number; readonly bytesPerSecond: number }
    | undefined;
  /** Analyzers off: conn.log only. */
  readonly connOnly: HttpRun;
  /** The HTTP analyzer alone. */
  readonly http: HttpRun;
  /** Seconds of the HTTP run over seconds of the conn-only run. */
  readonly ratio: number;
}

/** Options of `measureHttpThroughput`. */
export interface HttpBenchOptions {
  readonly packets?: number;
  readonly rounds?: number;
}

/**
 * Flows that give about `packets` packets: HTTP-heavy flows run as long
 * as their requests, so a small in-memory sample with the same options
 * gives the average.
 */
async function flowsFor(packets: number): Promise<number> {
  const sample = await generateTraceBytes({ ...TRACE_OPTIONS, flows: SAMPLE_FLOWS, seed: 2 });
  return Math.max(1, Math.ceil(packets / (sample.truth.packets / SAMPLE_FLOWS)));
}

/** Rows of a Zeek ASCII log: lines other than the `#` header and footer. */
async function rowsOf(path: string | undefined): Promise<number> {
  if (path === undefined) return 0;
  let rows = 0;
  for (const line of (await Deno.readTextFile(path)).split("\n")) {
    if (line !== "" && !line.startsWith("#")) rows++;
  }
  return rows;
}

/** One timed run, with the figures only P1-http prints. */
async function runWeir(
  path: string,
  dir: string,
  traceBytes: number,
  http: boolean,
): Promise<HttpRun> {
  const run = await timeTraceRun(path, dir, http ? ["HTTP"] : "none", async (logPaths) => ({
    httpRows: await rowsOf(logPaths.get("http")),
    filesRows: await rowsOf(logPaths.get("files")),
  }));
  return { ...run, bytesPerSecond: traceBytes / run.seconds };
}

/** Runs P1-http: generates the trace, then tcpdump, conn only and HTTP, interleaved. */
export async function measureHttpThroughput(
  options: HttpBenchOptions = {},
): Promise<HttpBenchResult> {
  const rounds = options.rounds ?? DEFAULT_HTTP_ROUNDS;
  const dir = await Deno.makeTempDir({ prefix: "weir-bench-http-" });
  try {
    const path = `${dir}/trace.pcap`;
    const flows = await flowsFor(options.packets ?? DEFAULT_HTTP_PACKETS);
    const truth = await generateTrace(path, { ...TRACE_OPTIONS, flows, seed: 1 });
    const traceBytes = (await Deno.stat(path)).size;
    const { tcpdumpSeconds: tcpdump, off: connOnly, on: http } = await interleavedRounds({
      name: "P1-http",
      path,
      packets: truth.packets,
      rounds,
      off: () => runWeir(path, dir, traceBytes, false),
      on: () => runWeir(path, dir, traceBytes, true),
    });
    return Object.freeze({
      packets: truth.packets,
      flows: truth.flows.length,
      requests: truth.flows.reduce((n, f) => n + f.clientMessages, 0),
      traceBytes,
      rounds,
      tcpdump: tcpdump === undefined ? undefined : Object.freeze({
        seconds: tcpdump,
        pps: truth.packets / tcpdump,
        bytesPerSecond: traceBytes / tcpdump,
      }),
      connOnly,
      http,
      ratio: http.seconds / connOnly.seconds,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** P1-http's figures as printable rows. */
export function formatHttpBench(r: HttpBenchResult): string[] {
  const h = DEFAULT_HTTP_TRAFFIC;
  const vsTcpdump = (run: HttpRun): string =>
    r.tcpdump === undefined ? "" : ` (${(run.pps / r.tcpdump.pps).toFixed(2)} × tcpdump)`;
  const row = (name: string, run: HttpRun): string =>
    `P1-http weir -r, analyzers ${name}: ${speed(run.seconds, run.pps, run.bytesPerSecond)}${
      vsTcpdump(run)
    }${peakRss(run.peakRssBytes)}; logs ${run.logs.join(", ") || "none"}`;
  return [
    `P1-http trace: ${fmt(r.packets)} packets, ${fmt(r.traceBytes / 1e6)} MB, ${
      fmt(r.flows)
    } HTTP flows with ${fmt(r.requests)} requests (${
      percent(h.oneRequestShare)
    } one request and close, the rest keep-alive with 1–${h.requestsPerConnection}); bodies 0 B – ${
      (h.bodyMax / 1048576).toFixed(0)
    } MiB, ${percent(h.gzipShare)} gzip, ${percent(h.chunkedShare)} chunked; best of ${r.rounds}`,
    r.tcpdump === undefined
      ? "P1-http reference: tcpdump not available"
      : `P1-http reference tcpdump -r F -w /dev/null: ${
        speed(r.tcpdump.seconds, r.tcpdump.pps, r.tcpdump.bytesPerSecond)
      }`,
    row("none (conn only)", r.connOnly),
    `${row("HTTP", r.http)}; http.log ${fmt(r.http.httpRows)} rows (${
      fmt(r.requests)
    } requests), files.log ${fmt(r.http.filesRows)} rows`,
    `P1-http HTTP / conn only: ${r.ratio.toFixed(2)} × the time (target ≤ ${HTTP_TARGET_RATIO}: ${
      r.ratio <= HTTP_TARGET_RATIO ? "met" : "missed"
    })`,
  ];
}

/** P1-http as printable rows. */
export async function benchHttp(
  packets = DEFAULT_HTTP_PACKETS,
  rounds = DEFAULT_HTTP_ROUNDS,
): Promise<string[]> {
  return formatHttpBench(await measureHttpThroughput({ packets, rounds }));
}
