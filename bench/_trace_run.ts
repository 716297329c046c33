/**
 * What the trace benchmarks (P1-app, P1-http) share: one timed `weir -r`
 * run with its peak resident set, and the interleaved rounds that compare
 * an analyzers-off run with an analyzers-on run and tcpdump in the same
 * process, best round each.
 *
 * @module
 */

import { analyzeTrace, type TraceJobOptions } from "../mod/trace/mod.ts";
import { timeTcpdump } from "./decode.ts";

/** One timed `weir -r` run. */
export interface TraceRun {
  /** Packets weir read from the trace. */
  readonly packets: number;
  readonly seconds: number;
  readonly pps: number;
  /** Peak resident set during the run (VmHWM after a reset); undefined where Linux does not offer it. */
  readonly peakRssBytes: number | undefined;
  /** Logs the run wrote (conn, dns, …). */
  readonly logs: readonly string[];
}

/** Resets the kernel's peak-RSS mark for this process; false where that is not possible. */
function resetPeakRss(): boolean {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/** The peak resident set since the last reset, in bytes; undefined where Linux does not offer it. */
function peakRss(): number | undefined {
  try {
    const m = Deno.readTextFileSync("/proc/self/status").match(/^VmHWM:\s+(\d+) kB$/m);
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Runs `weir -r` on `path` with `analyzers`, logs into a directory under
 * `dir` that `inspect` may read (by log path) before it is removed.
 */
export async function timeTraceRun<T extends object = Record<never, never>>(
  path: string,
  dir: string,
  analyzers: NonNullable<TraceJobOptions["analyzers"]>,
  inspect?: (logPaths: ReadonlyMap<string, string>) => Promise<T>,
): Promise<TraceRun & T> {
  const logDir = await Deno.makeTempDir({ dir, prefix: "run-" });
  try {
    const canReset = resetPeakRss();
    const start = performance.now();
    const r = await analyzeTrace({ path, logDir, analyzers, checksums: true, utc: true });
    const seconds = (performance.now() - start) / 1000;
    const run: TraceRun = {
      packets: r.packets,
      seconds,
      pps: r.packets / seconds,
      peakRssBytes: canReset ? peakRss() : undefined,
      logs: [...r.logPaths.keys()].sort(),
    };
    return { ...run, ...(inspect === undefined ? {} : await inspect(r.logPaths)) } as TraceRun & T;
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
}

/** The best rounds of the two weir runs and of tcpdump (undefined when tcpdump is missing). */
export interface RoundsResult<R> {
  readonly tcpdumpSeconds: number | undefined;
  readonly off: R;
  readonly on: R;
}

/**
 * `rounds` rounds of tcpdump, then `off` and `on` in alternating order
 * (so warm-up and heap growth favour neither); each run must read all
 * `packets` of the trace. `name` names the benchmark in errors.
 */
export async function interleavedRounds<R extends TraceRun>(options: {
  readonly name: string;
  readonly path: string;
  readonly packets: number;
  readonly rounds: number;
  readonly off: () => Promise<R>;
  readonly on: () => Promise<R>;
}): Promise<RoundsResult<R>> {
  const { name, rounds } = options;
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`Cannot measure ${name} with ${rounds} rounds: use 1 or more`);
  }
  let tcpdump: number | undefined;
  let tcpdumpMissing = false;
  let off: R | undefined;
  let on: R | undefined;
  const faster = (a: R | undefined, b: R) => (a === undefined || b.seconds < a.seconds ? b : a);
  for (let round = 0; round < rounds; round++) {
    if (!tcpdumpMissing) {
      const s = await timeTcpdump(options.path);
      if (s === undefined) tcpdumpMissing = true;
      else tcpdump = tcpdump === undefined ? s : Math.min(tcpdump, s);
    }
    for (const analyzed of round % 2 === 0 ? [false, true] : [true, false]) {
      const run = await (analyzed ? options.on : options.off)();
      if (run.packets !== options.packets) {
        throw new Error(
          `Cannot measure ${name}: weir read ${run.packets} packets of the trace's ${options.packets}`,
        );
      }
      if (analyzed) on = faster(on, run);
      else off = faster(off, run);
    }
  }
  return { tcpdumpSeconds: tcpdump, off: off!, on: on! };
}
