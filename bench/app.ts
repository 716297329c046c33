/**
 * P1-app, for `deno task bench app`: what the protocol analyzers cost. One
 * generated trace of real application traffic (DNS over UDP and TCP, HTTP,
 * TLS, and ordinary TCP/UDP/ICMP with random payloads) goes through
 * `tcpdump -r F -w /dev/null`, `weir -r` with the analyzers off, and
 * `weir -r` with Zeek's default set, in the same run, interleaved, best of
 * a few rounds each. Target: analyzers on take at most 1.5 × the time of
 * analyzers off.
 *
 * @module
 */

import { DEFAULT_APPLICATION_SHARES, generateTrace, generateTraceBytes } from "../testing/mod.ts";
import { peakRss } from "./_figures.ts";
import { interleavedRounds, timeTraceRun, type TraceRun } from "./_trace_run.ts";

/** Packets of the default trace. */
export const DEFAULT_APP_PACKETS = 600_000;
/** Rounds of each measurement; the best counts. */
export const DEFAULT_APP_ROUNDS = 3;
/** Analyzers on may take this many times as long as analyzers off. */
export const APP_TARGET_RATIO = 1.5;

const TRACE_OPTIONS = {
  packetsPerFlow: 10,
  applications: DEFAULT_APPLICATION_SHARES,
  ipv6Share: 0.2,
  vlanShare: 0.1,
  udpShare: 0.5,
  icmpShare: 0.1,
  payloadMax: 400,
  concurrency: 256,
  rate: 100_000,
};

/** One configuration's best round. */
export type AppRun = TraceRun;

/** What P1-app measured. */
export interface AppBenchResult {
  readonly packets: number;
  readonly flows: number;
  readonly traceBytes: number;
  /** Flows per application (`dns/udp`, `tls/tcp`, `-/tcp` for random payloads, …). */
  readonly mix: ReadonlyMap<string, number>;
  /** Undefined when tcpdump is missing. */
  readonly tcpdump: { readonly seconds: number; readonly pps: number } | undefined;
  readonly analyzersOff: AppRun;
  readonly analyzersOn: AppRun;
  /** Seconds with analyzers on over seconds with them off. */
  readonly ratio: number;
}

/** Options of `measureAppThroughput`. */
export interface AppBenchOptions {
  readonly packets?: number;
  readonly rounds?: number;
}

/**
 * Flows that give about `packets` packets: application flows run past
 * `packetsPerFlow` to finish their last exchange, so a small in-memory
 * sample with the same options gives the real average.
 */
async function flowsFor(packets: number): Promise<number> {
  const sample = await generateTraceBytes({ ...TRACE_OPTIONS, flows: 2000, seed: 2 });
  return Math.max(1, Math.ceil(packets / (sample.truth.packets / 2000)));
}

/** Runs P1-app: generates the trace, then tcpdump, analyzers off, analyzers on, interleaved. */
export async function measureAppThroughput(
  options: AppBenchOptions = {},
): Promise<AppBenchResult> {
  const rounds = options.rounds ?? DEFAULT_APP_ROUNDS;
  const dir = await Deno.makeTempDir({ prefix: "weir-bench-app-" });
  try {
    const path = `${dir}/trace.pcap`;
    const flows = await flowsFor(options.packets ?? DEFAULT_APP_PACKETS);
    const truth = await generateTrace(path, { ...TRACE_OPTIONS, flows, seed: 1 });
    const mix = new Map<string, number>();
    for (const f of truth.flows) {
      const key = `${f.application ?? "-"}/${f.proto}`;
      mix.set(key, (mix.get(key) ?? 0) + 1);
    }
    const { tcpdumpSeconds: tcpdump, off, on } = await interleavedRounds({
      name: "P1-app",
      path,
      packets: truth.packets,
      rounds,
      off: () => timeTraceRun(path, dir, "none"),
      on: () => timeTraceRun(path, dir, "default"),
    });
    return Object.freeze({
      packets: truth.packets,
      flows: truth.flows.length,
      traceBytes: (await Deno.stat(path)).size,
      mix,
      tcpdump: tcpdump === undefined
        ? undefined
        : Object.freeze({ seconds: tcpdump, pps: truth.packets / tcpdump }),
      analyzersOff: off,
      analyzersOn: on,
      ratio: on.seconds / off.seconds,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const pps = (n: number): string => `${Math.round(n).toLocaleString("en-US")} pps`;

/** P1-app as printable rows. */
export async function benchApp(
  packets = DEFAULT_APP_PACKETS,
  rounds = DEFAULT_APP_ROUNDS,
): Promise<string[]> {
  const r = await measureAppThroughput({ packets, rounds });
  const mix = [...r.mix].sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${(100 * n / r.flows).toFixed(0)}%`).join(", ");
  const vsTcpdump = (run: AppRun): string =>
    r.tcpdump === undefined ? "" : ` (${(run.pps / r.tcpdump.pps).toFixed(2)} × tcpdump)`;
  const row = (name: string, run: AppRun): string =>
    `P1-app weir -r, analyzers ${name}: ${run.seconds.toFixed(2)} s = ${pps(run.pps)}${
      vsTcpdump(run)
    }${peakRss(run.peakRssBytes)}; logs ${run.logs.join(", ") || "none"}`;
  return [
    `P1-app trace: ${r.packets.toLocaleString("en-US")} packets, ${
      r.flows.toLocaleString("en-US")
    } flows (${mix}), ${(r.traceBytes / 1048576).toFixed(0)} MiB; best of ${rounds}`,
    r.tcpdump === undefined
      ? "P1-app reference: tcpdump not available"
      : `P1-app reference tcpdump -r F -w /dev/null: ${r.tcpdump.seconds.toFixed(2)} s = ${
        pps(r.tcpdump.pps)
      }`,
    row("off", r.analyzersOff),
    row("on (default)", r.analyzersOn),
    `P1-app analyzers on / off: ${r.ratio.toFixed(2)} × the time (target ≤ ${APP_TARGET_RATIO})`,
  ];
}
