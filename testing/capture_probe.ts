/**
 * A capture worker in miniature, run as its own process by the live tests
 * and the live benchmark (inside a network namespace, through
 * `ip netns exec`): it opens an interface, decodes every packet, and
 * counts packets per flow or per hash bucket until its stdin closes.
 *
 *   deno run -A capture/capture_probe.ts --interface af_packet::veth1 \
 *     [--fanout-mode hash] [--fanout-id 23] [--no-fanout] [--block-size N] \
 *     [--buffer-size N] [--filter EXPR] [--mode flows|count] [--stall-ms N] \
 *     --out result.json
 *
 * Protocol on stdout, one line each: `ready <cpu ticks>` once the source is
 * open, `progress <packets>` whenever the count changed (at most every
 * 100 ms), `done` after the result file is written. On a failed open it
 * prints `error <ErrorClass> <message>` and exits with status 2.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type AfPacketFanoutMode,
  type AfPacketSettings,
  DecodedPacket,
  flowHash,
  flowKeyInto,
  openInterface,
  OUTCOME_IP,
  PacketDecoder,
  type SourceStats,
} from "../capture/mod.ts";

/** What the probe was asked to do. */
export interface ProbeOptions {
  readonly interface: string;
  readonly out: string;
  readonly mode: "flows" | "count";
  readonly filter: string | undefined;
  readonly afPacket: Partial<AfPacketSettings>;
  /** Milliseconds to wait after `ready` before reading (lets a small ring overflow on purpose). */
  readonly stallMs: number;
}

/** What the probe writes to its result file. */
export interface ProbeResult {
  readonly received: number;
  readonly stats: SourceStats;
  /** utime + stime of the process, in clock ticks, when it was ready and when it stopped. */
  readonly cpuTicksReady: number;
  readonly cpuTicksEnd: number;
  readonly clockTicksPerSecond: number;
  /** Packets that decoded to IP. */
  readonly ipPackets: number;
  /** Flow key (canonical, see `flowKeyInto`) → [packets, outer VLAN id], in `flows` mode. */
  readonly flows: Readonly<Record<string, readonly [number, number]>>;
}

/** Parses the probe's command line; throws RangeError naming the bad flag. */
export function parseProbeArgs(args: readonly string[]): ProbeOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      interface: { type: "string" },
      out: { type: "string" },
      mode: { type: "string", default: "flows" },
      filter: { type: "string" },
      "fanout-mode": { type: "string" },
      "fanout-id": { type: "string" },
      "no-fanout": { type: "boolean", default: false },
      defrag: { type: "boolean", default: false },
      "block-size": { type: "string" },
      "buffer-size": { type: "string" },
      "stall-ms": { type: "string" },
    },
    strict: true,
  });
  if (values.interface === undefined || values.out === undefined) {
    throw new RangeError("capture_probe needs --interface and --out");
  }
  if (values.mode !== "flows" && values.mode !== "count") {
    throw new RangeError(`capture_probe --mode ${values.mode}: use flows or count`);
  }
  const number = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`capture_probe --${flag} ${text}: use a non-negative integer`);
    }
    return n;
  };
  const afPacket: Record<string, unknown> = {};
  if (values["fanout-mode"] !== undefined) {
    afPacket.fanoutMode = values["fanout-mode"] as AfPacketFanoutMode;
  }
  const id = number("fanout-id", values["fanout-id"]);
  if (id !== undefined) afPacket.fanoutId = id;
  if (values["no-fanout"]) afPacket.enableFanout = false;
  if (values.defrag) afPacket.enableDefrag = true;
  const block = number("block-size", values["block-size"]);
  if (block !== undefined) afPacket.blockSize = block;
  const buffer = number("buffer-size", values["buffer-size"]);
  if (buffer !== undefined) afPacket.bufferSize = buffer;
  return Object.freeze({
    interface: values.interface,
    out: values.out,
    mode: values.mode,
    filter: values.filter,
    afPacket: Object.freeze(afPacket) as Partial<AfPacketSettings>,
    stallMs: number("stall-ms", values["stall-ms"]) ?? 0,
  });
}

/** utime + stime (clock ticks) from the text of `/proc/<pid>/stat`. */
export function cpuTicksFromStat(stat: string): number {
  // comm (field 2) may contain spaces and parentheses; fields after the last ")" are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  return Number(fields[11]) + Number(fields[12]);
}

function ownCpuTicks(): number {
  return cpuTicksFromStat(Deno.readTextFileSync("/proc/self/stat"));
}

/** Runs the probe; resolves when stdin has closed and the result is written. */
export async function runCaptureProbe(options: ProbeOptions): Promise<void> {
  const encoder = new TextEncoder();
  const say = (line: string) => Deno.stdout.writeSync(encoder.encode(`${line}\n`));
  const source = await openInterface(options.interface, {
    afPacket: options.afPacket,
    ...(options.filter === undefined ? {} : { filter: options.filter }),
  });
  const decoder = new PacketDecoder({ checksums: false });
  const decoded = new DecodedPacket();
  const key = new Uint32Array(11);
  const flows = new Map<string, [number, number]>();
  const buckets = new Uint32Array(1 << 16);
  const recordFlows = options.mode === "flows";
  let received = 0;
  let ipPackets = 0;
  let reported = 0;
  const stop = (async () => {
    for await (const _ of Deno.stdin.readable) {
      // Anything on stdin is ignored; only its end matters.
    }
    source.close();
  })();
  // A timer, not the packet loop, reports: the last packets must be
  // reported even when no batch follows them.
  const reporter = setInterval(() => {
    if (received === reported) return;
    reported = received;
    say(`progress ${received}`);
  }, 100);
  const cpuTicksReady = ownCpuTicks();
  say(`ready ${cpuTicksReady}`);
  if (options.stallMs > 0) await new Promise((resolve) => setTimeout(resolve, options.stallMs));
  for (let batch = await source.next(); batch !== null; batch = await source.next()) {
    const n = batch.count;
    for (let i = 0; i < n; i++) {
      if (decoder.decode(batch, i, decoded) !== OUTCOME_IP) continue;
      ipPackets++;
      if (recordFlows) {
        flowKeyInto(decoded, key);
        const k = key.join(",");
        const entry = flows.get(k);
        if (entry === undefined) flows.set(k, [1, decoded.vlan]);
        else entry[0]++;
      } else {
        buckets[flowHash(decoded) & 0xffff]!++;
      }
    }
    received += n;
  }
  clearInterval(reporter);
  await stop;
  const result: ProbeResult = {
    received,
    stats: source.stats(),
    cpuTicksReady,
    cpuTicksEnd: ownCpuTicks(),
    clockTicksPerSecond: 100,
    ipPackets,
    flows: Object.fromEntries(flows),
  };
  await Deno.writeTextFile(options.out, JSON.stringify(result));
  say(`progress ${received}`);
  say("done");
}

if (import.meta.main) {
  try {
    await runCaptureProbe(parseProbeArgs(Deno.args));
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    console.log(`error ${name} ${message.replaceAll("\n", " ")}`);
    Deno.exit(2);
  }
}
